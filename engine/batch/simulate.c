/* bnm_engine_simulate: batches, launches, FC/FCD/scores and the streamed output. */
#include <inttypes.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "batch_internal.h"
#include "clbnm/engine.h"
#include "clbnm/h5out.h"
#include "clbnm/interp.h"
#include "clbnm/log.h"
#include "ir.h"
#include "progress.h"

void bnm_engine_options_init_defaults(bnm_engine_options *o)
{
    memset(o, 0, sizeof *o);
    o->precision = BNM_RUN_PRECISION_DEFAULT;
}

/* Everything one batch needs on the host, allocated once for the largest batch. */
typedef struct batch_bufs {
    size_t *subj;
    double *swept;
    uint64_t *seeds;
    uint32_t *noise;
    int *conn, *dmat_idx;
    double *delays;
    double *velocity;
    double *sim_params, *node_params, *states;
    double *bold, *vol, *samp, *sums, *lets;
    double *ts; /* [n_ts_vars][B][ts samples per launch][N] */
    uint8_t *diverged;
    bnm_sim_status *status;
    double *fc, *fcd, *ks, *scores, *row;
    const bnm_fit_emp **emp;
    int32_t *subj32;
    double *fic_p, *penalty;
    bool *fic_unstable;
    uint8_t *fic_failed;
    int32_t *fic_trials;
} batch_bufs;

static void bufs_free(batch_bufs *b)
{
    free(b->subj);
    free(b->swept);
    free(b->seeds);
    free(b->noise);
    free(b->conn);
    free(b->dmat_idx);
    free(b->delays);
    free(b->velocity);
    free(b->sim_params);
    free(b->node_params);
    free(b->states);
    free(b->bold);
    free(b->vol);
    free(b->samp);
    free(b->sums);
    free(b->lets);
    free(b->ts);
    free(b->diverged);
    free(b->status);
    free(b->fc);
    free(b->fcd);
    free(b->ks);
    free(b->scores);
    free(b->row);
    free(b->emp);
    free(b->subj32);
    free(b->fic_p);
    free(b->penalty);
    free(b->fic_unstable);
    free(b->fic_failed);
    free(b->fic_trials);
}

/* Sizes that decide the batch size (engine.h documents the formula). */
typedef struct sizes {
    size_t N, ns, nt, hl, nc, nsp, nnp, nq, nsw, n_vol, n_pairs, n_fcd, vcap, scap, rsize;
    size_t nts, tscap; /* states_ts variables, samples of each per launch */
} sizes;

static uint64_t host_bytes_per_sim(const sizes *z, bool per_sim_delays)
{
    uint64_t b = 8 * z->N * (z->n_vol + 2 * z->ns + z->nq + z->vcap + z->scap * z->ns +
                             z->nnp + 1 + z->nts * z->tscap);
    b += 8 * (z->n_pairs + z->n_fcd + z->nsp + z->nsw + 16);
    if (per_sim_delays)
        b += 8 * z->N * z->N;
    return b;
}

static uint64_t dev_bytes_per_sim(const sizes *z, bool per_sim_delays)
{
    uint64_t b = (uint64_t)z->rsize * z->N *
                     (z->ns + z->nt * z->hl + z->nc + z->nnp + 8 + z->vcap + z->scap * z->ns) +
                 z->rsize * z->nsp + 8 + 12 + 16;
    if (per_sim_delays)
        b += 4 * z->N * z->N;
    return b;
}

/* Largest single buffer per simulation (the delay history or the sample buffer). */
static uint64_t max_buf_per_sim(const sizes *z)
{
    uint64_t h = (uint64_t)z->rsize * z->N * z->nt * z->hl;
    uint64_t s = (uint64_t)z->rsize * z->N * z->scap * z->ns;
    uint64_t v = (uint64_t)z->rsize * z->N * z->vcap;
    return h > s ? (h > v ? h : v) : (s > v ? s : v);
}

/* Upper bound of the delay-history length from the longest tract and the slowest
 * velocity (the exact value is the launcher's; this only sizes batches). */
static size_t hist_bound(const job *j)
{
    if (!j->delays)
        return 1;
    double lmax = 0;
    for (size_t s = 0; s < j->n_subj; s++)
        for (size_t k = 0; k < (size_t)j->N * (size_t)j->N; k++)
            if (j->subj[s].lengths[k] > lmax)
                lmax = j->subj[s].lengths[k];
    double vmin = j->velocity;
    if (j->velocity_swept) {
        const bnm_run_sweep *sw = &j->run->sweep;
        vmin = INFINITY;
        for (size_t k = 0; k < sw->n_params; k++)
            if (strcmp(sw->params[k].name, "velocity") == 0)
                vmin = fmin(sw->params[k].lo, sw->params[k].hi);
        if (!(vmin > 0))
            vmin = 1e-3;
    }
    double steps = lmax / vmin * j->time_per_ms / j->dt;
    return (size_t)fmin(steps + 2, 1e9);
}

static void model_hash(const bnm_model_ir *ir, char out[65])
{
    struct sha256_ctx h;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&h);
    sha256_update(&h, ir->source_len, (const uint8_t *)ir->source);
    sha256_digest(&h, sizeof d, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Score term names without their sign: datasets scores/fc_corr, scores/fcd_ks, ... */
static const char *term_dataset(unsigned t)
{
    const char *n = bnm_fit_term_name(t);
    return n + 1;
}

typedef struct engine {
    const bnm_run *run;
    job j;
    bnm_cl *cl;
    bnm_program_cache *cache;
    bnm_fused *fk;
    bnm_model_kernel *fic_k; /* iterative FIC trials; NULL without them */
    bnm_fic_config fic_it;   /* the iterative record with the run's overrides */
    bnm_interp *ip;
    bnm_h5_writer *w;
    const bnm_model_abi *abi;
    sizes z;
    batch_bufs b;
    uint64_t B, L;
    uint64_t samp_every;   /* BW steps between the kernel's state samples (0: none) */
    int *ts_kind, *ts_index; /* per states_ts variable: 0 state / 1 let, its index */
    bool ts_needs_lets;
    bnm_progress prog;
    bnm_engine_stats *stats;
    const bnm_engine_options *opts;
    /* Several devices (engine_run_devices): each worker is a copy of the primary
     * engine with its own device, kernel, interpreter and buffers; what they share
     * (writer, progress, stats, callback) is touched under *lock. NULL: one device. */
    pthread_mutex_t *lock;
    double *done_units;
    bnm_progress *progp; /* the primary engine's prog */
} engine;

static void engine_lock(const engine *e)
{
    if (e->lock)
        pthread_mutex_lock(e->lock);
}

static void engine_unlock(const engine *e)
{
    if (e->lock)
        pthread_mutex_unlock(e->lock);
}

static size_t at_least_1(size_t n)
{
    return n ? n : 1;
}

static bnm_status alloc_bufs(bnm_context *ctx, engine *e)
{
    batch_bufs *b = &e->b;
    const sizes *z = &e->z;
    size_t B = (size_t)e->B, N = z->N;
#define A(p, n) ((p) = calloc(at_least_1((size_t)(n)), sizeof *(p)), (p) != NULL)
    bool ok = A(b->subj, B) && A(b->swept, B * z->nsw) && A(b->seeds, B) && A(b->noise, B) &&
              A(b->conn, B) && A(b->dmat_idx, B) && A(b->velocity, B) &&
              A(b->sim_params, B * z->nsp) && A(b->node_params, B * z->nnp * N) &&
              A(b->states, B * z->ns * N) && A(b->bold, B * z->n_vol * N) &&
              A(b->vol, B * z->vcap * N) && A(b->samp, B * z->scap * z->ns * N) &&
              A(b->sums, B * z->nq * N) && A(b->diverged, B) && A(b->status, B) &&
              A(b->fc, B * z->n_pairs) && A(b->fcd, B * z->n_fcd) && A(b->ks, B) &&
              A(b->scores, B * BNM_FIT_N_TERMS) && A(b->row, B * N) && A(b->emp, B) &&
              A(b->subj32, B) && A(b->fic_p, B * N) && A(b->penalty, B) &&
              A(b->fic_unstable, B) && A(b->fic_failed, B) && A(b->fic_trials, B);
    if (ok && (e->j.mean_needs_lets || e->ts_needs_lets))
        ok = A(b->lets, (size_t)e->j.ir->n_lets * N);
    if (ok && z->nts)
        ok = A(b->ts, z->nts * B * z->tscap * N);
    if (ok && e->j.delays)
        ok = A(b->delays, (e->j.velocity_swept ? B : e->j.n_subj) * N * N);
#undef A
    if (!ok)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for a batch of %zu simulations", B);
    return BNM_OK;
}

static void fill_delays(const job *j, const double *lengths, double v, double *out)
{
    size_t NN = (size_t)j->N * (size_t)j->N;
    /* mm / (m/s) = mm / (mm/ms) = ms, then into the model's time unit */
    for (size_t k = 0; k < NN; k++)
        out[k] = lengths[k] / v * j->time_per_ms;
}

/* Hands a finished batch to the caller's callback and the writer (under the engine's
 * lock when several devices run). */
static bnm_status publish_batch(bnm_context *ctx, engine *e, uint64_t first, size_t n)
{
    const bnm_run *run = e->run;
    const job *j = &e->j;
    const sizes *z = &e->z;
    batch_bufs *b = &e->b;
    size_t N = z->N;
    bnm_status st;
    for (size_t s = 0; s < n; s++)
        e->stats->n_diverged += b->diverged[s];
    if (e->opts->on_batch) {
        bnm_engine_batch_view v;
        memset(&v, 0, sizeof v);
        v.first = first;
        v.n = n;
        v.n_vol = z->n_vol;
        v.n_nodes = N;
        v.bold = b->bold;
        v.states_mean = b->sums;
        v.n_states_mean = z->nq; /* the run's names first, then internal ones */
        v.diverged = b->diverged;
        v.fc = j->want_fit ? b->fc : NULL;
        v.n_pairs = z->n_pairs;
        v.fcd = j->fcd_on ? b->fcd : NULL;
        v.n_fcd = z->n_fcd;
        v.scores = j->any_emp ? b->scores : NULL;
        v.fic_penalty = b->penalty;
        if ((st = e->opts->on_batch(ctx, &v, e->opts->user)) != BNM_OK)
            return st;
    }
    if (!e->w)
        return BNM_OK;
    bnm_h5_writer *w = e->w;
#define W(name, type, data)                                                                     \
    do {                                                                                        \
        if ((st = bnm_h5_writer_write_rows(ctx, w, name, (size_t)first, n, type, data)) !=     \
            BNM_OK)                                                                             \
            return st;                                                                          \
    } while (0)
    if (run->outputs.bold)
        W("bold", BNM_H5_F64, b->bold);
    if (run->outputs.fc)
        W("fc", BNM_H5_F64, b->fc);
    if (run->outputs.fcd && j->fcd_on)
        W("fcd", BNM_H5_F64, b->fcd);
    W("status/diverged", BNM_H5_U8, b->diverged);
    W("sims/seed", BNM_H5_U64, b->seeds);
    if ((st = bnm_h5_writer_write_subjects(ctx, w, (size_t)first, n, b->subj32)) != BNM_OK)
        return st;
    char name[300];
    for (size_t q = 0; q < run->outputs.n_states_mean; q++) {
        for (size_t s = 0; s < n; s++)
            memcpy(b->row + s * N, b->sums + (s * z->nq + q) * N, N * sizeof(double));
        snprintf(name, sizeof name, "states_mean/%s", run->outputs.states_mean[q]);
        W(name, BNM_H5_F64, b->row);
    }
    if (j->any_emp) {
        unsigned terms = run->fit.terms;
        for (unsigned t = 0; t < BNM_FIT_N_TERMS; t++) {
            if (!(terms & (1u << t)))
                continue;
            for (size_t s = 0; s < n; s++)
                b->row[s] = b->scores[s * BNM_FIT_N_TERMS + t];
            snprintf(name, sizeof name, "scores/%s", term_dataset(t));
            W(name, BNM_H5_F64, b->row);
        }
        for (size_t s = 0; s < n; s++)
            b->row[s] = b->emp[s] ? bnm_fit_gof(b->scores + s * BNM_FIT_N_TERMS, terms) : NAN;
        W("scores/gof", BNM_H5_F64, b->row);
        for (size_t s = 0; s < n; s++)
            b->row[s] = bnm_fit_cost(b->row[s], b->penalty[s]);
        W("scores/cost", BNM_H5_F64, b->row);
        W("scores/fic_penalty", BNM_H5_F64, b->penalty);
    }
    if (j->fic_on) {
        W("fic/failed", BNM_H5_U8, b->fic_failed);
        W("fic/trials", BNM_H5_I32, b->fic_trials);
    }
    for (size_t k = 0; k < j->n_params; k++) {
        const job_param *jp = &j->params[k];
        snprintf(name, sizeof name, "params/%s", jp->name);
        if (jp->kind == JP_NODE) {
            for (size_t s = 0; s < n; s++)
                memcpy(b->row + s * N, jp->node_values, N * sizeof(double));
        } else if (jp->kind == JP_FIC) {
            memcpy(b->row, b->fic_p, n * N * sizeof(double));
        } else {
            for (size_t s = 0; s < n; s++)
                b->row[s] = jp->kind == JP_SWEPT ? b->swept[s * z->nsw + jp->col] : jp->value;
        }
        W(name, BNM_H5_F64, b->row);
    }
#undef W
    return BNM_OK;
}

/* Runs simulations [first, first + n) and writes their rows. */
static bnm_status run_batch(bnm_context *ctx, engine *e, uint64_t first, size_t n,
                            const double *weights, double *done_units)
{
    const bnm_run *run = e->run;
    const job *j = &e->j;
    const sizes *z = &e->z;
    batch_bufs *b = &e->b;
    size_t N = z->N;
    bnm_status st;
    const bnm_engine_sim_list *list = j->list;
    if (list) {
        memcpy(b->swept, list->values + first * z->nsw, n * z->nsw * sizeof *b->swept);
        for (size_t s = 0; s < n; s++) {
            b->subj[s] = list->subject[first + s];
            b->seeds[s] = list->seed[first + s];
        }
    } else {
        bnm_run_sims_chunk(run, first, n, b->subj, b->swept);
    }
    for (size_t s = 0; s < n; s++) {
        size_t sj;
        if (!list)
            bnm_run_sim_params(run, first + s, &sj, &b->seeds[s], NULL);
        uint64_t g = first + s;
        /* A list's simulations draw noise from their seed only, so a simulation's result
         * does not depend on its position in the list (optimize batches). */
        b->noise[s] = !list && run->noise_sharing == BNM_NOISE_PER_SIMULATION ? (uint32_t)g : 0;
        b->conn[s] = (int)b->subj[s];
        b->subj32[s] = (int32_t)b->subj[s];
        b->emp[s] = j->subj[b->subj[s]].emp;
        job_fill_params(j, e->abi, b->swept + s * z->nsw, b->sim_params + s * z->nsp,
                        b->node_params + s * z->nnp * N, &b->velocity[s]);
    }
    bnm_model_data d;
    memset(&d, 0, sizeof d);
    d.n_sims = (int)n;
    d.n_nodes = (int)N;
    d.dt = j->dt;
    d.t0 = 0;
    d.n_connectomes = (int)j->n_subj;
    d.weights = weights;
    d.conn_index = b->conn;
    d.seeds = b->seeds;
    d.noise_ids = b->noise;
    d.sim_params = z->nsp ? b->sim_params : NULL;
    d.node_params = z->nnp ? b->node_params : NULL;
    if (j->delays) {
        size_t NN = N * N;
        if (j->velocity_swept) {
            for (size_t s = 0; s < n; s++) {
                if (!(b->velocity[s] > 0))
                    return bnm_fail(ctx, BNM_ERR_RUN, "%s: simulation %" PRIu64
                                    " has velocity %g: it must be > 0 m/s",
                                    run->path, first + s, b->velocity[s]);
                fill_delays(j, j->subj[b->subj[s]].lengths, b->velocity[s], b->delays + s * NN);
                b->dmat_idx[s] = (int)s;
            }
            d.n_delay_mats = (int)n;
        } else {
            for (size_t s = 0; s < j->n_subj; s++)
                fill_delays(j, j->subj[s].lengths, j->velocity, b->delays + s * NN);
            for (size_t s = 0; s < n; s++)
                b->dmat_idx[s] = (int)b->subj[s];
            d.n_delay_mats = (int)j->n_subj;
        }
        d.delays = b->delays;
        d.delay_index = b->dmat_idx;
    }
    bool fic_iter = j->fic_on && e->fic_k;
    if (j->fic_on) {
        /* steady-state FIC (models.md 1.5-1.6): the controlled param per node, per sim;
         * fic.method iterative starts from the block's fallback instead (nmm-format.md
         * 11.1) */
        if (run->fic.method == BNM_RUN_FIC_STEADY_STATE) {
            if ((st = bnm_fic_steady_state(ctx, j->ir, &j->spec, &d, &j->fic_cfg, b->fic_p,
                                           b->fic_unstable, NULL)) != BNM_OK)
                return st;
        } else {
            for (size_t k = 0; k < n * N; k++)
                b->fic_p[k] = j->fic_cfg.fallback;
            for (size_t s = 0; s < n; s++)
                b->fic_unstable[s] = false;
        }
        if ((st = bnm_fic_write_param(ctx, j->ir, e->abi, (int)n, (int)N, b->fic_p,
                                      b->node_params)) != BNM_OK)
            return st;
        for (size_t s = 0; s < n; s++) {
            b->fic_failed[s] = b->fic_unstable[s] ? 1 : 0;
            b->fic_trials[s] = 0;
        }
    }
    if ((st = bnm_model_initial_states(ctx, j->ir, &j->spec, &d, b->states)) != BNM_OK)
        return st;
    d.states = b->states;
    if (fic_iter) {
        /* Iterative FIC (models.md 1.7): restart-and-adjust trials over [0, END] on the
         * plain model kernel, each trial simulating only the simulations still adjusting
         * (a converged or exhausted one drops out; none waits in the kernel for the
         * slowest). Every trial replays the noise from step 1, so the final run below,
         * from t = 0 with the final P, is the last trial continued to the end. */
        bool *failed = (bool *)b->diverged; /* scratch until the run sets it */
        _Static_assert(sizeof(bool) == sizeof(uint8_t), "bool scratch in a uint8_t buffer");
        int *trials = (int *)b->fic_trials;
        _Static_assert(sizeof(int) == sizeof(int32_t), "int scratch in an int32_t buffer");
        double t0 = bnm_now_s();
        st = bnm_fic_iterative_run(ctx, e->fic_k, j->ir, &d, &e->fic_it, b->fic_p, trials,
                                   failed, NULL);
        e->stats->kernel_s += bnm_now_s() - t0;
        if (st != BNM_OK)
            return st;
        for (size_t s = 0; s < n; s++)
            /* the trials' verdict is final: a fixed point the steady-state check flagged
             * fails only if the trials did not bring it into the band */
            b->fic_failed[s] = failed[s] ? 1 : 0;
        if ((st = bnm_fic_write_param(ctx, j->ir, e->abi, (int)n, (int)N, b->fic_p,
                                      b->node_params)) != BNM_OK)
            return st;
    }
    if ((st = bnm_fused_set_data(ctx, e->fk, &d, e->L)) != BNM_OK)
        return st;
    if (e->ip && (st = bnm_interp_set_data(ctx, e->ip, &d)) != BNM_OK)
        return st;
    uint64_t dev = bnm_fused_device_bytes(e->fk);
    engine_lock(e);
    if (dev > e->stats->peak_device_bytes)
        e->stats->peak_device_bytes = dev;
    engine_unlock(e);
    const bnm_run_counts *c = &run->counts;
    memset(b->sums, 0, n * z->nq * N * sizeof *b->sums);
    /* model time of BW step kb */
    double t_bw = (double)run->bw_dt_ns / (double)BNM_NS_PER_MS * j->time_per_ms;
    double per_launch_units = (double)n * (double)N * (double)c->n_inner;
    const uint64_t every = e->samp_every, bps = (uint64_t)c->bw_per_samp;
    const uint64_t bpt = (uint64_t)c->bw_per_ts;
    for (uint64_t kb = 0; kb < (uint64_t)c->n_bw; kb += e->L) {
        uint64_t nb = (uint64_t)c->n_bw - kb < e->L ? (uint64_t)c->n_bw - kb : e->L;
        uint64_t nv = 0, nsm = 0;
        uint64_t vbase = kb / (uint64_t)c->bw_per_vol;
        uint64_t sbase = every ? kb / every : 0;
        /* states_ts samples u0 .. u0 + nts_l - 1 end in this launch (analysis.md 4.4) */
        uint64_t u0 = z->nts ? kb / bpt : 0, u1 = z->nts ? (kb + nb) / bpt : 0;
        if (u1 > (uint64_t)c->n_ts)
            u1 = (uint64_t)c->n_ts;
        uint64_t nts_l = u1 > u0 ? u1 - u0 : 0;
        double t0 = bnm_now_s();
        st = bnm_fused_run(ctx, e->fk, kb, nb, b->vol, &nv, every ? b->samp : NULL,
                           every ? &nsm : NULL);
        engine_lock(e);
        e->stats->kernel_s += bnm_now_s() - t0;
        engine_unlock(e);
        if (st != BNM_OK)
            return st;
        if (e->opts->cancel && *e->opts->cancel)
            return bnm_fail(ctx, BNM_ERR_CANCELLED,
                            "%s: cancelled at %.1f of %.1f simulated seconds; no output written",
                            run->path, (double)(kb + nb) * (double)run->bw_dt_ns / 1e9,
                            (double)run->duration_ns / 1e9);
        for (size_t s = 0; s < n; s++)
            for (uint64_t v = 0; v < nv && vbase + v < (uint64_t)c->n_vol; v++)
                memcpy(b->bold + (s * z->n_vol + vbase + v) * N, b->vol + (s * nv + v) * N,
                       N * sizeof(double));
        for (uint64_t t = 0; t < nsm; t++) {
            uint64_t kbs = (sbase + t + 1) * every; /* the sample's BW step */
            uint64_t g = z->nq && kbs % bps == 0 ? kbs / bps - 1 : UINT64_MAX;
            bool mean = g != UINT64_MAX && g >= (uint64_t)c->n_rm_s && g < (uint64_t)c->n_samp;
            uint64_t u = z->nts && kbs % bpt == 0 ? kbs / bpt - 1 : UINT64_MAX;
            bool ts = u != UINT64_MAX && u >= u0 && u < u1;
            if (!mean && !ts)
                continue;
            for (size_t s = 0; s < n; s++) {
                const double *x = b->samp + (s * nsm + t) * z->ns * N;
                if (((mean && j->mean_needs_lets) || (ts && e->ts_needs_lets)) &&
                    (st = bnm_interp_eval(ctx, e->ip, (int)s, x, (double)kbs * t_bw, NULL,
                                          b->lets)) != BNM_OK)
                    return st;
                for (size_t q = 0; mean && q < z->nq; q++) {
                    const double *src = j->mean_kind[q] == 0 ? x + (size_t)j->mean_index[q] * N
                                                             : b->lets + (size_t)j->mean_index[q] * N;
                    double *dst = b->sums + (s * z->nq + q) * N;
                    for (size_t i = 0; i < N; i++)
                        dst[i] += src[i];
                }
                for (size_t q = 0; ts && q < z->nts; q++) {
                    const double *src = e->ts_kind[q] == 0 ? x + (size_t)e->ts_index[q] * N
                                                           : b->lets + (size_t)e->ts_index[q] * N;
                    memcpy(b->ts + ((q * n + s) * nts_l + (u - u0)) * N, src, N * sizeof(double));
                }
            }
        }
        engine_lock(e);
        for (size_t q = 0; e->w && q < z->nts && nts_l > 0 && st == BNM_OK; q++) {
            char name[300];
            snprintf(name, sizeof name, "states_ts/%s", run->outputs.states_ts[q]);
            st = bnm_h5_writer_write_block(ctx, e->w, name, (size_t)first, n, (size_t)u0,
                                           (size_t)nts_l, BNM_H5_F64, b->ts + q * n * nts_l * N);
        }
        *done_units += per_launch_units * (double)nb;
        bnm_progress_update(e->progp, *done_units, (double)first + (double)n * (double)(kb + nb) /
                                                       (double)c->n_bw,
                            (double)(j->list ? j->list->n : bnm_run_n_sims(run)));
        engine_unlock(e);
        if (st != BNM_OK)
            return st;
    }
    if ((st = bnm_fused_read_status(ctx, e->fk, b->status)) != BNM_OK)
        return st;
    for (size_t s = 0; s < n; s++)
        b->diverged[s] = b->status[s].nonfinite ? 1 : 0;
    double nmean = (double)(c->n_samp - c->n_rm_s);
    for (size_t k = 0; k < n * z->nq * N; k++)
        b->sums[k] /= nmean;
    for (size_t s = 0; s < n; s++)
        b->penalty[s] = j->penalty_q >= 0
                            ? bnm_fic_penalty(b->sums + (s * z->nq + (size_t)j->penalty_q) * N,
                                              (int)N, run->fic.penalty_scale)
                            : 0.0;
    /* FC, FCD, scores (analysis.md 5-8) */
    for (size_t k = 0; k < n * BNM_FIT_N_TERMS; k++)
        b->scores[k] = NAN;
    if (j->want_fit) {
        bnm_fit_batch fb;
        memset(&fb, 0, sizeof fb);
        fb.n_sims = n;
        fb.n_vol = z->n_vol;
        fb.n_nodes = N;
        fb.n_rm = (size_t)c->n_rm;
        fb.pairs = &j->pairs;
        fb.windows = j->fcd_on ? &j->windows : NULL;
        fb.bold_host = b->bold;
        fb.emp = j->any_emp ? b->emp : NULL;
        fb.diverged = b->diverged;
        if ((st = bnm_fit_host_run(ctx, &fb, b->fc, j->fcd_on ? b->fcd : NULL, b->ks,
                                   j->any_emp ? b->scores : NULL)) != BNM_OK)
            return st;
    }
    engine_lock(e);
    st = publish_batch(ctx, e, first, n);
    engine_unlock(e);
    return st;
}

static bnm_status open_writer(bnm_context *ctx, engine *e, const char *out_path,
                              const char *precision)
{
    const bnm_run *run = e->run;
    const job *j = &e->j;
    bnm_status st = BNM_OK;
    const char **subj_ids = calloc(j->n_subj, sizeof *subj_ids);
    const char **terms = calloc(BNM_FIT_N_TERMS, sizeof *terms);
    bnm_h5_param *hp = calloc(j->n_params + 1, sizeof *hp);
    if (!subj_ids || !terms || !hp) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t s = 0; s < j->n_subj; s++)
        subj_ids[s] = j->subj[s].id;
    size_t nt = 0;
    for (unsigned t = 0; t < BNM_FIT_N_TERMS; t++)
        if (run->fit.terms & (1u << t))
            terms[nt++] = term_dataset(t);
    for (size_t k = 0; k < j->n_params; k++) {
        hp[k].name = j->params[k].name;
        hp[k].regional = j->params[k].kind == JP_NODE || j->params[k].kind == JP_FIC;
    }
    char hash[65];
    model_hash(j->ir, hash);
    bnm_h5_layout l;
    bnm_h5_layout_init_defaults(&l);
    l.n_sims = (size_t)bnm_run_n_sims(run);
    l.n_nodes = (size_t)j->N;
    l.bold = run->outputs.bold;
    l.n_vols = (size_t)run->counts.n_vol;
    l.fc = run->outputs.fc;
    l.exc_interhemispheric = run->fit.exc_interhemispheric;
    l.fcd = run->outputs.fcd && j->fcd_on;
    l.n_fcd_windows = l.fcd ? bnm_fcd_window_count(&j->windows, (size_t)run->counts.n_vol,
                                                   (size_t)run->counts.n_rm)
                            : 0;
    if (e->z.nts) {
        l.states_ts = (const char *const *)run->outputs.states_ts;
        l.n_states_ts = e->z.nts;
        l.n_ts_samples = (size_t)run->counts.n_ts;
        /* launches of whole sample intervals write equal blocks: one chunk each */
        l.ts_block = e->L % (uint64_t)run->counts.bw_per_ts == 0
                         ? (size_t)(e->L / (uint64_t)run->counts.bw_per_ts) : 0;
    }
    l.states_mean = (const char *const *)run->outputs.states_mean;
    l.n_states_mean = run->outputs.n_states_mean;
    l.scores = j->any_emp;
    l.fic = j->fic_on;
    l.score_terms = terms;
    l.n_score_terms = nt;
    l.params = hp;
    l.n_params = j->n_params;
    l.subject_ids = subj_ids;
    l.n_subjects = j->n_subj;
    l.model = j->ir->name;
    l.model_source = j->ir->source;
    l.model_hash = hash;
    l.device = bnm_cl_device(e->cl)->name;
    l.precision = precision;
    l.run_file = run->text;
    if ((st = bnm_h5_writer_create(ctx, out_path, &l, &e->w)) != BNM_OK)
        goto done;
    size_t N = (size_t)j->N, dims[2] = {N, N};
    char path[512];
    for (size_t s = 0; s < j->n_subj && st == BNM_OK; s++) {
        snprintf(path, sizeof path, "subjects/%s/sc", j->subj[s].id);
        st = bnm_h5_writer_write_array(ctx, e->w, path, 2, dims, BNM_H5_F64, j->subj[s].sc);
        if (st == BNM_OK && j->subj[s].lengths) {
            snprintf(path, sizeof path, "subjects/%s/lengths", j->subj[s].id);
            st = bnm_h5_writer_write_array(ctx, e->w, path, 2, dims, BNM_H5_F64,
                                           j->subj[s].lengths);
        }
        if (st == BNM_OK && j->subj[s].emp) {
            size_t nfc = 0, nfcd = 0;
            const double *fc = bnm_fit_emp_fc(j->subj[s].emp, &nfc);
            const double *fcd = bnm_fit_emp_fcd(j->subj[s].emp, &nfcd);
            snprintf(path, sizeof path, "subjects/%s/emp_fc", j->subj[s].id);
            if (nfc)
                st = bnm_h5_writer_write_array(ctx, e->w, path, 1, &nfc, BNM_H5_F64, fc);
            snprintf(path, sizeof path, "subjects/%s/emp_fcd", j->subj[s].id);
            if (st == BNM_OK && nfcd)
                st = bnm_h5_writer_write_array(ctx, e->w, path, 1, &nfcd, BNM_H5_F64, fcd);
        }
    }
done:
    free(subj_ids);
    free(terms);
    free(hp);
    return st;
}

/* The iterative FIC's kernel and keys: the model's iterative record, then the run's
 * fic.max_trials, fic.init_delta and fic.sampling (models.md 1.5, 1.7), sampled every
 * bw_dt (models.md 1.7 step 1). */
static bnm_status prepare_fic_iterative(bnm_context *ctx, engine *e)
{
    const bnm_run *run = e->run;
    const job *j = &e->j;
    bnm_status st;
    if (j->delays)
        return bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                        "%s:%d:%d: error: iterative FIC (fic.max_trials > 0 or fic.method "
                        "iterative) does not run with delays yet: drop the subjects' lengths "
                        "or set fic.max_trials: 0",
                        run->path, run->fic.loc.line, run->fic.loc.col);
    if ((st = bnm_fic_config_from_model(ctx, j->ir, BNM_FIC_METHOD_ITERATIVE, &e->fic_it)) !=
        BNM_OK)
        return st;
    double per_ms = j->time_per_ms;
    if (run->fic.max_trials > 0)
        e->fic_it.max_trials = run->fic.max_trials > 1000000 ? 1000000 : (int)run->fic.max_trials;
    e->fic_it.step = run->fic.init_delta;
    e->fic_it.window_lo = (double)run->fic.sampling_start_ns / (double)BNM_NS_PER_MS * per_ms;
    e->fic_it.window_hi = (double)run->fic.sampling_end_ns / (double)BNM_NS_PER_MS * per_ms;
    e->fic_it.sample = (double)run->bw_dt_ns / (double)BNM_NS_PER_MS * per_ms;
    if ((st = bnm_model_kernel_create(ctx, e->cl, e->cache, j->ir, &j->spec, &e->fic_k)) != BNM_OK)
        return st;
    const bnm_model_abi *a = bnm_model_kernel_abi(e->fic_k);
    if (a->n_sim_params != e->abi->n_sim_params || a->n_node_params != e->abi->n_node_params)
        return bnm_fail(ctx, BNM_ERR_INTERNAL, "iterative FIC: the model kernel's parameter "
                        "layout differs from the fused kernel's (report this bug)");
    return BNM_OK;
}

/* opts->device may name several devices, comma-separated ("0:0,1:0"); *sels gets
 * copies (caller frees each and the array); none or an empty list: one default. */
static bnm_status split_devices(bnm_context *ctx, const char *list, char ***sels, size_t *n)
{
    *sels = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *c = list; c && *c; c++)
        cap += *c == ',';
    char **v = calloc(cap, sizeof *v);
    if (!v)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    if (!list || !*list) {
        *sels = v; /* v[0] = NULL: the default device */
        *n = 1;
        return BNM_OK;
    }
    const char *p = list;
    for (size_t k = 0; k < cap; k++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            for (size_t q = 0; q < k; q++)
                free(v[q]);
            free(v);
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                            "--device '%s': an empty name in the list (use SEL or SEL,SEL,...)",
                            list);
        }
        v[k] = strndup(p, len);
        if (!v[k]) {
            for (size_t q = 0; q < k; q++)
                free(v[q]);
            free(v);
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        }
        p = e ? e + 1 : p + len;
    }
    *sels = v;
    *n = cap;
    return BNM_OK;
}

/* One device's share of a multi-device run: batches taken from a shared counter. */
typedef struct worker {
    engine e;
    bnm_context *ctx;
    pthread_t thread;
    bool started;
    bnm_status st;
    const double *weights;
    uint64_t *next, n_sims;
    bool *stop;
} worker;

static void *worker_main(void *p)
{
    worker *w = p;
    engine *e = &w->e;
    for (;;) {
        pthread_mutex_lock(e->lock);
        uint64_t first = *w->next;
        bool quit = *w->stop || first >= w->n_sims;
        if (!quit)
            *w->next += e->B;
        pthread_mutex_unlock(e->lock);
        if (quit)
            break;
        size_t n = (size_t)(w->n_sims - first < e->B ? w->n_sims - first : e->B);
        w->st = run_batch(w->ctx, e, first, n, w->weights, e->done_units);
        pthread_mutex_lock(e->lock);
        if (w->st != BNM_OK)
            *w->stop = true;
        else
            e->stats->n_batches++;
        pthread_mutex_unlock(e->lock);
        if (w->st != BNM_OK)
            break;
    }
    return NULL;
}

/* A worker's own device, kernel (same spec and configuration), interpreter and
 * buffers; everything else is the primary engine's. */
static bnm_status worker_setup(bnm_context *ctx, worker *w, const engine *primary,
                               const char *sel, const bnm_fused_config *fc)
{
    w->e = *primary;
    w->e.cl = NULL;
    w->e.cache = NULL;
    w->e.fk = NULL;
    w->e.ip = NULL;
    w->e.fic_k = NULL;
    memset(&w->e.b, 0, sizeof w->e.b);
    bnm_status st = bnm_context_create(&w->ctx);
    if (st != BNM_OK)
        return bnm_fail(ctx, st, "out of memory");
    if ((st = bnm_cl_create_selected(ctx, sel, &w->e.cl)) != BNM_OK)
        return st;
    const bnm_device_info *dev = bnm_cl_device(w->e.cl);
    if (primary->stats->dbl && !dev->fp64)
        return bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                        "device '%s' has no double precision (cl_khr_fp64): use --precision "
                        "float or leave it out of the --device list",
                        dev->name);
    bnm_cache_config cc;
    bnm_cache_config_init_defaults(&cc);
    cc.dir = primary->opts->cache_dir;
    if ((st = bnm_program_cache_create(ctx, &cc, &w->e.cache)) != BNM_OK ||
        (st = bnm_fused_create(ctx, w->e.cl, w->e.cache, primary->j.ir, &primary->j.spec, fc,
                               &w->e.fk)) != BNM_OK)
        return st;
    if (primary->ip && (st = bnm_interp_create(ctx, primary->j.ir, &primary->j.spec,
                                               &w->e.ip)) != BNM_OK)
        return st;
    if (primary->fic_k && (st = bnm_model_kernel_create(ctx, w->e.cl, w->e.cache, primary->j.ir,
                                                        &primary->j.spec, &w->e.fic_k)) != BNM_OK)
        return st;
    return alloc_bufs(ctx, &w->e);
}

static void worker_free(worker *w)
{
    bufs_free(&w->e.b);
    bnm_interp_destroy(w->e.ip);
    bnm_model_kernel_destroy(w->e.fic_k);
    bnm_fused_destroy(w->e.fk);
    bnm_program_cache_destroy(w->e.cache);
    bnm_cl_destroy(w->e.cl);
    bnm_context_destroy(w->ctx);
}

/* Runs every batch on the primary engine and the workers together; the first failure
 * stops the others and is reported with its device's message. */
static bnm_status run_devices(bnm_context *ctx, engine *e, worker *wk, size_t n_dev,
                              uint64_t n_sims, const double *weights)
{
    pthread_mutex_t lock;
    pthread_mutex_init(&lock, NULL);
    uint64_t next = 0;
    bool stop = false;
    e->lock = &lock;
    /* worker 0 is the primary engine itself */
    wk[0].e = *e;
    wk[0].ctx = ctx;
    for (size_t k = 0; k < n_dev; k++) {
        wk[k].e.lock = &lock;
        wk[k].e.done_units = e->done_units;
        wk[k].weights = weights;
        wk[k].next = &next;
        wk[k].n_sims = n_sims;
        wk[k].stop = &stop;
        wk[k].st = BNM_OK;
    }
    for (size_t k = 1; k < n_dev; k++)
        wk[k].started = pthread_create(&wk[k].thread, NULL, worker_main, &wk[k]) == 0;
    worker_main(&wk[0]);
    for (size_t k = 1; k < n_dev; k++)
        if (wk[k].started)
            pthread_join(wk[k].thread, NULL);
    e->lock = NULL;
    pthread_mutex_destroy(&lock);
    bnm_status st = wk[0].st;
    for (size_t k = 1; k < n_dev && st == BNM_OK; k++) {
        if (!wk[k].started)
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "could not start a thread for device '%s'",
                          bnm_cl_device(wk[k].e.cl)->name);
        else if (wk[k].st != BNM_OK)
            st = bnm_fail(ctx, wk[k].st, "%s", bnm_context_message(wk[k].ctx));
    }
    return st;
}

static bnm_precision pick_precision(const bnm_run *run, const bnm_engine_options *o)
{
    bnm_run_precision p = o->precision != BNM_RUN_PRECISION_DEFAULT ? o->precision : run->precision;
    return p == BNM_RUN_PRECISION_DOUBLE ? BNM_PRECISION_DOUBLE : BNM_PRECISION_FLOAT;
}

bnm_status bnm_engine_simulate(bnm_context *ctx, const bnm_run *run, const char *out_path,
                               const bnm_engine_options *opts, bnm_engine_stats *stats)
{
    return engine_run(ctx, run, out_path, opts, stats, NULL);
}

bnm_status engine_run(bnm_context *ctx, const bnm_run *run, const char *out_path,
                      const bnm_engine_options *opts, bnm_engine_stats *stats,
                      const bnm_engine_sim_list *list)
{
    bnm_engine_options defo;
    if (!opts) {
        bnm_engine_options_init_defaults(&defo);
        opts = &defo;
    }
    bnm_engine_stats local_stats;
    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    double t_start = bnm_now_s();
    engine e;
    memset(&e, 0, sizeof e);
    e.run = run;
    e.stats = stats;
    e.opts = opts;
    double *weights = NULL;
    char **sels = NULL;
    size_t n_dev = 0;
    worker *wk = NULL;
    bnm_precision prec = pick_precision(run, opts);
    bnm_status st = job_prepare_list(ctx, run, prec, list, &e.j);
    if (st != BNM_OK)
        return st;
    const job *j = &e.j;
    const bnm_run_counts *c = &run->counts;
    if (j->n_mean > 0 && c->n_samp <= c->n_rm_s) {
        st = bnm_fail(ctx, BNM_ERR_RUN,
                      "%s: outputs.states_mean: bold_remove leaves no state sample to average "
                      "(%lld samples, %lld removed)",
                      run->path, (long long)c->n_samp, (long long)c->n_rm_s);
        goto done;
    }
    if (c->n_inner > UINT32_MAX || c->bw_per_vol > UINT32_MAX || c->bw_per_samp > UINT32_MAX) {
        st = bnm_fail(ctx, BNM_ERR_RUN, "%s: step ratios too large", run->path);
        goto done;
    }
    uint64_t n_sims = list ? list->n : bnm_run_n_sims(run);
    if (list && (list->n_nodes != (size_t)j->N || out_path)) {
        st = bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: a simulation list needs %d nodes per "
                      "value row (got %zu) and no output file", run->path, j->N, list->n_nodes);
        goto done;
    }
    for (size_t s = 0; list && s < list->n; s++)
        if (list->subject[s] >= j->n_subj) {
            st = bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: simulation %zu names subject %zu of "
                          "%zu", run->path, s, list->subject[s], j->n_subj);
            goto done;
        }
    if (n_sims == 0) {
        st = bnm_fail(ctx, BNM_ERR_RUN, "%s: the run describes no simulation", run->path);
        goto done;
    }
    if (run->noise_sharing == BNM_NOISE_PER_SIMULATION && n_sims > UINT32_MAX) {
        st = bnm_fail(ctx, BNM_ERR_RUN, "%s: noise_sharing per_simulation supports at most "
                      "2^32 simulations", run->path);
        goto done;
    }
    if ((st = split_devices(ctx, opts->device, &sels, &n_dev)) != BNM_OK)
        goto done;
    if ((st = bnm_cl_create_selected(ctx, sels[0], &e.cl)) != BNM_OK)
        goto done;
    const bnm_device_info *dev = bnm_cl_device(e.cl);
    snprintf(stats->device, sizeof stats->device, "%s", dev->name);
    stats->dbl = prec == BNM_PRECISION_DOUBLE;
    if (stats->dbl && !dev->fp64) {
        st = bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                      "device '%s' has no double precision (cl_khr_fp64): use --precision "
                      "float or choose another device",
                      dev->name);
        goto done;
    }
    bnm_cache_config cc;
    bnm_cache_config_init_defaults(&cc);
    cc.dir = opts->cache_dir;
    if ((st = bnm_program_cache_create(ctx, &cc, &e.cache)) != BNM_OK)
        goto done;
    bnm_fused_config fc;
    memset(&fc, 0, sizeof fc);
    fc.mode = run->bold_mode;
    if ((st = bnm_bold_coeffs_lookup(ctx, run->bold_params_name, &fc.coeffs)) != BNM_OK)
        goto done;
    fc.bw_h = (double)run->bw_dt_ns / (double)BNM_NS_PER_S;
    fc.n_inner = (uint32_t)c->n_inner;
    fc.bw_per_vol = (uint32_t)c->bw_per_vol;
    /* One sample stream serves the averages and the time series: every gcd of the two
     * intervals, each taking the samples that fall on its own grid. */
    {
        uint64_t a = j->n_mean ? (uint64_t)c->bw_per_samp : 0;
        uint64_t bt = out_path && run->outputs.n_states_ts ? (uint64_t)c->bw_per_ts : 0;
        while (bt) {
            uint64_t r = a % bt;
            a = bt;
            bt = r;
        }
        e.samp_every = a;
    }
    fc.bw_per_samp = (uint32_t)e.samp_every;
    if (out_path && run->outputs.n_states_ts) {
        size_t nv = run->outputs.n_states_ts;
        e.ts_kind = calloc(nv, sizeof *e.ts_kind);
        e.ts_index = calloc(nv, sizeof *e.ts_index);
        if (!e.ts_kind || !e.ts_index) {
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t q = 0; q < nv; q++) {
            const char *name = run->outputs.states_ts[q];
            e.ts_kind[q] = -1;
            for (int k = 0; k < j->ir->n_states && e.ts_kind[q] < 0; k++)
                if (strcmp(j->ir->states[k].name, name) == 0) {
                    e.ts_kind[q] = 0;
                    e.ts_index[q] = k;
                }
            for (int k = 0; k < j->ir->n_lets && e.ts_kind[q] < 0; k++)
                if (strcmp(j->ir->lets[k].name, name) == 0) {
                    e.ts_kind[q] = 1;
                    e.ts_index[q] = k;
                    e.ts_needs_lets = true;
                }
            if (e.ts_kind[q] < 0) {
                st = bnm_fail(ctx, BNM_ERR_RUN,
                              "%s: outputs.states_ts: '%s' is not a state or let of model %s",
                              run->path, name, j->ir->name);
                goto done;
            }
        }
    }
    if ((st = bnm_fused_create(ctx, e.cl, e.cache, j->ir, &j->spec, &fc, &e.fk)) != BNM_OK)
        goto done;
    e.abi = bnm_fused_abi(e.fk);
    if (j->fic_on && (run->fic.method == BNM_RUN_FIC_ITERATIVE || run->fic.max_trials > 0) &&
        (st = prepare_fic_iterative(ctx, &e)) != BNM_OK)
        goto done;
    if ((j->mean_needs_lets || e.ts_needs_lets) &&
        (st = bnm_interp_create(ctx, j->ir, &j->spec, &e.ip)) != BNM_OK)
        goto done;
    /* Batch size and launch length. */
    sizes *z = &e.z;
    z->N = (size_t)j->N;
    z->ns = (size_t)j->ir->n_states;
    z->nt = (size_t)j->ir->n_transmit;
    z->hl = hist_bound(j);
    z->nc = (size_t)bnm_fused_node_cache(e.fk);
    z->nsp = (size_t)e.abi->n_sim_params;
    z->nnp = (size_t)e.abi->n_node_params;
    z->nq = j->n_mean;
    z->nsw = list ? list->n_params * z->N : bnm_run_n_swept(run);
    z->n_vol = (size_t)c->n_vol;
    z->n_pairs = j->want_fit ? j->pairs.n_pairs : 0;
    z->n_fcd = j->fcd_on ? j->n_fcd : 0;
    z->rsize = stats->dbl ? 8 : 4;
    uint64_t L = opts->max_launch_bw;
    if (L == 0) {
        /* About 2e8 node-steps per launch (~1 s on a CPU), fewer for small jobs. */
        double per_bw = (double)(n_sims < 4096 ? n_sims : 4096) * (double)z->N * (double)c->n_inner;
        L = (uint64_t)fmax(1.0, 2e8 / per_bw);
    }
    if (L > (uint64_t)c->n_bw)
        L = (uint64_t)c->n_bw;
    if (L * (uint64_t)c->n_inner > 0x40000000u)
        L = 0x40000000u / (uint64_t)c->n_inner;
    if (L == 0)
        L = 1;
    e.L = L;
    z->vcap = (size_t)(L / (uint64_t)c->bw_per_vol + 1);
    z->scap = fc.bw_per_samp ? (size_t)(L / fc.bw_per_samp + 1) : 0;
    z->nts = e.ts_kind ? run->outputs.n_states_ts : 0;
    z->tscap = z->nts ? (size_t)(L / (uint64_t)c->bw_per_ts + 1) : 0;
    uint64_t host_budget = opts->host_budget_bytes ? opts->host_budget_bytes : (256u << 20);
    uint64_t dev_budget = opts->device_budget_bytes ? opts->device_budget_bytes
                                                    : dev->global_mem_bytes / 4;
    uint64_t B = n_sims;
    uint64_t hb = host_bytes_per_sim(z, j->velocity_swept);
    uint64_t db = dev_bytes_per_sim(z, j->velocity_swept);
    uint64_t mb = max_buf_per_sim(z);
    if (host_budget / hb < B)
        B = host_budget / hb;
    if (dev_budget / db < B)
        B = dev_budget / db;
    if (mb && dev->max_alloc_bytes / mb < B)
        B = dev->max_alloc_bytes / mb;
    /* On a CPU, device buffers are host memory and a batch beyond a few dozen
     * work-groups per core buys no speed: cap it so memory stays flat in the job size. */
    uint64_t cpu_cap = (uint64_t)(dev->compute_units ? dev->compute_units : 1) * 16 * 32;
    if (dev->kind == BNM_DEVICE_CPU && cpu_cap < B)
        B = cpu_cap;
    if (opts->max_batch && opts->max_batch < B)
        B = opts->max_batch;
    if (B > INT32_MAX / 2)
        B = INT32_MAX / 2;
    if (B == 0) {
        st = bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                      "device '%s': one simulation needs %" PRIu64 " bytes of device memory "
                      "and %" PRIu64 " of host memory, more than the budgets (%" PRIu64
                      ", %" PRIu64 ")",
                      dev->name, db, hb, dev_budget, host_budget);
        goto done;
    }
    e.B = B;
    stats->batch_size = B;
    bnm_log_info("%s: %" PRIu64 " simulations in batches of %" PRIu64 ", %" PRIu64
                 " BW steps per launch",
                 run->path, n_sims, B, L);
    if ((st = alloc_bufs(ctx, &e)) != BNM_OK)
        goto done;
    size_t NN = z->N * z->N;
    weights = malloc(j->n_subj * NN * sizeof *weights);
    if (!weights) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t s = 0; s < j->n_subj; s++)
        memcpy(weights + s * NN, j->subj[s].sc, NN * sizeof *weights);
    if (out_path && (st = open_writer(ctx, &e, out_path, stats->dbl ? "double" : "float")) != BNM_OK)
        goto done;
    double total = (double)n_sims * (double)z->N * (double)c->n_steps, done_units = 0;
    e.done_units = &done_units;
    e.progp = &e.prog;
    if (n_dev > 1) {
        /* every further device: its own kernel and buffers, batches of the same size */
        if (!(wk = calloc(n_dev, sizeof *wk))) {
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 1; k < n_dev; k++)
            if ((st = worker_setup(ctx, &wk[k], &e, sels[k], &fc)) != BNM_OK)
                goto done;
        size_t o = strlen(stats->device);
        for (size_t k = 1; k < n_dev && o + 3 < sizeof stats->device; k++)
            o += (size_t)snprintf(stats->device + o, sizeof stats->device - o, ", %s",
                                  bnm_cl_device(wk[k].e.cl)->name);
        bnm_log_info("%s: %zu devices share the batches: %s", run->path, n_dev, stats->device);
    }
    bnm_progress_init(&e.prog, opts->progress, total, "simulate");
    if (n_dev > 1) {
        if ((st = run_devices(ctx, &e, wk, n_dev, n_sims, weights)) != BNM_OK)
            goto done;
    } else {
        for (uint64_t first = 0; first < n_sims; first += B) {
            size_t n = (size_t)(n_sims - first < B ? n_sims - first : B);
            if ((st = run_batch(ctx, &e, first, n, weights, &done_units)) != BNM_OK)
                goto done;
            stats->n_batches++;
        }
    }
    bnm_progress_end(&e.prog);
    if (e.w && (st = bnm_h5_writer_commit(ctx, e.w)) != BNM_OK)
        goto done;
    stats->n_sims = n_sims;
    stats->n_nodes = j->N;
    stats->simulated_s = (double)run->duration_ns / (double)BNM_NS_PER_S;
    stats->node_steps = total;
done:
    if (st != BNM_OK)
        bnm_progress_end(&e.prog);
    stats->wall_s = bnm_now_s() - t_start;
    free(weights);
    bnm_h5_writer_destroy(e.w); /* uncommitted: removes the temporary file */
    for (size_t k = 1; wk && k < n_dev; k++)
        worker_free(&wk[k]);
    free(wk);
    for (size_t k = 0; sels && k < n_dev; k++)
        free(sels[k]);
    free(sels);
    bufs_free(&e.b);
    free(e.ts_kind);
    free(e.ts_index);
    bnm_interp_destroy(e.ip);
    bnm_model_kernel_destroy(e.fic_k);
    bnm_fused_destroy(e.fk);
    bnm_program_cache_destroy(e.cache);
    bnm_cl_destroy(e.cl);
    job_free(&e.j);
    return st;
}
