/* The model path (engine/modellib), the model subcommands of the clbnm program
 * (`clbnm models`, `clbnm check`) and `clbnm demo`, run as a user would: a child process,
 * its exit status and its output (interface.md section 1). */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <dirent.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clbnm/clbnm.h"
#include "clbnm/h5out.h"
#include "run_cmd.h"
#include "modellib.h"


static const char *root(void)
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

static char *make_tmpdir(void)
{
    char *t = strdup("/tmp/clbnm-cli-XXXXXX");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *p = path_join(dir, de->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

static char *real(const char *p)
{
    char *r = realpath(p, NULL);
    ck_assert_msg(r != NULL, "realpath(%s)", p);
    return r;
}

/* A valid model: the built-in kuramoto under another name. */
static char *kuramoto_as(const char *name)
{
    char *p = path_join(root(), "models/kuramoto.nmm");
    char *text = read_file(p);
    free(p);
    ck_assert(strncmp(text, "model kuramoto\n", 15) == 0);
    char *out = NULL;
    ck_assert_int_ge(asprintf(&out, "model %s\n%s", name, text + 15), 0);
    free(text);
    return out;
}

/* ---- model path (library) ------------------------------------------------------------ */

START_TEST(path_order_and_dedup)
{
    char *a = make_tmpdir(), *b = make_tmpdir(), *c = make_tmpdir();
    char *env = NULL;
    /* empty entry, a missing directory and a repeat are all dropped */
    ck_assert_int_ge(asprintf(&env, "%s::/nonexistent/clbnm:%s:%s/", a, b, a), 0);
    setenv("CLBNM_MODEL_PATH", env, 1);
    const char *extra[] = {c, b};
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    char **dirs;
    int n;
    ck_assert_int_eq(bnm_model_path(ctx, extra, 2, &dirs, &n), BNM_OK);
    char *models = path_join(root(), "models");
    char *want0 = real(models);
    char *got0 = real(dirs[0]);
    ck_assert_str_eq(got0, want0);
    /* then possibly the installed directory, then a, b, c */
    ck_assert_int_ge(n, 4);
    ck_assert_str_eq(dirs[n - 3], a);
    ck_assert_str_eq(dirs[n - 2], b);
    ck_assert_str_eq(dirs[n - 1], c);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            ck_assert_str_ne(dirs[i], dirs[j]);
    bnm_model_path_free(dirs, n);

    /* An explicit --dir that does not exist is the user's mistake, not silently skipped. */
    const char *bad[] = {"/nonexistent/clbnm-dir"};
    ck_assert_int_eq(bnm_model_path(ctx, bad, 1, &dirs, &n), BNM_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "/nonexistent/clbnm-dir"));
    free(models);
    free(want0);
    free(got0);
    free(env);
    bnm_context_destroy(ctx);
    rm_tree(a);
    rm_tree(b);
    rm_tree(c);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(find_by_name_path_and_precedence)
{
    char *user = make_tmpdir(), *extra_dir = make_tmpdir();
    char *mine = kuramoto_as("mine");
    char *p_mine = path_join(user, "mine.nmm"), *p_rww = path_join(user, "rww.nmm");
    char *p_extra = path_join(extra_dir, "extra.nmm");
    write_file(p_mine, mine);
    write_file(p_rww, "model rww\n");  /* shadowed by the built-in */
    write_file(p_extra, mine);
    setenv("CLBNM_MODEL_PATH", user, 1);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    char *path = NULL;

    ck_assert_int_eq(bnm_model_find(ctx, "mine", NULL, 0, &path), BNM_OK);
    ck_assert_str_eq(path, p_mine);
    free(path);

    ck_assert_int_eq(bnm_model_find(ctx, "rww", NULL, 0, &path), BNM_OK);
    char *builtin = path_join(root(), "models/rww.nmm");
    char *rp = real(path), *rb = real(builtin);
    ck_assert_str_eq(rp, rb); /* first directory wins */
    free(rp);
    free(rb);
    free(builtin);
    free(path);

    /* --dir directories come last and are searched too */
    const char *extra[] = {extra_dir};
    ck_assert_int_eq(bnm_model_find(ctx, "extra", NULL, 0, &path), BNM_ERR_NOT_FOUND);
    ck_assert_ptr_null(path);
    ck_assert_int_eq(bnm_model_find(ctx, "extra", extra, 1, &path), BNM_OK);
    ck_assert_str_eq(path, p_extra);
    free(path);

    /* paths are used as given */
    ck_assert_int_eq(bnm_model_find(ctx, "some/dir/x", NULL, 0, &path), BNM_OK);
    ck_assert_str_eq(path, "some/dir/x");
    free(path);
    ck_assert_int_eq(bnm_model_find(ctx, "mine.nmm", NULL, 0, &path), BNM_OK);
    ck_assert_str_eq(path, "mine.nmm");
    free(path);

    /* not found: names the directories and suggests the closest name */
    ck_assert_int_eq(bnm_model_find(ctx, "kuramto", NULL, 0, &path), BNM_ERR_NOT_FOUND);
    const char *msg = bnm_context_message(ctx);
    ck_assert_msg(strstr(msg, "did you mean 'kuramoto'?") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, user) != NULL, "%s", msg);
    ck_assert_int_eq(bnm_model_find(ctx, "zzzzzzzzzz", NULL, 0, &path), BNM_ERR_NOT_FOUND);
    msg = bnm_context_message(ctx);
    ck_assert_msg(strstr(msg, "available:") && strstr(msg, " mine"), "%s", msg);
    ck_assert_int_eq(bnm_model_find(ctx, "", NULL, 0, &path), BNM_ERR_INVALID_ARG);

    bnm_context_destroy(ctx);
    free(mine);
    free(p_mine);
    free(p_rww);
    free(p_extra);
    rm_tree(user);
    rm_tree(extra_dir);
    free(user);
    free(extra_dir);
}
END_TEST

START_TEST(list_has_every_builtin_once)
{
    char *user = make_tmpdir();
    char *p1 = path_join(user, "zz_user.nmm"), *p2 = path_join(user, "kuramoto.nmm");
    char *p3 = path_join(user, "notes.txt");
    write_file(p1, "model zz_user\n");
    write_file(p2, "model kuramoto\n");
    write_file(p3, "not a model\n");
    setenv("CLBNM_MODEL_PATH", user, 1);
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_entry *m;
    int n;
    ck_assert_int_eq(bnm_model_list(ctx, NULL, 0, &m, &n), BNM_OK);
    for (int i = 1; i < n; i++)
        ck_assert_msg(strcmp(m[i - 1].name, m[i].name) < 0, "not sorted/unique: %s %s",
                      m[i - 1].name, m[i].name);
    /* every .nmm file of the source models/ directory, found in the built-in directory */
    char *mdir = path_join(root(), "models");
    DIR *d = opendir(mdir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int builtins = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 4 || strcmp(de->d_name + len - 4, ".nmm") != 0)
            continue;
        builtins++;
        int found = -1;
        for (int i = 0; i < n; i++)
            if (strncmp(m[i].name, de->d_name, len - 4) == 0 && m[i].name[len - 4] == '\0')
                found = i;
        ck_assert_msg(found >= 0, "%s not listed", de->d_name);
        ck_assert_msg(strncmp(m[found].path, user, strlen(user)) != 0,
                      "%s: user copy listed instead of the built-in", de->d_name);
    }
    closedir(d);
    ck_assert_int_ge(builtins, 1);
    int user_found = 0;
    for (int i = 0; i < n; i++) {
        user_found += strcmp(m[i].name, "zz_user") == 0 && strcmp(m[i].path, p1) == 0;
        ck_assert_str_ne(m[i].name, "notes");
    }
    ck_assert_int_eq(user_found, 1);
    bnm_model_list_free(m, n);
    bnm_context_destroy(ctx);
    free(mdir);
    free(p1);
    free(p2);
    free(p3);
    rm_tree(user);
    free(user);
}
END_TEST

START_TEST(suggestions)
{
    const char *names[] = {"G", "J_N", "w_p", "sigma", "omega", "tau_E"};
    ck_assert_str_eq(bnm_suggest_name("sigmaa", names, 6), "sigma");
    ck_assert_str_eq(bnm_suggest_name("SIGMA", names, 6), "sigma");
    ck_assert_str_eq(bnm_suggest_name("J_n", names, 6), "J_N");
    ck_assert_str_eq(bnm_suggest_name("wp", names, 6), "w_p");
    ck_assert_str_eq(bnm_suggest_name("tau_e", names, 6), "tau_E");
    ck_assert_ptr_null(bnm_suggest_name("frequency", names, 6));
    ck_assert_ptr_null(bnm_suggest_name("x", names, 0));
}
END_TEST

/* ---- the clbnm program ---------------------------------------------------------------- */


#define ASSERT_HAS(text, needle)                                                          \
    ck_assert_msg(strstr((text), (needle)) != NULL, "expected '%s' in:\n%s", (needle), (text))

START_TEST(models_lists_builtins_with_params)
{
    unsetenv("CLBNM_MODEL_PATH");
    run_result r = run_clbnm((const char *[]){"models", NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d\n%s", r.exit_code, r.err);
    char *mdir = path_join(root(), "models");
    DIR *d = opendir(mdir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 4 || strcmp(de->d_name + len - 4, ".nmm") != 0)
            continue;
        char head[300];
        /* each model starts a line: "NAME  PATH" */
        snprintf(head, sizeof head, "%.*s  ", (int)(len - 4), de->d_name);
        ck_assert_msg(strncmp(r.out, head, strlen(head)) == 0 || strstr(r.out, head),
                      "model %s not listed:\n%s", de->d_name, r.out);
    }
    closedir(d);
    free(mdir);
    /* kuramoto's params with default, bounds and kind (models/kuramoto.nmm) */
    ASSERT_HAS(r.out, "kuramoto  ");
    ck_assert_msg(strstr(r.out, "required") && strstr(r.out, "[0, 10]") &&
                      strstr(r.out, "[0, 0.5]") && strstr(r.out, "0.17"),
                  "%s", r.out);
    run_result_free(&r);

    r = run_clbnm((const char *[]){"models", "--dir", "/nonexistent/clbnm", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ASSERT_HAS(r.err, "/nonexistent/clbnm");
    run_result_free(&r);
    r = run_clbnm((const char *[]){"models", "--bogus", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 2);
    run_result_free(&r);
}
END_TEST

START_TEST(check_good_model)
{
    char *p = path_join(root(), "models/kuramoto.nmm");
    run_result r = run_clbnm((const char *[]){"check", p, NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d\n%s", r.exit_code, r.err);
    ASSERT_HAS(r.out, "model kuramoto");
    ASSERT_HAS(r.out, "integrator euler");
    ASSERT_HAS(r.out, "theta");
    ASSERT_HAS(r.out, "transmitted (1): theta");
    ASSERT_HAS(r.out, "couplings (1): c");
    run_result_free(&r);

    /* by name, with levels */
    r = run_clbnm((const char *[]){"check", "kuramoto", "--per-sim", "G", "--per-node",
                                   "sigma", NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d\n%s", r.exit_code, r.err);
    ASSERT_HAS(r.out, "per-sim");
    ASSERT_HAS(r.out, "per-node");
    run_result_free(&r);
    free(p);
}
END_TEST

START_TEST(check_bad_model_and_levels)
{
    char *dir = make_tmpdir();
    char *good = kuramoto_as("bad");
    char *at = strstr(good, "G*c\n");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "G*q\n", 4); /* an undefined name on the d/dt line */
    int line = 1;
    for (char *c = good; c < at; c++)
        line += *c == '\n';
    char *p = path_join(dir, "bad.nmm");
    write_file(p, good);
    run_result r = run_clbnm((const char *[]){"check", p, NULL}, NULL);
    ck_assert_msg(r.exit_code == 1, "exit %d\n%s", r.exit_code, r.out);
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "bad.nmm:%d:", line);
    ASSERT_HAS(r.err, where);
    ASSERT_HAS(r.err, "error");
    ASSERT_HAS(r.err, "^");
    run_result_free(&r);

    r = run_clbnm((const char *[]){"check", "kuramoto", "--per-sim", "sigmaa", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ASSERT_HAS(r.err, "did you mean 'sigma'?");
    run_result_free(&r);
    /* G is global, declared on line 5 of kuramoto.nmm */
    r = run_clbnm((const char *[]){"check", "kuramoto", "--per-node", "G", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ASSERT_HAS(r.err, "not regional");
    ASSERT_HAS(r.err, "kuramoto.nmm:5");
    run_result_free(&r);
    /* aliases are accepted; const params cannot vary (rww.nmm: J_N aka J_NMDA, a_E const) */
    r = run_clbnm((const char *[]){"check", "rww", "--per-node", "J_NMDA", NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d\n%s", r.exit_code, r.err);
    run_result_free(&r);
    r = run_clbnm((const char *[]){"check", "rww", "--per-sim", "a_E", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ASSERT_HAS(r.err, "const");
    ASSERT_HAS(r.err, "rww.nmm:");
    run_result_free(&r);
    r = run_clbnm((const char *[]){"check", "rww", "--per-sim", "w_p", "--per-node", "w_p", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ASSERT_HAS(r.err, "listed twice");
    run_result_free(&r);
    r = run_clbnm((const char *[]){"check", "kuramto", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ASSERT_HAS(r.err, "did you mean 'kuramoto'?");
    run_result_free(&r);
    r = run_clbnm((const char *[]){"check", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 2);
    run_result_free(&r);
    r = run_clbnm((const char *[]){"check", "kuramoto", "--per-sim", ",", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 2);
    run_result_free(&r);
    free(good);
    free(p);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(dropped_in_model_is_found_without_rebuild)
{
    char *dir = make_tmpdir();
    char *text = kuramoto_as("dropped_in");
    char *p = path_join(dir, "dropped_in.nmm");
    write_file(p, text);
    setenv("CLBNM_MODEL_PATH", dir, 1);
    run_result r = run_clbnm((const char *[]){"check", "dropped_in", NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d\n%s", r.exit_code, r.err);
    ASSERT_HAS(r.out, "model dropped_in");
    ASSERT_HAS(r.out, p);
    run_result_free(&r);
    r = run_clbnm((const char *[]){"models", NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d\n%s", r.exit_code, r.err);
    ASSERT_HAS(r.out, "dropped_in  ");
    run_result_free(&r);
    /* a broken model on the path: listed as such, diagnostics on stderr, exit 1, the
     * others still listed */
    char *broken = path_join(dir, "broken.nmm");
    write_file(broken, "model broken\nparam = 3\n");
    r = run_clbnm((const char *[]){"models", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ASSERT_HAS(r.out, "dropped_in  ");
    ASSERT_HAS(r.out, "kuramoto  ");
    ASSERT_HAS(r.out, "broken  ");
    ASSERT_HAS(r.err, "broken.nmm:2:");
    run_result_free(&r);
    free(broken);
    unsetenv("CLBNM_MODEL_PATH");
    r = run_clbnm((const char *[]){"check", "dropped_in", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ASSERT_HAS(r.err, "not found");
    run_result_free(&r);
    free(text);
    free(p);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* A model written outside the clBNM tree, dropped on CLBNM_MODEL_PATH, is parsed,
 * compiled to OpenCL and simulated by the installed program: no rebuild involved. It is
 * not a copy of a shipped model, so nothing about it can be compiled in. */
static const char fhn_model[] =
    "model fhn_dropped\n"
    "doc \"FitzHugh-Nagumo oscillators, written outside the clBNM tree\"\n"
    "time_unit ms\n"
    "integrator heun\n"
    "param G     = 0.4 in [0, 5]\n"
    "param a     = 0.7 const\n"
    "param b     = 0.8 const\n"
    "param tau   = 12.5 const\n"
    "param I_ext = 0.5 regional\n"
    "param sigma = 0.01 in [0, 0.1] regional\n"
    "state v = -1.0\n"
    "state w = -0.5\n"
    "coupling c = sum_j(W[i,j] * (v[j] - v))\n"
    "d/dt v = v - v^3/3 - w + I_ext + G*c\n"
    "d/dt w = (v + a - b*w) / tau\n"
    "noise v ~ sigma\n"
    "output v, w\n"
    "bold v\n";

static const char fhn_run[] =
    "model: fhn_dropped\n"
    "duration: 20\n"
    "dt: 0.1\n"
    "bw_dt: 1.0\n"
    "tr: 1.0\n"
    "bold_remove: 2\n"
    "seed: 3\n"
    "subjects:\n"
    "  - id: \"s1\"\n"
    "    sc: sc.txt\n"
    "params:\n"
    "  G: 0.4\n"
    "outputs:\n"
    "  bold: true\n"
    "  states_mean: [v]\n";

START_TEST(dropped_in_model_runs_through_simulate)
{
    char *models = make_tmpdir(), *work = make_tmpdir();
    char *model_path = path_join(models, "fhn_dropped.nmm");
    char *run_path = path_join(work, "run.yaml"), *sc_path = path_join(work, "sc.txt");
    char *out_path = path_join(work, "out.h5");
    write_file(model_path, fhn_model);
    write_file(run_path, fhn_run);
    write_file(sc_path, "0 1 0.5\n1 0 2\n0.5 2 0\n");
    setenv("CLBNM_MODEL_PATH", models, 1);
    run_result r = run_clbnm((const char *[]){"simulate", run_path, "-o", out_path, "--quiet",
                                              "--no-progress", NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d\n%s", r.exit_code, r.err);
    run_result_free(&r);

    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    char *model_attr = NULL;
    ck_assert_msg(bnm_h5_read_attr_string(ctx, out_path, "/", "model", &model_attr) == BNM_OK,
                  "%s", bnm_context_message(ctx));
    ck_assert_str_eq(model_attr, "fhn_dropped");
    free(model_attr);
    /* 20 s at TR 1 s: 20 volumes of 3 nodes, finite and not flat. */
    bnm_h5_array bold;
    ck_assert_msg(bnm_h5_read(ctx, out_path, "bold", BNM_H5_F64, &bold) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    ck_assert_int_eq(bold.ndim, 3);
    ck_assert_uint_eq(bold.dims[0], 1);
    ck_assert_uint_eq(bold.dims[1], 20);
    ck_assert_uint_eq(bold.dims[2], 3);
    const double *b = bold.data;
    double lo = b[0], hi = b[0];
    for (size_t k = 0; k < bold.count; k++) {
        ck_assert_msg(isfinite(b[k]), "bold[%zu] = %g", k, b[k]);
        lo = fmin(lo, b[k]);
        hi = fmax(hi, b[k]);
    }
    ck_assert_msg(hi - lo > 1e-6, "bold is flat (%g .. %g)", lo, hi);
    bnm_h5_array_free(&bold);
    /* The oscillators spend their time between the branches of the v-nullcline. */
    bnm_h5_array vmean;
    ck_assert_msg(bnm_h5_read(ctx, out_path, "states_mean/v", BNM_H5_F64, &vmean) == BNM_OK,
                  "%s", bnm_context_message(ctx));
    ck_assert_uint_eq(vmean.count, 3);
    for (size_t k = 0; k < 3; k++) {
        double v = ((const double *)vmean.data)[k];
        ck_assert_msg(isfinite(v) && v > -2.5 && v < 2.5, "mean v[%zu] = %g", k, v);
    }
    bnm_h5_array_free(&vmean);
    bnm_context_destroy(ctx);
    unsetenv("CLBNM_MODEL_PATH");
    rm_tree(models);
    rm_tree(work);
    free(models);
    free(work);
    free(model_path);
    free(run_path);
    free(sc_path);
    free(out_path);
}
END_TEST

START_TEST(emit_cl)
{
    run_result r = run_clbnm((const char *[]){"check", "kuramoto", "--emit-cl", NULL}, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d\n%s", r.exit_code, r.err);
    ASSERT_HAS(r.out, "__kernel");
    ASSERT_HAS(r.out, "nmm_rng_normal");
    run_result_free(&r);
    /* a model error reaches --emit-cl as diagnostics, not as generated code */
    r = run_clbnm((const char *[]){"check", "kuramoto", "--emit-cl", "--per-node", "G", NULL}, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ck_assert_str_eq(r.out, "");
    run_result_free(&r);
}
END_TEST

/* ---- clbnm demo ------------------------------------------------------------------------- */

static bool file_exists(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    struct stat sb;
    bool ok = stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
    free(p);
    return ok;
}

/* Removes a folder tree the demo wrote (two levels of subfolders at most). */
static void rm_demo_tree(const char *dir)
{
    static const char *const sub[] = {"data/sub-01", "data/sub-02", "data", "figures", "refit"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char *p = path_join(dir, sub[i]);
        rm_tree(p);
        free(p);
    }
    rm_tree(dir);
}

/* A figure the report wrote: a PNG that matplotlib reads back with something drawn
 * (tests/report/png_stats.py; the thresholds of tests/report: a blank figure has ink 0
 * and one colour, an empty axes with labels ink 0.011). */
static void check_png_drawn(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    char *script = path_join(root(), "tests/report/png_stats.py");
    const char *argv[] = {"/usr/bin/python3", script, p, NULL};
    run_result r = run_cmd(argv, NULL);
    ck_assert_msg(r.exit_code == 0, "png_stats.py %s failed: %s", p, r.err);
    char path[4096];
    double ink = 0, sd = 0, chroma = 0;
    int colours = 0;
    ck_assert_msg(sscanf(r.out, "%4095s %lf %d %lf %lf", path, &ink, &colours, &sd, &chroma) == 5,
                  "png_stats.py printed '%s'", r.out);
    ck_assert_msg(colours > 16 && ink > 0.018, "%s looks blank: ink %.4f, %d colours", p, ink,
                  colours);
    run_result_free(&r);
    free(script);
    free(p);
}

/* The table rows: run, subject, seed, then true / fitted / error% for G, w_p and J_N,
 * then fc_corr, fcd_ks, cost; every number finite. */
static void check_demo_table(const char *out)
{
    static const char *const subj[4] = {"sub-01", "sub-01", "sub-02", "sub-02"};
    const char *hdr = strstr(out, "run subject");
    ck_assert_msg(hdr != NULL, "no table header in:\n%s", out);
    const char *line = strchr(hdr, '\n');
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(line != NULL, "the table ends before run %d:\n%s", k, out);
        line++;
        int run = -1;
        unsigned long long seed = 0;
        char id[16];
        double v[12];
        int n = sscanf(line, "%d %15s %llu %lf %lf %lf%% %lf %lf %lf%% %lf %lf %lf%% %lf %lf %lf",
                       &run, id, &seed, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
                       &v[8], &v[9], &v[10], &v[11]);
        ck_assert_msg(n == 15, "row %d of the table does not parse (%d fields):\n%s", k, n, out);
        ck_assert_int_eq(run, k);
        ck_assert_str_eq(id, subj[k]);
        ck_assert_uint_eq(seed, (unsigned long long)(k % 2 + 1));
        for (int i = 0; i < 12; i++)
            ck_assert_msg(isfinite(v[i]), "row %d, number %d is not finite:\n%s", k, i, out);
        ck_assert_msg(v[9] >= -1 && v[9] <= 1, "fc_corr %g out of [-1, 1]", v[9]);
        ck_assert_msg(v[10] >= 0 && v[10] <= 1, "fcd_ks %g out of [0, 1]", v[10]);
        line = strchr(line, '\n');
    }
    ck_assert_msg(strstr(out, "\nPASS: ") || strstr(out, "\nWARN: "), "no verdict:\n%s", out);
    ck_assert_msg(strstr(out, "node-steps: ") != NULL, "no node-step count:\n%s", out);
}

START_TEST(demo_quick_writes_data_fit_figures_and_table)
{
    char *tmp = make_tmpdir(), *out = path_join(tmp, "demo");
    const char *args[] = {"demo", "--quick", "-o", out, "--no-progress", NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d:\nstdout:\n%s\nstderr:\n%s", r.exit_code, r.out,
                  r.err);
    static const char *const files[] = {
        ".clbnm-demo", "optimize.yaml", "runs.h5", "recovery.txt", "history_0.csv",
        "history_1.csv", "history_2.csv", "history_3.csv", "data/sub-01/sc.txt",
        "data/sub-01/lengths.txt", "data/sub-01/centres.txt", "data/sub-01/labels.txt",
        "data/sub-01/bold.npy", "data/sub-02/sc.txt", "data/sub-02/lengths.txt",
        "data/sub-02/bold.npy"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        ck_assert_msg(file_exists(out, files[i]), "%s/%s was not written", out, files[i]);
    check_demo_table(r.out);
    /* The secret stays out of every file written before the end. */
    char *yaml_path = path_join(out, "optimize.yaml"), *yaml = read_file(yaml_path);
    ck_assert_msg(strstr(yaml, "\nparams:") == NULL, "optimize.yaml gives parameter values");
    char *figs = path_join(out, "figures");
    static const char *const pngs[] = {"fc.png", "fcd.png", "cost.png", "params.png",
                                       "bold_carpet.png"};
    for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++)
        check_png_drawn(figs, pngs[i]);
    run_result_free(&r);

    /* The run file is a normal one: `clbnm optimize` fits it again. */
    char *refit = path_join(out, "refit");
    const char *again[] = {"optimize", yaml_path, "-o", refit, "--quiet", NULL};
    r = run_clbnm(again, NULL);
    ck_assert_msg(r.exit_code == 0, "clbnm optimize on the demo's run file: exit %d:\n%s",
                  r.exit_code, r.err);
    ck_assert(file_exists(refit, "runs.h5"));
    run_result_free(&r);

    /* A previous demo's folder is emptied and reused (its stray files go too). */
    char *stray = path_join(out, "stray.txt");
    write_file(stray, "x\n");
    r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 0, "second demo into the same folder: exit %d:\n%s",
                  r.exit_code, r.err);
    ck_assert_msg(access(stray, F_OK) != 0, "the earlier demo folder was not emptied");
    check_demo_table(r.out);
    run_result_free(&r);

    free(stray);
    free(refit);
    free(figs);
    free(yaml);
    free(yaml_path);
    rm_demo_tree(out);
    free(out);
    rmdir(tmp);
    free(tmp);
}
END_TEST

START_TEST(demo_bad_inputs)
{
    char *tmp = make_tmpdir(), *keep = path_join(tmp, "mine.txt");
    write_file(keep, "not a demo\n");
    /* A folder with someone else's files: refused, untouched. */
    const char *busy[] = {"demo", "--quick", "-o", tmp, NULL};
    run_result r = run_clbnm(busy, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    ck_assert_msg(strstr(r.err, "not empty") && strstr(r.err, tmp), "stderr:\n%s", r.err);
    ck_assert_msg(access(keep, F_OK) == 0, "the user's file was removed");
    char *marker = path_join(tmp, ".clbnm-demo");
    ck_assert_msg(access(marker, F_OK) != 0, "the refused folder was written to");
    run_result_free(&r);
    /* --nodes: even, at least 4, a number. */
    static const char *const bad_nodes[] = {"7", "2", "0", "-4", "abc", "12x"};
    char *out = path_join(tmp, "never");
    for (size_t i = 0; i < sizeof bad_nodes / sizeof bad_nodes[0]; i++) {
        const char *args[] = {"demo", "--quick", "--nodes", bad_nodes[i], "-o", out, NULL};
        r = run_clbnm(args, NULL);
        ck_assert_msg(r.exit_code == 2, "--nodes %s: exit %d", bad_nodes[i], r.exit_code);
        ck_assert_msg(strstr(r.err, "--nodes must be an even whole number"), "stderr:\n%s",
                      r.err);
        ck_assert_msg(access(out, F_OK) != 0, "--nodes %s: the folder was created", bad_nodes[i]);
        run_result_free(&r);
    }
    const char *unknown[] = {"demo", "--fast", NULL};
    r = run_clbnm(unknown, NULL);
    ck_assert_int_eq(r.exit_code, 2);
    ck_assert_msg(strstr(r.err, "unknown option '--fast'"), "stderr:\n%s", r.err);
    run_result_free(&r);
    const char *help[] = {"demo", "--help", NULL};
    r = run_clbnm(help, NULL);
    ck_assert_int_eq(r.exit_code, 0);
    ck_assert_msg(strstr(r.out, "usage: clbnm demo"), "stdout:\n%s", r.out);
    run_result_free(&r);
    free(out);
    free(marker);
    unlink(keep);
    free(keep);
    rmdir(tmp);
    free(tmp);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *lib = tcase_create("model_path");
    tcase_add_test(lib, path_order_and_dedup);
    tcase_add_test(lib, find_by_name_path_and_precedence);
    tcase_add_test(lib, list_has_every_builtin_once);
    tcase_add_test(lib, suggestions);
    suite_add_tcase(s, lib);
    TCase *exe = tcase_create("clbnm");
    tcase_set_timeout(exe, 300);
    tcase_add_test(exe, models_lists_builtins_with_params);
    tcase_add_test(exe, check_good_model);
    tcase_add_test(exe, check_bad_model_and_levels);
    tcase_add_test(exe, dropped_in_model_is_found_without_rebuild);
    tcase_add_test(exe, dropped_in_model_runs_through_simulate);
    tcase_add_test(exe, emit_cl);
    suite_add_tcase(s, exe);
    TCase *demo = tcase_create("demo");
    tcase_set_timeout(demo, 600);
    tcase_add_test(demo, demo_quick_writes_data_fit_figures_and_table);
    tcase_add_test(demo, demo_bad_inputs);
    suite_add_tcase(s, demo);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
