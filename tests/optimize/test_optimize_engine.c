/* The engine as the driver's evaluator (bnm_opt_engine_eval) on PoCL: rWW with analytic
 * FIC on a 6-node network. The best re-run is written in full: /runs/k/best_sim holds
 * the simulate file of that particle (BOLD, FC, states_mean, FIC outputs, params,
 * inputs, root attributes), and its scores equal the ones the particle got in its
 * generation, bit for bit (the re-run keeps the batches' kernel); w_p symmetric across
 * the hemispheres reaches the kernel mirrored. A run's history and re-run are the same
 * alone and batched with three others. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clbnm/clbnm.h"
#include "clbnm/optimize.h"
#include "test_optimize_cli.h"

#define N 6

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Whole dataset as doubles and its shape. */
static double *get(const char *file, const char *name, int *ndim, hsize_t *dims)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "open %s", file);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s: no %s", file, name);
    hid_t s = H5Dget_space(d);
    *ndim = H5Sget_simple_extent_dims(s, dims, NULL);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

static double get1(const char *file, const char *name)
{
    int nd;
    hsize_t dims[4];
    double *v = get(file, name, &nd, dims);
    double x = v[0];
    free(v);
    return x;
}

static const char *const PARAMS[] = {"G", "w_p", "J_N", "wIE", "J_i", "sigma"};
static const char *const FIC[] = {"wIE", "J_i"};

/* Parses text (files in dir), builds the problem (every subject has N nodes; dim
 * coordinates expected) and runs the whole job with bnm_opt_engine_eval into out. */
static void optimize_with_engine(const char *dir, const char *text, const char *out, size_t dim)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = NULL;
    ck_assert_msg(bnm_run_parse_string(ctx, text, strlen(text), "run.yaml", dir,
                                       BNM_RUN_MODE_OPTIMIZE, &run) == BNM_OK,
                  "%s", bnm_context_message(ctx));
    size_t nodes[4] = {N, N, N, N};
    bnm_opt_problem_config pc;
    bnm_opt_problem_config_init_defaults(&pc);
    pc.run = run;
    pc.param_names = PARAMS;
    pc.n_param_names = sizeof PARAMS / sizeof *PARAMS;
    pc.fic_names = FIC;
    pc.n_fic_names = 2;
    pc.subject_nodes = nodes;
    bnm_opt_problem *p = NULL;
    ck_assert_msg(bnm_opt_problem_create(ctx, &pc, &p) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    ck_assert_uint_eq(bnm_opt_problem_dim(p), dim);
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    bnm_opt_engine e = {.run = run};
    bnm_engine_options_init_defaults(&e.opts);
    e.opts.cache_dir = cache;
    bnm_opt_config c;
    bnm_opt_config_init_defaults(&c);
    c.outdir = out;
    c.eval = bnm_opt_engine_eval;
    c.user = &e;
    c.model = "rww";
    ck_assert_msg(bnm_optimize(ctx, p, &c) == BNM_OK, "%s", bnm_context_message(ctx));
    bnm_opt_problem_destroy(p);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
}

/* A mirror-symmetric ring with a chord (node i + 3 mirrors node i), weights times scale,
 * and random empirical BOLD (12 volumes) from seed. */
static void make_subject(const char *dir, const char *sc_name, const char *bold_name,
                         double scale, unsigned seed)
{
    char sc[1024] = "", bold[8192] = "", line[256];
    for (int i = 0; i < N; i++) {
        line[0] = 0;
        for (int j = 0; j < N; j++) {
            int d = abs(i - j);
            double w = scale * ((d == 1 || d == N - 1) ? 0.5 : (d == 3 ? 0.25 : 0.0));
            snprintf(line + strlen(line), sizeof line - strlen(line), "%g ", w);
        }
        strcat(sc, line);
        strcat(sc, "\n");
    }
    unsigned r = seed;
    for (int i = 0; i < N; i++) {
        for (int v = 0; v < 12; v++) {
            r = r * 1103515245u + 12345u;
            snprintf(line, sizeof line, "%.4f ", (double)((r >> 8) % 10000) / 10000.0);
            strcat(bold, line);
        }
        strcat(bold, "\n");
    }
    put(dir, sc_name, sc);
    put(dir, bold_name, bold);
}

static bool same_doubles(const char *fa, const char *na, const char *fb, const char *nb)
{
    int da, db;
    hsize_t sa[4], sb[4];
    double *a = get(fa, na, &da, sa), *b = get(fb, nb, &db, sb);
    size_t n = 1;
    bool same = da == db;
    for (int k = 0; same && k < da; k++) {
        same = sa[k] == sb[k];
        n *= sa[k];
    }
    same = same && memcmp(a, b, n * sizeof *a) == 0;
    free(a);
    free(b);
    return same;
}

START_TEST(engine_best_sim_in_full)
{
    char dir[] = "/tmp/clbnm_opteng_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    make_subject(dir, "sc.txt", "bold.txt", 1.0, 11);
    const char *text =
        "model: rww\nduration: 12\ntr: 1\nbold_remove: 0\nseed: 4\n"
        "subjects:\n  - id: s1\n    sc: sc.txt\n    bold: bold.txt\n"
        "fit: {terms: [+fc_corr]}\n"
        "outputs: {bold: true, fc: true, fcd: false, states_mean: [S_E]}\n"
        "free: {G: [0.1, 0.6], w_p: [1.0, 1.6]}\n"
        "heterogeneous: {w_p: {symmetric: true}}\n"
        "optimizer: {popsize: 3, generations: 2, seeds: [3]}\n";
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    char out[600], h5[700];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(h5, sizeof h5, "%s/runs.h5", out);
    optimize_with_engine(dir, text, out, 4);

    int nd;
    hsize_t dims[4];
    /* The re-run reproduces the best particle's scores bit for bit. */
    double best_cost = get1(h5, "/runs/0/best/cost");
    ck_assert(isfinite(best_cost));
    ck_assert(get1(h5, "/runs/0/best_sim/scores/cost") == best_cost);
    ck_assert(get1(h5, "/runs/0/best_sim/scores/fc_corr") ==
              get1(h5, "/runs/0/best/scores/fc_corr"));
    /* A simulate file's layout, one simulation. */
    double *b = get(h5, "/runs/0/best_sim/bold", &nd, dims);
    ck_assert_int_eq(nd, 3);
    ck_assert_uint_eq(dims[0], 1);
    ck_assert_uint_eq(dims[1], 12);
    ck_assert_uint_eq(dims[2], N);
    for (size_t i = 0; i < 12 * N; i++)
        ck_assert(isfinite(b[i]));
    free(b);
    double *fc = get(h5, "/runs/0/best_sim/fc", &nd, dims);
    ck_assert_uint_eq(dims[1], N * (N - 1) / 2);
    free(fc);
    free(get(h5, "/runs/0/best_sim/fc_pairs", &nd, dims));
    ck_assert_uint_eq(dims[0], N * (N - 1) / 2);
    free(get(h5, "/runs/0/best_sim/states_mean/S_E", &nd, dims));
    ck_assert(nd == 2 && dims[0] == 1 && dims[1] == N);
    /* FIC outputs: the controlled param per node, trials and failures. */
    double *wie = get(h5, "/runs/0/best_sim/params/wIE", &nd, dims);
    ck_assert(nd == 2 && dims[1] == N);
    for (size_t i = 0; i < N; i++)
        ck_assert(isfinite(wie[i]) && wie[i] > 0);
    free(wie);
    free(get(h5, "/runs/0/best_sim/fic/trials", &nd, dims));
    free(get(h5, "/runs/0/best_sim/fic/failed", &nd, dims));
    /* The particle's values, as per-simulation params; w_p mirrored. */
    double *G = get(h5, "/runs/0/best_sim/params/G", &nd, dims);
    ck_assert(nd == 1 && dims[0] == 1);
    ck_assert(G[0] == get1(h5, "/runs/0/best/params/G"));
    free(G);
    double *wp = get(h5, "/runs/0/best_sim/params/w_p", &nd, dims);
    ck_assert(nd == 2 && dims[1] == N);
    ck_assert(wp[0] == wp[3] && wp[1] == wp[4] && wp[2] == wp[5]);
    free(wp);
    free(get(h5, "/runs/0/best_sim/sims/seed", &nd, dims));
    free(get(h5, "/runs/0/best_sim/subjects/s1/sc", &nd, dims));
    free(get(h5, "/runs/0/best_sim/subjects/s1/emp_fc", &nd, dims));
    char *model = NULL, *rf = NULL;
    ck_assert_int_eq(bnm_h5_read_attr_string(ctx, h5, "/runs/0/best_sim", "model", &model),
                     BNM_OK);
    ck_assert_str_eq(model, "rww");
    ck_assert_int_eq(bnm_h5_read_attr_string(ctx, h5, "/runs/0/best_sim", "run_file", &rf),
                     BNM_OK);
    ck_assert_str_eq(rf, text);
    free(model);
    free(rf);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s/.best_sim_0.h5", out);
    ck_assert_int_ne(access(tmp, F_OK), 0);

    bnm_context_destroy(ctx);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The same subject x seed run alone and as run 3 of four (two subjects x two seeds):
 * its history and best re-run are the same bit for bit with the real engine too. */
START_TEST(engine_history_alone_equals_batched)
{
    char dir[] = "/tmp/clbnm_opteng_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    make_subject(dir, "sc1.txt", "bold1.txt", 1.0, 11);
    make_subject(dir, "sc2.txt", "bold2.txt", 0.7, 29);
#define ENG_HEAD                                                                   \
    "model: rww\nduration: 6\ntr: 1\nbold_remove: 0\nseed: 4\nfic: false\n"        \
    "fit: {terms: [+fc_corr]}\noutputs: {fcd: false}\n"                             \
    "free: {G: [0.1, 0.6], J_N: [0.1, 0.2]}\n"
#define S2 "  - {id: s2, sc: sc2.txt, bold: bold2.txt}\n"
    const char *alone = ENG_HEAD "subjects:\n" S2
                                 "optimizer: {popsize: 3, generations: 2, seeds: [5]}\n";
    const char *four = ENG_HEAD "subjects:\n  - {id: s1, sc: sc1.txt, bold: bold1.txt}\n" S2
                                "optimizer: {popsize: 3, generations: 2, seeds: [3, 5]}\n";
#undef S2
#undef ENG_HEAD
    char oa[600], of[600], fa[700], ff[700];
    snprintf(oa, sizeof oa, "%s/alone", dir);
    snprintf(of, sizeof of, "%s/four", dir);
    snprintf(fa, sizeof fa, "%s/runs.h5", oa);
    snprintf(ff, sizeof ff, "%s/runs.h5", of);
    optimize_with_engine(dir, alone, oa, 2);
    optimize_with_engine(dir, four, of, 2);
    static const char *const names[] = {"history/x", "history/cost", "history/scores/fc_corr",
                                        "history/fic_penalty", "best/x", "best_sim/bold",
                                        "best_sim/fc", "best_sim/params/G",
                                        "best_sim/params/J_N"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        char na[100], nf[100];
        snprintf(na, sizeof na, "/runs/0/%s", names[k]);
        snprintf(nf, sizeof nf, "/runs/3/%s", names[k]);
        ck_assert_msg(same_doubles(fa, na, ff, nf), "%s differs from %s", na, nf);
    }
    /* The other subject's runs differ: the comparison is not trivially true. */
    ck_assert(!same_doubles(ff, "/runs/1/history/cost", ff, "/runs/3/history/cost"));
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

TCase *optimize_engine_tcase(void)
{
    TCase *t = tcase_create("engine");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, engine_best_sim_in_full);
    tcase_add_test(t, engine_history_alone_equals_batched);
    return t;
}
