/* Counter-based noise shared by the generated kernels and the host interpreter.
 *
 * Every draw is a pure function of (seed, noise id, node, step, stream): Philox4x32-10
 * keyed by the seed, one block per draw, Box-Muller for normals. The bit mapping is
 * specified in engine/rng/RNG.md; the host (this file, Random123) and the device
 * (bnm_rng_cl_source, written independently) implement that one document, and
 * tests/rng checks them against each other. nmm-format.md 10.7, analysis.md 2.7. */
#ifndef CLBNM_RNG_H
#define CLBNM_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Identifies the bit mapping of RNG.md for the kernel ABI descriptor (nmm-format.md
 * 14): any change to the mapping must change this string. */
#define BNM_RNG_LAYOUT "philox4x32-10/ctr(node,noise_id,step48,stream16)/bm-cos52"

/* The counter holds 48 bits of step and 16 bits of stream (RNG.md 2). Larger values
 * alias (the extra bits are ignored), so callers keep below these bounds: the run
 * validator rejects runs of BNM_RNG_STEP_LIMIT steps or more. */
#define BNM_RNG_STEP_LIMIT (UINT64_C(1) << 48)
#define BNM_RNG_STREAM_LIMIT (UINT32_C(1) << 16)
/* Noise slots and state indices must be below this (RNG.md 3). */
#define BNM_RNG_SLOT_LIMIT 32768

/* z ~ N(0,1) for one (seed, noise_id, node, step, stream). Host, double precision. */
double bnm_rng_normal(uint64_t seed, uint32_t noise_id, uint32_t node, uint64_t step,
                      uint32_t stream);
/* u ~ U(0,1), open interval, same addressing (used for `uniform(a,b)` state inits on
 * the host). Values are (2k+1)/2^53 for k in [0, 2^52): never 0, never 1. */
double bnm_rng_uniform(uint64_t seed, uint32_t noise_id, uint32_t node, uint64_t step,
                       uint32_t stream);

/* Stream numbers: noise of the k-th noisy state (bnm_ir state noise_slot), and
 * initial-value draws of state s (its index in the IR). Arguments in
 * [0, BNM_RNG_SLOT_LIMIT); the two families never collide. Initial values are drawn
 * at step 0 (RNG.md 3). */
uint32_t bnm_rng_stream_noise(int noise_slot);
uint32_t bnm_rng_stream_init(int state_index);

/* OpenCL C source text (NUL-terminated) that defines, for kernels,
 *   nmm_real nmm_rng_normal(ulong seed, uint noise_id, uint node, ulong step, uint stream);
 *   nmm_real nmm_rng_uniform(ulong seed, uint noise_id, uint node, ulong step, uint stream);
 *   uint4 nmm_rng_block(ulong seed, uint noise_id, uint node, ulong step, uint stream);
 *   uint4 nmm_rng_philox4x32_10(uint4 ctr, uint2 key);
 *   NMM_RNG_STREAM_NOISE(k), NMM_RNG_STREAM_INIT(s)  (macros, as the host functions)
 * where nmm_real is a type the including kernel has already defined (typedef float or
 * double). Self-contained: no #include, OpenCL C 1.2, no extension beyond cl_khr_fp64
 * (which the includer enables) when nmm_real is double. Names starting nmm_rng_ /
 * NMM_RNG_ are reserved by it. Static storage, never freed. */
extern const char bnm_rng_cl_source[];
/* The same draws for a whole vector of lanes at once (nmm_rngv_normal), generic in the
 * kernel's lane types (nmm_uint, nmm_real, nmm_mask, NMM_CVT_REAL: emit.c defines them;
 * with one lane they are scalars). Both branches of each choice are computed and
 * selected per lane, so a lane's value is the same as the scalar function's formula. */
extern const char bnm_rng_cl_lanes_source[];

/* --- Internal, for the tests and the interpreter ----------------------------------- */

/* The raw Philox4x32-10 block of one address (RNG.md 2): out[0..3] = R0..R3. */
void bnm_rng_block(uint64_t seed, uint32_t noise_id, uint32_t node, uint64_t step,
                   uint32_t stream, uint32_t out[4]);
/* Philox4x32-10 itself (Random123), for known-answer tests. */
void bnm_rng_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* (2k+1)/2^53 with k the top 52 bits of the 64-bit word hi:lo (RNG.md 4). */
double bnm_rng_unit(uint32_t hi, uint32_t lo);

#ifdef __cplusplus
}
#endif
#endif
