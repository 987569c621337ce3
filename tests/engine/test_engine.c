/* The batched engine: reference agreement, batch invariance, bad inputs through
 * `clbnm simulate`. */
#define _GNU_SOURCE /* mkdtemp */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_internal.h"
#include "clbnm/engine.h"
#include "clbnm/model.h"
#include "ir.h"
#include "clbnm/fit.h"
#include "clbnm/h5out.h"
#include "clbnm/run.h"
#include "ref_rww.h"
#include "run_cmd.h"

enum { NN = 10 };

static char *make_dir(void)
{
    char *t = strdup("/tmp/clbnm_engine_XXXXXX");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A deterministic symmetric 10-node SC (zero diagonal) and tract lengths. */
static void make_sc(double *W)
{
    unsigned s = 12345;
    for (int i = 0; i < NN; i++)
        for (int j = 0; j <= i; j++) {
            s = s * 1103515245u + 12345u;
            double w = i == j ? 0 : (double)((s >> 8) % 1000) / 2000.0;
            W[i * NN + j] = W[j * NN + i] = w;
        }
}

static void write_matrix(const char *dir, const char *name, const double *m, int rows, int cols)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++)
            fprintf(f, "%s%.17g", j ? " " : "", m[i * cols + j]);
        fputc('\n', f);
    }
    fclose(f);
}

/* Kernel cache: one temporary folder per test run, made in main (forked test cases
 * inherit it) and removed at the end; $CLBNM_CACHE_DIR wins when set. */
static char cache_dir[64] = "";

/* Collects the outputs of chosen simulations from the batch callback. */
typedef struct capture {
    size_t n_want;
    const uint64_t *want; /* global simulation indices */
    size_t n_vol, n_nodes, n_mean;
    double *bold;  /* [n_want][n_vol][n_nodes] */
    double *mean;  /* [n_want][n_mean][n_nodes] */
    int got;
    size_t batches;
    uint8_t diverged[4];
    double score0[4]; /* +fc_corr of each wanted simulation (NaN without scores) */
} capture;

static bnm_status on_batch(bnm_context *ctx, const bnm_engine_batch_view *v, void *user)
{
    (void)ctx;
    capture *c = user;
    c->batches++;
    c->n_vol = v->n_vol;
    c->n_nodes = v->n_nodes;
    c->n_mean = v->n_states_mean;
    for (size_t k = 0; k < c->n_want; k++) {
        if (c->want[k] < v->first || c->want[k] >= v->first + v->n)
            continue;
        size_t s = (size_t)(c->want[k] - v->first);
        size_t nb = v->n_vol * v->n_nodes, nm = v->n_states_mean * v->n_nodes;
        if (!c->bold) {
            c->bold = calloc(c->n_want * nb, sizeof(double));
            c->mean = calloc(c->n_want * nm + 1, sizeof(double));
        }
        memcpy(c->bold + k * nb, v->bold + s * nb, nb * sizeof(double));
        memcpy(c->mean + k * nm, v->states_mean + s * nm, nm * sizeof(double));
        if (k < 4) {
            c->diverged[k] = v->diverged[s];
            c->score0[k] = v->scores ? v->scores[s * BNM_FIT_N_TERMS] : NAN;
        }
        c->got++;
    }
    return BNM_OK;
}

static void capture_free(capture *c)
{
    free(c->bold);
    free(c->mean);
}

/* Parses text as a run file in dir and runs it with the given options (out may be NULL). */
static void run_text(const char *dir, const char *text, bnm_engine_options *o, const char *out,
                     bnm_run **run_out)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = NULL;
    bnm_status st = bnm_run_parse_string(ctx, text, strlen(text), "test.yaml", dir,
                                         BNM_RUN_MODE_SIMULATE, &run);
    ck_assert_msg(st == BNM_OK, "run parse: %s", bnm_context_message(ctx));
    st = bnm_engine_simulate(ctx, run, out, o, NULL);
    ck_assert_msg(st == BNM_OK, "simulate: %s", bnm_context_message(ctx));
    if (run_out)
        *run_out = run;
    else
        bnm_run_destroy(run);
    bnm_context_destroy(ctx);
}

/* ---- Reference: double precision vs the independent implementation ---------------- */

START_TEST(reference_rww_double)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    /* sigma swept over {0, 0.01}: one kernel runs both noise off (sigma = 0: every
     * increment is exactly 0) and noise on. 60 s simulated, as the issue asks. */
    const char *text = "model: rww\n"
                       "duration: 60\n"
                       "dt: 0.1\n"
                       "bw_dt: 1.0\n"
                       "tr: 0.72\n"
                       "bold_remove: 10\n"
                       "seed: 7\n"
                       "precision: double\n"
                       "fic: false\n"
                       "subjects:\n"
                       "  - id: s1\n"
                       "    sc: sc.txt\n"
                       "params: {G: 1.2, w_p: 1.4, J_N: 0.15, wIE: 1.0}\n"
                       "sweep:\n"
                       "  grid: {sigma: [0.0, 0.01, 2]}\n"
                       "outputs: {bold: true, fc: true, fcd: false, states_mean: [S_E]}\n";
    uint64_t want[2] = {0, 1};
    capture cap = {.n_want = 2, .want = want};
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.on_batch = on_batch;
    o.user = &cap;
    char out[600];
    snprintf(out, sizeof out, "%s/out.h5", dir);
    bnm_run *run = NULL;
    run_text(dir, text, &o, out, &run);
    ck_assert_int_eq(cap.got, 2);
    const bnm_run_counts *c = &run->counts;
    ck_assert_int_eq((int)cap.n_vol, 83); /* floor(60 / 0.72) */
    double sig[2] = {0.0, 0.01};
    for (int s = 0; s < 2; s++) {
        ref_rww_config rc = {.n = NN, .W = W, .G = 1.2, .w_p = 1.4, .J_N = 0.15, .wIE = 1.0,
                             .sigma = sig[s], .dt = 0.1, .bw_dt_ms = 1.0,
                             .n_inner = (long)c->n_inner, .n_bw = (long)c->n_bw,
                             .bw_per_vol = (long)c->bw_per_vol, .n_vol = (long)c->n_vol,
                             .bw_per_samp = (long)c->bw_per_samp, .n_rm_s = (long)c->n_rm_s,
                             .seed = 7, .noise_id = 0};
        double *bold = malloc((size_t)c->n_vol * NN * sizeof *bold), mean[NN];
        ck_assert_int_eq(ref_rww_run(&rc, bold, mean), 0);
        /* Relative to the series' scale: BOLD crosses 0, so per-element relative errors
         * are meaningless there. Double-precision arithmetic in a different order (the
         * engine's BW uses a cancellation-free compensated form) differs by ~1e-13. */
        double emax = 0, scale = 0, mmax = 0;
        const double *eb = cap.bold + (size_t)s * cap.n_vol * NN;
        for (size_t k = 0; k < (size_t)c->n_vol * NN; k++) {
            emax = fmax(emax, fabs(eb[k] - bold[k]));
            scale = fmax(scale, fabs(bold[k]));
        }
        for (int i = 0; i < NN; i++)
            mmax = fmax(mmax, fabs(cap.mean[s * NN + i] - mean[i]) / fabs(mean[i]));
        fprintf(stderr, "reference (sigma %g): BOLD max |diff| %.3g (scale %.3g, rel %.3g); "
                "S_E mean max rel %.3g\n", sig[s], emax, scale, emax / scale, mmax);
        ck_assert(scale > 1e-3); /* the network is not at rest: BOLD moved */
        ck_assert_msg(emax <= 1e-8 * scale, "BOLD differs: %g (scale %g)", emax, scale);
        ck_assert_msg(mmax <= 1e-8, "S_E mean differs: rel %g", mmax);
        free(bold);
    }
    /* noise on changed the result (the test above would pass vacuously otherwise) */
    double d = 0;
    for (size_t k = 0; k < cap.n_vol * NN; k++)
        d = fmax(d, fabs(cap.bold[k] - cap.bold[cap.n_vol * NN + k]));
    ck_assert(d > 1e-6);
    /* the file holds the same BOLD in float32 and the promised datasets */
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_h5_array a = {0};
    ck_assert_int_eq(bnm_h5_read(ctx, out, "bold", BNM_H5_F64, &a), BNM_OK);
    ck_assert_int_eq(a.ndim, 3);
    ck_assert_uint_eq(a.dims[0], 2);
    ck_assert_uint_eq(a.dims[1], 83);
    ck_assert_uint_eq(a.dims[2], NN);
    const double *fb = a.data;
    for (size_t k = 0; k < a.count; k++)
        ck_assert(fabs(fb[k] - cap.bold[k]) <= 1e-6 * fmax(1.0, fabs(cap.bold[k])));
    bnm_h5_array_free(&a);
    const char *names[] = {"fc", "params/G", "params/sigma", "sims/seed", "status/diverged",
                           "states_mean/S_E", "subjects/s1/sc"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        ck_assert_msg(bnm_h5_read(ctx, out, names[k], BNM_H5_F64, &a) == BNM_OK, "%s: %s",
                      names[k], bnm_context_message(ctx));
        bnm_h5_array_free(&a);
    }
    ck_assert_int_eq(bnm_h5_read(ctx, out, "params/sigma", BNM_H5_F64, &a), BNM_OK);
    ck_assert(((double *)a.data)[0] == 0.0 && ((double *)a.data)[1] == 0.01);
    bnm_h5_array_free(&a);
    char *prec = NULL;
    ck_assert_int_eq(bnm_h5_read_attr_string(ctx, out, "/", "precision", &prec), BNM_OK);
    ck_assert_str_eq(prec, "double");
    free(prec);
    bnm_context_destroy(ctx);
    capture_free(&cap);
    bnm_run_destroy(run);
    remove(out);
    char p[600];
    snprintf(p, sizeof p, "%s/sc.txt", dir);
    remove(p);
    rmdir(dir);
    free(dir);
}
END_TEST

/* ---- Batch invariance ---------------------------------------------------------------- */

static const char inv_head[] = "model: rww\n"
                               "duration: 0.5\n"
                               "dt: 0.1\n"
                               "bw_dt: 1.0\n"
                               "tr: 0.1\n"
                               "bold_remove: 0\n"
                               "seed: 11\n"
                               "precision: float\n"
                               "fic: false\n"
                               "subjects:\n"
                               "  - id: s1\n"
                               "    sc: sc.txt\n"
                               "outputs: {bold: true, fc: false, fcd: false, states_mean: [S_E]}\n";

static void run_inv(const char *dir, const char *grid, uint64_t max_batch, uint64_t launch_bw,
                    uint64_t w0, uint64_t w1, capture *cap)
{
    char text[2048];
    snprintf(text, sizeof text, "%ssweep:\n  grid: {G: %s}\n", inv_head, grid);
    uint64_t *want = malloc(2 * sizeof *want);
    want[0] = w0;
    want[1] = w1;
    memset(cap, 0, sizeof *cap);
    cap->n_want = w0 == w1 ? 1 : 2;
    cap->want = want;
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.max_batch = max_batch;
    o.max_launch_bw = launch_bw;
    o.on_batch = on_batch;
    o.user = cap;
    run_text(dir, text, &o, NULL, NULL);
    ck_assert_int_eq(cap->got, (int)cap->n_want);
}

static bool same_bits(const capture *a, size_t ka, const capture *b, size_t kb)
{
    size_t nb = a->n_vol * a->n_nodes, nm = a->n_mean * a->n_nodes;
    return memcmp(a->bold + ka * nb, b->bold + kb * nb, nb * sizeof(double)) == 0 &&
           memcmp(a->mean + ka * nm, b->mean + kb * nm, nm * sizeof(double)) == 0;
}

START_TEST(batch_invariance)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    /* linspace end points are exact: simulation 0 has G = 0.5, simulation 999 G = 3 */
    capture full, chunked, alone0, alone999;
    run_inv(dir, "[0.5, 3.0, 1000]", 0, 0, 0, 999, &full);
    ck_assert_uint_eq(full.batches, 1);
    run_inv(dir, "[0.5, 3.0, 1000]", 333, 7, 0, 999, &chunked);
    ck_assert_uint_eq(chunked.batches, 4);
    run_inv(dir, "[0.5, 0.5, 1]", 0, 1, 0, 0, &alone0);
    run_inv(dir, "[3.0, 3.0, 1]", 0, 3, 0, 0, &alone999);
    ck_assert_uint_eq(full.n_vol, 5);
    /* the two ends differ (otherwise the comparisons below prove nothing) */
    ck_assert(!same_bits(&full, 0, &full, 1));
    ck_assert_msg(same_bits(&full, 0, &chunked, 0), "sim 0: batch of 1000 vs chunks of 333");
    ck_assert_msg(same_bits(&full, 1, &chunked, 1), "sim 999: batch of 1000 vs chunks of 333");
    ck_assert_msg(same_bits(&full, 0, &alone0, 0), "sim 0: in a batch of 1000 vs alone");
    ck_assert_msg(same_bits(&full, 1, &alone999, 0), "sim 999: in a batch of 1000 vs alone");
    capture *all[] = {&full, &chunked, &alone0, &alone999};
    for (int k = 0; k < 4; k++) {
        free((void *)all[k]->want);
        capture_free(all[k]);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/sc.txt", dir);
    remove(p);
    rmdir(dir);
    free(dir);
}
END_TEST

/* ---- Saving and resuming a batch in flight -------------------------------------------- */

typedef struct fused_case {
    bnm_context *ctx;
    bnm_cl *cl;
    struct bnm_model_ir *ir;
    bnm_model_spec spec;
    bnm_param_setting set[1];
    bnm_fused_config fc;
    bnm_model_data d;
    double W[NN * NN], D[NN * NN], G[20], x0[20 * 2 * NN];
    uint64_t seeds[20];
} fused_case;

static void fused_case_init(fused_case *c, int n_sims)
{
    memset(c, 0, sizeof *c);
    ck_assert_int_eq(bnm_context_create(&c->ctx), BNM_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/models/rww.nmm", getenv("CLBNM_SOURCE_ROOT"));
    ck_assert_msg(bnm_nmm_load(c->ctx, path, &c->ir, NULL) == BNM_OK, "%s",
                  bnm_context_message(c->ctx));
    ck_assert_int_eq(bnm_cl_create_selected(c->ctx, NULL, &c->cl), BNM_OK);
    c->set[0] = (bnm_param_setting){.name = "G", .level = BNM_PARAM_PER_SIM};
    bnm_model_spec_init_defaults(&c->spec);
    c->spec.params = c->set;
    c->spec.n_params = 1;
    c->spec.precision = BNM_PRECISION_FLOAT;
    c->spec.delays = true;
    c->fc.mode = BNM_BOLD_BALLOON;
    ck_assert_int_eq(bnm_bold_coeffs_lookup(c->ctx, "friston2003", &c->fc.coeffs), BNM_OK);
    c->fc.bw_h = 0.001;
    c->fc.n_inner = 10;
    c->fc.bw_per_vol = 100;
    make_sc(c->W);
    for (int i = 0; i < NN; i++)
        for (int j = 0; j < NN; j++)
            c->D[i * NN + j] = i == j ? 0 : 1.0 + 0.7 * ((i * 7 + j * 3) % 11); /* ms */
    for (int s = 0; s < n_sims; s++) {
        c->G[s] = 0.5 + 0.1 * s;
        c->seeds[s] = 3 + (uint64_t)(s % 2); /* two noise realisations */
    }
    for (int q = 0; q < n_sims * 2 * NN; q++)
        c->x0[q] = 0.01 + 0.001 * (q % 7);
    c->d.n_sims = n_sims;
    c->d.n_nodes = NN;
    c->d.dt = 0.1;
    c->d.n_connectomes = 1;
    c->d.weights = c->W;
    c->d.n_delay_mats = 1;
    c->d.delays = c->D;
    c->d.seeds = c->seeds;
    c->d.sim_params = c->G;
    c->d.states = c->x0;
}

static bnm_fused *fused_start(fused_case *c)
{
    bnm_fused *f = NULL;
    ck_assert_msg(bnm_fused_create(c->ctx, c->cl, NULL, c->ir, &c->spec, &c->fc, &f) == BNM_OK,
                  "%s", bnm_context_message(c->ctx));
    ck_assert_msg(bnm_fused_set_data(c->ctx, f, &c->d, 200) == BNM_OK, "%s",
                  bnm_context_message(c->ctx));
    return f;
}

static void fused_run(fused_case *c, bnm_fused *f, uint64_t first, double *vol)
{
    uint64_t nv = 0;
    ck_assert_msg(bnm_fused_run(c->ctx, f, first, 200, vol, &nv, NULL, NULL) == BNM_OK, "%s",
                  bnm_context_message(c->ctx));
    ck_assert_int_eq(nv, 2);
}

/* Two launches in one go, or the first, a save, a new kernel, a restore and the second:
 * the same bits (model state, delay history, BW state and noise position all carried). */
START_TEST(fused_save_restore)
{
    enum { S = 20 };
    fused_case c;
    fused_case_init(&c, S);
    double a[S * 2 * NN], b[S * 2 * NN];
    bnm_fused *f = fused_start(&c);
    fused_run(&c, f, 0, a);
    fused_run(&c, f, 200, a);
    bnm_fused_destroy(f);

    f = fused_start(&c);
    fused_run(&c, f, 0, b);
    void *blob = NULL;
    size_t len = 0;
    ck_assert_int_eq(bnm_fused_save(c.ctx, f, &blob, &len), BNM_OK);
    /* the second launch before the save must not leak into the restored one */
    fused_run(&c, f, 200, b);
    bnm_fused_destroy(f);
    memset(b, 0, sizeof b);

    f = fused_start(&c);
    ck_assert_msg(bnm_fused_restore(c.ctx, f, blob, len) == BNM_OK, "%s",
                  bnm_context_message(c.ctx));
    fused_run(&c, f, 200, b);
    for (int q = 0; q < S * 2 * NN; q++)
        ck_assert_msg(isfinite(a[q]), "volume value %d is not finite", q);
    ck_assert_msg(memcmp(a, b, sizeof a) == 0, "resumed run differs from the uninterrupted one");
    bnm_fused_destroy(f);

    /* a state saved for another batch shape is refused */
    c.d.n_sims = S - 3;
    f = fused_start(&c);
    ck_assert_int_eq(bnm_fused_restore(c.ctx, f, blob, len), BNM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(c.ctx), "start the run afresh"));
    bnm_fused_destroy(f);
    free(blob);
    bnm_cl_destroy(c.cl);
    bnm_model_ir_destroy(c.ir);
    bnm_context_destroy(c.ctx);
}
END_TEST

static void rm_tree(const char *dir);

/* Cancellation (a signal handler's flag, bnm_engine_options.cancel): set during the
 * first of two batches, the run stops after the next launch with BNM_ERR_CANCELLED
 * and leaves no output file and no temporary. */
static int cancel_flag;

static bnm_status cancel_on_batch(bnm_context *ctx, const bnm_engine_batch_view *v, void *user)
{
    (void)ctx;
    (void)v;
    (void)user;
    cancel_flag = 1;
    return BNM_OK;
}

START_TEST(cancel_leaves_nothing)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    char text[2048], out[600];
    snprintf(text, sizeof text, "%ssweep:\n  grid: {G: [0.5, 3.0, 4]}\n", inv_head);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = NULL;
    ck_assert_int_eq(bnm_run_parse_string(ctx, text, strlen(text), "test.yaml", dir,
                                          BNM_RUN_MODE_SIMULATE, &run), BNM_OK);
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.max_batch = 2;
    o.on_batch = cancel_on_batch;
    o.cancel = &cancel_flag;
    cancel_flag = 0;
    ck_assert_int_eq(bnm_engine_simulate(ctx, run, out, &o, NULL), BNM_ERR_CANCELLED);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "cancelled"));
    ck_assert_msg(access(out, F_OK) != 0, "a cancelled run left %s", out);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        ck_assert_msg(!strstr(e->d_name, ".partial"), "a cancelled run left %s", e->d_name);
    closedir(d);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* Several devices share a batch list (--device A,B): PoCL has one CPU device, so it is
 * named twice (two contexts, two queues, two kernels, two threads). Batches of 7 over 40
 * simulations interleave between them; every output must equal the one-device run bit
 * for bit, and a list with an empty or unknown name is refused before any work. */
START_TEST(two_devices_share_batches)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    char text[2048], out1[600], out2[600];
    snprintf(text, sizeof text,
             "%ssweep:\n  grid: {G: [0.5, 3.0, 40]}\n", inv_head);
    snprintf(out1, sizeof out1, "%s/one.h5", dir);
    snprintf(out2, sizeof out2, "%s/two.h5", dir);
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.max_batch = 7;
    run_text(dir, text, &o, out1, NULL);
    o.device = "0:0,0:0";
    bnm_engine_stats stats;
    {
        bnm_context *ctx;
        ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
        bnm_run *run = NULL;
        ck_assert_int_eq(bnm_run_parse_string(ctx, text, strlen(text), "test.yaml", dir,
                                              BNM_RUN_MODE_SIMULATE, &run), BNM_OK);
        ck_assert_msg(bnm_engine_simulate(ctx, run, out2, &o, &stats) == BNM_OK, "%s",
                      bnm_context_message(ctx));
        ck_assert_uint_eq(stats.n_batches, 6);
        ck_assert_msg(strchr(stats.device, ','), "stats name both devices: %s", stats.device);
        /* bad lists */
        const char *bad[2] = {"0:0,", "0:0,7:7"};
        for (int k = 0; k < 2; k++) {
            o.device = bad[k];
            ck_assert(bnm_engine_simulate(ctx, run, NULL, &o, NULL) != BNM_OK);
            ck_assert_msg(strstr(bnm_context_message(ctx), k ? "7:7" : "empty"), "%s: %s",
                          bad[k], bnm_context_message(ctx));
        }
        bnm_run_destroy(run);
        bnm_context_destroy(ctx);
    }
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    const char *names[3] = {"bold", "states_mean/S_E", "status/written"};
    for (int k = 0; k < 3; k++) {
        bnm_h5_array a, b;
        ck_assert_int_eq(bnm_h5_read(ctx, out1, names[k], BNM_H5_F64, &a), BNM_OK);
        ck_assert_int_eq(bnm_h5_read(ctx, out2, names[k], BNM_H5_F64, &b), BNM_OK);
        ck_assert_uint_eq(a.count, b.count);
        ck_assert_msg(memcmp(a.data, b.data, a.count * sizeof(double)) == 0,
                      "%s differs between one and two devices", names[k]);
        if (k == 2)
            for (size_t q = 0; q < b.count; q++)
                ck_assert(((double *)b.data)[q] == 1.0);
        bnm_h5_array_free(&a);
        bnm_h5_array_free(&b);
    }
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* outputs.states_ts (analysis.md 4.4): instantaneous states and lets every 4 ms, the
 * averages every 100 ms (tr) from the same sample stream; split over launches of 7 BW
 * steps (blocks that straddle samples). The series' samples at the averaging times must
 * average to states_mean (float32 storage: 1e-6 relative), and its last sample of S_E
 * lies in [0, 1] (the state's clamp). */
START_TEST(states_time_series)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    char text[2048], out[600];
    snprintf(text, sizeof text,
             "model: rww\nduration: 0.5\ndt: 0.1\nbw_dt: 1.0\ntr: 0.1\nbold_remove: 0\n"
             "seed: 11\nprecision: float\nfic: false\n"
             "subjects:\n  - id: s1\n    sc: sc.txt\n"
             "outputs: {bold: true, fc: false, fcd: false, states_mean: [S_E, r_E],\n"
             "          states_ts: {vars: [S_E, r_E], every: 0.004}}\n"
             "sweep:\n  grid: {G: [0.5, 3.0, 3]}\n");
    snprintf(out, sizeof out, "%s/ts.h5", dir);
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.max_launch_bw = 7;
    run_text(dir, text, &o, out, NULL);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    const char *vars[2] = {"S_E", "r_E"};
    for (int v = 0; v < 2; v++) {
        char ts_name[64], mean_name[64];
        snprintf(ts_name, sizeof ts_name, "states_ts/%s", vars[v]);
        snprintf(mean_name, sizeof mean_name, "states_mean/%s", vars[v]);
        bnm_h5_array ts, mean;
        ck_assert_msg(bnm_h5_read(ctx, out, ts_name, BNM_H5_F64, &ts) == BNM_OK, "%s",
                      bnm_context_message(ctx));
        ck_assert_int_eq(bnm_h5_read(ctx, out, mean_name, BNM_H5_F64, &mean), BNM_OK);
        ck_assert_int_eq(ts.ndim, 3);
        ck_assert_uint_eq(ts.dims[0], 3);
        ck_assert_uint_eq(ts.dims[1], 125); /* 500 ms / 4 ms */
        ck_assert_uint_eq(ts.dims[2], NN);
        const double *x = ts.data, *m = mean.data;
        for (size_t s = 0; s < 3; s++)
            for (size_t i = 0; i < NN; i++) {
                /* samples at t = 100, 200, ... 500 ms: u + 1 = 25, 50, ... 125 */
                double sum = 0;
                for (size_t u = 24; u < 125; u += 25)
                    sum += x[(s * 125 + u) * NN + i];
                double want = m[s * NN + i];
                ck_assert_msg(isfinite(want) && fabs(sum / 5 - want) <= 1e-6 * fabs(want) + 1e-12,
                              "%s sim %zu node %zu: series mean %.9g vs states_mean %.9g",
                              vars[v], s, i, sum / 5, want);
                if (v == 0)
                    ck_assert(x[(s * 125 + 124) * NN + i] >= 0 && x[(s * 125 + 124) * NN + i] <= 1);
            }
        /* the series moves (a constant would pass the mean check for a constant state) */
        ck_assert(x[0] != x[124 * NN]);
        bnm_h5_array_free(&ts);
        bnm_h5_array_free(&mean);
    }
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* A device failure in the middle of a run (the second of five launches, injected
 * through CLBNM_FAULT_LAUNCH) names the device and the OpenCL error, and leaves neither
 * the output file nor its temporary behind. */
START_TEST(device_failure_mid_run)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    char text[2048], out[600];
    snprintf(text, sizeof text, "%sparams: {G: 1.0}\n", inv_head);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = NULL;
    ck_assert_int_eq(bnm_run_parse_string(ctx, text, strlen(text), "test.yaml", dir,
                                          BNM_RUN_MODE_SIMULATE, &run), BNM_OK);
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.max_launch_bw = 100; /* 0.5 s at bw_dt 1 ms: five launches */
    setenv("CLBNM_FAULT_LAUNCH", "2", 1);
    bnm_status st = bnm_engine_simulate(ctx, run, out, &o, NULL);
    unsetenv("CLBNM_FAULT_LAUNCH");
    const char *msg = bnm_context_message(ctx);
    ck_assert_int_eq(st, BNM_ERR_OPENCL);
    ck_assert_msg(strstr(msg, "device '") && strstr(msg, "CL_OUT_OF_RESOURCES"), "message: %s",
                  msg);
    ck_assert_msg(access(out, F_OK) != 0, "a failed run left %s", out);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        ck_assert_msg(!strstr(e->d_name, ".partial"), "a failed run left %s", e->d_name);
    closedir(d);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* Simulations of different subjects (each its own SC and delays) sharing one work-item:
 * with 6 subjects x 3 values the placement cannot give each subject its own work-items
 * without tripling them, so lanes mix subjects and take the gather path for weights and
 * delayed sources; alone, the same simulation has a uniform work-item. The bits must not
 * care. */
static void run_mixed(const char *dir, int first_subj, int n_subj, const char *grid,
                      uint64_t want0, uint64_t want1, capture *cap)
{
    char text[4096];
    int o = snprintf(text, sizeof text,
                     "model: rww\nduration: 0.5\ndt: 0.1\nbw_dt: 1.0\ntr: 0.1\n"
                     "bold_remove: 0\nseed: 11\nprecision: float\nfic: false\n"
                     "velocity: 5\nsubjects:\n");
    for (int k = first_subj; k < first_subj + n_subj; k++)
        o += snprintf(text + o, sizeof text - (size_t)o,
                      "  - {id: s%d, sc: sc%d.txt, lengths: len%d.txt}\n", k, k, k);
    snprintf(text + o, sizeof text - (size_t)o,
             "outputs: {bold: true, fc: false, fcd: false, states_mean: [S_E]}\n"
             "sweep:\n  grid: {G: %s}\n", grid);
    uint64_t *want = malloc(2 * sizeof *want);
    want[0] = want0;
    want[1] = want1;
    memset(cap, 0, sizeof *cap);
    cap->n_want = want0 == want1 ? 1 : 2;
    cap->want = want;
    bnm_engine_options opt;
    bnm_engine_options_init_defaults(&opt);
    opt.on_batch = on_batch;
    opt.user = cap;
    run_text(dir, text, &opt, NULL, NULL);
    ck_assert_int_eq(cap->got, (int)cap->n_want);
}

START_TEST(mixed_subject_lanes)
{
    char *dir = make_dir();
    double W[NN * NN], L[NN * NN];
    make_sc(W);
    unsigned r = 4242;
    for (int k = 0; k < 6; k++) {
        /* each subject its own weights (scaled, one edge moved) and tract lengths */
        double Wk[NN * NN];
        for (int q = 0; q < NN * NN; q++)
            Wk[q] = W[q] * (1.0 + 0.25 * k);
        Wk[1 * NN + 0] += 0.05 * k;
        Wk[0 * NN + 1] += 0.05 * k;
        for (int i = 0; i < NN; i++)
            for (int j = 0; j <= i; j++) {
                r = r * 1103515245u + 12345u;
                L[i * NN + j] = L[j * NN + i] =
                    i == j ? 0 : 2.0 + (double)((r >> 8) % 3000) / 100.0;
            }
        char name[32];
        snprintf(name, sizeof name, "sc%d.txt", k);
        write_matrix(dir, name, Wk, NN, NN);
        snprintf(name, sizeof name, "len%d.txt", k);
        write_matrix(dir, name, L, NN, NN);
    }
    /* subject-major: simulation 11 is subject 3 with G = 3, simulation 0 subject 0, G 0.5 */
    capture mixed, alone3, alone0;
    run_mixed(dir, 0, 6, "[0.5, 3.0, 3]", 0, 11, &mixed);
    run_mixed(dir, 3, 1, "[3.0, 3.0, 1]", 0, 0, &alone3);
    run_mixed(dir, 0, 1, "[0.5, 0.5, 1]", 0, 0, &alone0);
    ck_assert(!same_bits(&mixed, 0, &mixed, 1));
    ck_assert_msg(same_bits(&mixed, 1, &alone3, 0), "subject 3: mixed work-item vs alone");
    ck_assert_msg(same_bits(&mixed, 0, &alone0, 0), "subject 0: mixed work-item vs alone");
    capture *all[] = {&mixed, &alone3, &alone0};
    for (int k = 0; k < 3; k++) {
        free((void *)all[k]->want);
        capture_free(all[k]);
    }
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- Reference with conduction delays ------------------------------------------------- */

START_TEST(reference_rww_delays)
{
    char *dir = make_dir();
    double W[NN * NN], L[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    /* tract lengths 10..150 mm, symmetric, 0 on the diagonal */
    unsigned r = 777;
    for (int i = 0; i < NN; i++)
        for (int j = 0; j <= i; j++) {
            r = r * 1103515245u + 12345u;
            L[i * NN + j] = L[j * NN + i] = i == j ? 0 : 10.0 + (double)((r >> 8) % 14000) / 100.0;
        }
    write_matrix(dir, "len.txt", L, NN, NN);
    /* velocity 5 m/s = 5 mm/ms, dt 0.1 ms: lag = round_he(L / 0.5) = 20..300 steps */
    const char *text = "model: rww\n"
                       "duration: 10\n"
                       "dt: 0.1\n"
                       "bw_dt: 1.0\n"
                       "tr: 0.5\n"
                       "bold_remove: 2\n"
                       "seed: 9\n"
                       "precision: double\n"
                       "fic: false\n"
                       "velocity: 5\n"
                       "subjects:\n"
                       "  - id: s1\n"
                       "    sc: sc.txt\n"
                       "    lengths: len.txt\n"
                       "params: {G: 2.0, sigma: 0.01}\n"
                       "outputs: {bold: true, fc: true, fcd: false, states_mean: [S_E]}\n";
    uint64_t want[1] = {0};
    capture cap = {.n_want = 1, .want = want};
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.on_batch = on_batch;
    o.user = &cap;
    bnm_run *run = NULL;
    run_text(dir, text, &o, NULL, &run);
    ck_assert_int_eq(cap.got, 1);
    const bnm_run_counts *c = &run->counts;
    long lag[NN * NN], lag_max = 0;
    for (int k = 0; k < NN * NN; k++) {
        lag[k] = (long)rint(L[k] / (5.0 * 0.1));
        lag_max = lag[k] > lag_max ? lag[k] : lag_max;
    }
    ck_assert(lag_max > 100);
    ref_rww_config rc = {.n = NN, .W = W, .G = 2.0, .w_p = 1.4, .J_N = 0.15, .wIE = 1.0,
                         .sigma = 0.01, .dt = 0.1, .bw_dt_ms = 1.0,
                         .n_inner = (long)c->n_inner, .n_bw = (long)c->n_bw,
                         .bw_per_vol = (long)c->bw_per_vol, .n_vol = (long)c->n_vol,
                         .bw_per_samp = (long)c->bw_per_samp, .n_rm_s = (long)c->n_rm_s,
                         .seed = 9, .noise_id = 0, .lag = lag};
    double *bold = malloc((size_t)c->n_vol * NN * sizeof *bold), mean[NN];
    ck_assert_int_eq(ref_rww_run(&rc, bold, mean), 0);
    /* the same undelayed network differs (the delays matter for this test to bite) */
    double *nodelay = malloc((size_t)c->n_vol * NN * sizeof *nodelay), mean0[NN];
    rc.lag = NULL;
    ck_assert_int_eq(ref_rww_run(&rc, nodelay, mean0), 0);
    double emax = 0, scale = 0, dd = 0, mmax = 0;
    for (size_t k = 0; k < (size_t)c->n_vol * NN; k++) {
        emax = fmax(emax, fabs(cap.bold[k] - bold[k]));
        scale = fmax(scale, fabs(bold[k]));
        dd = fmax(dd, fabs(nodelay[k] - bold[k]));
    }
    for (int i = 0; i < NN; i++)
        mmax = fmax(mmax, fabs(cap.mean[i] - mean[i]) / fabs(mean[i]));
    fprintf(stderr, "reference with delays: BOLD rel %.3g, S_E mean rel %.3g (delays change BOLD "
            "by %.3g)\n", emax / scale, mmax, dd / scale);
    ck_assert(dd > 1e-4 * scale);
    /* tolerance as in reference_rww_double */
    ck_assert_msg(emax <= 1e-8 * scale, "BOLD differs: %g (scale %g)", emax, scale);
    ck_assert_msg(mmax <= 1e-8, "S_E mean differs: rel %g", mmax);
    free(bold);
    free(nodelay);
    capture_free(&cap);
    bnm_run_destroy(run);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- Noise sharing ---------------------------------------------------------------------- */

START_TEST(noise_sharing)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    /* two simulations with the same parameters and seed: one realisation when shared
     * (analysis.md 2.7.3), two when per_simulation */
    const char *mode[2] = {"shared", "per_simulation"};
    write_file(dir, "g.csv", "G\n1.0\n1.0\n");
    capture cap[2];
    for (int m = 0; m < 2; m++) {
        char text[2048];
        snprintf(text, sizeof text, "%snoise_sharing: %s\nsweep:\n  table: g.csv\n",
                 inv_head, mode[m]);
        uint64_t *want = malloc(2 * sizeof *want);
        want[0] = 0;
        want[1] = 1;
        memset(&cap[m], 0, sizeof cap[m]);
        cap[m].n_want = 2;
        cap[m].want = want;
        bnm_engine_options o;
        bnm_engine_options_init_defaults(&o);
        o.on_batch = on_batch;
        o.user = &cap[m];
        run_text(dir, text, &o, NULL, NULL);
        ck_assert_int_eq(cap[m].got, 2);
    }
    ck_assert(same_bits(&cap[0], 0, &cap[0], 1));
    ck_assert(!same_bits(&cap[1], 0, &cap[1], 1));
    /* noise id 0 is the shared one: simulation 0 is the same in both modes */
    ck_assert(same_bits(&cap[0], 0, &cap[1], 0));
    for (int m = 0; m < 2; m++) {
        free((void *)cap[m].want);
        capture_free(&cap[m]);
    }
    rm_tree(dir);
    free(dir);
}
END_TEST


/* ---- Direct BOLD mode and divergence ------------------------------------------------- */

START_TEST(direct_mode_and_divergence)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    /* empirical BOLD so that scores exist: 10 nodes x 30 volumes */
    double eb[NN * 30];
    unsigned r = 99;
    for (int k = 0; k < NN * 30; k++) {
        r = r * 1103515245u + 12345u;
        eb[k] = (double)((r >> 8) % 10000) / 10000.0;
    }
    write_matrix(dir, "bold.txt", eb, NN, 30);
    /* hopf: dt = bw_dt = 10 ms, direct BOLD (the volume is x at t = (v+1) TR). G = 500
     * makes the explicit diffusive coupling unstable (dt G sum_j W > 2): that simulation
     * overflows, freezes and is flagged. */
    const char *head = "model: hopf\n"
                       "duration: 20\n"
                       "tr: 1\n"
                       "bold_remove: 0\n"
                       "seed: 5\n"
                       "precision: float\n"
                       "subjects:\n"
                       "  - id: s1\n"
                       "    sc: sc.txt\n"
                       "    bold: bold.txt\n"
                       "fit: {terms: [+fc_corr]}\n"
                       "outputs: {bold: true, fc: true, fcd: false, states_mean: [x]}\n";
    char text[2048];
    uint64_t want[2] = {0, 1};
    capture both = {.n_want = 2, .want = want}, alone = {.n_want = 1, .want = want};
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.on_batch = on_batch;
    o.user = &both;
    snprintf(text, sizeof text, "%ssweep:\n  grid: {G: [1.0, 500.0, 2]}\n", head);
    run_text(dir, text, &o, NULL, NULL);
    o.user = &alone;
    snprintf(text, sizeof text, "%ssweep:\n  grid: {G: [1.0, 1.0, 1]}\n", head);
    run_text(dir, text, &o, NULL, NULL);
    ck_assert_int_eq(both.diverged[0], 0);
    ck_assert_int_eq(both.diverged[1], 1);
    /* the diverged simulation scores worst; the other one is scored normally */
    ck_assert(both.score0[1] == bnm_fit_term_worst(0));
    ck_assert(isfinite(both.score0[0]) && both.score0[0] > -1 && both.score0[0] < 1);
    /* the healthy simulation is unaffected by its diverging neighbour: bitwise */
    size_t nb = both.n_vol * NN;
    ck_assert_int_eq(memcmp(both.bold, alone.bold, nb * sizeof(double)), 0);
    ck_assert(both.score0[0] == alone.score0[0]);
    /* direct mode: volume v is x at (v+1) TR, the same instants states_mean averages
     * (states_sampling = tr, nothing removed): the mean of the volumes is the mean of x */
    for (int i = 0; i < NN; i++) {
        double m = 0;
        for (size_t v = 0; v < both.n_vol; v++)
            m += both.bold[v * NN + i];
        m /= (double)both.n_vol;
        ck_assert_msg(fabs(m - both.mean[i]) <= 1e-12 * fmax(1e-3, fabs(m)), "node %d: %g vs %g",
                      i, m, both.mean[i]);
    }
    /* and x moved (noise and dynamics), so the check above is not 0 == 0 */
    double spread = 0;
    for (size_t v = 1; v < both.n_vol; v++)
        spread = fmax(spread, fabs(both.bold[v * NN] - both.bold[0]));
    ck_assert(spread > 1e-3);
    capture_free(&both);
    capture_free(&alone);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* A let as BOLD driver (mpr: bold rate, rate = tau * r), evaluated on the device at the
 * new state of each BW-step end (analysis.md 2.4); direct mode makes it observable. */
START_TEST(let_driver)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    const char *text = "model: mpr\n"
                       "duration: 2\n"
                       "tr: 0.1\n"
                       "bold_remove: 0\n"
                       "bold_mode: direct\n"
                       "seed: 2\n"
                       "precision: float\n"
                       "subjects:\n"
                       "  - id: s1\n"
                       "    sc: sc.txt\n"
                       "params: {G: 0.5, tau: 2.0, sigma_r: 0.05}\n"
                       "outputs: {bold: true, fc: false, fcd: false, states_mean: [r, rate]}\n";
    uint64_t want[1] = {0};
    capture cap = {.n_want = 1, .want = want};
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.on_batch = on_batch;
    o.user = &cap;
    run_text(dir, text, &o, NULL, NULL);
    ck_assert_int_eq(cap.got, 1);
    ck_assert_uint_eq(cap.n_vol, 20);
    double spread = 0;
    for (int i = 0; i < NN; i++) {
        double m = 0;
        for (size_t v = 0; v < cap.n_vol; v++)
            m += cap.bold[v * NN + i];
        m /= (double)cap.n_vol;
        double mr = cap.mean[0 * NN + i], mrate = cap.mean[1 * NN + i];
        /* volumes = rate at the sampling instants; rate = tau * r (host-evaluated let) */
        ck_assert_msg(fabs(m - mrate) <= 1e-6 * fabs(mrate), "node %d: %g vs %g", i, m, mrate);
        ck_assert_msg(fabs(mrate - 2.0 * mr) <= 1e-6 * fabs(mrate), "node %d", i);
        spread = fmax(spread, fabs(cap.bold[(cap.n_vol - 1) * NN + i] - cap.bold[i]));
    }
    ck_assert(spread > 1e-4); /* noise moved it */
    capture_free(&cap);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- Steady-state FIC ----------------------------------------------------------------- */

START_TEST(fic_steady_state)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    /* Noise off (sigma swept to 0): FIC puts every node at its steady state, where
     * models.md 1.5 gives S_E = 0.1647572075 (and I_E = 0.3773805650, so r_E =
     * H(a_E I_E - b_E, d_E) = 3.07733 Hz); started at 0.001, the simulation must settle
     * there. At weak coupling (G <= 0.3 here) it is reached within 30 s; at G = 2 this
     * network leaves it for the low state, which is the model's dynamics, not FIC's.
     * Double precision: in float the rounded wIE moves the fixed point by ~1e-4. */
    const char *text = "model: rww\n"
                       "duration: 40\n"
                       "tr: 1\n"
                       "bold_remove: 30\n"
                       "precision: double\n"
                       "fic: {enabled: true, penalty_scale: 0.5}\n"
                       "subjects:\n"
                       "  - id: s1\n"
                       "    sc: sc.txt\n"
                       "sweep:\n"
                       "  grid: {G: [0.2, 0.3, 2], sigma: [0.0, 0.0, 1]}\n"
                       "outputs: {bold: true, fc: true, fcd: false, states_mean: [S_E, r_E]}\n";
    uint64_t want[2] = {0, 1};
    capture cap = {.n_want = 2, .want = want};
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.on_batch = on_batch;
    o.user = &cap;
    char out[600];
    snprintf(out, sizeof out, "%s/out.h5", dir);
    run_text(dir, text, &o, out, NULL);
    ck_assert_int_eq(cap.got, 2);
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < NN; i++) {
            double se = cap.mean[(s * 2 + 0) * NN + i], re = cap.mean[(s * 2 + 1) * NN + i];
            /* the solve is to full precision; 30 s of settling leaves < 1e-6 */
            ck_assert_msg(fabs(se - 0.1647572075) < 1e-5, "sim %d node %d: S_E %g", s, i, se);
            ck_assert_msg(fabs(re - 3.07733) < 1e-3, "sim %d node %d: r_E %g", s, i, re);
        }
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_h5_array a = {0};
    ck_assert_int_eq(bnm_h5_read(ctx, out, "params/wIE", BNM_H5_F64, &a), BNM_OK);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_uint_eq(a.dims[1], NN);
    const double *w = a.data;
    /* FIC made wIE depend on the node's input and on G: not the default 1 */
    ck_assert(fabs(w[0] - w[1]) > 1e-6 && fabs(w[0] - w[NN]) > 1e-6);
    bnm_h5_array_free(&a);
    ck_assert_int_eq(bnm_h5_read(ctx, out, "fic/failed", BNM_H5_F64, &a), BNM_OK);
    ck_assert(((double *)a.data)[0] == 0 && ((double *)a.data)[1] == 0);
    bnm_h5_array_free(&a);
    bnm_context_destroy(ctx);
    capture_free(&cap);
    remove(out);
    char p[600];
    snprintf(p, sizeof p, "%s/sc.txt", dir);
    remove(p);
    rmdir(dir);
    free(dir);
}
END_TEST

/* ---- `clbnm simulate` end to end --------------------------------------------------------- */

START_TEST(cli_simulate_ok)
{
    char *dir = make_dir();
    double W[NN * NN];
    make_sc(W);
    write_matrix(dir, "sc.txt", W, NN, NN);
    /* the invariance test's kernel (cache hit), 3 simulations of 2 s */
    char text[2048];
    snprintf(text, sizeof text, "%s", inv_head);
    char *d = strstr(text, "duration: 0.5");
    memcpy(d, "duration: 2.0", 13);
    strcat(text, "sweep:\n  grid: {G: [0.5, 3.0, 3]}\n");
    write_file(dir, "run.yaml", text);
    char rp[600], op[600];
    snprintf(rp, sizeof rp, "%s/run.yaml", dir);
    snprintf(op, sizeof op, "%s/res.h5", dir);
    const char *args[] = {"simulate", rp, "-o", op, "--no-progress", NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 0, "exit %d: %s", r.exit_code, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "3 simulations"));
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_h5_array a = {0};
    ck_assert_int_eq(bnm_h5_read(ctx, op, "bold", BNM_H5_F64, &a), BNM_OK);
    ck_assert_uint_eq(a.dims[0], 3);
    ck_assert_uint_eq(a.dims[1], 20);
    for (size_t k = 0; k < a.count; k++)
        ck_assert(isfinite(((double *)a.data)[k]));
    bnm_h5_array_free(&a);
    int64_t complete = 0;
    ck_assert_int_eq(bnm_h5_read_attr_int(ctx, op, "/", "complete", &complete), BNM_OK);
    ck_assert_int_eq(complete, 1);
    char *model = NULL;
    ck_assert_int_eq(bnm_h5_read_attr_string(ctx, op, "/", "model", &model), BNM_OK);
    ck_assert_str_eq(model, "rww");
    free(model);
    bnm_context_destroy(ctx);
    /* a usage error: exit 2 */
    const char *bad[] = {"simulate", rp, "--max-batch", "0", NULL};
    run_result r2 = run_clbnm(bad, NULL);
    ck_assert_int_eq(r2.exit_code, 2);
    run_result_free(&r2);
    run_result_free(&r);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* ---- Bad inputs through `clbnm simulate` ----------------------------------------------- */

/* Only the run file and the data files may be in dir afterwards: no output, no partial. */
static int count_other_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".h5"))
            n++;
    closedir(d);
    return n;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            remove(p);
        }
    closedir(d);
    rmdir(dir);
}

static const char good_sc[] = "0 1 2\n1 0 3\n2 3 0\n";

/* Runs `clbnm simulate run.yaml -o out.h5` in a folder holding files[] (name, text
 * pairs, NULL-terminated) and checks: exit 1, message on stderr, no output. */
static void expect_bad(const char *run_body, const char *const *files, const char *message)
{
    char *dir = make_dir();
    for (int k = 0; files && files[k]; k += 2)
        write_file(dir, files[k], files[k + 1]);
    char run[4096];
    snprintf(run, sizeof run,
             "model: rww\nduration: 20\ndt: 0.1\nbw_dt: 1.0\nbold_remove: 2\nfic: false\n"
             "outputs: {fcd: {window: 10, step: 2}}\n%s",
             run_body);
    write_file(dir, "run.yaml", run);
    char rp[600], op[600];
    snprintf(rp, sizeof rp, "%s/run.yaml", dir);
    snprintf(op, sizeof op, "%s/out.h5", dir);
    const char *args[] = {"simulate", rp, "-o", op, "--no-progress", NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_msg(r.exit_code == 1, "exit %d, stderr: %s", r.exit_code, r.err);
    ck_assert_msg(strstr(r.err, message) != NULL, "expected '%s' in: %s", message, r.err);
    ck_assert_int_eq(count_other_files(dir), 0);
    run_result_free(&r);
    rm_tree(dir);
    free(dir);
}

START_TEST(bad_sc_not_square)
{
    const char *f[] = {"sc.txt", "0 1 2\n1 0 3\n", NULL};
    expect_bad("tr: 1\nparams: {G: 1}\nsubjects:\n  - {id: a, sc: sc.txt}\n", f, "square");
}
END_TEST

START_TEST(bad_sc_nonfinite)
{
    const char *f[] = {"sc.txt", "0 1 nan\n1 0 3\nnan 3 0\n", NULL};
    expect_bad("tr: 1\nparams: {G: 1}\nsubjects:\n  - {id: a, sc: sc.txt}\n", f, "non-finite");
}
END_TEST

START_TEST(bad_sc_negative)
{
    const char *f[] = {"sc.txt", "0 1 -2\n1 0 3\n-2 3 0\n", NULL};
    expect_bad("tr: 1\nparams: {G: 1}\nsubjects:\n  - {id: a, sc: sc.txt}\n", f, "negative");
}
END_TEST

START_TEST(bad_lengths_size)
{
    const char *f[] = {"sc.txt", good_sc, "len.txt", "0 1\n1 0\n", NULL};
    expect_bad("tr: 1\nparams: {G: 1}\nsubjects:\n  - {id: a, sc: sc.txt, lengths: len.txt}\n",
               f, "len.txt");
}
END_TEST

START_TEST(bad_bold_size)
{
    /* 2 nodes x 40 volumes for a 3-node SC */
    char bold[2048] = "";
    for (int n = 0; n < 2; n++) {
        for (int v = 0; v < 40; v++)
            snprintf(bold + strlen(bold), sizeof bold - strlen(bold), "%s%d", v ? " " : "",
                     (v * (n + 3)) % 7);
        strcat(bold, "\n");
    }
    const char *f[] = {"sc.txt", good_sc, "bold.txt", bold, NULL};
    expect_bad("tr: 1\nparams: {G: 1}\nsubjects:\n  - {id: a, sc: sc.txt, bold: bold.txt}\n", f,
               "bold.txt");
}
END_TEST

START_TEST(bad_bold_short)
{
    /* 3 nodes x 6 volumes: an FCD window of 10 s at TR 1 s needs 11 */
    const char *f[] = {"sc.txt", good_sc, "bold.txt",
                       "1 2 3 1 2 5\n3 1 4 1 5 9\n2 7 1 8 2 8\n", NULL};
    expect_bad("tr: 1\nparams: {G: 1}\nsubjects:\n  - {id: a, sc: sc.txt, bold: bold.txt}\n", f,
               "window");
}
END_TEST

START_TEST(bad_bold_flat_node)
{
    char bold[4096] = "";
    for (int n = 0; n < 3; n++) {
        for (int v = 0; v < 40; v++)
            snprintf(bold + strlen(bold), sizeof bold - strlen(bold), "%s%d", v ? " " : "",
                     n == 1 ? 4 : (v * (n + 3)) % 7);
        strcat(bold, "\n");
    }
    const char *f[] = {"sc.txt", good_sc, "bold.txt", bold, NULL};
    expect_bad("tr: 1\nparams: {G: 1}\nsubjects:\n  - {id: a, sc: sc.txt, bold: bold.txt}\n", f,
               "variance");
}
END_TEST

START_TEST(bad_tr_multiple)
{
    const char *f[] = {"sc.txt", good_sc, NULL};
    expect_bad("tr: 0.7205\nparams: {G: 1}\nsubjects:\n  - {id: a, sc: sc.txt}\n", f, "bw_dt");
}
END_TEST

START_TEST(bad_unknown_param)
{
    const char *f[] = {"sc.txt", good_sc, NULL};
    expect_bad("tr: 1\nparams: {G: 1, w_pp: 1.2}\nsubjects:\n  - {id: a, sc: sc.txt}\n", f,
               "did you mean 'w_p'");
}
END_TEST

START_TEST(bad_lo_hi)
{
    const char *f[] = {"sc.txt", good_sc, NULL};
    expect_bad("tr: 1\nparams: {G: 1}\nsweep:\n  random: {n: 4, G: [3.0, 1.0]}\n"
               "subjects:\n  - {id: a, sc: sc.txt}\n",
               f, "lo < hi");
}
END_TEST

static Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *bad = tcase_create("bad_inputs");
    tcase_add_test(bad, bad_sc_not_square);
    tcase_add_test(bad, bad_sc_nonfinite);
    tcase_add_test(bad, bad_sc_negative);
    tcase_add_test(bad, bad_lengths_size);
    tcase_add_test(bad, bad_bold_size);
    tcase_add_test(bad, bad_bold_short);
    tcase_add_test(bad, bad_bold_flat_node);
    tcase_add_test(bad, bad_tr_multiple);
    tcase_add_test(bad, bad_unknown_param);
    tcase_add_test(bad, bad_lo_hi);
    suite_add_tcase(s, bad);
    TCase *ref = tcase_create("reference");
    tcase_set_timeout(ref, 900);
    tcase_add_test(ref, reference_rww_double);
    tcase_add_test(ref, reference_rww_delays);
    suite_add_tcase(s, ref);
    TCase *inv = tcase_create("invariance");
    tcase_set_timeout(inv, 900);
    tcase_add_test(inv, batch_invariance);
    tcase_add_test(inv, mixed_subject_lanes);
    tcase_add_test(inv, device_failure_mid_run);
    tcase_add_test(inv, fused_save_restore);
    tcase_add_test(inv, states_time_series);
    tcase_add_test(inv, two_devices_share_batches);
    tcase_add_test(inv, cancel_leaves_nothing);
    tcase_add_test(inv, noise_sharing);
    suite_add_tcase(s, inv);
    TCase *dm = tcase_create("direct");
    tcase_set_timeout(dm, 900);
    tcase_add_test(dm, direct_mode_and_divergence);
    tcase_add_test(dm, let_driver);
    suite_add_tcase(s, dm);
    TCase *fic = tcase_create("fic");
    tcase_set_timeout(fic, 900);
    tcase_add_test(fic, fic_steady_state);
    suite_add_tcase(s, fic);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 900);
    tcase_add_test(cli, cli_simulate_ok);
    suite_add_tcase(s, cli);
    return s;
}

int main(void)
{
    if (!getenv("CLBNM_CACHE_DIR")) {
        snprintf(cache_dir, sizeof cache_dir, "/tmp/clbnm_engine_cache_XXXXXX");
        if (mkdtemp(cache_dir))
            setenv("CLBNM_CACHE_DIR", cache_dir, 1);
        else
            cache_dir[0] = '\0';
    }
    SRunner *sr = srunner_create(engine_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (cache_dir[0])
        rm_tree(cache_dir);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
