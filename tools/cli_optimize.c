/* The optimize job shared by `clbnm optimize` and `clbnm demo`: parse the run file,
 * check it against the model and the data, run the driver with the engine as its
 * evaluator, and (on request) keep what the final re-run of each run's best particle
 * produced, so its BOLD, FC and FCD can be added to runs.h5.
 *
 * Each generation of all runs is one bnm_engine_simulate_list call (the engine's
 * batching splits it to fit the device). The engine is set up again for every
 * generation (model, data, device; the kernel comes from the program cache): simple,
 * and small next to the simulations themselves for realistic durations. */
#define _GNU_SOURCE
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clbnm/data.h"
#include "clbnm/engine.h"
#include "clbnm/fic.h"
#include "clbnm/fit.h"
#include "clbnm/model.h"
#include "clbnm/optimize.h"
#include "clbnm/run.h"
#include "ir.h"
#include "modellib.h"

struct cli_opt_job {
    bnm_run *run;
    bnm_model_ir *ir;
    const char **names; /* the model's param names and aliases */
    size_t n_names;
    const char *fic[2]; /* the FIC-controlled param and its alias */
    size_t n_fic;
    size_t *nodes;      /* per subject */
    bnm_opt_problem *problem;
    bnm_engine_options opts;
    bool keep_best;
    cli_opt_best *best; /* [n_runs] when keep_best */
    size_t n_runs;
    /* During the best re-run: which run each particle of the batch belongs to. */
    const size_t *rerun_run;
    uint64_t n_sims; /* simulations evaluated so far */
    const char *progress; /* label of a line per generation on stderr, or NULL */
    int generation;
    double t_start;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One line per generation: the job runs for minutes and the engine's own progress
 * line is off (one generation is one short engine call). */
static void print_progress(cli_opt_job *j, const bnm_opt_batch *b)
{
    double lo = INFINITY;
    for (size_t q = 0; q < b->n; q++)
        if (b->cost[q] < lo)
            lo = b->cost[q];
    if (b->best_rerun)
        fprintf(stderr, "%s: re-ran the best particle of %zu runs (%.1f s)\n", j->progress,
                b->n, now_s() - j->t_start);
    else
        fprintf(stderr, "%s: generation %d of at most %lld: %zu simulations, lowest cost %.4f "
                        "(%.1f s)\n", j->progress, ++j->generation,
                (long long)j->run->optimizer.generations, b->n, lo, now_s() - j->t_start);
}

static bnm_status load_names(bnm_context *ctx, cli_opt_job *j)
{
    char *path = NULL;
    bnm_status st = bnm_model_find(ctx, j->run->model, NULL, 0, &path);
    if (st == BNM_OK)
        st = bnm_nmm_load(ctx, path, &j->ir, NULL);
    free(path);
    if (st != BNM_OK)
        return st;
    j->names = malloc((size_t)(2 * j->ir->n_params + 1) * sizeof *j->names);
    if (!j->names)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    for (int p = 0; p < j->ir->n_params; p++) {
        j->names[j->n_names++] = j->ir->params[p].name;
        if (j->ir->params[p].alias)
            j->names[j->n_names++] = j->ir->params[p].alias;
    }
    int f = bnm_fic_param_index(j->ir);
    if (f >= 0) {
        j->fic[j->n_fic++] = j->ir->params[f].name;
        if (j->ir->params[f].alias)
            j->fic[j->n_fic++] = j->ir->params[f].alias;
    }
    return BNM_OK;
}

/* Node count of every subject's SC (the engine reads them again with their checks). */
static bnm_status subject_nodes(bnm_context *ctx, const bnm_run *run, size_t *nodes)
{
    for (size_t s = 0; s < run->n_subjects; s++) {
        bnm_matrix m = {0};
        bnm_status st = bnm_matrix_read(ctx, run->subjects[s].sc, &m);
        if (st == BNM_OK)
            st = bnm_sc_prepare(ctx, run->subjects[s].sc, &m, run->subjects[s].sc_orientation);
        nodes[s] = m.rows;
        bnm_matrix_free(&m);
        if (st != BNM_OK)
            return st;
    }
    return BNM_OK;
}

static void best_free(cli_opt_best *b)
{
    free(b->values);
    free(b->bold);
    free(b->fc);
    free(b->fcd);
    memset(b, 0, sizeof *b);
}

/* The re-run's series, kept per run (the view is borrowed for the call only). */
static bnm_status keep_series(bnm_context *ctx, const bnm_engine_batch_view *v, void *user)
{
    cli_opt_job *j = user;
    for (size_t s = 0; s < v->n; s++) {
        cli_opt_best *b = &j->best[j->rerun_run[v->first + s]];
        size_t nb = v->bold ? v->n_vol * v->n_nodes : 0;
        size_t nf = v->fc ? v->n_pairs : 0, nd = v->fcd ? v->n_fcd : 0;
        free(b->bold);
        free(b->fc);
        free(b->fcd);
        b->bold = nb ? malloc(nb * sizeof *b->bold) : NULL;
        b->fc = nf ? malloc(nf * sizeof *b->fc) : NULL;
        b->fcd = nd ? malloc(nd * sizeof *b->fcd) : NULL;
        if ((nb && !b->bold) || (nf && !b->fc) || (nd && !b->fcd))
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory keeping the best re-run");
        if (nb)
            memcpy(b->bold, v->bold + s * nb, nb * sizeof *b->bold);
        if (nf)
            memcpy(b->fc, v->fc + s * nf, nf * sizeof *b->fc);
        if (nd)
            memcpy(b->fcd, v->fcd + s * nd, nd * sizeof *b->fcd);
        b->n_vol = nb ? v->n_vol : 0;
        b->n_fc = nf;
        b->n_fcd = nd;
    }
    return BNM_OK;
}

/* One generation of every active run: simulate, then gof and cost from the scores. */
static bnm_status engine_eval(bnm_context *ctx, const bnm_opt_batch *b, void *user)
{
    cli_opt_job *j = user;
    bnm_engine_sim_list l = {
        .n = b->n, .subject = b->subject, .seed = b->seed, .n_params = b->n_params,
        .param_names = b->param_names, .param_regional = b->param_regional,
        .n_nodes = b->n_nodes, .values = b->values,
    };
    bnm_engine_list_results r = {b->scores, b->fic_penalty, b->diverged};
    bnm_engine_options o = j->opts;
    bool keep = b->best_rerun && j->keep_best;
    if (keep) {
        j->rerun_run = b->run;
        o.on_batch = keep_series;
        o.user = j;
    }
    /* The best re-run writes each particle's whole simulate output for runs.h5's
     * best_sim (bnm_opt_engine_rerun); generations are one list batch. */
    bnm_status st = b->best_rerun && b->sim_out
                        ? bnm_opt_engine_rerun(ctx, j->run, b, &o)
                        : bnm_engine_simulate_list(ctx, j->run, &l, &o, &r, NULL);
    j->rerun_run = NULL;
    j->n_sims += b->n;
    if (st != BNM_OK)
        return st;
    for (size_t q = 0; q < b->n; q++) {
        b->gof[q] = bnm_fit_gof(b->scores + q * BNM_FIT_N_TERMS, j->run->fit.terms);
        b->cost[q] = bnm_fit_cost(b->gof[q], b->fic_penalty[q]);
    }
    if (j->progress)
        print_progress(j, b);
    for (size_t q = 0; keep && q < b->n; q++) {
        cli_opt_best *best = &j->best[b->run[q]];
        free(best->values);
        if (!(best->values = malloc((b->n_params + 1) * sizeof *best->values)))
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory keeping the best re-run");
        for (size_t p = 0; p < b->n_params; p++)
            best->values[p] = b->values[(q * b->n_params + p) * b->n_nodes];
        memcpy(best->scores, b->scores + q * BNM_FIT_N_TERMS, sizeof best->scores);
        best->gof = b->gof[q];
        best->cost = b->cost[q];
        best->fic_penalty = b->fic_penalty[q];
        best->diverged = b->diverged[q];
        best->done = true;
    }
    return BNM_OK;
}

bnm_status cli_opt_job_create(bnm_context *ctx, const char *run_path, const cli_common *common,
                              bool keep_best, cli_opt_job **out)
{
    *out = NULL;
    cli_opt_job *j = calloc(1, sizeof *j);
    if (!j)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    bnm_status st = bnm_run_parse_file(ctx, run_path, BNM_RUN_MODE_OPTIMIZE, &j->run);
    if (st == BNM_OK)
        st = load_names(ctx, j);
    if (st == BNM_OK && !(j->nodes = calloc(j->run->n_subjects + 1, sizeof *j->nodes)))
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    if (st == BNM_OK)
        st = subject_nodes(ctx, j->run, j->nodes);
    if (st == BNM_OK) {
        bnm_opt_problem_config pc;
        bnm_opt_problem_config_init_defaults(&pc);
        pc.run = j->run;
        pc.param_names = j->names;
        pc.n_param_names = j->n_names;
        pc.fic_names = j->fic;
        pc.n_fic_names = j->n_fic;
        pc.subject_nodes = j->nodes;
        st = bnm_opt_problem_create(ctx, &pc, &j->problem);
    }
    for (size_t k = 0; st == BNM_OK && k < j->run->n_subjects; k++)
        if (!j->run->subjects[k].bold)
            st = bnm_fail(ctx, BNM_ERR_RUN, "%s:%d:%d: error: subject '%s' has no empirical "
                          "BOLD (key bold): optimize fits to it", j->run->path,
                          j->run->subjects[k].loc.line, j->run->subjects[k].loc.col,
                          j->run->subjects[k].id);
    if (st == BNM_OK) {
        bnm_engine_options_init_defaults(&j->opts);
        j->opts.device = common->device;
        if (common->precision)
            j->opts.precision = strcmp(common->precision, "double") == 0
                                    ? BNM_RUN_PRECISION_DOUBLE
                                    : BNM_RUN_PRECISION_FLOAT;
        j->opts.progress = false;
        j->n_runs = bnm_opt_problem_n_runs(j->problem);
        j->keep_best = keep_best;
        if (keep_best && !(j->best = calloc(j->n_runs, sizeof *j->best)))
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    }
    if (st != BNM_OK) {
        cli_opt_job_destroy(j);
        return st;
    }
    *out = j;
    return BNM_OK;
}

bnm_status cli_opt_job_run(bnm_context *ctx, cli_opt_job *j, const char *outdir, bool resume,
                           const cli_common *common)
{
    bnm_opt_config c;
    bnm_opt_config_init_defaults(&c);
    c.outdir = outdir;
    c.resume = resume;
    c.eval = engine_eval;
    c.user = j;
    c.model = j->run->model;
    c.precision = common->precision;
    c.device = common->device;
    j->t_start = now_s();
    return bnm_optimize(ctx, j->problem, &c);
}

const bnm_run *cli_opt_job_run_file(const cli_opt_job *j)
{
    return j->run;
}

void cli_opt_job_set_progress(cli_opt_job *j, const char *label)
{
    j->progress = label;
}

uint64_t cli_opt_job_simulations(const cli_opt_job *j)
{
    return j->n_sims;
}

const bnm_opt_problem *cli_opt_job_problem(const cli_opt_job *j)
{
    return j->problem;
}

const cli_opt_best *cli_opt_job_best(const cli_opt_job *j, size_t k)
{
    return j->best && k < j->n_runs && j->best[k].done ? &j->best[k] : NULL;
}

void cli_opt_job_destroy(cli_opt_job *j)
{
    if (!j)
        return;
    for (size_t k = 0; j->best && k < j->n_runs; k++)
        best_free(&j->best[k]);
    free(j->best);
    bnm_opt_problem_destroy(j->problem);
    free(j->nodes);
    free(j->names);
    bnm_model_ir_destroy(j->ir);
    bnm_run_destroy(j->run);
    free(j);
}

/* ---- best_sim series and subjects' inputs into runs.h5 ------------------------------ */

/* Writes a whole dataset at path (groups created as needed); an existing one is kept,
 * so a driver that already writes it wins. */
static bool h5_put(hid_t file, const char *path, int ndim, const hsize_t *dims, hid_t ftype,
                   hid_t mtype, const void *data)
{
    /* H5Lexists fails (and prints) when a group on the way is missing: that just means
     * "not there", so the HDF5 error stack stays quiet for the look. */
    htri_t there = 0;
    H5E_BEGIN_TRY
    {
        there = H5Lexists(file, path, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (there > 0)
        return true;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), space = H5Screate_simple(ndim, dims, NULL);
    bool ok = false;
    if (lcpl >= 0 && space >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0) {
        hid_t d = H5Dcreate2(file, path, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (d >= 0) {
            ok = H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
            H5Dclose(d);
        }
    }
    if (space >= 0)
        H5Sclose(space);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    return ok;
}

static bnm_status copy_file(bnm_context *ctx, const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[1 << 16];
    size_t n;
    bool ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    if (in && ferror(in))
        ok = false;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = false;
    if (!ok)
        return bnm_fail(ctx, BNM_ERR_IO, "cannot copy '%s' to '%s' (is the folder writable "
                        "and the disk not full?)", from, to);
    return BNM_OK;
}

/* The subject's empirical FC and FCD exactly as the engine derives them for scoring. */
static bnm_status subject_emp(bnm_context *ctx, const bnm_run *run, size_t s, size_t n,
                              const bnm_fc_pairs *pairs, bnm_fit_emp **emp)
{
    bnm_matrix bold = {0};
    bnm_fcd_windows w;
    bnm_status st = bnm_matrix_read(ctx, run->subjects[s].bold, &bold);
    if (st == BNM_OK)
        st = bnm_bold_prepare(ctx, run->subjects[s].bold, &bold, n,
                              run->subjects[s].bold_layout);
    if (st == BNM_OK)
        st = bnm_fcd_windows_from_ns(ctx, run->outputs.fcd_window_ns, run->outputs.fcd_step_ns,
                                     run->tr_ns, run->outputs.fcd_drop_edges, &w);
    if (st == BNM_OK) {
        bnm_fit_emp_options o;
        bnm_fit_emp_options_init_defaults(&o);
        o.remove_vols = (size_t)run->emp_remove_vols;
        o.outlier_threshold = run->emp_outlier_threshold;
        /* nodes x time after bnm_bold_prepare: volume stride 1, node stride cols */
        st = bnm_fit_emp_from_bold(ctx, bold.data, 1, bold.cols, bold.cols, pairs,
                                   run->outputs.fcd ? &w : NULL, &o, emp);
    }
    bnm_matrix_free(&bold);
    return st;
}

bnm_status cli_opt_job_best_fcd_ks(bnm_context *ctx, const cli_opt_job *j, size_t k, double *d)
{
    *d = NAN;
    const cli_opt_best *b = cli_opt_job_best(j, k);
    if (!b)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "run %zu has no kept best re-run", k);
    if (isfinite(b->scores[BNM_FIT_IDX_FCD_KS])) {
        *d = -b->scores[BNM_FIT_IDX_FCD_KS];
        return BNM_OK;
    }
    if (!b->fcd)
        return BNM_OK;
    size_t subject = 0, n = bnm_opt_problem_nodes(j->problem);
    uint64_t os = 0, ns = 0;
    bnm_opt_problem_run_info(j->problem, k, &subject, &os, &ns);
    bnm_fc_pairs pairs = {0};
    bnm_fit_emp *emp = NULL;
    bnm_status st = bnm_fc_pairs_make(ctx, n, j->run->fit.exc_interhemispheric, NULL, &pairs);
    if (st == BNM_OK)
        st = subject_emp(ctx, j->run, subject, n, &pairs, &emp);
    if (st == BNM_OK) {
        size_t ne = 0;
        const double *e = bnm_fit_emp_fcd(emp, &ne);
        if (ne)
            *d = bnm_ks_statistic(b->fcd, b->n_fcd, e, ne);
    }
    bnm_fit_emp_destroy(emp);
    bnm_fc_pairs_free(&pairs);
    return st;
}

bnm_status cli_opt_job_write_best_sim(bnm_context *ctx, const cli_opt_job *j, const char *outdir)
{
    const bnm_run *run = j->run;
    size_t n = bnm_opt_problem_nodes(j->problem);
    char *final = NULL, *tmp = NULL, path[512];
    bnm_fc_pairs pairs = {0};
    bnm_fit_emp *emp = NULL;
    int32_t *pair_ids = NULL;
    float *bold32 = NULL;
    hid_t f = -1;
    bnm_status st = BNM_OK;
    if (!j->best)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "cli_opt_job_write_best_sim: job made "
                        "without keep_best");
    if (asprintf(&final, "%s/runs.h5", outdir) < 0 ||
        asprintf(&tmp, "%s/.runs.h5.tmp", outdir) < 0) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = bnm_fc_pairs_make(ctx, n, run->fit.exc_interhemispheric, NULL, &pairs)) != BNM_OK)
        goto fail;
    if (!(pair_ids = malloc(2 * pairs.n_pairs * sizeof *pair_ids))) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t p = 0; p < 2 * pairs.n_pairs; p++)
        pair_ids[p] = (int32_t)pairs.pairs[p];
    /* Edit a copy and rename it over the original, so an interruption never leaves a
     * damaged runs.h5. */
    if ((st = copy_file(ctx, final, tmp)) != BNM_OK)
        goto fail;
    if ((f = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT)) < 0) {
        st = bnm_fail(ctx, BNM_ERR_IO, "cannot open '%s' for writing", tmp);
        goto fail;
    }
    bool ok = true;
    for (size_t s = 0; ok && s < run->n_subjects; s++) {
        const char *id = run->subjects[s].id;
        bnm_matrix sc = {0};
        if ((st = bnm_matrix_read(ctx, run->subjects[s].sc, &sc)) != BNM_OK ||
            (st = bnm_sc_prepare(ctx, run->subjects[s].sc, &sc,
                                 run->subjects[s].sc_orientation)) != BNM_OK) {
            bnm_matrix_free(&sc);
            goto fail;
        }
        hsize_t d2[2] = {sc.rows, sc.cols};
        snprintf(path, sizeof path, "/subjects/%s/sc", id);
        ok = h5_put(f, path, 2, d2, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, sc.data);
        bnm_matrix_free(&sc);
        if (!ok)
            break;
        if ((st = subject_emp(ctx, run, s, n, &pairs, &emp)) != BNM_OK)
            goto fail;
        size_t nfc = 0, nfcd = 0;
        const double *efc = bnm_fit_emp_fc(emp, &nfc), *efcd = bnm_fit_emp_fcd(emp, &nfcd);
        if (nfc) {
            hsize_t d = nfc;
            snprintf(path, sizeof path, "/subjects/%s/emp_fc", id);
            ok = h5_put(f, path, 1, &d, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, efc);
        }
        if (ok && nfcd) {
            hsize_t d = nfcd;
            snprintf(path, sizeof path, "/subjects/%s/emp_fcd", id);
            ok = h5_put(f, path, 1, &d, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, efcd);
        }
        bnm_fit_emp_destroy(emp);
        emp = NULL;
    }
    for (size_t k = 0; ok && k < j->n_runs; k++) {
        const cli_opt_best *b = &j->best[k];
        if (!b->done)
            continue;
        if (b->bold) {
            size_t nb = b->n_vol * n;
            free(bold32);
            if (!(bold32 = malloc(nb * sizeof *bold32))) {
                st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
                goto fail;
            }
            for (size_t i = 0; i < nb; i++)
                bold32[i] = (float)b->bold[i];
            hsize_t d3[3] = {1, b->n_vol, n};
            snprintf(path, sizeof path, "/runs/%zu/best_sim/bold", k);
            ok = h5_put(f, path, 3, d3, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, bold32);
        }
        if (ok && b->fc) {
            hsize_t d2[2] = {1, b->n_fc};
            snprintf(path, sizeof path, "/runs/%zu/best_sim/fc", k);
            ok = h5_put(f, path, 2, d2, H5T_IEEE_F32LE, H5T_NATIVE_DOUBLE, b->fc);
            if (ok && b->n_fc == pairs.n_pairs) {
                hsize_t dp[2] = {pairs.n_pairs, 2};
                snprintf(path, sizeof path, "/runs/%zu/best_sim/fc_pairs", k);
                ok = h5_put(f, path, 2, dp, H5T_STD_I32LE, H5T_NATIVE_INT32, pair_ids);
            }
        }
        if (ok && b->fcd) {
            hsize_t d2[2] = {1, b->n_fcd};
            snprintf(path, sizeof path, "/runs/%zu/best_sim/fcd", k);
            ok = h5_put(f, path, 2, d2, H5T_IEEE_F32LE, H5T_NATIVE_DOUBLE, b->fcd);
        }
    }
    if (H5Fclose(f) < 0)
        ok = false;
    f = -1;
    if (!ok) {
        st = bnm_fail(ctx, BNM_ERR_IO, "cannot write '%s' (the best particles' BOLD, FC and "
                      "FCD): is the disk full?", tmp);
        goto fail;
    }
    if (rename(tmp, final) != 0) {
        st = bnm_fail(ctx, BNM_ERR_IO, "cannot rename '%s' to '%s'", tmp, final);
        goto fail;
    }
fail:
    if (f >= 0)
        H5Fclose(f);
    if (st != BNM_OK && tmp)
        unlink(tmp);
    bnm_fit_emp_destroy(emp);
    free(bold32);
    free(pair_ids);
    bnm_fc_pairs_free(&pairs);
    free(tmp);
    free(final);
    return st;
}
