/* Unscrambled Sobol sequence (Gray-code order) with the direction numbers of S. Joe and
 * F. Y. Kuo, "Constructing Sobol sequences with better two-dimensional projections",
 * SIAM J. Sci. Comput. 30 (2008) 2635-2654, file new-joe-kuo-6.21201 (published data,
 * dimensions 2-40 carried over; dimension 1 is van der Corput). */
#include "run_internal.h"

/* Per dimension d = 2..40: degree s, polynomial coefficients a, initial m_1..m_s. */
static const struct {
    unsigned char s;
    unsigned char a;
    unsigned short m[8];
} joe_kuo[BNM_SOBOL_MAX_DIM - 1] = {
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
    {6, 19, {1, 1, 1, 15, 7, 5}},
    {6, 22, {1, 3, 1, 15, 13, 25}},
    {6, 25, {1, 1, 5, 5, 19, 61}},
    {7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {7, 4, {1, 3, 7, 13, 13, 15, 69}},
    {7, 7, {1, 1, 3, 13, 7, 35, 63}},
    {7, 8, {1, 3, 5, 9, 1, 25, 53}},
    {7, 14, {1, 3, 1, 13, 9, 35, 107}},
    {7, 19, {1, 3, 1, 5, 27, 61, 31}},
    {7, 21, {1, 1, 5, 11, 19, 41, 61}},
    {7, 28, {1, 3, 5, 3, 3, 13, 69}},
    {7, 31, {1, 1, 7, 13, 1, 19, 1}},
    {7, 32, {1, 3, 7, 5, 13, 19, 59}},
    {7, 37, {1, 1, 3, 9, 25, 29, 41}},
    {7, 41, {1, 3, 5, 13, 23, 1, 55}},
    {7, 42, {1, 3, 7, 3, 13, 59, 17}},
    {7, 50, {1, 3, 1, 3, 5, 53, 69}},
    {7, 55, {1, 1, 5, 5, 23, 33, 13}},
    {7, 56, {1, 1, 7, 7, 1, 61, 123}},
    {7, 59, {1, 1, 7, 9, 13, 61, 49}},
    {7, 62, {1, 3, 3, 5, 3, 55, 33}},
    {8, 14, {1, 3, 1, 15, 31, 13, 49, 245}},
    {8, 21, {1, 3, 5, 15, 31, 59, 63, 97}},
    {8, 22, {1, 3, 1, 11, 11, 11, 77, 249}},
};

bool run_sobol_directions(unsigned dim, uint32_t v[32])
{
    if (dim < 1 || dim > BNM_SOBOL_MAX_DIM)
        return false;
    if (dim == 1) {
        for (unsigned i = 0; i < 32; i++)
            v[i] = UINT32_C(1) << (31 - i);
        return true;
    }
    unsigned s = joe_kuo[dim - 2].s, a = joe_kuo[dim - 2].a;
    /* v[i] holds m_{i+1} / 2^{i+1} as a 32-bit fraction. */
    for (unsigned i = 0; i < s; i++)
        v[i] = (uint32_t)joe_kuo[dim - 2].m[i] << (31 - i);
    for (unsigned i = s; i < 32; i++) {
        uint32_t x = v[i - s] ^ (v[i - s] >> s);
        for (unsigned k = 1; k < s; k++)
            if ((a >> (s - 1 - k)) & 1u)
                x ^= v[i - k];
        v[i] = x;
    }
    return true;
}

bool bnm_sobol_point(unsigned dim, uint64_t index, double *out)
{
    uint32_t v[32];
    if (index > UINT32_MAX || !run_sobol_directions(dim, v))
        return false;
    uint64_t gray = index ^ (index >> 1);
    uint32_t x = 0;
    for (unsigned j = 0; gray; j++, gray >>= 1)
        if (gray & 1u)
            x ^= v[j];
    *out = (double)x / 4294967296.0;
    return true;
}
