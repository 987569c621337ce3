/* Preparing a simulate job: model, subjects' data, parameter plan, FC/FCD geometry.
 * Every user-input check happens here, before any device work or output file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "clbnm/engine.h"
#include "clbnm/data.h"
#include "clbnm/log.h"
#include "clbnm/model.h"
#include "ir.h"
#include "modellib.h"

void job_free(job *j)
{
    if (!j)
        return;
    for (size_t s = 0; j->subj && s < j->n_subj; s++) {
        free(j->subj[s].sc);
        free(j->subj[s].lengths);
        bnm_fit_emp_destroy(j->subj[s].emp);
    }
    free(j->subj);
    free(j->params);
    free(j->settings);
    free(j->mean_kind);
    free(j->mean_index);
    bnm_fc_pairs_free(&j->pairs);
    bnm_model_ir_destroy(j->ir);
    free(j->model_path);
    memset(j, 0, sizeof *j);
}

/* Re-records the context's message prefixed with the file it came from, unless it
 * already names it. */
static bnm_status prefix_file(bnm_context *ctx, bnm_status st, const char *file)
{
    const char *m = bnm_context_message(ctx);
    if (strstr(m, file))
        return st;
    char *copy = strdup(m);
    if (!copy)
        return st;
    st = bnm_fail(ctx, st, "%s: %s", file, copy);
    free(copy);
    return st;
}

static bool name_is(const bnm_ir_param *p, const char *name)
{
    return strcmp(p->name, name) == 0 || (p->alias && strcmp(p->alias, name) == 0);
}

static bnm_status check_names(bnm_context *ctx, const bnm_run *run, const bnm_model_ir *ir)
{
    size_t np = 0, nv = 0;
    const char **pn = malloc((size_t)(2 * ir->n_params + 1) * sizeof *pn);
    const char **vn = malloc((size_t)(ir->n_states + ir->n_lets + 1) * sizeof *vn);
    if (!pn || !vn) {
        free(pn);
        free(vn);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    }
    for (int p = 0; p < ir->n_params; p++) {
        pn[np++] = ir->params[p].name;
        if (ir->params[p].alias)
            pn[np++] = ir->params[p].alias;
    }
    for (int s = 0; s < ir->n_states; s++)
        vn[nv++] = ir->states[s].name;
    for (int l = 0; l < ir->n_lets; l++)
        vn[nv++] = ir->lets[l].name;
    bnm_status st = bnm_run_check_model(ctx, run, pn, np, vn, nv);
    free(pn);
    free(vn);
    return st;
}

/* Const params cannot be set by a run. */
static bnm_status check_const(bnm_context *ctx, const bnm_run *run, const bnm_model_ir *ir)
{
    for (int p = 0; p < ir->n_params; p++) {
        if (!ir->params[p].is_const)
            continue;
        for (size_t k = 0; k < run->n_params; k++)
            if (name_is(&ir->params[p], run->params[k].name))
                return bnm_fail(ctx, BNM_ERR_RUN,
                                "%s:%d:%d: error: param '%s' is const in model %s and cannot "
                                "be set",
                                run->path, run->params[k].loc.line, run->params[k].loc.col,
                                run->params[k].name, ir->name);
        for (size_t k = 0; k < bnm_run_n_swept(run); k++)
            if (name_is(&ir->params[p], bnm_run_swept_name(run, k)))
                return bnm_fail(ctx, BNM_ERR_RUN, "%s: param '%s' is const in model %s and "
                                "cannot be swept", run->path, bnm_run_swept_name(run, k),
                                ir->name);
    }
    return BNM_OK;
}

static bnm_status load_subjects(bnm_context *ctx, job *j)
{
    const bnm_run *run = j->run;
    bnm_status st;
    j->subj = calloc(run->n_subjects ? run->n_subjects : 1, sizeof *j->subj);
    if (!j->subj)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    j->n_subj = run->n_subjects;
    if (run->n_subjects == 0)
        return bnm_fail(ctx, BNM_ERR_RUN, "%s: the run has no subjects (key 'subjects')",
                        run->path);
    for (size_t s = 0; s < run->n_subjects; s++) {
        const bnm_run_subject *rs = &run->subjects[s];
        job_subject *js = &j->subj[s];
        js->id = rs->id;
        bnm_matrix m = {0};
        if ((st = bnm_matrix_read(ctx, rs->sc, &m)) != BNM_OK)
            return prefix_file(ctx, st, rs->sc);
        if ((st = bnm_sc_prepare(ctx, rs->sc, &m, rs->sc_orientation)) != BNM_OK) {
            bnm_matrix_free(&m);
            return prefix_file(ctx, st, rs->sc);
        }
        if (s == 0) {
            j->N = (int)m.rows;
        } else if ((int)m.rows != j->N) {
            size_t n = m.rows;
            bnm_matrix_free(&m);
            return bnm_fail(ctx, BNM_ERR_DATA,
                            "%s: SC has %zu nodes but subject '%s' (%s) has %d: every subject "
                            "of a run needs the same number of nodes",
                            rs->sc, n, run->subjects[0].id, run->subjects[0].sc, j->N);
        }
        js->sc = m.data;
        m.data = NULL;
        if (rs->lengths) {
            if ((st = bnm_matrix_read(ctx, rs->lengths, &m)) != BNM_OK)
                return prefix_file(ctx, st, rs->lengths);
            if ((st = bnm_lengths_prepare(ctx, rs->lengths, &m, (size_t)j->N,
                                          rs->sc_orientation)) != BNM_OK) {
                bnm_matrix_free(&m);
                return prefix_file(ctx, st, rs->lengths);
            }
            js->lengths = m.data;
            m.data = NULL;
            j->delays = true;
        }
    }
    for (size_t s = 0; s < run->n_subjects; s++)
        if (j->delays && !j->subj[s].lengths)
            return bnm_fail(ctx, BNM_ERR_RUN,
                            "%s: subject '%s' has no lengths while others do: give tract "
                            "lengths for every subject or for none",
                            run->path, run->subjects[s].id);
    return BNM_OK;
}

static bnm_status load_bold(bnm_context *ctx, job *j)
{
    const bnm_run *run = j->run;
    bnm_status st;
    for (size_t s = 0; s < run->n_subjects; s++) {
        const bnm_run_subject *rs = &run->subjects[s];
        if (!rs->bold)
            continue;
        bnm_matrix m = {0};
        if ((st = bnm_matrix_read(ctx, rs->bold, &m)) != BNM_OK)
            return prefix_file(ctx, st, rs->bold);
        if ((st = bnm_bold_prepare(ctx, rs->bold, &m, (size_t)j->N, rs->bold_layout)) !=
            BNM_OK) {
            bnm_matrix_free(&m);
            return prefix_file(ctx, st, rs->bold);
        }
        bnm_fit_emp_options o;
        bnm_fit_emp_options_init_defaults(&o);
        o.remove_vols = (size_t)run->emp_remove_vols;
        o.outlier_threshold = run->emp_outlier_threshold;
        o.need_fcd = j->need_ks;
        /* nodes x time: volume v of node i at data[i * cols + v] */
        st = bnm_fit_emp_from_bold(ctx, m.data, 1, m.cols, m.cols, &j->pairs,
                                   j->need_ks ? &j->windows : NULL, &o, &j->subj[s].emp);
        bnm_matrix_free(&m);
        if (st != BNM_OK)
            return prefix_file(ctx, st, rs->bold);
        j->any_emp = true;
    }
    return BNM_OK;
}

/* p: a model param (its name or alias matches); NULL: the run-level name `name`. */
static bool matches(const bnm_ir_param *p, const char *name, const char *given)
{
    return p ? name_is(p, given) : strcmp(given, name) == 0;
}

static int find_swept(const bnm_run *run, const bnm_ir_param *p, const char *name)
{
    for (size_t k = 0; k < bnm_run_n_swept(run); k++)
        if (matches(p, name, bnm_run_swept_name(run, k)))
            return (int)k;
    return -1;
}

static const bnm_run_param *find_given(const bnm_run *run, const bnm_ir_param *p,
                                       const char *name)
{
    for (size_t k = 0; k < run->n_params; k++)
        if (matches(p, name, run->params[k].name))
            return &run->params[k];
    return NULL;
}

static bnm_status plan_params(bnm_context *ctx, job *j)
{
    const bnm_run *run = j->run;
    const bnm_model_ir *ir = j->ir;
    j->params = calloc((size_t)ir->n_params + 1, sizeof *j->params);
    j->settings = calloc((size_t)ir->n_params + 1, sizeof *j->settings);
    if (!j->params || !j->settings)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    for (int p = 0; p < ir->n_params; p++) {
        const bnm_ir_param *ip = &ir->params[p];
        if (ip->is_const)
            continue;
        job_param *jp = &j->params[j->n_params++];
        jp->ir_index = p;
        jp->name = ip->name;
        bnm_param_setting *ps = &j->settings[j->n_settings];
        ps->name = ip->name;
        int col = find_swept(run, ip, "");
        const bnm_run_param *given = find_given(run, ip, "");
        int lc = -1;
        for (size_t k = 0; j->list && k < j->list->n_params && lc < 0; k++)
            if (name_is(ip, j->list->param_names[k]))
                lc = (int)k;
        if (lc >= 0 && !(j->fic_on && p == ir->fic->param)) {
            jp->kind = JP_SET;
            jp->col = (size_t)lc;
            jp->regional_set = j->list->param_regional[lc];
            if (jp->regional_set && !ip->regional)
                return bnm_fail(ctx, BNM_ERR_RUN,
                                "%s: param '%s' is not regional in model %s: it cannot be "
                                "heterogeneous", run->path, ip->name, ir->name);
            ps->level = jp->regional_set ? BNM_PARAM_PER_NODE : BNM_PARAM_PER_SIM;
            j->n_settings++;
        } else if (j->fic_on && p == ir->fic->param) {
            if (col >= 0 || given)
                bnm_log_warn("%s: '%s' is set by FIC (fic.enabled): the run's values are not "
                             "used",
                             run->path, ip->name);
            jp->kind = JP_FIC;
            ps->level = BNM_PARAM_PER_NODE;
            j->n_settings++;
        } else if (col >= 0) {
            jp->kind = JP_SWEPT;
            jp->col = (size_t)col;
            ps->level = BNM_PARAM_PER_SIM;
            j->n_settings++;
        } else if (given && given->per_node) {
            if (given->n_values != (size_t)j->N)
                return bnm_fail(ctx, BNM_ERR_RUN,
                                "%s:%d:%d: error: param '%s' has %zu values but the SC has "
                                "%d nodes",
                                run->path, given->loc.line, given->loc.col, given->name,
                                given->n_values, j->N);
            if (!ip->regional)
                return bnm_fail(ctx, BNM_ERR_RUN,
                                "%s:%d:%d: error: param '%s' is not regional in model %s: give "
                                "one number, not a list",
                                run->path, given->loc.line, given->loc.col, given->name,
                                ir->name);
            jp->kind = JP_NODE;
            jp->node_values = given->values;
            ps->level = BNM_PARAM_PER_NODE;
            j->n_settings++;
        } else if (given) {
            jp->kind = JP_FIXED;
            jp->value = given->values[0];
            ps->level = BNM_PARAM_FIXED;
            ps->has_value = true;
            ps->value = jp->value;
            j->n_settings++;
        } else {
            /* default (a required param left unset is reported by the ABI resolution) */
            jp->kind = JP_FIXED;
            jp->value = ip->has_default ? ip->def : NAN;
        }
    }
    if (j->delays) {
        job_param *jp = &j->params[j->n_params++];
        jp->ir_index = -1;
        jp->name = "velocity";
        int col = find_swept(run, NULL, "velocity");
        const bnm_run_param *given = find_given(run, NULL, "velocity");
        if (col >= 0) {
            jp->kind = JP_SWEPT;
            jp->col = (size_t)col;
            j->velocity_swept = true;
            j->velocity_col = (size_t)col;
        } else {
            jp->kind = JP_FIXED;
            if (given)
                jp->value = given->values[0];
            else if (run->velocity > 0)
                jp->value = run->velocity;
            else {
                jp->value = 0.5;
                bnm_log_warn("%s: no velocity given for the tract lengths: using 0.5 m/s "
                             "(cuBNM's default)",
                             run->path);
            }
            j->velocity = jp->value;
            if (!(jp->value > 0))
                return bnm_fail(ctx, BNM_ERR_RUN, "%s: velocity must be > 0 m/s (got %g)",
                                run->path, jp->value);
        }
    }
    return BNM_OK;
}

static bnm_status plan_outputs(bnm_context *ctx, job *j)
{
    const bnm_run *run = j->run;
    const bnm_model_ir *ir = j->ir;
    size_t nm = run->outputs.n_states_mean;
    j->mean_kind = calloc(nm + 2, sizeof *j->mean_kind);
    j->mean_index = calloc(nm + 2, sizeof *j->mean_index);
    j->penalty_q = -1;
    if (!j->mean_kind || !j->mean_index)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    for (size_t q = 0; q < nm; q++) {
        const char *name = run->outputs.states_mean[q];
        j->mean_index[q] = -1;
        for (int s = 0; s < ir->n_states; s++)
            if (strcmp(ir->states[s].name, name) == 0) {
                j->mean_kind[q] = 0;
                j->mean_index[q] = s;
            }
        for (int l = 0; l < ir->n_lets && j->mean_index[q] < 0; l++)
            if (strcmp(ir->lets[l].name, name) == 0) {
                j->mean_kind[q] = 1;
                j->mean_index[q] = l;
                j->mean_needs_lets = true;
                if (j->delays && ir->lets[l].uses_coupling)
                    return bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                                    "%s: outputs.states_mean '%s' depends on the coupling, "
                                    "which this engine evaluates only without delays",
                                    run->path, name);
            }
        if (j->mean_index[q] < 0)
            return bnm_fail(ctx, BNM_ERR_RUN, "%s: outputs.states_mean: model %s has no state "
                            "or let '%s'", run->path, ir->name, name);
        if (strcmp(name, "r_E") == 0)
            j->penalty_q = (int)q;
    }
    j->n_mean = nm;
    /* The FIC penalty (models.md 1.8) averages r_E: add it when the run does not. */
    bool penalty = j->fic_on && run->fic.penalty_scale > 0;
    if (!penalty) {
        j->penalty_q = -1;
    } else if (j->penalty_q < 0) {
        for (int l = 0; l < ir->n_lets; l++)
            if (strcmp(ir->lets[l].name, "r_E") == 0 && !(j->delays && ir->lets[l].uses_coupling)) {
                j->mean_kind[nm] = 1;
                j->mean_index[nm] = l;
                j->mean_needs_lets = true;
                j->penalty_q = (int)nm;
                j->n_mean = nm + 1;
            }
        if (j->penalty_q < 0)
            bnm_log_warn("%s: the FIC penalty needs the time-averaged r_E, which this run "
                         "cannot compute: fic_penalty is 0",
                         run->path);
    }
    if (!ir->has_bold)
        return bnm_fail(ctx, BNM_ERR_MODEL, "model %s has no `bold` statement", ir->name);
    if (ir->bold.kind != BNM_REF_STATE &&
        !(ir->bold.kind == BNM_REF_LET && !ir->lets[ir->bold.index].uses_coupling))
        return bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                        "model %s: its BOLD driver depends on the coupling; this engine "
                        "drives BOLD from a state or a coupling-free let only (yet)",
                        ir->name);
    return BNM_OK;
}

bnm_status job_prepare(bnm_context *ctx, const bnm_run *run, bnm_precision precision, job *j)
{
    return job_prepare_list(ctx, run, precision, NULL, j);
}

bnm_status job_prepare_list(bnm_context *ctx, const bnm_run *run, bnm_precision precision,
                            const bnm_engine_sim_list *list, job *j)
{
    memset(j, 0, sizeof *j);
    j->run = run;
    j->list = list;
    bnm_status st;
    if ((st = bnm_model_find(ctx, run->model, NULL, 0, &j->model_path)) != BNM_OK)
        goto fail;
    if ((st = bnm_nmm_load(ctx, j->model_path, &j->ir, NULL)) != BNM_OK)
        goto fail;
    const bnm_model_ir *ir = j->ir;
    if ((st = check_names(ctx, run, ir)) != BNM_OK || (st = check_const(ctx, run, ir)) != BNM_OK)
        goto fail;
    if (run->fic.enabled && ir->fic) {
        /* steady_state (the default) solves first; max_trials > 0 adds the iterative
         * adjustment from its result (models.md 1.5). fic.method iterative runs the
         * iterative method alone, from the block's fallback (nmm-format.md 11.1). */
        bool iterative = run->fic.method == BNM_RUN_FIC_ITERATIVE || run->fic.max_trials > 0;
        if ((st = bnm_fic_config_from_model(ctx, ir,
                                            run->fic.method == BNM_RUN_FIC_ITERATIVE
                                                ? BNM_FIC_METHOD_ITERATIVE
                                                : BNM_FIC_METHOD_STEADY_STATE,
                                            &j->fic_cfg)) != BNM_OK)
            goto fail;
        if (run->fic.root_tol > 0)
            j->fic_cfg.solve_tol = run->fic.root_tol;
        /* the fixed-point check judges the average the run takes: after bold_remove */
        j->fic_cfg.avg_time = (double)(run->duration_ns - run->bold_remove_ns) /
                              (double)BNM_NS_PER_MS *
                              (ir->time_unit == BNM_TIME_S    ? 1e-3
                               : ir->time_unit == BNM_TIME_US ? 1e3
                                                              : 1.0);
        if (iterative) {
            bnm_fic_config it; /* the iterative record must exist */
            if ((st = bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_ITERATIVE, &it)) !=
                BNM_OK)
                goto fail;
        }
        j->fic_on = true;
    }
    if ((st = load_subjects(ctx, j)) != BNM_OK)
        goto fail;
    if ((st = bnm_run_check_nodes(ctx, run, (size_t)j->N)) != BNM_OK)
        goto fail;
    if ((st = plan_params(ctx, j)) != BNM_OK || (st = plan_outputs(ctx, j)) != BNM_OK)
        goto fail;
    const bnm_run_counts *c = &run->counts;
    bool any_bold = false;
    for (size_t s = 0; s < run->n_subjects; s++)
        any_bold |= run->subjects[s].bold != NULL;
    j->need_ks = any_bold && (run->fit.terms & BNM_FIT_FCD_KS);
    j->want_fit = run->outputs.fc || run->outputs.fcd || any_bold;
    if (j->want_fit) {
        if (c->n_corr < 2) {
            st = bnm_fail(ctx, BNM_ERR_RUN,
                          "%s: FC needs at least 2 volumes after bold_remove, the run gives "
                          "%lld (n_vol %lld, removed %lld)",
                          run->path, (long long)c->n_corr, (long long)c->n_vol,
                          (long long)c->n_rm);
            goto fail;
        }
        if ((st = bnm_fc_pairs_make(ctx, (size_t)j->N, run->fit.exc_interhemispheric, NULL,
                                    &j->pairs)) != BNM_OK)
            goto fail;
        j->fcd_on = run->outputs.fcd || j->need_ks;
        if (j->fcd_on) {
            if ((st = bnm_fcd_windows_from_ns(ctx, run->outputs.fcd_window_ns,
                                              run->outputs.fcd_step_ns, run->tr_ns,
                                              run->outputs.fcd_drop_edges, &j->windows)) !=
                BNM_OK)
                goto fail;
            size_t nw = bnm_fcd_window_count(&j->windows, (size_t)c->n_vol, (size_t)c->n_rm);
            j->n_fcd = bnm_fcd_pair_count(nw);
            if (j->n_fcd == 0) {
                if (j->need_ks) {
                    st = bnm_fail(ctx, BNM_ERR_RUN,
                                  "%s: the simulated BOLD gives %zu FCD window(s); -fcd_ks "
                                  "needs at least 2 (lengthen duration or shorten "
                                  "outputs.fcd.window)",
                                  run->path, nw);
                    goto fail;
                }
                bnm_log_warn("%s: the simulated BOLD gives %zu FCD window(s): no FCD output",
                             run->path, nw);
                j->fcd_on = false;
            }
        }
    }
    if ((st = load_bold(ctx, j)) != BNM_OK)
        goto fail;
    bnm_model_spec_init_defaults(&j->spec);
    j->spec.params = j->settings;
    j->spec.n_params = j->n_settings;
    j->spec.precision = precision;
    j->spec.delays = j->delays;
    /* N compiled in: every batch of a job has the same N, and fixed trip counts let the
     * OpenCL compiler unroll and vectorise the coupling sums. */
    j->spec.n_nodes = j->N;
    j->spec.delay_rounding =
        run->delay_rounding == BNM_RUN_DELAY_CUBNM ? BNM_DELAY_CUBNM : BNM_DELAY_NEAREST;
    if (run->integrator) {
        int integ = strcmp(run->integrator, "euler") == 0   ? BNM_INTEG_EULER
                    : strcmp(run->integrator, "heun") == 0  ? BNM_INTEG_HEUN
                    : strcmp(run->integrator, "rk4") == 0   ? BNM_INTEG_RK4
                                                              : -2;
        if (integ == -2) {
            st = bnm_fail(ctx, BNM_ERR_RUN, "%s: unknown integrator '%s'", run->path,
                          run->integrator);
            goto fail;
        }
        j->spec.integrator = integ;
    }
    j->time_per_ms = ir->time_unit == BNM_TIME_S ? 1e-3 : ir->time_unit == BNM_TIME_US ? 1e3 : 1.0;
    j->dt = (double)run->dt_ns / (double)BNM_NS_PER_MS * j->time_per_ms;
    return BNM_OK;
fail:
    job_free(j);
    return st;
}

void job_fill_params(const job *j, const bnm_model_abi *abi, const double *swept,
                     double *sim_params, double *node_params, double *velocity_out)
{
    size_t N = (size_t)j->N;
    for (size_t k = 0; k < j->n_params; k++) {
        const job_param *jp = &j->params[k];
        if (jp->ir_index < 0) {
            if (velocity_out)
                *velocity_out = jp->kind == JP_SWEPT ? swept[jp->col] : jp->value;
            continue;
        }
        const bnm_abi_entry *e = bnm_model_abi_find(abi, BNM_ABI_PARAM, jp->name);
        if (!e || jp->kind == JP_FIC) /* FIC writes its param after its solve */
            continue;
        if (jp->kind == JP_SET) {
            /* swept is the list's [n_params][N] row of this simulation */
            const double *v = swept + jp->col * N;
            if (e->sim_slot >= 0)
                sim_params[e->sim_slot] = v[0];
            if (e->node_slot >= 0 && node_params)
                for (size_t i = 0; i < N; i++)
                    node_params[(size_t)e->node_slot * N + i] = v[jp->regional_set ? i : 0];
            continue;
        }
        if (e->sim_slot >= 0)
            sim_params[e->sim_slot] = jp->kind == JP_SWEPT ? swept[jp->col] : jp->value;
        if (e->node_slot >= 0 && node_params)
            for (size_t i = 0; i < N; i++)
                node_params[(size_t)e->node_slot * N + i] =
                    jp->kind == JP_NODE ? jp->node_values[i]
                                        : jp->kind == JP_SWEPT ? swept[jp->col] : jp->value;
    }
}
