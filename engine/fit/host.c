/* Host FC and FCD in double (analysis.md 5, 6). Correlations are dot products of
 * centred, unit-norm columns: the same Pearson value as the textbook formula, with the
 * two-pass mean that keeps it accurate for BOLD's large offset. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fit_internal.h"

size_t bnm_fit_fc_scratch(const double *bold, size_t vol_stride, size_t node_stride,
                          size_t v0, size_t v1, const uint8_t *censor,
                          const bnm_fc_pairs *pairs, double *fc, double *z)
{
    size_t n = pairs->n_nodes, n_flat = 0, t = 0;
    for (size_t v = v0; v < v1; v++) {
        if (censor && censor[v])
            continue;
        for (size_t i = 0; i < n; i++)
            z[t * n + i] = bold[v * vol_stride + i * node_stride];
        t++;
    }
    size_t nt = t;
    for (size_t i = 0; i < n; i++) {
        double mean = 0, ss = 0;
        bool varies = false;
        for (t = 0; t < nt; t++) {
            mean += z[t * n + i];
            varies = varies || z[t * n + i] != z[i];
        }
        mean /= (double)nt;
        for (t = 0; t < nt; t++) {
            double d = z[t * n + i] - mean;
            z[t * n + i] = d;
            ss += d * d;
        }
        /* Zero variance is 0/0 in the Pearson formula; NaN (kept, analysis.md 5.4).
         * A non-finite input already makes ss non-finite. */
        /* A constant node is tested exactly: its rounded mean may differ from the
         * value by an ulp, which would leave a tiny ss > 0 and garbage correlations. */
        double scale = (varies && ss > 0) ? 1.0 / sqrt(ss) : NAN;
        if (!(varies && ss > 0) && isfinite(ss))
            n_flat++;
        for (t = 0; t < nt; t++)
            z[t * n + i] *= scale;
    }
    for (size_t p = 0; p < pairs->n_pairs; p++) {
        size_t i = pairs->pairs[2 * p], j = pairs->pairs[2 * p + 1];
        double s = 0;
        for (t = 0; t < nt; t++)
            s += z[t * n + i] * z[t * n + j];
        fc[p] = s;
    }
    return n_flat;
}

bnm_status bnm_fc_host(bnm_context *ctx, const double *bold, size_t vol_stride,
                       size_t node_stride, size_t v0, size_t v1, const uint8_t *censor,
                       const bnm_fc_pairs *pairs, double *fc, size_t *n_flat)
{
    size_t len = v1 > v0 ? v1 - v0 : 0;
    double *z = malloc((len ? len : 1) * pairs->n_nodes * sizeof *z);
    if (!z)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for FC of %zu volumes", len);
    size_t nf = bnm_fit_fc_scratch(bold, vol_stride, node_stride, v0, v1 > v0 ? v1 : v0,
                                   censor, pairs, fc, z);
    if (n_flat)
        *n_flat = nf;
    free(z);
    return BNM_OK;
}

void bnm_fit_fcd_from_rows(double *rows, size_t n_win, size_t n_pairs, double *fcd)
{
    for (size_t a = 0; a < n_win; a++) {
        double *r = rows + a * n_pairs, mean = 0, ss = 0;
        bool varies = false;
        for (size_t p = 0; p < n_pairs; p++) {
            mean += r[p];
            varies = varies || r[p] != r[0];
        }
        mean /= (double)n_pairs;
        for (size_t p = 0; p < n_pairs; p++) {
            r[p] -= mean;
            ss += r[p] * r[p];
        }
        double scale = (varies && ss > 0) ? 1.0 / sqrt(ss) : NAN;
        for (size_t p = 0; p < n_pairs; p++)
            r[p] *= scale;
    }
    size_t k = 0;
    for (size_t a = 1; a < n_win; a++) {
        for (size_t b = 0; b < a; b++) {
            const double *ra = rows + a * n_pairs, *rb = rows + b * n_pairs;
            double s = 0;
            for (size_t p = 0; p < n_pairs; p++)
                s += ra[p] * rb[p];
            fcd[k++] = s;
        }
    }
}

bnm_status bnm_fit_host_series(bnm_context *ctx, const double *bold, size_t vol_stride,
                               size_t node_stride, size_t n_vol, size_t n_rm,
                               const bnm_fc_pairs *pairs, const bnm_fcd_windows *windows,
                               double *fc, double *fcd)
{
    size_t n_corr = n_vol > n_rm ? n_vol - n_rm : 0;
    size_t n_win = (fcd && windows) ? bnm_fcd_window_count(windows, n_vol, n_rm) : 0;
    double *z = malloc((n_corr ? n_corr : 1) * pairs->n_nodes * sizeof *z);
    double *rows = malloc((n_win ? n_win : 1) * pairs->n_pairs * sizeof *rows);
    if (!z || !rows) {
        free(z);
        free(rows);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for FC/FCD of %zu volumes",
                        n_corr);
    }
    if (fc)
        bnm_fit_fc_scratch(bold, vol_stride, node_stride, n_rm, n_vol, NULL, pairs, fc, z);
    if (fcd && windows) {
        for (size_t k = 0; k < n_win; k++) {
            size_t first, last;
            bnm_fcd_window_range(windows, n_vol, n_rm, k, &first, &last);
            bnm_fit_fc_scratch(bold, vol_stride, node_stride, first, last + 1, NULL, pairs,
                               rows + k * pairs->n_pairs, z);
        }
        bnm_fit_fcd_from_rows(rows, n_win, pairs->n_pairs, fcd);
    }
    free(z);
    free(rows);
    return BNM_OK;
}
