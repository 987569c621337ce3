/* Host interpreter of the model IR (nmm-format.md 15.1): the same integrators, bounds,
 * coupling, delays and noise values as the generated kernels, in double, without
 * OpenCL. The kernels' test oracle, and the evaluator of the steady-state FIC solver. */
#ifndef CLBNM_INTERP_H
#define CLBNM_INTERP_H

#include <stdint.h>

#include "clbnm/model_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bnm_interp bnm_interp;

/* ir is borrowed and must outlive the interpreter; spec is read during the call only
 * (precision is ignored: everything is double). The caller owns *out. */
bnm_status bnm_interp_create(bnm_context *ctx, const struct bnm_model_ir *ir,
                             const bnm_model_spec *spec, bnm_interp **out);
/* NULL is accepted. */
void bnm_interp_destroy(bnm_interp *ip);
/* Borrowed, valid while ip lives. */
const bnm_model_abi *bnm_interp_abi(const bnm_interp *ip);

/* As bnm_model_kernel_set_data. */
bnm_status bnm_interp_set_data(bnm_context *ctx, bnm_interp *ip, const bnm_model_data *data);
/* As bnm_model_kernel_run. */
bnm_status bnm_interp_run(bnm_context *ctx, bnm_interp *ip, uint64_t first_step,
                          uint64_t n_steps);
/* [n_sims][n_states][N]. */
void bnm_interp_read_states(const bnm_interp *ip, double *states_out);
/* [n_sims]. */
void bnm_interp_read_status(const bnm_interp *ip, bnm_sim_status *status_out);

/* Evaluates simulation sim's couplings and lets at the network state `states`
 * ([n_states][N]) and time t, every source read without delay (the state taken as the
 * value at all times, as a steady state is). Outputs (either may be NULL):
 * couplings_out [n_couplings][N], lets_out [n_lets][N]. Uses the params, connectome
 * and dt of the last set_data. Uses ip's scratch space: not concurrently on one ip. */
bnm_status bnm_interp_eval(bnm_context *ctx, const bnm_interp *ip, int sim,
                           const double *states, double t, double *couplings_out,
                           double *lets_out);

/* Initial states of a batch from the model's `state` declarations (nmm-format.md 3,
 * 10.7): expressions evaluated per (simulation, node) in double with the batch's params;
 * `uniform(a, b)` = a + (b - a)*u and `normal(m, s)` = m + s*z with u, z drawn at step 0,
 * stream bnm_rng_stream_init(state), the simulation's seed and noise id (engine/rng/RNG.md
 * 3). data is read as for set_data except data->states, which is ignored.
 * states_out: [n_sims][n_states][N]. */
bnm_status bnm_model_initial_states(bnm_context *ctx, const struct bnm_model_ir *ir,
                                    const bnm_model_spec *spec, const bnm_model_data *data,
                                    double *states_out);

#ifdef __cplusplus
}
#endif
#endif
