/* The batched optimisation driver behind `clbnm optimize` (interface.md sections 2, 4).
 *
 * Runs. Every subject x optimizer seed pair of an optimize run file is one run, index
 * k = subject * n_seeds + seed_index. Each run has its own CMA-ES (clbnm/cmaes.h) keyed
 * by bnm_opt_cmaes_seed(run seed, optimizer seed), so its trajectory depends only on
 * that key and its own costs, never on which other runs share a batch. All active runs
 * advance in lockstep: one generation of all of them is ONE call of the evaluation
 * callback. Runs stop independently (the stop criteria of cmaes.h, max_generations =
 * optimizer.generations). At the end the best particle of every run (lowest cost, ties
 * by the earliest evaluation, NaN never best) is evaluated once more, in one last batch
 * marked best_rerun, which offers the callback a file per particle (sim_out) for the
 * re-run's whole simulate output (bnm_opt_engine_rerun writes it). Every particle of a
 * run uses the run file's noise seed.
 *
 * Free coordinates. The optimizer sees x in [0, 1]^d; coordinate j maps linearly to
 * lo_j + x_j (hi_j - lo_j) (no log scale: the run file has no key for it). Per free
 * parameter P with bounds [lo, hi], in run-file order:
 *   - plain: one coordinate "P" in [lo, hi]; P is global (one value per simulation).
 *   - heterogeneous groups (a label file, one integer label per node): one coordinate
 *     "P_LABEL" in [lo, hi] per distinct label, ascending; P_i = value of node i's label.
 *   - heterogeneous maps m_1..m_K: coordinate "P" in [lo, hi] and one coefficient
 *     "P_cK" (k = 0..K-1) per map; P_i = clamp(P (1 + sum_k c_k m_k[i]), lo, hi).
 *     coef_range: auto gives c_k in [-1/(K M_k), +1/(K M_k)] with M_k = max_i |m_k[i]|,
 *     so |sum_k c_k m_k[i]| <= 1 and the scale 1 + sum_k c_k m_k[i] lies in [0, 2]
 *     (a regional value never changes sign); the clamp then keeps every P_i inside P's
 *     own [lo, hi] for every node, which no nonzero coefficient range could guarantee by
 *     itself while P ranges over all of [lo, hi]. A map with M_k = 0 carries no
 *     information and is an error under auto. An explicit coef_range [a, b] is used as
 *     given (the clamp still applies).
 *   Hemispheric symmetry, key heterogeneous.P.symmetric: true (clbnm/run.h). Node i's
 *   mirror is node (i + N/2) mod N: the left hemisphere first, the right one in the same
 *   order (fit.exc_interhemispheric's convention, and clBNM's synthetic connectomes put
 *   region k of the left at k and its mirror at k + N/2); N must be even. For data in
 *   another order, give groups with one label per mirrored pair instead.
 *   - symmetric alone: one coordinate "P_pairK" in [lo, hi] per mirrored pair, K = 0 ..
 *     N/2-1; nodes K and K + N/2 take its value.
 *   - with groups: mirrored nodes share a value as nodes of one label do. The labels
 *     must pair one to one across the hemispheres (each left label's mirrors carry one
 *     right label, and that right label mirrors only it; the same label on both sides
 *     is the common case); the pair is one coordinate named by its left label. Labels
 *     that would merge two groups of one hemisphere are an error naming the two nodes.
 *   - with maps: each map is replaced by its mean over mirrored pairs (m[i] = m[i + N/2]
 *     = (m[i] + m[i + N/2]) / 2) before the automatic range, so P_i = P_{i + N/2}.
 *
 * Durability. After every generation the driver writes OUTDIR/checkpoint.h5 (to a
 * temporary name in OUTDIR, flushed, then renamed over the old one): per run its CMA-ES
 * state blob (taken between tell and the next ask) and its whole history so far. The
 * history is rewritten in full each time (simple, and small next to a simulation);
 * resume restores both and continues, so an interrupted-then-resumed job produces
 * bitwise the same histories, best particles and outputs as an uninterrupted one,
 * given a deterministic callback. The best re-run's files (OUTDIR/.best_sim_K.h5) live
 * only from the re-run batch until runs.h5 is written; stale ones are removed first.
 * The checkpoint records the run file text and the problem's shape and coordinate
 * bounds; resuming with a different run file (or map files that change the automatic
 * coefficient ranges) is an error. Starting without resume into a folder that holds a
 * checkpoint is an error (nothing is overwritten).
 *
 * Outputs (written at the end, each to a temporary name and renamed):
 *   OUTDIR/runs.h5: root attributes clbnm_version, model, model_source, device,
 *   precision, run_file, created, complete (int32 1); /problem/{x_names, x_lo, x_hi};
 *   per run k, group /runs/k with attributes subject, subject_index, seed (optimizer
 *   seed), noise_seed, cmaes_seed, method, popsize, generations, sigma0, tolfun, status
 *   ("done"), stop_reason (bnm_cmaes_stop_name), stop_text, generations_done,
 *   evaluations; datasets
 *     history/x [rows, d], history/params/NAME [rows] or [rows, N], history/cost,
 *     history/gof, history/fic_penalty [rows] f64, history/diverged [rows] u8,
 *     history/scores/TERM [rows] (TERM = the fit term without its sign, selected terms
 *     only), history/generation, history/particle [rows] int32;
 *     best/{x [d], params/NAME (scalar or [N]), cost, gof, fic_penalty, scores/TERM,
 *     generation, particle} (scalars);
 *     best_sim: the best particle's re-run. When the callback wrote its sim_out file,
 *     that whole file (a simulate file of one simulation, clbnm/h5out.h), root
 *     attributes on the group: with the engine (bnm_opt_engine_rerun) bold [1, n_vol, N],
 *     fc [1, n_pairs] and fc_pairs, fcd, states_mean/VAR [1, N], scores/{TERM, gof, cost,
 *     fic_penalty}, status/{diverged, written}, fic/{failed, trials} with the
 *     FIC-controlled param per node in params/NAME [1, N], every other model param in
 *     params/NAME ([1] or [1, N]), sims/{subject, subject_index (0), seed},
 *     subjects/ID/{sc, lengths, emp_fc, emp_fcd}, and the attributes clbnm_version,
 *     model, model_source, model_hash, device, precision, run_file (the optimize run
 *     file), created, complete. Otherwise (a callback that writes no file) only
 *     {params/NAME [1] or [1, N] of the free params, sims/subject [1] string,
 *     sims/subject_index [1] int32 (0), sims/seed [1] u64, scores/TERM, scores/gof,
 *     scores/cost, scores/fic_penalty [1], status/diverged [1]}.
 *   OUTDIR/history_k.csv: header "generation,particle,cost,gof,TERM...,COORD..." then
 *   one row per particle; COORD are the free coordinates in parameter units, %.17g. */
#ifndef CLBNM_OPTIMIZE_H
#define CLBNM_OPTIMIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"
#include "clbnm/engine.h"
#include "clbnm/fit.h" /* BNM_FIT_N_TERMS */
#include "clbnm/run.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One batch of particles to evaluate. Inputs are borrowed from the driver for the call;
 * the callback fills the outputs (arrays of n, preset to NaN / 0). */
typedef struct bnm_opt_batch {
    size_t n;                        /* particles */
    size_t n_nodes;
    size_t n_params;                 /* model params the driver sets */
    const char *const *param_names;  /* [n_params], as written in the run file */
    const bool *param_regional;      /* [n_params]: per-node values differ */
    const size_t *run;               /* [n] run index */
    const size_t *subject;           /* [n] subject index into run->subjects */
    const uint64_t *seed;            /* [n] noise seed */
    /* [n][n_params][n_nodes]: value of param j at node i for particle p is
     * values[(p * n_params + j) * n_nodes + i]; a global param repeats its value. */
    const double *values;
    bool best_rerun;                 /* the final re-run of each run's best particle */

    double *cost;                    /* [n] lower is better; NaN ranks last */
    double *gof;                     /* [n] */
    double *scores;                  /* [n][BNM_FIT_N_TERMS], larger is better */
    double *fic_penalty;             /* [n] */
    uint8_t *diverged;               /* [n] */

    /* best_rerun only, else NULL: sim_out[q] names a file (in OUTDIR, absent at the
     * call) where the callback may write particle q's full simulate file (interface.md
     * 4), e.g. with bnm_run_derive_one and bnm_engine_simulate. The driver copies each
     * one that exists into runs.h5 as /runs/K/best_sim (K = run[q]) and removes it. */
    const char *const *sim_out;
} bnm_opt_batch;

/* Evaluates a batch. A failure (recorded in ctx) stops the job; the last checkpoint
 * stays and --resume continues from it. */
typedef bnm_status (*bnm_opt_eval_fn)(bnm_context *ctx, const bnm_opt_batch *batch, void *user);

typedef struct bnm_opt_problem_config {
    const bnm_run *run;                 /* parsed in BNM_RUN_MODE_OPTIMIZE; borrowed for
                                           the problem's lifetime */
    const char *const *param_names;     /* the model's param names and aliases, for the
                                           unknown-name check (did you mean) */
    size_t n_param_names;
    const char *const *fic_names;       /* the FIC-controlled param and its aliases (e.g.
                                           wIE, J_i); n_fic_names = 0: no fic block */
    size_t n_fic_names;
    const size_t *subject_nodes;        /* [run->n_subjects] node counts */
} bnm_opt_problem_config;

void bnm_opt_problem_config_init_defaults(bnm_opt_problem_config *cfg);

typedef struct bnm_opt_problem bnm_opt_problem;

/* Validates the run against the model and the data and builds the coordinate mapping
 * (reads label and map files). Errors (BNM_ERR_RUN or BNM_ERR_DATA) name the run file,
 * line and column: unknown free parameter (did you mean), lo >= hi, popsize < 2, a
 * label or map file whose length is not N, a non-integer label, a zero map under
 * coef_range auto, a free or heterogeneous FIC-controlled param while fic is enabled,
 * subjects with different N, symmetric with an odd N (bnm_run_check_nodes, which also
 * checks per-node params) or with labels that do not pair up across the hemispheres.
 * The caller owns *out (bnm_opt_problem_destroy). */
bnm_status bnm_opt_problem_create(bnm_context *ctx, const bnm_opt_problem_config *cfg,
                                  bnm_opt_problem **out);
/* NULL is accepted. */
void bnm_opt_problem_destroy(bnm_opt_problem *p);

size_t bnm_opt_problem_nodes(const bnm_opt_problem *p);
/* Free coordinates d, their names (borrowed) and bounds in parameter units. */
size_t bnm_opt_problem_dim(const bnm_opt_problem *p);
const char *bnm_opt_problem_coord_name(const bnm_opt_problem *p, size_t j);
void bnm_opt_problem_coord_bounds(const bnm_opt_problem *p, size_t j, double *lo, double *hi);
/* Model params the driver sets (one per free entry), names borrowed. */
size_t bnm_opt_problem_n_params(const bnm_opt_problem *p);
const char *bnm_opt_problem_param_name(const bnm_opt_problem *p, size_t j);
bool bnm_opt_problem_param_regional(const bnm_opt_problem *p, size_t j);
/* Maps x01[d] (each in [0, 1]) to values[n_params][n_nodes] as in bnm_opt_batch. */
void bnm_opt_problem_map(const bnm_opt_problem *p, const double *x01, double *values);
/* Runs: subjects x seeds, subject-major. */
size_t bnm_opt_problem_n_runs(const bnm_opt_problem *p);
void bnm_opt_problem_run_info(const bnm_opt_problem *p, size_t k, size_t *subject,
                              uint64_t *opt_seed, uint64_t *noise_seed);

/* The CMA-ES key of a run: a SplitMix64 mix of the run file's seed and the optimizer
 * seed, so different optimizer seeds give unrelated streams. */
uint64_t bnm_opt_cmaes_seed(uint64_t run_seed, uint64_t opt_seed);

typedef struct bnm_opt_config {
    const char *outdir;        /* created when missing (one level) */
    bool resume;               /* continue from OUTDIR/checkpoint.h5 */
    bnm_opt_eval_fn eval;
    void *user;
    /* Root attributes of runs.h5; NULL is written as "". */
    const char *model, *model_source, *device, *precision;
} bnm_opt_config;

void bnm_opt_config_init_defaults(bnm_opt_config *cfg);

/* Runs the whole job (see the top of this file). BNM_ERR_IO names the file that could
 * not be written; a callback failure is returned as the callback's status. */
bnm_status bnm_optimize(bnm_context *ctx, const bnm_opt_problem *p, const bnm_opt_config *cfg);

/* ---- The engine as evaluator (optim/driver/engine_eval.c) ---------------------- */

typedef struct bnm_opt_engine {
    const bnm_run *run;       /* the optimize run, borrowed */
    bnm_engine_options opts;  /* device, precision, budgets; on_batch as in
                                 bnm_opt_engine_rerun for the re-run */
} bnm_opt_engine;

/* An evaluation callback; user is a bnm_opt_engine. A generation batch is one
 * bnm_engine_simulate_list call, the best re-run is bnm_opt_engine_rerun; gof and cost
 * come from the scores (bnm_fit_gof, bnm_fit_cost). The engine is set up anew for each
 * call (it logs, at debug level, the batch's wall time next to its kernel time). */
bnm_status bnm_opt_engine_eval(bnm_context *ctx, const bnm_opt_batch *batch, void *user);

/* The best re-run with the engine, for a callback's best_rerun batch: particle q runs
 * alone as the simulate run bnm_run_derive_one makes of it (subject[q], seed[q], its
 * values), which keeps the generation batches' kernel, so its scores equal those the
 * particle got in its generation; the engine writes the run's whole simulate file to
 * batch->sim_out[q] (no file when sim_out is NULL). Fills scores, fic_penalty,
 * diverged, gof and cost of every particle. opts may be NULL (defaults); its on_batch,
 * when set, also sees each re-run's results with v->first = q (the particle's index in
 * the batch, as with a list) and v->n = 1. */
bnm_status bnm_opt_engine_rerun(bnm_context *ctx, const bnm_run *run,
                                const bnm_opt_batch *batch, const bnm_engine_options *opts);

#ifdef __cplusplus
}
#endif
#endif
