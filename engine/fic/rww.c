/* The closed-form analytic FIC of models.md 1.6 for the shipped rWW model: the
 * dedicated rWW path that nmm-format.md 11.5 allows. It exists for the cuBNM comparison
 * switch fic.root_tol (models.md 1.6, 8): with root_tol = 1e-3 the inhibitory current is
 * solved with Brent-Dekker stopped by GSL's interval test, as cuBNM does, which leaves
 * wIE up to ~3e-4 (relative) from the converged root. The generic steady-state solver
 * (steady.c) is the default and needs no model knowledge. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"
#include "fic_internal.h"
#include "ir.h"

/* models.md 1.6 constants: the isolated-node steady state at r_E ~ 3.0773 Hz. */
#define RWW_S_E_SS 0.1647572075
#define RWW_I_E_SS 0.3773805650
#define RWW_BRACKET_LO 0.0
#define RWW_BRACKET_HI 2.0
#define RWW_MAX_ITER 100
#define RWW_FULL_PRECISION 1e-12

/* The params the closed form reads, in this order. */
static const char *const rww_names[] = {"G", "w_p", "J_N", "wIE", "a_I", "b_I", "d_I", "w_I",
                                        "w_E", "I_0", "w_II", "gamma_I", "tau_I"};
enum { P_G, P_WP, P_JN, P_WIE, P_AI, P_BI, P_DI, P_WI, P_WE, P_I0, P_WII, P_GI, P_TI, P_COUNT };

typedef struct rww_node {
    double c0;    /* w_I*I_0 + J_N*S_E_ss */
    double k;     /* w_II*gamma_I*tau_I (unit-free product) */
    double a, b, d;
} rww_node;

static double phi(const rww_node *n, double I)
{
    double y = n->a * I - n->b;
    return fabs(n->d * y) < 1e-6 ? 1.0 / n->d + y / 2.0 : y / (-expm1(-n->d * y));
}

static double F(const rww_node *n, double I) { return n->c0 - n->k * phi(n, I) - I; }

static bool same_sign(double u, double v) { return (u < 0 && v < 0) || (u > 0 && v > 0); }

/* Brent-Dekker on [lo, hi] (models.md 1.6: as GSL's brent solver; the estimate is the
 * current best point b, not the bracket's midpoint), stopped when
 * |hi - lo| < epsrel*min(|lo|, |hi|) for a bracket not straddling 0. False on an invalid
 * bracket or no convergence within RWW_MAX_ITER iterations. */
static bool brent(const rww_node *n, double lo, double hi, double epsrel, double *root)
{
    double a = lo, b = hi, c = hi;
    double fa = F(n, a), fb = F(n, b), fc = fb;
    double d = hi - lo, e = hi - lo;
    if (!isfinite(fa) || !isfinite(fb) || same_sign(fa, fb))
        return false;
    for (int it = 0; it < RWW_MAX_ITER; it++) {
        bool ac_equal = false;
        if (same_sign(fb, fc)) {
            ac_equal = true;
            c = a;
            fc = fa;
            d = b - a;
            e = b - a;
        }
        if (fabs(fc) < fabs(fb)) {
            ac_equal = true;
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        double tol = 0.5 * 2.220446049250313e-16 * fabs(b);
        double m = 0.5 * (c - b);
        if (fb == 0.0 || fabs(m) <= tol) {
            *root = b;
            return true;
        }
        if (fabs(e) < tol || fabs(fa) <= fabs(fb)) {
            d = m; /* bisection */
            e = m;
        } else {
            double p, q, s = fb / fa;
            if (ac_equal) { /* secant */
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else { /* inverse quadratic interpolation */
                double qa = fa / fc, r = fb / fc;
                p = s * (2.0 * m * qa * (qa - r) - (b - a) * (r - 1.0));
                q = (qa - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if (p > 0)
                q = -q;
            else
                p = -p;
            if (2.0 * p < fmin(3.0 * m * q - fabs(tol * q), fabs(e * q))) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        }
        a = b;
        fa = fb;
        b += fabs(d) > tol ? d : (m > 0 ? tol : -tol);
        fb = F(n, b);
        if (!isfinite(fb))
            return false;
        if (same_sign(fb, fc))
            c = a;
        double xl = b < c ? b : c, xh = b < c ? c : b;
        double min_abs = same_sign(xl, xh) ? fmin(fabs(xl), fabs(xh)) : 0.0;
        if (fabs(xh - xl) < epsrel * min_abs) {
            *root = b;
            return true;
        }
    }
    return false;
}

bnm_status bnm_fic_rww_analytic(bnm_context *ctx, const struct bnm_model_ir *ir,
                                const bnm_model_spec *spec, const bnm_model_data *data,
                                double root_tol, double *p_out, bool *unstable_out)
{
    if (!ir || !spec || !data || !p_out || !unstable_out || !(root_tol >= 0.0))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "rWW analytic FIC: missing or bad argument");
    int idx[P_COUNT];
    for (int q = 0; q < P_COUNT; q++)
        if ((idx[q] = bnm_model_ir_find(ir, BNM_REF_PARAM, rww_names[q])) < 0)
            return bnm_fail(ctx, BNM_ERR_RUN,
                            "the rWW analytic FIC (fic.root_tol) needs the shipped rww model; "
                            "'%s' has no param '%s'", ir->name, rww_names[q]);
    if (bnm_fic_param_index(ir) != idx[P_WIE])
        return bnm_fail(ctx, BNM_ERR_RUN, "the rWW analytic FIC sets wIE; model '%s' controls %s",
                        ir->name, ir->fic ? ir->params[ir->fic->param].name : "nothing");
    bnm_status st;
    bnm_model_abi *abi = NULL;
    bnm_fic_net net;
    memset(&net, 0, sizeof net);
    double *x = NULL;
    int ise = bnm_model_ir_find(ir, BNM_REF_STATE, "S_E");
    int isi = bnm_model_ir_find(ir, BNM_REF_STATE, "S_I");
    if (ise < 0 || isi < 0)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "the rWW analytic FIC (fic.root_tol) needs the shipped rww model's "
                        "states S_E and S_I; '%s' lacks one", ir->name);
    if ((st = bnm_model_abi_create(ctx, ir, spec, &abi)) != BNM_OK)
        goto fail;
    if ((st = bnm_fic_net_init(ctx, &net, ir, abi, data)) != BNM_OK)
        goto fail;
    x = malloc(sizeof(double) * (size_t)ir->n_states * (size_t)data->n_nodes + 1);
    if (!x) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the rWW analytic FIC");
        goto fail;
    }
    double epsrel = root_tol > 0.0 ? root_tol : RWW_FULL_PRECISION;
    size_t N = (size_t)data->n_nodes;
    for (int s = 0; s < data->n_sims; s++) {
        bnm_fic_net_load_sim(&net, s);
        double *p = p_out + (size_t)s * N;
        bool ok = true;
        for (size_t j = 0; j < N && ok; j++) {
            const double *v = net.param + j * (size_t)net.np;
            rww_node n = {v[idx[P_WI]] * v[idx[P_I0]] + v[idx[P_JN]] * RWW_S_E_SS,
                          v[idx[P_WII]] * v[idx[P_GI]] * v[idx[P_TI]], v[idx[P_AI]],
                          v[idx[P_BI]], v[idx[P_DI]]};
            double I_I;
            if (!brent(&n, RWW_BRACKET_LO, RWW_BRACKET_HI, epsrel, &I_I)) {
                ok = false;
                break;
            }
            double S_I = n.k * phi(&n, I_I);
            double strength = 0.0;
            for (size_t k = 0; k < N; k++)
                strength += net.w[j * N + k];
            p[j] = (v[idx[P_WE]] * v[idx[P_I0]] +
                    RWW_S_E_SS * v[idx[P_JN]] * (v[idx[P_WP]] + v[idx[P_G]] * strength) -
                    RWW_I_E_SS) / S_I;
            ok = isfinite(p[j]) && p[j] >= 0.0;
        }
        char why[320] = "";
        if (ok) {
            /* the fixed point: S_E = S_E_ss, S_I from step 2, at every node */
            for (size_t j = 0; j < N; j++) {
                const double *v = net.param + j * (size_t)net.np;
                rww_node n = {v[idx[P_WI]] * v[idx[P_I0]] + v[idx[P_JN]] * RWW_S_E_SS,
                              v[idx[P_WII]] * v[idx[P_GI]] * v[idx[P_TI]], v[idx[P_AI]],
                              v[idx[P_BI]], v[idx[P_DI]]};
                double I_I = 0.0;
                brent(&n, RWW_BRACKET_LO, RWW_BRACKET_HI, epsrel, &I_I);
                for (int q = 0; q < ir->n_states; q++)
                    x[(size_t)q * N + j] = q == ise ? RWW_S_E_SS : q == isi ? n.k * phi(&n, I_I) : 0.0;
            }
            if (!bnm_fic_checked_holds(&net, ir, spec, data->dt, 0.0, x, p, s, why, sizeof why)) {
                unstable_out[s] = true;
                bnm_log_warn("rWW analytic FIC: simulation %d flagged unstable (%s); wIE kept "
                             "as solved", s, why);
                continue;
            }
        }
        unstable_out[s] = !ok;
        if (!ok) {
            bnm_log_warn("rWW analytic FIC: simulation %d unstable; wIE = 1 at every node", s);
            for (size_t j = 0; j < N; j++)
                p[j] = 1.0;
        }
    }
    st = BNM_OK;
fail:
    free(x);
    bnm_fic_net_free(&net);
    bnm_model_abi_destroy(abi);
    return st;
}
