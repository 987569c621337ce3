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
    int lanes;             /* simulations per work-item (vector width of nmm_real) */
    int n_sums;            /* sum_j instances of all couplings, in emit order */
    int sum_plane[BNM_CG_MAX_SUMS]; /* plane in the coupling buffer, -1: summed in place */
    const bnm_ir_expr *sum_term[BNM_CG_MAX_SUMS];
    int n_cpl;
    bool local_w;          /* emitting the variant that reads weights from local memory */
    int *noisy_slot;       /* [n_states] plane of the shared-noise buffer or -1 */
    int n_noisy;
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
        /* loaded (or gathered per lane) at the top of the sum's loop body */
        bnm_cg_buf_printf(b, "nmm_src%d", e->index);
        break;
    case BNM_IR_WEIGHT: bnm_cg_buf_puts(b, "nmm_w"); break;
    case BNM_IR_TIME: bnm_cg_buf_puts(b, "nmm_t"); break;
    case BNM_IR_DT: bnm_cg_buf_puts(b, "nmm_dt"); break;
    case BNM_IR_NNODES: bnm_cg_buf_puts(b, "((nmm_sreal)nmm_nn)"); break;
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

static bool uses_source(const bnm_ir_expr *e, int t)
{
    if (!e)
        return false;
    if (e->op == BNM_IR_SOURCE && e->index == t)
        return true;
    return uses_source(e->a, t) || uses_source(e->b, t) || uses_source(e->c, t);
}

/* Declares nmm_sumK for each sum_j of e (walk order a, b, c = emit order). */
static void emit_sum_decls(gen *g, bnm_cg_buf *b, const bnm_ir_expr *e, int *counter)
{
    if (!e)
        return;
    if (e->op == BNM_IR_SUM_J) {
        bnm_cg_buf_printf(b, "nmm_real nmm_sum%d = ", (*counter)++);
        put_lit(g, b, 0.0);
        bnm_cg_buf_puts(b, ";\n");
        return;
    }
    emit_sum_decls(g, b, e->a, counter);
    emit_sum_decls(g, b, e->b, counter);
    emit_sum_decls(g, b, e->c, counter);
}

/* The body of a sum's j loop: the weight and the (delayed) sources of j, then
 * acc = acc + term. nmm_wb and nmm_db (uniform) or nmm_i (gather) name the target.
 * uniform: every lane of the work-item uses the same connectome and delay matrix, so a
 * weight is one scalar broadcast to all lanes and a delayed source is one vector load;
 * otherwise each lane gathers its own weight and delayed source (the host groups
 * simulations so that this path is rare). */
static void emit_sum_body(gen *g, bnm_cg_buf *b, const bnm_ir_expr *term, bool uniform,
                          const char *acc)
{
    const int nt = g->ir->n_transmit;
    if (uniform) {
        if (g->local_w)
            bnm_cg_buf_puts(b, "    const nmm_sreal nmm_w = nmm_wloc[nmm_i + nmm_j * nmm_nn];\n");
        else
            bnm_cg_buf_puts(b, "    const nmm_sreal nmm_w = nmm_weights[nmm_wb + nmm_j * nmm_nn];\n");
        if (g->rs->delays)
            /* (k - d) mod L from k mod L, as d < L; steps before 0 read step 0's slot */
            bnm_cg_buf_puts(b,
                "    const ulong nmm_d = (ulong)nmm_delays[nmm_db + nmm_j * nmm_nn];\n"
                "    const ulong nmm_sl = nmm_k < nmm_d ? 0 : (nmm_slot >= nmm_d ? nmm_slot - nmm_d\n"
                "                                              : nmm_slot + nmm_hl - nmm_d);\n");
        else
            bnm_cg_buf_puts(b, "    const ulong nmm_sl = nmm_slot;\n");
        for (int t = 0; t < nt; t++)
            if (uses_source(term, t))
                bnm_cg_buf_printf(b,
                    "    const nmm_real nmm_src%d = nmm_hist[nmm_hb + ((ulong)%du * nmm_hl + nmm_sl) * nmm_nn + nmm_j];\n",
                    t, t);
    } else {
        bnm_cg_buf_puts(b, "    nmm_sreal nmm_wt[NMM_L];\n");
        for (int t = 0; t < nt; t++)
            if (uses_source(term, t))
                bnm_cg_buf_printf(b, "    nmm_sreal nmm_gt%d[NMM_L];\n", t);
        bnm_cg_buf_puts(b,
            "    for (uint nmm_l = 0; nmm_l < NMM_L; ++nmm_l) {\n"
            "        const ulong nmm_o = nmm_j * nmm_nn + nmm_i;\n"
            "        nmm_wt[nmm_l] = nmm_weights[nmm_wl[nmm_l] + nmm_o];\n");
        if (g->rs->delays)
            bnm_cg_buf_puts(b,
                "        const long nmm_km = (long)nmm_k - (long)nmm_delays[nmm_dl[nmm_l] + nmm_o];\n"
                "        const ulong nmm_sl = nmm_km < 0 ? 0 : (ulong)nmm_km % nmm_hl;\n");
        else
            bnm_cg_buf_puts(b, "        const ulong nmm_sl = nmm_slot;\n");
        for (int t = 0; t < nt; t++)
            if (uses_source(term, t))
                bnm_cg_buf_printf(b,
                    "        nmm_gt%d[nmm_l] = nmm_hsc[(nmm_hb + ((ulong)%du * nmm_hl + nmm_sl) * nmm_nn + nmm_j) * NMM_L + nmm_l];\n",
                    t, t);
        bnm_cg_buf_puts(b,
            "    }\n"
            "    const nmm_real nmm_w = NMM_VLOAD(0, nmm_wt);\n");
        for (int t = 0; t < nt; t++)
            if (uses_source(term, t))
                bnm_cg_buf_printf(b, "    const nmm_real nmm_src%d = NMM_VLOAD(0, nmm_gt%d);\n", t, t);
    }
    put_line(g, b, term->line);
    int ft;
    if (bnm_cg_term_fma(term, &ft)) {
        bnm_cg_buf_printf(b, "    %s = fma((nmm_real)nmm_w, nmm_src%d, %s);\n", acc, ft, acc);
    } else {
        bnm_cg_buf_printf(b, "    %s = %s + ", acc, acc);
        emit_expr(g, b, term, MODE_HOIST);
        bnm_cg_buf_puts(b, ";\n");
    }
    put_engine_line(b);
}

/* One accumulation loop per sum_j of e, summing j = 0..N-1 in order (the interpreter's
 * order, so every path gives the same bits). On the uniform path a sum precomputed by
 * the coupling pass (emit_coupling_pass) is read back instead. */
static void emit_sums(gen *g, bnm_cg_buf *b, const bnm_ir_expr *e, int *counter, bool uniform)
{
    if (!e)
        return;
    if (e->op != BNM_IR_SUM_J) {
        emit_sums(g, b, e->a, counter, uniform);
        emit_sums(g, b, e->b, counter, uniform);
        emit_sums(g, b, e->c, counter, uniform);
        return;
    }
    int k = (*counter)++;
    if (uniform && k < BNM_CG_MAX_SUMS && g->sum_plane[k] >= 0) {
        bnm_cg_buf_printf(b, "nmm_sum%d = nmm_cpl[(nmm_s * NMM_NCPL + %du) * nmm_nn + nmm_i];\n", k,
                          g->sum_plane[k]);
        return;
    }
    char acc[32];
    snprintf(acc, sizeof acc, "nmm_sum%d", k);
    bnm_cg_buf_puts(b, "for (ulong nmm_j = 0; nmm_j < nmm_nn; ++nmm_j) {\n");
    emit_sum_body(g, b, e->a, uniform, acc);
    bnm_cg_buf_puts(b, "}\n");
}

/* A sum whose term reads only weights, sources and lane-level values (no target-node
 * state, let, per-node param or time) can be summed for several targets at once. */
static bool term_is_pure(const gen *g, const bnm_ir_expr *e)
{
    if (!e)
        return true;
    switch (e->op) {
    case BNM_IR_STATE: case BNM_IR_COUPLING: case BNM_IR_TIME: case BNM_IR_INPUT:
    case BNM_IR_SUM_J:
        return false;
    case BNM_IR_PARAM: case BNM_IR_LET: {
        bnm_abi_level lv = bnm_cg_level(g->rs, e);
        return lv == BNM_LEVEL_LIT || lv == BNM_LEVEL_SIM;
    }
    default:
        return term_is_pure(g, e->a) && term_is_pure(g, e->b) && term_is_pure(g, e->c);
    }
}

/* Numbers the sums of every coupling in emit order and gives each pure one a plane of
 * the coupling buffer (lanes > 1 only: a GPU work-item keeps its sums in registers). */
static void plan_sums(gen *g, const bnm_ir_expr *e)
{
    if (!e)
        return;
    if (e->op == BNM_IR_SUM_J) {
        int k = g->n_sums++;
        if (k < BNM_CG_MAX_SUMS) {
            g->sum_plane[k] = g->lanes > 1 && term_is_pure(g, e->a) ? g->n_cpl++ : -1;
            g->sum_term[k] = e->a;
        }
        return;
    }
    plan_sums(g, e->a);
    plan_sums(g, e->b);
    plan_sums(g, e->c);
}

/* The coupling pass (lanes > 1, uniform work-items): before the node updates of a step,
 * every pure sum for every target, NMM_CT targets at a time. Each target keeps its own
 * accumulator summed over j in order, so the result is bitwise the per-node loop's;
 * the targets only share the loads of the sources and hide the latency of each
 * other's additions. */
static void emit_coupling_pass(gen *g, bnm_cg_buf *b)
{
    if (g->n_cpl == 0)
        return;
    enum { CT = 4 };
    bnm_cg_buf_puts(b,
        "if ((nmm_flags & NMM_UNIFORM_CONN) != 0u) {\n"
        "ulong nmm_i0 = 0;\n"
        "for (; nmm_i0 + 4u <= nmm_nn; nmm_i0 += 4u) {\n");
    for (int k = 0; k < g->n_sums && k < BNM_CG_MAX_SUMS; k++) {
        if (g->sum_plane[k] < 0)
            continue;
        bnm_cg_buf_puts(b, "{\n");
        for (int u = 0; u < CT; u++) {
            bnm_cg_buf_printf(b, "nmm_real nmm_a%d = ", u);
            put_lit(g, b, 0.0);
            bnm_cg_buf_puts(b, ";\n");
        }
        bnm_cg_buf_puts(b, "for (ulong nmm_j = 0; nmm_j < nmm_nn; ++nmm_j) {\n");
        for (int u = 0; u < CT; u++) {
            char acc[16];
            snprintf(acc, sizeof acc, "nmm_a%d", u);
            bnm_cg_buf_printf(b, "{\nconst ulong nmm_i = nmm_i0 + %du;\n", u);
            bnm_cg_buf_puts(b, "const ulong nmm_wb = nmm_conn * nmm_nn * nmm_nn + nmm_i;\n");
            if (g->rs->delays)
                bnm_cg_buf_puts(b, "const ulong nmm_db = nmm_dmat * nmm_nn * nmm_nn + nmm_i;\n");
            bnm_cg_buf_puts(b, "(void)nmm_i;\n");
            emit_sum_body(g, b, g->sum_term[k], true, acc);
            bnm_cg_buf_puts(b, "}\n");
        }
        bnm_cg_buf_puts(b, "}\n");
        for (int u = 0; u < CT; u++)
            bnm_cg_buf_printf(b, "nmm_cpl[(nmm_s * NMM_NCPL + %du) * nmm_nn + nmm_i0 + %du] = nmm_a%d;\n",
                              g->sum_plane[k], u, u);
        bnm_cg_buf_puts(b, "}\n");
    }
    bnm_cg_buf_puts(b,
        "}\n"
        "for (ulong nmm_i = nmm_i0; nmm_i < nmm_nn; ++nmm_i) {\n"
        "const ulong nmm_wb = nmm_conn * nmm_nn * nmm_nn + nmm_i;\n");
    if (g->rs->delays)
        bnm_cg_buf_puts(b, "const ulong nmm_db = nmm_dmat * nmm_nn * nmm_nn + nmm_i;\n");
    for (int k = 0; k < g->n_sums && k < BNM_CG_MAX_SUMS; k++) {
        if (g->sum_plane[k] < 0)
            continue;
        bnm_cg_buf_puts(b, "{\nnmm_real nmm_a0 = ");
        put_lit(g, b, 0.0);
        bnm_cg_buf_puts(b, ";\nfor (ulong nmm_j = 0; nmm_j < nmm_nn; ++nmm_j) {\n");
        emit_sum_body(g, b, g->sum_term[k], true, "nmm_a0");
        bnm_cg_buf_printf(b, "}\nnmm_cpl[(nmm_s * NMM_NCPL + %du) * nmm_nn + nmm_i] = nmm_a0;\n}\n",
                          g->sum_plane[k]);
    }
    bnm_cg_buf_puts(b, "}\n}\n");
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
    bnm_cg_buf_printf(b, "const nmm_sreal nmm_t = %s;\n", time);
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
        emit_sum_decls(g, b, cp->expr, &counter);
        if (g->lanes > 1) {
            bnm_cg_buf_puts(b, "if ((nmm_flags & NMM_UNIFORM_CONN) != 0u) {\n");
            counter = first;
            emit_sums(g, b, cp->expr, &counter, true);
            bnm_cg_buf_puts(b, "} else {\n");
            counter = first;
            emit_sums(g, b, cp->expr, &counter, false);
            bnm_cg_buf_puts(b, "}\n");
        } else {
            /* one lane (GPUs): the work-group's weights in local memory when they fit */
            bnm_cg_buf_puts(b, "if ((nmm_flags & NMM_LOCAL_W) != 0u) {\n");
            counter = first;
            g->local_w = true;
            emit_sums(g, b, cp->expr, &counter, true);
            g->local_w = false;
            bnm_cg_buf_puts(b, "} else {\n");
            counter = first;
            emit_sums(g, b, cp->expr, &counter, true);
            bnm_cg_buf_puts(b, "}\n");
        }
        put_line(g, b, cp->line);
        bnm_cg_buf_printf(b, "c_%s = ", cp->name);
        emit_expr(g, b, cp->expr, MODE_HOIST);
        bnm_cg_buf_puts(b, ";\n");
        put_engine_line(b);
    }
    bnm_cg_buf_puts(b, "}\n");
    bool noise = g->rs->noise && g->rs->integrator != BNM_INTEG_RK4;
    if (noise)
        for (int s = 0; s < ir->n_states; s++) {
            if (!g->nscale[s])
                continue;
            const char *n = ir->states[s].name;
            unsigned stream = bnm_rng_stream_noise(ir->states[s].noise_slot);
            bnm_cg_buf_printf(b, "nmm_real nmm_z_%s;\n", n);
            if (g->lanes > 1)
                bnm_cg_buf_printf(b,
                    "if ((nmm_flags & NMM_SHARED_NOISE) != 0u)\n"
                    "    nmm_z_%s = (nmm_real)nmm_zb[%du * nmm_nnl + nmm_i];\n"
                    "else\n",
                    n, g->noisy_slot[s]);
            bnm_cg_buf_printf(b,
                "    nmm_z_%s = nmm_rngv_normal(nmm_seed_lo, nmm_seed_hi, nmm_nid, (nmm_uint)(uint)nmm_i, nmm_k, %uu);\n",
                n, stream);
        }
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
    /* A lane frozen by an earlier non-finite state keeps its state (10.8). */
    for (int s = 0; s < ir->n_states; s++)
        bnm_cg_buf_printf(b,
            "nmm_states[(nmm_sb + %du) * nmm_nn + nmm_i] = NMM_KEEP_DEAD(nmm_y_%s, nmm_x_%s);\n"
            "nmm_bad = nmm_bad || !isfinite(nmm_y_%s);\n",
            s, ir->states[s].name, ir->states[s].name, ir->states[s].name);
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

/* Lane types and helpers. Each work-item integrates NMM_L simulations side by side, one
 * per lane of nmm_real (NMM_L = 1: nmm_real is a scalar and this is the plain
 * one-simulation-per-work-item layout GPUs get). Lane-uniform values (time, dt, N,
 * weights on the uniform path) are nmm_sreal scalars that OpenCL broadcasts. Every lane
 * runs the same instruction sequence, so a simulation's bits never depend on its lane
 * or on what shares its work-item. */
static void emit_types(gen *g, bnm_cg_buf *b)
{
    const int L = g->lanes;
    const char *r = g->dbl ? "double" : "float";
    char v[32], u[32], m[32];
    if (L > 1) {
        snprintf(v, sizeof v, "%s%d", r, L);
        snprintf(u, sizeof u, "uint%d", L);
        snprintf(m, sizeof m, "%s%d", g->dbl ? "long" : "int", L);
    } else {
        snprintf(v, sizeof v, "%s", r);
        snprintf(u, sizeof u, "uint");
        snprintf(m, sizeof m, "int");
    }
    if (g->dbl)
        bnm_cg_buf_puts(b, "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n");
    bnm_cg_buf_printf(b,
        "#define NMM_L %du\n"
        "typedef %s nmm_sreal;\n"
        "typedef %s nmm_real;\n"
        "typedef %s nmm_uint;\n"
        "typedef %s nmm_mask;\n"
        "typedef %s nmm_mask_elem;\n"
        "#define NMM_CVT_REAL(x) convert_%s(x)\n",
        L, r, v, u, m, L > 1 ? (g->dbl ? "long" : "int") : "int", v);
    if (L > 1) {
        bnm_cg_buf_printf(b,
            "#define NMM_TRUE (-1)\n"
            "#define NMM_VLOAD(o, p) vload%d(o, p)\n"
            "#define NMM_VSTORE(x, o, p) vstore%d(x, o, p)\n"
            "#define NMM_ANY(x) any(x)\n"
            "#define NMM_ALL(x) all(x)\n"
            "#define NMM_KEEP_DEAD(y, x) (nmm_dead ? (x) : (y))\n"
            "#define NMM_IOTA ((nmm_uint)(",
            L, L);
        for (int l = 0; l < L; l++)
            bnm_cg_buf_printf(b, "%s%du", l ? ", " : "", l);
        bnm_cg_buf_puts(b, "))\n");
    } else {
        bnm_cg_buf_puts(b,
            "#define NMM_TRUE 1\n"
            "#define NMM_VLOAD(o, p) ((p)[o])\n"
            "#define NMM_VSTORE(x, o, p) ((p)[o] = (x))\n"
            "#define NMM_ANY(x) ((x) != 0)\n"
            "#define NMM_ALL(x) ((x) != 0)\n"
            "#define NMM_KEEP_DEAD(y, x) (y)\n"
            "#define NMM_IOTA 0u\n");
    }
    bnm_cg_buf_printf(b,
        "#define NMM_GIDX_ROWS %du\n"
        "#define NMM_UNIFORM_CONN %uu\n"
        "#define NMM_SHARED_NOISE %uu\n"
        "#define NMM_LOCAL_W %uu\n",
        BNM_CG_GIDX_ROWS, BNM_CG_FLAG_UNIFORM_CONN, BNM_CG_FLAG_SHARED_NOISE,
        BNM_CG_FLAG_LOCAL_W);
}

/* With common random numbers (every lane has the same seed and noise id, analysis.md
 * 5.2) a step's normals are one per (node, noisy state), not one per lane: they are drawn
 * NMM_L nodes at a time into the work-item's buffer and broadcast. The draw of node i is
 * the same function of the same counter either way, so the bits match the per-lane
 * path. */
static void emit_shared_noise(gen *g, bnm_cg_buf *b)
{
    if (g->lanes == 1 || g->n_noisy == 0 || g->rs->integrator == BNM_INTEG_RK4)
        return;
    bnm_cg_buf_puts(b,
        "if ((nmm_flags & NMM_SHARED_NOISE) != 0u) {\n"
        "    const nmm_uint nmm_slo = (nmm_uint)nmm_gi[0];\n"
        "    const nmm_uint nmm_shi = (nmm_uint)nmm_gi[NMM_L];\n"
        "    const nmm_uint nmm_sid = (nmm_uint)nmm_gi[2u * NMM_L];\n"
        "    for (ulong nmm_b0 = 0; nmm_b0 < nmm_nn; nmm_b0 += NMM_L) {\n"
        "        const nmm_uint nmm_node = (nmm_uint)(uint)nmm_b0 + NMM_IOTA;\n");
    for (int s = 0; s < g->ir->n_states; s++)
        if (g->noisy_slot[s] >= 0)
            bnm_cg_buf_printf(b,
                "        NMM_VSTORE(nmm_rngv_normal(nmm_slo, nmm_shi, nmm_sid, nmm_node, nmm_k, %uu), 0,\n"
                "                   nmm_zb + %du * nmm_nnl + nmm_b0);\n",
                bnm_rng_stream_noise(g->ir->states[s].noise_slot), g->noisy_slot[s]);
    bnm_cg_buf_puts(b, "    }\n}\n");
}

static void emit_kernel(gen *g, bnm_cg_buf *b)
{
    const bnm_model_ir *ir = g->ir;
    const bnm_cg_spec *rs = g->rs;
    bnm_cg_buf_printf(b,
        "/* clBNM model kernel (generator v%d): model %s, %s, %s, noise %s, delays %s, %d lane%s. */\n",
        BNM_CODEGEN_VERSION, ir->name, g->dbl ? "double" : "float",
        rs->integrator == BNM_INTEG_EULER ? "euler" : rs->integrator == BNM_INTEG_HEUN ? "heun" : "rk4",
        rs->noise ? "on" : "off", rs->delays ? "on" : "off", g->lanes, g->lanes > 1 ? "s" : "");
    bnm_cg_buf_printf(b, "/* model file: %zu bytes, fnv1a64 %016llx */\n", ir->source_len,
                      (unsigned long long)bnm_cg_source_hash(ir));
    bnm_cg_buf_puts(b, "#pragma OPENCL FP_CONTRACT OFF\n");
    emit_types(g, b);
    bnm_cg_buf_printf(b, "#define NMM_NSP %du\n#define NMM_NNP %du\n#define NMM_NNC %du\n"
                      "#define NMM_NCPL %du\n",
                      rs->n_sim_params, rs->n_node_params, g->n_node_lets + g->n_node_h, g->n_cpl);
    if (rs->noise) {
        bnm_cg_buf_puts(b, bnm_rng_cl_source);
        bnm_cg_buf_puts(b, bnm_rng_cl_lanes_source);
    }
    emit_helpers(g, b);
    /* Extension points (codegen.h): the batch engine splices its code at these markers. */
    bnm_cg_buf_puts(b, BNM_CODEGEN_MARK_PRELUDE "\n");
    put_engine_line(b);
    bnm_cg_buf_puts(b,
        "__kernel void nmm_");
    bnm_cg_buf_puts(b, ir->name);
    bnm_cg_buf_puts(b, "_integrate(const uint nmm_n_sims, const uint nmm_n_nodes,\n"
        "    const ulong nmm_first, const uint nmm_n_steps, const nmm_sreal nmm_t0,\n"
        "    const nmm_sreal nmm_dt, const uint nmm_hist_len,\n"
        "    __global const uint *nmm_gidx, __global const nmm_sreal *nmm_weights,\n"
        "    __global const int *nmm_delays, __global nmm_real *nmm_hist,\n"
        "    __global const nmm_real *nmm_sim_params, __global const nmm_real *nmm_node_params,\n"
        "    __global nmm_real *nmm_node_cache, __global nmm_real *nmm_states,\n"
        "    __global ulong *nmm_status, __global nmm_sreal *nmm_zbuf,\n"
        "    __global nmm_real *nmm_cpl, __local nmm_sreal *nmm_wloc"
        BNM_CODEGEN_MARK_ARGS ")\n"
        "{\n"
        "/* nmm_s: this work-item's group of NMM_L simulations (lanes) */\n"
        "const ulong nmm_s = get_global_id(0);\n"
        "if (nmm_s >= (nmm_n_sims + NMM_L - 1u) / NMM_L)\n"
        "    return; /* padding work-item */\n");
    if (rs->n_nodes > 0)
        bnm_cg_buf_printf(b, "const ulong nmm_nn = %dul;\n", rs->n_nodes);
    else
        bnm_cg_buf_puts(b, "const ulong nmm_nn = nmm_n_nodes;\n");
    bnm_cg_buf_printf(b,
        "const ulong nmm_hl = nmm_hist_len;\n"
        "__global const uint *nmm_gi = nmm_gidx + nmm_s * NMM_GIDX_ROWS * NMM_L;\n"
        "const nmm_uint nmm_seed_lo = NMM_VLOAD(0, nmm_gi);\n"
        "const nmm_uint nmm_seed_hi = NMM_VLOAD(0, nmm_gi + NMM_L);\n"
        "const nmm_uint nmm_nid = NMM_VLOAD(0, nmm_gi + 2u * NMM_L);\n"
        "const ulong nmm_conn = nmm_gi[3u * NMM_L];\n"
        "const ulong nmm_dmat = nmm_gi[4u * NMM_L];\n"
        "const uint nmm_flags = nmm_gi[5u * NMM_L];\n"
        "/* one lane: the work-group copies its shared connectome to local memory once (the\n"
        "   flag is the same for the whole work-group, so all of it reaches the barrier) */\n"
        "if (NMM_L == 1u && (nmm_flags & NMM_LOCAL_W) != 0u) {\n"
        "    for (ulong nmm_q = get_local_id(0); nmm_q < nmm_nn * nmm_nn; nmm_q += get_local_size(0))\n"
        "        nmm_wloc[nmm_q] = nmm_weights[nmm_conn * nmm_nn * nmm_nn + nmm_q];\n"
        "    barrier(CLK_LOCAL_MEM_FENCE);\n"
        "}\n"
        "/* lanes frozen after a non-finite state (10.8), and padding lanes */\n"
        "nmm_mask nmm_dead;\n"
        "{\n"
        "    nmm_mask_elem nmm_dd[NMM_L];\n"
        "    for (uint nmm_l = 0; nmm_l < NMM_L; ++nmm_l)\n"
        "        nmm_dd[nmm_l] = nmm_status[2u * (nmm_s * NMM_L + nmm_l)] != 0 ? NMM_TRUE : 0;\n"
        "    nmm_dead = NMM_VLOAD(0, nmm_dd);\n"
        "}\n"
        "if (NMM_ALL(nmm_dead))\n"
        "    return;\n"
        "const ulong nmm_sb = nmm_s * %du;\n"
        "const ulong nmm_hb = nmm_s * %du * nmm_hl * nmm_nn;\n"
        "const nmm_sreal nmm_two = (nmm_sreal)2;\n"
        "const nmm_sreal nmm_hdt = nmm_dt / nmm_two;\n"
        "const nmm_sreal nmm_dt6 = nmm_dt / (nmm_sreal)6;\n"
        "(void)nmm_seed_lo; (void)nmm_seed_hi; (void)nmm_nid; (void)nmm_conn; (void)nmm_dmat;\n"
        "(void)nmm_hb; (void)nmm_flags; (void)nmm_cpl;\n",
        ir->n_states, ir->n_transmit);
    if (g->lanes > 1) {
        /* per-lane connectome and delay bases for the gather path */
        bnm_cg_buf_puts(b,
            "ulong nmm_wl[NMM_L], nmm_dl[NMM_L];\n"
            "for (uint nmm_l = 0; nmm_l < NMM_L; ++nmm_l) {\n"
            "    nmm_wl[nmm_l] = (ulong)nmm_gi[3u * NMM_L + nmm_l] * nmm_nn * nmm_nn;\n"
            "    nmm_dl[nmm_l] = (ulong)nmm_gi[4u * NMM_L + nmm_l] * nmm_nn * nmm_nn;\n"
            "}\n"
            "__global const nmm_sreal *nmm_hsc = (__global const nmm_sreal *)nmm_hist;\n"
            "const ulong nmm_nnl = (nmm_nn + NMM_L - 1u) / NMM_L * NMM_L;\n");
        bnm_cg_buf_printf(b,
            "__global nmm_sreal *nmm_zb = nmm_zbuf + nmm_s * %du * nmm_nnl;\n"
            "(void)nmm_wl; (void)nmm_dl; (void)nmm_hsc; (void)nmm_zb;\n",
            g->n_noisy);
    }
    (void)0;
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
        "const nmm_sreal nmm_tk = nmm_t0 + (nmm_sreal)nmm_k * nmm_dt;\n"
        "const nmm_sreal nmm_tk1 = nmm_t0 + (nmm_sreal)(nmm_k + 1) * nmm_dt;\n"
        "const nmm_sreal nmm_th = nmm_tk + nmm_hdt;\n"
        "const ulong nmm_slot = nmm_k % nmm_hl;\n"
        "(void)nmm_tk1; (void)nmm_th; (void)nmm_slot;\n"
        "nmm_mask nmm_bad = (nmm_mask)0;\n");
    emit_shared_noise(g, b);
    emit_publish(g, b);
    emit_coupling_pass(g, b);
    emit_node_update(g, b);
    /* A lane that turns non-finite records its step and freezes; the work-item stops
     * when every lane has. */
    bnm_cg_buf_puts(b,
        "{\n"
        "    const nmm_mask nmm_new = nmm_bad && !nmm_dead;\n"
        "    if (NMM_ANY(nmm_new)) {\n"
        "        nmm_mask_elem nmm_nb[NMM_L];\n"
        "        NMM_VSTORE(nmm_new, 0, nmm_nb);\n"
        "        for (uint nmm_l = 0; nmm_l < NMM_L; ++nmm_l)\n"
        "            if (nmm_nb[nmm_l] != 0) {\n"
        "                nmm_status[2u * (nmm_s * NMM_L + nmm_l)] = 1;\n"
        "                nmm_status[2u * (nmm_s * NMM_L + nmm_l) + 1u] = nmm_k + 1;\n"
        "            }\n"
        "        nmm_dead = nmm_dead || nmm_new;\n"
        "        if (NMM_ALL(nmm_dead))\n"
        "            break;\n"
        "    }\n"
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
    free(g->noisy_slot);
}

bnm_status bnm_codegen_emit_full(bnm_context *ctx, const struct bnm_model_ir *ir,
                                 const bnm_model_spec *spec, char **source_out,
                                 bnm_model_abi **abi_out, int *n_node_cache_out)
{
    bnm_cg_layout lay;
    bnm_status st = bnm_cg_emit(ctx, ir, spec, source_out, abi_out, &lay);
    if (st == BNM_OK && n_node_cache_out)
        *n_node_cache_out = lay.n_node_cache;
    return st;
}

bnm_status bnm_cg_emit(bnm_context *ctx, const bnm_model_ir *ir, const bnm_model_spec *spec,
                       char **source_out, bnm_model_abi **abi_out, bnm_cg_layout *layout_out)
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
    g.lanes = rs->lanes;
    g.noisy_slot = malloc(((size_t)ir->n_states + 1) * sizeof *g.noisy_slot);
    if (!g.noisy_slot)
        goto nomem;
    for (int s = 0; s < ir->n_states; s++) {
        g.noisy_slot[s] = -1;
        if (rs->noise && ir->states[s].noise) {
            g.nscale[s] = bnm_cg_noise_scale(ir->states[s].noise);
            if (!g.nscale[s])
                goto nomem;
            g.noisy_slot[s] = g.n_noisy++;
        }
    }
    for (int l = 0; l < ir->n_lets; l++)
        g.node_let_slot[l] = rs->let_level[l] == BNM_LEVEL_NODE ? g.n_node_lets++ : -1;
    for (int c = 0; c < ir->n_couplings; c++)
        plan_sums(&g, ir->couplings[c].expr);
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
    layout_out->n_node_cache = g.n_node_lets + g.n_node_h;
    layout_out->n_noisy = g.n_noisy;
    layout_out->n_cpl = g.n_cpl;
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
