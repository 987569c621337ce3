/* Independent plain-C reference of one rWW network run with Balloon-Windkessel BOLD.
 *
 * Written from the specs, not from the engine: the rWW step of models.md 1.3 (constants
 * of 1.2, H of 0.5), Euler-Maruyama with increments sigma*sqrt(dt)*z, Jacobi coupling
 * (analysis.md 2.5), the loop of analysis.md 2.4, the BW equations of analysis.md 3.3 in
 * their plain form, volumes at (v+1)*TR (4.1) and state means after bold_remove (4.3).
 * The only engine function used is bnm_rng_normal for z, with the keying of RNG.md 3
 * (noise of noisy state k uses stream 2k). Delays: the coupling of step n (from x_k,
 * k = n - 1) reads source j at step k - lag_ij, the initial value before step 0
 * (analysis.md 2.6, delay_rounding nearest). */
#include "ref_rww.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

static double H(double y, double d)
{
    if (fabs(d * y) < 1e-6)
        return 1.0 / d + y / 2.0;
    return y / (-expm1(-d * y));
}

static double clamp01(double x)
{
    return x < 0 ? 0 : (x > 1 ? 1 : x);
}

int ref_rww_run(const ref_rww_config *c, double *bold, double *mean_se)
{
    const double a_E = 310, b_E = 125, d_E = 0.16, a_I = 615, b_I = 177, d_I = 0.087;
    const double gamma_E = 0.641 / 1000, gamma_I = 1.0 / 1000, tau_E = 100, tau_I = 10;
    const double I_0 = 0.382, w_E = 1.0, w_I = 0.7, w_II = 1.0;
    const double rho = 0.34, alpha = 0.32, tau = 0.98, gam = 1 / 0.41, kap = 1 / 0.65, V0 = 2;
    const double k1 = 7 * rho, k2 = 2.0, k3 = 2 * rho - 0.2; /* friston2003 */
    int N = c->n;
    double *se = malloc((size_t)N * sizeof *se), *si = malloc((size_t)N * sizeof *si);
    double *se1 = malloc((size_t)N * sizeof *se1), *si1 = malloc((size_t)N * sizeof *si1);
    double *x = calloc((size_t)N, sizeof *x), *f = malloc((size_t)N * sizeof *f);
    double *nu = malloc((size_t)N * sizeof *nu), *q = malloc((size_t)N * sizeof *q);
    /* With delays, the whole S_E history: hist[m * N + j] = S_E of node j at step m; before
     * t = 0 every node holds its initial value (a constant past). */
    long n_steps = c->n_bw * c->n_inner;
    double *hist = c->lag ? malloc((size_t)(n_steps + 1) * (size_t)N * sizeof *hist) : NULL;
    if (!se || !si || !se1 || !si1 || !x || !f || !nu || !q || (c->lag && !hist))
        return -1;
    for (int i = 0; i < N; i++) {
        se[i] = si[i] = 0.001;
        f[i] = nu[i] = q[i] = 1.0;
        mean_se[i] = 0;
    }
    double h = c->bw_dt_ms / 1000.0, sq = sqrt(c->dt);
    long n_samp_used = 0;
    long step = 0;
    if (hist)
        memcpy(hist, se, (size_t)N * sizeof *se);
    for (long k = 0; k < c->n_bw; k++) {
        for (long m = 0; m < c->n_inner; m++, step++) {
            for (int i = 0; i < N; i++) {
                double cpl = 0;
                for (int jn = 0; jn < N; jn++) {
                    double src = se[jn];
                    if (c->lag) {
                        long m2 = step - c->lag[i * N + jn];
                        src = hist[(m2 < 0 ? 0 : m2) * N + jn];
                    }
                    cpl += c->W[i * N + jn] * src;
                }
                double IE = w_E * I_0 + c->w_p * c->J_N * se[i] + c->G * c->J_N * cpl -
                            c->wIE * si[i];
                double II = w_I * I_0 + c->J_N * se[i] - w_II * si[i];
                double rE = H(a_E * IE - b_E, d_E), rI = H(a_I * II - b_I, d_I);
                double fE = (1 - se[i]) * gamma_E * rE - se[i] / tau_E;
                double fI = gamma_I * rI - si[i] / tau_I;
                double zE = 0, zI = 0;
                if (c->sigma != 0) {
                    zE = bnm_rng_normal(c->seed, c->noise_id, (uint32_t)i, (uint64_t)step, 0);
                    zI = bnm_rng_normal(c->seed, c->noise_id, (uint32_t)i, (uint64_t)step, 2);
                }
                se1[i] = clamp01(se[i] + c->dt * fE + c->sigma * sq * zE);
                si1[i] = clamp01(si[i] + c->dt * fI + c->sigma * sq * zI);
            }
            memcpy(se, se1, (size_t)N * sizeof *se);
            memcpy(si, si1, (size_t)N * sizeof *si);
            if (hist)
                memcpy(hist + (step + 1) * N, se, (size_t)N * sizeof *se);
        }
        for (int i = 0; i < N; i++) {
            double z = se[i];
            double xn = x[i] + h * (z - kap * x[i] - gam * (f[i] - 1));
            double fn = f[i] + h * xn;
            double nun = nu[i] + (h / tau) * (f[i] - pow(nu[i], 1 / alpha));
            double qn = q[i] + (h / tau) * (f[i] * (1 - pow(1 - rho, 1 / f[i])) / rho -
                                            pow(nun, 1 / alpha) * q[i] / nun);
            x[i] = xn;
            f[i] = fn;
            nu[i] = nun;
            q[i] = qn;
        }
        long kb = k + 1;
        if (kb % c->bw_per_vol == 0) {
            long v = kb / c->bw_per_vol - 1;
            if (v < c->n_vol)
                for (int i = 0; i < N; i++)
                    bold[v * N + i] = V0 * (k1 * (1 - q[i]) + k2 * (1 - q[i] / nu[i]) +
                                            k3 * (1 - nu[i]));
        }
        if (kb % c->bw_per_samp == 0 && kb / c->bw_per_samp - 1 >= c->n_rm_s) {
            n_samp_used++;
            for (int i = 0; i < N; i++)
                mean_se[i] += se[i];
        }
    }
    for (int i = 0; i < N; i++)
        mean_se[i] /= (double)n_samp_used;
    free(se);
    free(si);
    free(se1);
    free(si1);
    free(x);
    free(f);
    free(nu);
    free(q);
    free(hist);
    return 0;
}
