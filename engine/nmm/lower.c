/* Lowering of a checked .nmm file to the model IR (engine/ir/ir.h): names become
 * (kind, index), funcs are inlined as deep copies, lets are sorted, the transmitted set
 * and noise slots are assigned, value slots are folded and fic records merged. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nmm_check.h"

#define NMM_MAX_NODES 200000     /* per statement, after inlining */
#define NMM_MAX_TOTAL 20000000   /* whole model */
#define NMM_MAX_IR_DEPTH 1000

typedef struct lowerer {
    nmm_file *f;
    checker *C;
    int *transmit_of; /* decl index -> transmit index, -1 */
    long nodes, total;
    bool oom, too_big, too_deep;
} lowerer;

static bnm_ir_expr *node(lowerer *L, bnm_ir_op op, const nmm_expr *at)
{
    if (++L->nodes > NMM_MAX_NODES || ++L->total > NMM_MAX_TOTAL) {
        L->too_big = true;
        return NULL;
    }
    bnm_ir_expr *e = calloc(1, sizeof *e);
    if (!e) {
        L->oom = true;
        return NULL;
    }
    e->op = op;
    e->index = -1;
    if (at) {
        e->line = nmm_line_of(L->f, at->off);
        e->col = nmm_col_of(L->f, at->off);
    }
    return e;
}

static bnm_ir_expr *num(lowerer *L, double v, const nmm_expr *at)
{
    bnm_ir_expr *e = node(L, BNM_IR_NUM, at);
    if (e)
        e->value = v;
    return e;
}

static bnm_ir_expr *lw(lowerer *L, const nmm_expr *e, bnm_ir_expr **env, int nenv, int depth);

static bnm_ir_expr *ref(lowerer *L, const nmm_expr *e)
{
    nmm_decl *d = L->f->decls.v[e->ref];
    static const bnm_ir_op ops[] = {[K_PARAM] = BNM_IR_PARAM, [K_STATE] = BNM_IR_STATE,
                                    [K_LET] = BNM_IR_LET, [K_COUPLING] = BNM_IR_COUPLING,
                                    [K_INPUT] = BNM_IR_INPUT};
    if (d->kind == K_FUNC || d->kind == K_ALIAS)
        return NULL;
    bnm_ir_expr *x = node(L, ops[d->kind], e);
    if (x)
        x->index = d->index;
    return x;
}

static bnm_ir_expr *unary(lowerer *L, bnm_ir_op op, const nmm_expr *e, bnm_ir_expr *a)
{
    if (!a)
        return NULL;
    bnm_ir_expr *x = node(L, op, e);
    if (!x) {
        bnm_ir_expr_free(a);
        return NULL;
    }
    x->a = a;
    return x;
}

static bnm_ir_expr *lw_call(lowerer *L, const nmm_expr *e, bnm_ir_expr **env, int nenv, int depth)
{
    bnm_ir_expr *args[3] = {NULL, NULL, NULL};
    if (e->rk == R_DECL) {
        nmm_decl *fd = L->f->decls.v[e->ref];
        int n = fd->nfparams;
        bnm_ir_expr **a = calloc((size_t)n + 1, sizeof *a);
        if (!a) {
            L->oom = true;
            return NULL;
        }
        bnm_ir_expr *r = NULL;
        int i;
        for (i = 0; i < n; i++)
            if (!(a[i] = lw(L, e->args[i], env, nenv, depth + 1)))
                break;
        if (i == n)
            r = lw(L, fd->expr, a, n, depth + 1);
        for (int k = 0; k < n; k++)
            bnm_ir_expr_free(a[k]);
        free(a);
        return r;
    }
    int n = e->nargs < 3 ? e->nargs : 3;
    for (int i = 0; i < n; i++) {
        if (!(args[i] = lw(L, e->args[i], env, nenv, depth + 1))) {
            for (int k = 0; k < i; k++)
                bnm_ir_expr_free(args[k]);
            return NULL;
        }
    }
    bnm_ir_op op = e->rk == R_IF ? BNM_IR_IF : e->rk == R_SUMJ ? BNM_IR_SUM_J : BNM_IR_CALL;
    bnm_ir_expr *x = node(L, op, e);
    if (!x) {
        for (int k = 0; k < n; k++)
            bnm_ir_expr_free(args[k]);
        return NULL;
    }
    if (op == BNM_IR_CALL)
        x->fn = (bnm_ir_builtin)e->ref;
    x->a = args[0];
    x->b = args[1];
    x->c = args[2];
    return x;
}

static bnm_ir_expr *lw(lowerer *L, const nmm_expr *e, bnm_ir_expr **env, int nenv, int depth)
{
    if (depth > NMM_MAX_IR_DEPTH) {
        L->too_deep = true;
        return NULL;
    }
    switch (e->kind) {
    case E_NUM:
        return num(L, e->num, e);
    case E_NAME:
        switch (e->rk) {
        case R_DECL: return ref(L, e);
        case R_FPARAM: {
            if (e->ref >= nenv)
                return NULL;
            bnm_ir_expr *c = bnm_ir_expr_clone(env[e->ref]);
            if (!c)
                L->oom = true;
            return c;
        }
        case R_T: return node(L, BNM_IR_TIME, e);
        case R_DT: return node(L, BNM_IR_DT, e);
        case R_N: return node(L, BNM_IR_NNODES, e);
        case R_PI: return num(L, M_PI, e);
        case R_INF: return num(L, INFINITY, e);
        default: return NULL;
        }
    case E_INDEX:
        if (e->rk == R_W)
            return node(L, BNM_IR_WEIGHT, e);
        if (e->rk != R_DECL)
            return NULL;
        if (e->idx == IDX_J) {
            bnm_ir_expr *x = node(L, BNM_IR_SOURCE, e);
            if (x)
                x->index = L->transmit_of[e->ref];
            return x;
        }
        return ref(L, e);
    case E_POS:
        return lw(L, e->args[0], env, nenv, depth + 1);
    case E_NEG:
        return unary(L, BNM_IR_NEG, e, lw(L, e->args[0], env, nenv, depth + 1));
    case E_NOT:
        return unary(L, BNM_IR_NOT, e, lw(L, e->args[0], env, nenv, depth + 1));
    case E_CALL:
        return lw_call(L, e, env, nenv, depth);
    case E_BIN:
        break;
    }
    if (e->op == T_CARET) {
        const nmm_expr *ex = e->args[1];
        int sign = 1;
        if (ex->kind == E_NEG) {
            sign = -1;
            ex = ex->args[0];
        }
        if (ex->kind == E_NUM && ex->is_int_literal && ex->num <= 2147483647.0) {
            bnm_ir_expr *x = unary(L, BNM_IR_POWN, e, lw(L, e->args[0], env, nenv, depth + 1));
            if (x)
                x->ival = sign * (int)ex->num;
            return x;
        }
    }
    bnm_ir_op op;
    switch (e->op) {
    case T_PLUS: op = BNM_IR_ADD; break;
    case T_MINUS: op = BNM_IR_SUB; break;
    case T_STAR: op = BNM_IR_MUL; break;
    case T_SLASH: op = BNM_IR_DIV; break;
    case T_CARET: op = BNM_IR_POW; break;
    case T_LT: op = BNM_IR_LT; break;
    case T_LE: op = BNM_IR_LE; break;
    case T_GT: op = BNM_IR_GT; break;
    case T_GE: op = BNM_IR_GE; break;
    case T_EQEQ: op = BNM_IR_EQ; break;
    case T_NE: op = BNM_IR_NE; break;
    case T_AND: op = BNM_IR_AND; break;
    case T_OR: op = BNM_IR_OR; break;
    default: return NULL;
    }
    bnm_ir_expr *a = lw(L, e->args[0], env, nenv, depth + 1);
    if (!a)
        return NULL;
    bnm_ir_expr *b = lw(L, e->args[1], env, nenv, depth + 1);
    if (!b) {
        bnm_ir_expr_free(a);
        return NULL;
    }
    bnm_ir_expr *x = node(L, op, e);
    if (!x) {
        bnm_ir_expr_free(a);
        bnm_ir_expr_free(b);
        return NULL;
    }
    x->a = a;
    x->b = b;
    return x;
}

/* Lowers a statement's expression; constant ones are folded to one number. */
static bnm_ir_expr *lower_top(lowerer *L, const nmm_expr *e, bool fold)
{
    if (!e)
        return NULL;
    L->nodes = 0;
    if (fold && nmm_is_constant(e)) {
        double v;
        const nmm_expr *bad;
        const char *why;
        if (nmm_fold(e, &v, &bad, &why))
            return num(L, v, e);
    }
    return lw(L, e, NULL, 0, 0);
}

static double fold_value(const nmm_expr *e)
{
    double v = NAN;
    const nmm_expr *bad;
    const char *why;
    if (e && nmm_fold(e, &v, &bad, &why))
        return v;
    return NAN;
}

static char *dup(lowerer *L, const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        L->oom = true;
    return p;
}

bnm_model_ir *nmm_lower(nmm_file *f, const char *orig_text, size_t orig_len)
{
    checker *C = f->checker;
    lowerer L = {.f = f, .C = C};
    bnm_model_ir *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    int n = f->decls.n;
    L.transmit_of = calloc((size_t)n + 1, sizeof(int));
    int counts[7] = {0};
    for (int i = 0; i < n; i++) {
        nmm_decl *d = f->decls.v[i];
        L.transmit_of[i] = -1;
        if (d->kind != K_LET)
            d->index = counts[d->kind]++;
        else
            counts[K_LET]++;
    }
    for (int k = 0; k < C->nlet_order; k++)
        ((nmm_decl *)f->decls.v[C->let_order[k]])->index = k;
    m->params = calloc((size_t)counts[K_PARAM] + 1, sizeof *m->params);
    m->states = calloc((size_t)counts[K_STATE] + 1, sizeof *m->states);
    m->lets = calloc((size_t)counts[K_LET] + 1, sizeof *m->lets);
    m->couplings = calloc((size_t)counts[K_COUPLING] + 1, sizeof *m->couplings);
    m->inputs = calloc((size_t)counts[K_INPUT] + 1, sizeof *m->inputs);
    m->transmit = calloc((size_t)C->sources.n + 1, sizeof *m->transmit);
    m->outputs = calloc((size_t)f->outputs.n + 1, sizeof *m->outputs);
    m->docs = calloc((size_t)f->docs.n + 1, sizeof(char *));
    m->cites = calloc((size_t)f->cites.n + 1, sizeof(char *));
    if (!L.transmit_of || !m->params || !m->states || !m->lets || !m->couplings || !m->inputs ||
        !m->transmit || !m->outputs || !m->docs || !m->cites)
        goto fail;
    m->n_params = counts[K_PARAM];
    m->n_states = counts[K_STATE];
    m->n_lets = counts[K_LET];
    m->n_couplings = counts[K_COUPLING];
    m->n_inputs = counts[K_INPUT];
    for (int i = 0; i < C->sources.n; i++) {
        nmm_expr *e = C->sources.v[i];
        if (L.transmit_of[e->ref] >= 0)
            continue;
        nmm_decl *d = f->decls.v[e->ref];
        L.transmit_of[e->ref] = m->n_transmit;
        m->transmit[m->n_transmit].kind = d->kind == K_STATE ? BNM_REF_STATE : BNM_REF_LET;
        m->transmit[m->n_transmit].index = d->index;
        m->n_transmit++;
    }
    m->name = strndup(f->src + f->model_off, (size_t)f->model_len);
    m->file_name = dup(&L, f->file_name);
    m->source = malloc(orig_len + 1);
    if (!m->name || !m->source)
        goto fail;
    memcpy(m->source, orig_text, orig_len);
    m->source[orig_len] = '\0';
    m->source_len = orig_len;
    for (int i = 0; i < f->docs.n; i++)
        m->docs[m->n_docs++] = dup(&L, f->docs.v[i]);
    for (int i = 0; i < f->cites.n; i++)
        m->cites[m->n_cites++] = dup(&L, f->cites.v[i]);
    m->time_unit = f->time_unit_off ? f->time_unit : BNM_TIME_MS;
    m->integrator = f->integrator_off ? f->integrator : BNM_INTEG_HEUN;
    int noise_slot = 0;
    for (int i = 0; i < n && !L.oom; i++) {
        nmm_decl *d = f->decls.v[i];
        int line = nmm_line_of(f, d->name_off), col = nmm_col_of(f, d->name_off);
        switch (d->kind) {
        case K_PARAM: {
            bnm_ir_param *p = &m->params[d->index];
            p->name = dup(&L, d->name);
            p->alias = d->alias >= 0 ? dup(&L, ((nmm_decl *)f->decls.v[d->alias])->name) : NULL;
            p->unit = d->has_unit ? dup(&L, d->unit_text) : NULL;
            p->doc = dup(&L, d->doc);
            p->line = line;
            p->col = col;
            p->has_default = d->def != NULL;
            p->def = d->def ? fold_value(d->def) : 0;
            p->has_bounds = d->lo != NULL;
            p->lo = d->lo ? fold_value(d->lo) : -INFINITY;
            p->hi = d->hi ? fold_value(d->hi) : INFINITY;
            p->regional = d->regional;
            p->is_const = d->is_const;
            p->log_scale = d->log_scale;
            break;
        }
        case K_STATE: {
            bnm_ir_state *s = &m->states[d->index];
            s->name = dup(&L, d->name);
            s->unit = d->has_unit ? dup(&L, d->unit_text) : NULL;
            s->doc = dup(&L, d->doc);
            s->line = line;
            s->col = col;
            if (d->init_kind) {
                s->init_kind = d->init_kind == 1 ? BNM_INIT_UNIFORM : BNM_INIT_NORMAL;
                s->init_a = lower_top(&L, d->init->args[0], true);
                s->init_b = lower_top(&L, d->init->args[1], true);
            } else {
                s->init_kind = BNM_INIT_EXPR;
                s->init = lower_top(&L, d->init, true);
            }
            s->bound = d->bound == 1 ? BNM_BOUND_CLAMP : d->bound == 2 ? BNM_BOUND_WRAP : BNM_BOUND_NONE;
            if (d->bound) {
                s->lo = lower_top(&L, d->blo, true);
                s->hi = lower_top(&L, d->bhi, true);
            }
            nmm_ddt *dd = f->ddts.v[d->ddt];
            s->deriv = lower_top(&L, dd->expr, false);
            s->deriv_line = dd->line;
            s->noise_slot = -1;
            if (d->noise >= 0) {
                nmm_noise *nz = f->noises.v[d->noise];
                s->noise = lower_top(&L, nz->expr, false);
                s->noise_line = nz->line;
                s->noise_slot = noise_slot++;
            }
            break;
        }
        case K_LET: {
            bnm_ir_let *l = &m->lets[d->index];
            l->name = dup(&L, d->name);
            l->unit = d->has_unit ? dup(&L, d->unit_text) : NULL;
            l->doc = dup(&L, d->doc);
            l->line = line;
            l->col = col;
            l->expr = lower_top(&L, d->expr, false);
            l->uses_coupling = (nmm_closure(C, d) & DEP_COUPLING) != 0;
            break;
        }
        case K_COUPLING: {
            bnm_ir_coupling *c = &m->couplings[d->index];
            c->name = dup(&L, d->name);
            c->unit = d->has_unit ? dup(&L, d->unit_text) : NULL;
            c->doc = dup(&L, d->doc);
            c->line = line;
            c->col = col;
            c->expr = lower_top(&L, d->expr, false);
            break;
        }
        case K_INPUT: {
            bnm_ir_input *u = &m->inputs[d->index];
            u->name = dup(&L, d->name);
            u->unit = d->has_unit ? dup(&L, d->unit_text) : NULL;
            u->doc = dup(&L, d->doc);
            u->line = line;
            u->col = col;
            u->def = lower_top(&L, d->expr, true);
            break;
        }
        default:
            break;
        }
        if (L.too_big || L.too_deep)
            break;
    }
    for (int i = 0; i < f->outputs.n; i++) {
        nmm_nameref *r = f->outputs.v[i];
        int di = nmm_lookup(f, f->src + r->off, r->len);
        nmm_decl *d = f->decls.v[di];
        bnm_ir_ref_kind k = d->kind == K_STATE ? BNM_REF_STATE : d->kind == K_LET ? BNM_REF_LET
                            : d->kind == K_COUPLING ? BNM_REF_COUPLING : BNM_REF_INPUT;
        if (d->out_line < 0)
            continue; /* listed twice: warned, recorded once */
        d->out_line = -1;
        m->outputs[m->n_outputs].kind = k;
        m->outputs[m->n_outputs].index = d->index;
        m->n_outputs++;
    }
    if (f->bolds.n) {
        nmm_nameref *r = f->bolds.v[0];
        nmm_decl *d = f->decls.v[nmm_lookup(f, f->src + r->off, r->len)];
        m->has_bold = true;
        m->bold.kind = d->kind == K_STATE ? BNM_REF_STATE : BNM_REF_LET;
        m->bold.index = d->index;
    }
    if (C->fic) {
        m->fic = calloc(1, sizeof *m->fic);
        if (!m->fic)
            goto fail;
        nmm_fic_plan *p = C->fic;
        m->fic->param = ((nmm_decl *)f->decls.v[p->param])->index;
        m->fic->increasing = p->increasing;
        m->fic->method = p->method ? BNM_FIC_ITERATIVE : BNM_FIC_STEADY_STATE;
        m->fic->line = p->line;
        for (int k = 0; k < 2; k++) {
            nmm_fic_rec *r = &p->rec[k];
            bnm_ir_fic_method_rec *o = k == 0 ? &m->fic->steady_state : &m->fic->iterative;
            if (!r->present)
                continue;
            o->present = true;
            o->measure = lower_top(&L, r->measure, false);
            o->target = r->target;
            o->range_lo = r->range_lo;
            o->range_hi = r->range_hi;
            o->fallback = r->fallback;
            o->tol = r->tol;
            o->window_lo = r->window_lo;
            o->window_hi = r->window_hi;
            o->sample = r->sample;
            o->step = r->step;
            o->step_min = r->step_min;
            o->shrink = r->shrink;
            o->max_trials = r->max_trials;
            o->solve_tol = r->solve_tol;
            o->max_iter = r->max_iter;
        }
    }
    if (L.oom || L.too_big || L.too_deep)
        goto fail;
    /* every state must have its right-hand side, every let its tree */
    for (int i = 0; i < m->n_states; i++)
        if (!m->states[i].deriv)
            goto fail;
    free(L.transmit_of);
    return m;
fail:
    if (L.too_big || L.too_deep)
        nmm_diag_add(f, NMM_ERROR, f->model_off ? f->model_off : -1, f->model_len,
                     L.too_big ? "the model is too large after inlining funcs (more than %d "
                                 "nodes in one expression)"
                               : "expressions nest more than %d levels after inlining funcs",
                     L.too_big ? NMM_MAX_NODES : NMM_MAX_IR_DEPTH);
    free(L.transmit_of);
    bnm_model_ir_destroy(m);
    return NULL;
}
