/* A whole batch on the host in double: the engine's path for small batches, with the
 * same inputs and outputs as the device path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"

bnm_status bnm_fit_host_run(bnm_context *ctx, const bnm_fit_batch *b, double *fc_out,
                            double *fcd_out, double *ks_out, double *scores)
{
    if (!b->pairs || b->pairs->n_nodes != b->n_nodes || b->n_vol <= b->n_rm + 1 ||
        !b->bold_host)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "fit batch: inconsistent nodes or volumes, or no host BOLD");
    size_t np = b->pairs->n_pairs;
    size_t nw = b->windows ? bnm_fcd_window_count(b->windows, b->n_vol, b->n_rm) : 0;
    size_t nf = bnm_fcd_pair_count(nw);
    double *fc = malloc(np * sizeof *fc), *fcd = malloc((nf ? nf : 1) * sizeof *fcd);
    bnm_status st = BNM_OK;
    if (!fc || !fcd) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for fit results");
        goto done;
    }
    const double *bold = b->bold_host;
    for (size_t s = 0; s < b->n_sims; s++) {
        st = bnm_fit_host_series(ctx, bold + s * b->n_vol * b->n_nodes, b->n_nodes, 1,
                                 b->n_vol, b->n_rm, b->pairs, b->windows, fc,
                                 b->windows ? fcd : NULL);
        if (st != BNM_OK)
            goto done;
        if (fc_out)
            memcpy(fc_out + s * np, fc, np * sizeof *fc);
        if (fcd_out && nf)
            memcpy(fcd_out + s * nf, fcd, nf * sizeof *fcd);
        const bnm_fit_emp *e = b->emp ? b->emp[s] : NULL;
        size_t ne = 0;
        const double *es = e ? bnm_fit_emp_fcd_sorted(e, &ne) : NULL;
        double d = NAN;
        bool finite = true;
        for (size_t k = 0; k < nf && finite; k++)
            finite = isfinite(fcd[k]);
        if (es && nf && finite) {
            bnm_fit_sort(fcd, nf);
            d = bnm_ks_statistic_sorted(fcd, nf, es, ne);
        }
        if (ks_out)
            ks_out[s] = d;
        if (scores)
            bnm_fit_score(e, fc, np, d, b->diverged && b->diverged[s],
                          scores + s * BNM_FIT_N_TERMS);
    }
done:
    free(fc);
    free(fcd);
    return st;
}
