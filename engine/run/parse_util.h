/* Typed access to libyaml document nodes with located errors (engine/run parser). */
#ifndef CLBNM_RUN_PARSE_UTIL_H
#define CLBNM_RUN_PARSE_UTIL_H

#include <yaml.h>

#include "run_internal.h"

typedef struct rp {
    bnm_context *ctx;
    bnm_run *run;
    yaml_document_t *doc;
    bnm_status st; /* first failure; parsing stops at it */
} rp;

bnm_run_loc rp_loc(const yaml_node_t *n);
/* Records a located error (once) and returns false. */
bool rp_err(rp *p, const yaml_node_t *n, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool rp_nomem(rp *p);

/* "'text'", "a list", "a mapping": what a value is, for messages. */
const char *rp_describe(const yaml_node_t *n, char *buf, size_t size);
bool rp_is_null(const yaml_node_t *n);
const char *rp_scalar(const yaml_node_t *n); /* NULL unless a scalar */

/* Checks that every key of mapping map is in allowed (unknown keys get did-you-mean),
 * that keys are plain names and none repeats. where names the mapping in messages
 * ("outputs.fcd"), NULL at the top level. */
bool rp_check_keys(rp *p, const yaml_node_t *map, const char *const *allowed, size_t n,
                   const char *where);
/* Value of key in map (NULL when absent or null); *key_out gets the key node. */
yaml_node_t *rp_get(rp *p, const yaml_node_t *map, const char *key, yaml_node_t **key_out);
size_t rp_len(const yaml_node_t *n); /* items of a sequence / pairs of a mapping */
yaml_node_t *rp_item(rp *p, const yaml_node_t *seq, size_t i);
yaml_node_t *rp_pair(rp *p, const yaml_node_t *map, size_t i, yaml_node_t **key_out);

/* Typed values; name is the dotted key used in messages. */
bool rp_mapping(rp *p, const yaml_node_t *v, const char *name);
bool rp_sequence(rp *p, const yaml_node_t *v, const char *name);
bool rp_number(rp *p, const yaml_node_t *v, const char *name, double *out);
bool rp_int(rp *p, const yaml_node_t *v, const char *name, int64_t *out);
bool rp_uint(rp *p, const yaml_node_t *v, const char *name, uint64_t *out);
bool rp_bool(rp *p, const yaml_node_t *v, const char *name, bool *out);
bool rp_string(rp *p, const yaml_node_t *v, const char *name, const char **out);
bool rp_time(rp *p, const yaml_node_t *v, const char *name, int64_t unit_ns, int64_t *out);
bool rp_enum(rp *p, const yaml_node_t *v, const char *name, const char *const *names, size_t n,
             int *out);
/* A list of names (a single string counts as a list of one); the caller owns *out. */
bool rp_names(rp *p, const yaml_node_t *v, const char *name, char ***out, size_t *n_out);
/* A path resolved against the run file's folder; the caller owns *out. */
bool rp_path(rp *p, const yaml_node_t *v, const char *name, char **out);

#define RP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
