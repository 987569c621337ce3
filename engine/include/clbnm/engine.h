/* The batched simulation engine behind `clbnm simulate` and `clbnm bench`
 * (interface.md sections 1, 4, 5; analysis.md sections 2-4).
 *
 * One call runs every simulation of a parsed run file: it loads the model and the
 * subjects' data, resolves the per-simulation parameters (sweeps, subjects, seeds,
 * noise ids, delays), splits the job into batches that fit the device, integrates each
 * batch with one fused kernel (model steps + Balloon-Windkessel + BOLD volumes + state
 * samples, launches of bounded length), computes FC/FCD/scores on the host and streams
 * every finished batch to the HDF5 writer. Any failure destroys the writer uncommitted,
 * so no half-written output is left behind.
 *
 * Memory. Device bytes per simulation of a batch (R = 4 in float, 8 in double; N nodes,
 * S states, T transmitted quantities, H delay-history length (max lag + 1, 1 without
 * delays), C node-cache planes, P sim params, Q node params, V = volumes one launch can
 * emit, M = state samples one launch can take):
 *     R * N * (S + T*H + C + Q + 8 + V + M*S) + R * P + 8 + 12 + 16
 * plus shared matrices (weights and delays of the batch's subjects). Host bytes per
 * simulation: 8 * N * (n_vol + S + n_states_mean + V + M*S) plus FC/FCD rows. Batches
 * are sized so the device side stays within a quarter of global memory (and every
 * buffer within max_alloc_bytes) and the host side within host_budget_bytes, so any
 * number of simulations runs in bounded memory. On a CPU device (whose buffers are host
 * memory) a batch is also capped at compute_units * 512 simulations, so memory does not
 * grow with the job at all once it exceeds one batch. */
#ifndef CLBNM_ENGINE_H
#define CLBNM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"
#include "clbnm/run.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The results of one finished batch, in double on the host (borrowed during the
 * callback only). Simulations [first, first + n) of the job. */
typedef struct bnm_engine_batch_view {
    uint64_t first;
    size_t n, n_vol, n_nodes;
    const double *bold;        /* [n][n_vol][n_nodes] */
    const double *states_mean; /* [n][n_states_mean][n_nodes]: outputs.states_mean in
                                  order, then r_E when the FIC penalty needs it */
    size_t n_states_mean;
    const uint8_t *diverged;   /* [n] */
    const double *fc;          /* [n][n_pairs] or NULL */
    size_t n_pairs;
    const double *fcd;         /* [n][n_fcd] or NULL */
    size_t n_fcd;
    const double *scores;      /* [n][BNM_FIT_N_TERMS] (fit.h) or NULL without empirical data */
    const double *fic_penalty; /* [n] (0 without a penalty) */
} bnm_engine_batch_view;

/* Called after each batch; a status other than BNM_OK stops the run with that status. */
typedef bnm_status (*bnm_engine_batch_fn)(bnm_context *ctx, const bnm_engine_batch_view *v,
                                          void *user);

typedef struct bnm_engine_options {
    const char *device;           /* selector as bnm_device_list_select, or several
                                     comma-separated: the batches are shared among
                                     those devices, one thread each; NULL: default */
    bnm_run_precision precision;  /* DEFAULT: the run file's, else float */
    bool progress;                /* progress line (tty) or periodic lines (not a tty) */
    uint64_t max_batch;           /* simulations per batch; 0: as many as memory allows */
    uint64_t max_launch_bw;       /* BW steps per kernel launch; 0: automatic */
    uint64_t host_budget_bytes;   /* host bytes for batch arrays; 0: 256 MiB */
    uint64_t device_budget_bytes; /* device bytes for a batch; 0: global memory / 4 */
    const char *cache_dir;        /* kernel cache folder; NULL: the default rule */
    bnm_engine_batch_fn on_batch; /* NULL: none */
    /* Checked after every launch (launches are bounded, about a second each): when it
     * points at a nonzero value the run stops with BNM_ERR_CANCELLED, leaving no output
     * file (a signal handler may set it). NULL: not cancellable. */
    volatile const int *cancel;
    void *user;                   /* passed to on_batch */
} bnm_engine_options;

void bnm_engine_options_init_defaults(bnm_engine_options *o);

/* What a run did, for `clbnm bench` and the progress summary. */
typedef struct bnm_engine_stats {
    uint64_t n_sims;
    int n_nodes;
    uint64_t n_batches;
    uint64_t batch_size;      /* simulations per batch (the largest) */
    uint64_t n_diverged;
    double simulated_s;       /* per simulation */
    double wall_s;            /* whole call */
    double kernel_s;          /* time in kernel launches (wall, blocking) */
    double node_steps;        /* n_sims * N * model steps */
    uint64_t peak_device_bytes; /* device buffers of the largest batch */
    char device[256];
    bool dbl;
} bnm_engine_stats;

/* Runs every simulation of run (parsed in BNM_RUN_MODE_SIMULATE or ANY) and writes the
 * result to out_path (interface.md 4), replacing it atomically only on success.
 * out_path NULL runs without writing (benchmarks). opts may be NULL (defaults);
 * stats may be NULL. Errors: BNM_ERR_RUN / BNM_ERR_DATA / BNM_ERR_MODEL (bad input, one
 * message), BNM_ERR_UNSUPPORTED (double on a device without fp64, or a model feature the
 * engine does not run yet), BNM_ERR_OPENCL / BNM_ERR_BUILD (naming the device), BNM_ERR_IO. */
bnm_status bnm_engine_simulate(bnm_context *ctx, const bnm_run *run, const char *out_path,
                               const bnm_engine_options *opts, bnm_engine_stats *stats);

/* An explicit list of simulations (clbnm optimize; engine/batch/sets.c): simulation s
 * uses subject subject[s] of the run, noise seed seed[s], and for param k (a model
 * param name or alias) the values values[(s * n_params + k) * n_nodes + i], node i (a
 * global param reads node 0's). Every array is borrowed during the call. */
typedef struct bnm_engine_sim_list {
    size_t n;
    const size_t *subject;
    const uint64_t *seed;
    size_t n_params;
    const char *const *param_names;
    const bool *param_regional;
    size_t n_nodes;
    const double *values;
} bnm_engine_sim_list;

/* Results of bnm_engine_simulate_list, arrays of list->n filled by the call. */
typedef struct bnm_engine_list_results {
    double *scores;      /* [n][BNM_FIT_N_TERMS], NaN without empirical BOLD */
    double *fic_penalty; /* [n] */
    uint8_t *diverged;   /* [n] */
} bnm_engine_list_results;

/* Runs the simulations of list with everything else from run (parsed in any mode; its
 * sweep is ignored), writes no file, and fills res. Errors as bnm_engine_simulate, plus
 * BNM_ERR_INVALID_ARG for a list whose n_nodes or subjects do not match the run. */
bnm_status bnm_engine_simulate_list(bnm_context *ctx, const bnm_run *run,
                                    const bnm_engine_sim_list *list,
                                    const bnm_engine_options *opts,
                                    bnm_engine_list_results *res, bnm_engine_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
