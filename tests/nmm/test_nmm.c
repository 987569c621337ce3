/* Tests of the .nmm front end: the example models of nmm-format.md section 16 and
 * models.md Appendix A parse cleanly into the expected IR; the eight diagnostics of
 * section 13.3 are reproduced byte for byte; every broken file in bad/ fails with its
 * expected first line; arbitrary input never crashes, hangs or leaks. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clbnm/context.h"
#include "clbnm/model.h"
#include "ir.h"
#include "nmm.h"

static char *path_of(const char *rel)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "CLBNM_SOURCE_ROOT is not set");
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", root, rel);
    return p;
}

static char *slurp(const char *rel, size_t *len)
{
    char *p = path_of(rel);
    FILE *fp = fopen(p, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", p);
    free(p);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Parses text as file `name`; returns the status, *m and *diag (caller frees). */
static bnm_status parse(const char *name, const char *text, bnm_model_ir **m, char **diag)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_status st = bnm_nmm_parse(ctx, name, text, strlen(text), m, diag);
    if (st != BNM_OK) {
        ck_assert_ptr_null(*m);
        /* the context message holds the rendered diagnostics */
        ck_assert_str_eq(bnm_context_message(ctx), *diag);
    }
    bnm_context_destroy(ctx);
    return st;
}

static bnm_model_ir *parse_ok(const char *name, const char *text)
{
    bnm_model_ir *m = NULL;
    char *diag = NULL;
    bnm_status st = parse(name, text, &m, &diag);
    ck_assert_msg(st == BNM_OK, "%s failed:\n%s", name, diag);
    ck_assert_msg(strcmp(diag, "") == 0, "%s has diagnostics:\n%s", name, diag);
    free(diag);
    return m;
}

static bnm_model_ir *load_model(const char *file)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/nmm/models/%s", file);
    char *text = slurp(rel, NULL);
    bnm_model_ir *m = parse_ok(file, text);
    free(text);
    return m;
}

static int count_op(const bnm_ir_expr *e, bnm_ir_op op)
{
    if (!e)
        return 0;
    return (e->op == op) + count_op(e->a, op) + count_op(e->b, op) + count_op(e->c, op);
}

static bool reads_let_at_or_after(const bnm_ir_expr *e, int k)
{
    if (!e)
        return false;
    if (e->op == BNM_IR_LET && e->index >= k)
        return true;
    return reads_let_at_or_after(e->a, k) || reads_let_at_or_after(e->b, k) ||
           reads_let_at_or_after(e->c, k);
}

static int param(const bnm_model_ir *m, const char *name)
{
    int i = bnm_model_ir_find(m, BNM_REF_PARAM, name);
    ck_assert_msg(i >= 0, "param %s missing", name);
    return i;
}

/* ---- the example models ------------------------------------------------------------ */

START_TEST(examples_parse_cleanly)
{
    char *dir = path_of("tests/nmm/models");
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".nmm") != 0)
            continue;
        bnm_model_ir *m = load_model(de->d_name);
        /* every state has a right-hand side, lets are in dependency order */
        for (int s = 0; s < m->n_states; s++)
            ck_assert_ptr_nonnull(m->states[s].deriv);
        for (int k = 0; k < m->n_lets; k++)
            ck_assert_msg(!reads_let_at_or_after(m->lets[k].expr, k), "%s: let %s reads a later let",
                          de->d_name, m->lets[k].name);
        ck_assert_int_ge(m->n_transmit, 1);
        bnm_model_ir_destroy(m);
        n++;
    }
    closedir(d);
    free(dir);
    ck_assert_int_eq(n, 11); /* 4 files of section 16, 7 of Appendix A */
}
END_TEST

START_TEST(rww_ir)
{
    bnm_model_ir *m = load_model("rww.nmm");
    ck_assert_str_eq(m->name, "rww");
    ck_assert_str_eq(m->file_name, "rww.nmm");
    ck_assert_int_eq(m->time_unit, BNM_TIME_MS);
    ck_assert_int_eq(m->integrator, BNM_INTEG_EULER);
    ck_assert_int_eq(m->n_docs, 1);
    ck_assert_int_eq(m->n_cites, 1);
    ck_assert_int_eq(m->n_params, 19);
    ck_assert_int_eq(m->n_states, 2);
    ck_assert_int_eq(m->n_lets, 4);
    ck_assert_int_eq(m->n_couplings, 1);
    ck_assert_int_eq(m->n_inputs, 0);
    /* params: required G, alias, units, docs, folded constants */
    bnm_ir_param *G = &m->params[param(m, "G")];
    ck_assert(!G->has_default);
    ck_assert(G->has_bounds);
    ck_assert_double_eq(G->lo, 0.001);
    ck_assert_double_eq(G->hi, 10);
    ck_assert_str_eq(G->doc, "required");
    ck_assert_int_eq(G->line, 6);
    ck_assert_int_eq(G->col, 7);
    bnm_ir_param *J = &m->params[param(m, "J_N")];
    ck_assert_str_eq(J->alias, "J_NMDA");
    ck_assert_str_eq(J->unit, "nA");
    ck_assert(J->regional && !J->is_const);
    bnm_ir_param *ge = &m->params[param(m, "gamma_E")];
    ck_assert(ge->has_default && ge->is_const && !ge->has_bounds);
    ck_assert_double_eq_tol(ge->def, 0.641 / 1000, 1e-18);
    ck_assert_str_eq(ge->unit, "s/ms");
    ck_assert_ptr_null(m->params[param(m, "w_p")].alias);
    ck_assert_ptr_null(m->params[param(m, "w_p")].unit);
    /* states: clamp bounds folded, noise slots in declaration order */
    int se = bnm_model_ir_find(m, BNM_REF_STATE, "S_E"), si = bnm_model_ir_find(m, BNM_REF_STATE, "S_I");
    ck_assert_int_eq(se, 0);
    ck_assert_int_eq(si, 1);
    bnm_ir_state *S = &m->states[se];
    ck_assert_int_eq(S->init_kind, BNM_INIT_EXPR);
    ck_assert_int_eq(S->init->op, BNM_IR_NUM);
    ck_assert_double_eq(S->init->value, 0.001);
    ck_assert_int_eq(S->bound, BNM_BOUND_CLAMP);
    ck_assert_int_eq(S->lo->op, BNM_IR_NUM);
    ck_assert_double_eq(S->hi->value, 1);
    ck_assert_int_eq(S->deriv_line, 33);
    ck_assert_int_eq(m->states[si].deriv_line, 34);
    ck_assert_int_eq(S->noise_slot, 0);
    ck_assert_int_eq(m->states[si].noise_slot, 1);
    ck_assert_int_eq(S->noise->op, BNM_IR_PARAM);
    ck_assert_int_eq(S->noise->index, param(m, "sigma"));
    ck_assert_int_eq(S->noise_line, 35);
    /* lets: dependency order, coupling use, H inlined (no func call survives) */
    int ie = bnm_model_ir_find(m, BNM_REF_LET, "I_E"), re = bnm_model_ir_find(m, BNM_REF_LET, "r_E");
    int ii = bnm_model_ir_find(m, BNM_REF_LET, "I_I"), ri = bnm_model_ir_find(m, BNM_REF_LET, "r_I");
    ck_assert_int_lt(ie, re);
    ck_assert_int_lt(ii, ri);
    ck_assert(m->lets[ie].uses_coupling);
    ck_assert(m->lets[re].uses_coupling);
    ck_assert(!m->lets[ii].uses_coupling);
    ck_assert(!m->lets[ri].uses_coupling);
    ck_assert_str_eq(m->lets[ie].unit, "nA");
    bnm_ir_expr *r = m->lets[re].expr;
    ck_assert_int_eq(r->op, BNM_IR_IF);
    ck_assert_int_eq(r->a->op, BNM_IR_LT);
    /* H(y, d) is used once in r_E: y appears 4 times in the body, d 3 times */
    ck_assert_int_eq(count_op(r, BNM_IR_LET), 4);
    ck_assert_int_eq(count_op(r, BNM_IR_CALL), 2); /* abs, expm1 */
    ck_assert_int_eq(r->line, 25); /* the func body's tokens keep their positions */
    /* coupling and transmitted set */
    bnm_ir_expr *c = m->couplings[0].expr;
    ck_assert_int_eq(c->op, BNM_IR_SUM_J);
    ck_assert_int_eq(c->a->op, BNM_IR_MUL);
    ck_assert_int_eq(c->a->a->op, BNM_IR_WEIGHT);
    ck_assert_int_eq(c->a->b->op, BNM_IR_SOURCE);
    ck_assert_int_eq(c->a->b->index, 0);
    ck_assert_int_eq(c->line, 28);
    ck_assert_int_eq(c->col, 14);
    ck_assert_int_eq(m->n_transmit, 1);
    ck_assert_int_eq(m->transmit[0].kind, BNM_REF_STATE);
    ck_assert_int_eq(m->transmit[0].index, se);
    /* outputs and BOLD */
    ck_assert_int_eq(m->n_outputs, 6);
    ck_assert_int_eq(m->outputs[0].kind, BNM_REF_LET);
    ck_assert_int_eq(m->outputs[0].index, ie);
    ck_assert_int_eq(m->outputs[5].kind, BNM_REF_STATE);
    ck_assert(m->has_bold);
    ck_assert_int_eq(m->bold.kind, BNM_REF_STATE);
    ck_assert_int_eq(m->bold.index, se);
    /* fic: block keys merged into both records, defaults from section 11.2 */
    ck_assert_ptr_nonnull(m->fic);
    ck_assert_int_eq(m->fic->param, param(m, "wIE"));
    ck_assert(!m->fic->increasing);
    ck_assert_int_eq(m->fic->method, BNM_FIC_STEADY_STATE);
    ck_assert_int_eq(m->fic->line, 38);
    bnm_ir_fic_method_rec *ss = &m->fic->steady_state, *it = &m->fic->iterative;
    ck_assert(ss->present && it->present);
    ck_assert_int_eq(ss->measure->op, BNM_IR_LET);
    ck_assert_int_eq(ss->measure->index, ie);
    ck_assert_double_eq(ss->target, 0.3773805650);
    ck_assert_double_eq(ss->range_lo, 0);
    ck_assert(isinf(ss->range_hi) && ss->range_hi > 0);
    ck_assert_double_eq(ss->fallback, 1);
    ck_assert_double_eq(ss->solve_tol, 1e-10);
    ck_assert_int_eq(ss->max_iter, 100);
    ck_assert_int_eq(it->measure->op, BNM_IR_SUB);
    ck_assert_int_eq(it->measure->b->op, BNM_IR_DIV);
    ck_assert_int_eq(it->measure->b->a->index, param(m, "b_E"));
    ck_assert_double_eq(it->target, -0.026);
    ck_assert_double_eq(it->tol, 0.005);
    ck_assert_double_eq(it->window_lo, 1000);
    ck_assert_double_eq(it->window_hi, 10000);
    ck_assert_double_eq(it->sample, 1);
    ck_assert_double_eq(it->step, 0.02);
    ck_assert_double_eq(it->step_min, 0.001);
    ck_assert_double_eq(it->shrink, 0.001);
    ck_assert_int_eq(it->max_trials, 10);
    ck_assert_double_eq(it->fallback, 1);
    ck_assert_double_eq(it->range_lo, 0);
    /* the IR keeps the exact source */
    size_t len;
    char *text = slurp("tests/nmm/models/rww.nmm", &len);
    ck_assert_uint_eq(m->source_len, len);
    ck_assert_str_eq(m->source, text);
    free(text);
    bnm_model_ir_destroy(m);
}
END_TEST

START_TEST(kuramoto_ir)
{
    bnm_model_ir *m = load_model("kuramoto.nmm");
    ck_assert_double_eq_tol(m->params[param(m, "omega")].def, M_PI, 1e-15);
    ck_assert_str_eq(m->params[param(m, "omega")].unit, "rad/ms");
    bnm_ir_state *th = &m->states[0];
    ck_assert_int_eq(th->init_kind, BNM_INIT_UNIFORM);
    ck_assert_ptr_null(th->init);
    ck_assert_int_eq(th->init_a->op, BNM_IR_NUM);
    ck_assert_double_eq(th->init_a->value, 0);
    ck_assert_int_eq(th->init_b->op, BNM_IR_NUM);
    ck_assert_double_eq_tol(th->init_b->value, 2 * M_PI, 1e-15);
    ck_assert_int_eq(th->bound, BNM_BOUND_WRAP);
    ck_assert_double_eq_tol(th->hi->value, 2 * M_PI, 1e-15);
    ck_assert_str_eq(th->doc, "the run may override it");
    /* sum_j(W[i,j] * sin(theta[j] - theta)) */
    bnm_ir_expr *c = m->couplings[0].expr;
    ck_assert_int_eq(c->op, BNM_IR_SUM_J);
    bnm_ir_expr *s = c->a->b;
    ck_assert_int_eq(s->op, BNM_IR_CALL);
    ck_assert_int_eq(s->fn, BNM_FN_SIN);
    ck_assert_int_eq(s->a->op, BNM_IR_SUB);
    ck_assert_int_eq(s->a->a->op, BNM_IR_SOURCE);
    ck_assert_int_eq(s->a->b->op, BNM_IR_STATE);
    ck_assert_int_eq(m->n_transmit, 1);
    /* d/dt theta = omega + G*c */
    ck_assert_int_eq(th->deriv->op, BNM_IR_ADD);
    ck_assert_int_eq(th->deriv->b->b->op, BNM_IR_COUPLING);
    bnm_model_ir_destroy(m);
}
END_TEST

START_TEST(jansen_rit_ir)
{
    bnm_model_ir *m = load_model("jansen_rit.nmm");
    ck_assert_int_eq(m->n_states, 6);
    ck_assert_int_eq(m->n_params, 18);
    /* the transmitted value is the let `out`, which does not use the coupling */
    ck_assert_int_eq(m->n_transmit, 1);
    ck_assert_int_eq(m->transmit[0].kind, BNM_REF_LET);
    ck_assert_int_eq(m->transmit[0].index, bnm_model_ir_find(m, BNM_REF_LET, "out"));
    ck_assert_int_lt(bnm_model_ir_find(m, BNM_REF_LET, "v_pyr"), bnm_model_ir_find(m, BNM_REF_LET, "out"));
    /* d/dt y3 = A*a*S(y1 - y2) - 2*a*y3 - a^2*y0: a^2 is POWN 2, S inlined */
    bnm_ir_expr *d3 = m->states[3].deriv;
    ck_assert_int_eq(count_op(d3, BNM_IR_POWN), 1);
    ck_assert_int_eq(d3->b->op, BNM_IR_MUL);
    ck_assert_int_eq(d3->b->a->op, BNM_IR_POWN);
    ck_assert_int_eq(d3->b->a->ival, 2);
    ck_assert_int_eq(count_op(d3, BNM_IR_CALL), 1); /* exp from S */
    ck_assert_int_eq(count_op(m->states[4].deriv, BNM_IR_CALL), 1);
    ck_assert_int_eq(count_op(m->states[4].deriv, BNM_IR_COUPLING), 1);
    ck_assert_int_eq(m->states[3].noise_slot, 0);
    ck_assert_int_eq(m->states[0].noise_slot, -1);
    ck_assert_ptr_null(m->states[0].noise);
    ck_assert_int_eq(m->n_outputs, 8);
    ck_assert_int_eq(m->bold.kind, BNM_REF_LET);
    bnm_model_ir_destroy(m);
}
END_TEST

START_TEST(appendix_models_ir)
{
    bnm_model_ir *m = load_model("appA_mpr.nmm");
    ck_assert_int_eq(m->integrator, BNM_INTEG_HEUN);
    ck_assert_int_eq(m->n_transmit, 2);
    bnm_ir_state *r = &m->states[0];
    ck_assert_int_eq(r->init_kind, BNM_INIT_UNIFORM);
    ck_assert_int_eq(r->init_b->op, BNM_IR_DIV); /* 2/tau depends on a param: stays a tree */
    ck_assert_int_eq(r->init_b->b->op, BNM_IR_PARAM);
    ck_assert_int_eq(r->bound, BNM_BOUND_CLAMP);
    ck_assert(isinf(r->hi->value));
    ck_assert_int_eq(m->states[1].bound, BNM_BOUND_NONE);
    ck_assert_int_eq(count_op(m->states[1].deriv, BNM_IR_POWN), 2); /* V^2, (pi*tau*r)^2 */
    ck_assert_int_eq(count_op(m->states[1].deriv, BNM_IR_NUM), 1); /* pi; the exponents are ival */
    bnm_model_ir_destroy(m);

    m = load_model("appA_hopf.nmm");
    ck_assert_int_eq(m->time_unit, BNM_TIME_S);
    ck_assert_int_eq(m->n_transmit, 2);
    ck_assert_int_eq(m->transmit[0].index, 0);
    ck_assert_int_eq(m->transmit[1].index, 1);
    ck_assert_int_eq(m->n_couplings, 2);
    bnm_model_ir_destroy(m);

    m = load_model("appA_wilson_cowan.nmm");
    ck_assert_int_eq(m->states[0].noise_slot, 0);
    ck_assert_int_eq(m->states[1].noise_slot, 1);
    ck_assert_int_eq(m->states[1].noise->index, param(m, "sigma_I"));
    ck_assert_int_eq(count_op(m->states[0].deriv, BNM_IR_CALL), 1); /* F inlined: one exp */
    bnm_model_ir_destroy(m);

    m = load_model("appA_rwwex.nmm");
    /* H(a*x - b, d): y (2 params) appears 4 times in the body, d 3 times */
    ck_assert_int_eq(count_op(m->lets[bnm_model_ir_find(m, BNM_REF_LET, "r")].expr, BNM_IR_PARAM), 11);
    bnm_model_ir_destroy(m);
}
END_TEST

START_TEST(precedence_and_pown)
{
    bnm_model_ir *m = parse_ok("p.nmm",
                               "model p\nparam y = 2\nstate x = 1\n"
                               "let a1 = -x^2\nlet a2 = x^-2\nlet a3 = 2^3^2\nlet a4 = 1 - 2 - 3\n"
                               "let a5 = x^y\nlet a6 = if(not (x > 1) or x < 0 and x > 2, 1, 0)\n"
                               "let a7 = a6*(a1 + a2 + a3 + a4 + a5)\n"
                               "d/dt x = -x + a7\noutput a7\n");
    const bnm_ir_expr *e;
    e = m->lets[bnm_model_ir_find(m, BNM_REF_LET, "a1")].expr;
    ck_assert_int_eq(e->op, BNM_IR_NEG);
    ck_assert_int_eq(e->a->op, BNM_IR_POWN);
    ck_assert_int_eq(e->a->ival, 2);
    e = m->lets[bnm_model_ir_find(m, BNM_REF_LET, "a2")].expr;
    ck_assert_int_eq(e->op, BNM_IR_POWN);
    ck_assert_int_eq(e->ival, -2);
    ck_assert_ptr_null(e->b);
    e = m->lets[bnm_model_ir_find(m, BNM_REF_LET, "a3")].expr; /* 2^(3^2) */
    ck_assert_int_eq(e->op, BNM_IR_POW); /* exponent 3^2 is not a literal */
    ck_assert_int_eq(e->a->op, BNM_IR_NUM);
    ck_assert_double_eq(e->a->value, 2);
    ck_assert_int_eq(e->b->op, BNM_IR_POWN);
    ck_assert_int_eq(e->b->ival, 2);
    e = m->lets[bnm_model_ir_find(m, BNM_REF_LET, "a4")].expr; /* (1 - 2) - 3 */
    ck_assert_int_eq(e->op, BNM_IR_SUB);
    ck_assert_int_eq(e->a->op, BNM_IR_SUB);
    ck_assert_double_eq(e->b->value, 3);
    e = m->lets[bnm_model_ir_find(m, BNM_REF_LET, "a5")].expr;
    ck_assert_int_eq(e->op, BNM_IR_POW);
    e = m->lets[bnm_model_ir_find(m, BNM_REF_LET, "a6")].expr->a; /* (not (x>1)) or ((x<0) and (x>2)) */
    ck_assert_int_eq(e->op, BNM_IR_OR);
    ck_assert_int_eq(e->a->op, BNM_IR_NOT);
    ck_assert_int_eq(e->b->op, BNM_IR_AND);
    bnm_model_ir_destroy(m);
}
END_TEST

START_TEST(let_order_and_reversed_declarations)
{
    bnm_model_ir *m = parse_ok("o.nmm", "model o\nstate x = 0\nlet c3 = c2 + c1\nlet c2 = 2*c1\n"
                                        "let c1 = x + 1\nd/dt x = -c3\n");
    ck_assert_str_eq(m->lets[0].name, "c1");
    ck_assert_str_eq(m->lets[1].name, "c2");
    ck_assert_str_eq(m->lets[2].name, "c3");
    ck_assert_int_eq(m->states[0].deriv->a->op, BNM_IR_LET);
    ck_assert_int_eq(m->states[0].deriv->a->index, 2);
    ck_assert_int_eq(m->integrator, BNM_INTEG_HEUN); /* defaults */
    ck_assert_int_eq(m->time_unit, BNM_TIME_MS);
    ck_assert(!m->has_bold);
    ck_assert_ptr_null(m->fic);
    bnm_model_ir_destroy(m);
    /* a func parameter shadows the model param of the same name */
    m = parse_ok("s.nmm", "model s\nparam d = 5\nstate x = 0\nfunc g(d) = 2*d\n"
                          "d/dt x = -g(x) + d\n");
    const bnm_ir_expr *e = m->states[0].deriv;
    ck_assert_int_eq(e->op, BNM_IR_ADD);
    ck_assert_int_eq(count_op(e->a, BNM_IR_PARAM), 0);
    ck_assert_int_eq(count_op(e->a, BNM_IR_STATE), 1);
    ck_assert_int_eq(e->b->op, BNM_IR_PARAM);
    bnm_model_ir_destroy(m);
}
END_TEST

START_TEST(inputs_and_fic_defaults)
{
    bnm_model_ir *m = parse_ok("f.nmm",
                               "model f\nparam P = 0.5 in [0, 3] regional\ninput drive [1] = 2*0.25\n"
                               "state x = 0\ncoupling c = sum_j(W[i,j]*x[j])\n"
                               "d/dt x = -x + P + c + drive\n"
                               "fic P {\n  effect = increasing\n  measure = x\n  target = 0.1\n"
                               "  steady_state = ()\n}\n");
    ck_assert_int_eq(m->n_inputs, 1);
    ck_assert_int_eq(m->inputs[0].def->op, BNM_IR_NUM);
    ck_assert_double_eq(m->inputs[0].def->value, 0.5);
    ck_assert_ptr_nonnull(m->fic);
    ck_assert(m->fic->increasing);
    ck_assert_int_eq(m->fic->method, BNM_FIC_STEADY_STATE); /* the only record present */
    ck_assert(!m->fic->iterative.present);
    bnm_ir_fic_method_rec *r = &m->fic->steady_state;
    ck_assert_int_eq(r->measure->op, BNM_IR_STATE);
    ck_assert_double_eq(r->target, 0.1);
    ck_assert_double_eq(r->range_lo, 0); /* P's in */
    ck_assert_double_eq(r->range_hi, 3);
    ck_assert_double_eq(r->fallback, 0.5); /* P's default */
    ck_assert_double_eq(r->solve_tol, 1e-10);
    ck_assert_int_eq(r->max_iter, 100);
    ck_assert_int_eq(r->max_trials, 10);
    bnm_model_ir_destroy(m);
}
END_TEST

START_TEST(bom_crlf_and_continuations)
{
    size_t len;
    char *text = slurp("tests/nmm/models/rww.nmm", &len);
    char *crlf = malloc(2 * len + 4);
    size_t n = 0;
    crlf[n++] = (char)0xEF;
    crlf[n++] = (char)0xBB;
    crlf[n++] = (char)0xBF;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            crlf[n++] = '\r';
        crlf[n++] = text[i];
    }
    crlf[n] = '\0';
    bnm_model_ir *m = parse_ok("rww.nmm", crlf);
    ck_assert_int_eq(m->n_params, 19);
    ck_assert_str_eq(m->params[param(m, "G")].doc, "required"); /* no '\r' in docs */
    ck_assert_int_eq(m->params[param(m, "G")].col, 7);           /* the BOM is not a column */
    ck_assert_uint_eq(m->source_len, n);
    bnm_model_ir_destroy(m);
    free(crlf);
    free(text);
    /* continuation after an operator, ',', '=' and inside parentheses */
    m = parse_ok("c.nmm", "model c\nparam a =\n  1\nstate x = 0\nd/dt x = -a *\n  x + max(x,\n"
                          "  1) - (x\n  + 1)\n# a comment line\n\n");
    ck_assert_double_eq(m->params[0].def, 1);
    ck_assert_int_eq(m->states[0].deriv->op, BNM_IR_SUB);
    bnm_model_ir_destroy(m);
}
END_TEST

/* ---- diagnostics of section 13.3 -------------------------------------------------- */

START_TEST(section_13_diagnostics)
{
    const char *labels[] = {"D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"};
    for (int i = 0; i < 8; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/nmm/diag/%s.nmm", labels[i]);
        char *text = slurp(rel, NULL);
        snprintf(rel, sizeof rel, "tests/nmm/diag/%s.expect", labels[i]);
        char *expect = slurp(rel, NULL);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(strchr(expect, ':') - expect), expect);
        bnm_model_ir *m = NULL;
        char *diag = NULL;
        ck_assert_int_eq(parse(name, text, &m, &diag), BNM_ERR_MODEL);
        ck_assert_msg(strcmp(diag, expect) == 0, "%s:\n--- expected\n%s--- got\n%s", labels[i], expect, diag);
        free(diag);
        free(expect);
        free(text);
    }
}
END_TEST

/* ---- broken files ------------------------------------------------------------------ */

static char *first_line(const char *s)
{
    const char *e = strchr(s, '\n');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *r = malloc(n + 1);
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

START_TEST(bad_files_fail_with_expected_first_line)
{
    char *dir = path_of("tests/nmm/bad");
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".nmm") != 0)
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "tests/nmm/bad/%s", de->d_name);
        char *text = slurp(rel, NULL);
        snprintf(rel, sizeof rel, "tests/nmm/bad/%.*s.expect", (int)(l - 4), de->d_name);
        char *exp_path = path_of(rel);
        FILE *fp = fopen(exp_path, "rb");
        ck_assert_msg(fp != NULL, "%s has no expectation file %s", de->d_name, exp_path);
        fclose(fp);
        free(exp_path);
        char *expect_all = slurp(rel, NULL);
        char *expect = first_line(expect_all);
        ck_assert_msg(expect[0] != '\0', "%s: empty expectation", rel);
        bnm_model_ir *m = NULL;
        char *diag = NULL;
        bnm_status st = parse(de->d_name, text, &m, &diag);
        ck_assert_msg(st == BNM_ERR_MODEL, "%s was accepted", de->d_name);
        char *got = first_line(diag);
        ck_assert_msg(strcmp(got, expect) == 0, "%s:\n expected: %s\n got:      %s\n%s", de->d_name,
                      expect, got, diag);
        free(got);
        free(diag);
        free(expect);
        free(expect_all);
        free(text);
        n++;
    }
    closedir(d);
    free(dir);
    ck_assert_int_ge(n, 25);
}
END_TEST

START_TEST(every_expectation_has_a_bad_file)
{
    char *dir = path_of("tests/nmm/bad");
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 8 || strcmp(de->d_name + l - 7, ".expect") != 0)
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "tests/nmm/bad/%.*s.nmm", (int)(l - 7), de->d_name);
        char *p = path_of(rel);
        FILE *fp = fopen(p, "rb");
        ck_assert_msg(fp != NULL, "%s has no model file", de->d_name);
        fclose(fp);
        free(p);
        n++;
    }
    closedir(d);
    free(dir);
    ck_assert_int_ge(n, 25);
}
END_TEST

/* ---- warnings ------------------------------------------------------------------------ */

static char *parse_warn(const char *text)
{
    bnm_model_ir *m = NULL;
    char *diag = NULL;
    ck_assert_int_eq(parse("w.nmm", text, &m, &diag), BNM_OK);
    ck_assert_ptr_nonnull(m);
    bnm_model_ir_destroy(m);
    return diag;
}

START_TEST(warnings)
{
    char *d = parse_warn("model w\nparam a = 1\nparam b = 2\nstate x = 0\nd/dt x = -a*x\n");
    ck_assert_str_eq(d, "w.nmm:3:7: warning: unused param 'b'\n"
                        "    3 | param b = 2\n"
                        "      |       ^\n");
    free(d);
    d = parse_warn("model w\nstate x = 0\nlet u = if(x == 1, 1, 0)\nd/dt x = -u\n");
    ck_assert_ptr_nonnull(strstr(d, "w.nmm:3:14: warning: '==' compares real numbers exactly\n"));
    ck_assert_ptr_nonnull(strstr(d, "      |              ^~\n"));
    free(d);
    d = parse_warn("model w\nstate x = 0\nd/dt x = -x\noutput x, x\n");
    ck_assert_ptr_nonnull(strstr(d, "w.nmm:4:11: warning: 'x' is listed twice in 'output'\n"));
    ck_assert_ptr_nonnull(strstr(d, "      = note: first listed at line 4\n"));
    free(d);
    d = parse_warn("model w\nstate x = 0\nfunc f(y) = 2*y\nlet u = x\ninput k = 1\n"
                   "coupling c = sum_j(W[i,j]*x[j])\nd/dt x = -x\n");
    ck_assert_ptr_nonnull(strstr(d, "warning: unused func 'f'"));
    ck_assert_ptr_nonnull(strstr(d, "warning: unused let 'u'"));
    ck_assert_ptr_nonnull(strstr(d, "warning: unused input 'k'"));
    ck_assert_ptr_nonnull(strstr(d, "warning: unused coupling 'c'"));
    free(d);
}
END_TEST

START_TEST(errors_in_source_order_and_capped)
{
    /* 60 unknown names: 50 errors are shown, then one "too many errors" line */
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "model e\nstate x = 0\nd/dt x = -x\n");
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "let v%d = nope%d\n", i, i);
    bnm_model_ir *m = NULL;
    char *diag = NULL;
    ck_assert_int_eq(parse("e.nmm", text, &m, &diag), BNM_ERR_MODEL);
    int errors = 0;
    int last_line = 0;
    for (const char *p = diag; (p = strstr(p, ": error: unknown name")); p++) {
        /* the line number precedes ": error"; lines must increase */
        const char *q = p - 1;
        while (q > diag && q[-1] != ':')
            q--;
        const char *l = q - 2;
        while (l > diag && l[-1] != ':')
            l--;
        int line = atoi(l);
        ck_assert_int_gt(line, last_line);
        last_line = line;
        errors++;
    }
    ck_assert_int_eq(errors, 50);
    ck_assert_ptr_nonnull(strstr(diag, "e.nmm: error: too many errors, stopping after 50\n"));
    free(diag);
}
END_TEST

START_TEST(render_diag_for_later_errors)
{
    const char *src = "model m\n\tlet y = foo(x)\n";
    char *r = bnm_nmm_render_diag("m.nmm", src, 2, 10, 3, "error", "OpenCL: undeclared 'foo'");
    ck_assert_str_eq(r, "m.nmm:2:10: error: OpenCL: undeclared 'foo'\n"
                        "    2 | \tlet y = foo(x)\n"
                        "      | \t        ^~~\n");
    free(r);
    r = bnm_nmm_render_diag("m.nmm", NULL, 0, 0, 0, "warning", "no line");
    ck_assert_str_eq(r, "m.nmm: warning: no line\n");
    free(r);
}
END_TEST

START_TEST(load_reports_io_errors)
{
    bnm_context *ctx;
    bnm_context_create(&ctx);
    bnm_model_ir *m = (bnm_model_ir *)1;
    char *diag = (char *)1;
    ck_assert_int_eq(bnm_nmm_load(ctx, "/nonexistent/dir/model.nmm", &m, &diag), BNM_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_ptr_null(diag);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "/nonexistent/dir/model.nmm"));
    char *p = path_of("tests/nmm/models/kuramoto.nmm");
    ck_assert_int_eq(bnm_nmm_load(ctx, p, &m, NULL), BNM_OK);
    ck_assert_str_eq(m->file_name, p);
    bnm_model_ir_destroy(m);
    free(p);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- robustness ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static void parse_any(const char *text, size_t len)
{
    bnm_context *ctx;
    bnm_context_create(&ctx);
    bnm_model_ir *m = NULL;
    char *diag = NULL;
    bnm_status st = bnm_nmm_parse(ctx, "fuzz.nmm", text, len, &m, &diag);
    ck_assert(st == BNM_OK || st == BNM_ERR_MODEL);
    ck_assert_ptr_nonnull(diag);
    ck_assert((st == BNM_OK) == (m != NULL));
    bnm_model_ir_destroy(m);
    free(diag);
    bnm_context_destroy(ctx);
}

START_TEST(arbitrary_bytes_never_crash)
{
    static const char *const seeds[] = {"rww.nmm", "kuramoto.nmm", "jansen_rit.nmm", "appA_mpr.nmm"};
    static const char *const tokens[] = {"(", ")", "[", "]", "{", "}", ",", "=", "~", "^", "-", "*",
                                         "sum_j(", "[j]", "W[i,j]", "d/dt ", "\n", "#", "\"", "fic ",
                                         "let ", "func f(x) = ", "f(", "inf", "1e308*1e308", "\xCF\x84",
                                         "\xff", "not ", " and ", "\0"};
    for (int s = 0; s < 4; s++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/nmm/models/%s", seeds[s]);
        size_t len;
        char *base = slurp(rel, &len);
        char *buf = malloc(len + 256);
        for (int iter = 0; iter < 150; iter++) {
            memcpy(buf, base, len);
            size_t n = len;
            int edits = 1 + (int)(rnd() % 4);
            for (int k = 0; k < edits; k++) {
                size_t at = rnd() % (n + 1);
                switch (rnd() % 3) {
                case 0: /* overwrite a byte */
                    if (at < n)
                        buf[at] = (char)(rnd() & 0xFF);
                    break;
                case 1: { /* delete a run */
                    size_t del = rnd() % 8;
                    if (at + del <= n) {
                        memmove(buf + at, buf + at + del, n - at - del);
                        n -= del;
                    }
                    break;
                }
                default: { /* insert a token */
                    const char *t = tokens[rnd() % (sizeof tokens / sizeof tokens[0])];
                    size_t tl = t[0] ? strlen(t) : 1;
                    if (n + tl < len + 256) {
                        memmove(buf + at + tl, buf + at, n - at);
                        memcpy(buf + at, t, tl);
                        n += tl;
                    }
                }
                }
            }
            parse_any(buf, n);
        }
        free(buf);
        free(base);
    }
    /* pure noise */
    char noise[512];
    for (int iter = 0; iter < 300; iter++) {
        size_t n = rnd() % sizeof noise;
        for (size_t i = 0; i < n; i++)
            noise[i] = (char)(rnd() & (iter % 2 ? 0x7F : 0xFF));
        parse_any(noise, n);
    }
    parse_any("", 0);
    parse_any(NULL, 0);
}
END_TEST

static char *repeat_model(const char *head, const char *unit, int times, const char *tail)
{
    size_t n = strlen(head) + strlen(unit) * (size_t)times + strlen(tail) + 1;
    char *s = malloc(n);
    strcpy(s, head);
    char *p = s + strlen(head);
    for (int i = 0; i < times; i++) {
        strcpy(p, unit);
        p += strlen(unit);
    }
    strcpy(p, tail);
    return s;
}

static void expect_error_containing(const char *text, const char *what)
{
    bnm_model_ir *m = NULL;
    char *diag = NULL;
    ck_assert_int_eq(parse("big.nmm", text, &m, &diag), BNM_ERR_MODEL);
    ck_assert_msg(strstr(diag, what) != NULL, "expected '%s' in:\n%.2000s", what, diag);
    free(diag);
}

START_TEST(deep_and_huge_inputs_are_bounded)
{
    clock_t t0 = clock();
    char *s = repeat_model("model b\nstate x = 0\nd/dt x = ", "(", 5000, "x");
    expect_error_containing(s, "error: expression nested too deeply (more than 200 levels)");
    free(s);
    s = repeat_model("model b\nstate x = 0\nd/dt x = ", "-", 100000, "x\n");
    expect_error_containing(s, "nested too deeply");
    free(s);
    s = repeat_model("model b\nstate x = 0\nd/dt x = x", "^x", 100000, "\n");
    expect_error_containing(s, "nested too deeply");
    free(s);
    s = repeat_model("model b\nstate x = 0\nd/dt x = x", "+x", 100000, "\n");
    expect_error_containing(s, "expression too large");
    free(s);
    /* 200 levels are fine */
    s = repeat_model("model b\nstate x = 0\nd/dt x = ", "(", 150, "x");
    char *t = repeat_model(s, ")", 150, "\n");
    bnm_model_ir *m = parse_ok("ok.nmm", t);
    bnm_model_ir_destroy(m);
    free(s);
    free(t);
    /* funcs that double at each level: inlining must stop with an error, not run away */
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "model b\nstate x = 0\nfunc f0(y) = y + 1\n");
    for (int i = 1; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "func f%d(y) = f%d(y) + f%d(y)\n", i, i - 1, i - 1);
    snprintf(text + n, sizeof text - n, "d/dt x = f39(x)\n");
    expect_error_containing(text, "too large after inlining funcs");
    /* many declarations: linear-time symbol table */
    char *big = malloc(64 * 20000 + 100);
    n = (size_t)sprintf(big, "model b\nstate x = 0\nd/dt x = -x\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t)sprintf(big + n, "param p%d = %d\nlet q%d = p%d*x\n", i, i, i, i);
    bnm_model_ir *mm = NULL;
    char *diag = NULL;
    ck_assert_int_eq(parse("many.nmm", big, &mm, &diag), BNM_OK); /* only warnings */
    ck_assert_int_eq(mm->n_params, 20000);
    bnm_model_ir_destroy(mm);
    free(diag);
    free(big);
    /* long let chains in both declaration orders, with units: no recursion down the chain */
    for (int order = 0; order < 2; order++) {
        big = malloc(40 * 100000 + 200);
        n = (size_t)sprintf(big, "model b\nparam tau [ms] = 10\nstate x [mV] = 0\nlet a0 = x\n");
        for (int i = 1; i < 100000; i++) {
            int k = order ? 100000 - i : i; /* order 1: each let reads the next one down */
            if (order)
                n += (size_t)sprintf(big + n, "let b%d = %s%d + x\n", k, k == 99999 ? "a" : "b", k == 99999 ? 0 : k + 1);
            else
                n += (size_t)sprintf(big + n, "let a%d = a%d + x\n", i, i - 1);
        }
        sprintf(big + n, "d/dt x = -%s/tau\n", order ? "b1" : "a99999");
        mm = parse_ok("chain.nmm", big);
        ck_assert_int_eq(mm->n_lets, 100000);
        ck_assert_str_eq(mm->lets[0].name, "a0"); /* dependency order */
        bnm_model_ir_destroy(mm);
        free(big);
    }
    /* the whole test takes seconds, not minutes, even under sanitizers */
    ck_assert_double_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 120.0);
}
END_TEST

static Suite *nmm_suite(void)
{
    Suite *s = suite_create("nmm");
    TCase *tc = tcase_create("front end");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, examples_parse_cleanly);
    tcase_add_test(tc, rww_ir);
    tcase_add_test(tc, kuramoto_ir);
    tcase_add_test(tc, jansen_rit_ir);
    tcase_add_test(tc, appendix_models_ir);
    tcase_add_test(tc, precedence_and_pown);
    tcase_add_test(tc, let_order_and_reversed_declarations);
    tcase_add_test(tc, inputs_and_fic_defaults);
    tcase_add_test(tc, bom_crlf_and_continuations);
    tcase_add_test(tc, section_13_diagnostics);
    tcase_add_test(tc, bad_files_fail_with_expected_first_line);
    tcase_add_test(tc, every_expectation_has_a_bad_file);
    tcase_add_test(tc, warnings);
    tcase_add_test(tc, errors_in_source_order_and_capped);
    tcase_add_test(tc, render_diag_for_later_errors);
    tcase_add_test(tc, load_reports_io_errors);
    tcase_add_test(tc, arbitrary_bytes_never_crash);
    tcase_add_test(tc, deep_and_huge_inputs_are_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(nmm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
