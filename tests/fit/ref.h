/* Independent plain-C double reference for the fit module tests: straightforward
 * formulas, written from analysis.md without looking at engine/fit. */
#ifndef TEST_FIT_REF_H
#define TEST_FIT_REF_H

#include <stdbool.h>
#include <stddef.h>

/* Textbook two-pass Pearson correlation of a and b (n values, unit stride). */
double ref_pearson(const double *a, const double *b, size_t n);

/* FC of bold[v][i] (n_nodes per row) over volumes [v0, v1), skipping volumes with
 * skip[v] set (skip may be NULL). Pairs i > j row-major, interhemispheric ones dropped by
 * the halves rule when exc. Returns a malloc'd vector; *n_pairs receives its length. */
double *ref_fc(const double *bold, size_t n_nodes, size_t v0, size_t v1, const bool *skip,
               bool exc, size_t *n_pairs);

/* Window ranges (inclusive) by walking centres as analysis.md 6.2/6.3 states. Returns
 * the count; first/last arrays hold up to cap entries. */
size_t ref_windows(size_t n_vol, size_t n_rm, size_t ws, size_t st, bool drop_edges,
                   size_t *first, size_t *last, size_t cap);

/* Naive FCD lower triangle of a simulated series. *n_fcd receives its length. */
double *ref_fcd(const double *bold, size_t n_nodes, size_t n_vol, size_t n_rm, size_t ws,
                size_t st, bool drop_edges, bool exc, size_t *n_fcd);

/* Brute-force KS D: for every pooled value x, count both samples' values <= x by a full
 * scan. O((na + nb)^2). */
double ref_ks(const double *a, size_t na, const double *b, size_t nb);

/* The four terms in "larger is better" form, NaN rule applied; ks_d as given. */
void ref_scores(const double *s, const double *e, size_t n, double ks_d, double out[4]);

#endif
