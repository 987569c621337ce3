/* Every run-file error: exact message text, with file, line and column. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_run.h"

/* Six lines; additions start at line 7. Long enough for the default FCD (108 windows). */
#define BASE "model: rww\nduration: 600\ntr: 1\nsubjects:\n  - id: s1\n    sc: sc.txt\n"
#define SIM BNM_RUN_MODE_SIMULATE
#define OPT BNM_RUN_MODE_OPTIMIZE
#define E BNM_ERR_RUN

/* ---- keys and types ------------------------------------------------------------- */

START_TEST(unknown_key_with_did_you_mean)
{
    tr_expect_error("model: rww\ndurration: 60\n", SIM, E,
                    "run.yaml:2:1: error: unknown key 'durration' (did you mean 'duration'?)");
}
END_TEST

START_TEST(unknown_nested_key_lists_valid_keys)
{
    tr_expect_error(BASE "outputs:\n  zzz: 1\n", SIM, E,
                    "run.yaml:8:3: error: unknown key 'zzz' in 'outputs'\n"
                    "  hint: valid keys in 'outputs': bold, fc, fcd, states_mean, states_ts");
    tr_expect_error(BASE "outputs:\n  fcd: {windw: 30}\n", SIM, E,
                    "run.yaml:8:9: error: unknown key 'windw' in 'outputs.fcd' (did you mean "
                    "'window'?)");
    tr_expect_error("model: rww\nduration: 60\ntr: 1\nsubjects:\n  - id: s1\n    scc: sc.txt\n",
                    SIM, E,
                    "run.yaml:6:5: error: unknown key 'scc' in 'subjects[0]' (did you mean 'sc'?)");
}
END_TEST

START_TEST(wrong_types)
{
    tr_expect_error("model: rww\nduration: [60]\n", SIM, E,
                    "run.yaml:2:11: error: 'duration' must be a time in seconds, got a list");
    tr_expect_error(BASE "outputs: {bold: yes}\n", SIM, E,
                    "run.yaml:7:17: error: 'outputs.bold' must be true or false, got 'yes'");
    tr_expect_error(BASE "params:\n  G: high\n", SIM, E,
                    "run.yaml:8:6: error: 'params.G' must be a number, got 'high'");
    tr_expect_error(BASE "fit: [+fc_corr]\n", SIM, E,
                    "run.yaml:7:6: error: 'fit' must be a mapping of keys, got a list");
    tr_expect_error(BASE "seed: -1\n", SIM, E,
                    "run.yaml:7:7: error: 'seed' must be a whole number >= 0, got '-1'");
    tr_expect_error("- model: rww\n", SIM, E,
                    "run.yaml:1:1: error: a run file is a mapping of keys, got a list\n"
                    "  hint: see interface.md section 2 for an example");
}
END_TEST

START_TEST(missing_required_keys)
{
    tr_expect_error("model: rww\nduration: 60\nsubjects:\n  - id: s1\n    sc: sc.txt\n", SIM, E,
                    "run.yaml:1:1: error: missing required key 'tr'");
    tr_expect_error("model: rww\nduration: 60\ntr: 1\nsubjects:\n  - id: s1\n", SIM, E,
                    "run.yaml:5:5: error: missing required key 'sc' in 'subjects[0]'\n"
                    "  hint: every subject needs an id and an sc file");
    tr_expect_error(BASE "free: {G: [0, 1]}\noptimizer: {generations: 10}\n", OPT, E,
                    "run.yaml:8:12: error: missing required key 'popsize' in 'optimizer'\n"
                    "  hint: e.g. popsize: 64");
    tr_expect_error(BASE "optimizer: {popsize: 4, generations: 2}\n", OPT, E,
                    "run.yaml:1:1: error: missing required key 'free'\n"
                    "  hint: list the free parameters and their bounds, e.g. free: {G: [0.001, "
                    "10]}");
    tr_expect_error("", SIM, E,
                    "run.yaml: error: the run file is empty\n"
                    "  hint: see interface.md section 2 for an example");
}
END_TEST

START_TEST(duplicates_and_syntax)
{
    tr_expect_error("model: rww\nmodel: hopf\n", SIM, E,
                    "run.yaml:2:1: error: duplicate key 'model' (first at line 1)\n"
                    "  hint: give each key once");
    tr_expect_error("model: rww\nduration: [60\n", SIM, BNM_ERR_PARSE,
                    "run.yaml:3:1: error: YAML syntax: did not find expected ',' or ']' "
                    "(while parsing a flow sequence)");
    tr_expect_error(BASE "---\nmodel: hopf\n", SIM, E,
                    "run.yaml:7:1: error: the run file holds more than one YAML document\n"
                    "  hint: put the whole job in one document");
    tr_expect_error("model: rww\nduration: 60\ntr: 1\nsubjects: [{id: a, sc: x}, {id: a, sc: "
                    "y}]\n",
                    SIM, E,
                    "run.yaml:4:33: error: duplicate subject id 'a' (first at line 4)\n"
                    "  hint: give every subject its own id");
}
END_TEST

START_TEST(mode_specific_keys)
{
    tr_expect_error(BASE "optimizer: {popsize: 4}\n", SIM, E,
                    "run.yaml:7:1: error: key 'optimizer' belongs to `clbnm optimize` run files\n"
                    "  hint: use `clbnm optimize` for this run file, or remove the key");
    tr_expect_error(BASE "sweep: {grid: {G: [0, 1, 2]}}\n", OPT, E,
                    "run.yaml:7:1: error: key 'sweep' is not used by `clbnm optimize`\n"
                    "  hint: the optimizer chooses the parameters: list them under 'free'");
}
END_TEST

/* ---- interface.md section 3 bad inputs --------------------------------------------- */

START_TEST(unknown_bold_params)
{
    tr_expect_error(BASE "bold_params: heinzle2016\n", SIM, E,
                    "run.yaml:7:14: error: unknown bold_params 'heinzle2016' (did you mean "
                    "'heinzle2016-3T'?)\n"
                    "  hint: 'bold_params' is one of: friston2003, heinzle2016-3T");
}
END_TEST

START_TEST(bounds_lo_not_below_hi)
{
    tr_expect_error(BASE "free:\n  G: [10, 0.001]\noptimizer: {popsize: 4, generations: 2}\n",
                    OPT, E,
                    "run.yaml:8:6: error: bounds of 'free.G' must have lo < hi, got [10, 0.001]\n"
                    "  hint: write the bounds as [lo, hi] with lo < hi");
    tr_expect_error(BASE "sweep:\n  random: {n: 10, G: [3, 3]}\n", SIM, E,
                    "run.yaml:8:22: error: bounds of 'sweep.random.G' must have lo < hi, got "
                    "[3, 3]\n"
                    "  hint: write the bounds as [lo, hi] with lo < hi");
    tr_expect_error(BASE "sweep:\n  grid: {G: [3, 1, 5]}\n", SIM, E,
                    "run.yaml:8:13: error: bounds of 'sweep.grid.G' must have lo < hi, got "
                    "[3, 1]\n"
                    "  hint: write the bounds as [lo, hi] with lo < hi");
}
END_TEST

START_TEST(popsize_below_two)
{
    tr_expect_error(BASE "free: {G: [0, 1]}\noptimizer: {popsize: 1, generations: 10}\n", OPT, E,
                    "run.yaml:8:22: error: optimizer.popsize must be at least 2, got 1\n"
                    "  hint: CMA-ES needs at least 2 candidates per generation");
}
END_TEST

START_TEST(zero_or_negative_n)
{
    tr_expect_error(BASE "sweep:\n  grid: {G: [0.5, 3.0, 0]}\n", SIM, E,
                    "run.yaml:8:24: error: n of 'sweep.grid.G' must be at least 1, got 0\n"
                    "  hint: n is the number of values from lo to hi, at least 1");
    tr_expect_error(BASE "sweep:\n  grid: {G: [0.5, 3.0, -2]}\n", SIM, E,
                    "run.yaml:8:24: error: n of 'sweep.grid.G' must be at least 1, got -2\n"
                    "  hint: n is the number of values from lo to hi, at least 1");
    tr_expect_error(BASE "sweep:\n  random: {n: 0, G: [0, 1]}\n", SIM, E,
                    "run.yaml:8:15: error: sweep.random.n must be at least 1, got 0\n"
                    "  hint: n is the number of parameter sets to draw");
}
END_TEST

START_TEST(sweep_shape_errors)
{
    tr_expect_error(BASE "sweep:\n  grid: {G: [0, 1, 3], w_p: [0, 1, 4]}\n  combine: zip\n", SIM, E,
                    "run.yaml:8:24: error: grid parameter 'w_p' has n = 4 but 'G' has n = 3\n"
                    "  hint: with sweep.combine: zip every grid parameter needs the same n");
    tr_expect_error(BASE "sweep:\n  grid: {G: [0, 1, 3]}\n  random: {n: 3, w_p: [0, 1]}\n", SIM,
                    E,
                    "run.yaml:9:3: error: a sweep has one of grid, random or table, not several\n"
                    "  hint: use one of grid, random or table");
}
END_TEST

START_TEST(heterogeneous_needs_free)
{
    tr_expect_error(BASE "free: {G: [0, 1]}\nheterogeneous: {J_N: {groups: g.txt}}\n"
                         "optimizer: {popsize: 4, generations: 2}\n",
                    OPT, E,
                    "run.yaml:8:17: error: heterogeneous parameter 'J_N' is not free\n"
                    "  hint: add it to free with its bounds");
}
END_TEST

START_TEST(heterogeneous_symmetric_errors)
{
    static const char *const free_opt = "free: {w_p: [0, 1]}\n";
    char text[600];
    /* the key's value */
    snprintf(text, sizeof text, BASE "%sheterogeneous: {w_p: {symmetric: yes}}\n"
             "optimizer: {popsize: 4, generations: 2}\n", free_opt);
    tr_expect_error(text, OPT, E,
                    "run.yaml:8:34: error: 'heterogeneous.w_p.symmetric' must be true or "
                    "false, got 'yes'");
    /* symmetric: false alone leaves nothing to vary */
    snprintf(text, sizeof text, BASE "%sheterogeneous: {w_p: {symmetric: false}}\n"
             "optimizer: {popsize: 4, generations: 2}\n", free_opt);
    tr_expect_error(text, OPT, E,
                    "run.yaml:8:23: error: 'heterogeneous.w_p' needs 'groups', 'maps' or "
                    "'symmetric: true'\n"
                    "  hint: give groups: FILE (one value per label), maps: [FILES], or "
                    "symmetric: true (one value per pair of mirrored nodes)");
    snprintf(text, sizeof text, BASE "%sheterogeneous: {w_p: {}}\n"
             "optimizer: {popsize: 4, generations: 2}\n", free_opt);
    tr_expect_error(text, OPT, E,
                    "run.yaml:8:22: error: 'heterogeneous.w_p' needs 'groups', 'maps' or "
                    "'symmetric: true'\n"
                    "  hint: give groups: FILE (one value per label), maps: [FILES], or "
                    "symmetric: true (one value per pair of mirrored nodes)");
    /* coef_range belongs to maps, also beside symmetric */
    snprintf(text, sizeof text, BASE "%sheterogeneous: {w_p: {symmetric: true, coef_range: "
             "[0, 1]}}\n"
             "optimizer: {popsize: 4, generations: 2}\n", free_opt);
    tr_expect_error(text, OPT, E,
                    "run.yaml:8:40: error: 'heterogeneous.w_p.coef_range' needs 'maps'\n"
                    "  hint: coef_range applies to maps");
    /* groups and maps together stay an error */
    snprintf(text, sizeof text, BASE "%sheterogeneous: {w_p: {groups: g.txt, maps: [m.txt], "
             "symmetric: true}}\n"
             "optimizer: {popsize: 4, generations: 2}\n", free_opt);
    tr_expect_error(text, OPT, E,
                    "run.yaml:8:38: error: 'heterogeneous.w_p' needs exactly one of 'groups' or "
                    "'maps'\n"
                    "  hint: give groups: FILE (one value per label) or maps: [FILES]");
}
END_TEST

/* ---- checks against the model's names and the connectome ----------------------------- */

static const char *const model_params[] = {"G", "w_p", "J_N", "wIE", "sigma"};
static const char *const model_vars[] = {"S_E", "r_E"};
#define PARAM_HINT "  hint: model 'rww' has parameters: G, w_p, J_N, wIE, sigma"

static void expect_model_error(const char *text, bnm_run_mode mode, const char *want)
{
    bnm_run *r = tr_ok(text, mode);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    ck_assert_int_eq(bnm_run_check_model(ctx, r, model_params, 5, model_vars, 2), BNM_ERR_RUN);
    ck_assert_str_eq(bnm_context_message(ctx), want);
    bnm_context_destroy(ctx);
    bnm_run_destroy(r);
}

START_TEST(unknown_parameter_names)
{
    expect_model_error(BASE "params: {Gg: 1}\n", SIM,
                       "run.yaml:7:10: error: unknown parameter 'Gg' in 'params' (did you mean "
                       "'G'?)\n" PARAM_HINT);
    expect_model_error(BASE "sweep:\n  grid: {w_pp: [0, 1, 2]}\n", SIM,
                       "run.yaml:8:10: error: unknown parameter 'w_pp' in 'sweep.grid' (did you "
                       "mean 'w_p'?)\n" PARAM_HINT);
    expect_model_error(BASE "free: {xyz: [0, 1]}\noptimizer: {popsize: 4, generations: 2}\n", OPT,
                       "run.yaml:7:8: error: unknown parameter 'xyz' in 'free'\n" PARAM_HINT);
    expect_model_error(BASE "outputs: {states_mean: [r_e]}\n", SIM,
                       "run.yaml:7:24: error: unknown variable 'r_e' in 'outputs.states_mean' "
                       "(did you mean 'r_E'?)\n"
                       "  hint: model 'rww' has variables: S_E, r_E");
    /* velocity is a run-level global, always known. */
    bnm_run *r = tr_ok(BASE "sweep: {grid: {velocity: [1, 10, 4]}}\n", SIM);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    ck_assert_int_eq(bnm_run_check_model(ctx, r, model_params, 5, NULL, 0), BNM_OK);
    bnm_context_destroy(ctx);
    bnm_run_destroy(r);
}
END_TEST

static void expect_nodes_error(const char *text, size_t n, const char *want)
{
    bnm_run *r = tr_ok(text, SIM);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    ck_assert_int_eq(bnm_run_check_nodes(ctx, r, n), BNM_ERR_RUN);
    ck_assert_str_eq(bnm_context_message(ctx), want);
    ck_assert_int_eq(bnm_run_check_nodes(ctx, r, n + 1), BNM_OK);
    bnm_context_destroy(ctx);
    bnm_run_destroy(r);
}

START_TEST(node_count_checks)
{
    expect_nodes_error(BASE "fit: {exc_interhemispheric: true}\n", 67,
                       "run.yaml:7:29: error: fit.exc_interhemispheric needs an even number of "
                       "nodes, the connectome has 67\n"
                       "  hint: nodes 0..N/2-1 and N/2..N-1 are taken as the two hemispheres, so "
                       "N must be even");
    /* symmetric pairs node i with node i + N/2 */
    bnm_run *r = tr_ok(BASE "free: {w_p: [0, 1]}\n"
                            "heterogeneous: {w_p: {groups: g.txt, symmetric: true}}\n"
                            "optimizer: {popsize: 4, generations: 2}\n",
                       OPT);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    ck_assert_int_eq(bnm_run_check_nodes(ctx, r, 7), BNM_ERR_RUN);
    ck_assert_str_eq(bnm_context_message(ctx),
                     "run.yaml:8:38: error: heterogeneous.w_p.symmetric needs an even number of "
                     "nodes, the connectome has 7\n"
                     "  hint: node i and node i + N/2 are taken as mirror images (left "
                     "hemisphere first, right in the same order), so N must be even; for "
                     "another node order give groups with one label per mirrored pair and no "
                     "symmetric");
    ck_assert_int_eq(bnm_run_check_nodes(ctx, r, 8), BNM_OK);
    bnm_context_destroy(ctx);
    bnm_run_destroy(r);
    expect_nodes_error(BASE "params: {w_p: [1, 2, 3]}\n", 2,
                       "run.yaml:7:10: error: params.w_p has 3 values, the connectome has 2 nodes\n"
                       "  hint: give one number for every node, or a single number for all");
}
END_TEST

/* ---- time constraints (analysis.md 2.2) --------------------------------------------- */

START_TEST(time_step_errors)
{
    tr_expect_error("model: rww\nduration: 60\ntr: 1\ndt: 0\nsubjects: [{id: a, sc: s}]\n", SIM, E,
                    "run.yaml:4:5: error: dt must be greater than 0\n"
                    "  hint: dt is the integration step in ms, for example 0.1");
    tr_expect_error("model: rww\nduration: 60\ntr: 1\ndt: 0.1\nbw_dt: 0.05\n"
                    "subjects: [{id: a, sc: s}]\n",
                    SIM, E,
                    "run.yaml:5:8: error: bw_dt (0.05 ms) is smaller than dt (0.1 ms)\n"
                    "  hint: bw_dt must be a whole multiple of dt");
    tr_expect_error("model: rww\nduration: 60\ntr: 1\ndt: 0.1\nbw_dt: 1.05\n"
                    "subjects: [{id: a, sc: s}]\n",
                    SIM, E,
                    "run.yaml:5:8: error: bw_dt (1.05 ms) is not a multiple of dt (0.1 ms)\n"
                    "  hint: the nearest multiples are 1 ms and 1.1 ms");
}
END_TEST

START_TEST(time_multiple_errors)
{
    tr_expect_error("model: rww\nduration: 60.0005\ntr: 1\nsubjects: [{id: a, sc: s}]\n", SIM, E,
                    "run.yaml:2:11: error: duration (60.0005 s) is not a multiple of bw_dt (1 ms)\n"
                    "  hint: the nearest multiples are 60 s and 60.001 s");
    tr_expect_error("model: rww\nduration: 60\ntr: 0.7005\nsubjects: [{id: a, sc: s}]\n", SIM, E,
                    "run.yaml:3:5: error: tr (0.7005 s) is not a multiple of bw_dt (1 ms)\n"
                    "  hint: the nearest multiples are 0.7 s and 0.701 s");
    tr_expect_error("model: rww\nduration: 60\ntr: 1\nstates_sampling: 0.0005\n"
                    "subjects: [{id: a, sc: s}]\n",
                    SIM, E,
                    "run.yaml:4:18: error: states_sampling (0.0005 s) is not a multiple of bw_dt "
                    "(1 ms)\n"
                    "  hint: the smallest multiple is 0.001 s");
    tr_expect_error(BASE "outputs: {states_ts: {vars: [S_E], every: 0.0015}}\n", SIM, E,
                    "run.yaml:7:43: error: outputs.states_ts.every (0.0015 s) is not a multiple "
                    "of bw_dt (1 ms)\n"
                    "  hint: the nearest multiples are 0.001 s and 0.002 s");
    tr_expect_error("model: rww\nduration: 60\ntr: 0\nsubjects: [{id: a, sc: s}]\n", SIM, E,
                    "run.yaml:3:5: error: tr must be greater than 0\n  hint: give a positive time");
}
END_TEST

START_TEST(time_text_errors)
{
    tr_expect_error("model: rww\nduration: 60\ntr: 0.0000000005\n", SIM, E,
                    "run.yaml:3:5: error: 'tr' is not a whole number of nanoseconds: "
                    "'0.0000000005'\n"
                    "  hint: 'tr' is a decimal number of seconds");
    tr_expect_error("model: rww\nduration: -5\n", SIM, E,
                    "run.yaml:2:11: error: 'duration' must not be negative: '-5'\n"
                    "  hint: 'duration' is a decimal number of seconds");
    tr_expect_error("model: rww\nduration: 60\ntr: 1\ndt: 0.1ms\n", SIM, E,
                    "run.yaml:4:5: error: 'dt' is not a number: '0.1ms'\n"
                    "  hint: 'dt' is a decimal number of milliseconds");
}
END_TEST

START_TEST(too_few_volumes)
{
    tr_expect_error("model: rww\nduration: 31\ntr: 1\nbold_remove: 30\nsubjects: [{id: a, sc: "
                    "s}]\n",
                    SIM, E,
                    "run.yaml:4:14: error: only 1 BOLD volume remains after bold_remove (n_vol = "
                    "31, n_rm = 30); FC needs at least 2\n"
                    "  hint: raise duration or lower bold_remove");
}
END_TEST

#define KS_HINT                                                                            \
    "  hint: raise duration, shorten outputs.fcd.window or outputs.fcd.step, lower "         \
    "bold_remove, or remove -fcd_ks from fit.terms"

START_TEST(too_few_fcd_windows_for_ks)
{
    tr_expect_error("model: rww\nduration: 65\ntr: 1\nbold_remove: 30\nsubjects: [{id: a, sc: "
                    "s}]\nfit: {terms: [+fc_corr, -fcd_ks]}\n",
                    SIM, E,
                    "run.yaml:6:14: error: -fcd_ks needs at least 2 FCD windows, but the "
                    "simulated BOLD gives 1 (35 volumes after bold_remove, windows of 31 "
                    "volumes every 5)\n" KS_HINT);
    /* Default terms, requested because the subject has empirical BOLD: cites duration. */
    tr_expect_error("model: rww\nduration: 60\ntr: 1\nbold_remove: 30\nsubjects: [{id: a, sc: "
                    "s, bold: b.npy}]\n",
                    SIM, E,
                    "run.yaml:2:11: error: -fcd_ks needs at least 2 FCD windows, but the "
                    "simulated BOLD gives 0 (30 volumes after bold_remove, windows of 31 "
                    "volumes every 5)\n" KS_HINT);
    /* Not requested (no scores): accepted. Exactly 2 windows: accepted. */
    bnm_run *r = tr_ok("model: rww\nduration: 60\ntr: 1\nbold_remove: 30\n"
                       "subjects: [{id: a, sc: s}]\n",
                       SIM);
    ck_assert_int_eq(r->counts.n_win, 0);
    bnm_run_destroy(r);
    r = tr_ok("model: rww\nduration: 66\ntr: 1\nbold_remove: 30\nsubjects: [{id: a, sc: s}]\n"
              "fit: {terms: [+fc_corr, -fcd_ks]}\n",
              SIM);
    ck_assert_int_eq(r->counts.n_win, 2);
    bnm_run_destroy(r);
    /* Without -fcd_ks the windows do not matter. */
    r = tr_ok("model: rww\nduration: 60\ntr: 1\nbold_remove: 30\nsubjects: [{id: a, sc: s}]\n"
              "fit: {terms: [+fc_corr, -fc_diff]}\n",
              SIM);
    ck_assert_uint_eq(r->fit.terms, BNM_FIT_FC_CORR | BNM_FIT_FC_DIFF);
    bnm_run_destroy(r);
}
END_TEST

START_TEST(fcd_and_fic_windows)
{
    tr_expect_error(BASE "outputs: {fcd: {window: 1}}\n", SIM, E,
                    "run.yaml:7:25: error: outputs.fcd.window (1 s) gives a window of 0 TRs (tr "
                    "= 1 s); at least 2 are needed\n"
                    "  hint: the window in TRs is 2*round(window/(2*tr)); use a window of at "
                    "least 1.5 TRs");
    tr_expect_error(BASE "fic: {max_trials: 2, sampling: [1000, 700000]}\n", SIM, E,
                    "run.yaml:7:32: error: the numerical FIC window ends at 700000 ms, after the "
                    "end of the simulation (duration 600 s)\n"
                    "  hint: raise duration or end fic.sampling earlier");
    tr_expect_error(BASE "fit: {terms: [+fc_corr, fcd_ks]}\n", SIM, E,
                    "run.yaml:7:25: error: unknown fit term 'fcd_ks' (did you mean '-fcd_ks'?)\n"
                    "  hint: 'fit term' is one of: +fc_corr, -fc_diff, -fc_normec, -fcd_ks");
}
END_TEST

/* Random edits of a valid file: every outcome is a parse or one located message. A
 * fixed xorshift seed keeps the edits reproducible. */
START_TEST(every_failure_is_located)
{
    static const char base[] =
        "model: rww\nduration: 600\ndt: 0.1\nbw_dt: 1.0\ntr: 0.72\nbold_remove: 30\n"
        "subjects:\n  - id: \"s1\"\n    sc: sc.txt\n    bold: b.npy\n"
        "params: {G: 2.0, w_p: [1, 2]}\n"
        "sweep: {grid: {J_N: [0.5, 3.0, 11], w_IE: [1.0, 1.6, 4]}}\n"
        "fic: {enabled: true, max_trials: 2, penalty_scale: 0.5}\n"
        "outputs: {fcd: {window: 30, step: 5}, states_ts: {vars: [S_E], every: 0.72}}\n"
        "fit: {terms: [+fc_corr, -fcd_ks], exc_interhemispheric: false}\n";
    static const char alphabet[] = " :-[]{},#\n\"'0123456789.e_abcz";
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    int located = 0, parsed = 0;
    for (int trial = 0; trial < 3000; trial++) {
        char text[sizeof base];
        memcpy(text, base, sizeof base);
        int edits = 1 + trial % 3;
        for (int e = 0; e < edits; e++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t pos = (size_t)(x % (sizeof base - 1));
            text[pos] = alphabet[(x >> 32) % (sizeof alphabet - 1)];
        }
        bnm_status st;
        char msg[2048];
        bnm_run *r = tr_parse(text, NULL, BNM_RUN_MODE_SIMULATE, &st, msg, sizeof msg);
        if (r) {
            parsed++;
            bnm_run_destroy(r);
            continue;
        }
        int line = 0, col = 0, n = 0;
        ck_assert_msg(sscanf(msg, "run.yaml:%d:%d: error: %n", &line, &col, &n) == 2 && n > 0,
                      "unlocated message for edit %d: %s", trial, msg);
        ck_assert(st == BNM_ERR_RUN || st == BNM_ERR_PARSE);
        ck_assert_int_ge(line, 1);
        ck_assert_int_le(line, 17);
        ck_assert_int_ge(col, 1);
        located++;
    }
    /* Both outcomes occur, so the check above was exercised. */
    ck_assert_int_gt(located, 1000);
    ck_assert_int_gt(parsed, 10);
}
END_TEST

TCase *tr_case_errors(void)
{
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, unknown_key_with_did_you_mean);
    tcase_add_test(tc, unknown_nested_key_lists_valid_keys);
    tcase_add_test(tc, wrong_types);
    tcase_add_test(tc, missing_required_keys);
    tcase_add_test(tc, duplicates_and_syntax);
    tcase_add_test(tc, mode_specific_keys);
    tcase_add_test(tc, unknown_bold_params);
    tcase_add_test(tc, bounds_lo_not_below_hi);
    tcase_add_test(tc, popsize_below_two);
    tcase_add_test(tc, zero_or_negative_n);
    tcase_add_test(tc, sweep_shape_errors);
    tcase_add_test(tc, heterogeneous_needs_free);
    tcase_add_test(tc, heterogeneous_symmetric_errors);
    tcase_add_test(tc, unknown_parameter_names);
    tcase_add_test(tc, node_count_checks);
    tcase_add_test(tc, time_step_errors);
    tcase_add_test(tc, time_multiple_errors);
    tcase_add_test(tc, time_text_errors);
    tcase_add_test(tc, too_few_volumes);
    tcase_add_test(tc, too_few_fcd_windows_for_ks);
    tcase_add_test(tc, fcd_and_fic_windows);
    tcase_add_test(tc, every_failure_is_located);
    return tc;
}
