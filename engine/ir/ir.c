#include "ir.h"

#include <stdlib.h>
#include <string.h>

void bnm_ir_expr_free(bnm_ir_expr *e)
{
    if (!e)
        return;
    bnm_ir_expr_free(e->a);
    bnm_ir_expr_free(e->b);
    bnm_ir_expr_free(e->c);
    free(e);
}

bnm_ir_expr *bnm_ir_expr_clone(const bnm_ir_expr *e)
{
    if (!e)
        return NULL;
    bnm_ir_expr *copy = malloc(sizeof *copy);
    if (!copy)
        return NULL;
    *copy = *e;
    copy->a = copy->b = copy->c = NULL;
    if ((e->a && !(copy->a = bnm_ir_expr_clone(e->a))) ||
        (e->b && !(copy->b = bnm_ir_expr_clone(e->b))) ||
        (e->c && !(copy->c = bnm_ir_expr_clone(e->c)))) {
        bnm_ir_expr_free(copy);
        return NULL;
    }
    return copy;
}

static void free_strings(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_fic_rec(bnm_ir_fic_method_rec *r)
{
    bnm_ir_expr_free(r->measure);
}

void bnm_model_ir_destroy(bnm_model_ir *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_params; i++) {
        free(m->params[i].name);
        free(m->params[i].alias);
        free(m->params[i].unit);
        free(m->params[i].doc);
    }
    for (int i = 0; i < m->n_states; i++) {
        bnm_ir_state *s = &m->states[i];
        free(s->name);
        free(s->unit);
        free(s->doc);
        bnm_ir_expr_free(s->init);
        bnm_ir_expr_free(s->init_a);
        bnm_ir_expr_free(s->init_b);
        bnm_ir_expr_free(s->lo);
        bnm_ir_expr_free(s->hi);
        bnm_ir_expr_free(s->deriv);
        bnm_ir_expr_free(s->noise);
    }
    for (int i = 0; i < m->n_lets; i++) {
        free(m->lets[i].name);
        free(m->lets[i].unit);
        free(m->lets[i].doc);
        bnm_ir_expr_free(m->lets[i].expr);
    }
    for (int i = 0; i < m->n_couplings; i++) {
        free(m->couplings[i].name);
        free(m->couplings[i].unit);
        free(m->couplings[i].doc);
        bnm_ir_expr_free(m->couplings[i].expr);
    }
    for (int i = 0; i < m->n_inputs; i++) {
        free(m->inputs[i].name);
        free(m->inputs[i].unit);
        free(m->inputs[i].doc);
        bnm_ir_expr_free(m->inputs[i].def);
    }
    if (m->fic) {
        free_fic_rec(&m->fic->steady_state);
        free_fic_rec(&m->fic->iterative);
        free(m->fic);
    }
    free(m->params);
    free(m->states);
    free(m->lets);
    free(m->couplings);
    free(m->inputs);
    free(m->transmit);
    free(m->outputs);
    free_strings(m->docs, m->n_docs);
    free_strings(m->cites, m->n_cites);
    free(m->name);
    free(m->file_name);
    free(m->source);
    free(m);
}

int bnm_model_ir_find(const bnm_model_ir *m, bnm_ir_ref_kind kind, const char *name)
{
#define FIND_IN(arr, n)                          \
    for (int i = 0; i < (n); i++)                \
        if (strcmp((arr)[i].name, name) == 0)    \
            return i;                            \
    return -1;
    switch (kind) {
    case BNM_REF_PARAM: FIND_IN(m->params, m->n_params)
    case BNM_REF_STATE: FIND_IN(m->states, m->n_states)
    case BNM_REF_LET: FIND_IN(m->lets, m->n_lets)
    case BNM_REF_COUPLING: FIND_IN(m->couplings, m->n_couplings)
    case BNM_REF_INPUT: FIND_IN(m->inputs, m->n_inputs)
    }
#undef FIND_IN
    return -1;
}

static const struct {
    const char *name;
    int arity;
} builtins[BNM_FN_COUNT_] = {
    [BNM_FN_EXP] = {"exp", 1},       [BNM_FN_EXPM1] = {"expm1", 1},
    [BNM_FN_LOG] = {"log", 1},       [BNM_FN_LOG1P] = {"log1p", 1},
    [BNM_FN_LOG10] = {"log10", 1},   [BNM_FN_SQRT] = {"sqrt", 1},
    [BNM_FN_SIN] = {"sin", 1},       [BNM_FN_COS] = {"cos", 1},
    [BNM_FN_TAN] = {"tan", 1},       [BNM_FN_ASIN] = {"asin", 1},
    [BNM_FN_ACOS] = {"acos", 1},     [BNM_FN_ATAN] = {"atan", 1},
    [BNM_FN_SINH] = {"sinh", 1},     [BNM_FN_COSH] = {"cosh", 1},
    [BNM_FN_TANH] = {"tanh", 1},     [BNM_FN_ERF] = {"erf", 1},
    [BNM_FN_ABS] = {"abs", 1},       [BNM_FN_FLOOR] = {"floor", 1},
    [BNM_FN_CEIL] = {"ceil", 1},     [BNM_FN_SIGN] = {"sign", 1},
    [BNM_FN_SIGMOID] = {"sigmoid", 1}, [BNM_FN_HEAVISIDE] = {"heaviside", 1},
    [BNM_FN_RELU] = {"relu", 1},     [BNM_FN_ATAN2] = {"atan2", 2},
    [BNM_FN_MOD] = {"mod", 2},       [BNM_FN_MIN] = {"min", 2},
    [BNM_FN_MAX] = {"max", 2},       [BNM_FN_CLAMP] = {"clamp", 3},
};

const char *bnm_ir_builtin_name(bnm_ir_builtin fn)
{
    return (int)fn >= 0 && fn < BNM_FN_COUNT_ ? builtins[fn].name : "?";
}

int bnm_ir_builtin_arity(bnm_ir_builtin fn)
{
    return (int)fn >= 0 && fn < BNM_FN_COUNT_ ? builtins[fn].arity : 0;
}
