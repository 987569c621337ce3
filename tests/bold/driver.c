#include <math.h>

#include "bold_tests.h"

double test_driver(int i, int64_t k)
{
    const double two_pi = 6.283185307179586;
    double t = (double)(k + 1) * 1e-3;
    if (i == 0)
        return 0.0;
    if (i == 1)
        return t >= 100.0 ? 0.2 : 0.0;
    double amp = 1.0 + 0.5 * (i % 4);
    double z = 0.15 + amp * 0.05 * sin(two_pi * t / (7.3 + 0.37 * i) + 0.5 * i)
               + amp * 0.03 * sin(two_pi * t / (0.31 + 0.01 * i));
    if (t >= 300.0 + 10.0 * i)
        z += 0.02 * (i % 7) - 0.05;
    return z;
}
