/* steady_state FIC (nmm-format.md 11.4): per node, damped Newton on
 * g(x, P) = (f(x, c_i, P), measure(x, c_i, P) - target) with the coupling c_i fixed,
 * alternated with coupling updates. For the shipped rWW file this is models.md 1.6
 * solved to full precision (the closed form's steps 1-4 are what g = 0 reduces to). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"
#include "codegen_internal.h"
#include "fic_internal.h"
#include "ir.h"

/* Newton iterations per node and round; damping halvings per iteration. */
#define NEWTON_MAX 100
#define DAMP_MAX 40

typedef struct solver {
    bnm_fic_net *net;
    const bnm_ir_expr *measure;
    double target;
    int m;          /* unknowns: ns states + P */
    double *z, *zt, *dz, *g, *gt, *gp, *gm, *J, *rs; /* scratch */
} solver;

static bool uses_time(const bnm_ir_expr *e)
{
    if (!e)
        return false;
    return e->op == BNM_IR_TIME || uses_time(e->a) || uses_time(e->b) || uses_time(e->c);
}

/* g at z for node i; false when a component is not finite. */
static bool resid(solver *sv, int i, const double *z, double *g)
{
    bnm_fic_net *net = sv->net;
    net->param[(size_t)i * (size_t)net->np + (size_t)net->pidx] = z[sv->m - 1];
    double meas = bnm_fic_net_node(net, i, z, sv->measure, g);
    g[sv->m - 1] = meas - sv->target;
    for (int k = 0; k < sv->m; k++)
        if (!isfinite(g[k]))
            return false;
    return true;
}

/* Solves J dz = -g in place (partial pivoting); false when singular. */
static bool lin_solve(int m, double *J, const double *g, double *dz)
{
    for (int k = 0; k < m; k++)
        dz[k] = -g[k];
    for (int c = 0; c < m; c++) {
        int piv = c;
        for (int r = c + 1; r < m; r++)
            if (fabs(J[r * m + c]) > fabs(J[piv * m + c]))
                piv = r;
        if (!(fabs(J[piv * m + c]) > 0.0))
            return false;
        if (piv != c) {
            for (int k = 0; k < m; k++) {
                double t = J[c * m + k];
                J[c * m + k] = J[piv * m + k];
                J[piv * m + k] = t;
            }
            double t = dz[c];
            dz[c] = dz[piv];
            dz[piv] = t;
        }
        for (int r = c + 1; r < m; r++) {
            double f = J[r * m + c] / J[c * m + c];
            for (int k = c; k < m; k++)
                J[r * m + k] -= f * J[c * m + k];
            dz[r] -= f * dz[c];
        }
    }
    for (int c = m - 1; c >= 0; c--) {
        double acc = dz[c];
        for (int k = c + 1; k < m; k++)
            acc -= J[c * m + k] * dz[k];
        dz[c] = acc / J[c * m + c];
    }
    for (int k = 0; k < m; k++)
        if (!isfinite(dz[k]))
            return false;
    return true;
}

/* Residual norm with each equation scaled by its Jacobian row, so that equations in
 * different units (rates, the measure's unit) weigh alike in the damping test. */
static double wnorm(const solver *sv, const double *g)
{
    double n = 0.0;
    for (int k = 0; k < sv->m; k++)
        n = fmax(n, fabs(g[k]) / sv->rs[k]);
    return n;
}

/* Newton on node i from sv->z (in/out). Returns false on a non-finite value, a singular
 * Jacobian or no convergence; true once a full Newton step is < tol. */
static bool newton_node(solver *sv, int i, double tol)
{
    int m = sv->m;
    if (!resid(sv, i, sv->z, sv->g))
        return false;
    for (int it = 0; it < NEWTON_MAX; it++) {
        /* central differences: truncation O(h^2), rounding O(eps/h); h ~ 1e-6 relative
         * balances them near 1e-12 for smooth right-hand sides */
        for (int k = 0; k < m; k++) {
            double h = 1e-6 * fmax(fabs(sv->z[k]), 1e-3);
            memcpy(sv->zt, sv->z, sizeof(double) * (size_t)m);
            sv->zt[k] = sv->z[k] + h;
            if (!resid(sv, i, sv->zt, sv->gp))
                return false;
            sv->zt[k] = sv->z[k] - h;
            if (!resid(sv, i, sv->zt, sv->gm))
                return false;
            for (int r = 0; r < m; r++)
                sv->J[r * m + k] = (sv->gp[r] - sv->gm[r]) / (2.0 * h);
        }
        for (int r = 0; r < m; r++) {
            double s = 0.0;
            for (int k = 0; k < m; k++)
                s = fmax(s, fabs(sv->J[r * m + k]));
            sv->rs[r] = s > 0.0 ? s : 1.0;
        }
        if (!lin_solve(m, sv->J, sv->g, sv->dz))
            return false;
        double step = 0.0;
        for (int k = 0; k < m; k++)
            step = fmax(step, fabs(sv->dz[k]));
        double n0 = wnorm(sv, sv->g);
        double lam = 1.0;
        bool accepted = false;
        for (int h = 0; h < DAMP_MAX; h++, lam *= 0.5) {
            for (int k = 0; k < m; k++)
                sv->zt[k] = sv->z[k] + lam * sv->dz[k];
            if (resid(sv, i, sv->zt, sv->gt) && (wnorm(sv, sv->gt) < n0 || step < tol)) {
                accepted = true;
                break;
            }
        }
        if (!accepted)
            return step < tol; /* no decrease left: converged only if already there */
        memcpy(sv->z, sv->zt, sizeof(double) * (size_t)m);
        memcpy(sv->g, sv->gt, sizeof(double) * (size_t)m);
        if (step < tol)
            return true;
    }
    return false;
}

/* Initial states with random draws replaced by their means. */
static void init_states(bnm_fic_net *net, double *x)
{
    const bnm_model_ir *ir = net->ir;
    size_t N = (size_t)net->n;
    for (int i = 0; i < net->n; i++) {
        bnm_ip_env env;
        bnm_fic_net_env(net, i, net->xs, &env);
        env.let = NULL;
        for (int v = 0; v < net->ns; v++) {
            const bnm_ir_state *st = &ir->states[v];
            double val;
            if (st->init_kind == BNM_INIT_UNIFORM)
                val = 0.5 * (bnm_ip_eval(&env, st->init_a) + bnm_ip_eval(&env, st->init_b));
            else if (st->init_kind == BNM_INIT_NORMAL)
                val = bnm_ip_eval(&env, st->init_a);
            else
                val = bnm_ip_eval(&env, st->init);
            x[(size_t)v * N + (size_t)i] = val;
        }
    }
}

/* Solves one simulation; false when it is unstable, with the reason in why.
 * x: [ns][N] out, p: [N] out. */
static bool solve_sim(solver *sv, const bnm_fic_config *cfg, double *x, double *p,
                      double *xp, char *why, size_t why_len)
{
    bnm_fic_net *net = sv->net;
    const bnm_model_ir *ir = net->ir;
    int ns = net->ns, n = net->n;
    size_t N = (size_t)n;
    double p0 = ir->params[net->pidx].def;
    for (int i = 0; i < n; i++) {
        p[i] = p0;
        net->param[(size_t)i * (size_t)net->np + (size_t)net->pidx] = p0;
    }
    init_states(net, x);
    bool converged = false;
    for (int round = 0; round < cfg->max_iter && !converged; round++) {
        /* Jacobi-style sweep: every node sees the couplings of the previous round */
        for (int i = 0; i < n; i++)
            net->param[(size_t)i * (size_t)net->np + (size_t)net->pidx] = p[i];
        bnm_fic_net_couplings(net, x);
        memcpy(xp, x, sizeof(double) * (size_t)ns * N);
        double change = 0.0;
        for (int i = 0; i < n; i++) {
            bnm_fic_net_gather(net, x, i, sv->z);
            sv->z[ns] = p[i];
            if (!newton_node(sv, i, cfg->solve_tol)) {
                snprintf(why, why_len, "the Newton solve failed at node %d in round %d", i,
                         round + 1);
                return false;
            }
            for (int v = 0; v < ns; v++) {
                change = fmax(change, fabs(sv->z[v] - xp[(size_t)v * N + (size_t)i]));
                x[(size_t)v * N + (size_t)i] = sv->z[v];
            }
            change = fmax(change, fabs(sv->z[ns] - p[i]));
            p[i] = sv->z[ns];
        }
        converged = change < cfg->solve_tol;
    }
    if (!converged) {
        snprintf(why, why_len, "no convergence to %g in %d rounds", cfg->solve_tol,
                 cfg->max_iter);
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (!isfinite(p[i]) || p[i] < cfg->range_lo || p[i] > cfg->range_hi) {
            snprintf(why, why_len, "%s = %g at node %d is outside [%g, %g]",
                     ir->params[net->pidx].name, p[i], i, cfg->range_lo, cfg->range_hi);
            return false;
        }
        net->param[(size_t)i * (size_t)net->np + (size_t)net->pidx] = p[i];
        bnm_fic_net_gather(net, x, i, sv->z);
        bnm_ip_env env;
        bnm_fic_net_env(net, i, sv->z, &env);
        env.let = NULL;
        for (int v = 0; v < ns; v++) {
            const bnm_ir_state *st = &ir->states[v];
            if (!isfinite(sv->z[v]) ||
                (st->bound == BNM_BOUND_CLAMP && (sv->z[v] < bnm_ip_eval(&env, st->lo) ||
                                                  sv->z[v] > bnm_ip_eval(&env, st->hi)))) {
                snprintf(why, why_len, "%s = %g at node %d is outside its bounds", st->name,
                         sv->z[v], i);
                return false;
            }
        }
    }
    return true;
}

bnm_status bnm_fic_steady_state(bnm_context *ctx, const struct bnm_model_ir *ir,
                                const bnm_model_spec *spec, const bnm_model_data *data,
                                const bnm_fic_config *cfg, double *p_out, bool *unstable_out,
                                double *states_out)
{
    if (!ir || !spec || !data || !cfg || !p_out || !unstable_out)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "steady-state FIC: missing argument");
    if (!ir->fic || !ir->fic->steady_state.present)
        return bnm_fail(ctx, BNM_ERR_RUN, "model '%s' has no fic steady_state record", ir->name);
    for (int v = 0; v < ir->n_states; v++)
        if (uses_time(ir->states[v].deriv))
            return bnm_fail(ctx, BNM_ERR_RUN,
                            "steady-state FIC: d/dt %s (line %d) depends on t, so the model "
                            "has no steady state (nmm-format.md 11.4)",
                            ir->states[v].name, ir->states[v].deriv_line);
    for (int l = 0; l < ir->n_lets; l++)
        if (uses_time(ir->lets[l].expr))
            return bnm_fail(ctx, BNM_ERR_RUN,
                            "steady-state FIC: let %s (line %d) depends on t, so the model "
                            "has no steady state (nmm-format.md 11.4)",
                            ir->lets[l].name, ir->lets[l].line);

    bnm_status st;
    bnm_model_abi *abi = NULL;
    bnm_cg_spec *rs = NULL;
    int *dsteps = NULL;
    double *x = NULL, *xp = NULL, *scratch = NULL;
    bnm_fic_net net;
    memset(&net, 0, sizeof net);
    solver sv;
    memset(&sv, 0, sizeof sv);

    if ((st = bnm_model_abi_create(ctx, ir, spec, &abi)) != BNM_OK)
        goto fail;
    const bnm_abi_entry *pe = bnm_model_abi_find(abi, BNM_ABI_PARAM, ir->params[ir->fic->param].name);
    if (!pe || pe->node_slot < 0) {
        st = bnm_fail(ctx, BNM_ERR_RUN,
                      "FIC sets '%s' per node: the run must make it per_node (nmm-format.md 11.1)",
                      ir->params[ir->fic->param].name);
        goto fail;
    }
    /* the batch checks of set_data; the states are not read here */
    if ((st = bnm_cg_spec_resolve(ctx, ir, spec, &rs)) != BNM_OK)
        goto fail;
    bnm_model_data d = *data;
    double dummy = 0.0;
    if (!d.states)
        d.states = &dummy;
    uint32_t hl = 1;
    if ((st = bnm_cg_check_data(ctx, rs, &d, &dsteps, &hl)) != BNM_OK)
        goto fail;
    if ((st = bnm_fic_net_init(ctx, &net, ir, abi, data)) != BNM_OK)
        goto fail;

    size_t N = (size_t)data->n_nodes, ns = (size_t)ir->n_states;
    int m = ir->n_states + 1;
    x = malloc(sizeof(double) * ns * N + 1);
    xp = malloc(sizeof(double) * ns * N + 1);
    scratch = malloc(sizeof(double) * (size_t)(8 * m + m * m));
    if (!x || !xp || !scratch) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the steady-state FIC solve");
        goto fail;
    }
    sv.net = &net;
    sv.measure = ir->fic->steady_state.measure;
    sv.target = cfg->target;
    sv.m = m;
    sv.z = scratch;
    sv.zt = sv.z + m;
    sv.dz = sv.zt + m;
    sv.g = sv.dz + m;
    sv.gt = sv.g + m;
    sv.gp = sv.gt + m;
    sv.gm = sv.gp + m;
    sv.rs = sv.gm + m;
    sv.J = sv.rs + m;

    for (int s = 0; s < data->n_sims; s++) {
        bnm_fic_net_load_sim(&net, s);
        double *p = p_out + (size_t)s * N;
        char why[320] = "";
        bool ok = solve_sim(&sv, cfg, x, p, xp, why, sizeof why);
        bool held = ok && bnm_fic_checked_holds(&net, ir, spec, data->dt, cfg->avg_time, x, p,
                                                s, why, sizeof why);
        unstable_out[s] = !held;
        if (ok && !held) {
            /* a fixed point that exists but does not hold: its P is the best start for the
             * iterative method, so it is kept (flagged) rather than replaced */
            bnm_log_warn("steady-state FIC: simulation %d flagged unstable (%s); %s kept as "
                         "solved", s, why, ir->params[ir->fic->param].name);
        } else if (!ok) {
            bnm_log_warn("steady-state FIC: simulation %d unstable (%s); %s = %g at every node",
                         s, why, ir->params[ir->fic->param].name, cfg->fallback);
            for (size_t i = 0; i < N; i++)
                p[i] = cfg->fallback;
        }
        if (states_out)
            memcpy(states_out + (size_t)s * ns * N, x, sizeof(double) * ns * N);
    }
    st = BNM_OK;
fail:
    free(x);
    free(xp);
    free(scratch);
    free(dsteps);
    bnm_fic_net_free(&net);
    bnm_cg_spec_destroy(rs);
    bnm_model_abi_destroy(abi);
    return st;
}
