/* Shared between the driver's files (problem mapping, job loop, checkpoint, outputs). */
#ifndef CLBNM_OPT_INTERNAL_H
#define CLBNM_OPT_INTERNAL_H

#include <stdint.h>

#include "clbnm/cmaes.h"
#include "clbnm/optimize.h"

typedef enum opt_kind { OPT_PLAIN, OPT_GROUPS, OPT_MAPS } opt_kind;

/* One free entry of the run file and its coordinates [coord0, coord0 + count). */
typedef struct opt_entry {
    const char *name; /* borrowed from the run */
    opt_kind kind;
    double lo, hi;
    size_t coord0;
    double *labels;     /* groups: distinct labels, ascending */
    size_t n_groups;
    size_t *node_group; /* groups: [N] index into labels */
    bool pairs;         /* groups from symmetric alone: labels are pair indices 0..N/2-1 */
    double *maps;       /* maps: [n_maps][N] */
    size_t n_maps;
    double *coef_lo, *coef_hi; /* maps: [n_maps] each (one allocation at coef_lo) */
} opt_entry;

struct bnm_opt_problem {
    const bnm_run *run;
    size_t n_nodes;
    opt_entry *entries;
    size_t n_entries;
    const char **param_names; /* [n_entries], borrowed strings */
    bool *regional;
    size_t dim;
    char **coord_names;
    double *lo, *hi;
};

/* A run's history: one row per evaluated particle, in evaluation order. */
typedef struct opt_history {
    size_t rows, cap;
    double *x;        /* [rows][d] in [0, 1] */
    double *cost, *gof, *fic, *scores; /* scores [rows][BNM_FIT_N_TERMS] */
    uint8_t *diverged;
    int32_t *generation, *particle;
} opt_history;

typedef struct opt_runstate {
    bnm_cmaes *es;
    opt_history h;
    /* best re-run results (filled by the last batch) */
    double best_cost, best_gof, best_fic, best_scores[BNM_FIT_N_TERMS];
    uint8_t best_diverged;
    /* OUTDIR/.best_sim_K.h5: where the callback may write the re-run in full (NULL
     * until the re-run batch) */
    char *best_file;
} opt_runstate;

bnm_status opt_fail_at(bnm_context *ctx, bnm_status st, const bnm_run *run, bnm_run_loc loc,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
double opt_coord_value(const bnm_opt_problem *p, size_t j, double x01);
size_t opt_n_seeds(const bnm_run *run);

/* Row of the lowest cost (NaN never best, ties: the earliest row); 0 when no cost is
 * below +inf. */
size_t opt_history_best(const opt_history *h);
bnm_status opt_history_reserve(bnm_context *ctx, opt_history *h, size_t d, size_t rows);
void opt_history_free(opt_history *h);

/* checkpoint.c */
bnm_status opt_checkpoint_write(bnm_context *ctx, const bnm_opt_problem *p, const char *outdir,
                                opt_runstate *runs, size_t n_runs);
bnm_status opt_checkpoint_read(bnm_context *ctx, const bnm_opt_problem *p, const char *outdir,
                               opt_runstate *runs, size_t n_runs);

/* output.c */
bnm_status opt_write_outputs(bnm_context *ctx, const bnm_opt_problem *p,
                             const bnm_opt_config *cfg, opt_runstate *runs, size_t n_runs);

/* h5io.c: small HDF5 helpers (hid_t passed as int64_t so this header needs no hdf5.h).
 * type: 'd' double, 'b' uint8, 'i' int32, 'u' uint64. ndim 0 writes a scalar. */
bnm_status opt_h5_write(bnm_context *ctx, int64_t loc, const char *name, char type, int ndim,
                        const size_t *dims, const void *data);
/* Reads exactly count elements (the dataset must hold count) into data. */
bnm_status opt_h5_read(bnm_context *ctx, int64_t loc, const char *file, const char *name,
                       char type, size_t count, void *data);
/* Element count of a dataset, 0 with an error when it is missing. */
bnm_status opt_h5_count(bnm_context *ctx, int64_t loc, const char *file, const char *name,
                        size_t *count);
bnm_status opt_h5_attr_str(bnm_context *ctx, int64_t obj, const char *name, const char *v);
bnm_status opt_h5_attr_num(bnm_context *ctx, int64_t obj, const char *name, char type,
                           const void *v);
/* Reads a string attribute; the caller frees *out. */
bnm_status opt_h5_read_attr_str(bnm_context *ctx, int64_t obj, const char *file,
                                const char *name, char **out);
bnm_status opt_h5_read_attr_num(bnm_context *ctx, int64_t obj, const char *file,
                                const char *name, char type, void *v);
/* Creates the group path (intermediate groups too); returns a hid_t or < 0 (recorded). */
int64_t opt_h5_group(bnm_context *ctx, int64_t loc, const char *path);

/* Both: writes to a temporary file next to final and renames it over final. */
int opt_rename_durable(const char *tmp, const char *final);

#endif
