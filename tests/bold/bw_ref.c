/* analysis.md 3.3, transcribed line by line. */
#include <math.h>

#include "bw_ref.h"

/* analysis.md 3.1 */
static const double rho = 0.34;
static const double alpha = 0.32;
static const double tau = 0.98;
static const double gamma_ = 1 / 0.41;
static const double kappa = 1 / 0.65;
static const double V0 = 2.0;

void ref_bw_rest(ref_bw *s)
{
    s->x = 0;
    s->f = 1;
    s->nu = 1;
    s->q = 1;
}

void ref_bw_step(ref_bw *s, double z, double h)
{
    double x = s->x, f = s->f, nu = s->nu, q = s->q;
    double x_new = x + h * (z - kappa * x - gamma_ * (f - 1));
    double f_new = f + h * x_new;
    double nu_new = nu + (h / tau) * (f - pow(nu, 1 / alpha));
    double q_new = q + (h / tau) * (f * (1 - pow(1 - rho, 1 / f)) / rho
                                    - pow(nu_new, 1 / alpha) * q / nu_new);
    s->x = x_new;
    s->f = f_new;
    s->nu = nu_new;
    s->q = q_new;
}

double ref_bw_bold(const ref_bw *s, double k1, double k2, double k3)
{
    return V0 * (k1 * (1 - s->q) + k2 * (1 - s->q / s->nu) + k3 * (1 - s->nu));
}

void ref_bw_rest_ld(ref_bw_ld *s)
{
    s->x = 0;
    s->f = 1;
    s->nu = 1;
    s->q = 1;
}

void ref_bw_step_ld(ref_bw_ld *s, long double z, long double h)
{
    long double x = s->x, f = s->f, nu = s->nu, q = s->q;
    long double x_new = x + h * (z - kappa * x - gamma_ * (f - 1));
    long double f_new = f + h * x_new;
    long double nu_new = nu + (h / tau) * (f - powl(nu, 1 / (long double)alpha));
    long double q_new = q + (h / tau) * (f * (1 - powl(1 - (long double)rho, 1 / f)) / rho
                                         - powl(nu_new, 1 / (long double)alpha) * q / nu_new);
    s->x = x_new;
    s->f = f_new;
    s->nu = nu_new;
    s->q = q_new;
}

long double ref_bw_bold_ld(const ref_bw_ld *s, long double k1, long double k2, long double k3)
{
    return V0 * (k1 * (1 - s->q) + k2 * (1 - s->q / s->nu) + k3 * (1 - s->nu));
}
