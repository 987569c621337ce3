/* FIC penalty (models.md 1.8). */
#include <math.h>

#include "fic_internal.h"

/* r_E band of models.md 1.8 (fic_internal.h: the fixed-point check uses it too), and the
 * exponent's rate. */
#define PEN_CENTRE BNM_FIC_PENALTY_CENTRE
#define PEN_BAND BNM_FIC_PENALTY_BAND
#define PEN_RATE 0.05

double bnm_fic_penalty(const double *m, int n_nodes, double scale)
{
    if (n_nodes <= 0 || scale == 0.0)
        return 0.0;
    double sum = 0.0;
    for (int j = 0; j < n_nodes; j++) {
        double d = fabs(m[j] - PEN_CENTRE);
        if (!isfinite(d))
            sum += 1.0; /* clBNM: the maximum; cuBNM would add 0 */
        else if (d > PEN_BAND)
            sum += 1.0 - exp(-PEN_RATE * (d - PEN_BAND));
    }
    return sum == 0.0 ? 0.0 : -(scale / n_nodes) * sum;
}
