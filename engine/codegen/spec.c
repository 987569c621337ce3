/* Run specialisation: resolving a bnm_model_spec against a model (nmm-format.md 8) and
 * the IR levels every back end agrees on. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codegen_internal.h"
#include "interp_eval.h"

void bnm_model_spec_init_defaults(bnm_model_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->precision = BNM_PRECISION_DOUBLE;
    spec->integrator = BNM_INTEGRATOR_MODEL;
    spec->noise = true;
    spec->delays = false;
    spec->delay_rounding = BNM_DELAY_NEAREST;
    spec->n_nodes = 0;
}

bool bnm_cg_term_fma(const bnm_ir_expr *term, int *t)
{
    if (!term || term->op != BNM_IR_MUL)
        return false;
    const bnm_ir_expr *a = term->a, *b = term->b;
    if (a->op == BNM_IR_WEIGHT && b->op == BNM_IR_SOURCE) {
        *t = b->index;
        return true;
    }
    if (a->op == BNM_IR_SOURCE && b->op == BNM_IR_WEIGHT) {
        *t = a->index;
        return true;
    }
    return false;
}

bool bnm_cg_is_bool(const bnm_ir_expr *e)
{
    switch (e->op) {
    case BNM_IR_LT: case BNM_IR_LE: case BNM_IR_GT: case BNM_IR_GE: case BNM_IR_EQ:
    case BNM_IR_NE: case BNM_IR_AND: case BNM_IR_OR: case BNM_IR_NOT:
        return true;
    default:
        return false;
    }
}

static bnm_abi_level max_level(bnm_abi_level a, bnm_abi_level b)
{
    return a > b ? a : b;
}

bnm_abi_level bnm_cg_level(const bnm_cg_spec *rs, const bnm_ir_expr *e)
{
    switch (e->op) {
    case BNM_IR_NUM:
        return BNM_LEVEL_LIT;
    case BNM_IR_PARAM:
        switch (rs->plevel[e->index]) {
        case BNM_PARAM_FIXED: return BNM_LEVEL_LIT;
        case BNM_PARAM_PER_SIM: return BNM_LEVEL_SIM;
        case BNM_PARAM_PER_NODE: return BNM_LEVEL_NODE;
        }
        return BNM_LEVEL_STEP;
    case BNM_IR_LET:
        return rs->let_level[e->index];
    case BNM_IR_INPUT:
        return rs->input_level[e->index];
    case BNM_IR_DT: /* a kernel argument: the same for the whole launch */
        return BNM_LEVEL_SIM;
    case BNM_IR_NNODES:
        return rs->n_nodes > 0 ? BNM_LEVEL_LIT : BNM_LEVEL_SIM;
    case BNM_IR_STATE: case BNM_IR_COUPLING: case BNM_IR_SOURCE: case BNM_IR_WEIGHT:
    case BNM_IR_TIME: case BNM_IR_SUM_J:
        return BNM_LEVEL_STEP;
    default: {
        bnm_abi_level l = BNM_LEVEL_LIT;
        if (e->a)
            l = max_level(l, bnm_cg_level(rs, e->a));
        if (e->b)
            l = max_level(l, bnm_cg_level(rs, e->b));
        if (e->c)
            l = max_level(l, bnm_cg_level(rs, e->c));
        return l;
    }
    }
}

double bnm_cg_fold(const bnm_cg_spec *rs, const bnm_ir_expr *e)
{
    bnm_ip_env env;
    memset(&env, 0, sizeof env);
    env.ir = rs->ir;
    env.param = rs->pvalue;
    env.n_nodes = rs->n_nodes;
    return bnm_ip_eval(&env, e);
}

bnm_ir_expr *bnm_cg_noise_scale(const bnm_ir_expr *g)
{
    if (!g)
        return NULL;
    bnm_ir_expr *mul = calloc(1, sizeof *mul);
    bnm_ir_expr *sq = calloc(1, sizeof *sq);
    bnm_ir_expr *dt = calloc(1, sizeof *dt);
    bnm_ir_expr *gc = bnm_ir_expr_clone(g);
    if (!mul || !sq || !dt || !gc) {
        free(mul);
        free(sq);
        free(dt);
        bnm_ir_expr_free(gc);
        return NULL;
    }
    dt->op = BNM_IR_DT;
    sq->op = BNM_IR_CALL;
    sq->fn = BNM_FN_SQRT;
    sq->a = dt;
    mul->op = BNM_IR_MUL;
    mul->a = sq;
    mul->b = gc;
    mul->line = g->line;
    mul->col = g->col;
    return mul;
}

void bnm_cg_spec_destroy(bnm_cg_spec *rs)
{
    if (!rs)
        return;
    free(rs->plevel);
    free(rs->pvalue);
    free(rs->sim_slot);
    free(rs->node_slot);
    free(rs->let_level);
    free(rs->input_level);
    free(rs->state_transmit);
    free(rs->let_transmit);
    free(rs);
}

static int find_param(const bnm_model_ir *ir, const char *name)
{
    for (int i = 0; i < ir->n_params; i++)
        if (strcmp(ir->params[i].name, name) == 0 ||
            (ir->params[i].alias && strcmp(ir->params[i].alias, name) == 0))
            return i;
    return -1;
}

static const char *level_name(bnm_param_level l)
{
    return l == BNM_PARAM_FIXED ? "fixed" : l == BNM_PARAM_PER_SIM ? "per_sim" : "per_node";
}

static void *xcalloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

static bnm_status apply_settings(bnm_context *ctx, const bnm_model_ir *ir,
                                 const bnm_model_spec *spec, bnm_cg_spec *rs, bool *set)
{
    const char *file = ir->file_name ? ir->file_name : "<model>";
    for (int k = 0; k < spec->n_params; k++) {
        const bnm_param_setting *ps = &spec->params[k];
        if (!ps->name)
            return bnm_fail(ctx, BNM_ERR_RUN, "param setting %d has no name", k);
        int p = find_param(ir, ps->name);
        if (p < 0)
            return bnm_fail(ctx, BNM_ERR_RUN, "model %s has no param '%s'", ir->name, ps->name);
        const bnm_ir_param *ip = &ir->params[p];
        if (set[p])
            return bnm_fail(ctx, BNM_ERR_RUN, "param '%s' is set twice in the run", ip->name);
        set[p] = true;
        if (ps->level != BNM_PARAM_FIXED && ps->level != BNM_PARAM_PER_SIM &&
            ps->level != BNM_PARAM_PER_NODE)
            return bnm_fail(ctx, BNM_ERR_RUN, "param '%s': invalid level %d", ip->name,
                            (int)ps->level);
        if (ip->is_const && (ps->level != BNM_PARAM_FIXED || ps->has_value))
            return bnm_fail(ctx, BNM_ERR_RUN,
                            "%s:%d: param '%s' is const: the run cannot set or vary it", file,
                            ip->line, ip->name);
        if (ps->level == BNM_PARAM_PER_NODE && !ip->regional)
            return bnm_fail(ctx, BNM_ERR_RUN,
                            "%s:%d: param '%s' is not regional, so it cannot be per_node "
                            "(use per_sim, or declare it `regional`)",
                            file, ip->line, ip->name);
        if (ps->level != BNM_PARAM_FIXED && ps->has_value)
            return bnm_fail(ctx, BNM_ERR_RUN,
                            "param '%s' is %s: its values are data, not a fixed value",
                            ip->name, level_name(ps->level));
        rs->plevel[p] = ps->level;
        if (ps->has_value) {
            if (!isfinite(ps->value))
                return bnm_fail(ctx, BNM_ERR_RUN, "param '%s': value %g is not finite",
                                ip->name, ps->value);
            if (ip->has_bounds && (ps->value < ip->lo || ps->value > ip->hi))
                return bnm_fail(ctx, BNM_ERR_RUN,
                                "param '%s' = %.17g is outside its range [%.17g, %.17g] (%s:%d)",
                                ip->name, ps->value, ip->lo, ip->hi, file, ip->line);
            rs->pvalue[p] = ps->value;
        }
    }
    for (int p = 0; p < ir->n_params; p++) {
        const bnm_ir_param *ip = &ir->params[p];
        if (!ip->has_default) {
            bool ok = false;
            for (int k = 0; k < spec->n_params; k++)
                if (find_param(ir, spec->params[k].name) == p &&
                    (spec->params[k].level != BNM_PARAM_FIXED || spec->params[k].has_value))
                    ok = true;
            if (!ok)
                return bnm_fail(ctx, BNM_ERR_RUN,
                                "%s:%d: param '%s' has no default: the run must set it "
                                "(a fixed value, or per_sim/per_node data)",
                                file, ip->line, ip->name);
        }
    }
    return BNM_OK;
}

bnm_status bnm_cg_spec_resolve(bnm_context *ctx, const bnm_model_ir *ir,
                               const bnm_model_spec *spec, bnm_cg_spec **out)
{
    *out = NULL;
    if (!ir || !spec)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "model IR and spec are required");
    if (spec->n_params < 0 || (spec->n_params > 0 && !spec->params))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "spec: n_params %d without params",
                        spec->n_params);
    if (spec->precision != BNM_PRECISION_DOUBLE && spec->precision != BNM_PRECISION_FLOAT)
        return bnm_fail(ctx, BNM_ERR_RUN, "invalid precision %d", (int)spec->precision);
    if (spec->integrator != BNM_INTEGRATOR_MODEL &&
        (spec->integrator < BNM_INTEG_EULER || spec->integrator > BNM_INTEG_RK4))
        return bnm_fail(ctx, BNM_ERR_RUN, "invalid integrator %d", spec->integrator);
    if (spec->n_nodes < 0)
        return bnm_fail(ctx, BNM_ERR_RUN, "invalid compiled-in node count %d", spec->n_nodes);

    bnm_status st = BNM_ERR_NOMEM;
    bool *set = NULL;
    bnm_cg_spec *rs = calloc(1, sizeof *rs);
    if (!rs)
        goto nomem;
    rs->ir = ir;
    rs->plevel = xcalloc((size_t)ir->n_params, sizeof *rs->plevel);
    rs->pvalue = xcalloc((size_t)ir->n_params, sizeof *rs->pvalue);
    rs->sim_slot = xcalloc((size_t)ir->n_params, sizeof *rs->sim_slot);
    rs->node_slot = xcalloc((size_t)ir->n_params, sizeof *rs->node_slot);
    rs->let_level = xcalloc((size_t)ir->n_lets, sizeof *rs->let_level);
    rs->input_level = xcalloc((size_t)ir->n_inputs, sizeof *rs->input_level);
    rs->state_transmit = xcalloc((size_t)ir->n_states, sizeof *rs->state_transmit);
    rs->let_transmit = xcalloc((size_t)ir->n_lets, sizeof *rs->let_transmit);
    set = xcalloc((size_t)ir->n_params, sizeof *set);
    if (!rs->plevel || !rs->pvalue || !rs->sim_slot || !rs->node_slot || !rs->let_level ||
        !rs->input_level || !rs->state_transmit || !rs->let_transmit || !set)
        goto nomem;
    for (int p = 0; p < ir->n_params; p++) {
        rs->plevel[p] = BNM_PARAM_FIXED;
        rs->pvalue[p] = ir->params[p].has_default ? ir->params[p].def : NAN;
    }
    st = apply_settings(ctx, ir, spec, rs, set);
    if (st != BNM_OK)
        goto fail;
    for (int p = 0; p < ir->n_params; p++) {
        rs->sim_slot[p] = rs->plevel[p] == BNM_PARAM_PER_SIM ? rs->n_sim_params++ : -1;
        rs->node_slot[p] = rs->plevel[p] == BNM_PARAM_PER_NODE ? rs->n_node_params++ : -1;
    }
    rs->precision = spec->precision;
    rs->integrator = spec->integrator == BNM_INTEGRATOR_MODEL
                         ? ir->integrator : (bnm_ir_integrator)spec->integrator;
    rs->delays = spec->delays;
    rs->delay_rounding = spec->delay_rounding;
    rs->n_nodes = spec->n_nodes;
    rs->lanes = spec->lanes == 0 ? 1 : spec->lanes;
    if (rs->lanes != 1 && rs->lanes != 2 && rs->lanes != 4 && rs->lanes != 8 && rs->lanes != 16) {
        st = bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                      "model %s: %d lanes per work-item; use 1, 2, 4, 8 or 16", ir->name,
                      spec->lanes);
        goto fail;
    }
    for (int i = 0; i < ir->n_inputs; i++)
        rs->input_level[i] = bnm_cg_level(rs, ir->inputs[i].def);
    for (int i = 0; i < ir->n_lets; i++) /* dependency order: earlier lets are known */
        rs->let_level[i] = bnm_cg_level(rs, ir->lets[i].expr);

    /* Noise that folds to zero everywhere is no noise (rk4 accepts it, 10.4). */
    rs->noise = false;
    if (spec->noise)
        for (int s = 0; s < ir->n_states; s++) {
            const bnm_ir_expr *g = ir->states[s].noise;
            if (g && !(bnm_cg_level(rs, g) == BNM_LEVEL_LIT && bnm_cg_fold(rs, g) == 0.0))
                rs->noise = true;
        }
    if (rs->noise && rs->integrator == BNM_INTEG_RK4) {
        st = bnm_fail(ctx, BNM_ERR_RUN,
                      "model %s: rk4 is noise-free only; turn noise off or use euler or heun",
                      ir->name);
        goto fail;
    }
    for (int s = 0; s < ir->n_states; s++)
        rs->state_transmit[s] = -1;
    for (int l = 0; l < ir->n_lets; l++)
        rs->let_transmit[l] = -1;
    for (int t = 0; t < ir->n_transmit; t++) {
        if (ir->transmit[t].kind == BNM_REF_STATE)
            rs->state_transmit[ir->transmit[t].index] = t;
        else
            rs->let_transmit[ir->transmit[t].index] = t;
    }
    free(set);
    *out = rs;
    return BNM_OK;
nomem:
    st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory resolving the run specialisation");
fail:
    free(set);
    bnm_cg_spec_destroy(rs);
    return st;
}

bnm_status bnm_cg_check_data(bnm_context *ctx, const bnm_cg_spec *rs, const bnm_model_data *d,
                             int **delay_steps_out, uint32_t *hist_len_out)
{
    *delay_steps_out = NULL;
    *hist_len_out = 1;
    if (!d)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "no batch data");
    if (d->n_sims <= 0 || d->n_nodes <= 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "batch needs at least one simulation and one node "
                        "(got %d simulations, %d nodes)", d->n_sims, d->n_nodes);
    if (rs->n_nodes > 0 && d->n_nodes != rs->n_nodes)
        return bnm_fail(ctx, BNM_ERR_DATA, "the kernel was built for N = %d, the data has %d nodes",
                        rs->n_nodes, d->n_nodes);
    if (!(d->dt > 0) || !isfinite(d->dt) || !isfinite(d->t0))
        return bnm_fail(ctx, BNM_ERR_DATA, "dt must be positive and finite (got %g), t0 finite",
                        d->dt);
    if (d->n_connectomes <= 0 || !d->weights)
        return bnm_fail(ctx, BNM_ERR_DATA, "at least one connectome is required");
    if (!d->states)
        return bnm_fail(ctx, BNM_ERR_DATA, "initial states are required");
    if (rs->n_sim_params > 0 && !d->sim_params)
        return bnm_fail(ctx, BNM_ERR_DATA, "%d per_sim params need sim_params", rs->n_sim_params);
    if (rs->n_node_params > 0 && !d->node_params)
        return bnm_fail(ctx, BNM_ERR_DATA, "%d per_node params need node_params",
                        rs->n_node_params);
    size_t nw = (size_t)d->n_connectomes * (size_t)d->n_nodes * (size_t)d->n_nodes;
    for (size_t e = 0; e < nw; e++)
        if (!isfinite(d->weights[e])) {
            size_t N = (size_t)d->n_nodes;
            return bnm_fail(ctx, BNM_ERR_DATA,
                            "connectome %zu: weight from node %zu to node %zu is %g (not finite)",
                            e / (N * N), e % N, (e / N) % N, d->weights[e]);
        }
    for (int s = 0; s < d->n_sims; s++) {
        if (d->conn_index && (d->conn_index[s] < 0 || d->conn_index[s] >= d->n_connectomes))
            return bnm_fail(ctx, BNM_ERR_DATA, "simulation %d: connectome index %d not in [0, %d)",
                            s, d->conn_index[s], d->n_connectomes);
        if (rs->delays && d->delay_index &&
            (d->delay_index[s] < 0 || d->delay_index[s] >= d->n_delay_mats))
            return bnm_fail(ctx, BNM_ERR_DATA, "simulation %d: delay index %d not in [0, %d)",
                            s, d->delay_index[s], d->n_delay_mats);
    }
    if (!rs->delays)
        return BNM_OK;
    if (d->n_delay_mats <= 0 || !d->delays)
        return bnm_fail(ctx, BNM_ERR_DATA, "delays are on: at least one delay matrix is required");
    size_t nn = (size_t)d->n_nodes * (size_t)d->n_nodes;
    size_t total = nn * (size_t)d->n_delay_mats;
    int *steps = malloc(total * sizeof *steps);
    if (!steps)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for %zu delay steps", total);
    long max = 0;
    for (size_t e = 0; e < total; e++) {
        double D = d->delays[e];
        double r = D / d->dt;
        if (!isfinite(D) || D < 0 || r > 1e8) {
            free(steps);
            return bnm_fail(ctx, BNM_ERR_DATA,
                            "delay matrix %zu, target %zu, source %zu: delay %g is negative, "
                            "non-finite or too long for dt %g",
                            e / nn, (e % nn) / (size_t)d->n_nodes, e % (size_t)d->n_nodes, D,
                            d->dt);
        }
        long k = (long)rint(r); /* default rounding mode: half to even */
        if (rs->delay_rounding == BNM_DELAY_CUBNM)
            k = k > 0 ? k - 1 : 0;
        steps[e] = (int)k;
        if (k > max)
            max = k;
    }
    *delay_steps_out = steps;
    *hist_len_out = (uint32_t)max + 1;
    return BNM_OK;
}

bnm_status bnm_cg_check_states(bnm_context *ctx, const bnm_model_ir *ir, const bnm_model_data *d)
{
    size_t N = (size_t)d->n_nodes, ns = (size_t)ir->n_states;
    size_t n = (size_t)d->n_sims * ns * N;
    for (size_t v = 0; v < n; v++)
        if (!isfinite(d->states[v]))
            return bnm_fail(ctx, BNM_ERR_DATA,
                            "simulation %zu: initial %s at node %zu is %g (not finite)",
                            v / (ns * N), ir->states[(v / N) % ns].name, v % N, d->states[v]);
    return BNM_OK;
}

uint64_t bnm_cg_source_hash(const bnm_model_ir *ir)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t k = 0; ir->source && k < ir->source_len; k++) {
        h ^= (unsigned char)ir->source[k];
        h *= 0x100000001b3ULL;
    }
    return h;
}
