/* Empirical FC and FCD (analysis.md 7.2): one window rule shared with the simulated
 * series, outlier volumes excluded rather than kept as zeros. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"
#include "fit_internal.h"

struct bnm_fit_emp {
    double *fc;
    size_t n_fc;
    double *fcd;
    double *fcd_sorted;
    size_t n_fcd;
    size_t n_win;
};

void bnm_fit_emp_options_init_defaults(bnm_fit_emp_options *o)
{
    memset(o, 0, sizeof *o);
    o->remove_vols = 0;
    o->outlier_threshold = 0.5;
    o->censor = NULL;
    o->need_fcd = false;
}

void bnm_fit_emp_destroy(bnm_fit_emp *emp)
{
    if (!emp)
        return;
    free(emp->fc);
    free(emp->fcd);
    free(emp->fcd_sorted);
    free(emp);
}

/* Stores the FCD sample and its sorted copy (takes ownership of fcd). */
static bnm_status emp_set_fcd(bnm_context *ctx, bnm_fit_emp *e, double *fcd, size_t n)
{
    e->fcd = fcd;
    e->n_fcd = n;
    if (n == 0)
        return BNM_OK;
    e->fcd_sorted = malloc(n * sizeof *e->fcd_sorted);
    if (!e->fcd_sorted)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the empirical FCD");
    memcpy(e->fcd_sorted, fcd, n * sizeof *fcd);
    bnm_fit_sort(e->fcd_sorted, n);
    return BNM_OK;
}

/* First node whose valid values in [v0, v1) have zero variance, or n when none. */
static size_t first_flat_node(const double *bold, size_t vs, size_t ns, size_t n,
                              size_t v0, size_t v1, const uint8_t *censor)
{
    for (size_t i = 0; i < n; i++) {
        double first = NAN;
        bool varies = false;
        for (size_t v = v0; v < v1 && !varies; v++) {
            if (censor[v])
                continue;
            double x = bold[v * vs + i * ns];
            if (isnan(first))
                first = x;
            else if (x != first)
                varies = true;
        }
        if (!varies)
            return i;
    }
    return n;
}

bnm_status bnm_fit_emp_from_bold(bnm_context *ctx, const double *bold, size_t vs, size_t ns,
                                 size_t n_vol, const bnm_fc_pairs *pairs,
                                 const bnm_fcd_windows *windows,
                                 const bnm_fit_emp_options *opts, bnm_fit_emp **out)
{
    *out = NULL;
    size_t n = pairs->n_nodes, rm = opts->remove_vols;
    bnm_status st = BNM_OK;
    uint8_t *censor = NULL;
    double *z = NULL, *rows = NULL, *fcd = NULL;
    bnm_fit_emp *e = calloc(1, sizeof *e);
    if (!e)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for empirical data");
    for (size_t v = 0; v < n_vol; v++)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(bold[v * vs + i * ns])) {
                st = bnm_fail(ctx, BNM_ERR_DATA,
                              "empirical BOLD has a non-finite value at volume %zu, node %zu",
                              v, i);
                goto fail;
            }
    if (rm >= n_vol) {
        st = bnm_fail(ctx, BNM_ERR_DATA,
                      "empirical BOLD has %zu volumes, all removed by emp_remove_vols = %zu",
                      n_vol, rm);
        goto fail;
    }
    censor = malloc(n_vol);
    z = malloc((n_vol - rm) * n * sizeof *z);
    e->fc = malloc(pairs->n_pairs * sizeof *e->fc);
    if (!censor || !z || !e->fc)
        goto nomem;
    for (size_t v = 0; v < n_vol; v++) {
        if (opts->censor) {
            censor[v] = opts->censor[v] != 0;
            continue;
        }
        bool all_zero = true;
        for (size_t i = 0; i < n && all_zero; i++)
            all_zero = bold[v * vs + i * ns] == 0.0;
        censor[v] = all_zero;
    }
    size_t n_valid = 0;
    for (size_t v = rm; v < n_vol; v++)
        n_valid += !censor[v];
    if (n_valid < 2) {
        st = bnm_fail(ctx, BNM_ERR_DATA,
                      "empirical BOLD has %zu valid volumes after removal and outliers; "
                      "FC needs at least 2",
                      n_valid);
        goto fail;
    }
    e->n_fc = pairs->n_pairs;
    if (bnm_fit_fc_scratch(bold, vs, ns, rm, n_vol, censor, pairs, e->fc, z) > 0) {
        size_t node = first_flat_node(bold, vs, ns, n, rm, n_vol, censor);
        st = bnm_fail(ctx, BNM_ERR_DATA,
                      "empirical BOLD node %zu has zero variance over volumes %zu..%zu",
                      node, rm, n_vol - 1);
        goto fail;
    }
    if (windows) {
        size_t n_win = bnm_fcd_window_count(windows, n_vol, rm), kept = 0;
        rows = malloc((n_win ? n_win : 1) * pairs->n_pairs * sizeof *rows);
        if (!rows)
            goto nomem;
        for (size_t k = 0; k < n_win; k++) {
            size_t first, last, bad = 0;
            bnm_fcd_window_range(windows, n_vol, rm, k, &first, &last);
            size_t len = last - first + 1;
            for (size_t v = first; v <= last; v++)
                bad += censor[v];
            if ((double)bad / (double)len > opts->outlier_threshold || len - bad < 3) {
                bnm_log_debug("empirical FCD window %zu (volumes %zu..%zu) skipped: %zu of "
                              "%zu volumes are outliers",
                              k, first, last, bad, len);
                continue;
            }
            double *r = rows + kept * pairs->n_pairs;
            if (bnm_fit_fc_scratch(bold, vs, ns, first, last + 1, censor, pairs, r, z) > 0) {
                size_t node = first_flat_node(bold, vs, ns, n, first, last + 1, censor);
                bnm_log_warn("empirical FCD window %zu (volumes %zu..%zu) skipped: node %zu "
                             "has zero variance in it",
                             k, first, last, node);
                continue;
            }
            kept++;
        }
        if (opts->need_fcd && kept < 2) {
            st = bnm_fail(ctx, BNM_ERR_DATA,
                          "empirical BOLD gives %zu usable FCD window%s (of %zu); -fcd_ks "
                          "needs at least 2",
                          kept, kept == 1 ? "" : "s", n_win);
            goto fail;
        }
        size_t n_fcd = bnm_fcd_pair_count(kept);
        fcd = malloc((n_fcd ? n_fcd : 1) * sizeof *fcd);
        if (!fcd)
            goto nomem;
        bnm_fit_fcd_from_rows(rows, kept, pairs->n_pairs, fcd);
        e->n_win = kept;
        st = emp_set_fcd(ctx, e, fcd, n_fcd);
        fcd = NULL;
        if (st != BNM_OK)
            goto fail;
    }
    free(censor);
    free(z);
    free(rows);
    *out = e;
    return BNM_OK;
nomem:
    st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for empirical FC/FCD");
fail:
    free(censor);
    free(z);
    free(rows);
    free(fcd);
    bnm_fit_emp_destroy(e);
    return st;
}

bnm_status bnm_fit_emp_from_vectors(bnm_context *ctx, const double *fc, size_t n_fc,
                                    const double *fcd, size_t n_fcd, bnm_fit_emp **out)
{
    *out = NULL;
    if (!fc)
        n_fc = 0;
    if (!fcd)
        n_fcd = 0;
    for (size_t k = 0; k < n_fc; k++)
        if (!isfinite(fc[k]))
            return bnm_fail(ctx, BNM_ERR_DATA, "empirical FC has a non-finite value at %zu",
                            k);
    for (size_t k = 0; k < n_fcd; k++)
        if (!isfinite(fcd[k]))
            return bnm_fail(ctx, BNM_ERR_DATA, "empirical FCD has a non-finite value at %zu",
                            k);
    bnm_fit_emp *e = calloc(1, sizeof *e);
    double *c = malloc((n_fcd ? n_fcd : 1) * sizeof *c);
    if (!e || !c || (n_fc && !(e->fc = malloc(n_fc * sizeof *e->fc)))) {
        free(c);
        bnm_fit_emp_destroy(e);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for empirical data");
    }
    if (n_fc)
        memcpy(e->fc, fc, n_fc * sizeof *fc);
    e->n_fc = n_fc;
    if (n_fcd)
        memcpy(c, fcd, n_fcd * sizeof *fcd);
    bnm_status st = emp_set_fcd(ctx, e, c, n_fcd);
    if (st != BNM_OK) {
        bnm_fit_emp_destroy(e);
        return st;
    }
    *out = e;
    return BNM_OK;
}

const double *bnm_fit_emp_fc(const bnm_fit_emp *emp, size_t *n)
{
    *n = emp->n_fc;
    return emp->n_fc ? emp->fc : NULL;
}

const double *bnm_fit_emp_fcd(const bnm_fit_emp *emp, size_t *n)
{
    *n = emp->n_fcd;
    return emp->n_fcd ? emp->fcd : NULL;
}

const double *bnm_fit_emp_fcd_sorted(const bnm_fit_emp *emp, size_t *n)
{
    *n = emp->n_fcd;
    return emp->n_fcd ? emp->fcd_sorted : NULL;
}

size_t bnm_fit_emp_windows(const bnm_fit_emp *emp)
{
    return emp->n_win;
}

bnm_status bnm_fit_emp_check(bnm_context *ctx, const bnm_fit_emp *emp, size_t n_pairs,
                             bool need_fcd)
{
    if (emp->n_fc != n_pairs)
        return bnm_fail(ctx, BNM_ERR_DATA,
                        "empirical FC has %zu values but the simulated FC has %zu pairs "
                        "(lower triangle i > j, row-major%s)",
                        emp->n_fc, n_pairs, emp->n_fc ? "" : "; no empirical FC was given");
    if (need_fcd && emp->n_fcd == 0)
        return bnm_fail(ctx, BNM_ERR_DATA,
                        "-fcd_ks needs an empirical FCD, but none was given or computed");
    return BNM_OK;
}
