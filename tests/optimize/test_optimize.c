/* The batched optimisation driver (optim/driver, clbnm/optimize.h), against a cheap
 * analytic evaluation callback: cost = mean squared distance, in units of each param's
 * range, of the particle's per-node values to known per-subject targets. Checked:
 * recovery of the targets, a run's history identical alone and batched with three
 * others, kill -9 then --resume equal bitwise to an uninterrupted job, every bad input
 * with its message, the heterogeneity mappings and the automatic coefficient range,
 * the CSV against runs.h5. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clbnm/clbnm.h"
#include "clbnm/optimize.h"
#include "test_optimize_cli.h"

/* ---- fixtures ------------------------------------------------------------------- */

static const char *const PARAMS[] = {"G", "w_p", "J_N", "wIE", "J_i", "sigma"};
static const char *const FIC[] = {"wIE", "J_i"};

static char *make_dir(void)
{
    char *d = strdup("/tmp/clbnm_opt_XXXXXX");
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static bnm_run *parse(bnm_context *ctx, const char *dir, const char *text)
{
    bnm_run *run = NULL;
    bnm_status st = bnm_run_parse_string(ctx, text, strlen(text), "run.yaml", dir,
                                         BNM_RUN_MODE_OPTIMIZE, &run);
    ck_assert_msg(st == BNM_OK, "parse: %s", bnm_context_message(ctx));
    return run;
}

/* Creates the problem; nodes[s] = N of subject s (NULL: every subject has n). */
static bnm_status problem(bnm_context *ctx, const bnm_run *run, size_t n, const size_t *nodes,
                          bnm_opt_problem **out)
{
    size_t dflt[8];
    for (size_t s = 0; s < 8; s++)
        dflt[s] = n;
    bnm_opt_problem_config c;
    bnm_opt_problem_config_init_defaults(&c);
    c.run = run;
    c.param_names = PARAMS;
    c.n_param_names = sizeof PARAMS / sizeof *PARAMS;
    c.fic_names = FIC;
    c.n_fic_names = 2;
    c.subject_nodes = nodes ? nodes : dflt;
    return bnm_opt_problem_create(ctx, &c, out);
}

/* The analytic callback. target(subject s, param j, node i) is a fixed function below;
 * it checks what the driver promises about every batch as it goes. */
typedef struct cb_user {
    const bnm_opt_problem *p;
    const bnm_run *run;
    unsigned batches;
    size_t first_batch_n;
    unsigned sleep_ms; /* per batch, so a killed child is caught mid-job */
    unsigned fail_at;  /* 1-based batch that fails (0: none) */
    size_t evaluated;  /* particles of generation batches (not the best re-run) */
    uint64_t noise_seed;
    bool bad; /* an invariant failed (asserting inside the child would not report) */
    bool write_sim; /* write a small file to each sim_out of the best re-run */
    size_t sim_out_seen; /* particles of the best re-run that were offered a file */
} cb_user;

/* A stand-in for the engine's simulate file: /bold [1, 2, 3] = run index + 0.5 * i,
 * /scores/cost [1] and the root attribute model = "fake". */
static bool write_fake_sim(const char *path, size_t run, double cost)
{
    hid_t f = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return false;
    double bold[6];
    for (int i = 0; i < 6; i++)
        bold[i] = (double)run + 0.5 * i;
    hsize_t d3[3] = {1, 2, 3}, d1 = 1;
    hid_t sp = H5Screate_simple(3, d3, NULL), s1 = H5Screate_simple(1, &d1, NULL);
    hid_t ds = H5Dcreate2(f, "bold", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    bool ok = ds >= 0 &&
              H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, bold) >= 0;
    if (ds >= 0)
        H5Dclose(ds);
    hid_t g = H5Gcreate2(f, "scores", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ds = g >= 0 ? H5Dcreate2(g, "cost", H5T_NATIVE_DOUBLE, s1, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT)
                : -1;
    ok = ok && ds >= 0 &&
         H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &cost) >= 0;
    if (ds >= 0)
        H5Dclose(ds);
    if (g >= 0)
        H5Gclose(g);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    hid_t sc = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "model", t, sc, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && a >= 0 && H5Awrite(a, t, "fake") >= 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sc);
    H5Tclose(t);
    H5Sclose(sp);
    H5Sclose(s1);
    return H5Fclose(f) >= 0 && ok;
}

/* Targets follow the subject's ID ("s0", "s1": the trailing digit), not its index, so
 * one subject has the same targets in every run file that lists it. */
static double target(const bnm_opt_problem *p, const bnm_run *run, size_t subj, size_t j,
                     size_t i)
{
    const char *id = run->subjects[subj].id;
    size_t s = (size_t)(id[strlen(id) - 1] - '0');
    double lo, hi;
    /* First coordinate of param j in parameter order is enough for its range: every
     * coordinate of a plain or groups param shares the param's bounds. */
    size_t c = 0;
    for (size_t q = 0; q < bnm_opt_problem_dim(p); q++)
        if (strncmp(bnm_opt_problem_coord_name(p, q), bnm_opt_problem_param_name(p, j),
                    strlen(bnm_opt_problem_param_name(p, j))) == 0) {
            c = q;
            break;
        }
    bnm_opt_problem_coord_bounds(p, c, &lo, &hi);
    double f = 0.3 + 0.15 * (double)s + 0.07 * (double)j;
    if (bnm_opt_problem_param_regional(p, j))
        f += 0.1 * (double)(i / 2); /* groups of two nodes (labels file below) */
    return lo + f * (hi - lo);
}

static bnm_status analytic(bnm_context *ctx, const bnm_opt_batch *b, void *user)
{
    cb_user *u = user;
    const bnm_opt_problem *p = u->p;
    if (u->fail_at && u->batches + 1 == u->fail_at)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "simulated device failure in batch %u",
                        u->fail_at);
    if (u->batches++ == 0)
        u->first_batch_n = b->n;
    if (!b->best_rerun)
        u->evaluated += b->n;
    for (size_t q = 0; q < b->n; q++) {
        size_t subj;
        uint64_t ns;
        bnm_opt_problem_run_info(p, b->run[q], &subj, NULL, &ns);
        if (subj != b->subject[q] || ns != b->seed[q] || ns != u->noise_seed)
            u->bad = true;
        double sum = 0;
        for (size_t j = 0; j < b->n_params; j++) {
            double lo, hi;
            bnm_opt_problem_coord_bounds(p, 0, &lo, &hi);
            for (size_t i = 0; i < b->n_nodes; i++) {
                double v = b->values[(q * b->n_params + j) * b->n_nodes + i];
                double t = target(p, u->run, subj, j, i), r = hi - lo;
                sum += (v - t) * (v - t) / (r * r);
            }
        }
        b->cost[q] = sum / (double)(b->n_params * b->n_nodes);
        b->scores[q * BNM_FIT_N_TERMS + BNM_FIT_IDX_FC_CORR] = 1 - b->cost[q];
        b->scores[q * BNM_FIT_N_TERMS + BNM_FIT_IDX_FCD_KS] = -0.5 * b->cost[q];
        b->gof[q] = 1 - 1.5 * b->cost[q];
        b->fic_penalty[q] = 0;
        b->diverged[q] = 0;
    }
    if (b->best_rerun != (b->sim_out != NULL))
        u->bad = true; /* files are offered to the re-run only */
    for (size_t q = 0; b->sim_out && q < b->n; q++) {
        if (!b->sim_out[q] || access(b->sim_out[q], F_OK) == 0)
            u->bad = true; /* a name, and nothing there yet */
        u->sim_out_seen++;
        if (u->write_sim && !write_fake_sim(b->sim_out[q], b->run[q], b->cost[q]))
            u->bad = true;
    }
    if (u->sleep_ms) {
        struct timespec ts = {0, (long)u->sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    return BNM_OK;
}

static bnm_status run_opt(bnm_context *ctx, const bnm_opt_problem *p, const char *outdir,
                          bool resume, cb_user *u)
{
    bnm_opt_config c;
    bnm_opt_config_init_defaults(&c);
    c.outdir = outdir;
    c.resume = resume;
    c.eval = analytic;
    c.user = u;
    c.model = "rww";
    return bnm_optimize(ctx, p, &c);
}

/* Reads a whole dataset of runs.h5 as doubles (*count elements, caller frees). */
static double *read_ds(const char *file, const char *name, size_t *count)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "open %s", file);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s: no dataset %s", file, name);
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    *count = (size_t)n;
    return v;
}

static char *read_attr_str(const char *file, const char *obj, const char *name)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    char *s = NULL;
    ck_assert_msg(bnm_h5_read_attr_string(ctx, file, obj, name, &s) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    bnm_context_destroy(ctx);
    return s;
}

/* Bitwise equality of dataset na of file fa and dataset nb of file fb. */
static void same_ds2(const char *fa, const char *na, const char *fb, const char *nb)
{
    size_t ca, cb;
    double *a = read_ds(fa, na, &ca), *b = read_ds(fb, nb, &cb);
    ck_assert_msg(ca == cb, "%s: %zu vs %zu values", na, ca, cb);
    ck_assert_msg(memcmp(a, b, ca * sizeof *a) == 0, "%s differs from %s", na, nb);
    free(a);
    free(b);
}

static void same_ds(const char *fa, const char *fb, const char *name)
{
    same_ds2(fa, name, fb, name);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

#define HEAD "model: rww\nduration: 600\ntr: 1\nseed: 5\n"
#define SUBJ2 "subjects:\n  - id: s0\n    sc: sc0.txt\n  - id: s1\n    sc: sc1.txt\n"
#define SUBJ1 "subjects:\n  - id: s0\n    sc: sc0.txt\n"
#define LABELS6 "1\n1\n2\n2\n3\n3\n"

/* ---- recovery ------------------------------------------------------------------- */

START_TEST(recovers_targets_global_and_groups)
{
    char *dir = make_dir();
    write_text(dir, "labels.txt", LABELS6);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = parse(ctx, dir,
                         HEAD SUBJ2 "free: {G: [0.0, 10.0], w_p: [0.0, 3.0]}\n"
                         "heterogeneous: {w_p: {groups: labels.txt}}\n"
                         "optimizer: {popsize: 12, generations: 300, tolfun: 1e-14}\n");
    bnm_opt_problem *p = NULL;
    ck_assert_msg(problem(ctx, run, 6, NULL, &p) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert_uint_eq(bnm_opt_problem_dim(p), 4); /* G, w_p_1, w_p_2, w_p_3 */
    char out[600];
    snprintf(out, sizeof out, "%s/out", dir);
    cb_user u = {.p = p, .run = run, .noise_seed = 5};
    ck_assert_msg(run_opt(ctx, p, out, false, &u) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert(!u.bad);
    char h5[700];
    snprintf(h5, sizeof h5, "%s/runs.h5", out);
    for (size_t k = 0; k < 2; k++) {
        char name[100];
        size_t n;
        snprintf(name, sizeof name, "/runs/%zu/best/params/G", k);
        double *G = read_ds(h5, name, &n);
        ck_assert_uint_eq(n, 1);
        /* A converged sphere (tolfun 1e-14 on a cost in squared range units) sits within
         * about 1e-7 of the range of its target; 1e-4 leaves room for an early stop. */
        ck_assert_msg(fabs(G[0] - target(p, run, k, 0, 0)) < 1e-4 * 10.0, "run %zu G %.9g vs %.9g",
                      k, G[0], target(p, run, k, 0, 0));
        free(G);
        snprintf(name, sizeof name, "/runs/%zu/best/params/w_p", k);
        double *w = read_ds(h5, name, &n);
        ck_assert_uint_eq(n, 6);
        for (size_t i = 0; i < 6; i++)
            ck_assert_msg(fabs(w[i] - target(p, run, k, 1, i)) < 1e-4 * 3.0, "run %zu w_p[%zu]",
                          k, i);
        /* Nodes of one label share one value exactly. */
        ck_assert(w[0] == w[1] && w[2] == w[3] && w[4] == w[5]);
        free(w);
        /* Run attributes and history shape. */
        snprintf(name, sizeof name, "/runs/%zu", k);
        char *subj = read_attr_str(h5, name, "subject"), *reason = read_attr_str(h5, name,
                                                                                 "stop_reason");
        ck_assert_str_eq(subj, k == 0 ? "s0" : "s1");
        ck_assert_str_ne(reason, "running");
        free(subj);
        free(reason);
        snprintf(name, sizeof name, "/runs/%zu/history/cost", k);
        double *c = read_ds(h5, name, &n);
        ck_assert_uint_eq(n % 12, 0);
        double mn = INFINITY;
        for (size_t r = 0; r < n; r++)
            mn = fmin(mn, c[r]);
        free(c);
        snprintf(name, sizeof name, "/runs/%zu/best/cost", k);
        double *bc = read_ds(h5, name, &n);
        ck_assert(bc[0] == mn); /* best = the history's minimum */
        free(bc);
        snprintf(name, sizeof name, "/runs/%zu/best_sim/scores/cost", k);
        double *rc = read_ds(h5, name, &n);
        ck_assert(rc[0] == mn); /* the deterministic re-run reproduces it */
        free(rc);
    }
    /* Both runs shared every batch: 2 x popsize particles in the first one. */
    ck_assert_uint_eq(u.first_batch_n, 24);
    /* Runs stop independently: each run's history holds exactly its own generations,
     * and the batches held exactly the active runs' particles. */
    int64_t g0 = 0, g1 = 0;
    ck_assert_int_eq(bnm_h5_read_attr_int(ctx, h5, "/runs/0", "generations_done", &g0), BNM_OK);
    ck_assert_int_eq(bnm_h5_read_attr_int(ctx, h5, "/runs/1", "generations_done", &g1), BNM_OK);
    ck_assert_uint_eq(u.evaluated, (size_t)(g0 + g1) * 12);
    ck_assert_uint_eq(u.batches, (unsigned)(g0 > g1 ? g0 : g1) + 1);
    ck_assert_int_lt(g0, 300); /* stopped by tolfun, not by the generation limit */
    ck_assert_int_lt(g1, 300);
    ck_assert_int_ne(g0, g1); /* so one run went on alone for a while */
    bnm_opt_problem_destroy(p);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- batching independence ------------------------------------------------------ */

START_TEST(history_alone_equals_batched)
{
    char *dir = make_dir();
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    /* Alone: subject s1 with optimizer seed 9; batched, the same pair is run 3 of 4. */
    bnm_run *alone = parse(ctx, dir, HEAD "subjects:\n  - id: s1\n    sc: sc1.txt\n"
                                     "free: {G: [0.0, 10.0], J_N: [0.001, 0.5]}\n"
                                     "optimizer: {popsize: 8, generations: 25, seeds: [9]}\n");
    bnm_run *four = parse(ctx, dir, HEAD SUBJ2 "free: {G: [0.0, 10.0], J_N: [0.001, 0.5]}\n"
                                    "optimizer: {popsize: 8, generations: 25, seeds: [7, 9]}\n");
    bnm_opt_problem *pa = NULL, *pf = NULL;
    ck_assert_int_eq(problem(ctx, alone, 4, NULL, &pa), BNM_OK);
    ck_assert_int_eq(problem(ctx, four, 4, NULL, &pf), BNM_OK);
    ck_assert_uint_eq(bnm_opt_problem_n_runs(pf), 4);
    char oa[600], of[600];
    snprintf(oa, sizeof oa, "%s/alone", dir);
    snprintf(of, sizeof of, "%s/four", dir);
    cb_user ua = {.p = pa, .run = alone, .noise_seed = 5};
    cb_user uf = {.p = pf, .run = four, .noise_seed = 5};
    ck_assert_int_eq(run_opt(ctx, pa, oa, false, &ua), BNM_OK);
    ck_assert_int_eq(run_opt(ctx, pf, of, false, &uf), BNM_OK);
    ck_assert(!ua.bad && !uf.bad);
    ck_assert_uint_eq(ua.first_batch_n, 8);
    ck_assert_uint_eq(uf.first_batch_n, 32);
    char fa[700], ff[700];
    snprintf(fa, sizeof fa, "%s/runs.h5", oa);
    snprintf(ff, sizeof ff, "%s/runs.h5", of);
    static const char *const names[] = {"history/x", "history/cost", "history/generation",
                                        "history/params/G", "history/params/J_N", "best/x",
                                        "best/cost"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        char na[100], nf[100];
        snprintf(na, sizeof na, "/runs/0/%s", names[k]);
        snprintf(nf, sizeof nf, "/runs/3/%s", names[k]);
        same_ds2(fa, na, ff, nf);
    }
    /* The other seed of the same subject follows another trajectory: the comparison
     * above is not trivially true. */
    size_t n0, n1;
    double *x0 = read_ds(ff, "/runs/2/history/x", &n0);
    double *x1 = read_ds(ff, "/runs/3/history/x", &n1);
    ck_assert(n0 != n1 || memcmp(x0, x1, n0 * sizeof *x0) != 0);
    free(x0);
    free(x1);
    bnm_opt_problem_destroy(pa);
    bnm_opt_problem_destroy(pf);
    bnm_run_destroy(alone);
    bnm_run_destroy(four);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- kill -9 and resume --------------------------------------------------------- */

#define RESUME_RUN                                                                     \
    HEAD SUBJ2 "free: {G: [0.0, 10.0], w_p: [0.0, 3.0]}\n"                             \
               "heterogeneous: {w_p: {groups: labels.txt}}\n"                          \
               "optimizer: {popsize: 6, generations: 40, seeds: [1, 2], tolfun: 1e-14}\n"

/* History rows in the checkpoint of the run that has gone furthest (= generation
 * batches done x popsize, since the longest run took part in every batch); 0 without a
 * checkpoint. */
static uint64_t checkpoint_rows(const char *out)
{
    char path[700];
    snprintf(path, sizeof path, "%s/checkpoint.h5", out);
    if (access(path, F_OK) != 0)
        return 0;
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    uint64_t most = 0;
    for (int k = 0; k < 4; k++) {
        char obj[32];
        snprintf(obj, sizeof obj, "/runs/%d", k);
        int64_t rows = 0;
        if (bnm_h5_read_attr_int(ctx, path, obj, "rows", &rows) == BNM_OK && (uint64_t)rows > most)
            most = (uint64_t)rows;
        bnm_context_clear(ctx);
    }
    bnm_context_destroy(ctx);
    return most;
}

START_TEST(kill9_then_resume_equals_uninterrupted)
{
    char *dir = make_dir();
    write_text(dir, "labels.txt", LABELS6);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = parse(ctx, dir, RESUME_RUN);
    bnm_opt_problem *p = NULL;
    ck_assert_int_eq(problem(ctx, run, 6, NULL, &p), BNM_OK);
    char ref[600], cut[600];
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(cut, sizeof cut, "%s/cut", dir);
    cb_user ur = {.p = p, .run = run, .noise_seed = 5};
    ck_assert_int_eq(run_opt(ctx, p, ref, false, &ur), BNM_OK);
    unsigned total_batches = ur.batches;
    ck_assert_uint_ge(total_batches, 20);

    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        bnm_context *cc = NULL;
        if (bnm_context_create(&cc) != BNM_OK)
            _exit(3);
        cb_user uc = {.p = p, .run = run, .noise_seed = 5, .sleep_ms = 40};
        bnm_status st = run_opt(cc, p, cut, false, &uc);
        _exit(st == BNM_OK ? 0 : 2);
    }
    /* Wait for a few checkpoints (>= 4 generations), then kill without warning. */
    uint64_t rows = 0;
    for (int t = 0; t < 6000 && rows < 4 * 6; t++) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
        rows = checkpoint_rows(cut);
    }
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "the child finished before it was killed");
    ck_assert_uint_ge(rows, 4 * 6);
    char path[700];
    snprintf(path, sizeof path, "%s/runs.h5", cut);
    ck_assert_int_ne(access(path, F_OK), 0); /* it really died mid-job */
    uint64_t at_kill = checkpoint_rows(cut);
    ck_assert_uint_lt(at_kill, 40 * 6);

    /* Starting over into the folder is refused; resuming continues. */
    cb_user u2 = {.p = p, .run = run, .noise_seed = 5};
    ck_assert_int_eq(run_opt(ctx, p, cut, false, &u2), BNM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "--resume"));
    bnm_context_clear(ctx);
    ck_assert_msg(run_opt(ctx, p, cut, true, &u2) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert(!u2.bad);
    /* It resumed rather than restarted: fewer batches than the whole job. */
    ck_assert_uint_lt(u2.batches, total_batches);
    ck_assert_uint_eq(u2.batches, total_batches - (unsigned)(at_kill / 6));

    char fr[700], fc[700];
    snprintf(fr, sizeof fr, "%s/runs.h5", ref);
    snprintf(fc, sizeof fc, "%s/runs.h5", cut);
    static const char *const names[] = {
        "history/x", "history/cost", "history/gof", "history/generation", "history/particle",
        "history/params/G", "history/params/w_p", "history/scores/fc_corr", "best/x",
        "best/params/G", "best/params/w_p", "best/cost", "best_sim/scores/cost"};
    for (size_t k = 0; k < 4; k++)
        for (size_t j = 0; j < sizeof names / sizeof *names; j++) {
            char n[100];
            snprintf(n, sizeof n, "/runs/%zu/%s", k, names[j]);
            same_ds(fr, fc, n);
        }
    for (size_t k = 0; k < 4; k++) {
        char a[700], b[700];
        snprintf(a, sizeof a, "%s/history_%zu.csv", ref, k);
        snprintf(b, sizeof b, "%s/history_%zu.csv", cut, k);
        char *ta = slurp(a), *tb = slurp(b);
        ck_assert_str_eq(ta, tb);
        free(ta);
        free(tb);
    }
    /* A finished job resumes to the same outputs without evaluating a generation. */
    cb_user u3 = {.p = p, .run = run, .noise_seed = 5};
    ck_assert_int_eq(run_opt(ctx, p, cut, true, &u3), BNM_OK);
    ck_assert_uint_eq(u3.batches, 1); /* only the best re-run */
    same_ds(fr, fc, "/runs/3/history/x");

    bnm_opt_problem_destroy(p);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(callback_failure_then_resume)
{
    char *dir = make_dir();
    write_text(dir, "labels.txt", LABELS6);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = parse(ctx, dir, RESUME_RUN);
    bnm_opt_problem *p = NULL;
    ck_assert_int_eq(problem(ctx, run, 6, NULL, &p), BNM_OK);
    char ref[600], cut[600], fr[700], fc[700];
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(cut, sizeof cut, "%s/cut", dir);
    cb_user ur = {.p = p, .run = run, .noise_seed = 5};
    cb_user uc = {.p = p, .run = run, .noise_seed = 5, .fail_at = 7};
    ck_assert_int_eq(run_opt(ctx, p, ref, false, &ur), BNM_OK);
    ck_assert_int_eq(run_opt(ctx, p, cut, false, &uc), BNM_ERR_OPENCL);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "simulated device failure"));
    bnm_context_clear(ctx);
    ck_assert_uint_eq(checkpoint_rows(cut), 6 * 6); /* generations 0..5 were kept */
    uc.fail_at = 0;
    uc.batches = 0;
    ck_assert_int_eq(run_opt(ctx, p, cut, true, &uc), BNM_OK);
    ck_assert_uint_eq(uc.batches, ur.batches - 6);
    snprintf(fr, sizeof fr, "%s/runs.h5", ref);
    snprintf(fc, sizeof fc, "%s/runs.h5", cut);
    for (size_t k = 0; k < 4; k++) {
        char n[100];
        snprintf(n, sizeof n, "/runs/%zu/history/x", k);
        same_ds(fr, fc, n);
        snprintf(n, sizeof n, "/runs/%zu/best/params/w_p", k);
        same_ds(fr, fc, n);
    }
    bnm_opt_problem_destroy(p);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(resume_errors)
{
    char *dir = make_dir();
    write_text(dir, "labels.txt", LABELS6);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = parse(ctx, dir, HEAD SUBJ1 "free: {G: [0.0, 10.0]}\n"
                                   "optimizer: {popsize: 4, generations: 3}\n");
    bnm_run *other = parse(ctx, dir, HEAD SUBJ1 "free: {G: [0.0, 9.0]}\n"
                                     "optimizer: {popsize: 4, generations: 3}\n");
    bnm_opt_problem *p = NULL, *q = NULL;
    ck_assert_int_eq(problem(ctx, run, 3, NULL, &p), BNM_OK);
    ck_assert_int_eq(problem(ctx, other, 3, NULL, &q), BNM_OK);
    char out[600];
    snprintf(out, sizeof out, "%s/out", dir);
    cb_user u = {.p = p, .run = run, .noise_seed = 5};
    ck_assert_int_eq(run_opt(ctx, p, out, true, &u), BNM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "nothing to resume"));
    ck_assert_uint_eq(u.batches, 0);
    bnm_context_clear(ctx);
    ck_assert_int_eq(run_opt(ctx, p, out, false, &u), BNM_OK);
    cb_user v = {.p = q, .run = other, .noise_seed = 5};
    ck_assert_int_eq(run_opt(ctx, q, out, true, &v), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "different run file"));
    ck_assert_uint_eq(v.batches, 0);
    bnm_context_clear(ctx);

    /* Same run file text, but a map file changed: the automatic coefficient range moved,
     * so the stored coordinates would mean other values. */
    write_text(dir, "m.txt", "1 2 3\n");
    bnm_run *mr = parse(ctx, dir, HEAD SUBJ1 "free: {J_N: [0.1, 0.5]}\n"
                                  "heterogeneous: {J_N: {maps: [m.txt]}}\n"
                                  "optimizer: {popsize: 4, generations: 3}\n");
    bnm_opt_problem *pm = NULL, *pm2 = NULL;
    ck_assert_int_eq(problem(ctx, mr, 3, NULL, &pm), BNM_OK);
    snprintf(out, sizeof out, "%s/maps", dir);
    cb_user w = {.p = pm, .run = mr, .noise_seed = 5};
    ck_assert_int_eq(run_opt(ctx, pm, out, false, &w), BNM_OK);
    write_text(dir, "m.txt", "1 2 4\n");
    ck_assert_int_eq(problem(ctx, mr, 3, NULL, &pm2), BNM_OK);
    w.p = pm2;
    ck_assert_int_eq(run_opt(ctx, pm2, out, true, &w), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "bounds differ"));
    bnm_opt_problem_destroy(pm);
    bnm_opt_problem_destroy(pm2);
    bnm_run_destroy(mr);
    bnm_opt_problem_destroy(p);
    bnm_opt_problem_destroy(q);
    bnm_run_destroy(run);
    bnm_run_destroy(other);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- bad inputs ----------------------------------------------------------------- */

/* Parses text (with files) and creates the problem; expects failure st with a message
 * containing each of the needles. parse_fails: the run parser itself refuses it. */
static void expect_error(const char *text, const size_t *nodes, bnm_status st,
                         const char *needle1, const char *needle2)
{
    char *dir = make_dir();
    write_text(dir, "labels.txt", LABELS6);
    write_text(dir, "labels5.txt", "1\n2\n3\n1\n2\n");
    write_text(dir, "frac.txt", "1\n1.5\n2\n2\n3\n3\n");
    write_text(dir, "map.txt", "0.1 0.2 0.3 0.4 0.5 0.6\n");
    write_text(dir, "map7.txt", "0.1 0.2 0.3 0.4 0.5 0.6 0.7\n");
    write_text(dir, "zero.txt", "0 0 0 0 0 0\n");
    write_text(dir, "nopair.txt", "1 1 2 3 4 4\n");  /* 1 pairs with 3 and with 4 */
    write_text(dir, "swapped.txt", "1 2 3 2 1 3\n"); /* 1 and 2 would merge */
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = NULL;
    bnm_status got = bnm_run_parse_string(ctx, text, strlen(text), "run.yaml", dir,
                                          BNM_RUN_MODE_OPTIMIZE, &run);
    bnm_opt_problem *p = NULL;
    if (got == BNM_OK)
        got = problem(ctx, run, 6, nodes, &p);
    const char *msg = bnm_context_message(ctx);
    ck_assert_msg(got == st, "status %s, message: %s", bnm_status_name(got), msg);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(msg, needle1) != NULL, "'%s' not in: %s", needle1, msg);
    ck_assert_msg(!needle2 || strstr(msg, needle2) != NULL, "'%s' not in: %s", needle2, msg);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}

#define OPTZ "optimizer: {popsize: 4, generations: 3}\n"

START_TEST(bad_unknown_free_param)
{
    /* Line 8 column 8: the key Gg inside the flow mapping. */
    expect_error(HEAD SUBJ1 "free: {Gg: [0, 1]}\n" OPTZ, NULL, BNM_ERR_RUN, "run.yaml:8:8:",
                 "unknown parameter 'Gg' in 'free' (did you mean 'G'?)");
}
END_TEST

START_TEST(bad_bounds_and_popsize)
{
    expect_error(HEAD SUBJ1 "free: {G: [3, 1]}\n" OPTZ, NULL, BNM_ERR_RUN, "run.yaml:8:11:",
                 "must have lo < hi, got [3, 1]");
    expect_error(HEAD SUBJ1 "free: {G: [1, 1]}\n" OPTZ, NULL, BNM_ERR_RUN, "run.yaml:8:",
                 "lo < hi");
    expect_error(HEAD SUBJ1 "free: {G: [0, 1]}\noptimizer: {popsize: 1, generations: 3}\n",
                 NULL, BNM_ERR_RUN, "run.yaml:9:", "popsize must be at least 2, got 1");
}
END_TEST

START_TEST(bad_label_and_map_lengths)
{
    expect_error(HEAD SUBJ1 "free: {w_p: [0, 3]}\nheterogeneous: {w_p: {groups: labels5.txt}}\n"
                 OPTZ, NULL, BNM_ERR_DATA, "run.yaml:9:31: error: ",
                 "heterogeneous.w_p.groups: ");
    expect_error(HEAD SUBJ1 "free: {w_p: [0, 3]}\nheterogeneous: {w_p: {groups: labels5.txt}}\n"
                 OPTZ, NULL, BNM_ERR_DATA, "one value per node (6)", NULL);
    expect_error(HEAD SUBJ1 "free: {J_N: [0.01, 0.5]}\nheterogeneous: {J_N: {maps: [map7.txt]}}\n"
                 OPTZ, NULL, BNM_ERR_DATA, "heterogeneous.J_N.maps[0]: ",
                 "one value per node (6)");
    expect_error(HEAD SUBJ1 "free: {w_p: [0, 3]}\nheterogeneous: {w_p: {groups: frac.txt}}\n"
                 OPTZ, NULL, BNM_ERR_DATA, "labels must be integers", "node 2 has 1.5");
    expect_error(HEAD SUBJ1 "free: {J_N: [0.01, 0.5]}\nheterogeneous: {J_N: {maps: [zero.txt]}}\n"
                 OPTZ, NULL, BNM_ERR_DATA, "zero at every node", "coef_range");
}
END_TEST

START_TEST(bad_fic_param_free)
{
    /* FIC is on by default for a model with a fic block (fic_names given). */
    expect_error(HEAD SUBJ1 "free: {G: [0, 1], wIE: [0.5, 2]}\n" OPTZ, NULL, BNM_ERR_RUN,
                 "run.yaml:8:19:", "'wIE' cannot be free while FIC is on");
    expect_error(HEAD SUBJ1 "free: {J_i: [0.5, 2]}\n" OPTZ, NULL, BNM_ERR_RUN,
                 "'J_i' cannot be free while FIC is on", "fic: false");
    expect_error(HEAD SUBJ1 "fic: {enabled: true}\nfree: {J_i: [0.5, 2]}\n" OPTZ, NULL,
                 BNM_ERR_RUN, "run.yaml:9:", "cannot be free while FIC is on");
    /* With FIC off it is an ordinary free parameter. */
    char *dir = make_dir();
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = parse(ctx, dir, HEAD SUBJ1 "fic: false\nfree: {wIE: [0.5, 2]}\n" OPTZ);
    bnm_opt_problem *p = NULL;
    ck_assert_msg(problem(ctx, run, 6, NULL, &p) == BNM_OK, "%s", bnm_context_message(ctx));
    bnm_opt_problem_destroy(p);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(bad_subjects_with_different_n)
{
    size_t nodes[2] = {6, 8};
    expect_error(HEAD SUBJ2 "free: {G: [0, 1]}\n" OPTZ, nodes, BNM_ERR_DATA, "run.yaml:",
                 "subject 's1' has 8 nodes but subject 's0' has 6");
}
END_TEST

START_TEST(bad_symmetric)
{
    /* Odd N: node i + N/2 is no node's mirror. */
    size_t five[1] = {5};
    expect_error(HEAD SUBJ1 "free: {w_p: [0, 3]}\nheterogeneous: {w_p: {symmetric: true}}\n"
                 OPTZ, five, BNM_ERR_RUN, "run.yaml:9:23: error: ",
                 "heterogeneous.w_p.symmetric needs an even number of nodes, the connectome "
                 "has 5");
    /* Labels that do not pair one to one across the hemispheres. */
    expect_error(HEAD SUBJ1 "free: {w_p: [0, 3]}\n"
                 "heterogeneous: {w_p: {groups: nopair.txt, symmetric: true}}\n" OPTZ,
                 NULL, BNM_ERR_DATA, "run.yaml:9:43: error: heterogeneous.w_p.groups with "
                 "symmetric: true: the labels do not pair up",
                 "nodes 1 (label 1) and 3 (label 2) of the left hemisphere");
    expect_error(HEAD SUBJ1 "free: {w_p: [0, 3]}\n"
                 "heterogeneous: {w_p: {groups: swapped.txt, symmetric: true}}\n" OPTZ,
                 NULL, BNM_ERR_DATA, "the labels do not pair up",
                 "nodes 1 (label 1) and 2 (label 2) of the left hemisphere");
}
END_TEST

/* ---- heterogeneity mapping ------------------------------------------------------ */

START_TEST(mapping_groups_values)
{
    char *dir = make_dir();
    write_text(dir, "lab.txt", "3\n1\n3\n2\n1\n7\n");
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = parse(ctx, dir, HEAD SUBJ1 "free: {G: [1, 5], w_p: [0, 2]}\n"
                                   "heterogeneous: {w_p: {groups: lab.txt}}\n" OPTZ);
    bnm_opt_problem *p = NULL;
    ck_assert_msg(problem(ctx, run, 6, NULL, &p) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert_uint_eq(bnm_opt_problem_dim(p), 5);
    static const char *const want[] = {"G", "w_p_1", "w_p_2", "w_p_3", "w_p_7"};
    for (size_t j = 0; j < 5; j++)
        ck_assert_str_eq(bnm_opt_problem_coord_name(p, j), want[j]);
    ck_assert(!bnm_opt_problem_param_regional(p, 0));
    ck_assert(bnm_opt_problem_param_regional(p, 1));
    double x[5] = {0.25, 0.0, 0.5, 0.75, 1.0}, v[12];
    bnm_opt_problem_map(p, x, v);
    /* G = 1 + 0.25 * 4 = 2 at every node; w_p by label: 1 -> 0, 2 -> 1, 3 -> 1.5, 7 -> 2. */
    static const double wp[6] = {1.5, 0.0, 1.5, 1.0, 0.0, 2.0};
    for (size_t i = 0; i < 6; i++) {
        ck_assert_double_eq(v[i], 2.0);
        ck_assert_double_eq(v[6 + i], wp[i]);
    }
    bnm_opt_problem_destroy(p);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(mapping_maps_auto_range_and_clamp)
{
    char *dir = make_dir();
    write_text(dir, "m1.txt", "-2 1 0.5 4 0 -1\n");
    write_text(dir, "m2.txt", "1\n-1\n0.5\n0.25\n0\n0.5\n");
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *one = parse(ctx, dir, HEAD SUBJ1 "free: {J_N: [0.1, 0.5]}\n"
                                   "heterogeneous: {J_N: {maps: [m1.txt]}}\n" OPTZ);
    bnm_run *two = parse(ctx, dir, HEAD SUBJ1 "free: {J_N: [0.1, 0.5]}\n"
                                   "heterogeneous: {J_N: {maps: [m1.txt, m2.txt]}}\n" OPTZ);
    bnm_run *man = parse(ctx, dir, HEAD SUBJ1 "free: {J_N: [0.1, 0.5]}\n"
                                   "heterogeneous: {J_N: {maps: [m1.txt], coef_range: [-0.1, "
                                   "0.3]}}\n" OPTZ);
    bnm_opt_problem *p1 = NULL, *p2 = NULL, *pm = NULL;
    ck_assert_int_eq(problem(ctx, one, 6, NULL, &p1), BNM_OK);
    ck_assert_int_eq(problem(ctx, two, 6, NULL, &p2), BNM_OK);
    ck_assert_int_eq(problem(ctx, man, 6, NULL, &pm), BNM_OK);
    double lo, hi;
    /* One map, max |m| = 4: c in [-1/4, 1/4]. */
    ck_assert_uint_eq(bnm_opt_problem_dim(p1), 2);
    ck_assert_str_eq(bnm_opt_problem_coord_name(p1, 1), "J_N_c0");
    bnm_opt_problem_coord_bounds(p1, 1, &lo, &hi);
    ck_assert_double_eq(lo, -0.25);
    ck_assert_double_eq(hi, 0.25);
    /* Two maps share the budget: c_0 in +-1/(2*4), c_1 in +-1/(2*1). */
    bnm_opt_problem_coord_bounds(p2, 1, &lo, &hi);
    ck_assert_double_eq(hi, 0.125);
    ck_assert_double_eq(lo, -0.125);
    bnm_opt_problem_coord_bounds(p2, 2, &lo, &hi);
    ck_assert_double_eq(hi, 0.5);
    bnm_opt_problem_coord_bounds(pm, 1, &lo, &hi);
    ck_assert_double_eq(lo, -0.1);
    ck_assert_double_eq(hi, 0.3);

    /* Values: P = 0.1 + 0.5 * 0.4 = 0.3, c = -0.25 + 0.75 * 0.5 = 0.125:
     * P_i = clamp(0.3 (1 + 0.125 m_i), 0.1, 0.5). */
    static const double m1[6] = {-2, 1, 0.5, 4, 0, -1};
    double x[2] = {0.5, 0.75}, v[6];
    bnm_opt_problem_map(p1, x, v);
    for (size_t i = 0; i < 6; i++) {
        double want = fmin(0.5, fmax(0.1, 0.3 * (1 + 0.125 * m1[i])));
        ck_assert_msg(fabs(v[i] - want) < 1e-15, "node %zu: %.17g vs %.17g", i, v[i], want);
    }
    ck_assert(fabs(v[3] - 0.45) < 1e-15); /* 0.3 * 1.5, inside the bounds */
    /* At the top of P's range with the largest coefficient the clamp engages. */
    double xt[2] = {1.0, 1.0};
    bnm_opt_problem_map(p1, xt, v);
    ck_assert_double_eq(v[3], 0.5);  /* 0.5 * 2 clamped */
    ck_assert_double_eq(v[4], 0.5);  /* map 0: P itself */
    ck_assert_double_eq(v[0], 0.25); /* 0.5 * (1 - 0.5) */

    /* Property of the auto range: for any x, the unclamped scale lies in [0, 2] and every
     * regional value in [lo, hi]. */
    static const double m2[6] = {1, -1, 0.5, 0.25, 0, 0.5};
    uint64_t s = 12345;
    for (int trial = 0; trial < 2000; trial++) {
        double x3[3];
        for (int j = 0; j < 3; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x3[j] = (double)(s >> 11) / 9007199254740992.0;
        }
        double c0 = -0.125 + 0.25 * x3[1], c1 = -0.5 + x3[2];
        bnm_opt_problem_map(p2, x3, v);
        for (size_t i = 0; i < 6; i++) {
            double scale = 1 + c0 * m1[i] + c1 * m2[i];
            ck_assert(scale >= -1e-15 && scale <= 2 + 1e-15);
            ck_assert(v[i] >= 0.1 && v[i] <= 0.5);
        }
    }
    bnm_opt_problem_destroy(p1);
    bnm_opt_problem_destroy(p2);
    bnm_opt_problem_destroy(pm);
    bnm_run_destroy(one);
    bnm_run_destroy(two);
    bnm_run_destroy(man);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(mapping_symmetric)
{
    char *dir = make_dir();
    write_text(dir, "lr.txt", "1 1 2 3 3 4\n");   /* left labels 1, 2 pair with 3, 4 */
    write_text(dir, "same.txt", "5 2 7 5 2 7\n"); /* the same labels on both sides */
    write_text(dir, "m.txt", "1 2 4 3 6 0\n");    /* pair means 2, 4, 2 */
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *pairs = parse(ctx, dir, HEAD SUBJ1 "free: {G: [1, 5], w_p: [0, 2]}\n"
                                     "heterogeneous: {w_p: {symmetric: true}}\n" OPTZ);
    bnm_run *lr = parse(ctx, dir, HEAD SUBJ1 "free: {w_p: [0, 2]}\n"
                                  "heterogeneous: {w_p: {groups: lr.txt, symmetric: true}}\n" OPTZ);
    bnm_run *same = parse(ctx, dir, HEAD SUBJ1 "free: {w_p: [0, 2]}\n"
                                    "heterogeneous: {w_p: {groups: same.txt, symmetric: true}}\n"
                                    OPTZ);
    bnm_run *maps = parse(ctx, dir, HEAD SUBJ1 "free: {J_N: [0.1, 0.5]}\n"
                                    "heterogeneous: {J_N: {maps: [m.txt], symmetric: true}}\n"
                                    OPTZ);
    bnm_opt_problem *pp = NULL, *pl = NULL, *ps = NULL, *pm = NULL;
    ck_assert_msg(problem(ctx, pairs, 6, NULL, &pp) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert_msg(problem(ctx, lr, 6, NULL, &pl) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert_msg(problem(ctx, same, 6, NULL, &ps) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert_msg(problem(ctx, maps, 6, NULL, &pm) == BNM_OK, "%s", bnm_context_message(ctx));

    /* symmetric alone: one coordinate per mirrored pair (node k and node k + N/2). */
    ck_assert_uint_eq(bnm_opt_problem_dim(pp), 4);
    static const char *const want_p[] = {"G", "w_p_pair0", "w_p_pair1", "w_p_pair2"};
    for (size_t j = 0; j < 4; j++)
        ck_assert_str_eq(bnm_opt_problem_coord_name(pp, j), want_p[j]);
    ck_assert(bnm_opt_problem_param_regional(pp, 1));
    double x4[4] = {0.5, 0.0, 0.25, 1.0}, v[12];
    bnm_opt_problem_map(pp, x4, v);
    static const double wp[3] = {0.0, 0.5, 2.0};
    for (size_t i = 0; i < 6; i++) {
        ck_assert_double_eq(v[i], 3.0);
        ck_assert_double_eq(v[6 + i], wp[i % 3]);
    }

    /* groups: labels pair one to one across hemispheres; named by the left label. */
    ck_assert_uint_eq(bnm_opt_problem_dim(pl), 2);
    ck_assert_str_eq(bnm_opt_problem_coord_name(pl, 0), "w_p_1");
    ck_assert_str_eq(bnm_opt_problem_coord_name(pl, 1), "w_p_2");
    double x2[2] = {0.25, 0.75};
    bnm_opt_problem_map(pl, x2, v);
    static const double wl[6] = {0.5, 0.5, 1.5, 0.5, 0.5, 1.5};
    for (size_t i = 0; i < 6; i++)
        ck_assert_double_eq(v[i], wl[i]);
    /* The same labels on both sides: nothing to merge, one value per label as without. */
    ck_assert_uint_eq(bnm_opt_problem_dim(ps), 3);
    ck_assert_str_eq(bnm_opt_problem_coord_name(ps, 0), "w_p_2");
    ck_assert_str_eq(bnm_opt_problem_coord_name(ps, 2), "w_p_7");

    /* maps: each map averaged over mirrored pairs; the auto range follows the mean
     * (max |m| = 4: c in [-1/4, 1/4]). */
    double lo, hi;
    bnm_opt_problem_coord_bounds(pm, 1, &lo, &hi);
    ck_assert_double_eq(hi, 0.25);
    double xm[2] = {0.5, 1.0};
    bnm_opt_problem_map(pm, xm, v);
    static const double mean[3] = {2, 4, 2};
    for (size_t i = 0; i < 6; i++) {
        double want = fmin(0.5, fmax(0.1, 0.3 * (1 + 0.25 * mean[i % 3])));
        ck_assert_msg(fabs(v[i] - want) < 1e-15, "node %zu: %.17g vs %.17g", i, v[i], want);
    }
    ck_assert(v[0] == v[3] && v[1] == v[4] && v[2] == v[5]);
    bnm_opt_problem_destroy(pp);
    bnm_opt_problem_destroy(pl);
    bnm_opt_problem_destroy(ps);
    bnm_opt_problem_destroy(pm);
    bnm_run_destroy(pairs);
    bnm_run_destroy(lr);
    bnm_run_destroy(same);
    bnm_run_destroy(maps);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- best_sim: the re-run's file ------------------------------------------------- */

static size_t count_best_sim_files(const char *out)
{
    size_t n = 0;
    for (int k = 0; k < 8; k++) {
        char path[700];
        snprintf(path, sizeof path, "%s/.best_sim_%d.h5", out, k);
        n += access(path, F_OK) == 0;
    }
    return n;
}

START_TEST(best_sim_copies_the_rerun_file)
{
    char *dir = make_dir();
    write_text(dir, "labels.txt", LABELS6);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = parse(ctx, dir, HEAD SUBJ2 "free: {G: [0.0, 10.0]}\n"
                                   "optimizer: {popsize: 4, generations: 3}\n");
    bnm_opt_problem *p = NULL;
    ck_assert_int_eq(problem(ctx, run, 6, NULL, &p), BNM_OK);
    char out[600], h5[700];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(h5, sizeof h5, "%s/runs.h5", out);
    cb_user u = {.p = p, .run = run, .noise_seed = 5, .write_sim = true};
    ck_assert_msg(run_opt(ctx, p, out, false, &u) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert(!u.bad);
    ck_assert_uint_eq(u.sim_out_seen, 2);
    for (size_t k = 0; k < 2; k++) {
        char name[100];
        size_t n;
        snprintf(name, sizeof name, "/runs/%zu/best_sim/bold", k);
        double *bold = read_ds(h5, name, &n);
        ck_assert_uint_eq(n, 6);
        for (size_t i = 0; i < 6; i++)
            ck_assert(bold[i] == (double)k + 0.5 * (double)i); /* run k's own file */
        free(bold);
        /* The file's root attributes come along on the group. */
        snprintf(name, sizeof name, "/runs/%zu/best_sim", k);
        char *model = read_attr_str(h5, name, "model");
        ck_assert_str_eq(model, "fake");
        free(model);
        snprintf(name, sizeof name, "/runs/%zu/best_sim/scores/cost", k);
        double *rc = read_ds(h5, name, &n);
        snprintf(name, sizeof name, "/runs/%zu/best/cost", k);
        double *bc = read_ds(h5, name, &n);
        ck_assert(rc[0] == bc[0]);
        free(rc);
        free(bc);
    }
    ck_assert_uint_eq(count_best_sim_files(out), 0); /* copied, then removed */

    /* A stale file from an earlier job is never taken for this job's re-run. */
    char out2[600], stale[700];
    snprintf(out2, sizeof out2, "%s/out2", dir);
    ck_assert_int_eq(mkdir(out2, 0777), 0);
    snprintf(stale, sizeof stale, "%s/.best_sim_0.h5", out2);
    ck_assert(write_fake_sim(stale, 9, 0.0));
    cb_user w = {.p = p, .run = run, .noise_seed = 5};
    ck_assert_msg(run_opt(ctx, p, out2, false, &w) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert(!w.bad);
    snprintf(h5, sizeof h5, "%s/runs.h5", out2);
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    ck_assert_int_eq(H5Lexists(f, "/runs/0/best_sim/bold", H5P_DEFAULT), 0);
    ck_assert_int_gt(H5Lexists(f, "/runs/0/best_sim/params/G", H5P_DEFAULT), 0);
    H5Fclose(f);
    ck_assert_uint_eq(count_best_sim_files(out2), 0);
    bnm_opt_problem_destroy(p);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- CSV ------------------------------------------------------------------------ */

START_TEST(csv_matches_runs_h5)
{
    char *dir = make_dir();
    write_text(dir, "labels.txt", LABELS6);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = parse(ctx, dir, HEAD SUBJ1 "free: {G: [0.0, 10.0], w_p: [0.0, 3.0]}\n"
                                   "heterogeneous: {w_p: {groups: labels.txt}}\n"
                                   "optimizer: {popsize: 5, generations: 4}\n");
    bnm_opt_problem *p = NULL;
    ck_assert_int_eq(problem(ctx, run, 6, NULL, &p), BNM_OK);
    char out[600];
    snprintf(out, sizeof out, "%s/out", dir);
    cb_user u = {.p = p, .run = run, .noise_seed = 5};
    ck_assert_int_eq(run_opt(ctx, p, out, false, &u), BNM_OK);
    char path[700], h5[700];
    snprintf(path, sizeof path, "%s/history_0.csv", out);
    snprintf(h5, sizeof h5, "%s/runs.h5", out);
    char *text = slurp(path);
    const char *header = "generation,particle,cost,gof,fc_corr,fcd_ks,G,w_p_1,w_p_2,w_p_3\n";
    ck_assert_int_eq(strncmp(text, header, strlen(header)), 0);
    size_t n, nx, nw, ng, nk;
    double *cost = read_ds(h5, "/runs/0/history/cost", &n);
    double *x = read_ds(h5, "/runs/0/history/x", &nx);
    double *wp = read_ds(h5, "/runs/0/history/params/w_p", &nw);
    double *gen = read_ds(h5, "/runs/0/history/generation", &ng);
    double *ks = read_ds(h5, "/runs/0/history/scores/fcd_ks", &nk);
    ck_assert_uint_eq(n, 20); /* 4 generations x 5 */
    ck_assert_uint_eq(nx, 20 * 4);
    ck_assert_uint_eq(nw, 20 * 6);
    const char *line = text + strlen(header);
    for (size_t r = 0; r < n; r++) {
        int g, q;
        double c, gof, fc, fk, G, w1, w2, w3;
        ck_assert_int_eq(sscanf(line, "%d,%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &g, &q, &c, &gof,
                                &fc, &fk, &G, &w1, &w2, &w3), 10);
        ck_assert_int_eq(g, (int)gen[r]);
        ck_assert_int_eq(g, (int)(r / 5));
        ck_assert_int_eq(q, (int)(r % 5));
        ck_assert(c == cost[r]); /* %.17g round-trips a double exactly */
        ck_assert(fk == ks[r]);
        ck_assert(G == 10.0 * x[r * 4]);
        /* Group columns equal the per-node values of their label's nodes. */
        ck_assert(w1 == wp[r * 6 + 0] && w1 == wp[r * 6 + 1]);
        ck_assert(w2 == wp[r * 6 + 2] && w3 == wp[r * 6 + 5]);
        line = strchr(line, '\n');
        ck_assert_ptr_nonnull(line);
        line++;
    }
    ck_assert_int_eq(*line, 0); /* no extra rows */
    free(cost);
    free(x);
    free(wp);
    free(gen);
    free(ks);
    free(text);
    bnm_opt_problem_destroy(p);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optimize");
    TCase *t = tcase_create("problem");
    tcase_add_test(t, bad_unknown_free_param);
    tcase_add_test(t, bad_bounds_and_popsize);
    tcase_add_test(t, bad_label_and_map_lengths);
    tcase_add_test(t, bad_fic_param_free);
    tcase_add_test(t, bad_subjects_with_different_n);
    tcase_add_test(t, mapping_groups_values);
    tcase_add_test(t, mapping_maps_auto_range_and_clamp);
    tcase_add_test(t, bad_symmetric);
    tcase_add_test(t, mapping_symmetric);
    suite_add_tcase(s, t);
    TCase *r = tcase_create("driver");
    tcase_set_timeout(r, 300);
    tcase_add_test(r, recovers_targets_global_and_groups);
    tcase_add_test(r, history_alone_equals_batched);
    tcase_add_test(r, kill9_then_resume_equals_uninterrupted);
    tcase_add_test(r, callback_failure_then_resume);
    tcase_add_test(r, resume_errors);
    tcase_add_test(r, csv_matches_runs_h5);
    tcase_add_test(r, best_sim_copies_the_rerun_file);
    suite_add_tcase(s, r);
    suite_add_tcase(s, optimize_cli_tcase());
    suite_add_tcase(s, optimize_engine_tcase());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
