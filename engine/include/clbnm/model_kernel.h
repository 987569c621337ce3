/* Host launcher of a generated model kernel: builds it for one device (through the
 * program cache), holds the batch's device buffers, runs steps and reads results. */
#ifndef CLBNM_MODEL_KERNEL_H
#define CLBNM_MODEL_KERNEL_H

#include <stdint.h>

#include "clbnm/model_spec.h"
#include "clbnm/program.h"
#include "clbnm/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bnm_model_kernel bnm_model_kernel;

/* Generates and builds the kernel of ir under spec on cl's device. cl, cache and ir are
 * borrowed and must outlive the kernel (cache may be NULL: no caching). Double precision
 * on a device without cl_khr_fp64 is BNM_ERR_UNSUPPORTED. A failed build is
 * BNM_ERR_BUILD; the context message then carries the compiler's errors, which point at
 * the .nmm file and line. The caller owns *out. */
bnm_status bnm_model_kernel_create(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                                   const struct bnm_model_ir *ir, const bnm_model_spec *spec,
                                   bnm_model_kernel **out);
/* NULL is accepted. */
void bnm_model_kernel_destroy(bnm_model_kernel *k);

/* Borrowed, valid while k lives. */
const bnm_model_abi *bnm_model_kernel_abi(const bnm_model_kernel *k);
/* The generated source (borrowed). */
const char *bnm_model_kernel_source(const bnm_model_kernel *k);

/* Uploads a batch (allocating device buffers as needed), resets every simulation's
 * status and the delay history. Delays are rounded to steps on the host (section 9.4);
 * negative or non-finite delays, bad indices and size mismatches are BNM_ERR_DATA. */
bnm_status bnm_model_kernel_set_data(bnm_context *ctx, bnm_model_kernel *k,
                                     const bnm_model_data *data);

/* Integrates steps first_step .. first_step + n_steps - 1 (states x_first -> x_last+1).
 * With a delay history longer than one step, a run must start at 0 or continue where the
 * previous one ended (BNM_ERR_INVALID_ARG otherwise). Blocks until done. */
bnm_status bnm_model_kernel_run(bnm_context *ctx, bnm_model_kernel *k, uint64_t first_step,
                                uint64_t n_steps);

/* states_out: [n_sims][n_states][N] in declaration order. */
bnm_status bnm_model_kernel_read_states(bnm_context *ctx, bnm_model_kernel *k,
                                        double *states_out);
/* status_out: [n_sims]. */
bnm_status bnm_model_kernel_read_status(bnm_context *ctx, bnm_model_kernel *k,
                                        bnm_sim_status *status_out);

#ifdef __cplusplus
}
#endif
#endif
