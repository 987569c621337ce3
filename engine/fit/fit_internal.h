/* Internals shared by the fit module's files. */
#ifndef CLBNM_FIT_INTERNAL_H
#define CLBNM_FIT_INTERNAL_H

#include "clbnm/fit.h"

/* FC like bnm_fc_host, with caller-provided scratch of (v1 - v0) * n_nodes doubles. */
size_t bnm_fit_fc_scratch(const double *bold, size_t vol_stride, size_t node_stride,
                          size_t v0, size_t v1, const uint8_t *censor,
                          const bnm_fc_pairs *pairs, double *fc, double *scratch);

/* FCD lower triangle of the n_win window-FC rows (rows[n_win][n_pairs], overwritten by
 * their z-scores) into fcd[n_win (n_win - 1) / 2]. A row holding NaN or with zero
 * variance across pairs gives NaN for its entries. */
void bnm_fit_fcd_from_rows(double *rows, size_t n_win, size_t n_pairs, double *fcd);

/* Ascending sort of doubles (finite values). */
void bnm_fit_sort(double *v, size_t n);

/* Device KS of gn unsorted samples (samples[gn][ns]) against emp[s]'s FCD, through the
 * same sort and merge kernels bnm_fit_device_run uses (for tests of exactness). */
bnm_status bnm_fit_device_ks_samples(bnm_fit_device *dev, const double *samples, size_t gn,
                                     size_t ns, const bnm_fit_emp *const *emp, double *d);

#endif
