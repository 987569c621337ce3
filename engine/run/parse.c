/* Run-file parser: the top-level keys, subjects, params, fic, outputs and fit; sweep
 * and the optimize keys are in parse_sweep.c. The file is loaded with libyaml's
 * document API so every node keeps its line and column. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_read.h"
#include "parse_util.h"
#include "run_parse.h"

static const char *const top_keys[] = {
    "model", "duration", "dt", "bw_dt", "tr", "bold_remove", "bold_params", "bold_mode", "seed",
    "noise_sharing", "delay_rounding", "velocity", "states_sampling", "integrator", "precision",
    "subjects", "params", "sweep", "fic", "outputs", "fit", "emp_remove_vols",
    "emp_outlier_threshold", "free", "heterogeneous", "optimizer",
};

static void set_defaults(bnm_run *r)
{
    r->bold_remove_ns = 30 * BNM_NS_PER_S;
    r->bold_params = BNM_BOLD_FRISTON2003;
    r->bold_params_name = "friston2003";
    r->delay_rounding = BNM_RUN_DELAY_NEAREST;
    r->fic.enabled = true;
    r->fic.penalty_scale = 0.5;
    r->fic.init_delta = 0.02;
    r->fic.sampling_start_ns = 1000 * BNM_NS_PER_MS;
    r->fic.sampling_end_ns = 10000 * BNM_NS_PER_MS;
    r->outputs.bold = true;
    r->outputs.fc = true;
    r->outputs.fcd = true;
    r->outputs.fcd_window_ns = 30 * BNM_NS_PER_S;
    r->outputs.fcd_step_ns = 5 * BNM_NS_PER_S;
    r->outputs.fcd_drop_edges = true;
    r->fit.terms = BNM_FIT_FC_CORR | BNM_FIT_FCD_KS;
    r->emp_outlier_threshold = 0.5;
    r->optimizer.sigma0 = 0.5;
    r->optimizer.tolfun = 1e-3;
}

/* ---- subjects ------------------------------------------------------------------ */

static bool parse_subject(rp *p, const yaml_node_t *m, size_t idx, bnm_run_subject *s)
{
    static const char *const keys[] = {"id", "sc", "lengths", "bold", "sc_orientation",
                                       "bold_layout"};
    static const char *const orient[] = {"source_rows", "target_rows"};
    static const char *const layout[] = {"nodes_by_time", "time_by_nodes"};
    char where[64], name[96];
    snprintf(where, sizeof where, "subjects[%zu]", idx);
    s->loc = rp_loc(m);
    if (!rp_mapping(p, m, where) || !rp_check_keys(p, m, keys, RP_COUNT(keys), where))
        return false;
    yaml_node_t *k, *v;
    const char *id = NULL;
    snprintf(name, sizeof name, "%s.id", where);
    if (!(v = rp_get(p, m, "id", NULL)))
        return rp_err(p, m, "every subject needs an id and an sc file",
                      "missing required key 'id' in '%s'", where);
    if (!rp_string(p, v, name, &id) || !(s->id = run_strdup(id)))
        return p->st ? false : rp_nomem(p);
    snprintf(name, sizeof name, "%s.sc", where);
    if (!(v = rp_get(p, m, "sc", NULL)))
        return rp_err(p, m, "every subject needs an id and an sc file",
                      "missing required key 'sc' in '%s'", where);
    s->sc_loc = rp_loc(v);
    if (!rp_path(p, v, name, &s->sc))
        return false;
    if ((v = rp_get(p, m, "lengths", &k))) {
        snprintf(name, sizeof name, "%s.lengths", where);
        s->lengths_loc = rp_loc(v);
        if (!rp_path(p, v, name, &s->lengths))
            return false;
    }
    if ((v = rp_get(p, m, "bold", &k))) {
        snprintf(name, sizeof name, "%s.bold", where);
        s->bold_loc = rp_loc(v);
        if (!rp_path(p, v, name, &s->bold))
            return false;
    }
    int e;
    if ((v = rp_get(p, m, "sc_orientation", NULL))) {
        if (!rp_enum(p, v, "sc_orientation", orient, 2, &e))
            return false;
        s->sc_orientation = e ? BNM_SC_TARGET_ROWS : BNM_SC_SOURCE_ROWS;
    }
    if ((v = rp_get(p, m, "bold_layout", NULL))) {
        if (!rp_enum(p, v, "bold_layout", layout, 2, &e))
            return false;
        s->bold_layout = e ? BNM_BOLD_TIME_BY_NODES : BNM_BOLD_NODES_BY_TIME;
    }
    return true;
}

static bool parse_subjects(rp *p, const yaml_node_t *v)
{
    bnm_run *r = p->run;
    if (!rp_sequence(p, v, "subjects"))
        return false;
    size_t n = rp_len(v);
    if (n == 0)
        return rp_err(p, v, "list at least one subject with an id and an sc file",
                      "'subjects' is empty");
    if (!(r->subjects = calloc(n, sizeof *r->subjects)))
        return rp_nomem(p);
    for (size_t i = 0; i < n; i++) {
        r->n_subjects = i + 1;
        yaml_node_t *it = rp_item(p, v, i);
        if (!parse_subject(p, it, i, &r->subjects[i]))
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->subjects[j].id, r->subjects[i].id) == 0)
                return rp_err(p, rp_get(p, it, "id", NULL), "give every subject its own id",
                              "duplicate subject id '%s' (first at line %d)", r->subjects[i].id,
                              r->subjects[j].loc.line);
    }
    return true;
}

/* ---- params -------------------------------------------------------------------- */

static bool parse_params(rp *p, const yaml_node_t *m)
{
    bnm_run *r = p->run;
    if (!rp_mapping(p, m, "params"))
        return false;
    size_t n = rp_len(m);
    if (n && !(r->params = calloc(n, sizeof *r->params)))
        return rp_nomem(p);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k, *v = rp_pair(p, m, i, &k);
        bnm_run_param *par = &r->params[i];
        const char *name = rp_scalar(k);
        if (!name)
            return rp_err(p, k, NULL, "parameter names must be plain names");
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->params[j].name, name) == 0)
                return rp_err(p, k, "give each key once",
                              "duplicate key '%s' in 'params' (first at line %d)", name,
                              r->params[j].loc.line);
        r->n_params = i + 1;
        par->loc = rp_loc(k);
        if (!(par->name = run_strdup(name)))
            return rp_nomem(p);
        char key[160];
        snprintf(key, sizeof key, "params.%s", name);
        if (v->type == YAML_SEQUENCE_NODE) {
            size_t nv = rp_len(v);
            if (nv == 0)
                return rp_err(p, v, "give a number, or one number per node",
                              "'%s' is an empty list", key);
            if (!(par->values = calloc(nv, sizeof *par->values)))
                return rp_nomem(p);
            par->per_node = true;
            par->n_values = nv;
            for (size_t j = 0; j < nv; j++)
                if (!rp_number(p, rp_item(p, v, j), key, &par->values[j]))
                    return false;
        } else {
            if (!(par->values = calloc(1, sizeof *par->values)))
                return rp_nomem(p);
            par->n_values = 1;
            if (rp_is_null(v) || !rp_number(p, v, key, &par->values[0]))
                return rp_is_null(v) ? rp_err(p, k, "give a number, or one number per node",
                                              "'%s' has no value", key)
                                     : false;
        }
    }
    return true;
}

/* ---- fic ----------------------------------------------------------------------- */

static bool parse_fic(rp *p, const yaml_node_t *m, const yaml_node_t *key)
{
    static const char *const keys[] = {"enabled", "max_trials", "penalty_scale", "method",
                                       "sampling", "init_delta", "root_tol"};
    static const char *const methods[] = {"steady_state", "iterative"};
    bnm_run_fic *f = &p->run->fic;
    f->loc = rp_loc(key);
    if (m->type == YAML_SCALAR_NODE)
        return rp_bool(p, m, "fic", &f->enabled);
    if (!rp_mapping(p, m, "fic") || !rp_check_keys(p, m, keys, RP_COUNT(keys), "fic"))
        return false;
    yaml_node_t *v;
    int e;
    if ((v = rp_get(p, m, "enabled", NULL)) && !rp_bool(p, v, "fic.enabled", &f->enabled))
        return false;
    if ((v = rp_get(p, m, "max_trials", NULL))) {
        if (!rp_int(p, v, "fic.max_trials", &f->max_trials))
            return false;
        if (f->max_trials < 0)
            return rp_err(p, v, "0 disables the numerical adjustment",
                          "fic.max_trials must be >= 0, got %lld", (long long)f->max_trials);
    }
    if ((v = rp_get(p, m, "penalty_scale", NULL))) {
        if (!rp_number(p, v, "fic.penalty_scale", &f->penalty_scale))
            return false;
        if (f->penalty_scale < 0)
            return rp_err(p, v, "0 disables the penalty", "fic.penalty_scale must be >= 0");
    }
    if ((v = rp_get(p, m, "init_delta", NULL))) {
        if (!rp_number(p, v, "fic.init_delta", &f->init_delta))
            return false;
        if (f->init_delta <= 0)
            return rp_err(p, v, "the default is 0.02 nA", "fic.init_delta must be > 0");
    }
    if ((v = rp_get(p, m, "root_tol", NULL))) {
        if (!rp_number(p, v, "fic.root_tol", &f->root_tol))
            return false;
        if (f->root_tol < 0)
            return rp_err(p, v, "1e-3 reproduces cuBNM", "fic.root_tol must be >= 0");
    }
    if ((v = rp_get(p, m, "method", NULL))) {
        if (!rp_enum(p, v, "fic.method", methods, RP_COUNT(methods), &e))
            return false;
        f->method = e ? BNM_RUN_FIC_ITERATIVE : BNM_RUN_FIC_STEADY_STATE;
    }
    if ((v = rp_get(p, m, "sampling", NULL))) {
        f->sampling_loc = rp_loc(v);
        if (v->type != YAML_SEQUENCE_NODE || rp_len(v) != 2)
            return rp_err(p, v, "write [start, end] in ms, e.g. [1000, 10000]",
                          "'fic.sampling' must be [start, end]");
        if (!rp_time(p, rp_item(p, v, 0), "fic.sampling", BNM_NS_PER_MS, &f->sampling_start_ns) ||
            !rp_time(p, rp_item(p, v, 1), "fic.sampling", BNM_NS_PER_MS, &f->sampling_end_ns))
            return false;
    }
    return true;
}

/* ---- outputs ------------------------------------------------------------------- */

static bool parse_fcd(rp *p, const yaml_node_t *m)
{
    static const char *const keys[] = {"window", "step", "drop_edges"};
    bnm_run_outputs *o = &p->run->outputs;
    o->fcd_loc = rp_loc(m);
    if (m->type == YAML_SCALAR_NODE)
        return rp_bool(p, m, "outputs.fcd", &o->fcd);
    if (!rp_mapping(p, m, "outputs.fcd") ||
        !rp_check_keys(p, m, keys, RP_COUNT(keys), "outputs.fcd"))
        return false;
    yaml_node_t *v;
    if ((v = rp_get(p, m, "window", NULL))) {
        o->fcd_loc = rp_loc(v);
        if (!rp_time(p, v, "outputs.fcd.window", BNM_NS_PER_S, &o->fcd_window_ns))
            return false;
    }
    if ((v = rp_get(p, m, "step", NULL))) {
        if (!rp_time(p, v, "outputs.fcd.step", BNM_NS_PER_S, &o->fcd_step_ns))
            return false;
        if (!rp_get(p, m, "window", NULL))
            o->fcd_loc = rp_loc(v);
    }
    if ((v = rp_get(p, m, "drop_edges", NULL)) &&
        !rp_bool(p, v, "outputs.fcd.drop_edges", &o->fcd_drop_edges))
        return false;
    return true;
}

static bool parse_outputs(rp *p, const yaml_node_t *m)
{
    static const char *const keys[] = {"bold", "fc", "fcd", "states_mean", "states_ts"};
    static const char *const ts_keys[] = {"vars", "every"};
    bnm_run_outputs *o = &p->run->outputs;
    if (!rp_mapping(p, m, "outputs") || !rp_check_keys(p, m, keys, RP_COUNT(keys), "outputs"))
        return false;
    yaml_node_t *v, *w;
    if ((v = rp_get(p, m, "bold", NULL)) && !rp_bool(p, v, "outputs.bold", &o->bold))
        return false;
    if ((v = rp_get(p, m, "fc", NULL)) && !rp_bool(p, v, "outputs.fc", &o->fc))
        return false;
    if ((v = rp_get(p, m, "fcd", NULL)) && !parse_fcd(p, v))
        return false;
    if ((v = rp_get(p, m, "states_mean", NULL))) {
        o->states_mean_loc = rp_loc(v);
        if (!rp_names(p, v, "outputs.states_mean", &o->states_mean, &o->n_states_mean))
            return false;
    }
    if ((v = rp_get(p, m, "states_ts", NULL))) {
        o->states_ts_loc = rp_loc(v);
        if (!rp_mapping(p, v, "outputs.states_ts") ||
            !rp_check_keys(p, v, ts_keys, RP_COUNT(ts_keys), "outputs.states_ts"))
            return false;
        if (!(w = rp_get(p, v, "vars", NULL)))
            return rp_err(p, v, "list the variables to record, e.g. vars: [S_E]",
                          "missing required key 'vars' in 'outputs.states_ts'");
        if (!rp_names(p, w, "outputs.states_ts.vars", &o->states_ts, &o->n_states_ts))
            return false;
        if ((w = rp_get(p, v, "every", NULL))) {
            o->states_ts_every_loc = rp_loc(w);
            if (!rp_time(p, w, "outputs.states_ts.every", BNM_NS_PER_S, &o->states_ts_every_ns))
                return false;
        }
    }
    return true;
}

/* ---- fit ----------------------------------------------------------------------- */

static bool parse_fit(rp *p, const yaml_node_t *m)
{
    static const char *const keys[] = {"terms", "exc_interhemispheric"};
    static const char *const terms[] = {"+fc_corr", "-fc_diff", "-fc_normec", "-fcd_ks"};
    bnm_run_fit *f = &p->run->fit;
    if (!rp_mapping(p, m, "fit") || !rp_check_keys(p, m, keys, RP_COUNT(keys), "fit"))
        return false;
    yaml_node_t *v;
    if ((v = rp_get(p, m, "terms", NULL))) {
        f->terms_loc = rp_loc(v);
        if (!rp_sequence(p, v, "fit.terms"))
            return false;
        if (rp_len(v) == 0)
            return rp_err(p, v, "the default is [+fc_corr, -fcd_ks]", "'fit.terms' is empty");
        f->terms = 0;
        for (size_t i = 0; i < rp_len(v); i++) {
            yaml_node_t *it = rp_item(p, v, i);
            int e;
            if (!rp_enum(p, it, "fit term", terms, RP_COUNT(terms), &e))
                return false;
            if (f->terms & (1u << e))
                return rp_err(p, it, "list each term once", "fit term '%s' is listed twice",
                              terms[e]);
            f->terms |= 1u << e;
        }
    }
    if ((v = rp_get(p, m, "exc_interhemispheric", NULL))) {
        f->exc_loc = rp_loc(v);
        if (!rp_bool(p, v, "fit.exc_interhemispheric", &f->exc_interhemispheric))
            return false;
    }
    return true;
}

/* ---- top level ----------------------------------------------------------------- */

static bool want_time(rp *p, const yaml_node_t *root, const char *key, int64_t unit,
                      int64_t *out, bnm_run_loc *loc, bool required)
{
    yaml_node_t *k, *v = rp_get(p, root, key, &k);
    if (!v) {
        if (required)
            return rp_err(p, k ? k : root, NULL, "missing required key '%s'", key);
        return true;
    }
    *loc = rp_loc(v);
    return rp_time(p, v, key, unit, out);
}

static bool model_is_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 4 && strcmp(s + n - 4, ".nmm") == 0);
}

/* The model's name for defaults: the file name without .nmm for a path. */
static void model_stem(const char *s, char *buf, size_t size)
{
    const char *b = strrchr(s, '/');
    b = b ? b + 1 : s;
    snprintf(buf, size, "%s", b);
    size_t n = strlen(buf);
    if (n > 4 && strcmp(buf + n - 4, ".nmm") == 0)
        buf[n - 4] = '\0';
}

static bool parse_root(rp *p, const yaml_node_t *root)
{
    static const char *const bold_params[] = {"friston2003", "heinzle2016-3T"};
    static const char *const bold_modes[] = {"balloon", "direct"};
    static const char *const sharing[] = {"shared", "per_simulation"};
    static const char *const rounding[] = {"nearest", "cubnm"};
    static const char *const integrators[] = {"euler", "heun", "rk4"};
    static const char *const precisions[] = {"float", "double"};
    bnm_run *r = p->run;
    if (root->type != YAML_MAPPING_NODE)
        return rp_err(p, root, "see interface.md section 2 for an example",
                      "a run file is a mapping of keys, got %s",
                      root->type == YAML_SEQUENCE_NODE ? "a list" : "a single value");
    if (!rp_check_keys(p, root, top_keys, RP_COUNT(top_keys), NULL))
        return false;

    yaml_node_t *k, *v;
    int e;
    bool mode_sim = r->mode == BNM_RUN_MODE_SIMULATE, mode_opt = r->mode == BNM_RUN_MODE_OPTIMIZE;
    static const char *const opt_only[] = {"free", "heterogeneous", "optimizer"};
    for (size_t i = 0; mode_sim && i < RP_COUNT(opt_only); i++)
        if (rp_get(p, root, opt_only[i], &k) || k)
            return rp_err(p, k, "use `clbnm optimize` for this run file, or remove the key",
                          "key '%s' belongs to `clbnm optimize` run files", opt_only[i]);
    if (mode_opt && (rp_get(p, root, "sweep", &k) || k))
        return rp_err(p, k, "the optimizer chooses the parameters: list them under 'free'",
                      "key 'sweep' is not used by `clbnm optimize`");

    /* model */
    if (!(v = rp_get(p, root, "model", &k)))
        return rp_err(p, k ? k : root, "name a built-in model (e.g. rww) or a .nmm file",
                      "missing required key 'model'");
    const char *model = NULL;
    if (!rp_string(p, v, "model", &model))
        return false;
    r->model_loc = rp_loc(v);
    r->model_is_path = model_is_path(model);
    if (r->model_is_path ? !rp_path(p, v, "model", &r->model) : !(r->model = run_strdup(model)))
        return p->st ? false : rp_nomem(p);
    char stem[256];
    model_stem(model, stem, sizeof stem);
    bnm_run_default_steps(stem, &r->dt_ns, &r->bw_dt_ns);
    r->bold_mode = bnm_run_default_bold_mode(stem);

    /* times */
    if (!want_time(p, root, "duration", BNM_NS_PER_S, &r->duration_ns, &r->duration_loc, true) ||
        !want_time(p, root, "dt", BNM_NS_PER_MS, &r->dt_ns, &r->dt_loc, false) ||
        !want_time(p, root, "bw_dt", BNM_NS_PER_MS, &r->bw_dt_ns, &r->bw_dt_loc, false) ||
        !want_time(p, root, "tr", BNM_NS_PER_S, &r->tr_ns, &r->tr_loc, true) ||
        !want_time(p, root, "bold_remove", BNM_NS_PER_S, &r->bold_remove_ns, &r->bold_remove_loc,
                   false))
        return false;
    r->states_sampling_ns = r->tr_ns;
    if (!want_time(p, root, "states_sampling", BNM_NS_PER_S, &r->states_sampling_ns,
                   &r->states_sampling_loc, false))
        return false;

    /* switches */
    if ((v = rp_get(p, root, "bold_params", NULL))) {
        if (!rp_enum(p, v, "bold_params", bold_params, RP_COUNT(bold_params), &e))
            return false;
        r->bold_params = (bnm_bold_params)e;
        r->bold_params_name = bold_params[e];
    }
    if ((v = rp_get(p, root, "bold_mode", NULL))) {
        if (!rp_enum(p, v, "bold_mode", bold_modes, RP_COUNT(bold_modes), &e))
            return false;
        r->bold_mode = e ? BNM_BOLD_DIRECT : BNM_BOLD_BALLOON;
    }
    if ((v = rp_get(p, root, "noise_sharing", NULL))) {
        if (!rp_enum(p, v, "noise_sharing", sharing, RP_COUNT(sharing), &e))
            return false;
        r->noise_sharing = (bnm_noise_sharing)e;
    }
    if ((v = rp_get(p, root, "delay_rounding", NULL))) {
        if (!rp_enum(p, v, "delay_rounding", rounding, RP_COUNT(rounding), &e))
            return false;
        r->delay_rounding = e ? BNM_RUN_DELAY_CUBNM : BNM_RUN_DELAY_NEAREST;
    }
    if ((v = rp_get(p, root, "integrator", NULL))) {
        if (!rp_enum(p, v, "integrator", integrators, RP_COUNT(integrators), &e))
            return false;
        if (!(r->integrator = run_strdup(integrators[e])))
            return rp_nomem(p);
    }
    if ((v = rp_get(p, root, "precision", NULL))) {
        if (!rp_enum(p, v, "precision", precisions, RP_COUNT(precisions), &e))
            return false;
        r->precision = e ? BNM_RUN_PRECISION_DOUBLE : BNM_RUN_PRECISION_FLOAT;
    }
    if ((v = rp_get(p, root, "seed", NULL)) && !rp_uint(p, v, "seed", &r->seed))
        return false;
    if ((v = rp_get(p, root, "velocity", NULL))) {
        r->velocity_loc = rp_loc(v);
        if (!rp_number(p, v, "velocity", &r->velocity))
            return false;
        if (r->velocity <= 0)
            return rp_err(p, v, "velocity is the conduction speed in m/s, e.g. 5",
                          "velocity must be > 0");
    }
    if ((v = rp_get(p, root, "emp_remove_vols", NULL))) {
        if (!rp_int(p, v, "emp_remove_vols", &r->emp_remove_vols))
            return false;
        if (r->emp_remove_vols < 0)
            return rp_err(p, v, "0 keeps every empirical volume", "emp_remove_vols must be >= 0");
    }
    if ((v = rp_get(p, root, "emp_outlier_threshold", NULL))) {
        if (!rp_number(p, v, "emp_outlier_threshold", &r->emp_outlier_threshold))
            return false;
        if (r->emp_outlier_threshold < 0 || r->emp_outlier_threshold > 1)
            return rp_err(p, v, "it is the fraction of outlier volumes above which a window "
                                "is skipped",
                          "emp_outlier_threshold must be in [0, 1]");
    }

    /* sections */
    if (!(v = rp_get(p, root, "subjects", &k)))
        return rp_err(p, k ? k : root, "list at least one subject with an id and an sc file",
                      "missing required key 'subjects'");
    if (!parse_subjects(p, v))
        return false;
    if ((v = rp_get(p, root, "params", NULL)) && !parse_params(p, v))
        return false;
    if ((v = rp_get(p, root, "fic", &k)) && !parse_fic(p, v, k))
        return false;
    if ((v = rp_get(p, root, "outputs", NULL)) && !parse_outputs(p, v))
        return false;
    r->outputs.states_ts_every_ns = r->outputs.states_ts_every_loc.line
                                        ? r->outputs.states_ts_every_ns
                                        : r->tr_ns;
    if ((v = rp_get(p, root, "fit", NULL)) && !parse_fit(p, v))
        return false;
    if ((v = rp_get(p, root, "sweep", NULL)) && !run_parse_sweep(p, v))
        return false;
    if ((v = rp_get(p, root, "free", NULL)) && !run_parse_free(p, v))
        return false;
    if ((v = rp_get(p, root, "heterogeneous", NULL)) && !run_parse_hetero(p, v))
        return false;
    if ((v = rp_get(p, root, "optimizer", &k)) && !run_parse_optimizer(p, v, k))
        return false;
    if (mode_opt && !r->n_free)
        return rp_err(p, root,
                      "list the free parameters and their bounds, e.g. free: {G: [0.001, 10]}",
                      "missing required key 'free'");
    if (mode_opt && !r->has_optimizer)
        return rp_err(p, root, "e.g. optimizer: {method: cmaes, popsize: 64, generations: 100}",
                      "missing required key 'optimizer'");
    return run_check_overlaps(p);
}

/* ---- entry points -------------------------------------------------------------- */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return run_strdup(".");
    if (slash == path)
        return run_strdup("/");
    return run_strndup(path, (size_t)(slash - path));
}

bnm_status bnm_run_parse_string(bnm_context *ctx, const char *text, size_t len,
                                const char *display_name, const char *base_dir,
                                bnm_run_mode mode, bnm_run **out)
{
    if (!out || !text || !display_name)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_run_parse_string: NULL argument");
    *out = NULL;
    bnm_run *r = calloc(1, sizeof *r);
    if (!r)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    set_defaults(r);
    r->mode = mode;
    r->path = run_strdup(display_name);
    r->base_dir = base_dir ? run_strdup(base_dir) : NULL;
    r->text = run_strndup(text, len);
    if (!r->path || (base_dir && !r->base_dir) || !r->text) {
        bnm_run_destroy(r);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    }

    yaml_parser_t parser;
    yaml_document_t doc;
    rp p = {ctx, r, &doc, BNM_OK};
    if (!yaml_parser_initialize(&parser)) {
        bnm_run_destroy(r);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)r->text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        p.st = bnm_fail(ctx, BNM_ERR_PARSE, "%s:%d:%d: error: YAML syntax: %s%s%s%s", r->path,
                        (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
                        parser.problem ? parser.problem : "invalid YAML",
                        parser.context ? " (" : "", parser.context ? parser.context : "",
                        parser.context ? ")" : "");
        yaml_parser_delete(&parser);
        bnm_run_destroy(r);
        return p.st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        bnm_run_loc l = {0, 0};
        p.st = run_error(ctx, r->path, l, "see interface.md section 2 for an example",
                         "the run file is empty");
    } else if (parse_root(&p, root)) {
        if (!(p.st = run_validate_sweep(ctx, r)))
            p.st = run_validate_times(ctx, r);
    }
    yaml_document_delete(&doc);
    if (p.st == BNM_OK) {
        /* A second document would be silently ignored: refuse it. */
        yaml_document_t more;
        if (!yaml_parser_load(&parser, &more)) {
            p.st = bnm_fail(ctx, BNM_ERR_PARSE, "%s:%d:%d: error: YAML syntax: %s", r->path,
                            (int)parser.problem_mark.line + 1,
                            (int)parser.problem_mark.column + 1,
                            parser.problem ? parser.problem : "invalid YAML");
        } else {
            yaml_node_t *extra = yaml_document_get_root_node(&more);
            if (extra) {
                bnm_run_loc l = {(int)more.start_mark.line + 1, (int)more.start_mark.column + 1};
                p.st = run_error(ctx, r->path, l, "put the whole job in one document",
                                 "the run file holds more than one YAML document");
            }
            yaml_document_delete(&more);
        }
    }
    yaml_parser_delete(&parser);
    if (p.st != BNM_OK) {
        bnm_run_destroy(r);
        return p.st;
    }
    *out = r;
    return BNM_OK;
}

bnm_status bnm_run_parse_file(bnm_context *ctx, const char *path, bnm_run_mode mode,
                              bnm_run **out)
{
    if (!out || !path)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_run_parse_file: NULL argument");
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int e = 0;
    switch (bnm_file_read_all(path, &text, &len, &e)) {
    case BNM_FILE_READ_OK:
        break;
    case BNM_FILE_READ_OPEN_FAILED:
        return bnm_fail(ctx, BNM_ERR_IO, "cannot read run file '%s': %s", path, strerror(e));
    case BNM_FILE_READ_FAILED:
        return bnm_fail(ctx, BNM_ERR_IO, "cannot read run file '%s'", path);
    case BNM_FILE_READ_NOMEM:
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    char *dir = dir_of(path);
    bnm_status st = dir ? bnm_run_parse_string(ctx, text, len, path, dir, mode, out)
                        : bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    free(dir);
    free(text);
    return st;
}
