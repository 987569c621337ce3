/* FIC configuration from the model's fic block, and P's place in the batch data. */
#include <stddef.h>

#include "clbnm/fic.h"
#include "ir.h"

int bnm_fic_param_index(const struct bnm_model_ir *ir)
{
    return ir && ir->fic ? ir->fic->param : -1;
}

bnm_status bnm_fic_config_from_model(bnm_context *ctx, const struct bnm_model_ir *ir,
                                     bnm_fic_method method, bnm_fic_config *cfg)
{
    if (!ir || !cfg)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "FIC config: model and output are required");
    if (!ir->fic)
        return bnm_fail(ctx, BNM_ERR_RUN, "model '%s' has no fic block", ir->name);
    const bnm_ir_fic_method_rec *r =
        method == BNM_FIC_METHOD_STEADY_STATE ? &ir->fic->steady_state : &ir->fic->iterative;
    if (!r->present)
        return bnm_fail(ctx, BNM_ERR_RUN, "model '%s': its fic block (line %d) has no %s record",
                        ir->name, ir->fic->line,
                        method == BNM_FIC_METHOD_STEADY_STATE ? "steady_state" : "iterative");
    cfg->method = method;
    cfg->increasing = ir->fic->increasing;
    cfg->target = r->target;
    cfg->range_lo = r->range_lo;
    cfg->range_hi = r->range_hi;
    cfg->fallback = r->fallback;
    cfg->tol = r->tol;
    cfg->window_lo = r->window_lo;
    cfg->window_hi = r->window_hi;
    cfg->sample = r->sample;
    cfg->step = r->step;
    cfg->step_min = r->step_min;
    cfg->shrink = r->shrink;
    cfg->max_trials = r->max_trials;
    cfg->solve_tol = r->solve_tol;
    cfg->max_iter = r->max_iter;
    cfg->avg_time = 0.0;
    return BNM_OK;
}

bnm_status bnm_fic_write_param(bnm_context *ctx, const struct bnm_model_ir *ir,
                               const bnm_model_abi *abi, int n_sims, int n_nodes,
                               const double *p, double *node_params)
{
    int pi = bnm_fic_param_index(ir);
    if (pi < 0)
        return bnm_fail(ctx, BNM_ERR_RUN, "model '%s' has no fic block", ir->name);
    const bnm_abi_entry *e = bnm_model_abi_find(abi, BNM_ABI_PARAM, ir->params[pi].name);
    if (!e || e->node_slot < 0)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "FIC sets '%s' per node: the run must make it per_node (nmm-format.md 11.1)",
                        ir->params[pi].name);
    size_t N = (size_t)n_nodes;
    for (size_t s = 0; s < (size_t)n_sims; s++)
        for (size_t i = 0; i < N; i++)
            node_params[(s * (size_t)abi->n_node_params + (size_t)e->node_slot) * N + i] =
                p[s * N + i];
    return BNM_OK;
}
