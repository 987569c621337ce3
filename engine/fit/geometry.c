/* FC pair lists and FCD window geometry (analysis.md 5.2-5.3, 6.1-6.3). */
#include <inttypes.h>
#include <stdlib.h>

#include "clbnm/fit.h"
#include "clbnm/log.h"

bnm_status bnm_fc_pairs_make(bnm_context *ctx, size_t n_nodes, bool exc_interhemispheric,
                             const uint8_t *hemi, bnm_fc_pairs *out)
{
    out->n_nodes = n_nodes;
    out->n_pairs = 0;
    out->pairs = NULL;
    if (n_nodes < 2)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "FC needs at least 2 nodes, got %zu",
                        n_nodes);
    if (n_nodes > UINT32_MAX)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "too many nodes for FC (%zu)", n_nodes);
    if (exc_interhemispheric && !hemi && n_nodes % 2 != 0)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "exc_interhemispheric needs an even number of nodes (halves rule), "
                        "got %zu; give a hemisphere label per node instead",
                        n_nodes);
    size_t cap = n_nodes * (n_nodes - 1) / 2;
    uint32_t *p = malloc(2 * cap * sizeof *p);
    if (!p)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for %zu FC pairs", cap);
    size_t half = n_nodes / 2, n = 0;
    for (size_t i = 1; i < n_nodes; i++) {
        for (size_t j = 0; j < i; j++) {
            if (exc_interhemispheric) {
                bool hi = hemi ? hemi[i] != 0 : i < half;
                bool hj = hemi ? hemi[j] != 0 : j < half;
                if (hi != hj)
                    continue;
            }
            p[2 * n] = (uint32_t)i;
            p[2 * n + 1] = (uint32_t)j;
            n++;
        }
    }
    if (n == 0) {
        free(p);
        return bnm_fail(ctx, BNM_ERR_RUN, "no FC pairs are left after excluding "
                                          "interhemispheric pairs");
    }
    out->pairs = p;
    out->n_pairs = n;
    return BNM_OK;
}

void bnm_fc_pairs_free(bnm_fc_pairs *p)
{
    if (!p)
        return;
    free(p->pairs);
    p->pairs = NULL;
    p->n_pairs = 0;
}

/* round_he(p / q) for p >= 0, q > 0, exactly. */
static int64_t div_round_half_even(int64_t p, int64_t q)
{
    int64_t n = p / q, r = p % q;
    if (2 * r > q || (2 * r == q && (n & 1)))
        n++;
    return n;
}

bnm_status bnm_fcd_windows_from_ns(bnm_context *ctx, int64_t window_ns, int64_t step_ns,
                                   int64_t tr_ns, bool drop_edges, bnm_fcd_windows *out)
{
    if (tr_ns <= 0 || window_ns < 0 || step_ns < 0 || tr_ns > INT64_MAX / 2)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "FCD window and step must be >= 0 and TR > 0 (window %" PRId64
                        " ns, step %" PRId64 " ns, TR %" PRId64 " ns)",
                        window_ns, step_ns, tr_ns);
    int64_t ws = 2 * div_round_half_even(window_ns, 2 * tr_ns);
    int64_t st = div_round_half_even(step_ns, tr_ns);
    if (ws < 2)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "FCD window %.6g s is shorter than 2 TR (%.6g s) after rounding to "
                        "an even number of TRs",
                        (double)window_ns * 1e-9, (double)tr_ns * 1e-9);
    if (st < 1)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "FCD step %.6g s rounds to 0 TRs (TR %.6g s)",
                        (double)step_ns * 1e-9, (double)tr_ns * 1e-9);
    if (ws > UINT32_MAX / 2 || st > UINT32_MAX)
        return bnm_fail(ctx, BNM_ERR_RUN, "FCD window or step is too long");
    out->ws = (unsigned)ws;
    out->st = (unsigned)st;
    out->drop_edges = drop_edges;
    bnm_log_info("FCD window %u TRs (%u volumes = %.6g s), step %u TRs (%.6g s)", out->ws,
                 out->ws + 1, (double)(ws + 1) * (double)tr_ns * 1e-9, out->st,
                 (double)st * (double)tr_ns * 1e-9);
    return BNM_OK;
}

size_t bnm_fcd_window_count(const bnm_fcd_windows *w, size_t n_vol, size_t n_rm)
{
    if (n_vol <= n_rm || w->st == 0)
        return 0;
    size_t n_corr = n_vol - n_rm;
    if (!w->drop_edges)
        return (n_corr - 1) / w->st + 1;
    if (n_corr - 1 < w->ws)
        return 0;
    return (n_corr - 1 - w->ws) / w->st + 1;
}

void bnm_fcd_window_range(const bnm_fcd_windows *w, size_t n_vol, size_t n_rm, size_t k,
                          size_t *first, size_t *last)
{
    size_t h = w->ws / 2;
    if (w->drop_edges) {
        size_t c = n_rm + h + k * w->st;
        *first = c - h;
        *last = c + h;
        return;
    }
    size_t c = n_rm + k * w->st;
    *first = c >= n_rm + h ? c - h : n_rm;
    *last = c + h <= n_vol - 1 ? c + h : n_vol - 1;
}

size_t bnm_fcd_pair_count(size_t n_win)
{
    return n_win < 2 ? 0 : n_win * (n_win - 1) / 2;
}
