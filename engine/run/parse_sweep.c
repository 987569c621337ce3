/* Run-file parser: sweep (grid, random, table) and the optimize keys (free,
 * heterogeneous, optimizer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"
#include "run_parse.h"

/* [lo, hi] or [lo, hi, n] of parameter `name`; n_out NULL for the two-element form. */
static bool bounds(rp *p, const yaml_node_t *v, const char *what, const char *name,
                   double *lo, double *hi, int64_t *n_out)
{
    size_t want = n_out ? 3 : 2;
    char key[200];
    snprintf(key, sizeof key, "%s.%s", what, name);
    if (v->type != YAML_SEQUENCE_NODE || rp_len(v) != want)
        return rp_err(p, v, n_out ? "write [lo, hi, n], e.g. [0.5, 3.0, 11]"
                                  : "write [lo, hi], e.g. [0.001, 10]",
                      "'%s' must be %s", key, n_out ? "[lo, hi, n]" : "[lo, hi]");
    if (!rp_number(p, rp_item(p, v, 0), key, lo) || !rp_number(p, rp_item(p, v, 1), key, hi))
        return false;
    if (n_out) {
        yaml_node_t *nn = rp_item(p, v, 2);
        if (!rp_int(p, nn, key, n_out))
            return false;
        if (*n_out < 1)
            return rp_err(p, nn, "n is the number of values from lo to hi, at least 1",
                          "n of '%s' must be at least 1, got %lld", key, (long long)*n_out);
        if (*n_out == 1)
            return true; /* n = 1 gives lo; hi is not used */
    }
    if (*lo >= *hi)
        return rp_err(p, v, "write the bounds as [lo, hi] with lo < hi",
                      "bounds of '%s' must have lo < hi, got [%g, %g]", key, *lo, *hi);
    return true;
}

static bool parse_grid(rp *p, const yaml_node_t *m)
{
    bnm_run_sweep *s = &p->run->sweep;
    if (!rp_mapping(p, m, "sweep.grid"))
        return false;
    size_t n = rp_len(m);
    if (n == 0)
        return rp_err(p, m, "e.g. grid: {G: [0.5, 3.0, 11]}", "'sweep.grid' is empty");
    if (!(s->params = calloc(n, sizeof *s->params)))
        return rp_nomem(p);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k, *v = rp_pair(p, m, i, &k);
        const char *name = rp_scalar(k);
        if (!name)
            return rp_err(p, k, NULL, "parameter names must be plain names");
        bnm_run_sweep_param *sp = &s->params[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->params[j].name, name) == 0)
                return rp_err(p, k, "give each key once",
                              "duplicate key '%s' in 'sweep.grid' (first at line %d)", name,
                              s->params[j].loc.line);
        s->n_params = i + 1;
        sp->loc = rp_loc(k);
        if (!(sp->name = run_strdup(name)))
            return rp_nomem(p);
        int64_t nn;
        if (!bounds(p, v, "sweep.grid", name, &sp->lo, &sp->hi, &nn))
            return false;
        sp->n = (uint64_t)nn;
    }
    return true;
}

static bool parse_random(rp *p, const yaml_node_t *m)
{
    static const char *const methods[] = {"uniform", "sobol"};
    bnm_run_sweep *s = &p->run->sweep;
    if (!rp_mapping(p, m, "sweep.random"))
        return false;
    size_t n = rp_len(m);
    if (!(s->params = calloc(n ? n : 1, sizeof *s->params)))
        return rp_nomem(p);
    yaml_node_t *nk = NULL;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k, *v = rp_pair(p, m, i, &k);
        const char *name = rp_scalar(k);
        if (!name)
            return rp_err(p, k, NULL, "parameter names must be plain names");
        if (strcmp(name, "n") == 0) {
            int64_t nv;
            nk = k;
            if (!rp_int(p, v, "sweep.random.n", &nv))
                return false;
            if (nv < 1)
                return rp_err(p, v, "n is the number of parameter sets to draw",
                              "sweep.random.n must be at least 1, got %lld", (long long)nv);
            s->n = (uint64_t)nv;
            continue;
        }
        if (strcmp(name, "method") == 0) {
            int e;
            if (!rp_enum(p, v, "sweep.random.method", methods, RP_COUNT(methods), &e))
                return false;
            s->method = (bnm_sweep_method)e;
            continue;
        }
        for (size_t j = 0; j < s->n_params; j++)
            if (strcmp(s->params[j].name, name) == 0)
                return rp_err(p, k, "give each key once",
                              "duplicate key '%s' in 'sweep.random' (first at line %d)", name,
                              s->params[j].loc.line);
        bnm_run_sweep_param *sp = &s->params[s->n_params++];
        sp->loc = rp_loc(k);
        if (!(sp->name = run_strdup(name)))
            return rp_nomem(p);
        if (!bounds(p, v, "sweep.random", name, &sp->lo, &sp->hi, NULL))
            return false;
    }
    if (!nk)
        return rp_err(p, m, "e.g. random: {n: 1000, method: sobol, G: [0.5, 3.0]}",
                      "missing required key 'n' in 'sweep.random'");
    if (s->n_params == 0)
        return rp_err(p, m, "e.g. random: {n: 1000, method: sobol, G: [0.5, 3.0]}",
                      "'sweep.random' names no parameter");
    for (size_t k = 0; k < s->n_params; k++)
        s->params[k].n = s->n;
    return true;
}

bool run_parse_sweep(rp *p, const yaml_node_t *m)
{
    static const char *const keys[] = {"grid", "random", "table", "combine"};
    static const char *const combines[] = {"product", "zip"};
    bnm_run_sweep *s = &p->run->sweep;
    if (!rp_mapping(p, m, "sweep") || !rp_check_keys(p, m, keys, RP_COUNT(keys), "sweep"))
        return false;
    yaml_node_t *kg, *kr, *kt, *kc;
    yaml_node_t *g = rp_get(p, m, "grid", &kg), *r = rp_get(p, m, "random", &kr),
                *t = rp_get(p, m, "table", &kt), *c = rp_get(p, m, "combine", &kc);
    int count = (g != NULL) + (r != NULL) + (t != NULL);
    if (count != 1)
        return rp_err(p, count ? (kt && kr ? kt : kr ? kr : kt) : m,
                      "use one of grid, random or table",
                      count ? "a sweep has one of grid, random or table, not several"
                            : "'sweep' has none of grid, random or table");
    if (c && !g)
        return rp_err(p, kc, "combine applies to grid sweeps",
                      "'sweep.combine' needs 'sweep.grid'");
    if (c) {
        int e;
        if (!rp_enum(p, c, "sweep.combine", combines, RP_COUNT(combines), &e))
            return false;
        s->combine = (bnm_sweep_combine)e;
    }
    if (g) {
        s->kind = BNM_SWEEP_GRID;
        s->loc = rp_loc(kg);
        return parse_grid(p, g);
    }
    if (r) {
        s->kind = BNM_SWEEP_RANDOM;
        s->loc = rp_loc(kr);
        return parse_random(p, r);
    }
    s->kind = BNM_SWEEP_TABLE;
    s->loc = rp_loc(t);
    if (!rp_path(p, t, "sweep.table", &s->table_path))
        return false;
    p->st = run_read_table(p->ctx, p->run, rp_loc(t));
    return p->st == BNM_OK;
}

bool run_parse_free(rp *p, const yaml_node_t *m)
{
    bnm_run *run = p->run;
    if (!rp_mapping(p, m, "free"))
        return false;
    size_t n = rp_len(m);
    if (n == 0)
        return rp_err(p, m, "e.g. free: {G: [0.001, 10]}", "'free' is empty");
    if (!(run->free_params = calloc(n, sizeof *run->free_params)))
        return rp_nomem(p);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k, *v = rp_pair(p, m, i, &k);
        const char *name = rp_scalar(k);
        if (!name)
            return rp_err(p, k, NULL, "parameter names must be plain names");
        for (size_t j = 0; j < i; j++)
            if (strcmp(run->free_params[j].name, name) == 0)
                return rp_err(p, k, "give each key once",
                              "duplicate key '%s' in 'free' (first at line %d)", name,
                              run->free_params[j].loc.line);
        bnm_run_free *f = &run->free_params[i];
        run->n_free = i + 1;
        f->loc = rp_loc(k);
        if (!(f->name = run_strdup(name)))
            return rp_nomem(p);
        if (!bounds(p, v, "free", name, &f->lo, &f->hi, NULL))
            return false;
    }
    return true;
}

static bool parse_hetero_one(rp *p, const yaml_node_t *m, bnm_run_hetero *h)
{
    static const char *const keys[] = {"groups", "maps", "coef_range", "symmetric"};
    char where[160];
    snprintf(where, sizeof where, "heterogeneous.%s", h->name);
    if (!rp_mapping(p, m, where) || !rp_check_keys(p, m, keys, RP_COUNT(keys), where))
        return false;
    yaml_node_t *kg, *km, *kc, *ks;
    yaml_node_t *g = rp_get(p, m, "groups", &kg), *maps = rp_get(p, m, "maps", &km),
                *c = rp_get(p, m, "coef_range", &kc), *sym = rp_get(p, m, "symmetric", &ks);
    if (sym) {
        char key[200];
        snprintf(key, sizeof key, "%s.symmetric", where);
        h->symmetric_loc = rp_loc(ks);
        if (!rp_bool(p, sym, key, &h->symmetric))
            return false;
    }
    if (g && maps)
        return rp_err(p, km, "give groups: FILE (one value per label) or maps: [FILES]",
                      "'%s' needs exactly one of 'groups' or 'maps'", where);
    /* symmetric: true alone is a grouping of its own (one value per mirrored pair). */
    if (!g && !maps) {
        if (c)
            return rp_err(p, kc, "coef_range applies to maps", "'%s.coef_range' needs 'maps'",
                          where);
        if (h->symmetric)
            return true;
        return rp_err(p, sym ? ks : m,
                      "give groups: FILE (one value per label), maps: [FILES], or symmetric: "
                      "true (one value per pair of mirrored nodes)",
                      "'%s' needs 'groups', 'maps' or 'symmetric: true'", where);
    }
    if (g) {
        if (c)
            return rp_err(p, kc, "coef_range applies to maps", "'%s.coef_range' needs 'maps'",
                          where);
        h->groups_loc = rp_loc(g);
        return rp_path(p, g, "heterogeneous.groups", &h->groups);
    }
    size_t n = maps->type == YAML_SEQUENCE_NODE ? rp_len(maps) : 1;
    if (maps->type == YAML_MAPPING_NODE || n == 0)
        return rp_err(p, maps, "e.g. maps: [maps/myelin.txt]", "'%s.maps' must be a list of files",
                      where);
    if (!(h->maps = calloc(n, sizeof *h->maps)) || !(h->maps_loc = calloc(n, sizeof *h->maps_loc)))
        return rp_nomem(p);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = maps->type == YAML_SEQUENCE_NODE ? rp_item(p, maps, i) : maps;
        h->maps_loc[i] = rp_loc(it);
        if (!rp_path(p, it, "heterogeneous.maps", &h->maps[i]))
            return false;
        h->n_maps = i + 1;
    }
    h->coef_auto = true;
    if (c) {
        const char *s = rp_scalar(c);
        if (s && strcmp(s, "auto") == 0)
            return true;
        if (c->type != YAML_SEQUENCE_NODE)
            return rp_err(p, c, "write auto or [lo, hi]",
                          "'%s.coef_range' must be auto or [lo, hi]",
                          where);
        h->coef_auto = false;
        return bounds(p, c, where, "coef_range", &h->coef_lo, &h->coef_hi, NULL);
    }
    return true;
}

bool run_parse_hetero(rp *p, const yaml_node_t *m)
{
    bnm_run *run = p->run;
    if (!rp_mapping(p, m, "heterogeneous"))
        return false;
    size_t n = rp_len(m);
    if (n && !(run->hetero = calloc(n, sizeof *run->hetero)))
        return rp_nomem(p);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k, *v = rp_pair(p, m, i, &k);
        const char *name = rp_scalar(k);
        if (!name)
            return rp_err(p, k, NULL, "parameter names must be plain names");
        for (size_t j = 0; j < i; j++)
            if (strcmp(run->hetero[j].name, name) == 0)
                return rp_err(p, k, "give each key once",
                              "duplicate key '%s' in 'heterogeneous' (first at line %d)", name,
                              run->hetero[j].loc.line);
        bnm_run_hetero *h = &run->hetero[i];
        run->n_hetero = i + 1;
        h->loc = rp_loc(k);
        if (!(h->name = run_strdup(name)))
            return rp_nomem(p);
        if (!parse_hetero_one(p, v, h))
            return false;
    }
    return true;
}

bool run_parse_optimizer(rp *p, const yaml_node_t *m, const yaml_node_t *key)
{
    static const char *const keys[] = {"method", "popsize", "generations", "sigma0", "tolfun",
                                       "seeds"};
    static const char *const methods[] = {"cmaes"};
    bnm_run_optimizer *o = &p->run->optimizer;
    o->loc = rp_loc(key);
    if (!rp_mapping(p, m, "optimizer") ||
        !rp_check_keys(p, m, keys, RP_COUNT(keys), "optimizer"))
        return false;
    p->run->has_optimizer = true;
    yaml_node_t *v;
    int e = 0;
    if ((v = rp_get(p, m, "method", NULL)) &&
        !rp_enum(p, v, "optimizer.method", methods, RP_COUNT(methods), &e))
        return false;
    if (!(o->method = run_strdup(methods[e])))
        return rp_nomem(p);
    if (!(v = rp_get(p, m, "popsize", NULL)))
        return rp_err(p, m, "e.g. popsize: 64", "missing required key 'popsize' in 'optimizer'");
    if (!rp_int(p, v, "optimizer.popsize", &o->popsize))
        return false;
    if (o->popsize < 2)
        return rp_err(p, v, "CMA-ES needs at least 2 candidates per generation",
                      "optimizer.popsize must be at least 2, got %lld", (long long)o->popsize);
    if (!(v = rp_get(p, m, "generations", NULL)))
        return rp_err(p, m, "e.g. generations: 100",
                      "missing required key 'generations' in 'optimizer'");
    if (!rp_int(p, v, "optimizer.generations", &o->generations))
        return false;
    if (o->generations < 1)
        return rp_err(p, v, "the optimizer runs at least one generation",
                      "optimizer.generations must be at least 1, got %lld",
                      (long long)o->generations);
    if ((v = rp_get(p, m, "sigma0", NULL))) {
        if (!rp_number(p, v, "optimizer.sigma0", &o->sigma0))
            return false;
        if (o->sigma0 <= 0)
            return rp_err(p, v, "sigma0 is the initial step size in the unit cube, e.g. 0.5",
                          "optimizer.sigma0 must be > 0");
    }
    if ((v = rp_get(p, m, "tolfun", NULL))) {
        if (!rp_number(p, v, "optimizer.tolfun", &o->tolfun))
            return false;
        if (o->tolfun < 0)
            return rp_err(p, v, "0 disables the stop on flat cost",
                          "optimizer.tolfun must be >= 0");
    }
    if ((v = rp_get(p, m, "seeds", NULL))) {
        size_t n = v->type == YAML_SEQUENCE_NODE ? rp_len(v) : 1;
        if (v->type == YAML_MAPPING_NODE || n == 0)
            return rp_err(p, v, "e.g. seeds: [1, 2]", "'optimizer.seeds' must be a list of seeds");
        if (!(o->seeds = calloc(n, sizeof *o->seeds)))
            return rp_nomem(p);
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *it = v->type == YAML_SEQUENCE_NODE ? rp_item(p, v, i) : v;
            if (!rp_uint(p, it, "optimizer.seeds", &o->seeds[i]))
                return false;
            for (size_t j = 0; j < i; j++)
                if (o->seeds[j] == o->seeds[i])
                    return rp_err(p, it, "list each seed once", "seed %llu is listed twice",
                                  (unsigned long long)o->seeds[i]);
            o->n_seeds = i + 1;
        }
    } else {
        if (!(o->seeds = calloc(1, sizeof *o->seeds)))
            return rp_nomem(p);
        o->seeds[0] = p->run->seed;
        o->n_seeds = 1;
    }
    return true;
}

static const bnm_run_param *fixed_param(const bnm_run *r, const char *name)
{
    for (size_t i = 0; i < r->n_params; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return &r->params[i];
    return NULL;
}

bool run_check_overlaps(rp *p)
{
    const bnm_run *r = p->run;
    const bnm_run_param *fx;
    /* interface.md 2: params hold "values shared by all simulations unless swept", so a
     * swept or free value overrides a fixed one; say so, since it may be a mistake. */
    for (size_t k = 0; k < r->sweep.n_params; k++) {
        const bnm_run_sweep_param *sp = &r->sweep.params[k];
        if ((fx = fixed_param(r, sp->name)))
            bnm_log_warn("%s:%d:%d: parameter '%s' is swept, so its value in params (line %d) "
                         "is not used",
                         r->path, sp->loc.line, sp->loc.col, sp->name, fx->loc.line);
    }
    for (size_t k = 0; k < r->n_free; k++) {
        const bnm_run_free *f = &r->free_params[k];
        if ((fx = fixed_param(r, f->name)))
            bnm_log_warn("%s:%d:%d: parameter '%s' is free, so its value in params (line %d) "
                         "is not used",
                         r->path, f->loc.line, f->loc.col, f->name, fx->loc.line);
    }
    for (size_t k = 0; k < r->n_hetero; k++) {
        const bnm_run_hetero *h = &r->hetero[k];
        bool is_free = false;
        for (size_t j = 0; j < r->n_free && !is_free; j++)
            is_free = strcmp(r->free_params[j].name, h->name) == 0;
        if (!is_free) {
            p->st = run_error(p->ctx, r->path, h->loc, "add it to free with its bounds",
                              "heterogeneous parameter '%s' is not free", h->name);
            return false;
        }
    }
    return true;
}
