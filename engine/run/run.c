/* Run description lifetime and the checks that need the model or the connectome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void bnm_run_destroy(bnm_run *run)
{
    if (!run)
        return;
    free(run->path);
    free(run->base_dir);
    free(run->text);
    free(run->model);
    free(run->integrator);
    for (size_t i = 0; i < run->n_subjects; i++) {
        bnm_run_subject *s = &run->subjects[i];
        free(s->id);
        free(s->sc);
        free(s->lengths);
        free(s->bold);
    }
    free(run->subjects);
    for (size_t i = 0; i < run->n_params; i++) {
        free(run->params[i].name);
        free(run->params[i].values);
    }
    free(run->params);
    for (size_t i = 0; i < run->sweep.n_params; i++)
        free(run->sweep.params[i].name);
    free(run->sweep.params);
    free(run->sweep.table_path);
    free_names(run->outputs.states_mean, run->outputs.n_states_mean);
    free_names(run->outputs.states_ts, run->outputs.n_states_ts);
    for (size_t i = 0; i < run->n_free; i++)
        free(run->free_params[i].name);
    free(run->free_params);
    for (size_t i = 0; i < run->n_hetero; i++) {
        bnm_run_hetero *h = &run->hetero[i];
        free(h->name);
        free(h->groups);
        free_names(h->maps, h->n_maps);
        free(h->maps_loc);
    }
    free(run->hetero);
    free(run->optimizer.method);
    free(run->optimizer.seeds);
    free(run->table_values_);
    free(run);
}

static bool known(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

static bnm_status unknown(bnm_context *ctx, const bnm_run *run, bnm_run_loc loc,
                          const char *kind, const char *name, const char *where,
                          const char *const *names, size_t n)
{
    char list[700], hint[800];
    run_join(list, sizeof list, names, n);
    snprintf(hint, sizeof hint, "model '%s' has %ss: %s", run->model, kind, list);
    const char *best = run_did_you_mean(name, names, n);
    if (best)
        return run_error(ctx, run->path, loc, hint, "unknown %s '%s' in '%s' (did you mean '%s'?)",
                         kind, name, where, best);
    return run_error(ctx, run->path, loc, hint, "unknown %s '%s' in '%s'", kind, name, where);
}

static bnm_status check_param(bnm_context *ctx, const bnm_run *run, bnm_run_loc loc,
                              const char *name, const char *where, const char *const *names,
                              size_t n)
{
    if (strcmp(name, "velocity") == 0 || known(name, names, n))
        return BNM_OK;
    return unknown(ctx, run, loc, "parameter", name, where, names, n);
}

bnm_status bnm_run_check_model(bnm_context *ctx, const bnm_run *run,
                               const char *const *param_names, size_t n_param_names,
                               const char *const *var_names, size_t n_var_names)
{
    if (!run || (n_param_names && !param_names))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_run_check_model: NULL argument");
    bnm_status st;
    for (size_t i = 0; i < run->n_params; i++)
        if ((st = check_param(ctx, run, run->params[i].loc, run->params[i].name, "params",
                              param_names, n_param_names)))
            return st;
    static const char *const sweep_where[] = {"sweep", "sweep.grid", "sweep.random",
                                              "sweep.table"};
    for (size_t i = 0; i < bnm_run_n_swept(run); i++)
        if ((st = check_param(ctx, run, run->sweep.params[i].loc, run->sweep.params[i].name,
                              sweep_where[run->sweep.kind], param_names, n_param_names)))
            return st;
    for (size_t i = 0; i < run->n_free; i++)
        if ((st = check_param(ctx, run, run->free_params[i].loc, run->free_params[i].name, "free",
                              param_names, n_param_names)))
            return st;
    for (size_t i = 0; i < run->n_hetero; i++)
        if ((st = check_param(ctx, run, run->hetero[i].loc, run->hetero[i].name, "heterogeneous",
                              param_names, n_param_names)))
            return st;
    if (!var_names)
        return BNM_OK;
    const bnm_run_outputs *o = &run->outputs;
    for (size_t i = 0; i < o->n_states_mean; i++)
        if (!known(o->states_mean[i], var_names, n_var_names))
            return unknown(ctx, run, o->states_mean_loc, "variable", o->states_mean[i],
                           "outputs.states_mean", var_names, n_var_names);
    for (size_t i = 0; i < o->n_states_ts; i++)
        if (!known(o->states_ts[i], var_names, n_var_names))
            return unknown(ctx, run, o->states_ts_loc, "variable", o->states_ts[i],
                           "outputs.states_ts.vars", var_names, n_var_names);
    return BNM_OK;
}

bnm_status bnm_run_check_nodes(bnm_context *ctx, const bnm_run *run, size_t n_nodes)
{
    if (!run)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_run_check_nodes: NULL argument");
    if (run->fit.exc_interhemispheric && n_nodes % 2)
        return run_error(ctx, run->path, run->fit.exc_loc,
                         "nodes 0..N/2-1 and N/2..N-1 are taken as the two hemispheres, so N "
                         "must be even",
                         "fit.exc_interhemispheric needs an even number of nodes, the "
                         "connectome has %zu",
                         n_nodes);
    for (size_t i = 0; i < run->n_hetero; i++) {
        const bnm_run_hetero *h = &run->hetero[i];
        if (h->symmetric && n_nodes % 2)
            return run_error(ctx, run->path, h->symmetric_loc,
                             "node i and node i + N/2 are taken as mirror images (left "
                             "hemisphere first, right in the same order), so N must be even; "
                             "for another node order give groups with one label per mirrored "
                             "pair and no symmetric",
                             "heterogeneous.%s.symmetric needs an even number of nodes, the "
                             "connectome has %zu",
                             h->name, n_nodes);
    }
    for (size_t i = 0; i < run->n_params; i++) {
        const bnm_run_param *p = &run->params[i];
        if (p->per_node && p->n_values != n_nodes)
            return run_error(ctx, run->path, p->loc,
                             "give one number for every node, or a single number for all",
                             "params.%s has %zu value%s, the connectome has %zu nodes", p->name,
                             p->n_values, p->n_values == 1 ? "" : "s", n_nodes);
    }
    return BNM_OK;
}
