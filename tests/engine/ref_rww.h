/* Independent reference of an rWW network run with BOLD (ref_rww.c). */
#ifndef CLBNM_TESTS_REF_RWW_H
#define CLBNM_TESTS_REF_RWW_H

#include <stdint.h>

typedef struct ref_rww_config {
    int n;            /* nodes */
    const double *W;  /* [target i][source j] */
    double G, w_p, J_N, wIE, sigma;
    double dt;        /* ms */
    double bw_dt_ms;
    long n_inner, n_bw, bw_per_vol, n_vol, bw_per_samp, n_rm_s;
    uint64_t seed;
    uint32_t noise_id;
    const long *lag; /* [target i][source j] delay in steps (analysis.md 2.6), NULL: none */
} ref_rww_config;

/* bold: [n_vol][n]; mean_se: [n] (S_E averaged over samples s >= n_rm_s). 0 on success. */
int ref_rww_run(const ref_rww_config *c, double *bold, double *mean_se);

#endif
