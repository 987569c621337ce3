/* Feedback inhibition control (nmm-format.md section 11, models.md 1.5-1.8): the model's
 * `fic P { ... }` block names a regional param P that the engine sets per node so that a
 * per-node measure reaches a target. Nothing here is rWW-specific except the penalty;
 * the measure, target, effect and keys all come from the model IR.
 *
 *  - steady_state (11.4): host solve before the kernel, per simulation, and a check that
 *    the solved fixed point holds (stable; with noise, near its target on average);
 *  - iterative (11.3): restart-and-adjust trials; the adjustment is a pure function of
 *    the window means, and a reference driver runs it with the kernel launcher;
 *  - penalty (models.md 1.8). */
#ifndef CLBNM_FIC_H
#define CLBNM_FIC_H

#include <stdbool.h>

#include "clbnm/context.h"
#include "clbnm/model_kernel.h"
#include "clbnm/model_spec.h"
#include "clbnm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bnm_model_ir;

typedef enum bnm_fic_method { BNM_FIC_METHOD_STEADY_STATE, BNM_FIC_METHOD_ITERATIVE } bnm_fic_method;

/* The numeric keys of one method record (nmm-format.md 11.2), block keys merged in. The
 * measure expression is not copied: solvers read it from the IR's record of `method`. A
 * run may override any field after bnm_fic_config_from_model (models.md 1.5). */
typedef struct bnm_fic_config {
    bnm_fic_method method;
    bool increasing;           /* effect: sign of d measure / d P */
    double target;
    double range_lo, range_hi; /* acceptable solved P */
    double fallback;           /* P at every node of a failed steady-state solve */
    /* iterative */
    double tol, window_lo, window_hi, sample, step, step_min, shrink;
    int max_trials;
    /* steady_state */
    double solve_tol;
    int max_iter;
    double avg_time; /* time (model units) over which the run averages the measure, for the
                        fixed-point check's standard error; 0: the iterative window's length */
} bnm_fic_config;

/* Fills cfg from the model's fic block, record `method`. BNM_ERR_RUN when the model has no
 * fic block or the record is absent (a method is available only if its record is). */
bnm_status bnm_fic_config_from_model(bnm_context *ctx, const struct bnm_model_ir *ir,
                                     bnm_fic_method method, bnm_fic_config *cfg);

/* Index of the controlled param in ir->params, -1 when the model has no fic block. */
int bnm_fic_param_index(const struct bnm_model_ir *ir);

/* Writes p ([n_sims][N]) into P's plane of node_params ([n_sims][abi.n_node_params][N]).
 * BNM_ERR_RUN when P is not per_node in abi (while FIC is on, P is NODE-level: 11.1). */
bnm_status bnm_fic_write_param(bnm_context *ctx, const struct bnm_model_ir *ir,
                               const bnm_model_abi *abi, int n_sims, int n_nodes,
                               const double *p, double *node_params);

/* ---- steady_state (11.4) ---- */

/* Per simulation of the batch, finds per node (x_i*, P_i) with f(x_i*, c_i*) = 0, noise
 * off, and measure_i = target: damped Newton per node (coupling fixed, central-difference
 * Jacobian over the states and P) alternated with coupling updates, until the largest
 * change of any state or P is < solve_tol, at most max_iter rounds. Starts from the
 * states' `init` (uniform/normal draws replaced by their means) and P's default.
 *
 * spec must make P per_node (BNM_ERR_RUN otherwise); data is read as for set_data except
 * data->states (ignored) and P's plane of node_params (ignored). Delays are ignored (a
 * steady state is the same at every time). A simulation whose solve does not converge,
 * gives a non-finite value, P outside [range_lo, range_hi] or a state outside its clamp
 * bounds gets unstable_out[s] = true and P = fallback at every node; the call still
 * returns BNM_OK (failures are per simulation, models.md 1.6).
 * clBNM addition: a solved fixed point must also hold (engine/fic/check.c), else the
 * simulation is flagged unstable_out[s] = true but keeps its solved P (the best start
 * for the iterative method): (a) the Euler map the kernel iterates must be stable there
 * (network Jacobian, couplings included); (b) with spec->noise, the linear-noise estimate
 * of every node's time-averaged measure, widened by z standard errors of an average over
 * cfg->avg_time (z for all nodes together at the 5 % level), must lie in the band: for
 * rWW (a let named r_E) the FIC penalty's 3 +- 1 Hz on r_E (models.md 1.8), else the
 * iterative record's target +- tol; without either, (a) only. Networks over 1024 states
 * x nodes skip the check (one warning). The models.md 1.6 closed form flags solver
 * failures only; on a 100-node connectome it reported success at G = 1..3 while the
 * noisy network ran at 7-85 Hz.
 * Outputs (caller-allocated): p_out [n_sims][N]; unstable_out [n_sims];
 * states_out [n_sims][n_states][N] (may be NULL: the steady states, meaningful only where
 * the simulation is stable). Errors: BNM_ERR_RUN (no steady_state record, a model whose
 * f depends on t, P not per_node), BNM_ERR_DATA, BNM_ERR_NOMEM. */
bnm_status bnm_fic_steady_state(bnm_context *ctx, const struct bnm_model_ir *ir,
                                const bnm_model_spec *spec, const bnm_model_data *data,
                                const bnm_fic_config *cfg, double *p_out, bool *unstable_out,
                                double *states_out);

/* The closed form of models.md 1.6 for the shipped rww model (the dedicated rWW path of
 * nmm-format.md 11.5), for the cuBNM comparison switch fic.root_tol. Per node: I_I by
 * Brent-Dekker on [0, 2] nA stopped by GSL's interval test with epsabs 0 and epsrel =
 * root_tol (0: 1e-12, full precision), at most 100 iterations; S_I = gamma_I*tau_I*
 * phi_I(I_I); wIE = (w_E*I_0 + S_E_ss*J_N*(w_p + G*s_j) - I_E_ss)/S_I with s_j the
 * in-strength. An invalid bracket, no convergence or a negative wIE flags the simulation
 * (unstable_out) and sets wIE = 1 at every node; a solved wIE that fails the fixed-point
 * check (as bnm_fic_steady_state, averaging time the iterative window) is flagged and
 * kept. Params are read as the steady-state
 * solver reads them. p_out [n_sims][N], unstable_out [n_sims]. BNM_ERR_RUN when the model
 * lacks rww's params or does not control wIE. */
bnm_status bnm_fic_rww_analytic(bnm_context *ctx, const struct bnm_model_ir *ir,
                                const bnm_model_spec *spec, const bnm_model_data *data,
                                double root_tol, double *p_out, bool *unstable_out);

/* ---- iterative (11.3) ---- */

typedef enum bnm_fic_decision {
    BNM_FIC_CONVERGED, /* every node in band: keep P, run on; this trial gives the outputs */
    BNM_FIC_RESTART,   /* P and steps adjusted, *trial incremented: restart from t = 0 */
    BNM_FIC_EXHAUSTED  /* *trial == max_trials: run on flagged fic_failed, P unchanged */
} bnm_fic_decision;

/* Sets every node's step to cfg->step (the first per-node step). steps: [n_nodes]. */
void bnm_fic_iterative_init_steps(const bnm_fic_config *cfg, int n_nodes, double *steps);

/* The tb decision of one simulation, given its per-node window means of the measure.
 * e_i = mean_i - target. All |e_i| <= tol: CONVERGED. Otherwise, with *trial < max_trials,
 * each node out of band moves P_i by steps_i towards the band (direction from
 * cfg->increasing); nodes with e_i < -tol then set steps_i = max(steps_i - shrink,
 * step_min); *trial += 1; RESTART. Otherwise EXHAUSTED. A non-finite mean is out of band
 * and is treated as above the band (as cuBNM's `else` branch does). Pure: touches only
 * p, steps and *trial. */
bnm_fic_decision bnm_fic_iterative_adjust(const bnm_fic_config *cfg, int n_nodes,
                                          const double *means, double *p, double *steps,
                                          int *trial);

/* Reference driver of the iterative method on the kernel launcher k (created by the
 * caller for ir under a spec that makes P per_node, delays off). Window times count from
 * the simulation's start (step 0, time data->t0). Every trial simulates [0, tb] for the simulations not yet finished only (each simulation stops as soon
 * as it converges or is exhausted), sampling the measure on the host at ta, ta + sample,
 * ... <= tb (launching `sample` steps at a time and evaluating couplings, lets and the
 * measure at the state read back, as recorded in nmm-format.md 10.1), then adjusts and
 * restarts from data->states with the same seeds and noise ids (the same noise).
 * data: the batch as for set_data (P's plane of node_params is replaced by p).
 * p: [n_sims][N], in: the starting P (steady-state result or fallback), out: final P.
 * ntrials_out, failed_out: [n_sims] (fic_ntrials, fic_failed). means_out: [n_sims][N]
 * window means of the last trial (may be NULL). On return k holds the last sub-batch:
 * call set_data again before using it. `clbnm simulate` runs it when fic.max_trials > 0
 * (from the steady-state result) or fic.method is iterative (from fallback), then runs
 * every simulation from t = 0 with its final P: the converged trial continued, since
 * every trial replays the same noise. Errors: BNM_ERR_RUN (no iterative record, delays
 * on, window/sample not multiples of dt, P not per_node), launcher errors. */
bnm_status bnm_fic_iterative_run(bnm_context *ctx, bnm_model_kernel *k,
                                 const struct bnm_model_ir *ir, const bnm_model_data *data,
                                 const bnm_fic_config *cfg, double *p, int *ntrials_out,
                                 bool *failed_out, double *means_out);

/* ---- penalty (models.md 1.8) ---- */

/* fic_penalty from the per-node time-averaged r_E (Hz) m[0..n_nodes-1]:
 * d_j = |m_j - 3|; 0 when no d_j > 1, else -(scale/N)*sum over d_j > 1 of
 * (1 - exp(-0.05*(d_j - 1))). A non-finite m_j contributes 1 (clBNM deviation). scale 0
 * gives 0. Result in (-scale, 0]. */
double bnm_fic_penalty(const double *m, int n_nodes, double scale);

#ifdef __cplusplus
}
#endif
#endif
