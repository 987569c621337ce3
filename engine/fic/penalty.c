/* FIC penalty (models.md 1.8). */
#include <math.h>

#include "clbnm/fic.h"

/* r_E band of models.md 1.8: centre and half-width in Hz, and the exponent's rate. */
#define PEN_CENTRE 3.0
#define PEN_BAND 1.0
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
