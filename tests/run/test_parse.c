/* The two run-file examples of interface.md section 2, parsed from files. Data paths
 * are resolved but not opened by the parser (the data readers open them later), so the
 * examples need no data files. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_run.h"

/* interface.md section 2, verbatim. */
static const char simulate_example[] =
    "model: rww                 # built-in name or a path to a .nmm file\n"
    "duration: 900              # s of simulated time\n"
    "dt: 0.1                    # ms, integration step\n"
    "bw_dt: 1.0                 # ms, Balloon-Windkessel step (multiple of dt)\n"
    "tr: 0.72                   # s, BOLD sampling interval\n"
    "bold_remove: 30            # s dropped from the start before FC/FCD/averages\n"
    "bold_params: heinzle2016-3T\n"
    "seed: 0\n"
    "subjects:\n"
    "  - id: \"sub-01\"\n"
    "    sc: data/sub-01_sc.txt          # connection weights\n"
    "    lengths: data/sub-01_len.txt    # optional tract lengths (mm): enables delays\n"
    "    bold: data/sub-01_bold.npy      # optional empirical BOLD: enables fit scores\n"
    "params:                    # values shared by all simulations unless swept\n"
    "  G: 2.0\n"
    "sweep:                     # optional\n"
    "  grid: {G: [0.5, 3.0, 11], w_p: [1.0, 1.6, 4]}   # [lo, hi, n]\n"
    "  # or: random: {n: 1000, method: sobol, G: [0.5, 3.0]}\n"
    "  # or: table: params.csv\n"
    "fic: {enabled: true, max_trials: 0, penalty_scale: 0.5}\n"
    "outputs:\n"
    "  bold: true\n"
    "  fc: true\n"
    "  fcd: {window: 30, step: 5, drop_edges: true}\n"
    "  states_mean: [r_E, I_E]\n"
    "  states_ts: {vars: [S_E], every: 0.72}    # s (default: tr); streamed to disk, never "
    "held whole in memory\n"
    "fit: {terms: [+fc_corr, -fcd_ks], exc_interhemispheric: false}\n";

/* The simulate example without its sweep, plus interface.md's optimize additions. */
static const char optimize_example[] =
    "model: rww\n"
    "duration: 900\n"
    "dt: 0.1\n"
    "bw_dt: 1.0\n"
    "tr: 0.72\n"
    "bold_remove: 30\n"
    "bold_params: heinzle2016-3T\n"
    "seed: 0\n"
    "subjects:\n"
    "  - id: \"sub-01\"\n"
    "    sc: data/sub-01_sc.txt\n"
    "    lengths: data/sub-01_len.txt\n"
    "    bold: data/sub-01_bold.npy\n"
    "params:\n"
    "  G: 2.0\n"
    "fic: {enabled: true, max_trials: 0, penalty_scale: 0.5}\n"
    "fit: {terms: [+fc_corr, -fcd_ks], exc_interhemispheric: false}\n"
    "free:                      # free parameters and their bounds\n"
    "  G: [0.001, 10]\n"
    "  w_p: [0.0, 3.0]\n"
    "  J_N: [0.001, 0.5]\n"
    "heterogeneous:             # optional regional variation of free parameters\n"
    "  w_p: {groups: maps/yeo7.txt}          # one free value per group label\n"
    "  J_N: {maps: [maps/myelin.txt], coef_range: auto}   # J_N_i = J_N * (1 + sum_k c_k "
    "map_k[i])\n"
    "optimizer: {method: cmaes, popsize: 128, generations: 120, sigma0: 0.5, tolfun: 5e-3, "
    "seeds: [1, 2]}\n";

static bnm_run *parse_file_ok(const char *dir, const char *name, const char *text,
                              bnm_run_mode mode, char *logs, size_t logs_size)
{
    tr_write(dir, name, text);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = NULL;
    tr_capture_logs(logs, logs_size);
    bnm_status st = bnm_run_parse_file(ctx, path, mode, &run);
    tr_stop_capture();
    ck_assert_msg(st == BNM_OK, "%s", bnm_context_message(ctx));
    bnm_context_destroy(ctx);
    return run;
}

static void assert_path(const char *got, const char *dir, const char *rel)
{
    char want[512];
    snprintf(want, sizeof want, "%s/%s", dir, rel);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
}

START_TEST(simulate_example_parses)
{
    char dir[64], logs[1024];
    tr_mkdtemp(dir, sizeof dir);
    bnm_run *r = parse_file_ok(dir, "run.yaml", simulate_example, BNM_RUN_MODE_SIMULATE, logs,
                               sizeof logs);
    ck_assert_str_eq(r->model, "rww");
    ck_assert(!r->model_is_path);
    ck_assert_int_eq(r->duration_ns, INT64_C(900000000000));
    ck_assert_int_eq(r->dt_ns, 100000);
    ck_assert_int_eq(r->bw_dt_ns, 1000000);
    ck_assert_int_eq(r->tr_ns, 720000000);
    ck_assert_int_eq(r->bold_remove_ns, INT64_C(30000000000));
    ck_assert_int_eq(r->states_sampling_ns, 720000000); /* default: tr */
    ck_assert_int_eq(r->bold_params, BNM_BOLD_HEINZLE2016_3T);
    ck_assert_str_eq(r->bold_params_name, "heinzle2016-3T");
    ck_assert_int_eq(r->bold_mode, BNM_BOLD_BALLOON);
    ck_assert_uint_eq(r->seed, 0);
    ck_assert_int_eq(r->noise_sharing, BNM_NOISE_SHARED);
    ck_assert_int_eq(r->delay_rounding, BNM_RUN_DELAY_NEAREST);

    ck_assert_uint_eq(r->n_subjects, 1);
    ck_assert_str_eq(r->subjects[0].id, "sub-01");
    assert_path(r->subjects[0].sc, dir, "data/sub-01_sc.txt");
    assert_path(r->subjects[0].lengths, dir, "data/sub-01_len.txt");
    assert_path(r->subjects[0].bold, dir, "data/sub-01_bold.npy");
    ck_assert_int_eq(r->subjects[0].sc_loc.line, 11);
    ck_assert_int_eq(r->subjects[0].sc_loc.col, 9);
    ck_assert_int_eq(r->subjects[0].sc_orientation, BNM_SC_UNSPECIFIED);

    ck_assert_uint_eq(r->n_params, 1);
    ck_assert_str_eq(r->params[0].name, "G");
    ck_assert_uint_eq(r->params[0].n_values, 1);
    ck_assert(!r->params[0].per_node);
    ck_assert_double_eq(r->params[0].values[0], 2.0);

    ck_assert_int_eq(r->sweep.kind, BNM_SWEEP_GRID);
    ck_assert_int_eq(r->sweep.combine, BNM_SWEEP_PRODUCT);
    ck_assert_uint_eq(bnm_run_n_swept(r), 2);
    ck_assert_str_eq(bnm_run_swept_name(r, 0), "G");
    ck_assert_str_eq(bnm_run_swept_name(r, 1), "w_p");
    ck_assert_uint_eq(bnm_run_n_sets(r), 44);
    ck_assert_uint_eq(bnm_run_n_sims(r), 44);
    /* params says "unless swept": the fixed G is overridden, with a located warning. */
    char want[600];
    snprintf(want, sizeof want,
             "warn: %s/run.yaml:17:10: parameter 'G' is swept, so its value in params (line "
             "15) is not used\n",
             dir);
    ck_assert_str_eq(logs, want);

    ck_assert(r->fic.enabled);
    ck_assert_int_eq(r->fic.max_trials, 0);
    ck_assert_double_eq(r->fic.penalty_scale, 0.5);
    ck_assert(r->outputs.bold && r->outputs.fc && r->outputs.fcd && r->outputs.fcd_drop_edges);
    ck_assert_int_eq(r->outputs.fcd_window_ns, INT64_C(30000000000));
    ck_assert_int_eq(r->outputs.fcd_step_ns, INT64_C(5000000000));
    ck_assert_uint_eq(r->outputs.n_states_mean, 2);
    ck_assert_str_eq(r->outputs.states_mean[0], "r_E");
    ck_assert_str_eq(r->outputs.states_mean[1], "I_E");
    ck_assert_uint_eq(r->outputs.n_states_ts, 1);
    ck_assert_str_eq(r->outputs.states_ts[0], "S_E");
    ck_assert_int_eq(r->outputs.states_ts_every_ns, 720000000);
    ck_assert_uint_eq(r->fit.terms, BNM_FIT_FC_CORR | BNM_FIT_FCD_KS);
    ck_assert(!r->fit.exc_interhemispheric);

    /* analysis.md section 9, the worked example. */
    const bnm_run_counts *c = &r->counts;
    ck_assert_int_eq(c->n_inner, 10);
    ck_assert_int_eq(c->n_bw, 900000);
    ck_assert_int_eq(c->n_steps, 9000000);
    ck_assert_int_eq(c->bw_per_vol, 720);
    ck_assert_int_eq(c->n_vol, 1250);
    ck_assert_int_eq(c->n_rm, 41);
    ck_assert_int_eq(c->n_corr, 1209);
    ck_assert_int_eq(c->ws, 42);
    ck_assert_int_eq(c->st, 7);
    ck_assert_int_eq(c->n_win, 167);
    ck_assert_int_eq(c->n_samp, 1250);
    ck_assert_int_eq(c->n_rm_s, 41);
    ck_assert_int_eq(c->n_ts, 1250);
    ck_assert_int_eq(c->bw_per_ts, 720);

    ck_assert_ptr_nonnull(strstr(r->text, "heinzle2016-3T"));
    bnm_run_destroy(r);
    tr_rmdir(dir);
}
END_TEST

START_TEST(optimize_example_parses)
{
    char dir[64], logs[1024];
    tr_mkdtemp(dir, sizeof dir);
    bnm_run *r = parse_file_ok(dir, "opt.yaml", optimize_example, BNM_RUN_MODE_OPTIMIZE, logs,
                               sizeof logs);
    ck_assert_uint_eq(r->n_free, 3);
    ck_assert_str_eq(r->free_params[0].name, "G");
    ck_assert_double_eq(r->free_params[0].lo, 0.001);
    ck_assert_double_eq(r->free_params[0].hi, 10);
    ck_assert_str_eq(r->free_params[1].name, "w_p");
    ck_assert_double_eq(r->free_params[1].lo, 0.0);
    ck_assert_double_eq(r->free_params[1].hi, 3.0);
    ck_assert_str_eq(r->free_params[2].name, "J_N");
    ck_assert_double_eq(r->free_params[2].hi, 0.5);
    ck_assert_int_eq(r->free_params[2].loc.line, 21);
    ck_assert_int_eq(r->free_params[2].loc.col, 3);

    ck_assert_uint_eq(r->n_hetero, 2);
    ck_assert_str_eq(r->hetero[0].name, "w_p");
    assert_path(r->hetero[0].groups, dir, "maps/yeo7.txt");
    ck_assert_uint_eq(r->hetero[0].n_maps, 0);
    ck_assert_str_eq(r->hetero[1].name, "J_N");
    ck_assert_ptr_null(r->hetero[1].groups);
    ck_assert_uint_eq(r->hetero[1].n_maps, 1);
    assert_path(r->hetero[1].maps[0], dir, "maps/myelin.txt");
    ck_assert(r->hetero[1].coef_auto);

    ck_assert(r->has_optimizer);
    ck_assert_str_eq(r->optimizer.method, "cmaes");
    ck_assert_int_eq(r->optimizer.popsize, 128);
    ck_assert_int_eq(r->optimizer.generations, 120);
    ck_assert_double_eq(r->optimizer.sigma0, 0.5);
    ck_assert_double_eq(r->optimizer.tolfun, 5e-3);
    ck_assert_uint_eq(r->optimizer.n_seeds, 2);
    ck_assert_uint_eq(r->optimizer.seeds[0], 1);
    ck_assert_uint_eq(r->optimizer.seeds[1], 2);
    ck_assert_int_eq(r->sweep.kind, BNM_SWEEP_NONE);
    ck_assert_uint_eq(bnm_run_n_sets(r), 1);

    char want[600];
    snprintf(want, sizeof want,
             "warn: %s/opt.yaml:19:3: parameter 'G' is free, so its value in params (line 15) "
             "is not used\n",
             dir);
    ck_assert_str_eq(logs, want);

    /* The model's names: every parameter name and variable is known. */
    static const char *const params[] = {"G", "w_p", "J_N", "wIE", "sigma"};
    static const char *const vars[] = {"S_E", "S_I", "r_E", "I_E"};
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    ck_assert_int_eq(bnm_run_check_model(ctx, r, params, 5, vars, 4), BNM_OK);
    ck_assert_int_eq(bnm_run_check_nodes(ctx, r, 68), BNM_OK);
    bnm_context_destroy(ctx);
    bnm_run_destroy(r);
    tr_rmdir(dir);
}
END_TEST

START_TEST(defaults_follow_the_model)
{
    bnm_run *r = tr_ok("model: hopf\nduration: 60\ntr: 1\nsubjects: [{id: a, sc: sc.txt}]\n",
                       BNM_RUN_MODE_SIMULATE);
    ck_assert_int_eq(r->dt_ns, 10 * BNM_NS_PER_MS);
    ck_assert_int_eq(r->bw_dt_ns, 10 * BNM_NS_PER_MS);
    ck_assert_int_eq(r->bold_mode, BNM_BOLD_DIRECT);
    ck_assert_int_eq(r->bold_remove_ns, 30 * BNM_NS_PER_S);
    ck_assert_int_eq(r->bold_params, BNM_BOLD_FRISTON2003);
    ck_assert_str_eq(r->subjects[0].sc, "sc.txt"); /* no base folder: as written */
    ck_assert_double_eq(r->emp_outlier_threshold, 0.5);
    ck_assert_int_eq(r->emp_remove_vols, 0);
    ck_assert_int_eq(r->precision, BNM_RUN_PRECISION_DEFAULT);
    bnm_run_destroy(r);

    r = tr_ok("model: models/mpr.nmm\nduration: 60\ntr: 1\nsubjects: [{id: a, sc: sc.txt}]\n"
              "precision: float\nintegrator: heun\n",
              BNM_RUN_MODE_SIMULATE);
    ck_assert(r->model_is_path);
    ck_assert_int_eq(r->dt_ns, 10000); /* 0.01 ms */
    ck_assert_int_eq(r->bw_dt_ns, BNM_NS_PER_MS);
    ck_assert_int_eq(r->precision, BNM_RUN_PRECISION_FLOAT);
    ck_assert_str_eq(r->integrator, "heun");
    bnm_run_destroy(r);

    int64_t dt, bw;
    bnm_run_default_steps("rww", &dt, &bw);
    ck_assert_int_eq(dt, 100000);
    ck_assert_int_eq(bw, 1000000);
    bnm_run_default_steps("kuramoto", &dt, &bw);
    ck_assert_int_eq(dt, 100000);
    bnm_run_default_steps("mpr", &dt, &bw);
    ck_assert_int_eq(dt, 10000);
    bnm_run_default_steps("hopf", &dt, &bw);
    ck_assert_int_eq(dt, 10000000);
    ck_assert_int_eq(bw, 10000000);
    ck_assert_int_eq(bnm_run_default_bold_mode("rww"), BNM_BOLD_BALLOON);
}
END_TEST

START_TEST(per_node_params_and_other_keys)
{
    bnm_run *r = tr_ok("model: rww\n"
                       "duration: 60\n"
                       "tr: 1\n"
                       "subjects:\n"
                       "  - {id: a, sc: sc.txt, sc_orientation: target_rows, bold_layout: "
                       "time_by_nodes}\n"
                       "  - {id: b, sc: /abs/sc.txt}\n"
                       "params: {G: 1.5, w_p: [1.0, 1.1, 1.2, 1.3]}\n"
                       "velocity: 5\n"
                       "noise_sharing: per_simulation\n"
                       "delay_rounding: cubnm\n"
                       "seed: 12345678901\n"
                       "states_sampling: 0.5\n"
                       "emp_remove_vols: 5\n"
                       "emp_outlier_threshold: 0.25\n"
                       "fic: {enabled: false, max_trials: 3, method: iterative, sampling: "
                       "[1000, 5000], init_delta: 0.01, root_tol: 1e-3}\n"
                       "outputs: {fcd: false, states_mean: S_E}\n",
                       BNM_RUN_MODE_ANY);
    ck_assert_uint_eq(r->n_subjects, 2);
    ck_assert_int_eq(r->subjects[0].sc_orientation, BNM_SC_TARGET_ROWS);
    ck_assert_int_eq(r->subjects[0].bold_layout, BNM_BOLD_TIME_BY_NODES);
    ck_assert_str_eq(r->subjects[1].sc, "/abs/sc.txt");
    ck_assert(r->params[1].per_node);
    ck_assert_uint_eq(r->params[1].n_values, 4);
    ck_assert_double_eq(r->params[1].values[3], 1.3);
    ck_assert_double_eq(r->velocity, 5.0);
    ck_assert_int_eq(r->noise_sharing, BNM_NOISE_PER_SIMULATION);
    ck_assert_int_eq(r->delay_rounding, BNM_RUN_DELAY_CUBNM);
    ck_assert_uint_eq(r->seed, UINT64_C(12345678901));
    ck_assert_int_eq(r->counts.n_samp, 120);
    ck_assert_int_eq(r->counts.n_rm_s, 60);
    ck_assert_int_eq(r->emp_remove_vols, 5);
    ck_assert_double_eq(r->emp_outlier_threshold, 0.25);
    ck_assert(!r->fic.enabled);
    ck_assert_int_eq(r->fic.max_trials, 3);
    ck_assert_int_eq(r->fic.method, BNM_RUN_FIC_ITERATIVE);
    ck_assert_int_eq(r->fic.sampling_end_ns, 5000 * BNM_NS_PER_MS);
    ck_assert_double_eq(r->fic.root_tol, 1e-3);
    ck_assert(!r->outputs.fcd);
    ck_assert_uint_eq(r->outputs.n_states_mean, 1);
    ck_assert_uint_eq(bnm_run_n_sims(r), 2);
    size_t subj;
    uint64_t seed;
    ck_assert(bnm_run_sim_params(r, 1, &subj, &seed, NULL));
    ck_assert_uint_eq(subj, 1);
    ck_assert_uint_eq(seed, UINT64_C(12345678901));
    ck_assert(!bnm_run_sim_params(r, 2, &subj, &seed, NULL));

    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    ck_assert_int_eq(bnm_run_check_nodes(ctx, r, 4), BNM_OK);
    bnm_context_destroy(ctx);
    bnm_run_destroy(r);
}
END_TEST

START_TEST(missing_file_is_an_io_error)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *r = (bnm_run *)1;
    ck_assert_int_eq(bnm_run_parse_file(ctx, "/nonexistent/run.yaml", BNM_RUN_MODE_ANY, &r),
                     BNM_ERR_IO);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(bnm_context_message(ctx),
                     "cannot read run file '/nonexistent/run.yaml': No such file or directory");
    bnm_context_destroy(ctx);
    bnm_run_destroy(NULL);
}
END_TEST

START_TEST(optimize_defaults_and_any_mode)
{
    bnm_run *r = tr_ok("model: rww\nduration: 600\ntr: 1\nseed: 5\nsubjects: [{id: a, sc: s}]\n"
                       "fic: false\n"
                       "free: {G: [0, 1], J_N: [0.1, 0.5]}\n"
                       "heterogeneous: {J_N: {maps: [m1.txt, m2.txt], coef_range: [-1, 2]}}\n"
                       "optimizer: {popsize: 8, generations: 3}\n",
                       BNM_RUN_MODE_OPTIMIZE);
    ck_assert(!r->fic.enabled);
    ck_assert_uint_eq(r->optimizer.n_seeds, 1);
    ck_assert_uint_eq(r->optimizer.seeds[0], 5); /* default: the run seed */
    ck_assert_double_eq(r->optimizer.sigma0, 0.5);
    ck_assert_double_eq(r->optimizer.tolfun, 1e-3);
    ck_assert_str_eq(r->optimizer.method, "cmaes");
    ck_assert_uint_eq(r->hetero[0].n_maps, 2);
    ck_assert_str_eq(r->hetero[0].maps[1], "m2.txt");
    ck_assert_int_eq(r->hetero[0].maps_loc[1].line, 8);
    ck_assert(!r->hetero[0].coef_auto);
    ck_assert_double_eq(r->hetero[0].coef_lo, -1);
    ck_assert_double_eq(r->hetero[0].coef_hi, 2);
    ck_assert(!r->hetero[0].symmetric); /* default */
    ck_assert_int_eq(r->hetero[0].symmetric_loc.line, 0);
    /* optimize runs are scored: -fcd_ks is requested, windows were checked. */
    ck_assert_int_eq(r->counts.n_win, 108);
    bnm_run_destroy(r);
    /* MODE_ANY accepts the keys of both commands. */
    r = tr_ok("model: rww\nduration: 600\ntr: 1\nsubjects: [{id: a, sc: s}]\n"
              "sweep: {grid: {G: [0, 1, 2]}}\nfree: {J_N: [0.1, 0.5]}\n",
              BNM_RUN_MODE_ANY);
    ck_assert_uint_eq(bnm_run_n_sets(r), 2);
    ck_assert_uint_eq(r->n_free, 1);
    ck_assert(!r->has_optimizer);
    bnm_run_destroy(r);
}
END_TEST

START_TEST(heterogeneous_symmetric_parses)
{
    bnm_run *r = tr_ok("model: rww\nduration: 600\ntr: 1\nsubjects: [{id: a, sc: s}]\n"
                       "fic: false\n"
                       "free: {w_p: [0, 1], J_N: [0.1, 0.5], wIE: [0.5, 2]}\n"
                       "heterogeneous:\n"
                       "  w_p: {groups: g.txt, symmetric: true}\n"
                       "  J_N: {maps: [m.txt], symmetric: false}\n"
                       "  wIE: {symmetric: true}\n"
                       "optimizer: {popsize: 8, generations: 3}\n",
                       BNM_RUN_MODE_OPTIMIZE);
    ck_assert_uint_eq(r->n_hetero, 3);
    ck_assert(r->hetero[0].symmetric);
    ck_assert_str_eq(r->hetero[0].groups, "g.txt");
    ck_assert_int_eq(r->hetero[0].symmetric_loc.line, 8);
    ck_assert_int_eq(r->hetero[0].symmetric_loc.col, 24);
    ck_assert(!r->hetero[1].symmetric);
    ck_assert_uint_eq(r->hetero[1].n_maps, 1);
    /* symmetric alone: neither groups nor maps */
    ck_assert(r->hetero[2].symmetric);
    ck_assert_ptr_null(r->hetero[2].groups);
    ck_assert_uint_eq(r->hetero[2].n_maps, 0);
    bnm_run_destroy(r);
}
END_TEST

TCase *tr_case_parse(void)
{
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, simulate_example_parses);
    tcase_add_test(tc, optimize_example_parses);
    tcase_add_test(tc, defaults_follow_the_model);
    tcase_add_test(tc, per_node_params_and_other_keys);
    tcase_add_test(tc, missing_file_is_an_io_error);
    tcase_add_test(tc, optimize_defaults_and_any_mode);
    tcase_add_test(tc, heterogeneous_symmetric_parses);
    return tc;
}
