/* Reference implementations for tests/fit (see ref.h). Deliberately naive. */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

double ref_pearson(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0;
    for (size_t k = 0; k < n; k++) {
        ma += a[k];
        mb += b[k];
    }
    ma /= (double)n;
    mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t k = 0; k < n; k++) {
        sab += (a[k] - ma) * (b[k] - mb);
        saa += (a[k] - ma) * (a[k] - ma);
        sbb += (b[k] - mb) * (b[k] - mb);
    }
    if (saa == 0 || sbb == 0)
        return NAN;
    return sab / (sqrt(saa) * sqrt(sbb));
}

double *ref_fc(const double *bold, size_t n_nodes, size_t v0, size_t v1, const bool *skip,
               bool exc, size_t *n_pairs)
{
    size_t nv = 0;
    double *col_i = malloc((v1 - v0) * sizeof(double));
    double *col_j = malloc((v1 - v0) * sizeof(double));
    double *out = malloc(n_nodes * n_nodes * sizeof(double));
    size_t np = 0;
    for (size_t i = 0; i < n_nodes; i++) {
        for (size_t j = 0; j < i; j++) {
            bool left_i = i < n_nodes / 2, left_j = j < n_nodes / 2;
            if (exc && left_i != left_j)
                continue;
            nv = 0;
            for (size_t v = v0; v < v1; v++) {
                if (skip && skip[v])
                    continue;
                col_i[nv] = bold[v * n_nodes + i];
                col_j[nv] = bold[v * n_nodes + j];
                nv++;
            }
            out[np++] = ref_pearson(col_i, col_j, nv);
        }
    }
    free(col_i);
    free(col_j);
    *n_pairs = np;
    return out;
}

size_t ref_windows(size_t n_vol, size_t n_rm, size_t ws, size_t st, bool drop_edges,
                   size_t *first, size_t *last, size_t cap)
{
    size_t n = 0;
    if (drop_edges) {
        /* c_first = n_rm + ws/2, c_last = n_vol - 1 - ws/2 (signed to allow none). */
        long c_last = (long)n_vol - 1 - (long)ws / 2;
        for (long c = (long)(n_rm + ws / 2); c <= c_last; c += (long)st) {
            if (n < cap) {
                first[n] = (size_t)c - ws / 2;
                last[n] = (size_t)c + ws / 2;
            }
            n++;
        }
    } else {
        for (long c = (long)n_rm; c <= (long)n_vol - 1; c += (long)st) {
            long a = c - (long)ws / 2, z = c + (long)ws / 2;
            if (a < (long)n_rm)
                a = (long)n_rm;
            if (z > (long)n_vol - 1)
                z = (long)n_vol - 1;
            if (n < cap) {
                first[n] = (size_t)a;
                last[n] = (size_t)z;
            }
            n++;
        }
    }
    return n;
}

double *ref_fcd(const double *bold, size_t n_nodes, size_t n_vol, size_t n_rm, size_t ws,
                size_t st, bool drop_edges, bool exc, size_t *n_fcd)
{
    size_t cap = n_vol + 1;
    size_t *first = malloc(cap * sizeof(size_t)), *last = malloc(cap * sizeof(size_t));
    size_t nw = ref_windows(n_vol, n_rm, ws, st, drop_edges, first, last, cap);
    double **w = malloc((nw ? nw : 1) * sizeof(double *));
    size_t np = 0;
    for (size_t k = 0; k < nw; k++)
        w[k] = ref_fc(bold, n_nodes, first[k], last[k] + 1, NULL, exc, &np);
    double *out = malloc((nw * nw / 2 + 1) * sizeof(double));
    size_t n = 0;
    for (size_t a = 0; a < nw; a++)
        for (size_t b = 0; b < a; b++)
            out[n++] = ref_pearson(w[a], w[b], np);
    for (size_t k = 0; k < nw; k++)
        free(w[k]);
    free(w);
    free(first);
    free(last);
    *n_fcd = n;
    return out;
}

double ref_ks(const double *a, size_t na, const double *b, size_t nb)
{
    double d = 0;
    for (size_t p = 0; p < na + nb; p++) {
        double x = p < na ? a[p] : b[p - na];
        size_t ca = 0, cb = 0;
        for (size_t k = 0; k < na; k++)
            ca += a[k] <= x;
        for (size_t k = 0; k < nb; k++)
            cb += b[k] <= x;
        double diff = fabs((double)ca / (double)na - (double)cb / (double)nb);
        if (diff > d)
            d = diff;
    }
    return d;
}

void ref_scores(const double *s, const double *e, size_t n, double ks_d, double out[4])
{
    bool finite = true;
    for (size_t k = 0; k < n; k++)
        finite = finite && isfinite(s[k]);
    if (!finite) {
        out[0] = -1;
        out[1] = -2;
        out[2] = -1;
    } else {
        double r = ref_pearson(s, e, n);
        out[0] = isfinite(r) ? r : -1;
        double ms = 0, me = 0, d2 = 0;
        for (size_t k = 0; k < n; k++) {
            ms += s[k] / (double)n;
            me += e[k] / (double)n;
            d2 += (s[k] - e[k]) * (s[k] - e[k]);
        }
        out[1] = -fabs(ms - me);
        out[2] = -sqrt(d2) / (2 * sqrt((double)n));
    }
    out[3] = isfinite(ks_d) ? -ks_d : -1;
}
