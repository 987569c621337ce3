/* Fit to data: static FC, FCD, the goodness-of-fit terms, gof and cost
 * (analysis.md sections 4.2, 5, 6, 7, 8).
 *
 * BOLD layout. Host functions take a series through two strides, so both the engine's
 * volume-major output ([n_vol][n_nodes], /bold) and nodes-by-time empirical arrays
 * (interface.md 3) are read in place: value (volume v, node i) is
 * bold[v * vol_stride + i * node_stride].
 *
 * Pair order. FC vectors follow analysis.md 5.2: pairs (i, j) with i > j in row-major
 * order (NumPy tril_indices(N, -1)), minus the interhemispheric pairs when asked. FCD
 * vectors are the lower triangle (a > b, row-major) of the window-by-window matrix.
 *
 * Two implementations compute the same quantities: the host one below in double (used
 * for empirical data and small batches) and the device one (bnm_fit_device, OpenCL +
 * CLBlast) for whole batches of simulated BOLD, in float or double. */
#ifndef CLBNM_FIT_H
#define CLBNM_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"
#include "clbnm/program.h"
#include "clbnm/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Geometry ---------------------------------------------------------------------- */

/* The FC pair list. pairs[2p] = i, pairs[2p+1] = j (i > j) of pair p. */
typedef struct bnm_fc_pairs {
    size_t n_nodes;
    size_t n_pairs;
    uint32_t *pairs;
} bnm_fc_pairs;

/* Builds the pair list of analysis.md 5.2-5.3. With exc_interhemispheric a pair is
 * dropped when its nodes lie in different hemispheres: hemi[i] (0 or 1 per node) when
 * hemi is non-NULL, else the halves rule (node < n_nodes/2), which needs an even
 * n_nodes. n_nodes < 2 or an empty list is an error. The caller owns out->pairs
 * (bnm_fc_pairs_free). */
bnm_status bnm_fc_pairs_make(bnm_context *ctx, size_t n_nodes, bool exc_interhemispheric,
                             const uint8_t *hemi, bnm_fc_pairs *out);
/* Frees and empties; NULL accepted. */
void bnm_fc_pairs_free(bnm_fc_pairs *p);

/* FCD windows in volumes (analysis.md 6.1-6.3). */
typedef struct bnm_fcd_windows {
    unsigned ws;     /* window size in TRs, even >= 2; a full window holds ws + 1 volumes */
    unsigned st;     /* step in TRs, >= 1 */
    bool drop_edges; /* default true */
} bnm_fcd_windows;

/* ws = 2 round_he(window / (2 TR)), st = round_he(step / TR), evaluated exactly on the
 * integer nanosecond values (round half to even). ws < 2 or st < 1 is BNM_ERR_RUN.
 * Logs the effective window ((ws+1) TR) and step (st TR) at info level. */
bnm_status bnm_fcd_windows_from_ns(bnm_context *ctx, int64_t window_ns, int64_t step_ns,
                                   int64_t tr_ns, bool drop_edges, bnm_fcd_windows *out);

/* Windows of a series of n_vol volumes whose first n_rm are removed. */
size_t bnm_fcd_window_count(const bnm_fcd_windows *w, size_t n_vol, size_t n_rm);
/* Inclusive volume range [*first, *last] of window k (< bnm_fcd_window_count). */
void bnm_fcd_window_range(const bnm_fcd_windows *w, size_t n_vol, size_t n_rm, size_t k,
                          size_t *first, size_t *last);
/* n_win (n_win - 1) / 2. */
size_t bnm_fcd_pair_count(size_t n_win);

/* ---- Host computation (double) ----------------------------------------------------- */

/* Pearson FC over volumes [v0, v1) that are not censored (censor[v] != 0 marks an
 * outlier; NULL censors nothing), for every pair of `pairs`, into fc[n_pairs]. A node
 * with zero variance (or fewer than 2 volumes) gives NaN for its pairs; *n_flat (may be
 * NULL) receives the number of such nodes. BNM_ERR_NOMEM is the only failure. */
bnm_status bnm_fc_host(bnm_context *ctx, const double *bold, size_t vol_stride,
                       size_t node_stride, size_t v0, size_t v1, const uint8_t *censor,
                       const bnm_fc_pairs *pairs, double *fc, size_t *n_flat);

/* Simulated FC and FCD of one series of n_vol volumes with the first n_rm removed
 * (analysis.md 5, 6). fc: [pairs->n_pairs] or NULL. fcd: [bnm_fcd_pair_count(n_win)]
 * or NULL. Window FCs are held for one series only. NaN propagates as specified.
 * BNM_ERR_NOMEM is the only failure (windows may be NULL when fcd is NULL). */
bnm_status bnm_fit_host_series(bnm_context *ctx, const double *bold, size_t vol_stride,
                               size_t node_stride, size_t n_vol, size_t n_rm,
                               const bnm_fc_pairs *pairs, const bnm_fcd_windows *windows,
                               double *fc, double *fcd);

/* Exact two-sample Kolmogorov-Smirnov statistic D = sup |F_a - F_b| with right-continuous
 * ECDFs evaluated at every pooled point (ties handled exactly). The inputs need not be
 * sorted and are not modified. NaN when a sample is empty or holds a non-finite value. */
double bnm_ks_statistic(const double *a, size_t na, const double *b, size_t nb);
/* The same with both samples already sorted ascending (finite). */
double bnm_ks_statistic_sorted(const double *a, size_t na, const double *b, size_t nb);

/* ---- Empirical data (analysis.md 7.2) ---------------------------------------------- */

typedef struct bnm_fit_emp_options {
    size_t remove_vols;       /* emp_remove_vols, default 0 */
    double outlier_threshold; /* emp_outlier_threshold, default 0.5 */
    const uint8_t *censor;    /* per-volume outlier mask (borrowed during the call);
                                 NULL: a volume whose node values are all exactly 0 */
    bool need_fcd;            /* -fcd_ks requested: fewer than 2 kept windows is an error */
} bnm_fit_emp_options;

void bnm_fit_emp_options_init_defaults(bnm_fit_emp_options *o);

typedef struct bnm_fit_emp bnm_fit_emp;

/* Empirical FC (and FCD when windows is non-NULL) from a BOLD series, with the rules and
 * errors of analysis.md 7.2: outlier volumes excluded everywhere, non-finite values and
 * zero-variance nodes over the static range are errors (BNM_ERR_DATA), windows with too
 * many outliers, fewer than 3 valid volumes or a zero-variance node are skipped (the
 * latter with a warning). The caller owns *out (bnm_fit_emp_destroy). */
bnm_status bnm_fit_emp_from_bold(bnm_context *ctx, const double *bold, size_t vol_stride,
                                 size_t node_stride, size_t n_vol,
                                 const bnm_fc_pairs *pairs, const bnm_fcd_windows *windows,
                                 const bnm_fit_emp_options *opts, bnm_fit_emp **out);
/* Precomputed empirical FC (length n_fc, may be NULL with n_fc = 0) and/or FCD sample
 * (any length, may be NULL). Non-finite values are BNM_ERR_DATA. Copies the inputs. */
bnm_status bnm_fit_emp_from_vectors(bnm_context *ctx, const double *fc, size_t n_fc,
                                    const double *fcd, size_t n_fcd, bnm_fit_emp **out);
/* Checks emp against the simulation's geometry: an FC of exactly n_pairs values
 * (analysis.md 7), and an FCD sample of at least one value when need_fcd (-fcd_ks).
 * BNM_ERR_DATA with the two lengths otherwise. */
bnm_status bnm_fit_emp_check(bnm_context *ctx, const bnm_fit_emp *emp, size_t n_pairs,
                             bool need_fcd);
/* NULL accepted. */
void bnm_fit_emp_destroy(bnm_fit_emp *emp);
/* Borrowed views (valid while emp lives); NULL with *n = 0 when absent. The FCD is in
 * lower-triangle order over the kept windows; the sorted copy is what KS uses. */
const double *bnm_fit_emp_fc(const bnm_fit_emp *emp, size_t *n);
const double *bnm_fit_emp_fcd(const bnm_fit_emp *emp, size_t *n);
const double *bnm_fit_emp_fcd_sorted(const bnm_fit_emp *emp, size_t *n);
/* Kept FCD windows (0 for precomputed inputs). */
size_t bnm_fit_emp_windows(const bnm_fit_emp *emp);

/* ---- Scores (analysis.md 8) -------------------------------------------------------- */

/* Index of each term in a scores array; bit (1u << index) is the same term in a term
 * mask (identical to bnm_fit_term of clbnm/run.h). */
enum {
    BNM_FIT_IDX_FC_CORR = 0,
    BNM_FIT_IDX_FC_DIFF = 1,
    BNM_FIT_IDX_FC_NORMEC = 2,
    BNM_FIT_IDX_FCD_KS = 3,
    BNM_FIT_N_TERMS = 4
};
#define BNM_FIT_DEFAULT_TERMS ((1u << BNM_FIT_IDX_FC_CORR) | (1u << BNM_FIT_IDX_FCD_KS))

/* "+fc_corr", "-fc_diff", "-fc_normec", "-fcd_ks"; NULL out of range. */
const char *bnm_fit_term_name(unsigned index);
/* Index of a term name; -1 when unknown. */
int bnm_fit_term_index(const char *name);
/* The worst ("NaN replacement") value of a term: -1, -2, -1, -1. */
double bnm_fit_term_worst(unsigned index);

/* Scores one simulation, every term, in "larger is better" form after the NaN rule.
 * fc: simulated FC [n_pairs] (NULL: the FC terms are worst). ks_d: the KS statistic of
 * the simulated FCD against the empirical one, already computed (NaN: worst; pass
 * bnm_ks_statistic of the FCD when scoring on the host, or the device value). A term
 * whose empirical side is missing gets NaN (not computable, distinct from worst).
 * diverged: every term worst. */
void bnm_fit_score(const bnm_fit_emp *emp, const double *fc, size_t n_pairs, double ks_d,
                   bool diverged, double scores[BNM_FIT_N_TERMS]);
/* Sum of the selected terms (mask of 1u << index). */
double bnm_fit_gof(const double scores[BNM_FIT_N_TERMS], unsigned terms);
/* cost = -gof - fic_penalty (fic_penalty <= 0, 0 when FIC has no penalty). */
double bnm_fit_cost(double gof, double fic_penalty);

/* ---- Device computation (OpenCL, CLBlast) ------------------------------------------ */

typedef struct bnm_fit_device bnm_fit_device;

/* Builds the fit kernels for cl's device in double (use_double, needs fp64) or float.
 * A handle is used by one thread at a time (its kernels carry arguments).
 * cl and cache are borrowed and must outlive the handle; cache may be NULL. The caller
 * owns *out (bnm_fit_device_destroy). */
bnm_status bnm_fit_device_create(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                                 bool use_double, bnm_fit_device **out);
/* NULL accepted. */
void bnm_fit_device_destroy(bnm_fit_device *dev);
/* true when the handle computes in double. */
bool bnm_fit_device_is_double(const bnm_fit_device *dev);

/* One batch of simulated series, all with the same geometry. */
typedef struct bnm_fit_batch {
    size_t n_sims, n_vol, n_nodes, n_rm;
    const bnm_fc_pairs *pairs;      /* borrowed */
    const bnm_fcd_windows *windows; /* NULL: no FCD and no KS */
    /* BOLD, [n_sims][n_vol][n_nodes] in the handle's precision: either a device buffer
     * (bold_dev, starting at element bold_dev_offset) or host memory (bold_host). */
    cl_mem bold_dev;
    size_t bold_dev_offset;
    const void *bold_host;
    /* Empirical data per simulation (emp[s] may repeat; NULL array or entry: no KS and
     * no scores for that simulation). Borrowed. */
    const bnm_fit_emp *const *emp;
    const uint8_t *diverged; /* [n_sims] or NULL */
    /* Bytes of device memory the scratch buffers may use; 0: a quarter of the device's
     * global memory. Simulations are processed in groups sized to fit this. */
    uint64_t max_bytes;
    /* Simulations per group; 0: as many as max_bytes allows. */
    size_t group;
} bnm_fit_batch;

/* Outputs, each optional (NULL), in double on the host. fc: [n_sims][n_pairs];
 * fcd: [n_sims][n_fcd]; ks: [n_sims] (NaN without empirical FCD); scores:
 * [n_sims][BNM_FIT_N_TERMS] (as bnm_fit_score; needs emp). Device memory per group of G
 * simulations is bounded by bnm_fit_device_group_bytes(batch, G): only that group's
 * window FCs exist at any time, and their full N x N window matrices only for a chunk
 * of windows. */
bnm_status bnm_fit_device_run(bnm_fit_device *dev, const bnm_fit_batch *batch, double *fc,
                              double *fcd, double *ks, double *scores);
/* The same computation on the host in double, for small batches and as a fallback:
 * batch->bold_host must point to doubles (bold_dev, max_bytes and group are ignored).
 * Outputs as bnm_fit_device_run. */
bnm_status bnm_fit_host_run(bnm_context *ctx, const bnm_fit_batch *batch, double *fc,
                            double *fcd, double *ks, double *scores);
/* Device bytes the scratch buffers take for a group of g simulations. */
uint64_t bnm_fit_device_group_bytes(const bnm_fit_device *dev, const bnm_fit_batch *batch,
                                    size_t g);

/* Timing helper for `clbnm bench`: scores n_sims synthetic series (n_vol x n_nodes,
 * deterministic pseudo-random BOLD) against one synthetic empirical set on dev and
 * returns the wall seconds of bnm_fit_device_run (uploads included, kernel builds not)
 * in *seconds. */
bnm_status bnm_fit_bench(bnm_context *ctx, bnm_fit_device *dev, size_t n_sims,
                         size_t n_nodes, size_t n_vol, size_t n_rm,
                         const bnm_fcd_windows *windows, double *seconds);

#ifdef __cplusplus
}
#endif
#endif
