/* OUTDIR/runs.h5 and OUTDIR/history_k.csv (layout in clbnm/optimize.h). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clbnm/version.h"
#include "opt_internal.h"

static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s/%s", dir, name);
    return s;
}

/* Name of fit term t without its sign ("fc_corr"). */
static const char *term_name(unsigned t)
{
    const char *s = bnm_fit_term_name(t);
    return s + (s[0] == '+' || s[0] == '-');
}

static bool term_on(const bnm_opt_problem *p, unsigned t)
{
    return (p->run->fit.terms >> t) & 1u;
}

/* Writes params/NAME for `rows` particles whose coordinates are x[rows][d] into loc:
 * [rows] (or [rows, N]) when lead_dim, else a scalar (or [N]) for one particle. */
static bnm_status write_params(bnm_context *ctx, hid_t loc, const char *prefix,
                               const bnm_opt_problem *p, const double *x, size_t rows,
                               bool lead_dim)
{
    size_t n = p->n_nodes, n_par = p->n_entries, d = p->dim;
    double *vals = malloc(n_par * n * sizeof *vals);
    double *col = malloc(rows * n * sizeof *col);
    bnm_status st = BNM_OK;
    if (!vals || !col)
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (runs.h5)");
    for (size_t j = 0; j < n_par && st == BNM_OK; j++) {
        bool reg = p->regional[j];
        for (size_t r = 0; r < rows; r++) {
            bnm_opt_problem_map(p, x + r * d, vals);
            if (reg)
                memcpy(col + r * n, vals + j * n, n * sizeof *col);
            else
                col[r] = vals[j * n];
        }
        char name[300];
        snprintf(name, sizeof name, "%sparams/%s", prefix, p->param_names[j]);
        size_t dims[2] = {rows, n};
        if (lead_dim)
            st = opt_h5_write(ctx, loc, name, 'd', reg ? 2 : 1, dims, col);
        else
            st = opt_h5_write(ctx, loc, name, 'd', reg ? 1 : 0, &dims[1], col);
    }
    free(vals);
    free(col);
    return st;
}

static bnm_status write_history(bnm_context *ctx, hid_t g, const bnm_opt_problem *p,
                                const opt_history *h)
{
    size_t rows = h->rows, dims[2] = {rows, p->dim};
    bnm_status st = opt_h5_write(ctx, g, "history/x", 'd', 2, dims, h->x);
    if (st == BNM_OK)
        st = write_params(ctx, g, "history/", p, h->x, rows, true);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "history/cost", 'd', 1, &rows, h->cost);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "history/gof", 'd', 1, &rows, h->gof);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "history/fic_penalty", 'd', 1, &rows, h->fic);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "history/diverged", 'b', 1, &rows, h->diverged);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "history/generation", 'i', 1, &rows, h->generation);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "history/particle", 'i', 1, &rows, h->particle);
    double *col = malloc((rows ? rows : 1) * sizeof *col);
    if (!col && st == BNM_OK)
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (runs.h5)");
    for (unsigned t = 0; t < BNM_FIT_N_TERMS && st == BNM_OK; t++) {
        if (!term_on(p, t))
            continue;
        for (size_t r = 0; r < rows; r++)
            col[r] = h->scores[r * BNM_FIT_N_TERMS + t];
        char name[64];
        snprintf(name, sizeof name, "history/scores/%s", term_name(t));
        st = opt_h5_write(ctx, g, name, 'd', 1, &rows, col);
    }
    free(col);
    return st;
}

/* The re-run's simulate file, whole (root attributes included), as group best_sim. */
static bnm_status copy_best_sim(bnm_context *ctx, hid_t g, const char *file)
{
    hid_t src = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (src < 0)
        return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot open the best particle's re-run", file);
    herr_t e = H5Ocopy(src, "/", g, "best_sim", H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(src);
    if (e < 0)
        return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot copy the best particle's re-run into "
                        "best_sim", file);
    return BNM_OK;
}

static bnm_status write_best(bnm_context *ctx, hid_t g, const bnm_opt_problem *p, size_t k,
                             const opt_runstate *r, const char *subject_id)
{
    const opt_history *h = &r->h;
    size_t b = opt_history_best(h), d = p->dim, one = 1;
    hid_t bg = opt_h5_group(ctx, g, "best");
    if (bg < 0)
        return BNM_ERR_IO;
    bnm_status st = opt_h5_write(ctx, bg, "x", 'd', 1, &d, h->x + b * d);
    if (st == BNM_OK)
        st = write_params(ctx, bg, "", p, h->x + b * d, 1, false);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, bg, "cost", 'd', 0, NULL, &h->cost[b]);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, bg, "gof", 'd', 0, NULL, &h->gof[b]);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, bg, "fic_penalty", 'd', 0, NULL, &h->fic[b]);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, bg, "generation", 'i', 0, NULL, &h->generation[b]);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, bg, "particle", 'i', 0, NULL, &h->particle[b]);
    for (unsigned t = 0; t < BNM_FIT_N_TERMS && st == BNM_OK; t++) {
        if (!term_on(p, t))
            continue;
        char name[64];
        snprintf(name, sizeof name, "scores/%s", term_name(t));
        st = opt_h5_write(ctx, bg, name, 'd', 0, NULL, &h->scores[b * BNM_FIT_N_TERMS + t]);
    }
    H5Gclose(bg);
    if (st != BNM_OK)
        return st;

    if (r->best_file && access(r->best_file, F_OK) == 0)
        return copy_best_sim(ctx, g, r->best_file);

    /* The callback wrote no file: the re-run's params and scores in the simulate file's
     * names (one simulation). */
    hid_t sg = opt_h5_group(ctx, g, "best_sim");
    if (sg < 0)
        return BNM_ERR_IO;
    uint64_t noise_seed;
    bnm_opt_problem_run_info(p, k, NULL, NULL, &noise_seed);
    st = write_params(ctx, sg, "", p, h->x + b * d, 1, true);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, sg, "sims/seed", 'u', 1, &one, &noise_seed);
    if (st == BNM_OK) {
        hid_t t = H5Tcopy(H5T_C_S1);
        size_t len = strlen(subject_id);
        H5Tset_size(t, len ? len : 1);
        H5Tset_cset(t, H5T_CSET_UTF8);
        hsize_t dim1 = 1;
        hid_t sp = H5Screate_simple(1, &dim1, NULL);
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        hid_t ds = H5Dcreate2(sg, "sims/subject", t, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0 || H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, len ? subject_id : " ") < 0)
            st = bnm_fail(ctx, BNM_ERR_IO, "cannot write best_sim/sims/subject");
        if (ds >= 0)
            H5Dclose(ds);
        H5Pclose(lcpl);
        H5Sclose(sp);
        H5Tclose(t);
    }
    int32_t zero = 0;
    if (st == BNM_OK)
        st = opt_h5_write(ctx, sg, "sims/subject_index", 'i', 1, &one, &zero);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, sg, "scores/gof", 'd', 1, &one, &r->best_gof);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, sg, "scores/cost", 'd', 1, &one, &r->best_cost);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, sg, "scores/fic_penalty", 'd', 1, &one, &r->best_fic);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, sg, "status/diverged", 'b', 1, &one, &r->best_diverged);
    for (unsigned t = 0; t < BNM_FIT_N_TERMS && st == BNM_OK; t++) {
        if (!term_on(p, t))
            continue;
        char name[64];
        snprintf(name, sizeof name, "scores/%s", term_name(t));
        st = opt_h5_write(ctx, sg, name, 'd', 1, &one, &r->best_scores[t]);
    }
    H5Gclose(sg);
    return st;
}

static bnm_status write_run_attrs(bnm_context *ctx, hid_t g, const bnm_opt_problem *p, size_t k,
                                  const opt_runstate *r)
{
    size_t subject;
    uint64_t opt_seed, noise_seed;
    bnm_opt_problem_run_info(p, k, &subject, &opt_seed, &noise_seed);
    const bnm_run_optimizer *o = &p->run->optimizer;
    int64_t si = (int64_t)subject, pop = o->popsize, gens = o->generations;
    uint64_t cseed = bnm_opt_cmaes_seed(noise_seed, opt_seed);
    uint64_t done = bnm_cmaes_generation(r->es), evals = bnm_cmaes_evaluations(r->es);
    bnm_status st = opt_h5_attr_str(ctx, g, "subject", p->run->subjects[subject].id);
#define NUM_(name, type, v) \
    if (st == BNM_OK)       \
    st = opt_h5_attr_num(ctx, g, name, type, v)
#define STR_(name, v) \
    if (st == BNM_OK) \
    st = opt_h5_attr_str(ctx, g, name, v)
    NUM_("subject_index", 'u', &(uint64_t){(uint64_t)si});
    NUM_("seed", 'u', &opt_seed);
    NUM_("noise_seed", 'u', &noise_seed);
    NUM_("cmaes_seed", 'u', &cseed);
    STR_("method", "cmaes");
    NUM_("popsize", 'u', &(uint64_t){(uint64_t)pop});
    NUM_("generations", 'u', &(uint64_t){(uint64_t)gens});
    NUM_("sigma0", 'd', &o->sigma0);
    NUM_("tolfun", 'd', &o->tolfun);
    STR_("status", "done");
    STR_("stop_reason", bnm_cmaes_stop_name(bnm_cmaes_stopped(r->es)));
    STR_("stop_text", bnm_cmaes_stop_text(r->es));
    NUM_("generations_done", 'u', &done);
    NUM_("evaluations", 'u', &evals);
#undef NUM_
#undef STR_
    return st;
}

static bnm_status write_problem(bnm_context *ctx, hid_t f, const bnm_opt_problem *p)
{
    size_t d = p->dim, w = 1;
    for (size_t j = 0; j < d; j++)
        if (strlen(p->coord_names[j]) > w)
            w = strlen(p->coord_names[j]);
    char *names = calloc(d, w);
    bnm_status st = names ? BNM_OK : bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (runs.h5)");
    if (st == BNM_OK) {
        for (size_t j = 0; j < d; j++)
            memcpy(names + j * w, p->coord_names[j], strlen(p->coord_names[j]));
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, w);
        H5Tset_strpad(t, H5T_STR_NULLPAD);
        hsize_t hd = d;
        hid_t sp = H5Screate_simple(1, &hd, NULL);
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        hid_t ds = H5Dcreate2(f, "problem/x_names", t, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (ds < 0 || H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) < 0)
            st = bnm_fail(ctx, BNM_ERR_IO, "cannot write problem/x_names");
        if (ds >= 0)
            H5Dclose(ds);
        H5Pclose(lcpl);
        H5Sclose(sp);
        H5Tclose(t);
    }
    free(names);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, f, "problem/x_lo", 'd', 1, &d, p->lo);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, f, "problem/x_hi", 'd', 1, &d, p->hi);
    return st;
}

static bnm_status write_runs_h5(bnm_context *ctx, const bnm_opt_problem *p,
                                const bnm_opt_config *cfg, opt_runstate *runs, size_t n_runs)
{
    char *tmp = join(cfg->outdir, ".runs.h5.tmp"), *fin = join(cfg->outdir, "runs.h5");
    bnm_status st = BNM_OK;
    if (!tmp || !fin) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto done;
    }
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot create the file", tmp);
        goto done;
    }
    char created[32] = "";
    time_t now = time(NULL);
    struct tm tmv;
    if (gmtime_r(&now, &tmv))
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    int32_t complete = 1;
    st = opt_h5_attr_str(ctx, f, "clbnm_version", bnm_version());
    if (st == BNM_OK)
        st = opt_h5_attr_str(ctx, f, "model", cfg->model ? cfg->model : p->run->model);
    if (st == BNM_OK)
        st = opt_h5_attr_str(ctx, f, "model_source", cfg->model_source);
    if (st == BNM_OK)
        st = opt_h5_attr_str(ctx, f, "device", cfg->device);
    if (st == BNM_OK)
        st = opt_h5_attr_str(ctx, f, "precision", cfg->precision);
    if (st == BNM_OK)
        st = opt_h5_attr_str(ctx, f, "run_file", p->run->text);
    if (st == BNM_OK)
        st = opt_h5_attr_str(ctx, f, "created", created);
    if (st == BNM_OK)
        st = opt_h5_attr_num(ctx, f, "complete", 'i', &complete);
    if (st == BNM_OK)
        st = write_problem(ctx, f, p);
    for (size_t k = 0; k < n_runs && st == BNM_OK; k++) {
        char path[64];
        snprintf(path, sizeof path, "runs/%zu", k);
        hid_t g = opt_h5_group(ctx, f, path);
        if (g < 0) {
            st = BNM_ERR_IO;
            break;
        }
        size_t subject;
        bnm_opt_problem_run_info(p, k, &subject, NULL, NULL);
        st = write_run_attrs(ctx, g, p, k, &runs[k]);
        if (st == BNM_OK)
            st = write_history(ctx, g, p, &runs[k].h);
        if (st == BNM_OK)
            st = write_best(ctx, g, p, k, &runs[k], p->run->subjects[subject].id);
        H5Gclose(g);
    }
    if (H5Fclose(f) < 0 && st == BNM_OK)
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot close the file", tmp);
    if (st == BNM_OK && opt_rename_durable(tmp, fin) != 0)
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot rename to %s", tmp, fin);
    if (st != BNM_OK) {
        remove(tmp);
        bnm_context_append(ctx, " (writing %s)", fin);
    }
done:
    free(tmp);
    free(fin);
    return st;
}

static bnm_status write_csv(bnm_context *ctx, const bnm_opt_problem *p, const char *outdir,
                            size_t k, const opt_history *h)
{
    char name[64];
    snprintf(name, sizeof name, "history_%zu.csv", k);
    char *fin = join(outdir, name);
    size_t tl = fin ? strlen(fin) + 8 : 0;
    char *tmp = fin ? malloc(tl) : NULL;
    if (!fin || !tmp) {
        free(fin);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, tl, "%s.tmp", fin);
    bnm_status st = BNM_OK;
    FILE *fp = fopen(tmp, "w");
    if (!fp) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot create the file", tmp);
        goto done;
    }
    fputs("generation,particle,cost,gof", fp);
    for (unsigned t = 0; t < BNM_FIT_N_TERMS; t++)
        if (term_on(p, t))
            fprintf(fp, ",%s", term_name(t));
    for (size_t j = 0; j < p->dim; j++)
        fprintf(fp, ",%s", p->coord_names[j]);
    fputc('\n', fp);
    for (size_t r = 0; r < h->rows; r++) {
        fprintf(fp, "%d,%d,%.17g,%.17g", (int)h->generation[r], (int)h->particle[r],
                h->cost[r], h->gof[r]);
        for (unsigned t = 0; t < BNM_FIT_N_TERMS; t++)
            if (term_on(p, t))
                fprintf(fp, ",%.17g", h->scores[r * BNM_FIT_N_TERMS + t]);
        for (size_t j = 0; j < p->dim; j++)
            fprintf(fp, ",%.17g", opt_coord_value(p, j, h->x[r * p->dim + j]));
        fputc('\n', fp);
    }
    if (fclose(fp) != 0 || opt_rename_durable(tmp, fin) != 0) {
        remove(tmp);
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot write the file", fin);
    }
done:
    free(tmp);
    free(fin);
    return st;
}

bnm_status opt_write_outputs(bnm_context *ctx, const bnm_opt_problem *p,
                             const bnm_opt_config *cfg, opt_runstate *runs, size_t n_runs)
{
    bnm_status st = write_runs_h5(ctx, p, cfg, runs, n_runs);
    for (size_t k = 0; k < n_runs && st == BNM_OK; k++)
        st = write_csv(ctx, p, cfg->outdir, k, &runs[k].h);
    return st;
}
