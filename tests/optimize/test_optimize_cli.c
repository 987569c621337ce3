/* `clbnm optimize` end to end on PoCL: a tiny Hopf network (6 nodes, 20 s), G global and
 * `a` heterogeneous by groups, 2 generations of 4 particles; and kill -9 of the command
 * mid-job, then --resume, against an uninterrupted run (rWW, w_p symmetric). The engine's explicit-list
 * path (bnm_engine_simulate_list) is checked against the ordinary simulate path: the
 * best particle, re-simulated by `clbnm simulate` with the same values written as
 * params, gives the same fc_corr. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run_cmd.h"
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

static double *read_all(const char *file, const char *name, size_t *count)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "open %s", file);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s: no %s", file, name);
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    double *v = malloc((size_t)n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    *count = (size_t)n;
    return v;
}

#define RUN_HEAD                                                                        \
    "model: hopf\nduration: 20\ntr: 1\nbold_remove: 0\nseed: 5\nprecision: double\n"    \
    "subjects:\n  - id: s1\n    sc: sc.txt\n    bold: bold.txt\n"                       \
    "fit: {terms: [+fc_corr]}\noutputs: {bold: true, fc: true, fcd: false}\n"

START_TEST(cli_optimize_end_to_end)
{
    char dir[] = "/tmp/clbnm_optcli_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* A ring with a chord: symmetric, nonnegative. */
    char sc[1024] = "", bold[8192] = "", line[256];
    for (int i = 0; i < N; i++) {
        line[0] = 0;
        for (int j = 0; j < N; j++) {
            int d = abs(i - j);
            double w = (d == 1 || d == N - 1) ? 1.0 : (d == 3 ? 0.5 : 0.0);
            snprintf(line + strlen(line), sizeof line - strlen(line), "%g ", w);
        }
        strcat(sc, line);
        strcat(sc, "\n");
    }
    unsigned r = 7;
    for (int i = 0; i < N; i++) {
        for (int v = 0; v < 30; v++) {
            r = r * 1103515245u + 12345u;
            snprintf(line, sizeof line, "%.4f ", (double)((r >> 8) % 10000) / 10000.0);
            strcat(bold, line);
        }
        strcat(bold, "\n");
    }
    put(dir, "sc.txt", sc);
    put(dir, "bold.txt", bold);
    put(dir, "labels.txt", "1\n1\n1\n2\n2\n2\n");
    put(dir, "run.yaml", RUN_HEAD "free: {G: [0.0, 1.0], a: [-0.1, 0.1]}\n"
                                  "heterogeneous: {a: {groups: labels.txt}}\n"
                                  "optimizer: {popsize: 4, generations: 2, seeds: [3]}\n");
    char run[600], out[600], cache[600];
    snprintf(run, sizeof run, "%s/run.yaml", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(cache, sizeof cache, "CLBNM_CACHE_DIR=%s/cache", dir);
    const char *env[] = {cache, NULL};
    const char *args[] = {"optimize", run, "-o", out, "--quiet", NULL};
    run_result rr = run_clbnm(args, env);
    ck_assert_msg(rr.exit_code == 0, "exit %d: %s", rr.exit_code, rr.err);
    run_result_free(&rr);

    char h5[700];
    snprintf(h5, sizeof h5, "%s/runs.h5", out);
    size_t n, ng, na, nf;
    double *cost = read_all(h5, "/runs/0/history/cost", &n);
    double *G = read_all(h5, "/runs/0/history/params/G", &ng);
    double *a = read_all(h5, "/runs/0/history/params/a", &na);
    double *fc = read_all(h5, "/runs/0/history/scores/fc_corr", &nf);
    ck_assert_uint_eq(n, 8);
    ck_assert_uint_eq(na, 8 * N);
    size_t b = 0;
    for (size_t k = 0; k < n; k++) {
        ck_assert_msg(isfinite(cost[k]), "particle %zu cost %g", k, cost[k]);
        ck_assert(cost[k] == -fc[k]); /* one term, no FIC: cost = -gof = -fc_corr */
        ck_assert(fc[k] > -1 && fc[k] < 1);
        if (cost[k] < cost[b])
            b = k;
    }
    /* The particles differ, and so do their scores: the values reached the kernel. */
    ck_assert(fc[0] != fc[1] || fc[0] != fc[2]);
    /* Group structure of the regional param. */
    ck_assert(a[b * N] == a[b * N + 2] && a[b * N + 3] == a[b * N + 5]);
    size_t one;
    double *rerun = read_all(h5, "/runs/0/best_sim/scores/cost", &one);
    ck_assert(rerun[0] == cost[b]); /* the re-run is deterministic */
    free(rerun);
    /* best_sim is the re-run's whole simulate output (interface.md 4) */
    size_t nbold, nfc;
    double *bbold = read_all(h5, "/runs/0/best_sim/bold", &nbold);
    double *bfc = read_all(h5, "/runs/0/best_sim/fc", &nfc);
    ck_assert(nbold > (size_t)N && nbold % (size_t)N == 0);
    ck_assert_uint_eq(nfc, (size_t)N * (N - 1) / 2);
    for (size_t k = 0; k < nbold; k++)
        ck_assert(isfinite(bbold[k]));
    free(bbold);
    free(bfc);

    /* The same particle through `clbnm simulate`. */
    char text[4096];
    int len = snprintf(text, sizeof text, RUN_HEAD "params:\n  G: %.17g\n  a: [", G[b]);
    for (int i = 0; i < N; i++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s%.17g", i ? ", " : "",
                        a[b * N + (size_t)i]);
    snprintf(text + len, sizeof text - (size_t)len, "]\n");
    put(dir, "one.yaml", text);
    char one_yaml[600], one_h5[600];
    snprintf(one_yaml, sizeof one_yaml, "%s/one.yaml", dir);
    snprintf(one_h5, sizeof one_h5, "%s/one.h5", dir);
    const char *sargs[] = {"simulate", one_yaml, "-o", one_h5, "--quiet", NULL};
    rr = run_clbnm(sargs, env);
    ck_assert_msg(rr.exit_code == 0, "exit %d: %s", rr.exit_code, rr.err);
    run_result_free(&rr);
    double *sfc = read_all(one_h5, "/scores/fc_corr", &one);
    /* Double precision; G is a kernel constant in one build and a per-simulation value
     * in the other, which may reorder a few operations: 1e-9 absolute on a correlation
     * still tells any wrong value (different G or a) from the right one by orders of
     * magnitude (particles differ by > 1e-3 above). */
    ck_assert_msg(fabs(sfc[0] - fc[b]) < 1e-9, "simulate %.17g vs optimize %.17g", sfc[0], fc[b]);
    free(sfc);
    free(cost);
    free(G);
    free(a);
    free(fc);

    /* Bad input through the command: exit 1 with the run file's location. */
    put(dir, "bad.yaml", RUN_HEAD "free: {Gx: [0.0, 1.0]}\n"
                                  "optimizer: {popsize: 4, generations: 2}\n");
    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
    const char *bargs[] = {"optimize", bad, "-o", out, NULL};
    rr = run_clbnm(bargs, env);
    ck_assert_int_eq(rr.exit_code, 1);
    ck_assert_msg(strstr(rr.err, "did you mean 'G'") != NULL, "%s", rr.err);
    run_result_free(&rr);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* History rows of run 0 in OUTDIR/checkpoint.h5 (0 without one). */
static int64_t checkpoint_rows(const char *out)
{
    char path[700];
    snprintf(path, sizeof path, "%s/checkpoint.h5", out);
    if (access(path, F_OK) != 0)
        return 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return 0;
    int64_t rows = 0;
    hid_t g = H5Oopen(f, "runs/0", H5P_DEFAULT);
    if (g >= 0) {
        if (H5Aexists(g, "rows") > 0) {
            hid_t a = H5Aopen(g, "rows", H5P_DEFAULT);
            if (a < 0 || H5Aread(a, H5T_NATIVE_INT64, &rows) < 0)
                rows = 0;
            if (a >= 0)
                H5Aclose(a);
        }
        H5Oclose(g);
    }
    H5Fclose(f);
    return rows;
}

static bool same_all(const char *fa, const char *fb, const char *name)
{
    size_t na, nb;
    double *a = read_all(fa, name, &na), *b = read_all(fb, name, &nb);
    bool same = na == nb && memcmp(a, b, na * sizeof *a) == 0;
    free(a);
    free(b);
    return same;
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

/* `clbnm optimize` killed with SIGKILL after a few generations, then --resume: the
 * histories, best particles, best re-runs and CSVs equal an uninterrupted run's. */
START_TEST(cli_kill9_then_resume)
{
    char dir[] = "/tmp/clbnm_optkill_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char sc[1024] = "", bold[4096] = "", line[256];
    for (int i = 0; i < N; i++) {
        line[0] = 0;
        for (int j = 0; j < N; j++) {
            int d = abs(i - j);
            snprintf(line + strlen(line), sizeof line - strlen(line), "%g ",
                     (d == 1 || d == N - 1) ? 0.5 : 0.0);
        }
        strcat(sc, line);
        strcat(sc, "\n");
    }
    unsigned r = 3;
    for (int i = 0; i < N; i++) {
        for (int v = 0; v < 8; v++) {
            r = r * 1103515245u + 12345u;
            snprintf(line, sizeof line, "%.4f ", (double)((r >> 8) % 10000) / 10000.0);
            strcat(bold, line);
        }
        strcat(bold, "\n");
    }
    put(dir, "sc.txt", sc);
    put(dir, "bold.txt", bold);
    put(dir, "run.yaml",
        "model: rww\nduration: 4\ntr: 1\nbold_remove: 0\nseed: 2\nfic: false\n"
        "subjects:\n  - id: s1\n    sc: sc.txt\n    bold: bold.txt\n"
        "fit: {terms: [+fc_corr]}\noutputs: {fcd: false}\n"
        "free: {G: [0.1, 0.6], w_p: [1.0, 1.6]}\n"
        "heterogeneous: {w_p: {symmetric: true}}\n"
        "optimizer: {popsize: 3, generations: 8, seeds: [1, 2], tolfun: 0}\n");
    char run[600], ref[600], cut[600], cache[600];
    snprintf(run, sizeof run, "%s/run.yaml", dir);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(cut, sizeof cut, "%s/cut", dir);
    snprintf(cache, sizeof cache, "CLBNM_CACHE_DIR=%s/cache", dir);
    const char *env[] = {cache, NULL};
    const char *args[] = {"optimize", run, "-o", ref, "--quiet", NULL};
    run_result rr = run_clbnm(args, env);
    ck_assert_msg(rr.exit_code == 0, "exit %d: %s", rr.exit_code, rr.err);
    run_result_free(&rr);

    const char *exe = getenv("CLBNM_EXE");
    ck_assert_ptr_nonnull(exe);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        putenv(cache);
        execl(exe, exe, "optimize", run, "-o", cut, "--quiet", (char *)NULL);
        _exit(127);
    }
    /* Kill it once two generations are checkpointed, without warning. */
    int64_t rows = 0;
    for (int t = 0; t < 12000 && rows < 2 * 3; t++) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
        rows = checkpoint_rows(cut);
    }
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "clbnm optimize finished before it was killed");
    char path[700];
    snprintf(path, sizeof path, "%s/runs.h5", cut);
    ck_assert_int_ne(access(path, F_OK), 0); /* it died mid-job */
    ck_assert_int_lt(checkpoint_rows(cut), 8 * 3);

    const char *rargs[] = {"optimize", run, "-o", cut, "--resume", "--quiet", NULL};
    rr = run_clbnm(rargs, env);
    ck_assert_msg(rr.exit_code == 0, "exit %d: %s", rr.exit_code, rr.err);
    run_result_free(&rr);

    char fr[700], fc[700];
    snprintf(fr, sizeof fr, "%s/runs.h5", ref);
    snprintf(fc, sizeof fc, "%s/runs.h5", cut);
    static const char *const names[] = {"history/x", "history/cost", "history/scores/fc_corr",
                                        "history/params/w_p", "best/x", "best/cost",
                                        "best_sim/scores/cost"};
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < sizeof names / sizeof *names; j++) {
            char n[100];
            snprintf(n, sizeof n, "/runs/%d/%s", k, names[j]);
            ck_assert_msg(same_all(fr, fc, n), "%s differs after kill -9 and --resume", n);
        }
    for (int k = 0; k < 2; k++) {
        char a[700], b[700];
        snprintf(a, sizeof a, "%s/history_%d.csv", ref, k);
        snprintf(b, sizeof b, "%s/history_%d.csv", cut, k);
        char *ta = slurp(a), *tb = slurp(b);
        ck_assert_str_eq(ta, tb);
        free(ta);
        free(tb);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

TCase *optimize_cli_tcase(void)
{
    TCase *t = tcase_create("cli");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, cli_optimize_end_to_end);
    tcase_add_test(t, cli_kill9_then_resume);
    return t;
}
