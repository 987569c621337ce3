/* OpenCL C code generation from the model IR (nmm-format.md sections 8-10, 14, 15.2).
 *
 * The generated program has one kernel, "nmm_MODEL_integrate" (MODEL: the `model` name;
 * the ABI descriptor's kernel_name). Each work-item integrates NMM_L simulations side
 * by side, one per vector lane (spec.lanes: the device's preferred vector width on CPUs,
 * 1 on GPUs, where a work-group of 64 simulations shares its connectome in local
 * memory), looping over nodes, n_steps steps from a 64-bit first step index, so a long
 * run split into several launches gives bitwise identical results, and a simulation's
 * bits never depend on its lane or its neighbours. Buffers marked [G] are per work-item
 * group of lanes, with the lane index innermost ([G][...][L]); nmm_real is floatL or
 * doubleL (the scalar type when L = 1), nmm_sreal its scalar. Kernel arguments:
 *   0 uint   n_sims        lane slots (groups x L, padding lanes included)
 *   1 uint   n_nodes
 *   2 ulong  first_step
 *   3 uint   n_steps
 *   4 nmm_sreal t0
 *   5 nmm_sreal dt
 *   6 uint   hist_len      ring length of the T history (max delay + 1; 1 without delays)
 *   7 __global const uint *gidx          [G][6][L]: seed bits 0-31, seed bits 32-63, noise
 *                                         id, connectome, delay matrix, flags (lane 0)
 *   8 __global const nmm_sreal *weights  [conn][source j][target i] (weight j -> i)
 *   9 __global const int *delays         [mat][source j][target i] in steps (dummy when off)
 *  10 __global nmm_real *history         [G][n_transmit][hist_len][N]
 *  11 __global const nmm_real *sim_params  [G][n_sim_params]
 *  12 __global const nmm_real *node_params [G][n_node_params][N]
 *  13 __global nmm_real *node_cache      [G][n_node_hoisted][N] (scratch)
 *  14 __global nmm_real *states          [G][n_states][N], read and written
 *  15 __global ulong *status             [lane slot][2]: nonfinite flag, first bad step
 *                                         (padding lanes start at 1: frozen)
 *  16 __global nmm_sreal *zbuf           [G][noisy states][N rounded up to L] (scratch)
 *  17 __global nmm_real *cpl             [G][precomputed sums][N] (scratch)
 *  18 __local nmm_sreal *wloc            N x N when the work-group's weights fit
 * Host code uses model_kernel.h (or the batch engine) rather than binding these itself;
 * engine/codegen/kernel_data.c places simulations in lanes and packs the buffers. */
#ifndef CLBNM_CODEGEN_H
#define CLBNM_CODEGEN_H

#include "clbnm/context.h"
#include "clbnm/model_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the generator; part of the kernel cache key through the source text. */
#define BNM_CODEGEN_VERSION 2

/* Extension points: comments the generator emits exactly once each, where the batch
 * engine (engine/batch/fused.c) splices its own code:
 *   PRELUDE   on its own line before the kernel: helper definitions (nmm_real is defined);
 *   ARGS      right after the last kernel parameter, before ')': ", more parameters";
 *   STEP_END  on its own line at the end of the step loop body, after the divergence
 *             check: the state x_{k+1} of every node is in nmm_states, the step index is
 *             nmm_k, the simulation nmm_s, its state base nmm_sb, N nmm_nn.
 * Keep them when changing the generator; the engine's tests fail without them.
 *
 * BW-step-end hook: just before STEP_END the generator emits, inside
 * `#ifdef NMM_STEP_END_NODE`, `if (NMM_STEP_END_DUE) { NMM_STEP_END_BEGIN` then a loop
 * over nodes nmm_i that binds the node's params and new states and evaluates the model's
 * BOLD driver (a state, or a let without coupling; NaN otherwise) at x_{k+1} and t_{k+1}
 * into `const nmm_real nmm_zd`, then expands NMM_STEP_END_NODE. An includer that defines
 * the three macros (at PRELUDE) gets its per-node code run where it asks. */
#define BNM_CODEGEN_MARK_PRELUDE "/* @nmm:prelude */"
#define BNM_CODEGEN_MARK_ARGS "/* @nmm:args */"
#define BNM_CODEGEN_MARK_STEP_END "/* @nmm:step-end */"

/* Emits the OpenCL C source of ir specialised by spec. The caller frees *source_out
 * with free(). Spec errors as bnm_model_abi_create. */
bnm_status bnm_codegen_emit(bnm_context *ctx, const struct bnm_model_ir *ir,
                            const bnm_model_spec *spec, char **source_out);

/* Same, also returning the ABI descriptor (caller destroys) and the number of
 * NODE-level hoisted values (planes of the node_cache argument). Either out pointer
 * except source_out may be NULL. */
bnm_status bnm_codegen_emit_full(bnm_context *ctx, const struct bnm_model_ir *ir,
                                 const bnm_model_spec *spec, char **source_out,
                                 bnm_model_abi **abi_out, int *n_node_cache_out);

#ifdef __cplusplus
}
#endif
#endif
