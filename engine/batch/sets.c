/* An explicit list of simulations (clbnm optimize): the run file's model, data, times and
 * outputs, with each simulation's subject, seed and free param values given by the
 * caller. The engine's batching runs the list (engine_run with a list); results come back
 * through the batch callback into the caller's arrays. */
#include <math.h>
#include <string.h>

#include "batch_internal.h"
#include "clbnm/engine.h"
#include "clbnm/fit.h"

typedef struct list_ctx {
    bnm_engine_list_results *res;
    const bnm_engine_options *user_opts;
} list_ctx;

static bnm_status collect(bnm_context *ctx, const bnm_engine_batch_view *v, void *user)
{
    list_ctx *lc = user;
    bnm_engine_list_results *r = lc->res;
    for (size_t s = 0; s < v->n; s++) {
        size_t g = (size_t)v->first + s;
        for (unsigned t = 0; t < BNM_FIT_N_TERMS; t++)
            r->scores[g * BNM_FIT_N_TERMS + t] =
                v->scores ? v->scores[s * BNM_FIT_N_TERMS + t] : NAN;
        r->fic_penalty[g] = v->fic_penalty ? v->fic_penalty[s] : 0.0;
        r->diverged[g] = v->diverged[s];
    }
    if (lc->user_opts->on_batch)
        return lc->user_opts->on_batch(ctx, v, lc->user_opts->user);
    return BNM_OK;
}

bnm_status bnm_engine_simulate_list(bnm_context *ctx, const bnm_run *run,
                                    const bnm_engine_sim_list *list,
                                    const bnm_engine_options *opts,
                                    bnm_engine_list_results *res, bnm_engine_stats *stats)
{
    if (!run || !list || !res || !res->scores || !res->fic_penalty || !res->diverged ||
        (list->n && (!list->subject || !list->seed)) ||
        (list->n_params && (!list->param_names || !list->param_regional || !list->values)))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_engine_simulate_list: missing arrays");
    for (size_t k = 0; k < list->n_params; k++)
        if (strcmp(list->param_names[k], "velocity") == 0)
            return bnm_fail(ctx, BNM_ERR_UNSUPPORTED, "%s: velocity cannot be set per "
                            "simulation by an explicit list yet", run->path);
    bnm_engine_options o;
    if (opts)
        o = *opts;
    else
        bnm_engine_options_init_defaults(&o);
    list_ctx lc = {res, opts ? opts : &o};
    bnm_engine_options user = o;
    lc.user_opts = &user;
    o.on_batch = collect;
    o.user = &lc;
    return engine_run(ctx, run, NULL, &o, stats, list);
}
