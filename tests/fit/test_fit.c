/* Fit module (engine/fit, analysis.md 4.2-9): geometry against the worked example, host
 * and device FC / FCD / KS / scores against the independent reference in ref.c, the
 * empirical rules of 7.2, the NaN rule, and grouping invariance of the device path. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clbnm/clbnm.h"
#include "clbnm/fit.h"
#include "fit_internal.h"
#include "ref.h"

/* ---- helpers ----------------------------------------------------------------------- */

static uint64_t rng_state;

static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1p-53;
}

static double nrand(void)
{
    double u = urand() + 1e-300, v = urand();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Structured BOLD [n_vol][n]: a large offset (as real BOLD has), a slow global signal
 * shared with node-dependent gain, two "network" oscillations and noise, so FC is far
 * from 0 and varies over windows. kind 0 is pure noise around an offset. */
static double *make_bold(size_t n_vol, size_t n, int kind, uint64_t seed)
{
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    double *b = malloc(n_vol * n * sizeof *b);
    for (size_t v = 0; v < n_vol; v++) {
        double g = sin(0.05 * (double)v) + 0.3 * sin(0.013 * (double)v * (double)v / 50);
        for (size_t i = 0; i < n; i++) {
            double x = 100.0 + (double)i;
            if (kind == 0)
                x += nrand();
            else
                x += (0.2 + 0.8 * (double)(i % 3) / 2) * g +
                     0.7 * sin(0.21 * (double)v + (double)(i % 2)) + 0.5 * nrand();
            b[v * n + i] = x;
        }
    }
    return b;
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t k = 0; k < n; k++) {
        if (isnan(a[k]) || isnan(b[k])) {
            if (!(isnan(a[k]) && isnan(b[k])))
                return INFINITY;
            continue;
        }
        double d = fabs(a[k] - b[k]);
        if (d > m)
            m = d;
    }
    return m;
}

static bnm_context *new_ctx(void)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    return ctx;
}

static bnm_fcd_windows win(unsigned ws, unsigned st, bool drop)
{
    bnm_fcd_windows w = {ws, st, drop};
    return w;
}

/* ---- geometry ---------------------------------------------------------------------- */

START_TEST(worked_example_counts)
{
    /* analysis.md 9: TR 0.72 s, 900 s, bold_remove 30 s, window 30 s, step 5 s. */
    bnm_context *ctx = new_ctx();
    bnm_fcd_windows w;
    ck_assert_int_eq(bnm_fcd_windows_from_ns(ctx, 30000000000, 5000000000, 720000000, true, &w),
                     BNM_OK);
    ck_assert_uint_eq(w.ws, 42); /* 2 round_he(20.83) */
    ck_assert_uint_eq(w.st, 7);  /* round_he(6.94) */
    /* n_vol and n_rm come from the time loop (analysis.md 2.3, 4.2); their values here
     * are the example's, the window arithmetic below is what is under test. */
    size_t n_vol = 900000 / 720, n_rm = 30000 / 720;
    ck_assert_uint_eq(n_vol, 1250);
    ck_assert_uint_eq(n_rm, 41);
    ck_assert_uint_eq(bnm_fcd_window_count(&w, n_vol, n_rm), 167);
    size_t a, z;
    bnm_fcd_window_range(&w, n_vol, n_rm, 0, &a, &z);
    ck_assert_uint_eq(a, 41);
    ck_assert_uint_eq(z, 83);
    bnm_fcd_window_range(&w, n_vol, n_rm, 166, &a, &z); /* centre 1224 */
    ck_assert_uint_eq(a, 1203);
    ck_assert_uint_eq(z, 1245);
    ck_assert_uint_eq(bnm_fcd_pair_count(167), 13861);
    bnm_fc_pairs p;
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, 100, false, NULL, &p), BNM_OK);
    ck_assert_uint_eq(p.n_pairs, 4950);
    bnm_fc_pairs_free(&p);
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, 100, true, NULL, &p), BNM_OK);
    ck_assert_uint_eq(p.n_pairs, 2450);
    bnm_fc_pairs_free(&p);
    /* Empirical HCP: 1200 volumes, no removal: 166 windows, 13695 FCD pairs. */
    ck_assert_uint_eq(bnm_fcd_window_count(&w, 1200, 0), 166);
    ck_assert_uint_eq(bnm_fcd_pair_count(166), 13695);
    bnm_fcd_window_range(&w, 1200, 0, 0, &a, &z);
    ck_assert_uint_eq(a + w.ws / 2, 21); /* first centre */
    bnm_fcd_window_range(&w, 1200, 0, 165, &a, &z);
    ck_assert_uint_eq(a + w.ws / 2, 21 + 165 * 7); /* 1176 <= 1178 */
    ck_assert_uint_le(z, 1199);
    /* Small check: 60 s, TR 1 s, window 10 s, step 2 s, 30 s removed. */
    ck_assert_int_eq(bnm_fcd_windows_from_ns(ctx, 10000000000, 2000000000, 1000000000, true, &w),
                     BNM_OK);
    ck_assert_uint_eq(w.ws, 10);
    ck_assert_uint_eq(w.st, 2);
    ck_assert_uint_eq(bnm_fcd_window_count(&w, 60, 30), 10);
    for (size_t k = 0; k < 10; k++) {
        bnm_fcd_window_range(&w, 60, 30, k, &a, &z);
        ck_assert_uint_eq(a + 5, 35 + 2 * k); /* centres 35, 37, ..., 53 */
        ck_assert_uint_eq(z - a, 10);
    }
    ck_assert_uint_eq(bnm_fcd_pair_count(10), 45);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(window_conversion_rounds_half_to_even)
{
    bnm_context *ctx = new_ctx();
    bnm_fcd_windows w;
    const int64_t s = 1000000000;
    /* window / (2 TR) = 1.5 -> 2 (ws 4); 2.5 -> 2 (ws 4); 3.5 -> 4 (ws 8). */
    ck_assert_int_eq(bnm_fcd_windows_from_ns(ctx, 3 * s, 5 * s / 2, s, true, &w), BNM_OK);
    ck_assert_uint_eq(w.ws, 4);
    ck_assert_uint_eq(w.st, 2); /* 2.5 -> 2 */
    ck_assert_int_eq(bnm_fcd_windows_from_ns(ctx, 5 * s, 7 * s / 2, s, true, &w), BNM_OK);
    ck_assert_uint_eq(w.ws, 4);
    ck_assert_uint_eq(w.st, 4); /* 3.5 -> 4 */
    ck_assert_int_eq(bnm_fcd_windows_from_ns(ctx, 7 * s, s / 2, s / 2, false, &w), BNM_OK);
    ck_assert_uint_eq(w.ws, 14); /* 7 / 1 = 7 -> ws 14 */
    ck_assert_uint_eq(w.st, 1);
    ck_assert(!w.drop_edges);
    /* ws < 2: window 1 s at TR 1 s gives round_he(0.5) = 0. st < 1: 0.4 TR. */
    ck_assert_int_eq(bnm_fcd_windows_from_ns(ctx, s, s, s, true, &w), BNM_ERR_RUN);
    ck_assert_int_eq(bnm_fcd_windows_from_ns(ctx, 10 * s, 2 * s / 5, s, true, &w), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "step"));
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(windows_match_centre_walk)
{
    size_t first[400], last[400];
    for (int drop = 0; drop < 2; drop++)
        for (size_t n_vol = 5; n_vol < 70; n_vol += 7)
            for (size_t n_rm = 0; n_rm < 12; n_rm += 5)
                for (unsigned ws = 2; ws <= 12; ws += 2)
                    for (unsigned st = 1; st <= 5; st += 2) {
                        bnm_fcd_windows w = win(ws, st, drop);
                        size_t nr = ref_windows(n_vol, n_rm, ws, st, drop, first, last, 400);
                        size_t nw = bnm_fcd_window_count(&w, n_vol, n_rm);
                        ck_assert_uint_eq(nw, nr);
                        for (size_t k = 0; k < nw; k++) {
                            size_t a, z;
                            bnm_fcd_window_range(&w, n_vol, n_rm, k, &a, &z);
                            ck_assert_uint_eq(a, first[k]);
                            ck_assert_uint_eq(z, last[k]);
                        }
                    }
    /* Without drop_edges the edge windows are clamped to [n_rm, n_vol): n_vol 20, n_rm 4,
     * ws 6, st 5: centres 4, 9, 14, 19 -> [4,7], [6,12], [11,17], [16,19]. */
    bnm_fcd_windows w = win(6, 5, false);
    ck_assert_uint_eq(bnm_fcd_window_count(&w, 20, 4), 4);
    size_t a, z;
    bnm_fcd_window_range(&w, 20, 4, 0, &a, &z);
    ck_assert_uint_eq(a, 4);
    ck_assert_uint_eq(z, 7);
    bnm_fcd_window_range(&w, 20, 4, 3, &a, &z);
    ck_assert_uint_eq(a, 16);
    ck_assert_uint_eq(z, 19);
}
END_TEST

START_TEST(pair_order_and_hemispheres)
{
    bnm_context *ctx = new_ctx();
    bnm_fc_pairs p;
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, 4, false, NULL, &p), BNM_OK);
    const uint32_t all[] = {1, 0, 2, 0, 2, 1, 3, 0, 3, 1, 3, 2};
    ck_assert_uint_eq(p.n_pairs, 6);
    ck_assert_mem_eq(p.pairs, all, sizeof all);
    bnm_fc_pairs_free(&p);
    /* N = 6, halves {0,1,2} {3,4,5}: first-half pairs, then second-half pairs. */
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, 6, true, NULL, &p), BNM_OK);
    const uint32_t exc[] = {1, 0, 2, 0, 2, 1, 4, 3, 5, 3, 5, 4};
    ck_assert_uint_eq(p.n_pairs, 6); /* 15 - 3*3 */
    ck_assert_mem_eq(p.pairs, exc, sizeof exc);
    bnm_fc_pairs_free(&p);
    /* Explicit labels: nodes 0 and 3 in one hemisphere, 1 and 2 in the other. */
    const uint8_t hemi[] = {0, 1, 1, 0};
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, 4, true, hemi, &p), BNM_OK);
    const uint32_t lab[] = {2, 1, 3, 0};
    ck_assert_uint_eq(p.n_pairs, 2);
    ck_assert_mem_eq(p.pairs, lab, sizeof lab);
    bnm_fc_pairs_free(&p);
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, 7, true, NULL, &p), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "even"));
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, 1, false, NULL, &p), BNM_ERR_INVALID_ARG);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- host FC / FCD ----------------------------------------------------------------- */

/* Host and reference are both double; they differ only in summation order and in
 * dividing by norms before rather than after the sum, a few ulp per term over at most
 * a few hundred terms of magnitude <= 1: 1e-12 is ample and far inside the 1e-6 the
 * task asks for. */
#define HOST_TOL 1e-12

static void check_host_series(size_t n, size_t n_vol, size_t n_rm, unsigned ws, unsigned st,
                              bool drop, bool exc, int kind)
{
    bnm_context *ctx = new_ctx();
    double *bold = make_bold(n_vol, n, kind, 7 + (uint64_t)kind);
    bnm_fc_pairs p;
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, n, exc, NULL, &p), BNM_OK);
    bnm_fcd_windows w = win(ws, st, drop);
    size_t nw = bnm_fcd_window_count(&w, n_vol, n_rm), nf = bnm_fcd_pair_count(nw);
    ck_assert_uint_gt(nf, 10);
    double *fc = malloc(p.n_pairs * sizeof *fc), *fcd = malloc(nf * sizeof *fcd);
    ck_assert_int_eq(bnm_fit_host_series(ctx, bold, n, 1, n_vol, n_rm, &p, &w, fc, fcd), BNM_OK);
    size_t rp, rf;
    double *rfc = ref_fc(bold, n, n_rm, n_vol, NULL, exc, &rp);
    double *rfcd = ref_fcd(bold, n, n_vol, n_rm, ws, st, drop, exc, &rf);
    ck_assert_uint_eq(rp, p.n_pairs);
    ck_assert_uint_eq(rf, nf);
    double efc = max_abs_diff(fc, rfc, rp), efcd = max_abs_diff(fcd, rfcd, rf);
    ck_assert_msg(efc < HOST_TOL, "FC error %g", efc);
    ck_assert_msg(efcd < HOST_TOL, "FCD error %g", efcd);
    /* The series must be structured enough that the comparison means something. */
    double spread = 0;
    for (size_t k = 0; k < rf; k++)
        spread = fmax(spread, fabs(rfcd[k] - rfcd[0]));
    ck_assert(spread > 0.05);
    /* Transposed (nodes x time) strides give the same values. */
    double *tb = malloc(n_vol * n * sizeof *tb);
    for (size_t v = 0; v < n_vol; v++)
        for (size_t i = 0; i < n; i++)
            tb[i * n_vol + v] = bold[v * n + i];
    double *fc2 = malloc(p.n_pairs * sizeof *fc2);
    ck_assert_int_eq(bnm_fit_host_series(ctx, tb, 1, n_vol, n_vol, n_rm, &p, NULL, fc2, NULL),
                     BNM_OK);
    ck_assert_mem_eq(fc, fc2, p.n_pairs * sizeof *fc);
    free(tb);
    free(fc2);
    free(rfc);
    free(rfcd);
    free(fc);
    free(fcd);
    free(bold);
    bnm_fc_pairs_free(&p);
    bnm_context_destroy(ctx);
}

START_TEST(host_matches_reference)
{
    check_host_series(10, 90, 7, 10, 3, true, false, 1);
    check_host_series(10, 90, 7, 10, 3, true, false, 0);
    check_host_series(10, 90, 7, 8, 2, false, false, 1);
    check_host_series(12, 80, 0, 6, 4, true, true, 1);
    check_host_series(12, 75, 5, 12, 5, false, true, 1);
}
END_TEST

START_TEST(zero_variance_node_gives_nan_pairs)
{
    bnm_context *ctx = new_ctx();
    size_t n = 6, n_vol = 60, n_rm = 4;
    double *bold = make_bold(n_vol, n, 1, 3);
    for (size_t v = 0; v < n_vol; v++)
        bold[v * n + 2] = 5.0; /* node 2 flat */
    bnm_fc_pairs p;
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, n, false, NULL, &p), BNM_OK);
    double fc[15];
    size_t flat = 0;
    ck_assert_int_eq(bnm_fc_host(ctx, bold, n, 1, n_rm, n_vol, NULL, &p, fc, &flat), BNM_OK);
    ck_assert_uint_eq(flat, 1);
    size_t rp;
    double *rfc = ref_fc(bold, n, n_rm, n_vol, NULL, false, &rp);
    for (size_t k = 0; k < p.n_pairs; k++) {
        bool touches = p.pairs[2 * k] == 2 || p.pairs[2 * k + 1] == 2;
        ck_assert_msg(touches == !!isnan(fc[k]), "pair %zu", k);
        ck_assert(touches == !!isnan(rfc[k]));
        if (!touches)
            ck_assert_double_eq_tol(fc[k], rfc[k], HOST_TOL);
    }
    /* Every window FC then holds NaN, so every FCD entry is NaN (6.7). */
    bnm_fcd_windows w = win(10, 5, true);
    size_t nf = bnm_fcd_pair_count(bnm_fcd_window_count(&w, n_vol, n_rm));
    double *fcd = malloc(nf * sizeof *fcd);
    ck_assert_int_eq(bnm_fit_host_series(ctx, bold, n, 1, n_vol, n_rm, &p, &w, NULL, fcd),
                     BNM_OK);
    for (size_t k = 0; k < nf; k++)
        ck_assert(isnan(fcd[k]));
    /* An all-zero simulated volume is data, not an outlier: FC still uses it. */
    double *b2 = make_bold(n_vol, n, 1, 4);
    for (size_t i = 0; i < n; i++)
        b2[10 * n + i] = 0.0;
    double fz[15];
    ck_assert_int_eq(bnm_fit_host_series(ctx, b2, n, 1, n_vol, n_rm, &p, NULL, fz, NULL), BNM_OK);
    double *rz = ref_fc(b2, n, n_rm, n_vol, NULL, false, &rp);
    ck_assert(max_abs_diff(fz, rz, rp) < HOST_TOL);
    free(rz);
    free(b2);
    free(fcd);
    free(rfc);
    free(bold);
    bnm_fc_pairs_free(&p);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- KS ---------------------------------------------------------------------------- */

START_TEST(ks_hand_made_with_ties)
{
    /* a = {1,2,2,3}, b = {2,2,4}. Pooled points 1,2,3,4:
     *   F_a = 1/4, 3/4, 1, 1;  F_b = 0, 2/3, 2/3, 1;  |diff| = 1/4, 1/12, 1/3, 0 -> D = 1/3. */
    const double a1[] = {3, 2, 1, 2}, b1[] = {4, 2, 2};
    ck_assert_double_eq_tol(bnm_ks_statistic(a1, 4, b1, 3), 1.0 / 3, 1e-15);
    /* a = {1,1}, b = {1,2}: at 1, F_a = 1 and F_b = 1/2 (both tied copies counted);
     * at 2 both are 1 -> D = 1/2. Stepping through ties one at a time would give 1. */
    const double a2[] = {1, 1}, b2[] = {1, 2};
    ck_assert_double_eq(bnm_ks_statistic(a2, 2, b2, 2), 0.5);
    /* One tied value in each: D = 0. */
    const double a3[] = {0.5}, b3[] = {0.5};
    ck_assert_double_eq(bnm_ks_statistic(a3, 1, b3, 1), 0.0);
    /* a = {0,0,1}, b = {0,1,1}: at 0, 2/3 vs 1/3 -> 1/3; at 1 both 1 -> D = 1/3. */
    const double a4[] = {0, 0, 1}, b4[] = {0, 1, 1};
    ck_assert_double_eq_tol(bnm_ks_statistic(a4, 3, b4, 3), 1.0 / 3, 1e-15);
    /* Disjoint samples: D = 1. */
    const double a5[] = {-1, -2}, b5[] = {1, 2, 3};
    ck_assert_double_eq(bnm_ks_statistic(a5, 2, b5, 3), 1.0);
    /* Non-finite or empty: NaN. */
    const double a6[] = {0, NAN};
    ck_assert(isnan(bnm_ks_statistic(a6, 2, b5, 3)));
    ck_assert(isnan(bnm_ks_statistic(a5, 0, b5, 3)));
    /* Random samples with heavy ties (values on a 0.1 grid) against brute force. */
    rng_state = 99;
    for (int rep = 0; rep < 50; rep++) {
        size_t na = 1 + (size_t)(urand() * 60), nb = 1 + (size_t)(urand() * 60);
        double a[64], b[64];
        for (size_t k = 0; k < na; k++)
            a[k] = round(urand() * 10) / 10;
        for (size_t k = 0; k < nb; k++)
            b[k] = round((urand() * 0.8 + 0.1) * 10) / 10;
        double d = bnm_ks_statistic(a, na, b, nb), r = ref_ks(a, na, b, nb);
        /* Exact up to the final division (one rounding each side). */
        ck_assert_msg(fabs(d - r) < 1e-15, "rep %d: %.17g vs %.17g", rep, d, r);
    }
}
END_TEST

/* ---- empirical --------------------------------------------------------------------- */

START_TEST(emp_outliers_are_excluded)
{
    bnm_context *ctx = new_ctx();
    size_t n = 8, n_vol = 70;
    double *clean = make_bold(n_vol, n, 1, 11);
    /* The same series with 3 all-zero volumes inserted at 5, 30 and 31. */
    size_t nz = n_vol + 3;
    double *dirty = malloc(nz * n * sizeof *dirty);
    bool skip[73] = {false};
    for (size_t v = 0, c = 0; v < nz; v++) {
        if (v == 5 || v == 30 || v == 31) {
            skip[v] = true;
            for (size_t i = 0; i < n; i++)
                dirty[v * n + i] = 0.0;
            continue;
        }
        memcpy(dirty + v * n, clean + c * n, n * sizeof *clean);
        c++;
    }
    bnm_fc_pairs p;
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, n, false, NULL, &p), BNM_OK);
    bnm_fit_emp_options o;
    bnm_fit_emp_options_init_defaults(&o);
    ck_assert_double_eq(o.outlier_threshold, 0.5);
    ck_assert_uint_eq(o.remove_vols, 0);
    bnm_fit_emp *e1 = NULL, *e2 = NULL;
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, clean, n, 1, n_vol, &p, NULL, &o, &e1), BNM_OK);
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, dirty, n, 1, nz, &p, NULL, &o, &e2), BNM_OK);
    size_t n1, n2;
    const double *f1 = bnm_fit_emp_fc(e1, &n1), *f2 = bnm_fit_emp_fc(e2, &n2);
    ck_assert_uint_eq(n1, p.n_pairs);
    ck_assert_uint_eq(n2, p.n_pairs);
    ck_assert(max_abs_diff(f1, f2, n1) < HOST_TOL);
    size_t rp;
    double *r = ref_fc(dirty, n, 0, nz, skip, false, &rp);
    ck_assert(max_abs_diff(f2, r, rp) < HOST_TOL);
    /* Keeping the zeros (cuBNM) would differ: the test can tell. */
    double *rz = ref_fc(dirty, n, 0, nz, NULL, false, &rp);
    ck_assert(max_abs_diff(f2, rz, rp) > 1e-3);
    free(rz);
    free(r);
    bnm_fit_emp_destroy(e1);
    bnm_fit_emp_destroy(e2);

    /* Explicit censor mask instead of the all-zero rule; emp_remove_vols. */
    uint8_t cens[70] = {0};
    cens[12] = cens[40] = 1;
    bool sk[70] = {false};
    sk[12] = sk[40] = true;
    for (size_t v = 0; v < 9; v++)
        sk[v] = true;
    o.censor = cens;
    o.remove_vols = 9;
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, clean, n, 1, n_vol, &p, NULL, &o, &e1), BNM_OK);
    r = ref_fc(clean, n, 0, n_vol, sk, false, &rp);
    ck_assert(max_abs_diff(bnm_fit_emp_fc(e1, &n1), r, rp) < HOST_TOL);
    free(r);
    bnm_fit_emp_destroy(e1);
    free(dirty);
    free(clean);
    bnm_fc_pairs_free(&p);
    bnm_context_destroy(ctx);
}
END_TEST

static void capture_sink(bnm_log_level level, const char *msg, void *user)
{
    if (level == BNM_LOG_WARN)
        snprintf((char *)user, 512, "%s", msg);
}

START_TEST(emp_windows_skip_and_errors)
{
    bnm_context *ctx = new_ctx();
    size_t n = 6, n_vol = 40;
    double *b = make_bold(n_vol, n, 1, 21);
    bnm_fc_pairs p;
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, n, false, NULL, &p), BNM_OK);
    bnm_fcd_windows w = win(6, 4, true); /* 7 volumes; windows [0,6],[4,10],...,[32,38]: 9 */
    ck_assert_uint_eq(bnm_fcd_window_count(&w, n_vol, 0), 9);
    bnm_fit_emp_options o;
    bnm_fit_emp_options_init_defaults(&o);
    o.need_fcd = true;
    /* Volumes 13..16 are outliers: window [12,18] has 4/7 > 0.5 -> skipped; window
     * [8,14] has 2/7 and window [16,22] 1/7 -> kept with those volumes excluded. */
    for (size_t v = 13; v <= 16; v++)
        for (size_t i = 0; i < n; i++)
            b[v * n + i] = 0;
    bnm_fit_emp *e = NULL;
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, b, n, 1, n_vol, &p, &w, &o, &e), BNM_OK);
    ck_assert_uint_eq(bnm_fit_emp_windows(e), 8);
    size_t nf;
    const double *fcd = bnm_fit_emp_fcd(e, &nf);
    ck_assert_uint_eq(nf, 28);
    /* Reference: window FCs over valid volumes of the kept windows, then Pearson. */
    bool skip[40] = {false};
    for (size_t v = 13; v <= 16; v++)
        skip[v] = true;
    double *rows[9];
    size_t kept = 0, np = 0;
    for (size_t k = 0; k < 9; k++) {
        if (k == 3)
            continue;
        rows[kept++] = ref_fc(b, n, 4 * k, 4 * k + 7, skip, false, &np);
    }
    size_t q = 0;
    for (size_t a = 0; a < kept; a++)
        for (size_t c = 0; c < a; c++, q++)
            ck_assert_double_eq_tol(fcd[q], ref_pearson(rows[a], rows[c], np), HOST_TOL);
    for (size_t k = 0; k < kept; k++)
        free(rows[k]);
    /* Sorted copy is the same multiset, ascending. */
    const double *srt = bnm_fit_emp_fcd_sorted(e, &nf);
    for (size_t k = 1; k < nf; k++)
        ck_assert(srt[k - 1] <= srt[k]);
    bnm_fit_emp_destroy(e);
    /* A threshold of 0.6 keeps window 3 (4/7 = 0.57). */
    o.outlier_threshold = 0.6;
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, b, n, 1, n_vol, &p, &w, &o, &e), BNM_OK);
    ck_assert_uint_eq(bnm_fit_emp_windows(e), 9);
    bnm_fit_emp_destroy(e);
    o.outlier_threshold = 0.5;

    /* A node flat inside one window only: that window is skipped, with a warning. */
    double *b2 = make_bold(n_vol, n, 1, 22);
    for (size_t v = 20; v <= 26; v++)
        b2[v * n + 1] = 3.0; /* window [20,26] */
    char seen[512] = "";
    bnm_log_set_sink(capture_sink, seen);
    bnm_status st = bnm_fit_emp_from_bold(ctx, b2, n, 1, n_vol, &p, &w, &o, &e);
    bnm_log_set_sink(NULL, NULL);
    ck_assert_int_eq(st, BNM_OK);
    ck_assert_uint_eq(bnm_fit_emp_windows(e), 8);
    ck_assert_ptr_nonnull(strstr(seen, "node 1 has zero variance"));
    bnm_fit_emp_destroy(e);
    /* Flat over the static range: error naming the node. */
    for (size_t v = 0; v < n_vol; v++)
        b2[v * n + 4] = 1.0;
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, b2, n, 1, n_vol, &p, &w, &o, &e), BNM_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "node 4"));
    ck_assert_ptr_null(e);
    /* Non-finite value: error. */
    double *b3 = make_bold(n_vol, n, 1, 23);
    b3[17 * n + 2] = INFINITY;
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, b3, n, 1, n_vol, &p, &w, &o, &e), BNM_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "volume 17"));
    /* Fewer than 2 kept windows with -fcd_ks: error; without it: fine, empty FCD. */
    double *b4 = make_bold(12, n, 1, 24);
    ck_assert_uint_eq(bnm_fcd_window_count(&w, 12, 0), 2);
    for (size_t i = 0; i < n; i++)
        b4[2 * n + i] = b4[3 * n + i] = b4[4 * n + i] = b4[5 * n + i] = 0; /* window 0: 4/7 */
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, b4, n, 1, 12, &p, &w, &o, &e), BNM_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "-fcd_ks"));
    o.need_fcd = false;
    ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, b4, n, 1, 12, &p, &w, &o, &e), BNM_OK);
    ck_assert_uint_eq(bnm_fit_emp_windows(e), 1);
    bnm_fit_emp_fcd(e, &nf);
    ck_assert_uint_eq(nf, 0);
    bnm_fit_emp_destroy(e);
    /* Precomputed FC must have the simulated pair count. */
    const double pre[] = {0.1, 0.2, 0.3};
    ck_assert_int_eq(bnm_fit_emp_from_vectors(ctx, pre, 3, NULL, 0, &e), BNM_OK);
    ck_assert_int_eq(bnm_fit_emp_check(ctx, e, 3, false), BNM_OK);
    ck_assert_int_eq(bnm_fit_emp_check(ctx, e, 15, false), BNM_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "15"));
    ck_assert_int_eq(bnm_fit_emp_check(ctx, e, 3, true), BNM_ERR_DATA); /* no FCD for KS */
    bnm_fit_emp_destroy(e);
    /* Precomputed vectors: non-finite is an error. */
    const double bad[] = {0.1, NAN};
    ck_assert_int_eq(bnm_fit_emp_from_vectors(ctx, bad, 2, NULL, 0, &e), BNM_ERR_DATA);
    ck_assert_int_eq(bnm_fit_emp_from_vectors(ctx, NULL, 0, bad, 2, &e), BNM_ERR_DATA);
    free(b4);
    free(b3);
    free(b2);
    free(b);
    bnm_fc_pairs_free(&p);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- scores ------------------------------------------------------------------------ */

START_TEST(scores_and_nan_rule)
{
    bnm_context *ctx = new_ctx();
    rng_state = 5;
    double s[30], e[30], fcd_e[20];
    for (int k = 0; k < 30; k++) {
        e[k] = 2 * urand() - 1;
        s[k] = 0.6 * e[k] + 0.3 * (2 * urand() - 1);
    }
    for (int k = 0; k < 20; k++)
        fcd_e[k] = urand();
    bnm_fit_emp *emp;
    ck_assert_int_eq(bnm_fit_emp_from_vectors(ctx, e, 30, fcd_e, 20, &emp), BNM_OK);
    double sc[4], rs[4];
    bnm_fit_score(emp, s, 30, 0.25, false, sc);
    ref_scores(s, e, 30, 0.25, rs);
    for (int k = 0; k < 4; k++)
        ck_assert_double_eq_tol(sc[k], rs[k], 1e-14);
    ck_assert(sc[0] > 0.5);
    ck_assert_double_eq(sc[3], -0.25);
    /* gof with the default terms and with all terms; cost with a FIC penalty. */
    double g = bnm_fit_gof(sc, BNM_FIT_DEFAULT_TERMS);
    ck_assert_double_eq_tol(g, rs[0] + rs[3], 1e-14);
    ck_assert_double_eq_tol(bnm_fit_gof(sc, 0xF), rs[0] + rs[1] + rs[2] + rs[3], 1e-14);
    ck_assert_double_eq_tol(bnm_fit_cost(g, -0.3), -g + 0.3, 1e-15);
    ck_assert_double_eq(bnm_fit_cost(g, 0.0), -g);
    /* NaN rule 1: any non-finite simulated FC value -> FC terms worst. */
    double s2[30];
    memcpy(s2, s, sizeof s2);
    s2[17] = NAN;
    bnm_fit_score(emp, s2, 30, 0.25, false, sc);
    ck_assert_double_eq(sc[0], -1);
    ck_assert_double_eq(sc[1], -2);
    ck_assert_double_eq(sc[2], -1);
    ck_assert_double_eq(sc[3], -0.25);
    /* NaN D (a non-finite FCD sample) -> -1. */
    bnm_fit_score(emp, s, 30, NAN, false, sc);
    ck_assert_double_eq(sc[3], -1);
    ck_assert_double_eq(sc[3], bnm_fit_term_worst(BNM_FIT_IDX_FCD_KS));
    /* NaN rule 2: constant s has zero variance -> fc_corr worst, others finite. */
    double c[30];
    for (int k = 0; k < 30; k++)
        c[k] = 0.4;
    bnm_fit_score(emp, c, 30, 0.1, false, sc);
    ref_scores(c, e, 30, 0.1, rs);
    ck_assert_double_eq(sc[0], -1);
    ck_assert_double_eq_tol(sc[1], rs[1], 1e-15);
    ck_assert_double_eq_tol(sc[2], rs[2], 1e-15);
    /* Diverged: every term worst; cost of all-worst default terms is 2 (+ penalty). */
    bnm_fit_score(emp, s, 30, 0.1, true, sc);
    ck_assert_double_eq(sc[0], -1);
    ck_assert_double_eq(sc[1], -2);
    ck_assert_double_eq(sc[2], -1);
    ck_assert_double_eq(sc[3], -1);
    ck_assert_double_eq(bnm_fit_cost(bnm_fit_gof(sc, BNM_FIT_DEFAULT_TERMS), 0), 2.0);
    ck_assert_double_eq(bnm_fit_cost(bnm_fit_gof(sc, BNM_FIT_DEFAULT_TERMS), -0.5), 2.5);
    /* Bounds: identical FC -> corr 1, diff 0, normec 0; opposite extremes -> normec -1. */
    bnm_fit_score(emp, e, 30, 0.0, false, sc);
    ck_assert_double_eq_tol(sc[0], 1.0, 1e-14);
    ck_assert_double_eq(sc[1], 0.0);
    ck_assert_double_eq(sc[2], 0.0);
    bnm_fit_emp_destroy(emp);
    double ones[4] = {1, 1, 1, 1}, mones[4] = {-1, -1, -1, -1};
    ck_assert_int_eq(bnm_fit_emp_from_vectors(ctx, ones, 4, NULL, 0, &emp), BNM_OK);
    bnm_fit_score(emp, mones, 4, 0.0, false, sc);
    ck_assert_double_eq(sc[2], -1.0);
    ck_assert_double_eq(sc[1], -2.0);
    ck_assert(isnan(sc[3])); /* no empirical FCD: not computable */
    bnm_fit_emp_destroy(emp);
    /* Names. */
    ck_assert_str_eq(bnm_fit_term_name(BNM_FIT_IDX_FC_NORMEC), "-fc_normec");
    ck_assert_int_eq(bnm_fit_term_index("-fcd_ks"), BNM_FIT_IDX_FCD_KS);
    ck_assert_int_eq(bnm_fit_term_index("fc_corr"), -1);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- device ------------------------------------------------------------------------ */

typedef struct dev_fix {
    bnm_context *ctx;
    bnm_cl *cl;
    bnm_fit_device *dev;
} dev_fix;

static bool dev_open(dev_fix *f, bool dbl)
{
    f->ctx = new_ctx();
    ck_assert_msg(bnm_cl_create_selected(f->ctx, NULL, &f->cl) == BNM_OK, "%s",
                  bnm_context_message(f->ctx));
    if (dbl && !bnm_cl_device(f->cl)->fp64) {
        printf("device has no fp64: double checks skipped\n");
        return false;
    }
    bnm_program_cache *cache = NULL;
    bnm_cache_config cc;
    bnm_cache_config_init_defaults(&cc);
    ck_assert_int_eq(bnm_program_cache_create(f->ctx, &cc, &cache), BNM_OK);
    bnm_status st = bnm_fit_device_create(f->ctx, f->cl, cache, dbl, &f->dev);
    bnm_program_cache_destroy(cache);
    ck_assert_msg(st == BNM_OK, "%s", bnm_context_message(f->ctx));
    ck_assert(bnm_fit_device_is_double(f->dev) == dbl);
    return true;
}

static void dev_close(dev_fix *f)
{
    bnm_fit_device_destroy(f->dev);
    bnm_cl_destroy(f->cl);
    bnm_context_destroy(f->ctx);
}

/* A batch of S simulations: structured BOLD with per-simulation seeds, one with a flat
 * node (NaN FC pairs), two subjects of empirical data. */
typedef struct batch_fix {
    size_t S, n, n_vol, n_rm;
    bnm_fc_pairs pairs;
    bnm_fcd_windows w;
    double *bold;  /* [S][n_vol][n] */
    bnm_fit_emp *emp[2];
    const bnm_fit_emp *emps[8];
    uint8_t diverged[8];
} batch_fix;

static void batch_open(batch_fix *x, bnm_context *ctx, bool exc, bool drop)
{
    x->S = 7;
    x->n = 10;
    x->n_vol = 96;
    x->n_rm = 6;
    ck_assert_int_eq(bnm_fc_pairs_make(ctx, x->n, exc, NULL, &x->pairs), BNM_OK);
    x->w = win(10, 3, drop);
    x->bold = malloc(x->S * x->n_vol * x->n * sizeof *x->bold);
    for (size_t s = 0; s < x->S; s++) {
        double *b = make_bold(x->n_vol, x->n, s == 2 ? 0 : 1, 100 + s);
        memcpy(x->bold + s * x->n_vol * x->n, b, x->n_vol * x->n * sizeof *b);
        free(b);
    }
    for (size_t v = 0; v < x->n_vol; v++)
        x->bold[(4 * x->n_vol + v) * x->n + 3] = 2.5; /* sim 4: node 3 flat */
    bnm_fit_emp_options o;
    bnm_fit_emp_options_init_defaults(&o);
    o.need_fcd = true;
    for (int k = 0; k < 2; k++) {
        size_t ev = 80 + 10 * (size_t)k;
        double *eb = make_bold(ev, x->n, 1, 500 + (uint64_t)k);
        ck_assert_int_eq(bnm_fit_emp_from_bold(ctx, eb, x->n, 1, ev, &x->pairs, &x->w, &o,
                                               &x->emp[k]),
                         BNM_OK);
        free(eb);
    }
    memset(x->diverged, 0, sizeof x->diverged);
    x->diverged[5] = 1;
    for (size_t s = 0; s < x->S; s++)
        x->emps[s] = x->emp[s % 2];
}

static void batch_close(batch_fix *x)
{
    free(x->bold);
    bnm_fit_emp_destroy(x->emp[0]);
    bnm_fit_emp_destroy(x->emp[1]);
    bnm_fc_pairs_free(&x->pairs);
}

typedef struct results {
    double *fc, *fcd, *ks, *sc;
} results;

static void run_batch(dev_fix *f, batch_fix *x, bool dbl, size_t group, uint64_t max_bytes,
                      bool on_device, results *r)
{
    size_t nw = bnm_fcd_window_count(&x->w, x->n_vol, x->n_rm), nf = bnm_fcd_pair_count(nw);
    size_t cnt = x->S * x->n_vol * x->n, elt = dbl ? sizeof(double) : sizeof(float);
    void *host = malloc(cnt * elt);
    for (size_t k = 0; k < cnt; k++) {
        if (dbl)
            ((double *)host)[k] = x->bold[k];
        else
            ((float *)host)[k] = (float)x->bold[k];
    }
    r->fc = malloc(x->S * x->pairs.n_pairs * sizeof(double));
    r->fcd = malloc(x->S * nf * sizeof(double));
    r->ks = malloc(x->S * sizeof(double));
    r->sc = malloc(x->S * 4 * sizeof(double));
    bnm_fit_batch b = {0};
    b.n_sims = x->S;
    b.n_vol = x->n_vol;
    b.n_nodes = x->n;
    b.n_rm = x->n_rm;
    b.pairs = &x->pairs;
    b.windows = &x->w;
    b.emp = x->emps;
    b.diverged = x->diverged;
    b.group = group;
    b.max_bytes = max_bytes;
    cl_mem buf = NULL;
    if (on_device) {
        /* Two leading simulations' worth of padding checks bold_dev_offset. */
        size_t off = 2 * x->n_vol * x->n;
        cl_int err;
        buf = clCreateBuffer(bnm_cl_context(f->cl), CL_MEM_READ_WRITE, (cnt + off) * elt, NULL,
                             &err);
        ck_assert_int_eq(err, CL_SUCCESS);
        ck_assert_int_eq(clEnqueueWriteBuffer(bnm_cl_queue(f->cl), buf, CL_TRUE, off * elt,
                                              cnt * elt, host, 0, NULL, NULL),
                         CL_SUCCESS);
        b.bold_dev = buf;
        b.bold_dev_offset = off;
    } else {
        b.bold_host = host;
    }
    bnm_status st = bnm_fit_device_run(f->dev, &b, r->fc, r->fcd, r->ks, r->sc);
    ck_assert_msg(st == BNM_OK, "%s", bnm_context_message(f->ctx));
    if (buf)
        clReleaseMemObject(buf);
    free(host);
}

static void results_free(results *r)
{
    free(r->fc);
    free(r->fcd);
    free(r->ks);
    free(r->sc);
}

/* Device double: z-scoring and GEMM in double differ from the reference only in
 * summation order (n_corr <= 90 terms for FC, n_pairs <= 45 for FCD): 1e-12.
 * Device float: each z value carries a relative error of a few float ulp (two-pass
 * mean, one rsqrt-free division), and a correlation sums L <= 90 products, so FC errors
 * are bounded by about L * 2^-24 ~ 5e-6 in the worst case and are ~1e-6 typically; FCD
 * correlates FC vectors with those errors plus the same float rounding again: 1e-4 and
 * 3e-4 leave margins of 60x and 35x over the worst observed on PoCL (1.5e-6, 8.5e-6).
 * KS in float is compared exactly with the D of the device's own float FCD against the
 * float-rounded empirical sample (the same comparisons, so the sort and merge must be
 * exact), and loosely with the double reference: each FCD value moves by < 3e-4, which
 * can flip the order of a few close pairs, each flip moving D by 1/351 or 1/276; 0.02
 * allows about 6 flips. */
static void check_device(bool dbl, bool exc, bool drop, bool on_device)
{
    dev_fix f;
    if (!dev_open(&f, dbl)) {
        dev_close(&f);
        return;
    }
    batch_fix x;
    batch_open(&x, f.ctx, exc, drop);
    results r;
    run_batch(&f, &x, dbl, 0, 0, on_device, &r);
    double tol_fc = dbl ? 1e-12 : 1e-4, tol_fcd = dbl ? 1e-12 : 3e-4;
    size_t np = x.pairs.n_pairs, nw = bnm_fcd_window_count(&x.w, x.n_vol, x.n_rm);
    size_t nf = bnm_fcd_pair_count(nw);
    double worst_fc = 0, worst_fcd = 0, worst_ks = 0;
    for (size_t s = 0; s < x.S; s++) {
        const double *bold = x.bold + s * x.n_vol * x.n;
        size_t rp, rf;
        double *rfc = ref_fc(bold, x.n, x.n_rm, x.n_vol, NULL, exc, &rp);
        double *rfcd = ref_fcd(bold, x.n, x.n_vol, x.n_rm, x.w.ws, x.w.st, drop, exc, &rf);
        ck_assert_uint_eq(rp, np);
        ck_assert_uint_eq(rf, nf);
        double efc = max_abs_diff(r.fc + s * np, rfc, np);
        double efcd = max_abs_diff(r.fcd + s * nf, rfcd, nf);
        ck_assert_msg(efc <= tol_fc, "sim %zu FC error %g", s, efc);
        ck_assert_msg(efcd <= tol_fcd, "sim %zu FCD error %g", s, efcd);
        worst_fc = fmax(worst_fc, efc);
        worst_fcd = fmax(worst_fcd, efcd);
        /* KS and scores. */
        size_t ne;
        const double *efcd_s = bnm_fit_emp_fcd(x.emps[s], &ne);
        size_t nefc;
        const double *efc_v = bnm_fit_emp_fc(x.emps[s], &nefc);
        bool has_nan = s == 4;
        double rd = has_nan ? NAN : ref_ks(rfcd, rf, efcd_s, ne);
        if (has_nan) {
            ck_assert(isnan(r.ks[s]));
        } else if (dbl) {
            ck_assert_msg(fabs(r.ks[s] - rd) < 1e-15, "sim %zu KS %.17g vs %.17g", s, r.ks[s],
                          rd);
        } else {
            float *fe = malloc(ne * sizeof *fe);
            double *fed = malloc(ne * sizeof *fed);
            for (size_t k = 0; k < ne; k++)
                fed[k] = (double)(fe[k] = (float)efcd_s[k]);
            double own = ref_ks(r.fcd + s * nf, nf, fed, ne);
            ck_assert_msg(fabs(r.ks[s] - own) < 1e-15, "sim %zu KS %.17g vs own %.17g", s,
                          r.ks[s], own);
            worst_ks = fmax(worst_ks, fabs(r.ks[s] - rd));
            ck_assert_msg(fabs(r.ks[s] - rd) < 0.02, "sim %zu KS %g vs %g", s, r.ks[s], rd);
            free(fe);
            free(fed);
        }
        double rs[4];
        ref_scores(rfc, efc_v, np, rd, rs);
        if (x.diverged[s]) {
            rs[0] = -1;
            rs[1] = -2;
            rs[2] = -1;
            rs[3] = -1;
        }
        for (int k = 0; k < 4; k++)
            ck_assert_msg(fabs(r.sc[s * 4 + k] - rs[k]) <= (dbl ? 1e-12 : (k == 3 ? 0.02 : 2e-4)),
                          "sim %zu term %d: %.17g vs %.17g", s, k, r.sc[s * 4 + k], rs[k]);
        if (s == 4) /* flat node: NaN FC pairs -> FC terms and KS worst */
            ck_assert(r.sc[s * 4] == -1 && r.sc[s * 4 + 1] == -2 && r.sc[s * 4 + 3] == -1);
        free(rfc);
        free(rfcd);
    }
    /* The host batch path gives the same results (double: to rounding; KS exactly). */
    if (dbl) {
        results h;
        size_t cnt = x.S * np;
        h.fc = malloc(cnt * sizeof(double));
        h.fcd = malloc(x.S * nf * sizeof(double));
        h.ks = malloc(x.S * sizeof(double));
        h.sc = malloc(x.S * 4 * sizeof(double));
        bnm_fit_batch hb = {0};
        hb.n_sims = x.S;
        hb.n_vol = x.n_vol;
        hb.n_nodes = x.n;
        hb.n_rm = x.n_rm;
        hb.pairs = &x.pairs;
        hb.windows = &x.w;
        hb.bold_host = x.bold;
        hb.emp = x.emps;
        hb.diverged = x.diverged;
        ck_assert_int_eq(bnm_fit_host_run(f.ctx, &hb, h.fc, h.fcd, h.ks, h.sc), BNM_OK);
        ck_assert(max_abs_diff(h.fc, r.fc, cnt) < 1e-12);
        ck_assert(max_abs_diff(h.fcd, r.fcd, x.S * nf) < 1e-12);
        ck_assert(max_abs_diff(h.ks, r.ks, x.S) < 1e-15);
        ck_assert(max_abs_diff(h.sc, r.sc, x.S * 4) < 1e-12);
        results_free(&h);
    }
    printf("device %s%s%s: max FC error %.3g, max FCD error %.3g, max KS change %.3g\n",
           dbl ? "double" : "float", exc ? " exc_interhemispheric" : "",
           drop ? "" : " no drop_edges", worst_fc, worst_fcd, worst_ks);
    results_free(&r);
    batch_close(&x);
    dev_close(&f);
}

START_TEST(device_double_matches_reference)
{
    check_device(true, false, true, false);
    check_device(true, true, false, true);
}
END_TEST

START_TEST(device_float_matches_reference)
{
    check_device(false, false, true, true);
    check_device(false, true, false, false);
}
END_TEST

/* Results must not depend on how simulations are grouped or windows chunked. */
static void check_grouping(bool dbl)
{
    dev_fix f;
    if (!dev_open(&f, dbl)) {
        dev_close(&f);
        return;
    }
    batch_fix x;
    batch_open(&x, f.ctx, false, true);
    size_t np = x.pairs.n_pairs;
    size_t nf = bnm_fcd_pair_count(bnm_fcd_window_count(&x.w, x.n_vol, x.n_rm));
    results a, b, c;
    run_batch(&f, &x, dbl, 0, 0, false, &a);
    run_batch(&f, &x, dbl, 1, 0, true, &b);
    /* A budget just above what 3 simulations need with unchunked windows: the
     * automatic choice is then a group smaller than the batch (4 + 3 on PoCL) with
     * GEMM chunks of windows that straddle simulations. */
    bnm_fit_batch q = {0};
    q.n_sims = x.S;
    q.n_vol = x.n_vol;
    q.n_nodes = x.n;
    q.n_rm = x.n_rm;
    q.pairs = &x.pairs;
    q.windows = &x.w;
    q.emp = x.emps;
    q.bold_host = x.bold;
    uint64_t small = bnm_fit_device_group_bytes(f.dev, &q, 3) + 1;
    run_batch(&f, &x, dbl, 0, small, false, &c);
    ck_assert_mem_eq(a.fc, b.fc, x.S * np * sizeof(double));
    ck_assert_mem_eq(a.fc, c.fc, x.S * np * sizeof(double));
    ck_assert_mem_eq(a.fcd, b.fcd, x.S * nf * sizeof(double));
    ck_assert_mem_eq(a.fcd, c.fcd, x.S * nf * sizeof(double));
    ck_assert_mem_eq(a.ks, b.ks, x.S * sizeof(double));
    ck_assert_mem_eq(a.ks, c.ks, x.S * sizeof(double));
    ck_assert_mem_eq(a.sc, b.sc, x.S * 4 * sizeof(double));
    ck_assert_mem_eq(a.sc, c.sc, x.S * 4 * sizeof(double));
    /* The budget really forced smaller groups. */
    ck_assert(bnm_fit_device_group_bytes(f.dev, &q, 4) > small);
    results_free(&a);
    results_free(&b);
    results_free(&c);
    batch_close(&x);
    dev_close(&f);
}

START_TEST(device_grouping_invariant)
{
    check_grouping(true);
    check_grouping(false);
}
END_TEST

/* The device sort + merge on hand-made samples with ties (values exact in float, so
 * both precisions must give exactly these D). Row samples (ns = 4) and E:
 *   {3,2,1,2} vs {4,2,2}: F_S = 1/4,3/4,1,1 and F_E = 0,2/3,2/3,1 at 1,2,3,4 -> D = 1/3;
 *   {.5,.5,.5,.5} vs {.5}: all tied -> D = 0;
 *   {1,1,1,1} vs {1,2}: at 1, 1 vs 1/2; at 2, 1 vs 1 -> D = 1/2;
 *   {0,0,1,1} vs {0,1,1}: at 0, 1/2 vs 1/3; at 1, 1 vs 1 -> D = 1/6;
 *   {0,0,1,NaN}: non-finite -> NaN;  {-2,-1,-1,-3} vs {1,2}: disjoint -> D = 1. */
static void check_device_ks(bool dbl)
{
    dev_fix f;
    if (!dev_open(&f, dbl)) {
        dev_close(&f);
        return;
    }
    const double rows[6][4] = {{3, 2, 1, 2}, {.5, .5, .5, .5}, {1, 1, 1, 1},
                               {0, 0, 1, 1}, {0, 0, 1, NAN},  {-2, -1, -1, -3}};
    const double e0[] = {4, 2, 2}, e1[] = {.5}, e2[] = {1, 2}, e3[] = {0, 1, 1};
    const double *ev[6] = {e0, e1, e2, e3, e3, e2};
    const size_t en[6] = {3, 1, 2, 3, 3, 2};
    const double want[6] = {1.0 / 3, 0, 0.5, 1.0 / 6, NAN, 1};
    bnm_fit_emp *emp[6];
    for (int r = 0; r < 6; r++)
        ck_assert_int_eq(bnm_fit_emp_from_vectors(f.ctx, NULL, 0, ev[r], en[r], &emp[r]), BNM_OK);
    double d[6];
    ck_assert_int_eq(bnm_fit_device_ks_samples(f.dev, &rows[0][0], 6, 4,
                                               (const bnm_fit_emp *const *)emp, d),
                     BNM_OK);
    for (int r = 0; r < 6; r++) {
        if (isnan(want[r]))
            ck_assert_msg(isnan(d[r]), "row %d: %g", r, d[r]);
        else
            ck_assert_msg(d[r] == want[r], "row %d: %.17g != %.17g", r, d[r], want[r]);
    }
    for (int r = 0; r < 6; r++)
        bnm_fit_emp_destroy(emp[r]);
    /* Random tie-heavy rows of 37 (padded to 64) against brute force. */
    rng_state = 1234;
    enum { G = 5, NS = 37 };
    double smp[G * NS];
    bnm_fit_emp *re[G];
    for (int r = 0; r < G; r++) {
        double e[50];
        size_t ne = 1 + (size_t)(urand() * 49);
        for (size_t k = 0; k < ne; k++)
            e[k] = round(urand() * 8) / 8;
        for (size_t k = 0; k < NS; k++)
            smp[r * NS + k] = round(urand() * 6) / 8;
        ck_assert_int_eq(bnm_fit_emp_from_vectors(f.ctx, NULL, 0, e, ne, &re[r]), BNM_OK);
    }
    double dr[G];
    ck_assert_int_eq(bnm_fit_device_ks_samples(f.dev, smp, G, NS,
                                               (const bnm_fit_emp *const *)re, dr),
                     BNM_OK);
    for (int r = 0; r < G; r++) {
        size_t ne;
        const double *e = bnm_fit_emp_fcd(re[r], &ne);
        double ref = ref_ks(smp + r * NS, NS, e, ne);
        ck_assert_msg(fabs(dr[r] - ref) < 1e-15, "row %d: %.17g vs %.17g", r, dr[r], ref);
        ck_assert_double_eq(dr[r], bnm_ks_statistic(smp + r * NS, NS, e, ne));
        bnm_fit_emp_destroy(re[r]);
    }
    dev_close(&f);
}

START_TEST(device_ks_exact_with_ties)
{
    check_device_ks(true);
    check_device_ks(false);
}
END_TEST

START_TEST(bench_helper_runs)
{
    dev_fix f;
    dev_open(&f, false);
    bnm_fcd_windows w = win(10, 3, true);
    double secs = -1;
    ck_assert_int_eq(bnm_fit_bench(f.ctx, f.dev, 3, 8, 60, 5, &w, &secs), BNM_OK);
    ck_assert(secs > 0 && isfinite(secs));
    dev_close(&f);
}
END_TEST

static Suite *fit_suite(void)
{
    Suite *s = suite_create("fit");
    TCase *tc = tcase_create("host");
    tcase_add_test(tc, worked_example_counts);
    tcase_add_test(tc, window_conversion_rounds_half_to_even);
    tcase_add_test(tc, windows_match_centre_walk);
    tcase_add_test(tc, pair_order_and_hemispheres);
    tcase_add_test(tc, host_matches_reference);
    tcase_add_test(tc, zero_variance_node_gives_nan_pairs);
    tcase_add_test(tc, ks_hand_made_with_ties);
    tcase_add_test(tc, emp_outliers_are_excluded);
    tcase_add_test(tc, emp_windows_skip_and_errors);
    tcase_add_test(tc, scores_and_nan_rule);
    suite_add_tcase(s, tc);
    TCase *td = tcase_create("device");
    tcase_set_timeout(td, 900);
    tcase_add_test(td, device_double_matches_reference);
    tcase_add_test(td, device_float_matches_reference);
    tcase_add_test(td, device_grouping_invariant);
    tcase_add_test(td, device_ks_exact_with_ties);
    tcase_add_test(td, bench_helper_runs);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    char dir[] = "/tmp/clbnm-fit-cache-XXXXXX";
    if (!getenv("CLBNM_CACHE_DIR") && mkdtemp(dir))
        setenv("CLBNM_CACHE_DIR", dir, 1);
    SRunner *sr = srunner_create(fit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
