/* Host interpreter of the model IR in double (nmm-format.md 15.1). It follows the
 * generated kernel's order of operations (engine/codegen/emit.c) step for step: publish
 * T values of x_k into the history ring, then per node couplings from the history,
 * the integrator stages, bounds, write-back and the non-finite check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/interp.h"
#include "codegen_internal.h"
#include "interp_eval.h"
#include "rng.h"

struct bnm_interp {
    const bnm_model_ir *ir;
    bnm_cg_spec *rs;
    bnm_model_abi *abi;
    bnm_ir_expr **nscale; /* [n_states] sqrt(dt)*g or NULL */
    /* batch */
    int n_sims, n;
    double dt, t0;
    int n_conn, n_dmat;
    double *w;        /* [conn][i][j] */
    int *dsteps;      /* [dmat][i][j], NULL without delays */
    int *conn, *dmat; /* [n_sims] */
    uint64_t *seed;
    uint32_t *nid;
    double *param;    /* [n_sims][N][n_params] every param's value at every node */
    double *state;    /* [n_sims][n_states][N] */
    double *hist;     /* [n_sims][n_transmit][hl][N] */
    uint32_t hl;
    bnm_sim_status *status;
    uint64_t next_step;
    /* scratch */
    double *lets, *coup, *src, *x, *y, *f[4], *tv;
};

typedef struct sum_ctx {
    const bnm_interp *ip;
    int s, i;
    uint64_t k;
    bool no_delay_state; /* bnm_interp_eval: sources from tv, not the history */
} sum_ctx;

static void free_batch(bnm_interp *ip)
{
    free(ip->w);
    free(ip->dsteps);
    free(ip->conn);
    free(ip->dmat);
    free(ip->seed);
    free(ip->nid);
    free(ip->param);
    free(ip->state);
    free(ip->hist);
    free(ip->status);
    free(ip->tv);
    ip->w = ip->param = ip->state = ip->hist = ip->tv = NULL;
    ip->dsteps = ip->conn = ip->dmat = NULL;
    ip->seed = NULL;
    ip->nid = NULL;
    ip->status = NULL;
    ip->n_sims = 0;
}

void bnm_interp_destroy(bnm_interp *ip)
{
    if (!ip)
        return;
    free_batch(ip);
    if (ip->nscale)
        for (int s = 0; s < ip->ir->n_states; s++)
            bnm_ir_expr_free(ip->nscale[s]);
    free(ip->nscale);
    free(ip->lets);
    free(ip->coup);
    free(ip->src);
    free(ip->x);
    free(ip->y);
    for (int k = 0; k < 4; k++)
        free(ip->f[k]);
    bnm_model_abi_destroy(ip->abi);
    bnm_cg_spec_destroy(ip->rs);
    free(ip);
}

const bnm_model_abi *bnm_interp_abi(const bnm_interp *ip)
{
    return ip->abi;
}

static double *dalloc(int n)
{
    return calloc((size_t)(n > 0 ? n : 1), sizeof(double));
}

bnm_status bnm_interp_create(bnm_context *ctx, const struct bnm_model_ir *ir,
                             const bnm_model_spec *spec, bnm_interp **out)
{
    *out = NULL;
    bnm_interp *ip = calloc(1, sizeof *ip);
    if (!ip)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating the interpreter");
    ip->ir = ir;
    bnm_status st = bnm_cg_spec_resolve(ctx, ir, spec, &ip->rs);
    if (st == BNM_OK)
        st = bnm_model_abi_create(ctx, ir, spec, &ip->abi);
    if (st != BNM_OK) {
        bnm_interp_destroy(ip);
        return st;
    }
    ip->nscale = calloc((size_t)ir->n_states + 1, sizeof *ip->nscale);
    ip->lets = dalloc(ir->n_lets);
    ip->coup = dalloc(ir->n_couplings);
    ip->src = dalloc(ir->n_transmit);
    ip->x = dalloc(ir->n_states);
    ip->y = dalloc(ir->n_states);
    for (int k = 0; k < 4; k++)
        ip->f[k] = dalloc(ir->n_states);
    bool ok = ip->nscale && ip->lets && ip->coup && ip->src && ip->x && ip->y && ip->f[0] &&
              ip->f[1] && ip->f[2] && ip->f[3];
    for (int s = 0; ok && s < ir->n_states; s++)
        if (ip->rs->noise && ip->rs->integrator != BNM_INTEG_RK4 && ir->states[s].noise)
            ok = (ip->nscale[s] = bnm_cg_noise_scale(ir->states[s].noise)) != NULL;
    if (!ok) {
        bnm_interp_destroy(ip);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating the interpreter");
    }
    *out = ip;
    return BNM_OK;
}

bnm_status bnm_interp_set_data(bnm_context *ctx, bnm_interp *ip, const bnm_model_data *d)
{
    const bnm_model_ir *ir = ip->ir;
    const bnm_cg_spec *rs = ip->rs;
    int *dsteps = NULL;
    uint32_t hl = 1;
    bnm_status st = bnm_cg_check_data(ctx, rs, d, &dsteps, &hl);
    if (st == BNM_OK && (st = bnm_cg_check_states(ctx, ir, d)) != BNM_OK)
        free(dsteps);
    if (st != BNM_OK)
        return st;
    free_batch(ip);
    ip->dsteps = dsteps;
    ip->hl = hl;
    ip->n_sims = d->n_sims;
    ip->n = d->n_nodes;
    ip->dt = d->dt;
    ip->t0 = d->t0;
    ip->n_conn = d->n_connectomes;
    ip->n_dmat = rs->delays ? d->n_delay_mats : 0;
    size_t S = (size_t)d->n_sims, N = (size_t)d->n_nodes;
    size_t nw = (size_t)d->n_connectomes * N * N;
    ip->w = malloc(nw * sizeof *ip->w);
    ip->conn = calloc(S, sizeof *ip->conn);
    ip->dmat = calloc(S, sizeof *ip->dmat);
    ip->seed = calloc(S, sizeof *ip->seed);
    ip->nid = calloc(S, sizeof *ip->nid);
    ip->param = calloc(S * N * (size_t)(ir->n_params + 1), sizeof *ip->param);
    ip->state = malloc(S * (size_t)ir->n_states * N * sizeof *ip->state + 1);
    ip->hist = calloc(S * (size_t)ir->n_transmit * hl * N + 1, sizeof *ip->hist);
    ip->status = calloc(S, sizeof *ip->status);
    ip->tv = calloc((size_t)ir->n_transmit * N + 1, sizeof *ip->tv);
    if (!ip->w || !ip->conn || !ip->dmat || !ip->seed || !ip->nid || !ip->param || !ip->state ||
        !ip->hist || !ip->status || !ip->tv) {
        free_batch(ip);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for a batch of %d simulations",
                        d->n_sims);
    }
    memcpy(ip->w, d->weights, nw * sizeof *ip->w);
    memcpy(ip->state, d->states, S * (size_t)ir->n_states * N * sizeof *ip->state);
    for (size_t s = 0; s < S; s++) {
        ip->conn[s] = d->conn_index ? d->conn_index[s] : 0;
        ip->dmat[s] = d->delay_index ? d->delay_index[s] : 0;
        ip->seed[s] = d->seeds ? d->seeds[s] : 0;
        ip->nid[s] = d->noise_ids ? d->noise_ids[s] : 0;
        for (size_t i = 0; i < N; i++)
            for (int p = 0; p < ir->n_params; p++) {
                double v = rs->pvalue[p];
                if (rs->sim_slot[p] >= 0)
                    v = d->sim_params[s * (size_t)rs->n_sim_params + (size_t)rs->sim_slot[p]];
                else if (rs->node_slot[p] >= 0)
                    v = d->node_params[(s * (size_t)rs->n_node_params + (size_t)rs->node_slot[p]) * N + i];
                ip->param[(s * N + i) * (size_t)ir->n_params + (size_t)p] = v;
            }
    }
    ip->next_step = 0;
    return BNM_OK;
}

static double sum_j(const bnm_ip_env *env, const bnm_ir_expr *body)
{
    const sum_ctx *sc = env->user;
    const bnm_interp *ip = sc->ip;
    size_t N = (size_t)ip->n, i = (size_t)sc->i, s = (size_t)sc->s;
    int nt = ip->ir->n_transmit;
    const double *w = ip->w + (size_t)ip->conn[s] * N * N + i * N;
    const int *d = ip->dsteps ? ip->dsteps + (size_t)ip->dmat[s] * N * N + i * N : NULL;
    bnm_ip_env e = *env;
    e.source = ip->src;
    double acc = 0.0;
    for (size_t j = 0; j < N; j++) {
        e.weight = w[j];
        if (sc->no_delay_state) {
            for (int t = 0; t < nt; t++)
                ip->src[t] = ip->tv[(size_t)t * N + j];
        } else {
            uint64_t sl;
            if (d) {
                long m = (long)sc->k - (long)d[j];
                sl = m < 0 ? 0 : (uint64_t)m % ip->hl;
            } else {
                sl = sc->k % ip->hl;
            }
            for (int t = 0; t < nt; t++)
                ip->src[t] = ip->hist[((s * (size_t)nt + (size_t)t) * ip->hl + sl) * N + j];
        }
        acc = bnm_ip_sum_add(&e, body, acc);
    }
    return acc;
}

/* Lets in order; with_coupling false skips those that need couplings. */
static void eval_lets(const bnm_interp *ip, bnm_ip_env *env, bool with_coupling)
{
    for (int l = 0; l < ip->ir->n_lets; l++) {
        if (!with_coupling && ip->ir->lets[l].uses_coupling) {
            ip->lets[l] = NAN;
            continue;
        }
        ip->lets[l] = bnm_ip_eval(env, ip->ir->lets[l].expr);
    }
}

static void rhs(const bnm_interp *ip, bnm_ip_env *env, const double *xs, double t, double *f)
{
    env->state = xs;
    env->t = t;
    eval_lets(ip, env, true);
    for (int s = 0; s < ip->ir->n_states; s++)
        f[s] = bnm_ip_eval(env, ip->ir->states[s].deriv);
}

static void bound(const bnm_interp *ip, bnm_ip_env *env, double *y)
{
    for (int s = 0; s < ip->ir->n_states; s++) {
        const bnm_ir_state *st = &ip->ir->states[s];
        if (st->bound == BNM_BOUND_NONE)
            continue;
        double lo = bnm_ip_eval(env, st->lo), hi = bnm_ip_eval(env, st->hi);
        y[s] = st->bound == BNM_BOUND_CLAMP ? bnm_ip_min(bnm_ip_max(y[s], lo), hi)
                                            : bnm_ip_wrap(y[s], lo, hi);
    }
}

static void transmit_values(const bnm_interp *ip, bnm_ip_env *env, double *out, size_t stride)
{
    for (int t = 0; t < ip->ir->n_transmit; t++) {
        const bnm_ir_ref *r = &ip->ir->transmit[t];
        out[(size_t)t * stride] = r->kind == BNM_REF_STATE ? env->state[r->index] : ip->lets[r->index];
    }
}

/* One step of simulation s; returns false when a state became non-finite. */
static bool step(bnm_interp *ip, int s, uint64_t k)
{
    const bnm_model_ir *ir = ip->ir;
    const bnm_ir_integrator integ = ip->rs->integrator;
    size_t N = (size_t)ip->n, S = (size_t)s, ns = (size_t)ir->n_states;
    size_t nt = (size_t)ir->n_transmit;
    double dt = ip->dt, hdt = dt / 2.0, dt6 = dt / 6.0;
    double tk = ip->t0 + (double)k * dt, tk1 = ip->t0 + (double)(k + 1) * dt, th = tk + hdt;
    uint64_t slot = k % ip->hl;
    double *st = ip->state + S * ns * N;
    sum_ctx sc = {ip, s, 0, k, false};
    bnm_ip_env env;
    memset(&env, 0, sizeof env);
    env.ir = ir;
    env.let = ip->lets;
    env.coupling = ip->coup;
    env.dt = dt;
    env.n_nodes = ip->n;
    env.sum = sum_j;
    env.user = &sc;

    for (size_t i = 0; i < N; i++) { /* publish T of x_k */
        for (size_t v = 0; v < ns; v++)
            ip->x[v] = st[v * N + i];
        env.param = ip->param + (S * N + i) * (size_t)ir->n_params;
        env.state = ip->x;
        env.t = tk;
        eval_lets(ip, &env, false);
        transmit_values(ip, &env, ip->hist + ((S * nt) * ip->hl + slot) * N + i, ip->hl * N);
    }
    bool bad = false;
    for (size_t i = 0; i < N; i++) {
        double *x = ip->x, *y = ip->y, **f = ip->f;
        for (size_t v = 0; v < ns; v++)
            x[v] = st[v * N + i];
        sc.i = (int)i;
        env.param = ip->param + (S * N + i) * (size_t)ir->n_params;
        env.state = x;
        env.t = tk;
        eval_lets(ip, &env, false);
        for (int c = 0; c < ir->n_couplings; c++)
            ip->coup[c] = bnm_ip_eval(&env, ir->couplings[c].expr);
        double z[64], *zz = ns <= 64 ? z : malloc(ns * sizeof *zz);
        if (!zz)
            return false;
        for (size_t v = 0; v < ns; v++)
            zz[v] = ip->nscale[v] ? bnm_ip_eval(&env, ip->nscale[v]) *
                                        bnm_rng_normal(ip->seed[s], ip->nid[s], (uint32_t)i, k,
                                                       bnm_rng_stream_noise(ir->states[v].noise_slot))
                                  : 0.0;
        /* zz now holds the whole noise increment (sqrt(dt)*g)*z, as the kernel adds it */
        rhs(ip, &env, x, tk, f[0]);
        switch (integ) {
        case BNM_INTEG_EULER:
            for (size_t v = 0; v < ns; v++)
                y[v] = ip->nscale[v] ? (x[v] + dt * f[0][v]) + zz[v] : x[v] + dt * f[0][v];
            bound(ip, &env, y);
            break;
        case BNM_INTEG_HEUN:
            for (size_t v = 0; v < ns; v++)
                y[v] = ip->nscale[v] ? (x[v] + dt * f[0][v]) + zz[v] : x[v] + dt * f[0][v];
            bound(ip, &env, y);
            rhs(ip, &env, y, tk1, f[1]);
            for (size_t v = 0; v < ns; v++) {
                double a = x[v] + hdt * (f[0][v] + f[1][v]);
                y[v] = ip->nscale[v] ? a + zz[v] : a;
            }
            bound(ip, &env, y);
            break;
        case BNM_INTEG_RK4:
            for (size_t v = 0; v < ns; v++)
                y[v] = x[v] + hdt * f[0][v];
            bound(ip, &env, y);
            rhs(ip, &env, y, th, f[1]);
            for (size_t v = 0; v < ns; v++)
                y[v] = x[v] + hdt * f[1][v];
            bound(ip, &env, y);
            rhs(ip, &env, y, th, f[2]);
            for (size_t v = 0; v < ns; v++)
                y[v] = x[v] + dt * f[2][v];
            bound(ip, &env, y);
            rhs(ip, &env, y, tk1, f[3]);
            for (size_t v = 0; v < ns; v++)
                y[v] = x[v] + dt6 * (((f[0][v] + 2.0 * f[1][v]) + 2.0 * f[2][v]) + f[3][v]);
            bound(ip, &env, y);
            break;
        }
        if (zz != z)
            free(zz);
        for (size_t v = 0; v < ns; v++) {
            st[v * N + i] = y[v];
            if (!isfinite(y[v]))
                bad = true;
        }
    }
    return !bad;
}

bnm_status bnm_interp_run(bnm_context *ctx, bnm_interp *ip, uint64_t first_step,
                          uint64_t n_steps)
{
    if (ip->n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "interpreter run before set_data");
    if (ip->hl > 1 && first_step != 0 && first_step != ip->next_step)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "with delays a run must start at step 0 or continue at step %llu "
                        "(asked for %llu)",
                        (unsigned long long)ip->next_step, (unsigned long long)first_step);
    for (int s = 0; s < ip->n_sims; s++)
        for (uint64_t m = 0; m < n_steps && !ip->status[s].nonfinite; m++) {
            uint64_t k = first_step + m;
            if (!step(ip, s, k)) {
                ip->status[s].nonfinite = true;
                ip->status[s].first_bad_step = k + 1;
            }
        }
    ip->next_step = first_step + n_steps;
    return BNM_OK;
}

void bnm_interp_read_states(const bnm_interp *ip, double *states_out)
{
    memcpy(states_out, ip->state,
           (size_t)ip->n_sims * (size_t)ip->ir->n_states * (size_t)ip->n * sizeof *states_out);
}

void bnm_interp_read_status(const bnm_interp *ip, bnm_sim_status *status_out)
{
    memcpy(status_out, ip->status, (size_t)ip->n_sims * sizeof *status_out);
}

bnm_status bnm_interp_eval(bnm_context *ctx, const bnm_interp *ip, int sim,
                           const double *states, double t, double *couplings_out,
                           double *lets_out)
{
    if (ip->n_sims == 0 || sim < 0 || sim >= ip->n_sims)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "interpreter eval: simulation %d not in the batch",
                        sim);
    const bnm_model_ir *ir = ip->ir;
    size_t N = (size_t)ip->n, ns = (size_t)ir->n_states;
    sum_ctx sc = {ip, sim, 0, 0, true};
    bnm_ip_env env;
    memset(&env, 0, sizeof env);
    env.ir = ir;
    env.let = ip->lets;
    env.coupling = ip->coup;
    env.dt = ip->dt;
    env.n_nodes = ip->n;
    env.sum = sum_j;
    env.user = &sc;
    env.t = t;
    env.state = ip->x;
    for (size_t i = 0; i < N; i++) {
        for (size_t v = 0; v < ns; v++)
            ip->x[v] = states[v * N + i];
        env.param = ip->param + ((size_t)sim * N + i) * (size_t)ir->n_params;
        eval_lets(ip, &env, false);
        transmit_values(ip, &env, ip->tv + i, N);
    }
    for (size_t i = 0; i < N; i++) {
        for (size_t v = 0; v < ns; v++)
            ip->x[v] = states[v * N + i];
        sc.i = (int)i;
        env.param = ip->param + ((size_t)sim * N + i) * (size_t)ir->n_params;
        eval_lets(ip, &env, false);
        for (int c = 0; c < ir->n_couplings; c++) {
            ip->coup[c] = bnm_ip_eval(&env, ir->couplings[c].expr);
            if (couplings_out)
                couplings_out[(size_t)c * N + i] = ip->coup[c];
        }
        eval_lets(ip, &env, true);
        if (lets_out)
            for (int l = 0; l < ir->n_lets; l++)
                lets_out[(size_t)l * N + i] = ip->lets[l];
    }
    return BNM_OK;
}
