/* bnm_run_derive_one: one simulation of an optimize run as a simulate run of its own
 * (the best particle's re-run of clbnm optimize). */
#include <math.h>
#include <string.h>

#include "test_run.h"

#define OPT_RUN                                                                          \
    "model: rww\nduration: 600\ntr: 1\nseed: 5\nfic: false\n"                            \
    "subjects:\n  - {id: a, sc: a_sc.txt}\n  - {id: b, sc: b_sc.txt, bold: b_bold.txt}\n" \
    "params: {G: 1.5, sigma: 0.01, w_p: [1, 1, 1]}\n"                                    \
    "outputs: {states_mean: [S_E, r_E]}\n"                                               \
    "free: {G: [0, 3], w_p: [0, 2], J_N: [0.1, 0.5]}\n"                                   \
    "heterogeneous: {w_p: {groups: g.txt}}\n"                                            \
    "optimizer: {popsize: 4, generations: 2, seeds: [1, 2]}\n"

START_TEST(derive_one_simulation)
{
    bnm_run *run = tr_ok(OPT_RUN, BNM_RUN_MODE_OPTIMIZE);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    static const char *const names[] = {"G", "w_p", "J_N"};
    static const bool regional[] = {false, true, false};
    /* [param][node], a global param repeats its value */
    static const double values[] = {2.25, 2.25, 2.25, 0.1, 0.7, 1.3, 0.3, 0.3, 0.3};
    bnm_run *d = NULL;
    ck_assert_msg(bnm_run_derive_one(ctx, run, 1, 77, 3, names, regional, 3, values, &d) ==
                      BNM_OK,
                  "%s", bnm_context_message(ctx));
    ck_assert_int_eq(d->mode, BNM_RUN_MODE_SIMULATE);
    ck_assert_uint_eq(d->n_subjects, 1);
    ck_assert_str_eq(d->subjects[0].id, "b");
    ck_assert_str_eq(d->subjects[0].sc, "b_sc.txt");
    ck_assert_str_eq(d->subjects[0].bold, "b_bold.txt");
    ck_assert_ptr_null(d->subjects[0].lengths);
    ck_assert_uint_eq(d->seed, 77);
    ck_assert_uint_eq(d->n_free, 0);
    ck_assert_uint_eq(d->n_hetero, 0);
    ck_assert(!d->has_optimizer);
    ck_assert_str_eq(d->text, run->text);
    ck_assert_str_eq(d->model, "rww");
    ck_assert(!d->fic.enabled);
    ck_assert_int_eq(d->counts.n_vol, run->counts.n_vol);
    ck_assert_int_eq(d->duration_ns, run->duration_ns);
    ck_assert_uint_eq(d->outputs.n_states_mean, 2);
    ck_assert_str_eq(d->outputs.states_mean[1], "r_E");
    /* Globals as a one-point grid: one simulation, per-simulation values. */
    ck_assert_int_eq(d->sweep.kind, BNM_SWEEP_GRID);
    ck_assert_uint_eq(bnm_run_n_swept(d), 2);
    ck_assert_str_eq(bnm_run_swept_name(d, 0), "G");
    ck_assert_str_eq(bnm_run_swept_name(d, 1), "J_N");
    ck_assert_uint_eq(bnm_run_n_sims(d), 1);
    size_t subj = 9;
    uint64_t seed = 0;
    double sv[2];
    ck_assert(bnm_run_sim_params(d, 0, &subj, &seed, sv));
    ck_assert_uint_eq(subj, 0);
    ck_assert_uint_eq(seed, 77);
    ck_assert(sv[0] == 2.25 && sv[1] == 0.3);
    /* Regional values as a per-node list, first; the run's own G and w_p are replaced,
     * sigma stays. */
    ck_assert_uint_eq(d->n_params, 2);
    ck_assert_str_eq(d->params[0].name, "w_p");
    ck_assert(d->params[0].per_node);
    ck_assert_uint_eq(d->params[0].n_values, 3);
    ck_assert(d->params[0].values[0] == 0.1 && d->params[0].values[2] == 1.3);
    ck_assert_str_eq(d->params[1].name, "sigma");
    ck_assert(d->params[1].values[0] == 0.01);
    /* It is a valid simulate run for three nodes. */
    ck_assert_int_eq(bnm_run_check_nodes(ctx, d, 3), BNM_OK);
    bnm_run_destroy(d);

    /* Only regional values: no sweep at all. */
    static const char *const only[] = {"w_p"};
    static const bool reg1[] = {true};
    ck_assert_int_eq(bnm_run_derive_one(ctx, run, 0, 5, 1, only, reg1, 3, values + 3, &d),
                     BNM_OK);
    ck_assert_int_eq(d->sweep.kind, BNM_SWEEP_NONE);
    ck_assert_uint_eq(bnm_run_n_sims(d), 1);
    ck_assert_str_eq(d->subjects[0].id, "a");
    ck_assert_uint_eq(d->n_params, 3); /* w_p (new), G, sigma */
    bnm_run_destroy(d);

    /* Bad arguments. */
    d = (bnm_run *)1;
    ck_assert_int_eq(bnm_run_derive_one(ctx, run, 2, 5, 3, names, regional, 3, values, &d),
                     BNM_ERR_INVALID_ARG);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(bnm_run_derive_one(ctx, run, 0, 5, 3, NULL, regional, 3, values, &d),
                     BNM_ERR_INVALID_ARG);
    bnm_context_destroy(ctx);
    bnm_run_destroy(run);
}
END_TEST

TCase *tr_case_derive(void)
{
    TCase *tc = tcase_create("derive");
    tcase_add_test(tc, derive_one_simulation);
    return tc;
}
