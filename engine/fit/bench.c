/* Timing helper for `clbnm bench`: the cost of scoring a batch on the device. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "fit_internal.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Deterministic BOLD-like values: a per-node offset plus xorshift noise. */
static double synth(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (double)(*x >> 11) * 0x1p-53 - 0.5;
}

bnm_status bnm_fit_bench(bnm_context *ctx, bnm_fit_device *dev, size_t n_sims,
                         size_t n_nodes, size_t n_vol, size_t n_rm,
                         const bnm_fcd_windows *windows, double *seconds)
{
    *seconds = NAN;
    bnm_fc_pairs pairs = {0};
    bnm_fit_emp *emp = NULL;
    const bnm_fit_emp **emps = NULL;
    void *bold = NULL;
    double *emp_bold = NULL, *scores = NULL;
    bnm_status st = bnm_fc_pairs_make(ctx, n_nodes, false, NULL, &pairs);
    if (st != BNM_OK)
        return st;
    bool dbl = bnm_fit_device_is_double(dev);
    size_t elt = dbl ? sizeof(double) : sizeof(float), count = n_sims * n_vol * n_nodes;
    bold = malloc(count * elt);
    emp_bold = malloc(n_vol * n_nodes * sizeof *emp_bold);
    scores = malloc(n_sims * BNM_FIT_N_TERMS * sizeof *scores);
    emps = malloc(n_sims * sizeof *emps);
    if (!bold || !emp_bold || !scores || !emps) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the fit benchmark");
        goto done;
    }
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    for (size_t i = 0; i < count; i++) {
        double v = 0.02 * (double)(i % n_nodes) + synth(&x);
        if (dbl)
            ((double *)bold)[i] = v;
        else
            ((float *)bold)[i] = (float)v;
    }
    for (size_t i = 0; i < n_vol * n_nodes; i++)
        emp_bold[i] = synth(&x);
    bnm_fit_emp_options o;
    bnm_fit_emp_options_init_defaults(&o);
    o.need_fcd = windows != NULL;
    st = bnm_fit_emp_from_bold(ctx, emp_bold, n_nodes, 1, n_vol, &pairs, windows, &o, &emp);
    if (st != BNM_OK)
        goto done;
    for (size_t s = 0; s < n_sims; s++)
        emps[s] = emp;
    bnm_fit_batch b = {0};
    b.n_sims = n_sims;
    b.n_vol = n_vol;
    b.n_nodes = n_nodes;
    b.n_rm = n_rm;
    b.pairs = &pairs;
    b.windows = windows;
    b.bold_host = bold;
    b.emp = emps;
    double t0 = now_s();
    st = bnm_fit_device_run(dev, &b, NULL, NULL, NULL, scores);
    if (st == BNM_OK)
        *seconds = now_s() - t0;
done:
    bnm_fit_emp_destroy(emp);
    bnm_fc_pairs_free(&pairs);
    free(bold);
    free(emp_bold);
    free(scores);
    free(emps);
    return st;
}
