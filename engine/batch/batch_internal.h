/* Internal to the batched engine (engine/batch/). */
#ifndef CLBNM_BATCH_INTERNAL_H
#define CLBNM_BATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/bold.h"
#include "clbnm/context.h"
#include "clbnm/model_spec.h"
#include "clbnm/program.h"
#include "clbnm/runtime.h"

struct bnm_model_ir;

/* ---- The fused kernel (fused.c) ------------------------------------------------------
 * The generated model kernel (codegen.h) extended, through the generator's BW-step-end
 * hook, with the work of a BW-step end (analysis.md 2.4): every n_inner steps the BOLD
 * driver (a state, or a let without coupling) of the new state enters one BW step per node, a volume is stored when t is a multiple of TR, and the
 * states are stored when t is a multiple of states_sampling. Every position comes from
 * the 64-bit step index, so any launch split gives bitwise identical results. */

typedef struct bnm_fused_config {
    bnm_bold_mode mode;
    bnm_bold_coeffs coeffs;
    double bw_h;          /* BW step in seconds */
    uint32_t n_inner;     /* model steps per BW step */
    uint32_t bw_per_vol;  /* BW steps per TR */
    uint32_t bw_per_samp; /* BW steps per states_sampling; 0: no state samples */
} bnm_fused_config;

typedef struct bnm_fused bnm_fused;

/* cl, cache and ir are borrowed and must outlive the kernel. */
bnm_status bnm_fused_create(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                            const struct bnm_model_ir *ir, const bnm_model_spec *spec,
                            const bnm_fused_config *cfg, bnm_fused **out);
void bnm_fused_destroy(bnm_fused *f);
const bnm_model_abi *bnm_fused_abi(const bnm_fused *f);
/* Node-cache planes of the generated kernel (for the memory formula). */
int bnm_fused_node_cache(const bnm_fused *f);

/* Uploads a batch (as bnm_model_kernel_set_data), BW states at rest, and sizes the
 * volume and sample buffers for launches of at most max_launch_bw BW steps. */
bnm_status bnm_fused_set_data(bnm_context *ctx, bnm_fused *f, const bnm_model_data *data,
                              uint64_t max_launch_bw);
/* Runs BW steps [first_bw, first_bw + n_bw) (n_bw <= max_launch_bw; first_bw must
 * continue the previous launch or be 0). vol_out: [n_sims][*n_vol_out][N] receives the
 * volumes emitted in this launch (NaN for a simulation that froze); samp_out (may be NULL
 * without sampling): [n_sims][*n_samp_out][n_states][N]. */
bnm_status bnm_fused_run(bnm_context *ctx, bnm_fused *f, uint64_t first_bw, uint64_t n_bw,
                         double *vol_out, uint64_t *n_vol_out, double *samp_out,
                         uint64_t *n_samp_out);
/* Volume and sample capacities of one launch (set_data's max_launch_bw). */
uint64_t bnm_fused_vol_cap(const bnm_fused *f);
uint64_t bnm_fused_samp_cap(const bnm_fused *f);
bnm_status bnm_fused_read_status(bnm_context *ctx, bnm_fused *f, bnm_sim_status *status_out);
/* Snapshot of a batch in flight: every buffer that carries state from one launch to the
 * next (model states, delay history, status, BW state with its compensation terms) and
 * the next BW step (the noise position: draws are keyed by the step index). *blob is
 * malloc'd (caller frees). Restoring it, after set_data with the same batch, into a
 * kernel built from the same source continues bitwise as if never interrupted; a blob
 * of another kernel, batch shape or layout is refused (BNM_ERR_INVALID_ARG). */
bnm_status bnm_fused_save(bnm_context *ctx, bnm_fused *f, void **blob, size_t *len);
bnm_status bnm_fused_restore(bnm_context *ctx, bnm_fused *f, const void *blob, size_t len);
/* Device bytes of the current batch's buffers. */
uint64_t bnm_fused_device_bytes(const bnm_fused *f);
/* The generated source (borrowed). */
const char *bnm_fused_source(const bnm_fused *f);


/* ---- A prepared job (job.c) ----------------------------------------------------------- */

#include "clbnm/fic.h"
#include "clbnm/fit.h"
#include "clbnm/run.h"

/* JP_SET: a param whose values come with an explicit simulation list (sets.c); col is
 * its index in the list, regional_set says whether its values differ per node. */
typedef enum job_pkind { JP_FIXED, JP_SWEPT, JP_NODE, JP_FIC, JP_SET } job_pkind;

/* How one model param gets its value in every simulation. */
typedef struct job_param {
    int ir_index;   /* index in ir->params; -1 for velocity */
    const char *name;
    job_pkind kind;
    size_t col;     /* JP_SWEPT: column of the swept values */
    double value;   /* JP_FIXED */
    const double *node_values; /* JP_NODE: N values (borrowed from the run) */
    bool regional_set;         /* JP_SET */
} job_param;

typedef struct job_subject {
    const char *id;
    double *sc;       /* N*N, [target i][source j] */
    double *lengths;  /* N*N or NULL */
    bnm_fit_emp *emp; /* NULL without empirical BOLD */
} job_subject;

struct bnm_engine_sim_list; /* clbnm/engine.h */

typedef struct job {
    const bnm_run *run;
    const struct bnm_engine_sim_list *list; /* explicit simulations, or NULL (sweep) */
    struct bnm_model_ir *ir;
    char *model_path;
    int N;
    job_subject *subj;
    size_t n_subj;
    job_param *params; /* every non-const model param, then velocity when delays */
    size_t n_params;
    bnm_param_setting *settings;
    int n_settings;
    bnm_model_spec spec;
    bool delays;
    bool velocity_swept;
    size_t velocity_col;
    double velocity;        /* fixed velocity, m/s */
    double time_per_ms;     /* model time units per ms */
    double dt;              /* model step in the model's time unit */
    int *mean_kind;         /* per averaged quantity: 0 state, 1 let */
    int *mean_index;
    size_t n_mean;          /* states_mean names, plus r_E for the FIC penalty when needed */
    int penalty_q;          /* averaged quantity of the FIC penalty (r_E), -1: no penalty */
    bool fic_on;            /* steady-state FIC sets the controlled param per node */
    bnm_fic_config fic_cfg;
    bool mean_needs_lets;
    bool any_emp;
    bool want_fit;          /* FC/FCD computed (outputs or scores) */
    bnm_fc_pairs pairs;
    bnm_fcd_windows windows;
    bool fcd_on;            /* FCD computed */
    size_t n_fcd;           /* FCD values per simulation */
    bool need_ks;
} job;

bnm_status job_prepare(bnm_context *ctx, const bnm_run *run, bnm_precision precision, job *j);
/* The same for an explicit simulation list (borrowed for the job's lifetime): its params
 * become JP_SET, per simulation (per node when regional). */
bnm_status job_prepare_list(bnm_context *ctx, const bnm_run *run, bnm_precision precision,
                            const struct bnm_engine_sim_list *list, job *j);
void job_free(job *j);
/* Engine entry shared by bnm_engine_simulate and bnm_engine_simulate_list (list NULL:
 * the run's own simulations). */
struct bnm_engine_options;
struct bnm_engine_stats;
bnm_status engine_run(bnm_context *ctx, const bnm_run *run, const char *out_path,
                      const struct bnm_engine_options *opts, struct bnm_engine_stats *stats,
                      const struct bnm_engine_sim_list *list);

/* Values of simulation `sim`'s params: sim_params/node_params in the ABI's slots
 * (node_params may be NULL when none); velocity_out may be NULL. swept: the swept
 * values of the simulation; with a list, its [n_params][N] values instead. */
void job_fill_params(const job *j, const bnm_model_abi *abi, const double *swept,
                     double *sim_params, double *node_params, double *velocity_out);

#endif
