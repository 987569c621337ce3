/* Network evaluator shared by the FIC solvers (see fic_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fic_internal.h"
#include "ir.h"

bnm_status bnm_fic_net_init(bnm_context *ctx, bnm_fic_net *net, const bnm_model_ir *ir,
                            const bnm_model_abi *abi, const bnm_model_data *data)
{
    memset(net, 0, sizeof *net);
    net->ir = ir;
    net->d = data;
    net->abi = abi;
    net->n = data->n_nodes;
    net->ns = ir->n_states;
    net->np = ir->n_params;
    net->nl = ir->n_lets;
    net->nc = ir->n_couplings;
    net->nt = ir->n_transmit;
    net->pidx = bnm_fic_param_index(ir);
    net->sim = -1;
    size_t N = (size_t)net->n;
    /* +1: models may have no lets, couplings or transmitted values */
    net->param = calloc(N * (size_t)net->np + 1, sizeof *net->param);
    net->tv = calloc(N * (size_t)net->nt + 1, sizeof *net->tv);
    net->coup = calloc(N * (size_t)net->nc + 1, sizeof *net->coup);
    net->lets = calloc((size_t)net->nl + 1, sizeof *net->lets);
    net->xs = calloc((size_t)net->ns + 1, sizeof *net->xs);
    if (!net->param || !net->tv || !net->coup || !net->lets || !net->xs) {
        bnm_fic_net_free(net);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the FIC evaluator (%d nodes)",
                        net->n);
    }
    return BNM_OK;
}

void bnm_fic_net_free(bnm_fic_net *net)
{
    free(net->param);
    free(net->tv);
    free(net->coup);
    free(net->lets);
    free(net->xs);
    net->param = net->tv = net->coup = net->lets = net->xs = NULL;
}

void bnm_fic_net_load_sim(bnm_fic_net *net, int s)
{
    const bnm_model_data *d = net->d;
    const bnm_model_abi *abi = net->abi;
    size_t N = (size_t)net->n, S = (size_t)s;
    for (int p = 0; p < net->np; p++) {
        const bnm_abi_entry *e = bnm_model_abi_find(abi, BNM_ABI_PARAM, net->ir->params[p].name);
        for (size_t i = 0; i < N; i++) {
            double v = e ? e->value : net->ir->params[p].def;
            if (e && e->sim_slot >= 0)
                v = d->sim_params[S * (size_t)abi->n_sim_params + (size_t)e->sim_slot];
            else if (e && e->node_slot >= 0)
                v = d->node_params[(S * (size_t)abi->n_node_params + (size_t)e->node_slot) * N + i];
            net->param[i * (size_t)net->np + (size_t)p] = v;
        }
    }
    int c = d->conn_index ? d->conn_index[s] : 0;
    net->w = d->weights + (size_t)c * N * N;
    net->sim = s;
}

void bnm_fic_net_gather(const bnm_fic_net *net, const double *states, int i, double *x)
{
    for (int v = 0; v < net->ns; v++)
        x[v] = states[(size_t)v * (size_t)net->n + (size_t)i];
}

static double sum_j(const bnm_ip_env *env, const bnm_ir_expr *body)
{
    bnm_fic_net *net = env->user;
    size_t N = (size_t)net->n;
    const double *w = net->w + (size_t)net->cur_i * N;
    bnm_ip_env e = *env;
    double acc = 0.0;
    /* same order and association as the interpreter and the kernels */
    for (size_t j = 0; j < N; j++) {
        e.weight = w[j];
        e.source = net->tv + j * (size_t)net->nt;
        acc = bnm_ip_sum_add(&e, body, acc);
    }
    return acc;
}

void bnm_fic_net_env(bnm_fic_net *net, int i, const double *x, bnm_ip_env *env)
{
    memset(env, 0, sizeof *env);
    env->ir = net->ir;
    env->param = net->param + (size_t)i * (size_t)net->np;
    env->state = x;
    env->let = net->lets;
    env->coupling = net->coup + (size_t)i * (size_t)net->nc;
    env->t = net->d->t0;
    env->dt = net->d->dt;
    env->n_nodes = net->n;
    env->sum = sum_j;
    env->user = net;
}

/* Lets in order; those needing couplings are NaN when with_coupling is false (a
 * transmitted let never needs one: nmm-format.md 9). */
static void eval_lets(bnm_fic_net *net, const bnm_ip_env *env, bool with_coupling)
{
    for (int l = 0; l < net->nl; l++)
        net->lets[l] = (!with_coupling && net->ir->lets[l].uses_coupling)
                           ? NAN
                           : bnm_ip_eval(env, net->ir->lets[l].expr);
}

void bnm_fic_net_couplings(bnm_fic_net *net, const double *states)
{
    bnm_ip_env env;
    size_t nt = (size_t)net->nt, nc = (size_t)net->nc;
    for (int j = 0; j < net->n; j++) {
        bnm_fic_net_gather(net, states, j, net->xs);
        bnm_fic_net_env(net, j, net->xs, &env);
        eval_lets(net, &env, false);
        for (size_t t = 0; t < nt; t++) {
            const bnm_ir_ref *r = &net->ir->transmit[t];
            net->tv[(size_t)j * nt + t] =
                r->kind == BNM_REF_STATE ? net->xs[r->index] : net->lets[r->index];
        }
    }
    for (int i = 0; i < net->n; i++) {
        bnm_fic_net_gather(net, states, i, net->xs);
        bnm_fic_net_env(net, i, net->xs, &env);
        eval_lets(net, &env, false);
        net->cur_i = i;
        for (size_t c = 0; c < nc; c++)
            net->coup[(size_t)i * nc + c] = bnm_ip_eval(&env, net->ir->couplings[c].expr);
    }
}

double bnm_fic_net_node(bnm_fic_net *net, int i, const double *x, const bnm_ir_expr *measure,
                        double *f)
{
    bnm_ip_env env;
    bnm_fic_net_env(net, i, x, &env);
    eval_lets(net, &env, true);
    if (f)
        for (int v = 0; v < net->ns; v++)
            f[v] = bnm_ip_eval(&env, net->ir->states[v].deriv);
    return measure ? bnm_ip_eval(&env, measure) : NAN;
}
