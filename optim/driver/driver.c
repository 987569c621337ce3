/* The job loop of clbnm/optimize.h: every active run asks, one callback batch evaluates
 * all of them, every run tells, then the checkpoint is rewritten. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clbnm/log.h"
#include "opt_internal.h"

void bnm_opt_config_init_defaults(bnm_opt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

bnm_status opt_history_reserve(bnm_context *ctx, opt_history *h, size_t d, size_t rows)
{
    if (rows <= h->cap)
        return BNM_OK;
    size_t cap = h->cap ? h->cap : 64;
    while (cap < rows)
        cap *= 2;
#define GROW_(field, per)                                                                  \
    do {                                                                                   \
        void *q_ = realloc(h->field, cap * (per) * sizeof *h->field);                      \
        if (!q_)                                                                           \
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (optimisation history)");   \
        h->field = q_;                                                                     \
    } while (0)
    GROW_(x, d);
    GROW_(cost, 1);
    GROW_(gof, 1);
    GROW_(fic, 1);
    GROW_(scores, BNM_FIT_N_TERMS);
    GROW_(diverged, 1);
    GROW_(generation, 1);
    GROW_(particle, 1);
#undef GROW_
    h->cap = cap;
    return BNM_OK;
}

void opt_history_free(opt_history *h)
{
    free(h->x);
    free(h->cost);
    free(h->gof);
    free(h->fic);
    free(h->scores);
    free(h->diverged);
    free(h->generation);
    free(h->particle);
    memset(h, 0, sizeof *h);
}

size_t opt_history_best(const opt_history *h)
{
    size_t best = 0;
    double bc = INFINITY;
    for (size_t r = 0; r < h->rows; r++)
        if (h->cost[r] < bc) {
            bc = h->cost[r];
            best = r;
        }
    return best;
}

/* Buffers of one batch, sized for every run at once. */
typedef struct batch_buf {
    size_t *run, *subject;
    uint64_t *seed;
    double *x, *values, *cost, *gof, *scores, *fic;
    uint8_t *diverged;
} batch_buf;

static void batch_free(batch_buf *b)
{
    free(b->run);
    free(b->subject);
    free(b->seed);
    free(b->x);
    free(b->values);
    free(b->cost);
    free(b->gof);
    free(b->scores);
    free(b->fic);
    free(b->diverged);
}

static bool batch_alloc(batch_buf *b, size_t np, size_t d, size_t n_par, size_t n)
{
    memset(b, 0, sizeof *b);
    b->run = malloc(np * sizeof *b->run);
    b->subject = malloc(np * sizeof *b->subject);
    b->seed = malloc(np * sizeof *b->seed);
    b->x = malloc(np * d * sizeof *b->x);
    b->values = malloc(np * n_par * n * sizeof *b->values);
    b->cost = malloc(np * sizeof *b->cost);
    b->gof = malloc(np * sizeof *b->gof);
    b->scores = malloc(np * BNM_FIT_N_TERMS * sizeof *b->scores);
    b->fic = malloc(np * sizeof *b->fic);
    b->diverged = malloc(np * sizeof *b->diverged);
    return b->run && b->subject && b->seed && b->x && b->values && b->cost && b->gof &&
           b->scores && b->fic && b->diverged;
}

/* Fills the per-particle inputs of particles [0, np) from b->x and calls the callback. */
static bnm_status evaluate(bnm_context *ctx, const bnm_opt_problem *p, const bnm_opt_config *cfg,
                           batch_buf *b, size_t np, bool best_rerun, char **sim_out)
{
    size_t d = p->dim, n = p->n_nodes, n_par = p->n_entries;
    for (size_t i = 0; i < np; i++) {
        bnm_opt_problem_run_info(p, b->run[i], &b->subject[i], NULL, &b->seed[i]);
        bnm_opt_problem_map(p, b->x + i * d, b->values + i * n_par * n);
        b->cost[i] = b->gof[i] = b->fic[i] = NAN;
        for (size_t t = 0; t < BNM_FIT_N_TERMS; t++)
            b->scores[i * BNM_FIT_N_TERMS + t] = NAN;
        b->diverged[i] = 0;
    }
    bnm_opt_batch batch = {
        .n = np, .n_nodes = n, .n_params = n_par,
        .param_names = (const char *const *)p->param_names, .param_regional = p->regional,
        .run = b->run, .subject = b->subject, .seed = b->seed, .values = b->values,
        .best_rerun = best_rerun, .cost = b->cost, .gof = b->gof, .scores = b->scores,
        .fic_penalty = b->fic, .diverged = b->diverged,
        .sim_out = (const char *const *)sim_out,
    };
    bnm_status st = cfg->eval(ctx, &batch, cfg->user);
    if (st != BNM_OK && bnm_context_status(ctx) == BNM_OK)
        bnm_fail(ctx, st, "the evaluation callback failed (%s)", bnm_status_name(st));
    return st;
}

static bnm_status create_runs(bnm_context *ctx, const bnm_opt_problem *p, opt_runstate *runs,
                              size_t n_runs)
{
    const bnm_run_optimizer *o = &p->run->optimizer;
    for (size_t k = 0; k < n_runs; k++) {
        uint64_t opt_seed, noise_seed;
        bnm_opt_problem_run_info(p, k, NULL, &opt_seed, &noise_seed);
        bnm_cmaes_config c;
        bnm_cmaes_config_init_defaults(&c);
        c.n = p->dim;
        c.popsize = (unsigned)o->popsize;
        c.sigma0 = o->sigma0;
        c.seed = bnm_opt_cmaes_seed(noise_seed, opt_seed);
        c.max_generations = (unsigned)o->generations;
        c.tolfun = o->tolfun;
        bnm_status st = bnm_cmaes_create(ctx, &c, &runs[k].es);
        if (st != BNM_OK)
            return st;
    }
    return BNM_OK;
}

static bnm_status make_outdir(bnm_context *ctx, const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
            return BNM_OK;
        return bnm_fail(ctx, BNM_ERR_IO, "%s: exists and is not a folder", dir);
    }
    return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot create the output folder: %s", dir,
                    strerror(errno));
}

/* One generation of every active run. *active receives how many were active. */
static bnm_status generation(bnm_context *ctx, const bnm_opt_problem *p,
                             const bnm_opt_config *cfg, opt_runstate *runs, size_t n_runs,
                             batch_buf *b, size_t *active)
{
    size_t d = p->dim, pop = (size_t)p->run->optimizer.popsize, np = 0;
    for (size_t k = 0; k < n_runs; k++) {
        if (bnm_cmaes_stopped(runs[k].es) != BNM_CMAES_RUNNING)
            continue;
        bnm_cmaes_ask(runs[k].es, b->x + np * d);
        for (size_t i = 0; i < pop; i++)
            b->run[np + i] = k;
        np += pop;
    }
    *active = np / pop;
    if (np == 0)
        return BNM_OK;
    bnm_status st = evaluate(ctx, p, cfg, b, np, false, NULL);
    if (st != BNM_OK)
        return st;
    for (size_t q = 0; q < np; q += pop) {
        opt_runstate *r = &runs[b->run[q]];
        opt_history *h = &r->h;
        if ((st = opt_history_reserve(ctx, h, d, h->rows + pop)) != BNM_OK)
            return st;
        int32_t gen = (int32_t)bnm_cmaes_generation(r->es);
        for (size_t i = 0; i < pop; i++) {
            size_t row = h->rows + i, src = q + i;
            memcpy(h->x + row * d, b->x + src * d, d * sizeof *h->x);
            h->cost[row] = b->cost[src];
            h->gof[row] = b->gof[src];
            h->fic[row] = b->fic[src];
            memcpy(h->scores + row * BNM_FIT_N_TERMS, b->scores + src * BNM_FIT_N_TERMS,
                   BNM_FIT_N_TERMS * sizeof *h->scores);
            h->diverged[row] = b->diverged[src];
            h->generation[row] = gen;
            h->particle[row] = (int32_t)i;
        }
        h->rows += pop;
        if ((st = bnm_cmaes_tell(ctx, r->es, b->cost + q)) != BNM_OK)
            return st;
        if (bnm_cmaes_stopped(r->es) != BNM_CMAES_RUNNING)
            bnm_log_info("optimize: run %zu stopped after %llu generations (%s), best cost %g",
                         b->run[q], (unsigned long long)bnm_cmaes_generation(r->es),
                         bnm_cmaes_stop_text(r->es), bnm_cmaes_best(r->es, NULL));
    }
    return BNM_OK;
}

/* OUTDIR/.best_sim_K.h5, malloc'd (NULL when out of memory). */
static char *best_sim_path(const char *outdir, size_t k)
{
    size_t len = strlen(outdir) + 48;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s/.best_sim_%zu.h5", outdir, k);
    return s;
}

static void best_sim_remove(opt_runstate *runs, size_t n_runs)
{
    for (size_t k = 0; k < n_runs; k++)
        if (runs[k].best_file)
            remove(runs[k].best_file);
}

static bnm_status best_rerun(bnm_context *ctx, const bnm_opt_problem *p,
                             const bnm_opt_config *cfg, opt_runstate *runs, size_t n_runs,
                             batch_buf *b)
{
    size_t d = p->dim;
    bnm_status st = BNM_OK;
    char **sim_out = calloc(n_runs, sizeof *sim_out);
    if (!sim_out)
        goto nomem;
    for (size_t k = 0; k < n_runs; k++) {
        size_t row = opt_history_best(&runs[k].h);
        memcpy(b->x + k * d, runs[k].h.x + row * d, d * sizeof *b->x);
        b->run[k] = k;
        if (!(runs[k].best_file = best_sim_path(cfg->outdir, k)))
            goto nomem;
        sim_out[k] = runs[k].best_file;
    }
    /* A file left by a job that died after its re-run must not pass for this one's. */
    best_sim_remove(runs, n_runs);
    st = evaluate(ctx, p, cfg, b, n_runs, true, sim_out);
    free(sim_out);
    if (st != BNM_OK)
        return st;
    for (size_t k = 0; k < n_runs; k++) {
        runs[k].best_cost = b->cost[k];
        runs[k].best_gof = b->gof[k];
        runs[k].best_fic = b->fic[k];
        memcpy(runs[k].best_scores, b->scores + k * BNM_FIT_N_TERMS,
               sizeof runs[k].best_scores);
        runs[k].best_diverged = b->diverged[k];
    }
    return BNM_OK;
nomem:
    free(sim_out);
    return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (best re-run)");
}

bnm_status bnm_optimize(bnm_context *ctx, const bnm_opt_problem *p, const bnm_opt_config *cfg)
{
    if (!p || !cfg || !cfg->outdir || !cfg->eval)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_optimize: missing problem, output "
                        "folder or evaluation callback");
    bnm_status st = make_outdir(ctx, cfg->outdir);
    if (st != BNM_OK)
        return st;
    size_t n_runs = bnm_opt_problem_n_runs(p), pop = (size_t)p->run->optimizer.popsize;
    opt_runstate *runs = calloc(n_runs, sizeof *runs);
    batch_buf b;
    if (!batch_alloc(&b, n_runs * pop, p->dim, p->n_entries, p->n_nodes) || !runs) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (optimisation batch)");
        goto done;
    }
    if (cfg->resume) {
        st = opt_checkpoint_read(ctx, p, cfg->outdir, runs, n_runs);
    } else {
        size_t len = strlen(cfg->outdir) + 32;
        char *ck = malloc(len);
        if (!ck) {
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
            goto done;
        }
        snprintf(ck, len, "%s/checkpoint.h5", cfg->outdir);
        bool exists = access(ck, F_OK) == 0;
        if (exists)
            st = bnm_fail(ctx, BNM_ERR_IO, "%s already exists: pass --resume to continue that "
                          "job, or choose another output folder", ck);
        free(ck);
        if (!exists)
            st = create_runs(ctx, p, runs, n_runs);
    }
    if (st != BNM_OK)
        goto done;
    for (;;) {
        size_t active = 0;
        if ((st = generation(ctx, p, cfg, runs, n_runs, &b, &active)) != BNM_OK)
            goto done;
        if (active == 0)
            break;
        bnm_log_debug("optimize: generation batch of %zu runs evaluated", active);
        if ((st = opt_checkpoint_write(ctx, p, cfg->outdir, runs, n_runs)) != BNM_OK)
            goto done;
    }
    if ((st = best_rerun(ctx, p, cfg, runs, n_runs, &b)) != BNM_OK)
        goto done;
    st = opt_write_outputs(ctx, p, cfg, runs, n_runs);
done:
    if (runs) {
        best_sim_remove(runs, n_runs);
        for (size_t k = 0; k < n_runs; k++) {
            bnm_cmaes_destroy(runs[k].es);
            opt_history_free(&runs[k].h);
            free(runs[k].best_file);
        }
    }
    free(runs);
    batch_free(&b);
    return st;
}
