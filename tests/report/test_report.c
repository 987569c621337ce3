/* `clbnm report` (tools/report/) run as a user runs it: files shaped exactly like clBNM
 * outputs (interface.md section 4, written by tools/report/make_example_outputs.py) go
 * in, and every expected PNG must come out readable and not blank, with the numbers the
 * report prints (FC r, FCD KS D, the chosen simulation or run) equal to values the
 * generator computed independently. Bad inputs must exit 1 with one clear message. */
#define _GNU_SOURCE
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clbnm/context.h"
#include "clbnm/h5out.h"
#include "run_cmd.h"

#define PYTHON "/usr/bin/python3"

/* Made once in main() before the tests fork; each test reads it, writes only below
 * its own output folder. */
static char data_dir[64];

static const char *source_root(void)
{
    const char *r = getenv("CLBNM_SOURCE_ROOT");
    ck_assert_msg(r && *r, "CLBNM_SOURCE_ROOT is not set (run through meson test)");
    return r;
}

static char *path_join(const char *a, const char *b)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", a, b), 0);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A PNG: the 8-byte signature, then IHDR first with both sides above 100 pixels. */
static void check_png_header(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char h[24];
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s was not written", path);
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    ck_assert_msg(n == sizeof h, "%s is shorter than a PNG header", path);
    ck_assert_msg(memcmp(h, sig, 8) == 0, "%s has no PNG signature", path);
    ck_assert_msg(memcmp(h + 12, "IHDR", 4) == 0, "%s: first chunk is not IHDR", path);
    uint32_t w = be32(h + 16), ht = be32(h + 20);
    ck_assert_msg(w > 100 && ht > 100 && w < 10000 && ht < 10000, "%s is %ux%u pixels", path,
                  w, ht);
}

typedef struct png_stats {
    double ink;    /* fraction of pixels more than 10% away from white */
    int colours;   /* distinct 8-bit RGB colours */
    double chroma; /* fraction of coloured (not grey) pixels */
} png_stats;

/* Decodes the PNG with matplotlib's reader (tests/report/png_stats.py). */
static png_stats png_measure(const char *path)
{
    char *script = path_join(source_root(), "tests/report/png_stats.py");
    const char *argv[] = {PYTHON, script, path, NULL};
    run_result r = run_cmd(argv, NULL);
    ck_assert_msg(r.exit_code == 0, "png_stats.py %s failed: %s", path, r.err);
    png_stats s = {0};
    double sd = 0;
    char name[4096];
    ck_assert_msg(sscanf(r.out, "%4095s %lf %d %lf %lf", name, &s.ink, &s.colours, &sd,
                         &s.chroma) == 5,
                  "png_stats.py printed '%s'", r.out);
    run_result_free(&r);
    free(script);
    return s;
}

/* Thresholds, measured on matplotlib 3.6 output at the report's 150 dpi: an empty axes
 * with a title and a label has ink 0.011 and chroma 0; a wholly blank figure has ink 0
 * and 1 colour. Line figures here reach ink 0.023 to 0.05, figures with matrices or
 * images 0.39 to 0.73. */
enum figure_kind { LINES, IMAGE, GREY_IMAGE };

static void check_figure(const char *dir, const char *name, enum figure_kind kind)
{
    char *p = path_join(dir, name);
    check_png_header(p);
    png_stats s = png_measure(p);
    ck_assert_msg(s.colours > 16, "%s has only %d colours", p, s.colours);
    if (kind == LINES) {
        ck_assert_msg(s.ink > 0.018, "%s is nearly blank: ink %.4f", p, s.ink);
    } else {
        ck_assert_msg(s.ink > 0.25, "%s has too little drawn: ink %.4f", p, s.ink);
        if (kind == IMAGE)
            ck_assert_msg(s.chroma > 0.1, "%s has too little colour: %.4f", p, s.chroma);
    }
    free(p);
}

static void check_absent(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    ck_assert_msg(!exists(p), "%s was written though its inputs are absent", p);
    free(p);
}

/* The line of expected.txt for input (its first word). */
typedef struct expected {
    int best;
    double fc_r, fcd_ks;
    int n_pairs;
} expected;

static expected read_expected(const char *input)
{
    char *p = path_join(data_dir, "expected.txt");
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[512], name[64];
    expected e = {-1, 0, 0, 0};
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s best %d fc_r %lf fcd_ks %lf n_pairs %d", name, &e.best,
                   &e.fc_r, &e.fcd_ks, &e.n_pairs) == 5 &&
            strcmp(name, input) == 0)
            break;
        e.best = -1;
    }
    fclose(f);
    free(p);
    ck_assert_msg(e.best >= 0, "expected.txt has no line for %s", input);
    return e;
}

/* The generator writes r and D with 6 decimals and the report prints 6: both come from
 * the same float32 FC/FCD values in double precision, by different code (a centred
 * dot product vs numpy.corrcoef; ECDFs compared at every pooled point vs searchsorted),
 * so they agree to the printed rounding: 2e-6 allows one unit in the last place each. */
static void check_numbers(const char *out, const expected *e)
{
    const char *p = strstr(out, "Pearson r = ");
    ck_assert_msg(p != NULL, "no FC r in the report's output:\n%s", out);
    double r = 0;
    int n = 0;
    ck_assert_int_eq(sscanf(p, "Pearson r = %lf over %d pairs", &r, &n), 2);
    ck_assert_msg(fabs(r - e->fc_r) < 2e-6, "FC r %.6f, expected %.6f", r, e->fc_r);
    ck_assert_int_eq(n, e->n_pairs);
    p = strstr(out, "KS D = ");
    ck_assert_msg(p != NULL, "no KS D in the report's output:\n%s", out);
    double d = 0;
    ck_assert_int_eq(sscanf(p, "KS D = %lf", &d), 1);
    ck_assert_msg(fabs(d - e->fcd_ks) < 2e-6, "FCD KS D %.6f, expected %.6f", d, e->fcd_ks);
}

static char *input_path(const char *name)
{
    return path_join(data_dir, name);
}

START_TEST(simulate_sweep_draws_every_figure)
{
    char *in = input_path("sim.h5"), *out = input_path("out-sim");
    const char *args[] = {"report", in, "-o", out, NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d:\n%s", r.exit_code, r.err);
    expected e = read_expected("sim.h5");
    char want[64];
    snprintf(want, sizeof want, "fc.png: simulation %d,", e.best);
    ck_assert_msg(strstr(r.out, want) != NULL, "the lowest-cost simulation %d was not drawn:\n%s",
                  e.best, r.out);
    check_numbers(r.out, &e);
    check_figure(out, "fc.png", IMAGE);
    check_figure(out, "fcd.png", IMAGE);
    check_figure(out, "params.png", LINES);
    check_figure(out, "bold_carpet.png", GREY_IMAGE);
    check_figure(out, "gof_sweep.png", LINES);
    /* A simulate file has no optimisation history: skipped with a note, not an error. */
    check_absent(out, "cost.png");
    ck_assert_msg(strstr(r.err, "skipped cost.png") != NULL, "stderr:\n%s", r.err);
    run_result_free(&r);
    free(in);
    free(out);
}
END_TEST

START_TEST(simulate_sim_option_picks_the_simulation)
{
    char *in = input_path("sim.h5"), *out = input_path("out-sim0");
    const char *args[] = {"report", in, "-o", out, "--sim", "0", NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d:\n%s", r.exit_code, r.err);
    ck_assert_msg(strstr(r.out, "fc.png: simulation 0,") != NULL, "stdout:\n%s", r.out);
    check_figure(out, "fc.png", IMAGE);
    run_result_free(&r);
    const char *bad[] = {"report", in, "-o", out, "--sim", "6", NULL};
    r = run_clbnm(bad, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ck_assert_msg(strstr(r.err, "out of range") != NULL, "stderr:\n%s", r.err);
    run_result_free(&r);
    free(in);
    free(out);
}
END_TEST

START_TEST(simulate_grid_heat_map_without_bold)
{
    char *in = input_path("grid.h5"), *out = input_path("out-grid");
    const char *args[] = {"report", in, "-o", out, NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d:\n%s", r.exit_code, r.err);
    check_numbers(r.out, (const expected[]){read_expected("grid.h5")});
    ck_assert_msg(strstr(r.out, "gof_sweep.png: gof over G x w_p (grid)") != NULL,
                  "the two swept parameters were not found:\n%s", r.out);
    check_figure(out, "gof_sweep.png", IMAGE);
    check_figure(out, "fc.png", IMAGE);
    check_figure(out, "fcd.png", IMAGE);
    check_absent(out, "bold_carpet.png");
    ck_assert_msg(strstr(r.err, "skipped bold_carpet.png: no /bold") != NULL, "stderr:\n%s",
                  r.err);
    run_result_free(&r);
    free(in);
    free(out);
}
END_TEST

START_TEST(simulate_without_empirical_data)
{
    /* Default output folder: bare_report/ next to bare.h5. */
    char *in = input_path("bare.h5"), *out = input_path("bare_report");
    const char *args[] = {"report", in, NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d:\n%s", r.exit_code, r.err);
    check_figure(out, "fc.png", IMAGE);
    check_figure(out, "params.png", LINES);
    check_absent(out, "fcd.png");
    check_absent(out, "gof_sweep.png");
    ck_assert_msg(strstr(r.out, "no empirical FC") != NULL, "stdout:\n%s", r.out);
    ck_assert_msg(strstr(r.err, "skipped fcd.png") != NULL, "stderr:\n%s", r.err);
    run_result_free(&r);
    free(in);
    free(out);
}
END_TEST

START_TEST(optimize_folder)
{
    /* Figures go into the optimize folder itself (a copy, so other tests' input stays). */
    char *src = input_path("opt"), *dir = input_path("opt-copy");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    const char *names[] = {"runs.h5", "history_0.csv"};
    for (size_t i = 0; i < 2; i++) {
        char *a = path_join(src, names[i]), *b = path_join(dir, names[i]);
        const char *cp[] = {"/bin/cp", a, b, NULL};
        run_result c = run_cmd(cp, NULL);
        ck_assert_int_eq(c.exit_code, 0);
        run_result_free(&c);
        free(a);
        free(b);
    }
    const char *args[] = {"report", dir, NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d:\n%s", r.exit_code, r.err);
    expected e = read_expected("opt");
    char want[64];
    snprintf(want, sizeof want, "drawn run: %d (lowest best cost)", e.best);
    ck_assert_msg(strstr(r.out, want) != NULL, "run %d (lowest cost) not drawn:\n%s", e.best,
                  r.out);
    check_numbers(r.out, &e);
    ck_assert_msg(strstr(r.out, "cost.png: 3 runs") != NULL, "stdout:\n%s", r.out);
    ck_assert_msg(strstr(r.out, "params.png: best particle of 3 runs") != NULL, "stdout:\n%s",
                  r.out);
    check_figure(dir, "cost.png", LINES);
    check_figure(dir, "params.png", LINES);
    check_figure(dir, "fc.png", IMAGE);
    check_figure(dir, "fcd.png", IMAGE);
    check_figure(dir, "bold_carpet.png", GREY_IMAGE);
    check_absent(dir, "gof_sweep.png");
    run_result_free(&r);

    /* --run picks another run's best simulation; an unknown run is a user error. */
    char *out = input_path("out-run0");
    const char *run0[] = {"report", dir, "-o", out, "--run", "0", NULL};
    r = run_clbnm(run0, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d:\n%s", r.exit_code, r.err);
    ck_assert_msg(strstr(r.out, "drawn run: 0 (--run)") != NULL, "stdout:\n%s", r.out);
    check_figure(out, "fc.png", IMAGE);
    run_result_free(&r);
    const char *run9[] = {"report", dir, "-o", out, "--run", "9", NULL};
    r = run_clbnm(run9, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ck_assert_msg(strstr(r.err, "--run 9") != NULL, "stderr:\n%s", r.err);
    run_result_free(&r);
    free(out);
    free(src);
    free(dir);
}
END_TEST

/* Deterministic uniform numbers in [0, 1) for the input files (no libc rand state). */
static double lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char *p = path_join(dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static double *read_scores(const char *file, const char *name, size_t n_sims)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_h5_array a = {0};
    bnm_status st = bnm_h5_read(ctx, file, name, BNM_H5_F64, &a);
    ck_assert_msg(st == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert_int_eq(a.count, n_sims);
    double *v = malloc(n_sims * sizeof *v);
    ck_assert_ptr_nonnull(v);
    memcpy(v, a.data, n_sims * sizeof *v);
    bnm_h5_array_free(&a);
    bnm_context_destroy(ctx);
    return v;
}

/* End to end: a real `clbnm simulate` file (3 simulations of a 6-node rWW network
 * sweeping G, with empirical BOLD so /scores exist). The r and D the report computes
 * from /fc, /fcd and /subjects must be the engine's own scores of the simulation it
 * picked, and that simulation must be the one with the lowest /scores/cost. */
START_TEST(real_simulate_output)
{
    char *dir = input_path("real");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    enum { N = 6, VOLS = 120 };
    uint64_t seed = 12345;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(m);
    double sc[N][N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++)
            sc[i][j] = sc[j][i] = i == j ? 0.0 : 0.1 + lcg(&seed);
    for (int i = 0; i < N; i++, fputc('\n', m))
        for (int j = 0; j < N; j++)
            fprintf(m, "%.6f ", sc[i][j]);
    fclose(m);
    write_text(dir, "sc.txt", buf);
    free(buf);
    /* Empirical BOLD, nodes x volumes: two modules sharing slow signals, plus noise. */
    m = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(m);
    for (int i = 0; i < N; i++, fputc('\n', m))
        for (int t = 0; t < VOLS; t++)
            fprintf(m, "%.6f ", sin(0.07 * t * (1 + i / 3)) + lcg(&seed) - 0.5);
    fclose(m);
    write_text(dir, "bold.txt", buf);
    free(buf);
    write_text(dir, "run.yaml",
               "model: rww\n"
               "duration: 60\n"
               "dt: 0.1\n"
               "bw_dt: 1.0\n"
               "tr: 0.72\n"
               "bold_remove: 5\n"
               "seed: 0\n"
               "subjects:\n"
               "  - id: \"sub-01\"\n"
               "    sc: sc.txt\n"
               "    bold: bold.txt\n"
               "sweep:\n"
               "  grid: {G: [0.5, 3.0, 3]}\n"
               "fic: false\n"
               "outputs:\n"
               "  bold: true\n"
               "  fc: true\n"
               "  fcd: {window: 20, step: 5}\n");
    char *run = path_join(dir, "run.yaml"), *h5 = path_join(dir, "out.h5"),
         *fig = path_join(dir, "fig"), *cache = NULL;
    ck_assert_int_ge(asprintf(&cache, "CLBNM_CACHE_DIR=%s/cache", dir), 0);
    const char *env[] = {cache, NULL};
    run_result r =
        run_clbnm((const char *[]){"simulate", run, "-o", h5, "--no-progress", NULL}, env);
    ck_assert_msg(r.exit_code == 0, "clbnm simulate exit %d:\n%s", r.exit_code, r.err);
    run_result_free(&r);

    r = run_clbnm((const char *[]){"report", h5, "-o", fig, NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d:\n%s", r.exit_code, r.err);
    double *cost = read_scores(h5, "scores/cost", 3), *fc = read_scores(h5, "scores/fc_corr", 3),
           *ks = read_scores(h5, "scores/fcd_ks", 3);
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (cost[k] < cost[best])
            best = k;
    char want[64];
    snprintf(want, sizeof want, "fc.png: simulation %d,", best);
    ck_assert_msg(strstr(r.out, want) != NULL, "lowest-cost simulation %d not drawn:\n%s",
                  best, r.out);
    /* analysis.md 8.1: fcd_ks holds -D. The report recomputes r in double from the
     * float32 /fc row, the engine scored the same float32 FC values: 2e-5 allows the
     * engine's single-precision accumulation over 15 pairs. D is a rank statistic of the
     * same values, so it agrees to the printed rounding. */
    expected e = {best, fc[best], -ks[best], N * (N - 1) / 2};
    const char *p = strstr(r.out, "Pearson r = ");
    ck_assert_ptr_nonnull(p);
    double rr = 0, d = 0;
    ck_assert_int_eq(sscanf(p, "Pearson r = %lf", &rr), 1);
    ck_assert_msg(fabs(rr - e.fc_r) < 2e-5, "report r %.6f, engine fc_corr %.6f", rr, e.fc_r);
    p = strstr(r.out, "KS D = ");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(sscanf(p, "KS D = %lf", &d), 1);
    ck_assert_msg(fabs(d - e.fcd_ks) < 2e-6, "report D %.6f, engine -fcd_ks %.6f", d, e.fcd_ks);
    check_figure(fig, "fc.png", IMAGE);
    check_figure(fig, "fcd.png", IMAGE);
    check_figure(fig, "params.png", LINES);
    check_figure(fig, "bold_carpet.png", GREY_IMAGE);
    check_figure(fig, "gof_sweep.png", LINES);
    run_result_free(&r);
    free(cost);
    free(fc);
    free(ks);
    free(cache);
    free(run);
    free(h5);
    free(fig);
    free(dir);
}
END_TEST

/* One line on stderr, starting "clbnm report: error:", containing what, exit 1. */
static void check_user_error(const char *const *args, const char *const *env, const char *what)
{
    run_result r = run_clbnm(args, env);
    ck_assert_msg(r.exit_code == 1, "exit %d (want 1); stderr:\n%s", r.exit_code, r.err);
    ck_assert_msg(strncmp(r.err, "clbnm report: error: ", 21) == 0, "stderr:\n%s", r.err);
    ck_assert_msg(strstr(r.err, what) != NULL, "stderr lacks '%s':\n%s", what, r.err);
    ck_assert_msg(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line:\n%s",
                  r.err);
    ck_assert_msg(strstr(r.err, "Traceback") == NULL, "a traceback:\n%s", r.err);
    run_result_free(&r);
}

START_TEST(bad_inputs_are_user_errors)
{
    char *missing = input_path("no-such.h5"), *other = input_path("other.h5"),
         *text = input_path("notes.txt");
    check_user_error((const char *[]){"report", missing, NULL}, NULL, "does not exist");
    check_user_error((const char *[]){"report", other, NULL}, NULL, "is not a clBNM output");
    check_user_error((const char *[]){"report", text, NULL}, NULL, "is not an HDF5 file");
    /* A folder that is not an optimize output. */
    check_user_error((const char *[]){"report", data_dir, NULL}, NULL, "without runs.h5");
    ck_assert(!exists(missing));
    free(missing);
    free(other);
    free(text);
}
END_TEST

START_TEST(missing_python_modules_name_the_packages)
{
    /* python3 -S skips site-packages, so matplotlib and h5py cannot be imported: the
     * situation of a machine without python3-matplotlib python3-h5py. */
    char *wrapper = input_path("python-without-modules");
    FILE *f = fopen(wrapper, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\nexec " PYTHON " -S \"$@\"\n");
    fclose(f);
    ck_assert_int_eq(chmod(wrapper, 0755), 0);
    char *env_py = NULL;
    ck_assert_int_ge(asprintf(&env_py, "CLBNM_PYTHON=%s", wrapper), 0);
    char *in = input_path("sim.h5");
    const char *env[] = {env_py, NULL};
    check_user_error((const char *[]){"report", in, NULL}, env, "python3-matplotlib");
    check_user_error((const char *[]){"report", in, NULL}, env, "python3-h5py");
    const char *env_none[] = {"CLBNM_PYTHON=/nonexistent/python3", NULL};
    check_user_error((const char *[]){"report", in, NULL}, env_none, "apt-get install");
    free(in);
    free(env_py);
    free(wrapper);
}
END_TEST

START_TEST(help_and_usage)
{
    run_result r = run_clbnm((const char *[]){"report", "--help", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 0);
    const char *figs[] = {"fc.png", "fcd.png", "cost.png", "params.png", "bold_carpet.png",
                          "gof_sweep.png", "-o DIR"};
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        ck_assert_msg(strstr(r.out, figs[i]) != NULL, "--help lacks %s:\n%s", figs[i], r.out);
    run_result_free(&r);
    r = run_clbnm((const char *[]){"report", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 2);
    ck_assert_msg(strstr(r.err, "clbnm report: error:") != NULL, "stderr:\n%s", r.err);
    run_result_free(&r);
    r = run_clbnm((const char *[]){"report", "x.h5", "--bogus", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 2);
    run_result_free(&r);
    r = run_clbnm((const char *[]){"--help", NULL}, NULL);
    ck_assert_msg(strstr(r.out, "report") != NULL, "clbnm --help lacks report:\n%s", r.out);
    run_result_free(&r);
}
END_TEST

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Runs the generator outside any test (no Check assertions here). */
static int make_data(void)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    if (!root || !getenv("CLBNM_EXE")) {
        fprintf(stderr, "CLBNM_SOURCE_ROOT and CLBNM_EXE must be set (run through meson test)\n");
        return -1;
    }
    snprintf(data_dir, sizeof data_dir, "/tmp/clbnm-report-XXXXXX");
    if (!mkdtemp(data_dir)) {
        perror("mkdtemp");
        return -1;
    }
    char *cmd = NULL;
    if (asprintf(&cmd, PYTHON " '%s/tools/report/make_example_outputs.py' '%s'", root,
                 data_dir) < 0)
        return -1;
    int st = system(cmd);
    free(cmd);
    if (st != 0) {
        fprintf(stderr, "make_example_outputs.py failed (status %d)\n", st);
        return -1;
    }
    return 0;
}

int main(void)
{
    if (make_data() != 0)
        return 1;
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, simulate_sweep_draws_every_figure);
    tcase_add_test(tc, simulate_sim_option_picks_the_simulation);
    tcase_add_test(tc, simulate_grid_heat_map_without_bold);
    tcase_add_test(tc, simulate_without_empirical_data);
    tcase_add_test(tc, optimize_folder);
    tcase_add_test(tc, real_simulate_output);
    tcase_add_test(tc, bad_inputs_are_user_errors);
    tcase_add_test(tc, missing_python_modules_name_the_packages);
    tcase_add_test(tc, help_and_usage);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(data_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? 0 : 1;
}
