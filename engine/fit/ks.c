/* Exact two-sample Kolmogorov-Smirnov statistic (analysis.md 8.1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_internal.h"

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

void bnm_fit_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double bnm_ks_statistic_sorted(const double *a, size_t na, const double *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return NAN;
    /* Walk the pooled values in order; after consuming every copy of x from both
     * samples, i and j are #{a <= x} and #{b <= x}. The difference of the ECDFs is
     * kept as the integer |i nb - j na| so ties and equal fractions are exact; one
     * division at the end rounds once. */
    size_t i = 0, j = 0;
    unsigned long long best = 0;
    while (i < na || j < nb) {
        double x = (j >= nb || (i < na && a[i] <= b[j])) ? a[i] : b[j];
        while (i < na && a[i] <= x)
            i++;
        while (j < nb && b[j] <= x)
            j++;
        unsigned long long u = (unsigned long long)i * nb, w = (unsigned long long)j * na;
        unsigned long long d = u > w ? u - w : w - u;
        if (d > best)
            best = d;
    }
    return (double)best / ((double)na * (double)nb);
}

double bnm_ks_statistic(const double *a, size_t na, const double *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return NAN;
    for (size_t k = 0; k < na; k++)
        if (!isfinite(a[k]))
            return NAN;
    for (size_t k = 0; k < nb; k++)
        if (!isfinite(b[k]))
            return NAN;
    double *sa = malloc(na * sizeof *sa), *sb = malloc(nb * sizeof *sb);
    double d = NAN;
    if (sa && sb) {
        memcpy(sa, a, na * sizeof *sa);
        memcpy(sb, b, nb * sizeof *sb);
        bnm_fit_sort(sa, na);
        bnm_fit_sort(sb, nb);
        d = bnm_ks_statistic_sorted(sa, na, sb, nb);
    }
    free(sa);
    free(sb);
    return d;
}
