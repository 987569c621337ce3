/* The boundary transform of cmaes.h: periodic reflection onto [-a, 1 + a], then
 * quadratic margins of width 2a at each bound. */
#include <math.h>

#include "clbnm/cmaes.h"

double bnm_cmaes_to_feasible(double y)
{
    const double a = BNM_CMAES_BOUND_MARGIN, len = 1.0 + 2.0 * a;
    if (y >= a && y <= 1.0 - a)
        return y; /* exactly the identity, without the rounding of the shifts below */
    if (!isfinite(y))
        return NAN;
    double u = y + a; /* [-a, 1 + a] -> [0, len] */
    if (u < 0.0 || u > len) {
        u = fmod(u, 2.0 * len);
        if (u < 0.0)
            u += 2.0 * len;
        if (u > len)
            u = 2.0 * len - u; /* mirror the second half of the period */
    }
    double v = u - a;
    if (v < a)
        return (v + a) * (v + a) / (4.0 * a);
    if (v > 1.0 - a)
        return 1.0 - (v - 1.0 - a) * (v - 1.0 - a) / (4.0 * a);
    return v;
}

double bnm_cmaes_from_feasible(double x)
{
    const double a = BNM_CMAES_BOUND_MARGIN;
    if (x < a)
        return -a + sqrt(4.0 * a * fmax(x, 0.0));
    if (x > 1.0 - a)
        return 1.0 + a - sqrt(4.0 * a * fmax(1.0 - x, 0.0));
    return x;
}
