/* Balloon-Windkessel model on the host, in double (analysis.md 3). This is the path the
 * engine checks its kernels against, so it follows 3.3 literally: the same operations
 * in the same order, with pow for the Grubb and extraction terms. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "clbnm/bold.h"

typedef struct coeff_set {
    const char *name;
    bnm_bold_coeffs c;
} coeff_set;

/* friston2003 is written as its definition in terms of rho (analysis.md 3.2). */
static const coeff_set coeff_sets[] = {
    {"friston2003", {7.0 * BNM_BW_RHO, 2.0, 2.0 * BNM_BW_RHO - 0.2}},
    {"heinzle2016-3T", {3.72, 0.527, 0.53}},
};

const char *bnm_bold_coeffs_names(void)
{
    return "friston2003, heinzle2016-3T";
}

bnm_status bnm_bold_coeffs_lookup(bnm_context *ctx, const char *name, bnm_bold_coeffs *out)
{
    if (!name) {
        *out = coeff_sets[0].c;
        return BNM_OK;
    }
    for (size_t i = 0; i < sizeof coeff_sets / sizeof coeff_sets[0]; i++) {
        if (strcmp(name, coeff_sets[i].name) == 0) {
            *out = coeff_sets[i].c;
            return BNM_OK;
        }
    }
    return bnm_fail(ctx, BNM_ERR_RUN, "unknown bold_params '%s': valid values are %s", name,
                    bnm_bold_coeffs_names());
}

bnm_status bnm_bold_mode_parse(bnm_context *ctx, const char *text, bnm_bold_mode *out)
{
    if (text && strcmp(text, "balloon") == 0) {
        *out = BNM_BOLD_BALLOON;
        return BNM_OK;
    }
    if (text && strcmp(text, "direct") == 0) {
        *out = BNM_BOLD_DIRECT;
        return BNM_OK;
    }
    return bnm_fail(ctx, BNM_ERR_RUN, "unknown bold_mode '%s': valid values are balloon, direct",
                    text ? text : "(null)");
}

const char *bnm_bold_mode_name(bnm_bold_mode mode)
{
    return mode == BNM_BOLD_DIRECT ? "direct" : "balloon";
}

void bnm_bw_init(bnm_bw_state *s)
{
    s->x = 0.0;
    s->f = 1.0;
    s->nu = 1.0;
    s->q = 1.0;
}

void bnm_bw_step(bnm_bw_state *s, double z, double h)
{
    const double inv_alpha = 1.0 / BNM_BW_ALPHA;
    const double ht = h / BNM_BW_TAU;
    double x = s->x, f = s->f, nu = s->nu, q = s->q;
    double x_new = x + h * (z - BNM_BW_KAPPA * x - BNM_BW_GAMMA * (f - 1.0));
    /* Semi-implicit on purpose (cuBNM's order): f sees the new x, nu the old f, and q
     * the old f with the new nu. */
    double f_new = f + h * x_new;
    double nu_new = nu + ht * (f - pow(nu, inv_alpha));
    double q_new = q + ht * (f * (1.0 - pow(1.0 - BNM_BW_RHO, 1.0 / f)) / BNM_BW_RHO
                             - pow(nu_new, inv_alpha) * q / nu_new);
    s->x = x_new;
    s->f = f_new;
    s->nu = nu_new;
    s->q = q_new;
}

double bnm_bw_observe(const bnm_bw_state *s, const bnm_bold_coeffs *c)
{
    return BNM_BW_V0 * (c->k1 * (1.0 - s->q) + c->k2 * (1.0 - s->q / s->nu)
                        + c->k3 * (1.0 - s->nu));
}
