/* The model path: where model names (`model: rww`, `clbnm check kuramoto`) are looked
 * up (interface.md section 1). In order:
 *   1. the built-in models: $CLBNM_SOURCE_ROOT/models when that variable is set, else
 *      the source tree's models/ compiled in, then the installed DATADIR/clbnm/models;
 *   2. each directory of $CLBNM_MODEL_PATH (colon-separated, empty entries skipped);
 *   3. the caller's extra directories (--dir).
 * A name is the file name without ".nmm"; the first directory that has it wins. */
#ifndef CLBNM_MODELLIB_H
#define CLBNM_MODELLIB_H

#include "clbnm/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The directories of the model path in search order, duplicates and directories that
 * do not exist left out. The caller frees with bnm_model_path_free. */
bnm_status bnm_model_path(bnm_context *ctx, const char *const *extra_dirs, int n_extra,
                          char ***dirs_out, int *n_out);
void bnm_model_path_free(char **dirs, int n);

/* Resolves a model reference to a file path. A reference containing '/' or ending in
 * ".nmm" is a path and is returned as is (not checked here: loading reports a missing
 * file). Otherwise NAME.nmm is searched on the model path; not found is
 * BNM_ERR_NOT_FOUND with the directories searched and a did-you-mean suggestion in the
 * context message. The caller frees *path_out with free(). */
bnm_status bnm_model_find(bnm_context *ctx, const char *name_or_path,
                          const char *const *extra_dirs, int n_extra, char **path_out);

typedef struct bnm_model_entry {
    char *name; /* file name without ".nmm" */
    char *path; /* directory/name.nmm */
    char *dir;  /* the model-path directory it was found in */
} bnm_model_entry;

/* Every NAME.nmm on the model path, first occurrence of a name only, sorted by name.
 * The caller frees with bnm_model_list_free. */
bnm_status bnm_model_list(bnm_context *ctx, const char *const *extra_dirs, int n_extra,
                          bnm_model_entry **out, int *n_out);
void bnm_model_list_free(bnm_model_entry *entries, int n);

/* The candidate closest to name by edit distance (case-insensitive), or NULL when none
 * is close enough to be a plausible typo (distance at most max(1, strlen(name) / 3),
 * at most 3). Borrowed from candidates. */
const char *bnm_suggest_name(const char *name, const char *const *candidates, int n);

#ifdef __cplusplus
}
#endif
#endif
