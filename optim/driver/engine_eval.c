/* The engine as the driver's evaluator (clbnm/optimize.h): generation batches through
 * bnm_engine_simulate_list, the best re-run as one simulate run per particle so the
 * engine writes its whole output file. */
#include <math.h>
#include <string.h>

#include "clbnm/log.h"
#include "opt_internal.h"

typedef struct rerun_one {
    const bnm_opt_batch *b;
    size_t q;
    const bnm_engine_options *user_opts;
} rerun_one;

static bnm_status collect_rerun(bnm_context *ctx, const bnm_engine_batch_view *v, void *user)
{
    rerun_one *r = user;
    const bnm_opt_batch *b = r->b;
    /* A one-simulation run has exactly one batch of one. */
    if (v->n != 1 || v->first != 0)
        return bnm_fail(ctx, BNM_ERR_INTERNAL, "best re-run: the engine returned simulations "
                        "[%llu, %llu) of a one-simulation run",
                        (unsigned long long)v->first, (unsigned long long)(v->first + v->n));
    for (unsigned t = 0; t < BNM_FIT_N_TERMS; t++)
        b->scores[r->q * BNM_FIT_N_TERMS + t] = v->scores ? v->scores[t] : NAN;
    b->fic_penalty[r->q] = v->fic_penalty ? v->fic_penalty[0] : 0.0;
    b->diverged[r->q] = v->diverged[0];
    if (!r->user_opts->on_batch)
        return BNM_OK;
    bnm_engine_batch_view w = *v;
    w.first = r->q; /* the particle's index in the driver's batch, as in a list */
    return r->user_opts->on_batch(ctx, &w, r->user_opts->user);
}

static void fill_cost(const bnm_run *run, const bnm_opt_batch *b)
{
    for (size_t q = 0; q < b->n; q++) {
        b->gof[q] = bnm_fit_gof(b->scores + q * BNM_FIT_N_TERMS, run->fit.terms);
        b->cost[q] = bnm_fit_cost(b->gof[q], b->fic_penalty[q]);
    }
}

bnm_status bnm_opt_engine_rerun(bnm_context *ctx, const bnm_run *run, const bnm_opt_batch *b,
                                const bnm_engine_options *opts)
{
    bnm_engine_options dflt;
    if (!opts) {
        bnm_engine_options_init_defaults(&dflt);
        opts = &dflt;
    }
    bnm_status st = BNM_OK;
    for (size_t q = 0; q < b->n && st == BNM_OK; q++) {
        bnm_run *one = NULL;
        st = bnm_run_derive_one(ctx, run, b->subject[q], b->seed[q], b->n_params,
                                b->param_names, b->param_regional, b->n_nodes,
                                b->values + q * b->n_params * b->n_nodes, &one);
        if (st != BNM_OK)
            break;
        rerun_one r = {b, q, opts};
        bnm_engine_options o = *opts;
        o.on_batch = collect_rerun;
        o.user = &r;
        st = bnm_engine_simulate(ctx, one, b->sim_out ? b->sim_out[q] : NULL, &o, NULL);
        bnm_run_destroy(one);
    }
    if (st == BNM_OK)
        fill_cost(run, b);
    return st;
}

bnm_status bnm_opt_engine_eval(bnm_context *ctx, const bnm_opt_batch *b, void *user)
{
    const bnm_opt_engine *e = user;
    if (!e || !e->run)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_opt_engine_eval: user must be a "
                        "bnm_opt_engine with its run");
    if (b->best_rerun)
        return bnm_opt_engine_rerun(ctx, e->run, b, &e->opts);
    bnm_engine_sim_list l = {
        .n = b->n, .subject = b->subject, .seed = b->seed, .n_params = b->n_params,
        .param_names = b->param_names, .param_regional = b->param_regional,
        .n_nodes = b->n_nodes, .values = b->values,
    };
    bnm_engine_list_results r = {b->scores, b->fic_penalty, b->diverged};
    bnm_engine_stats stats;
    memset(&stats, 0, sizeof stats);
    bnm_status st = bnm_engine_simulate_list(ctx, e->run, &l, &e->opts, &r, &stats);
    if (st != BNM_OK)
        return st;
    /* The engine is set up anew for every batch; this shows what that costs next to
     * the kernels ("other" also holds FC, FCD and scores on the host). */
    bnm_log_debug("optimize: batch of %zu simulations in %.3f s: kernels %.3f s, other %.3f s",
                  b->n, stats.wall_s, stats.kernel_s, stats.wall_s - stats.kernel_s);
    fill_cost(e->run, b);
    return BNM_OK;
}
