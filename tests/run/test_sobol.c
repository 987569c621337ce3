/* The Sobol generator: the published first points, an independent incremental
 * (Bratley-Fox / Joe-Kuo sobol.cc style) computation, and (t, m, s)-net stratification. */
#include <stdint.h>

#include "test_run.h"

/* First 8 points of the unscrambled Joe-Kuo Sobol sequence, dimensions 1-5, point 0 the
 * origin (as scipy.stats.qmc.Sobol(5, scramble=False).random(8) and Joe-Kuo's sobol.cc
 * print them). */
static const double published[8][5] = {
    {0, 0, 0, 0, 0},
    {0.5, 0.5, 0.5, 0.5, 0.5},
    {0.75, 0.25, 0.25, 0.25, 0.75},
    {0.25, 0.75, 0.75, 0.75, 0.25},
    {0.375, 0.375, 0.625, 0.875, 0.375},
    {0.875, 0.875, 0.125, 0.375, 0.875},
    {0.625, 0.125, 0.875, 0.625, 0.625},
    {0.125, 0.625, 0.375, 0.125, 0.125},
};

START_TEST(published_first_points)
{
    for (unsigned i = 0; i < 8; i++)
        for (unsigned d = 1; d <= 5; d++) {
            double x = -1;
            ck_assert(bnm_sobol_point(d, i, &x));
            ck_assert_msg(x == published[i][d - 1], "point %u dim %u: %g != %g", i, d, x,
                          published[i][d - 1]);
        }
}
END_TEST

/* new-joe-kuo-6.21201, dimensions 2-21 (s, a, m_1..m_s), typed here independently of
 * engine/run/sobol.c. */
static const unsigned jk[20][10] = {
    {1, 0, 1},
    {2, 1, 1, 3},
    {3, 1, 1, 3, 1},
    {3, 2, 1, 1, 1},
    {4, 1, 1, 1, 3, 3},
    {4, 4, 1, 3, 5, 13},
    {5, 2, 1, 1, 5, 5, 17},
    {5, 4, 1, 1, 5, 5, 5},
    {5, 7, 1, 1, 7, 11, 19},
    {5, 11, 1, 1, 5, 1, 1},
    {5, 13, 1, 1, 1, 3, 11},
    {5, 14, 1, 3, 5, 5, 31},
    {6, 1, 1, 3, 3, 9, 7, 49},
    {6, 13, 1, 1, 1, 15, 21, 21},
    {6, 16, 1, 3, 1, 13, 27, 49},
    {6, 19, 1, 1, 1, 15, 7, 5},
    {6, 22, 1, 3, 1, 15, 13, 25},
    {6, 25, 1, 1, 5, 5, 19, 61},
    {7, 1, 1, 3, 7, 11, 23, 15, 103},
    {7, 4, 1, 3, 7, 13, 13, 15, 69},
};

#define L 12 /* bits: 4096 points */

/* m_k by the recurrence on the m's themselves (Bratley and Fox):
 * m_k = 2 a_1 m_{k-1} ^ 4 a_2 m_{k-2} ^ ... ^ 2^s m_{k-s} ^ m_{k-s}. */
static void m_values(unsigned dim, uint64_t m[L + 1])
{
    if (dim == 1) {
        for (unsigned k = 1; k <= L; k++)
            m[k] = 1;
        return;
    }
    const unsigned *row = jk[dim - 2];
    unsigned s = row[0], a = row[1];
    for (unsigned k = 1; k <= s && k <= L; k++)
        m[k] = row[1 + k];
    for (unsigned k = s + 1; k <= L; k++) {
        uint64_t x = (m[k - s] << s) ^ m[k - s];
        for (unsigned i = 1; i < s; i++)
            if ((a >> (s - 1 - i)) & 1u)
                x ^= m[k - i] << i;
        m[k] = x;
    }
}

START_TEST(incremental_gray_code_agrees)
{
    for (unsigned dim = 1; dim <= 21; dim++) {
        uint64_t m[L + 1];
        m_values(dim, m);
        uint64_t x = 0; /* point i as an L-bit fraction */
        for (uint64_t i = 0; i < (1u << L); i++) {
            if (i > 0) {
                /* c = position (1-based) of the lowest zero bit of i - 1. */
                unsigned c = 1;
                for (uint64_t v = i - 1; v & 1u; v >>= 1)
                    c++;
                x ^= m[c] << (L - c);
            }
            double got = -1;
            ck_assert(bnm_sobol_point(dim, i, &got));
            double want = (double)x / (double)(1u << L);
            ck_assert_msg(got == want, "dim %u point %llu: %.17g != %.17g", dim,
                          (unsigned long long)i, got, want);
        }
    }
}
END_TEST

START_TEST(every_dimension_is_stratified)
{
    /* Any valid direction numbers make the first 2^k points of each dimension hit each
     * interval [j/2^k, (j+1)/2^k) exactly once; checks the table of all 40 dimensions. */
    enum { K = 10, N = 1 << K };
    for (unsigned dim = 1; dim <= BNM_SOBOL_MAX_DIM; dim++) {
        unsigned char seen[N] = {0};
        for (unsigned i = 0; i < N; i++) {
            double x;
            ck_assert(bnm_sobol_point(dim, i, &x));
            ck_assert(x >= 0 && x < 1);
            unsigned j = (unsigned)(x * N);
            ck_assert_msg(!seen[j], "dim %u: interval %u hit twice", dim, j);
            seen[j] = 1;
        }
    }
    double x;
    ck_assert(!bnm_sobol_point(0, 0, &x));
    ck_assert(!bnm_sobol_point(BNM_SOBOL_MAX_DIM + 1, 0, &x));
    ck_assert(!bnm_sobol_point(1, UINT64_C(1) << 32, &x));
}
END_TEST

START_TEST(pairs_of_dimensions_are_nets)
{
    /* Dimensions 1 and 2 form a (0, 2)-sequence in base 2: the first 2^k points put
     * exactly one point in every elementary box of area 2^-k. Checked for k = 8. */
    enum { K = 8, N = 1 << K };
    for (unsigned a = 0; a <= K; a++) {
        unsigned char seen[N] = {0};
        for (unsigned i = 0; i < N; i++) {
            double x, y;
            bnm_sobol_point(1, i, &x);
            bnm_sobol_point(2, i, &y);
            unsigned bx = (unsigned)(x * (1u << a)), by = (unsigned)(y * (1u << (K - a)));
            unsigned box = (bx << (K - a)) | by;
            ck_assert_msg(!seen[box], "split %u: box %u hit twice", a, box);
            seen[box] = 1;
        }
    }
}
END_TEST

TCase *tr_case_sobol(void)
{
    TCase *tc = tcase_create("sobol");
    tcase_add_test(tc, published_first_points);
    tcase_add_test(tc, incremental_gray_code_agrees);
    tcase_add_test(tc, every_dimension_is_stratified);
    tcase_add_test(tc, pairs_of_dimensions_are_nets);
    return tc;
}
