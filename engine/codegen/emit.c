/* OpenCL C generation from the model IR (nmm-format.md 8-10, 14, 15.2).
 *
 * Layout: one work-item per simulation, looping over its nodes, so no barriers are
 * needed. Each step first publishes every node's transmitted values T (computed from
 * x_k) into the simulation's history ring, then updates every node in place: a node's
 * update reads only its own state and the history, which makes the in-place update
 * synchronous (Jacobi) as section 9.3 requires.
 *
 * Levels (8.2): LIT subtrees become literals, SIM subtrees private variables computed
 * before the step loop, NODE subtrees a per-(simulation, node) cache filled before the
 * step loop; only STEP code is in the loop. Hoisted subtrees are found while emitting
 * the step code, so the body is emitted twice: once to collect them, once for real.
 * Every operation mirrors engine/interp/eval.c, the test oracle. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/codegen.h"
#include "codegen_internal.h"
#include "rng.h"

typedef enum emit_mode { MODE_PLAIN, MODE_HOIST } emit_mode;

typedef struct hoisted {
    char *text;
    int line;
    bnm_abi_level level;
} hoisted;

typedef struct gen {
    const bnm_cg_spec *rs;
    const bnm_model_ir *ir;
    bool dbl;
    hoisted *h;
    int n_h, cap_h;
    int n_sim_h, n_node_h; /* numbering of each kind */
    int *h_slot;           /* per hoisted: its number within its level */
    bool oom;
    int sum_counter;
    bnm_ir_expr **nscale;  /* [n_states] sqrt(dt)*g, NULL without noise */
    int *node_let_slot;    /* [n_lets] plane in node cache or -1 */
    int n_node_lets;
    char file_q[1024];     /* escaped file name for #line */
} gen;

static void emit_expr(gen *g, bnm_cg_buf *b, const bnm_ir_expr *e, emit_mode mode);

static void put_lit(gen *g, bnm_cg_buf *b, double v)
{
    char t[64];
    if (isnan(v)) {
        bnm_cg_buf_puts(b, "((nmm_real)NAN)");
        return;
    }
    if (isinf(v)) {
        bnm_cg_buf_puts(b, v > 0 ? "((nmm_real)INFINITY)" : "(-(nmm_real)INFINITY)");
        return;
    }
    if (g->dbl)
        snprintf(t, sizeof t, "%.17g", v);
    else
        snprintf(t, sizeof t, "%.9g", (double)(float)v);
    /* A bare integer would be an int literal in C: make it a floating one. */
    if (!strpbrk(t, ".e"))
        strcat(t, ".0");
    if (!g->dbl)
        strcat(t, "f");
    if (t[0] == '-')
        bnm_cg_buf_printf(b, "(%s)", t);
    else
        bnm_cg_buf_puts(b, t);
}

static void put_line(gen *g, bnm_cg_buf *b, int line)
{
    if (line > 0)
        bnm_cg_buf_printf(b, "#line %d \"%s\"\n", line, g->file_q);
}

static void put_engine_line(bnm_cg_buf *b)
{
    bnm_cg_buf_printf(b, "#line %d \"<clbnm>\"\n", b->line + 2);
}

static void escape_name(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\%03o", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
}

static bool is_simple_leaf(const bnm_ir_expr *e)
{
    return e->op == BNM_IR_PARAM || e->op == BNM_IR_LET || e->op == BNM_IR_DT ||
           e->op == BNM_IR_NNODES || e->op == BNM_IR_NUM;
}

/* The name of a hoisted subtree, adding it on first sight. Identical text at the
 * same level is one value (common subexpressions merged within a level, 8.2). */
static void put_hoisted(gen *g, bnm_cg_buf *b, const bnm_ir_expr *e, bnm_abi_level level)
{
    bnm_cg_buf tb = {0};
    bool is_bool = bnm_cg_is_bool(e);
    /* A hoisted condition is stored as a real 1/0 (the node cache holds reals). */
    if (is_bool)
        bnm_cg_buf_puts(&tb, "(");
    emit_expr(g, &tb, e, MODE_PLAIN);
    if (is_bool)
        bnm_cg_buf_puts(&tb, " ? NMM_ONE : NMM_ZERO)");
    if (tb.failed) {
        g->oom = true;
        bnm_cg_buf_free(&tb);
        return;
    }
    int k;
    for (k = 0; k < g->n_h; k++)
        if (g->h[k].level == level && strcmp(g->h[k].text, tb.s) == 0)
            break;
    if (k == g->n_h) {
        if (g->n_h == g->cap_h) {
            int cap = g->cap_h ? 2 * g->cap_h : 16;
            hoisted *h = realloc(g->h, (size_t)cap * sizeof *h);
            int *slot = realloc(g->h_slot, (size_t)cap * sizeof *slot);
            if (h)
                g->h = h;
            if (slot)
                g->h_slot = slot;
            if (!h || !slot) {
                g->oom = true;
                bnm_cg_buf_free(&tb);
                return;
            }
            g->cap_h = cap;
        }
        g->h[k].text = tb.s;
        g->h[k].line = e->line;
        g->h[k].level = level;
        g->h_slot[k] = level == BNM_LEVEL_SIM ? g->n_sim_h++ : g->n_node_h++;
        g->n_h++;
        tb.s = NULL;
    }
    bnm_cg_buf_free(&tb);
    bnm_cg_buf_printf(b, "%s%s%d%s", is_bool ? "(" : "", level == BNM_LEVEL_SIM ? "nmm_hs" : "nmm_hn",
                      g->h_slot[k], is_bool ? " != NMM_ZERO)" : "");
}

static const char *cl_fn(bnm_ir_builtin fn)
{
    switch (fn) {
    case BNM_FN_ABS: return "fabs";
    case BNM_FN_SIGN: return "nmm_sign";
    case BNM_FN_SIGMOID: return "nmm_sigmoid";
    case BNM_FN_HEAVISIDE: return "nmm_heaviside";
    case BNM_FN_RELU: return "nmm_relu";
    case BNM_FN_MOD: return "nmm_mod";
    case BNM_FN_MIN: return "nmm_min";
    case BNM_FN_MAX: return "nmm_max";
    case BNM_FN_CLAMP: return "nmm_clamp";
    default: return bnm_ir_builtin_name(fn); /* same name in OpenCL C */
    }
}

static const char *bin_op(bnm_ir_op op)
{
    switch (op) {
    case BNM_IR_ADD: return "+";
    case BNM_IR_SUB: return "-";
    case BNM_IR_MUL: return "*";
    case BNM_IR_DIV: return "/";
    case BNM_IR_LT: return "<";
    case BNM_IR_LE: return "<=";
    case BNM_IR_GT: return ">";
    case BNM_IR_GE: return ">=";
    case BNM_IR_EQ: return "==";
    case BNM_IR_NE: return "!=";
    case BNM_IR_AND: return "&&";
    case BNM_IR_OR: return "||";
    default: return NULL;
    }
}

static void emit_expr(gen *g, bnm_cg_buf *b, const bnm_ir_expr *e, emit_mode mode)
{
    const bnm_model_ir *ir = g->ir;
    bnm_abi_level level = bnm_cg_level(g->rs, e);
    if (level == BNM_LEVEL_LIT) {
        double v = bnm_cg_fold(g->rs, e);
        if (bnm_cg_is_bool(e))
            bnm_cg_buf_puts(b, v != 0.0 ? "1" : "0");
        else
            put_lit(g, b, v);
        return;
    }
    if (mode == MODE_HOIST && (level == BNM_LEVEL_SIM || level == BNM_LEVEL_NODE) &&
        !is_simple_leaf(e)) {
        put_hoisted(g, b, e, level);
        return;
    }
    const char *op = bin_op(e->op);
    if (op) {
        bnm_cg_buf_puts(b, "(");
        emit_expr(g, b, e->a, mode);
        bnm_cg_buf_printf(b, " %s ", op);
        emit_expr(g, b, e->b, mode);
        bnm_cg_buf_puts(b, ")");
        return;
    }
    switch (e->op) {
    case BNM_IR_PARAM: bnm_cg_buf_printf(b, "p_%s", ir->params[e->index].name); break;
    case BNM_IR_STATE: bnm_cg_buf_printf(b, "s_%s", ir->states[e->index].name); break;
    case BNM_IR_LET: bnm_cg_buf_printf(b, "l_%s", ir->lets[e->index].name); break;
    case BNM_IR_COUPLING: bnm_cg_buf_printf(b, "c_%s", ir->couplings[e->index].name); break;
    case BNM_IR_INPUT:
        /* Unbound inputs take their default (the run's input binding comes later). */
        emit_expr(g, b, ir->inputs[e->index].def, mode);
        break;
    case BNM_IR_SOURCE:
        bnm_cg_buf_printf(b, "nmm_hist[nmm_hb + ((ulong)%du * nmm_hl + nmm_sl) * nmm_nn + nmm_j]",
                          e->index);
        break;
    case BNM_IR_WEIGHT: bnm_cg_buf_puts(b, "nmm_w"); break;
    case BNM_IR_TIME: bnm_cg_buf_puts(b, "nmm_t"); break;
    case BNM_IR_DT: bnm_cg_buf_puts(b, "nmm_dt"); break;
    case BNM_IR_NNODES: bnm_cg_buf_puts(b, "((nmm_real)nmm_nn)"); break;
    case BNM_IR_NEG:
        bnm_cg_buf_puts(b, "(-");
        emit_expr(g, b, e->a, mode);
        bnm_cg_buf_puts(b, ")");
        break;
    case BNM_IR_NOT:
        bnm_cg_buf_puts(b, "(!");
        emit_expr(g, b, e->a, mode);
        bnm_cg_buf_puts(b, ")");
        break;
    case BNM_IR_POW:
        bnm_cg_buf_puts(b, "pow(");
        emit_expr(g, b, e->a, mode);
        bnm_cg_buf_puts(b, ", ");
        emit_expr(g, b, e->b, mode);
        bnm_cg_buf_puts(b, ")");
        break;
    case BNM_IR_POWN:
        bnm_cg_buf_puts(b, "nmm_powi(");
        emit_expr(g, b, e->a, mode);
        bnm_cg_buf_printf(b, ", %d)", e->ival);
        break;
    case BNM_IR_IF:
        bnm_cg_buf_puts(b, "(");
        emit_expr(g, b, e->a, mode);
        bnm_cg_buf_puts(b, " ? ");
        emit_expr(g, b, e->b, mode);
        bnm_cg_buf_puts(b, " : ");
        emit_expr(g, b, e->c, mode);
        bnm_cg_buf_puts(b, ")");
        break;
    case BNM_IR_CALL:
        bnm_cg_buf_printf(b, "%s(", cl_fn(e->fn));
        emit_expr(g, b, e->a, mode);
        if (e->b) {
            bnm_cg_buf_puts(b, ", ");
            emit_expr(g, b, e->b, mode);
        }
        if (e->c) {
            bnm_cg_buf_puts(b, ", ");
            emit_expr(g, b, e->c, mode);
        }
        bnm_cg_buf_puts(b, ")");
        break;
    case BNM_IR_SUM_J:
        /* emit_sums has computed it into nmm_sumK, in the same walk order */
        bnm_cg_buf_printf(b, "nmm_sum%d", g->sum_counter++);
        break;
    default:
        break;
    }
}

/* Emits one accumulation loop per sum_j of e (walk order a, b, c = emit order). */
static void emit_sums(gen *g, bnm_cg_buf *b, const bnm_ir_expr *e, int *counter)
{
    if (!e)
        return;
    if (e->op == BNM_IR_SUM_J) {
        int k = (*counter)++;
        bnm_cg_buf_puts(b, "nmm_real nmm_sum");
        bnm_cg_buf_printf(b, "%d = ", k);
        put_lit(g, b, 0.0);
        bnm_cg_buf_puts(b, ";\n");
        bnm_cg_buf_printf(b, "for (ulong nmm_j = 0; nmm_j < nmm_nn; ++nmm_j) {\n");
        bnm_cg_buf_puts(b, "    const nmm_real nmm_w = nmm_weights[nmm_wb + nmm_j * nmm_nn];\n");
        if (g->rs->delays)
            bnm_cg_buf_puts(b,
                "    const long nmm_km = (long)nmm_k - (long)nmm_delays[nmm_db + nmm_j * nmm_nn];\n"
                "    const ulong nmm_sl = nmm_km < 0 ? 0 : (ulong)nmm_km % nmm_hl;\n");
        else
            bnm_cg_buf_puts(b, "    const ulong nmm_sl = nmm_slot;\n");
        put_line(g, b, e->line);
        bnm_cg_buf_printf(b, "    nmm_sum%d = nmm_sum%d + ", k, k);
        emit_expr(g, b, e->a, MODE_HOIST);
        bnm_cg_buf_puts(b, ";\n");
        put_engine_line(b);
        bnm_cg_buf_puts(b, "}\n");
        return;
    }
    emit_sums(g, b, e->a, counter);
    emit_sums(g, b, e->b, counter);
    emit_sums(g, b, e->c, counter);
}

/* STEP-level lets; without_coupling: only those not depending on a coupling. */
static void emit_step_lets(gen *g, bnm_cg_buf *b, bool without_coupling)
{
    for (int l = 0; l < g->ir->n_lets; l++) {
        const bnm_ir_let *let = &g->ir->lets[l];
        if (g->rs->let_level[l] != BNM_LEVEL_STEP || (without_coupling && let->uses_coupling))
            continue;
        put_line(g, b, let->line);
        bnm_cg_buf_printf(b, "const nmm_real l_%s = ", let->name);
        emit_expr(g, b, let->expr, MODE_HOIST);
        bnm_cg_buf_puts(b, ";\n");
    }
    put_engine_line(b);
}

static void emit_bind_states(gen *g, bnm_cg_buf *b, const char *prefix, const char *time)
{
    bnm_cg_buf_printf(b, "const nmm_real nmm_t = %s;\n", time);
    for (int s = 0; s < g->ir->n_states; s++)
        bnm_cg_buf_printf(b, "const nmm_real s_%s = %s%s;\n", g->ir->states[s].name, prefix,
                          g->ir->states[s].name);
}

/* Right-hand sides at the stage state prefix<name>, time `time`, into dst<name>. */
static void emit_rhs(gen *g, bnm_cg_buf *b, const char *prefix, const char *time,
                     const char *dst)
{
    bnm_cg_buf_puts(b, "{\n");
    emit_bind_states(g, b, prefix, time);
    emit_step_lets(g, b, false);
    for (int s = 0; s < g->ir->n_states; s++) {
        const bnm_ir_state *st = &g->ir->states[s];
        put_line(g, b, st->deriv_line > 0 ? st->deriv_line : st->line);
        bnm_cg_buf_printf(b, "%s%s = ", dst, st->name);
        emit_expr(g, b, st->deriv, MODE_HOIST);
        bnm_cg_buf_puts(b, ";\n");
    }
    put_engine_line(b);
    bnm_cg_buf_puts(b, "}\n");
}

/* var = B(var) for each bounded state. */
static void emit_bounds(gen *g, bnm_cg_buf *b, const char *prefix)
{
    for (int s = 0; s < g->ir->n_states; s++) {
        const bnm_ir_state *st = &g->ir->states[s];
        if (st->bound == BNM_BOUND_NONE)
            continue;
        put_line(g, b, st->line);
        bnm_cg_buf_printf(b, "%s%s = %s(%s%s, ", prefix, st->name,
                          st->bound == BNM_BOUND_CLAMP ? "nmm_clamp" : "nmm_wrap", prefix,
                          st->name);
        emit_expr(g, b, st->lo, MODE_HOIST);
        bnm_cg_buf_puts(b, ", ");
        emit_expr(g, b, st->hi, MODE_HOIST);
        bnm_cg_buf_puts(b, ");\n");
    }
    put_engine_line(b);
}

/* dst<name> = (x + incr) [+ sqrt(dt)*g*z] for each state; '@' in incr is the name. */
static void emit_update(gen *g, bnm_cg_buf *b, const char *dst, const char *incr,
                        bool with_noise)
{
    for (int s = 0; s < g->ir->n_states; s++) {
        const bnm_ir_state *st = &g->ir->states[s];
        const char *n = st->name;
        bnm_cg_buf_printf(b, "%s%s = (nmm_x_%s + ", dst, n, n);
        for (const char *c = incr; *c; c++) {
            if (*c == '@') {
                bnm_cg_buf_puts(b, n);
            } else {
                char one[2] = {*c, '\0'};
                bnm_cg_buf_puts(b, one);
            }
        }
        bnm_cg_buf_puts(b, ")");
        if (with_noise && g->nscale[s]) {
            bnm_cg_buf_puts(b, " + (");
            emit_expr(g, b, g->nscale[s], MODE_HOIST);
            bnm_cg_buf_printf(b, " * nmm_z_%s)", n);
        }
        bnm_cg_buf_puts(b, ";\n");
    }
}

static void declare_states(gen *g, bnm_cg_buf *b, const char *prefix)
{
    for (int s = 0; s < g->ir->n_states; s++)
        bnm_cg_buf_printf(b, "nmm_real %s%s;\n", prefix, g->ir->states[s].name);
}

/* Loads of per-node params and NODE-level lets/hoisted values for node nmm_i. */
static void emit_node_prologue(gen *g, bnm_cg_buf *b, bool with_cache)
{
    const bnm_cg_spec *rs = g->rs;
    for (int p = 0; p < g->ir->n_params; p++)
        if (rs->node_slot[p] >= 0)
            bnm_cg_buf_printf(b,
                "const nmm_real p_%s = nmm_node_params[(nmm_s * NMM_NNP + %du) * nmm_nn + nmm_i];\n",
                g->ir->params[p].name, rs->node_slot[p]);
    if (!with_cache)
        return;
    for (int l = 0; l < g->ir->n_lets; l++)
        if (g->node_let_slot[l] >= 0)
            bnm_cg_buf_printf(b,
                "const nmm_real l_%s = nmm_node_cache[(nmm_s * NMM_NNC + %du) * nmm_nn + nmm_i];\n",
                g->ir->lets[l].name, g->node_let_slot[l]);
    for (int k = 0; k < g->n_h; k++)
        if (g->h[k].level == BNM_LEVEL_NODE)
            bnm_cg_buf_printf(b,
                "const nmm_real nmm_hn%d = nmm_node_cache[(nmm_s * NMM_NNC + %du) * nmm_nn + nmm_i];\n",
                g->h_slot[k], g->n_node_lets + g->h_slot[k]);
}

/* The per-node body of the step loop: couplings, integrator, write-back. */
static void emit_node_update(gen *g, bnm_cg_buf *b)
{
    const bnm_model_ir *ir = g->ir;
    bnm_cg_buf_puts(b, "for (ulong nmm_i = 0; nmm_i < nmm_nn; ++nmm_i) {\n");
    emit_node_prologue(g, b, true);
    for (int s = 0; s < ir->n_states; s++)
        bnm_cg_buf_printf(b, "const nmm_real nmm_x_%s = nmm_states[(nmm_sb + %du) * nmm_nn + nmm_i];\n",
                          ir->states[s].name, s);
    bnm_cg_buf_puts(b, "const ulong nmm_wb = nmm_conn * nmm_nn * nmm_nn + nmm_i;\n");
    if (g->rs->delays)
        bnm_cg_buf_puts(b, "const ulong nmm_db = nmm_dmat * nmm_nn * nmm_nn + nmm_i;\n");
    /* Couplings: once per step, from x_k, held through the stages (9.3). */
    for (int c = 0; c < ir->n_couplings; c++)
        bnm_cg_buf_printf(b, "nmm_real c_%s;\n", ir->couplings[c].name);
    bnm_cg_buf_puts(b, "{\n");
    emit_bind_states(g, b, "nmm_x_", "nmm_tk");
    emit_step_lets(g, b, true);
    for (int c = 0; c < ir->n_couplings; c++) {
        const bnm_ir_coupling *cp = &ir->couplings[c];
        int first = g->sum_counter;
        int counter = first;
        emit_sums(g, b, cp->expr, &counter);
        put_line(g, b, cp->line);
        bnm_cg_buf_printf(b, "c_%s = ", cp->name);
        emit_expr(g, b, cp->expr, MODE_HOIST);
        bnm_cg_buf_puts(b, ";\n");
        put_engine_line(b);
    }
    bnm_cg_buf_puts(b, "}\n");
    bool noise = g->rs->noise && g->rs->integrator != BNM_INTEG_RK4;
    if (noise)
        for (int s = 0; s < ir->n_states; s++)
            if (g->nscale[s])
                bnm_cg_buf_printf(b,
                    "const nmm_real nmm_z_%s = nmm_rng_normal(nmm_seed, nmm_nid, (uint)nmm_i, nmm_k, %uu);\n",
                    ir->states[s].name, bnm_rng_stream_noise(ir->states[s].noise_slot));
    declare_states(g, b, "nmm_y_");
    declare_states(g, b, "nmm_f0_");
    switch (g->rs->integrator) {
    case BNM_INTEG_EULER:
        emit_rhs(g, b, "nmm_x_", "nmm_tk", "nmm_f0_");
        emit_update(g, b, "nmm_y_", "nmm_dt * nmm_f0_@", noise);
        emit_bounds(g, b, "nmm_y_");
        break;
    case BNM_INTEG_HEUN:
        declare_states(g, b, "nmm_f1_");
        emit_rhs(g, b, "nmm_x_", "nmm_tk", "nmm_f0_");
        emit_update(g, b, "nmm_y_", "nmm_dt * nmm_f0_@", noise);
        emit_bounds(g, b, "nmm_y_");
        emit_rhs(g, b, "nmm_y_", "nmm_tk1", "nmm_f1_");
        emit_update(g, b, "nmm_y_", "nmm_hdt * (nmm_f0_@ + nmm_f1_@)", noise);
        emit_bounds(g, b, "nmm_y_");
        break;
    case BNM_INTEG_RK4:
        declare_states(g, b, "nmm_f1_");
        declare_states(g, b, "nmm_f2_");
        declare_states(g, b, "nmm_f3_");
        emit_rhs(g, b, "nmm_x_", "nmm_tk", "nmm_f0_");
        emit_update(g, b, "nmm_y_", "nmm_hdt * nmm_f0_@", false);
        emit_bounds(g, b, "nmm_y_");
        emit_rhs(g, b, "nmm_y_", "nmm_th", "nmm_f1_");
        emit_update(g, b, "nmm_y_", "nmm_hdt * nmm_f1_@", false);
        emit_bounds(g, b, "nmm_y_");
        emit_rhs(g, b, "nmm_y_", "nmm_th", "nmm_f2_");
        emit_update(g, b, "nmm_y_", "nmm_dt * nmm_f2_@", false);
        emit_bounds(g, b, "nmm_y_");
        emit_rhs(g, b, "nmm_y_", "nmm_tk1", "nmm_f3_");
        emit_update(g, b, "nmm_y_",
                    "nmm_dt6 * (((nmm_f0_@ + nmm_two * nmm_f1_@) + nmm_two * nmm_f2_@) + nmm_f3_@)",
                    false);
        emit_bounds(g, b, "nmm_y_");
        break;
    }
    for (int s = 0; s < ir->n_states; s++)
        bnm_cg_buf_printf(b,
            "nmm_states[(nmm_sb + %du) * nmm_nn + nmm_i] = nmm_y_%s;\n"
            "nmm_bad |= !isfinite(nmm_y_%s);\n",
            s, ir->states[s].name, ir->states[s].name);
    bnm_cg_buf_puts(b, "}\n");
}

/* Publishes every node's T values of step k (from x_k) into the ring slot of k. */
static void emit_publish(gen *g, bnm_cg_buf *b)
{
    const bnm_model_ir *ir = g->ir;
    if (ir->n_transmit == 0)
        return;
    bnm_cg_buf_puts(b, "for (ulong nmm_i = 0; nmm_i < nmm_nn; ++nmm_i) {\n");
    emit_node_prologue(g, b, true);
    for (int s = 0; s < ir->n_states; s++)
        bnm_cg_buf_printf(b, "const nmm_real nmm_x_%s = nmm_states[(nmm_sb + %du) * nmm_nn + nmm_i];\n",
                          ir->states[s].name, s);
    bnm_cg_buf_puts(b, "{\n");
    emit_bind_states(g, b, "nmm_x_", "nmm_tk");
    emit_step_lets(g, b, true);
    for (int t = 0; t < ir->n_transmit; t++) {
        const bnm_ir_ref *r = &ir->transmit[t];
        const char *name = r->kind == BNM_REF_STATE ? ir->states[r->index].name
                                                    : ir->lets[r->index].name;
        bnm_cg_buf_printf(b, "nmm_hist[nmm_hb + ((ulong)%du * nmm_hl + nmm_slot) * nmm_nn + nmm_i] = ",
                          t);
        if (r->kind == BNM_REF_STATE) {
            bnm_cg_buf_printf(b, "s_%s;\n", name);
        } else {
            bnm_abi_level lv = g->rs->let_level[r->index];
            if (lv == BNM_LEVEL_LIT)
                put_lit(g, b, bnm_cg_fold(g->rs, ir->lets[r->index].expr));
            else
                bnm_cg_buf_printf(b, "l_%s", name);
            bnm_cg_buf_puts(b, ";\n");
        }
    }
    bnm_cg_buf_puts(b, "}\n}\n");
}

/* The BW-step-end hook (codegen.h, NMM_STEP_END_*): when the includer defines
 * NMM_STEP_END_NODE, each node's BOLD driver (bold statement; a state, or a let that does
 * not depend on a coupling) is evaluated at the new state x_{k+1} (analysis.md 2.4) into
 * nmm_zd, and the includer's code runs with it. Without the definition the preprocessor
 * drops the block. */
static void emit_step_end(gen *g, bnm_cg_buf *b)
{
    const bnm_model_ir *ir = g->ir;
    bnm_cg_buf_puts(b,
        "#ifdef NMM_STEP_END_NODE\n"
        "if (NMM_STEP_END_DUE) {\n"
        "NMM_STEP_END_BEGIN\n"
        "for (ulong nmm_i = 0; nmm_i < nmm_nn; ++nmm_i) {\n");
    emit_node_prologue(g, b, true);
    for (int s = 0; s < ir->n_states; s++)
        bnm_cg_buf_printf(b, "const nmm_real nmm_x_%s = nmm_states[(nmm_sb + %du) * nmm_nn + nmm_i];\n",
                          ir->states[s].name, s);
    bnm_cg_buf_puts(b, "{\n");
    emit_bind_states(g, b, "nmm_x_", "nmm_tk1");
    emit_step_lets(g, b, true);
    bnm_cg_buf_puts(b, "const nmm_real nmm_zd = ");
    if (!ir->has_bold) {
        bnm_cg_buf_puts(b, "((nmm_real)NAN)");
    } else if (ir->bold.kind == BNM_REF_STATE) {
        bnm_cg_buf_printf(b, "s_%s", ir->states[ir->bold.index].name);
    } else if (ir->bold.kind == BNM_REF_LET && !ir->lets[ir->bold.index].uses_coupling) {
        if (g->rs->let_level[ir->bold.index] == BNM_LEVEL_LIT)
            put_lit(g, b, bnm_cg_fold(g->rs, ir->lets[ir->bold.index].expr));
        else
            bnm_cg_buf_printf(b, "l_%s", ir->lets[ir->bold.index].name);
    } else {
        /* a driver that needs the coupling: the engine refuses such models */
        bnm_cg_buf_puts(b, "((nmm_real)NAN)");
    }
    bnm_cg_buf_puts(b, ";\nNMM_STEP_END_NODE\n}\n}\n}\n#endif\n");
    put_engine_line(b);
}

static void emit_helpers(gen *g, bnm_cg_buf *b)
{
    (void)g;
    bnm_cg_buf_puts(b,
        "#define NMM_ONE ((nmm_real)1)\n"
        "#define NMM_ZERO ((nmm_real)0)\n"
        "/* NaN in any argument gives NaN (nmm-format.md 6.2), unlike fmin/fmax. */\n"
        "nmm_real nmm_min(nmm_real a, nmm_real b) { return (isnan(a) || isnan(b)) ? a + b : (a < b ? a : b); }\n"
        "nmm_real nmm_max(nmm_real a, nmm_real b) { return (isnan(a) || isnan(b)) ? a + b : (a > b ? a : b); }\n"
        "nmm_real nmm_clamp(nmm_real x, nmm_real lo, nmm_real hi) { return nmm_min(nmm_max(x, lo), hi); }\n"
        "nmm_real nmm_mod(nmm_real x, nmm_real m) { return x - m * floor(x / m); }\n"
        "nmm_real nmm_wrap(nmm_real x, nmm_real lo, nmm_real hi) { return lo + nmm_mod(x - lo, hi - lo); }\n"
        "nmm_real nmm_sign(nmm_real x) { return x > NMM_ZERO ? NMM_ONE : (x < NMM_ZERO ? -NMM_ONE : x); }\n"
        "nmm_real nmm_sigmoid(nmm_real x) { return NMM_ONE / (NMM_ONE + exp(-x)); }\n"
        "nmm_real nmm_heaviside(nmm_real x) { return x > NMM_ZERO ? NMM_ONE : NMM_ZERO; }\n"
        "nmm_real nmm_relu(nmm_real x) { return nmm_max(x, NMM_ZERO); }\n"
        "/* Integer powers by repeated multiplication: the host oracle does the same. */\n"
        "nmm_real nmm_powi(nmm_real x, int n)\n"
        "{\n"
        "    int m = n < 0 ? -n : n;\n"
        "    nmm_real r = NMM_ONE;\n"
        "    if (m > 0) {\n"
        "        r = x;\n"
        "        for (int k = 1; k < m; k++)\n"
        "            r = r * x;\n"
        "    }\n"
        "    return n < 0 ? NMM_ONE / r : r;\n"
        "}\n");
}

static void emit_kernel(gen *g, bnm_cg_buf *b)
{
    const bnm_model_ir *ir = g->ir;
    const bnm_cg_spec *rs = g->rs;
    bnm_cg_buf_printf(b,
        "/* clBNM model kernel (generator v%d): model %s, %s, %s, noise %s, delays %s. */\n",
        BNM_CODEGEN_VERSION, ir->name, g->dbl ? "double" : "float",
        rs->integrator == BNM_INTEG_EULER ? "euler" : rs->integrator == BNM_INTEG_HEUN ? "heun" : "rk4",
        rs->noise ? "on" : "off", rs->delays ? "on" : "off");
    bnm_cg_buf_printf(b, "/* model file: %zu bytes, fnv1a64 %016llx */\n", ir->source_len,
                      (unsigned long long)bnm_cg_source_hash(ir));
    bnm_cg_buf_puts(b, "#pragma OPENCL FP_CONTRACT OFF\n");
    if (g->dbl)
        bnm_cg_buf_puts(b, "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\ntypedef double nmm_real;\n");
    else
        bnm_cg_buf_puts(b, "typedef float nmm_real;\n");
    bnm_cg_buf_printf(b, "#define NMM_NSP %du\n#define NMM_NNP %du\n#define NMM_NNC %du\n",
                      rs->n_sim_params, rs->n_node_params, g->n_node_lets + g->n_node_h);
    if (rs->noise)
        bnm_cg_buf_puts(b, bnm_rng_cl_source);
    emit_helpers(g, b);
    /* Extension points (codegen.h): the batch engine splices its code at these markers. */
    bnm_cg_buf_puts(b, BNM_CODEGEN_MARK_PRELUDE "\n");
    put_engine_line(b);
    bnm_cg_buf_puts(b,
        "__kernel void nmm_");
    bnm_cg_buf_puts(b, ir->name);
    bnm_cg_buf_puts(b, "_integrate(const uint nmm_n_sims, const uint nmm_n_nodes,\n"
        "    const ulong nmm_first, const uint nmm_n_steps, const nmm_real nmm_t0,\n"
        "    const nmm_real nmm_dt, const uint nmm_hist_len,\n"
        "    __global const ulong *nmm_seeds, __global const uint *nmm_sim_index,\n"
        "    __global const nmm_real *nmm_weights, __global const int *nmm_delays,\n"
        "    __global nmm_real *nmm_hist, __global const nmm_real *nmm_sim_params,\n"
        "    __global const nmm_real *nmm_node_params, __global nmm_real *nmm_node_cache,\n"
        "    __global nmm_real *nmm_states, __global ulong *nmm_status"
        BNM_CODEGEN_MARK_ARGS ")\n"
        "{\n"
        "const ulong nmm_s = get_global_id(0);\n"
        "if (nmm_s >= nmm_n_sims || nmm_status[2 * nmm_s] != 0)\n"
        "    return; /* padding, or frozen after a non-finite state (10.8) */\n");
    if (rs->n_nodes > 0)
        bnm_cg_buf_printf(b, "const ulong nmm_nn = %dul;\n", rs->n_nodes);
    else
        bnm_cg_buf_puts(b, "const ulong nmm_nn = nmm_n_nodes;\n");
    bnm_cg_buf_printf(b,
        "const ulong nmm_hl = nmm_hist_len;\n"
        "const ulong nmm_seed = nmm_seeds[nmm_s];\n"
        "const uint nmm_nid = nmm_sim_index[3 * nmm_s];\n"
        "const ulong nmm_conn = nmm_sim_index[3 * nmm_s + 1];\n"
        "const ulong nmm_dmat = nmm_sim_index[3 * nmm_s + 2];\n"
        "const ulong nmm_sb = nmm_s * %du;\n"
        "const ulong nmm_hb = nmm_s * %du * nmm_hl * nmm_nn;\n"
        "const nmm_real nmm_two = (nmm_real)2;\n"
        "const nmm_real nmm_hdt = nmm_dt / nmm_two;\n"
        "const nmm_real nmm_dt6 = nmm_dt / (nmm_real)6;\n"
        "(void)nmm_seed; (void)nmm_nid; (void)nmm_conn; (void)nmm_dmat; (void)nmm_hb;\n",
        ir->n_states, ir->n_transmit);
    /* SIM level: per-sim params, SIM lets, hoisted SIM subtrees. */
    for (int p = 0; p < ir->n_params; p++)
        if (rs->sim_slot[p] >= 0)
            bnm_cg_buf_printf(b, "const nmm_real p_%s = nmm_sim_params[nmm_s * NMM_NSP + %du];\n",
                              ir->params[p].name, rs->sim_slot[p]);
    for (int l = 0; l < ir->n_lets; l++)
        if (rs->let_level[l] == BNM_LEVEL_SIM) {
            put_line(g, b, ir->lets[l].line);
            bnm_cg_buf_printf(b, "const nmm_real l_%s = ", ir->lets[l].name);
            emit_expr(g, b, ir->lets[l].expr, MODE_PLAIN);
            bnm_cg_buf_puts(b, ";\n");
        }
    for (int k = 0; k < g->n_h; k++)
        if (g->h[k].level == BNM_LEVEL_SIM) {
            put_line(g, b, g->h[k].line);
            bnm_cg_buf_printf(b, "const nmm_real nmm_hs%d = %s;\n", g->h_slot[k], g->h[k].text);
        }
    put_engine_line(b);
    /* NODE level: computed once per (simulation, node) into the node cache. */
    if (g->n_node_lets + g->n_node_h > 0) {
        bnm_cg_buf_puts(b, "for (ulong nmm_i = 0; nmm_i < nmm_nn; ++nmm_i) {\n");
        emit_node_prologue(g, b, false);
        for (int l = 0; l < ir->n_lets; l++)
            if (g->node_let_slot[l] >= 0) {
                put_line(g, b, ir->lets[l].line);
                bnm_cg_buf_printf(b, "const nmm_real l_%s = ", ir->lets[l].name);
                emit_expr(g, b, ir->lets[l].expr, MODE_PLAIN);
                bnm_cg_buf_printf(b, ";\nnmm_node_cache[(nmm_s * NMM_NNC + %du) * nmm_nn + nmm_i] = l_%s;\n",
                                  g->node_let_slot[l], ir->lets[l].name);
            }
        for (int k = 0; k < g->n_h; k++)
            if (g->h[k].level == BNM_LEVEL_NODE) {
                put_line(g, b, g->h[k].line);
                bnm_cg_buf_printf(b, "nmm_node_cache[(nmm_s * NMM_NNC + %du) * nmm_nn + nmm_i] = %s;\n",
                                  g->n_node_lets + g->h_slot[k], g->h[k].text);
            }
        put_engine_line(b);
        bnm_cg_buf_puts(b, "}\n");
    }
    /* STEP level: the loop. */
    bnm_cg_buf_puts(b,
        "for (uint nmm_m = 0; nmm_m < nmm_n_steps; ++nmm_m) {\n"
        "const ulong nmm_k = nmm_first + nmm_m;\n"
        "/* t from the integer step, never accumulated (10.1) */\n"
        "const nmm_real nmm_tk = nmm_t0 + (nmm_real)nmm_k * nmm_dt;\n"
        "const nmm_real nmm_tk1 = nmm_t0 + (nmm_real)(nmm_k + 1) * nmm_dt;\n"
        "const nmm_real nmm_th = nmm_tk + nmm_hdt;\n"
        "const ulong nmm_slot = nmm_k % nmm_hl;\n"
        "(void)nmm_tk1; (void)nmm_th; (void)nmm_slot;\n"
        "int nmm_bad = 0;\n");
    emit_publish(g, b);
    emit_node_update(g, b);
    bnm_cg_buf_puts(b,
        "if (nmm_bad) {\n"
        "    nmm_status[2 * nmm_s] = 1;\n"
        "    nmm_status[2 * nmm_s + 1] = nmm_k + 1;\n"
        "    break;\n"
        "}\n");
    emit_step_end(g, b);
    bnm_cg_buf_puts(b,
        BNM_CODEGEN_MARK_STEP_END "\n"
        "}\n"
        "}\n");
}

static void gen_free(gen *g)
{
    for (int k = 0; k < g->n_h; k++)
        free(g->h[k].text);
    free(g->h);
    free(g->h_slot);
    if (g->nscale)
        for (int s = 0; s < g->ir->n_states; s++)
            bnm_ir_expr_free(g->nscale[s]);
    free(g->nscale);
    free(g->node_let_slot);
}

bnm_status bnm_codegen_emit_full(bnm_context *ctx, const struct bnm_model_ir *ir,
                                 const bnm_model_spec *spec, char **source_out,
                                 bnm_model_abi **abi_out, int *n_node_cache_out)
{
    *source_out = NULL;
    if (abi_out)
        *abi_out = NULL;
    bnm_cg_spec *rs = NULL;
    bnm_status st = bnm_cg_spec_resolve(ctx, ir, spec, &rs);
    if (st != BNM_OK)
        return st;
    gen g;
    memset(&g, 0, sizeof g);
    g.rs = rs;
    g.ir = ir;
    g.dbl = rs->precision == BNM_PRECISION_DOUBLE;
    bnm_cg_buf scratch = {0}, out = {0};
    escape_name(ir->file_name ? ir->file_name : "<model>", g.file_q, sizeof g.file_q);
    g.nscale = calloc((size_t)ir->n_states + 1, sizeof *g.nscale);
    g.node_let_slot = calloc((size_t)ir->n_lets + 1, sizeof *g.node_let_slot);
    if (!g.nscale || !g.node_let_slot)
        goto nomem;
    for (int s = 0; s < ir->n_states; s++)
        if (rs->noise && ir->states[s].noise) {
            g.nscale[s] = bnm_cg_noise_scale(ir->states[s].noise);
            if (!g.nscale[s])
                goto nomem;
        }
    for (int l = 0; l < ir->n_lets; l++)
        g.node_let_slot[l] = rs->let_level[l] == BNM_LEVEL_NODE ? g.n_node_lets++ : -1;
    /* Pass 1 finds the hoisted subtrees, pass 2 emits them before the loop. */
    emit_publish(&g, &scratch);
    emit_step_end(&g, &scratch); /* its lets' hoisted subtrees too */
    g.sum_counter = 0;
    emit_node_update(&g, &scratch);
    g.sum_counter = 0;
    emit_kernel(&g, &out);
    if (g.oom || scratch.failed || out.failed)
        goto nomem;
    if (abi_out) {
        st = bnm_model_abi_create(ctx, ir, spec, abi_out);
        if (st != BNM_OK)
            goto fail;
    }
    if (n_node_cache_out)
        *n_node_cache_out = g.n_node_lets + g.n_node_h;
    *source_out = out.s;
    out.s = NULL;
    st = BNM_OK;
    goto done;
nomem:
    st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory generating the kernel of model %s",
                  ir->name);
fail:
done:
    bnm_cg_buf_free(&scratch);
    bnm_cg_buf_free(&out);
    gen_free(&g);
    bnm_cg_spec_destroy(rs);
    return st;
}

bnm_status bnm_codegen_emit(bnm_context *ctx, const struct bnm_model_ir *ir,
                            const bnm_model_spec *spec, char **source_out)
{
    return bnm_codegen_emit_full(ctx, ir, spec, source_out, NULL, NULL);
}
