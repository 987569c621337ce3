/* A one-simulation simulate run derived from an optimize run (clbnm/run.h,
 * bnm_run_derive_one): the best particle's re-run, written in full by the engine. */
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

/* All or nothing, so a failure leaves nothing for bnm_run_destroy to miscount. */
static bool dup_names(char **src, size_t n, char ***out)
{
    *out = NULL;
    if (n == 0)
        return true;
    char **v = calloc(n, sizeof *v);
    if (!v)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = run_strdup(src[i]))) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return false;
        }
    *out = v;
    return true;
}

/* Copies the scalar members and the owned strings and outputs of run into d (which
 * starts zeroed), without subjects, params, sweep and the optimize keys. */
static bool copy_base(bnm_run *d, const bnm_run *run)
{
    *d = *run;
    d->path = d->base_dir = d->text = d->model = d->integrator = NULL;
    d->subjects = NULL;
    d->n_subjects = 0;
    d->params = NULL;
    d->n_params = 0;
    memset(&d->sweep, 0, sizeof d->sweep);
    d->sweep.kind = BNM_SWEEP_NONE;
    d->outputs.states_mean = d->outputs.states_ts = NULL;
    d->outputs.n_states_mean = d->outputs.n_states_ts = 0;
    d->free_params = NULL;
    d->n_free = 0;
    d->hetero = NULL;
    d->n_hetero = 0;
    memset(&d->optimizer, 0, sizeof d->optimizer);
    d->has_optimizer = false;
    d->table_values_ = NULL;
    d->mode = BNM_RUN_MODE_SIMULATE;
    if ((run->path && !(d->path = run_strdup(run->path))) ||
        (run->base_dir && !(d->base_dir = run_strdup(run->base_dir))) ||
        (run->text && !(d->text = run_strdup(run->text))) ||
        (run->model && !(d->model = run_strdup(run->model))) ||
        (run->integrator && !(d->integrator = run_strdup(run->integrator))))
        return false;
    if (!dup_names(run->outputs.states_mean, run->outputs.n_states_mean,
                   &d->outputs.states_mean))
        return false;
    d->outputs.n_states_mean = run->outputs.n_states_mean;
    if (!dup_names(run->outputs.states_ts, run->outputs.n_states_ts, &d->outputs.states_ts))
        return false;
    d->outputs.n_states_ts = run->outputs.n_states_ts;
    return true;
}

static bool copy_subject(bnm_run *d, const bnm_run_subject *s)
{
    if (!(d->subjects = calloc(1, sizeof *d->subjects)))
        return false;
    d->n_subjects = 1;
    bnm_run_subject *t = d->subjects;
    *t = *s;
    t->id = t->sc = t->lengths = t->bold = NULL;
    return (t->id = run_strdup(s->id)) && (t->sc = run_strdup(s->sc)) &&
           (!s->lengths || (t->lengths = run_strdup(s->lengths))) &&
           (!s->bold || (t->bold = run_strdup(s->bold)));
}

/* params: the regional values first (the engine takes the first entry of a name), then
 * the run's own entries that no set value replaces. */
static bool copy_params(bnm_run *d, const bnm_run *run, size_t n_set,
                        const char *const *names, const bool *regional, size_t n_nodes,
                        const double *values)
{
    size_t cap = run->n_params + n_set;
    if (cap && !(d->params = calloc(cap, sizeof *d->params)))
        return false;
    for (size_t k = 0; k < n_set; k++) {
        if (!regional[k])
            continue;
        bnm_run_param *p = &d->params[d->n_params++];
        if (!(p->name = run_strdup(names[k])) ||
            !(p->values = malloc(n_nodes * sizeof *p->values)))
            return false;
        memcpy(p->values, values + k * n_nodes, n_nodes * sizeof *p->values);
        p->n_values = n_nodes;
        p->per_node = true;
    }
    for (size_t i = 0; i < run->n_params; i++) {
        const bnm_run_param *s = &run->params[i];
        bool replaced = false;
        for (size_t k = 0; k < n_set && !replaced; k++)
            replaced = strcmp(s->name, names[k]) == 0;
        if (replaced)
            continue;
        bnm_run_param *p = &d->params[d->n_params++];
        *p = *s;
        p->name = NULL;
        p->values = NULL;
        if (!(p->name = run_strdup(s->name)) ||
            !(p->values = malloc((s->n_values ? s->n_values : 1) * sizeof *p->values)))
            return false;
        memcpy(p->values, s->values, s->n_values * sizeof *p->values);
    }
    return true;
}

/* The global values as a one-point grid: per simulation, like the optimize batches. */
static bool global_sweep(bnm_run *d, size_t n_set, const char *const *names,
                         const bool *regional, size_t n_nodes, const double *values)
{
    size_t n_glob = 0;
    for (size_t k = 0; k < n_set; k++)
        n_glob += !regional[k];
    if (n_glob == 0)
        return true;
    if (!(d->sweep.params = calloc(n_glob, sizeof *d->sweep.params)))
        return false;
    d->sweep.kind = BNM_SWEEP_GRID;
    d->sweep.combine = BNM_SWEEP_PRODUCT;
    for (size_t k = 0; k < n_set; k++) {
        if (regional[k])
            continue;
        bnm_run_sweep_param *sp = &d->sweep.params[d->sweep.n_params++];
        if (!(sp->name = run_strdup(names[k])))
            return false;
        sp->lo = sp->hi = values[k * n_nodes];
        sp->n = 1;
    }
    return true;
}

bnm_status bnm_run_derive_one(bnm_context *ctx, const bnm_run *run, size_t subject,
                              uint64_t seed, size_t n_params, const char *const *names,
                              const bool *regional, size_t n_nodes, const double *values,
                              bnm_run **out)
{
    if (out)
        *out = NULL;
    if (!run || !out || (n_params && (!names || !regional || !values || n_nodes == 0)))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_run_derive_one: missing arguments");
    if (subject >= run->n_subjects)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "bnm_run_derive_one: subject %zu of %zu", subject, run->n_subjects);
    bnm_run *d = calloc(1, sizeof *d);
    if (!d)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (derived run)");
    if (!copy_base(d, run) || !copy_subject(d, &run->subjects[subject]) ||
        !copy_params(d, run, n_params, names, regional, n_nodes, values) ||
        !global_sweep(d, n_params, names, regional, n_nodes, values)) {
        bnm_run_destroy(d);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (derived run)");
    }
    d->seed = seed;
    *out = d;
    return BNM_OK;
}
