/* Balloon-Windkessel haemodynamics and BOLD sampling (analysis.md sections 3 and 4).
 *
 * Three layers:
 *   - one node's BW state and step, in double, exactly in the normative order of
 *     analysis.md 3.3 (the host path the engine checks itself against);
 *   - the schedule (BW steps, volumes, removed volumes, state samples) computed from
 *     integer nanoseconds (analysis.md 2.2-2.3, 4.1-4.3);
 *   - a streaming host sampler that takes the driver (and optionally the states) at
 *     each BW-step end and produces the volumes and the time-averaged states;
 * plus the OpenCL C text the batch kernels include for the device side. */
#ifndef CLBNM_BOLD_H
#define CLBNM_BOLD_H

#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Constants of analysis.md 3.1 (rates in 1/s, tau in s). */
#define BNM_BW_RHO 0.34
#define BNM_BW_ALPHA 0.32
#define BNM_BW_TAU 0.98
#define BNM_BW_GAMMA (1.0 / 0.41)
#define BNM_BW_KAPPA (1.0 / 0.65)
#define BNM_BW_V0 2.0

/* Output coefficients of one `bold_params` set (analysis.md 3.2). */
typedef struct bnm_bold_coeffs {
    double k1, k2, k3;
} bnm_bold_coeffs;

/* Looks up a `bold_params` set by name ("friston2003", "heinzle2016-3T"; exact,
 * case-sensitive). NULL means the default, friston2003. Any other name is BNM_ERR_RUN
 * with the valid names listed in the message. */
bnm_status bnm_bold_coeffs_lookup(bnm_context *ctx, const char *name, bnm_bold_coeffs *out);
/* The valid set names, comma-separated, for help texts. Static string. */
const char *bnm_bold_coeffs_names(void);

typedef enum bnm_bold_mode {
    BNM_BOLD_BALLOON, /* BW model (analysis.md 3.3-3.4) */
    BNM_BOLD_DIRECT   /* the volume is the driver at the sampling time (3.6) */
} bnm_bold_mode;

/* Parses "balloon" or "direct"; anything else is BNM_ERR_RUN listing both. */
bnm_status bnm_bold_mode_parse(bnm_context *ctx, const char *text, bnm_bold_mode *out);
/* "balloon" or "direct". Static string. */
const char *bnm_bold_mode_name(bnm_bold_mode mode);

/* --- One node -------------------------------------------------------------------- */

typedef struct bnm_bw_state {
    double x;  /* vasodilatory signal */
    double f;  /* inflow */
    double nu; /* venous volume */
    double q;  /* deoxyhaemoglobin content */
} bnm_bw_state;

/* Rest: x = 0, f = nu = q = 1 (analysis.md 3.4). */
void bnm_bw_init(bnm_bw_state *s);
/* One BW step with input z and step h (seconds, bw_dt / 1000), in the semi-implicit
 * order of analysis.md 3.3. */
void bnm_bw_step(bnm_bw_state *s, double z, double h);
/* BOLD (percent signal change) of the state, analysis.md 3.3. */
double bnm_bw_observe(const bnm_bw_state *s, const bnm_bold_coeffs *c);

/* --- Schedule ---------------------------------------------------------------------- */

/* Time quantities in integer nanoseconds (analysis.md 2.2: parsed from decimal text,
 * never through binary floating point). */
typedef struct bnm_bold_times {
    int64_t duration_ns;
    int64_t bw_dt_ns;
    int64_t tr_ns;
    int64_t states_sampling_ns; /* 0: equal to tr */
    int64_t bold_remove_ns;     /* may be fractional seconds, e.g. 7.5 s */
} bnm_bold_times;

/* Leaves every field 0 except bold_remove_ns = 30 s (analysis.md 2.1). */
void bnm_bold_times_init_defaults(bnm_bold_times *t);

typedef struct bnm_bold_schedule {
    int64_t n_bw;          /* BW steps: duration / bw_dt */
    int64_t bw_per_vol;    /* BW steps per TR */
    int64_t n_vol;         /* volumes: floor(duration / tr); a partial TR makes none */
    int64_t n_rm;          /* removed volumes: floor(bold_remove / tr) */
    int64_t n_corr;        /* n_vol - n_rm; may be < 2 (the FC stage rejects that) */
    int64_t bw_per_samp;   /* BW steps per states_sampling */
    int64_t n_samp;        /* state samples: floor(duration / states_sampling) */
    int64_t n_rm_s;        /* removed samples: floor(bold_remove / states_sampling) */
    double h;              /* bw_dt in seconds, the BW step */
} bnm_bold_schedule;

/* Computes the schedule. BNM_ERR_RUN when a time is not positive (bold_remove may be
 * 0), when duration is not a multiple of bw_dt, or when tr or states_sampling is not a
 * multiple of bw_dt (analysis.md 2.2). n_corr >= 2 is not checked here: it is a
 * requirement of FC/FCD, not of sampling. */
bnm_status bnm_bold_schedule_compute(bnm_context *ctx, const bnm_bold_times *t,
                                     bnm_bold_schedule *out);

/* --- Streaming host sampler ---------------------------------------------------------- */

typedef struct bnm_bold_sampler_config {
    bnm_bold_mode mode;     /* default BNM_BOLD_BALLOON */
    bnm_bold_coeffs coeffs; /* default friston2003 */
    size_t n_nodes;         /* required, > 0 */
    size_t n_quant;         /* quantities per node to time-average; 0: none */
} bnm_bold_sampler_config;

void bnm_bold_sampler_config_init_defaults(bnm_bold_sampler_config *cfg);

typedef struct bnm_bold_sampler bnm_bold_sampler;

/* Allocates the sampler and its volume array (n_vol x n_nodes). sch and cfg are
 * copied. The caller owns *out (release with bnm_bold_sampler_destroy). */
bnm_status bnm_bold_sampler_create(bnm_context *ctx, const bnm_bold_schedule *sch,
                                   const bnm_bold_sampler_config *cfg,
                                   bnm_bold_sampler **out);
/* NULL is accepted. */
void bnm_bold_sampler_destroy(bnm_bold_sampler *s);

/* Back to t = 0: BW states at rest, no volume, no sample (a numerical-FIC restart,
 * analysis.md 3.4). */
void bnm_bold_sampler_reset(bnm_bold_sampler *s);

/* Advances one BW step (the one ending at t = (k+1) bw_dt, k = steps done so far).
 * z[i]: driver of node i at that instant (analysis.md 2.4, 3.4). states: NULL when
 * n_quant is 0, else states[i * n_quant + j] = quantity j of node i at that instant;
 * read only when a state sample is due. Emits the volume due at t (4.1) and adds the
 * due sample to the sums (4.3). More than n_bw calls is BNM_ERR_INTERNAL. Borrowed
 * arguments. */
bnm_status bnm_bold_sampler_push(bnm_context *ctx, bnm_bold_sampler *s, const double *z,
                                 const double *states);

int64_t bnm_bold_sampler_steps_done(const bnm_bold_sampler *s);
int64_t bnm_bold_sampler_volumes_done(const bnm_bold_sampler *s);
/* Volumes so far: bold[v * n_nodes + i] for v < volumes_done (the whole series,
 * removed volumes included, 4.1). Borrowed, valid until destroy. */
const double *bnm_bold_sampler_volumes(const bnm_bold_sampler *s);
/* BW state of node i (balloon mode). Borrowed. */
const bnm_bw_state *bnm_bold_sampler_bw(const bnm_bold_sampler *s, size_t i);

/* Time averages (analysis.md 4.3): out[i * n_quant + j] = mean of quantity j of node i
 * over samples s >= n_rm_s. Needs every step pushed (BNM_ERR_INTERNAL otherwise) and
 * n_samp > n_rm_s (BNM_ERR_RUN otherwise: bold_remove leaves nothing to average). */
bnm_status bnm_bold_sampler_states_mean(bnm_context *ctx, const bnm_bold_sampler *s,
                                        double *out);

/* Whole series at once: z[k * n_nodes + i] for k < n_bw; writes bold[v * n_nodes + i]
 * for v < n_vol. Borrowed arguments. */
bnm_status bnm_bold_sample_series(bnm_context *ctx, const bnm_bold_schedule *sch,
                                  bnm_bold_mode mode, const bnm_bold_coeffs *coeffs,
                                  size_t n_nodes, const double *z, double *bold);

/* --- Device side -------------------------------------------------------------------- */

/* OpenCL C 1.2 text (NUL-terminated) for the batch kernels. The includer first defines
 * nmm_real (typedef float, or double with cl_khr_fp64 enabled) and must not build with
 * -cl-fast-relaxed-math or -cl-unsafe-math-optimizations (they may delete the
 * compensation below). It defines
 *   nmm_bw                 one node's BW state: NMM_BW_NFIELD (8) nmm_real fields, x and
 *                          the deviations from rest f - 1, nu - 1, q - 1, each with a
 *                          Kahan compensation term; treat it as opaque
 *   nmm_bw nmm_bw_rest(void);                             x = 0, f = nu = q = 1
 *   nmm_bw nmm_bw_load(__global const nmm_real *p, ulong stride);
 *   void nmm_bw_store(__global nmm_real *p, ulong stride, nmm_bw s);
 *                          field j at p[j * stride] (stride = node count gives one
 *                          plane per field)
 *   nmm_bw nmm_bw_step(nmm_bw s, nmm_real z, nmm_real h);  one BW step, h in seconds
 *   nmm_real nmm_bw_bold(nmm_bw s, nmm_real k1, nmm_real k2, nmm_real k3);
 *   NMM_BW_KAPPA, NMM_BW_GAMMA, NMM_BW_TAU, NMM_BW_RHO, NMM_BW_OMR (1 - rho),
 *   NMM_BW_LN_OMR (ln(1 - rho)), NMM_BW_V0: the constants in the run precision
 *                          (each the correctly rounded value of the host double one).
 * Same update order as analysis.md 3.3, rewritten without cancellation near rest and
 * with compensated updates (engine/bold/bw_cl.c says why); rest is an exact fixed
 * point. Over 900 s at bw_dt = 1 ms it stays within 2.2e-7 (float) and 1e-15 (double)
 * of an exact solution, relative to the BOLD scale (tests/bold). Direct mode does not
 * use this text. Names starting nmm_bw / NMM_BW_ are reserved by it. Static storage. */
extern const char bnm_bold_cl_source[];

#ifdef __cplusplus
}
#endif
#endif
