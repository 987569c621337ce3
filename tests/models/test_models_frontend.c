/* The shipped files through the real front end (bnm_nmm_load): no diagnostics at all,
 * and the resulting IR declares exactly what the independent reference tables say
 * (names, order, defaults, bounds, flags, initial values, noise, transmitted set,
 * integrator, time unit, BOLD driver). Also: the worked example of models/README.md
 * is a valid model. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clbnm/context.h"
#include "clbnm/model.h"
#include "ir.h"
#include "reference.h"
#include "test_models.h"

/* Value of a parameter-free or default-parameter expression (state inits and bounds may
 * reference params, e.g. mpr's uniform(0, 2/tau)). */
static double eval_const(const bnm_model_ir *ir, const bnm_ir_expr *e)
{
    ck_assert_ptr_nonnull(e);
    switch (e->op) {
    case BNM_IR_NUM: return e->value;
    case BNM_IR_PARAM:
        ck_assert(ir->params[e->index].has_default);
        return ir->params[e->index].def;
    case BNM_IR_NEG: return -eval_const(ir, e->a);
    case BNM_IR_ADD: return eval_const(ir, e->a) + eval_const(ir, e->b);
    case BNM_IR_SUB: return eval_const(ir, e->a) - eval_const(ir, e->b);
    case BNM_IR_MUL: return eval_const(ir, e->a) * eval_const(ir, e->b);
    case BNM_IR_DIV: return eval_const(ir, e->a) / eval_const(ir, e->b);
    case BNM_IR_POWN: return pow(eval_const(ir, e->a), e->ival);
    default:
        ck_abort_msg("unexpected IR op %d in a constant slot", (int)e->op);
    }
    return NAN;
}

static int close_to(double a, double b)
{
    if (isinf(a) || isinf(b))
        return a == b;
    return fabs(a - b) <= 1e-14 * fmax(1.0, fabs(b));
}

static const char *ref_name(const bnm_model_ir *ir, bnm_ir_ref r)
{
    switch (r.kind) {
    case BNM_REF_STATE: return ir->states[r.index].name;
    case BNM_REF_LET: return ir->lets[r.index].name;
    case BNM_REF_COUPLING: return ir->couplings[r.index].name;
    case BNM_REF_INPUT: return ir->inputs[r.index].name;
    case BNM_REF_PARAM: return ir->params[r.index].name;
    }
    return "?";
}

static bnm_model_ir *load(const char *path, char **diag)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = NULL;
    *diag = NULL;
    bnm_status st = bnm_nmm_load(ctx, path, &ir, diag);
    ck_assert_msg(st == BNM_OK && ir, "%s does not load: %s\n%s", path,
                  bnm_context_message(ctx), *diag ? *diag : "");
    bnm_context_destroy(ctx);
    return ir;
}

START_TEST(file_matches_reference_table)
{
    const ref_model *m = ref_models[_i];
    char path[4096];
    tm_model_path(m->name, path, sizeof path);
    char *diag = NULL;
    bnm_model_ir *ir = load(path, &diag);
    /* Shipped files must be clean: not even a warning (an unused param would be one). */
    ck_assert_msg(!diag || !*diag, "%s has diagnostics:\n%s", path, diag);
    free(diag);

    ck_assert_str_eq(ir->name, m->name);
    ck_assert_int_ge(ir->n_docs, 1);
    ck_assert_int_ge(ir->n_cites, 1);
    ck_assert_int_eq(ir->time_unit, m->time_per_ms == 1.0 ? BNM_TIME_MS : BNM_TIME_S);
    static const bnm_ir_integrator integ_of[] = {BNM_INTEG_EULER, BNM_INTEG_HEUN,
                                                 BNM_INTEG_RK4};
    ck_assert_int_eq(ir->integrator, integ_of[m->integrator]);

    ck_assert_int_eq(ir->n_params, m->n_params);
    for (int p = 0; p < m->n_params; p++) {
        const bnm_ir_param *a = &ir->params[p];
        const ref_param *b = &m->params[p];
        ck_assert_str_eq(a->name, b->name);
        ck_assert_msg(a->has_default == b->has_default, "%s.%s default", m->name, b->name);
        if (b->has_default)
            ck_assert_msg(close_to(a->def, b->def), "%s.%s = %.17g, reference %.17g", m->name,
                          b->name, a->def, b->def);
        ck_assert_msg(a->has_bounds == b->has_bounds, "%s.%s bounds", m->name, b->name);
        if (b->has_bounds)
            ck_assert_msg(close_to(a->lo, b->lo) && close_to(a->hi, b->hi),
                          "%s.%s in [%g, %g], reference [%g, %g]", m->name, b->name, a->lo,
                          a->hi, b->lo, b->hi);
        ck_assert_msg(a->regional == b->regional && a->is_const == b->is_const,
                      "%s.%s flags", m->name, b->name);
    }

    ck_assert_int_eq(ir->n_states, m->n_states);
    for (int s = 0; s < m->n_states; s++) {
        const bnm_ir_state *a = &ir->states[s];
        const ref_state *b = &m->states[s];
        ck_assert_str_eq(a->name, b->name);
        if (b->init_kind == REF_INIT_VALUE) {
            ck_assert_int_eq(a->init_kind, BNM_INIT_EXPR);
            ck_assert_msg(close_to(eval_const(ir, a->init), b->init), "%s.%s init", m->name,
                          b->name);
        } else {
            ck_assert_int_eq(a->init_kind, BNM_INIT_UNIFORM);
            ck_assert_msg(close_to(eval_const(ir, a->init_a), b->init_a)
                              && close_to(eval_const(ir, a->init_b), b->init_b),
                          "%s.%s uniform range", m->name, b->name);
        }
        static const bnm_ir_bound_kind bound_of[] = {BNM_BOUND_NONE, BNM_BOUND_CLAMP,
                                                     BNM_BOUND_WRAP};
        ck_assert_int_eq(a->bound, bound_of[b->bound]);
        if (b->bound != REF_BOUND_NONE)
            ck_assert_msg(close_to(eval_const(ir, a->lo), b->lo)
                              && close_to(eval_const(ir, a->hi), b->hi),
                          "%s.%s bounds", m->name, b->name);
        if (b->noise_param < 0) {
            ck_assert_msg(a->noise == NULL, "%s.%s should have no noise", m->name, b->name);
        } else {
            ck_assert_msg(a->noise && a->noise->op == BNM_IR_PARAM, "%s.%s noise", m->name,
                          b->name);
            ck_assert_str_eq(ir->params[a->noise->index].name, m->params[b->noise_param].name);
        }
    }

    ck_assert_int_eq(ir->n_transmit, m->n_transmit);
    for (int t = 0; t < m->n_transmit; t++) {
        int found = 0;
        for (int u = 0; u < ir->n_transmit; u++)
            found |= strcmp(ref_name(ir, ir->transmit[u]), m->transmit_names[t]) == 0;
        ck_assert_msg(found, "%s: %s is not transmitted", m->name, m->transmit_names[t]);
    }
    ck_assert_int_eq(ir->n_couplings, m->n_couplings);
    for (int c = 0; c < m->n_couplings; c++)
        ck_assert_str_eq(ir->couplings[c].name, m->couplings[c].name);
    for (int l = 0; l < m->n_lets; l++)
        ck_assert_msg(bnm_model_ir_find(ir, BNM_REF_LET, m->let_names[l]) >= 0,
                      "%s: no let %s", m->name, m->let_names[l]);
    ck_assert(ir->has_bold);
    ck_assert_str_eq(ref_name(ir, ir->bold), m->bold);

    /* Only rww has a fic block, on wIE (models.md 1.5). */
    if (strcmp(m->name, "rww") == 0) {
        ck_assert_ptr_nonnull(ir->fic);
        ck_assert_str_eq(ir->params[ir->fic->param].name, "wIE");
        ck_assert(!ir->fic->increasing);
        ck_assert(ir->fic->steady_state.present && ir->fic->iterative.present);
        ck_assert(close_to(ir->fic->steady_state.target, 0.3773805650));
        ck_assert(close_to(ir->fic->iterative.target, -0.026));
        ck_assert(close_to(ir->fic->iterative.tol, 0.005));
    } else {
        ck_assert_ptr_null(ir->fic);
    }
    bnm_model_ir_destroy(ir);
}
END_TEST

/* The complete example of README.md section 2 ("The whole file:") is a valid model. */
START_TEST(readme_example_is_valid)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    char path[4096];
    snprintf(path, sizeof path, "%s/models/README.md", root);
    char *text = tm_read_text(path);
    ck_assert_ptr_nonnull(text);
    const char *start = strstr(text, "The whole file:\n\n```\n");
    ck_assert_ptr_nonnull(start);
    start += strlen("The whole file:\n\n```\n");
    const char *end = strstr(start, "```");
    ck_assert_ptr_nonnull(end);
    char tmp[] = "/tmp/clbnm-fhn-XXXXXX";
    int fd = mkstemp(tmp);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, start, (size_t)(end - start)), end - start);
    close(fd);
    char *diag = NULL;
    bnm_model_ir *ir = load(tmp, &diag);
    ck_assert_msg(!diag || !*diag, "README example has diagnostics:\n%s", diag);
    free(diag);
    ck_assert_str_eq(ir->name, "fhn");
    ck_assert_int_eq(ir->n_states, 2);
    ck_assert_int_eq(ir->n_params, 6);
    ck_assert_int_eq(ir->integrator, BNM_INTEG_HEUN);
    bnm_model_ir_destroy(ir);
    unlink(tmp);
    free(text);
}
END_TEST

void tm_add_frontend_tests(Suite *s)
{
    TCase *tc = tcase_create("frontend");
    tcase_add_loop_test(tc, file_matches_reference_table, 0, 7);
    tcase_add_test(tc, readme_example_is_valid);
    suite_add_tcase(s, tc);
}
