/* Hand-built IR for the back-end tests (see ir_builder.h). */
#include "ir_builder.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *text)
{
    fprintf(stderr, "ir_builder: %s in '%s'\n", what, text);
    abort();
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory", "");
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        die("out of memory", s);
    return d;
}

typedef struct parser {
    bnm_model_ir *m;
    const char *text, *p;
    int line;
    bool in_sum;
} parser;

static bnm_ir_expr *node(parser *ps, bnm_ir_op op)
{
    bnm_ir_expr *e = calloc(1, sizeof *e);
    if (!e)
        die("out of memory", ps->text);
    e->op = op;
    e->line = ps->line;
    e->col = (int)(ps->p - ps->text) + 1;
    return e;
}

static void skip(parser *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static bool eat(parser *ps, const char *tok)
{
    skip(ps);
    size_t n = strlen(tok);
    if (strncmp(ps->p, tok, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static void expect(parser *ps, const char *tok)
{
    if (!eat(ps, tok))
        die("expected token", ps->text);
}

static bnm_ir_expr *parse_or(parser *ps);

static bnm_ir_expr *bin(parser *ps, bnm_ir_op op, bnm_ir_expr *a, bnm_ir_expr *b)
{
    bnm_ir_expr *e = node(ps, op);
    e->a = a;
    e->b = b;
    e->line = a->line;
    e->col = a->col;
    return e;
}

static void add_transmit(bnm_model_ir *m, bnm_ir_ref_kind kind, int index, bnm_ir_expr *e)
{
    for (int t = 0; t < m->n_transmit; t++)
        if (m->transmit[t].kind == kind && m->transmit[t].index == index) {
            e->index = t;
            return;
        }
    m->transmit = xrealloc(m->transmit, (size_t)(m->n_transmit + 1) * sizeof *m->transmit);
    m->transmit[m->n_transmit].kind = kind;
    m->transmit[m->n_transmit].index = index;
    e->index = m->n_transmit++;
}

static bnm_ir_expr *parse_name(parser *ps)
{
    char name[64];
    int n = 0;
    while ((isalnum((unsigned char)*ps->p) || *ps->p == '_') && n < 63)
        name[n++] = *ps->p++;
    name[n] = '\0';
    bnm_model_ir *m = ps->m;
    if (strcmp(name, "t") == 0)
        return node(ps, BNM_IR_TIME);
    if (strcmp(name, "dt") == 0)
        return node(ps, BNM_IR_DT);
    if (strcmp(name, "N") == 0)
        return node(ps, BNM_IR_NNODES);
    if (strcmp(name, "pi") == 0) {
        bnm_ir_expr *e = node(ps, BNM_IR_NUM);
        e->value = M_PI;
        return e;
    }
    if (strcmp(name, "inf") == 0) {
        bnm_ir_expr *e = node(ps, BNM_IR_NUM);
        e->value = INFINITY;
        return e;
    }
    if (strcmp(name, "W") == 0) {
        expect(ps, "[");
        expect(ps, "i");
        expect(ps, ",");
        expect(ps, "j");
        expect(ps, "]");
        return node(ps, BNM_IR_WEIGHT);
    }
    if (strcmp(name, "if") == 0) {
        bnm_ir_expr *e = node(ps, BNM_IR_IF);
        expect(ps, "(");
        e->a = parse_or(ps);
        expect(ps, ",");
        e->b = parse_or(ps);
        expect(ps, ",");
        e->c = parse_or(ps);
        expect(ps, ")");
        return e;
    }
    if (strcmp(name, "sum_j") == 0) {
        bnm_ir_expr *e = node(ps, BNM_IR_SUM_J);
        expect(ps, "(");
        ps->in_sum = true;
        e->a = parse_or(ps);
        ps->in_sum = false;
        expect(ps, ")");
        return e;
    }
    for (int f = 0; f < BNM_FN_COUNT_; f++)
        if (strcmp(name, bnm_ir_builtin_name((bnm_ir_builtin)f)) == 0) {
            bnm_ir_expr *e = node(ps, BNM_IR_CALL);
            e->fn = (bnm_ir_builtin)f;
            expect(ps, "(");
            e->a = parse_or(ps);
            if (bnm_ir_builtin_arity(e->fn) > 1) {
                expect(ps, ",");
                e->b = parse_or(ps);
            }
            if (bnm_ir_builtin_arity(e->fn) > 2) {
                expect(ps, ",");
                e->c = parse_or(ps);
            }
            expect(ps, ")");
            return e;
        }
    static const struct {
        bnm_ir_ref_kind kind;
        bnm_ir_op op;
    } kinds[] = {{BNM_REF_PARAM, BNM_IR_PARAM}, {BNM_REF_STATE, BNM_IR_STATE},
                 {BNM_REF_LET, BNM_IR_LET}, {BNM_REF_COUPLING, BNM_IR_COUPLING}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int idx = bnm_model_ir_find(m, kinds[k].kind, name);
        if (idx < 0)
            continue;
        bnm_ir_expr *e = node(ps, kinds[k].op);
        e->index = idx;
        if (eat(ps, "[")) {
            if (eat(ps, "j")) {
                if (!ps->in_sum)
                    die("[j] outside sum_j", ps->text);
                e->op = BNM_IR_SOURCE;
                add_transmit(m, kinds[k].kind, idx, e);
            } else {
                expect(ps, "i");
            }
            expect(ps, "]");
        }
        return e;
    }
    die("unknown name", ps->text);
    return NULL;
}

static bnm_ir_expr *parse_primary(parser *ps)
{
    skip(ps);
    if (eat(ps, "(")) {
        bnm_ir_expr *e = parse_or(ps);
        expect(ps, ")");
        return e;
    }
    if (isdigit((unsigned char)*ps->p) || *ps->p == '.') {
        bnm_ir_expr *e = node(ps, BNM_IR_NUM);
        char *end;
        e->value = strtod(ps->p, &end);
        ps->p = end;
        return e;
    }
    if (isalpha((unsigned char)*ps->p) || *ps->p == '_')
        return parse_name(ps);
    die("unexpected character", ps->text);
    return NULL;
}

static bnm_ir_expr *parse_unary(parser *ps);

static bnm_ir_expr *parse_pow(parser *ps)
{
    bnm_ir_expr *a = parse_primary(ps);
    if (eat(ps, "^")) {
        skip(ps);
        const char *save = ps->p;
        bool neg = eat(ps, "-");
        skip(ps);
        if (isdigit((unsigned char)*ps->p)) {
            char *end;
            long v = strtol(ps->p, &end, 10);
            if (*end != '.' && *end != 'e') {
                ps->p = end;
                bnm_ir_expr *e = node(ps, BNM_IR_POWN);
                e->a = a;
                e->ival = (int)(neg ? -v : v);
                return e;
            }
        }
        ps->p = save;
        return bin(ps, BNM_IR_POW, a, parse_unary(ps));
    }
    return a;
}

static bnm_ir_expr *parse_unary(parser *ps)
{
    if (eat(ps, "-")) {
        bnm_ir_expr *e = node(ps, BNM_IR_NEG);
        e->a = parse_unary(ps);
        return e;
    }
    if (eat(ps, "not ")) {
        bnm_ir_expr *e = node(ps, BNM_IR_NOT);
        e->a = parse_unary(ps);
        return e;
    }
    return parse_pow(ps);
}

static bnm_ir_expr *parse_mul(parser *ps)
{
    bnm_ir_expr *a = parse_unary(ps);
    for (;;) {
        if (eat(ps, "*"))
            a = bin(ps, BNM_IR_MUL, a, parse_unary(ps));
        else if (eat(ps, "/"))
            a = bin(ps, BNM_IR_DIV, a, parse_unary(ps));
        else
            return a;
    }
}

static bnm_ir_expr *parse_add(parser *ps)
{
    bnm_ir_expr *a = parse_mul(ps);
    for (;;) {
        if (eat(ps, "+"))
            a = bin(ps, BNM_IR_ADD, a, parse_mul(ps));
        else if (eat(ps, "-"))
            a = bin(ps, BNM_IR_SUB, a, parse_mul(ps));
        else
            return a;
    }
}

static bnm_ir_expr *parse_cmp(parser *ps)
{
    bnm_ir_expr *a = parse_add(ps);
    static const struct {
        const char *tok;
        bnm_ir_op op;
    } ops[] = {{"<=", BNM_IR_LE}, {">=", BNM_IR_GE}, {"==", BNM_IR_EQ}, {"!=", BNM_IR_NE},
               {"<", BNM_IR_LT},  {">", BNM_IR_GT}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (eat(ps, ops[k].tok))
            return bin(ps, ops[k].op, a, parse_add(ps));
    return a;
}

static bnm_ir_expr *parse_and(parser *ps)
{
    bnm_ir_expr *a = parse_cmp(ps);
    while (eat(ps, "and "))
        a = bin(ps, BNM_IR_AND, a, parse_cmp(ps));
    return a;
}

static bnm_ir_expr *parse_or(parser *ps)
{
    bnm_ir_expr *a = parse_and(ps);
    while (eat(ps, "or "))
        a = bin(ps, BNM_IR_OR, a, parse_and(ps));
    return a;
}

bnm_ir_expr *tb_expr(bnm_model_ir *m, const char *text, int line)
{
    parser ps = {m, text, text, line, false};
    bnm_ir_expr *e = parse_or(&ps);
    skip(&ps);
    if (*ps.p)
        die("trailing text", text);
    return e;
}

bnm_model_ir *tb_model(const char *name, const char *file_name, bnm_ir_integrator integ)
{
    bnm_model_ir *m = calloc(1, sizeof *m);
    if (!m)
        die("out of memory", name);
    m->name = xstrdup(name);
    m->file_name = xstrdup(file_name);
    m->source = xstrdup("");
    m->time_unit = BNM_TIME_MS;
    m->integrator = integ;
    return m;
}

int tb_param(bnm_model_ir *m, const char *name, double def, bool regional, bool is_const)
{
    m->params = xrealloc(m->params, (size_t)(m->n_params + 1) * sizeof *m->params);
    bnm_ir_param *p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    p->name = xstrdup(name);
    p->line = 2 + m->n_params;
    p->has_default = !isnan(def);
    p->def = def;
    p->regional = regional;
    p->is_const = is_const;
    return m->n_params++;
}

int tb_state(bnm_model_ir *m, const char *name, const char *init, bnm_ir_bound_kind bound,
             const char *lo, const char *hi, int line)
{
    m->states = xrealloc(m->states, (size_t)(m->n_states + 1) * sizeof *m->states);
    bnm_ir_state *s = &m->states[m->n_states];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    s->line = line;
    s->noise_slot = -1;
    m->n_states++;
    s->init_kind = BNM_INIT_EXPR;
    s->init = tb_expr(m, init, line);
    s->bound = bound;
    if (bound != BNM_BOUND_NONE) {
        s->lo = tb_expr(m, lo, line);
        s->hi = tb_expr(m, hi, line);
    }
    return m->n_states - 1;
}

static bool expr_uses_coupling(const bnm_model_ir *m, const bnm_ir_expr *e)
{
    if (!e)
        return false;
    if (e->op == BNM_IR_COUPLING)
        return true;
    if (e->op == BNM_IR_LET && m->lets[e->index].uses_coupling)
        return true;
    return expr_uses_coupling(m, e->a) || expr_uses_coupling(m, e->b) ||
           expr_uses_coupling(m, e->c);
}

int tb_let(bnm_model_ir *m, const char *name, const char *expr, int line)
{
    bnm_ir_expr *e = tb_expr(m, expr, line);
    m->lets = xrealloc(m->lets, (size_t)(m->n_lets + 1) * sizeof *m->lets);
    bnm_ir_let *l = &m->lets[m->n_lets];
    memset(l, 0, sizeof *l);
    l->name = xstrdup(name);
    l->line = line;
    l->expr = e;
    l->uses_coupling = expr_uses_coupling(m, e);
    return m->n_lets++;
}

int tb_coupling(bnm_model_ir *m, const char *name, const char *expr, int line)
{
    bnm_ir_expr *e = tb_expr(m, expr, line);
    m->couplings = xrealloc(m->couplings, (size_t)(m->n_couplings + 1) * sizeof *m->couplings);
    bnm_ir_coupling *c = &m->couplings[m->n_couplings];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
    c->line = line;
    c->expr = e;
    return m->n_couplings++;
}

void tb_deriv(bnm_model_ir *m, const char *state, const char *expr, int line)
{
    int s = bnm_model_ir_find(m, BNM_REF_STATE, state);
    if (s < 0)
        die("unknown state", state);
    m->states[s].deriv = tb_expr(m, expr, line);
    m->states[s].deriv_line = line;
}

void tb_noise(bnm_model_ir *m, const char *state, const char *expr, int line)
{
    int s = bnm_model_ir_find(m, BNM_REF_STATE, state);
    if (s < 0)
        die("unknown state", state);
    int slot = 0;
    for (int k = 0; k < m->n_states; k++)
        if (m->states[k].noise)
            slot++;
    m->states[s].noise = tb_expr(m, expr, line);
    m->states[s].noise_line = line;
    m->states[s].noise_slot = slot;
}
