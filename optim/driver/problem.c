/* The optimisation problem of a run file: validation against the model and the data,
 * and the mapping from the optimizer's [0, 1]^d to model param values per node
 * (clbnm/optimize.h documents the mapping and the automatic coefficient range). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/data.h"
#include "opt_internal.h"

void bnm_opt_problem_config_init_defaults(bnm_opt_problem_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

bnm_status opt_fail_at(bnm_context *ctx, bnm_status st, const bnm_run *run, bnm_run_loc loc,
                       const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (loc.line > 0)
        return bnm_fail(ctx, st, "%s:%d:%d: error: %s", run->path ? run->path : "run file",
                        loc.line, loc.col, msg);
    return bnm_fail(ctx, st, "%s: error: %s", run->path ? run->path : "run file", msg);
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void bnm_opt_problem_destroy(bnm_opt_problem *p)
{
    if (!p)
        return;
    for (size_t e = 0; e < p->n_entries; e++) {
        free(p->entries[e].labels);
        free(p->entries[e].node_group);
        free(p->entries[e].maps);
        free(p->entries[e].coef_lo);
    }
    free(p->entries);
    for (size_t j = 0; j < p->dim; j++)
        free(p->coord_names[j]);
    free(p->coord_names);
    free(p->lo);
    free(p->hi);
    free(p->param_names);
    free(p->regional);
    free(p);
}

static const bnm_run_hetero *find_hetero(const bnm_run *run, const char *name)
{
    for (size_t k = 0; k < run->n_hetero; k++)
        if (strcmp(run->hetero[k].name, name) == 0)
            return &run->hetero[k];
    return NULL;
}

static bool is_fic_name(const bnm_opt_problem_config *cfg, const char *name)
{
    for (size_t k = 0; k < cfg->n_fic_names; k++)
        if (cfg->fic_names[k] && strcmp(cfg->fic_names[k], name) == 0)
            return true;
    return false;
}

/* Reads a per-node file; a wrong length is reported at the run-file key. */
static bnm_status read_node_file(bnm_context *ctx, const bnm_run *run, bnm_run_loc loc,
                                 const char *key, const char *path, size_t n, double **out)
{
    bnm_matrix m = {0};
    bnm_status st = bnm_matrix_read(ctx, path, &m);
    if (st == BNM_OK)
        st = bnm_map_prepare(ctx, path, &m, n);
    if (st != BNM_OK) {
        char inner[900];
        snprintf(inner, sizeof inner, "%s", bnm_context_message(ctx));
        bnm_matrix_free(&m);
        return opt_fail_at(ctx, st, run, loc, "%s: %s", key, inner);
    }
    *out = m.data;
    return BNM_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Distinct values of lab[n] ascending into e->labels, and each node's index into them. */
static bnm_status index_labels(bnm_context *ctx, const double *lab, size_t n, opt_entry *e)
{
    double *sorted = malloc(n * sizeof *sorted);
    size_t *node_group = malloc(n * sizeof *node_group);
    if (!sorted || !node_group) {
        free(sorted);
        free(node_group);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (group labels)");
    }
    memcpy(sorted, lab, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    size_t g = 0;
    for (size_t i = 0; i < n; i++)
        if (g == 0 || sorted[i] != sorted[g - 1])
            sorted[g++] = sorted[i];
    for (size_t i = 0; i < n; i++) {
        const double *hit = bsearch(&lab[i], sorted, g, sizeof *sorted, cmp_double);
        node_group[i] = (size_t)(hit - sorted);
    }
    free(e->labels);
    free(e->node_group);
    e->labels = sorted;
    e->node_group = node_group;
    e->n_groups = g;
    return BNM_OK;
}

static size_t uf_find(size_t *parent, size_t a)
{
    while (parent[a] != a)
        a = parent[a] = parent[parent[a]];
    return a;
}

/* groups with symmetric: node i and its mirror m = (i + N/2) mod N must share a value,
 * and so must nodes of one label. Allowed when that merges no two labels of one
 * hemisphere: every left label then pairs one to one with a right label (the same label
 * or another), and each pair becomes one coordinate named by its left label. Any other
 * file is refused rather than silently coarsened. */
static bnm_status pair_labels(bnm_context *ctx, const bnm_run *run, const bnm_run_hetero *h,
                              const char *key, double *lab, size_t n, opt_entry *e)
{
    size_t half = n / 2, g;
    bnm_status st = index_labels(ctx, lab, n, e);
    if (st != BNM_OK)
        return st;
    g = e->n_groups;
    size_t *parent = malloc(g * sizeof *parent), *first = malloc(2 * g * sizeof *first);
    if (!parent || !first) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (group labels)");
        goto done;
    }
    for (size_t c = 0; c < g; c++)
        parent[c] = c;
    for (size_t i = 0; i < half; i++) {
        size_t a = uf_find(parent, e->node_group[i]), b = uf_find(parent, e->node_group[i + half]);
        if (a != b)
            parent[a > b ? a : b] = a < b ? a : b;
    }
    /* first[side * g + class]: the first node of that hemisphere in the class (n: none). */
    for (size_t c = 0; c < 2 * g; c++)
        first[c] = n;
    for (size_t i = 0; i < n; i++) {
        size_t side = i >= half, c = uf_find(parent, e->node_group[i]);
        size_t *f = &first[side * g + c];
        if (*f == n) {
            *f = i;
        } else if (lab[*f] != lab[i]) {
            st = opt_fail_at(ctx, BNM_ERR_DATA, run, h->symmetric_loc,
                             "%s with symmetric: true: the labels do not pair up across the "
                             "hemispheres: nodes %zu (label %.0f) and %zu (label %.0f) of the %s "
                             "hemisphere would have to share one value through their mirrors "
                             "(node i mirrors node i + N/2, N = %zu); give mirrored nodes the "
                             "same label, or labels that pair one to one",
                             key, *f + 1, lab[*f], i + 1, lab[i], side ? "right" : "left", n);
            goto done;
        }
    }
    /* Every class holds one left label: relabel each node with it. */
    for (size_t i = 0; i < n; i++)
        lab[i] = lab[first[uf_find(parent, e->node_group[i])]];
    st = index_labels(ctx, lab, n, e);
done:
    free(parent);
    free(first);
    return st;
}

static bnm_status setup_groups(bnm_context *ctx, const bnm_run *run, const bnm_run_hetero *h,
                               size_t n, opt_entry *e)
{
    double *lab = NULL;
    char key[300];
    bnm_status st;
    if (!h->groups) {
        /* symmetric alone: pair k is node k and its mirror k + N/2. */
        if (!(lab = malloc(n * sizeof *lab)))
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (group labels)");
        for (size_t i = 0; i < n; i++)
            lab[i] = (double)(i % (n / 2));
        e->pairs = true;
        st = index_labels(ctx, lab, n, e);
        free(lab);
        return st;
    }
    snprintf(key, sizeof key, "heterogeneous.%s.groups", h->name);
    st = read_node_file(ctx, run, h->groups_loc, key, h->groups, n, &lab);
    if (st != BNM_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if (lab[i] != floor(lab[i]) || fabs(lab[i]) > 1e9) {
            st = opt_fail_at(ctx, BNM_ERR_DATA, run, h->groups_loc,
                             "%s: labels must be integers, node %zu has %g", key, i + 1, lab[i]);
            free(lab);
            return st;
        }
    st = h->symmetric ? pair_labels(ctx, run, h, key, lab, n, e) : index_labels(ctx, lab, n, e);
    free(lab);
    return st;
}

static bnm_status setup_maps(bnm_context *ctx, const bnm_run *run, const bnm_run_hetero *h,
                             size_t n, opt_entry *e)
{
    e->n_maps = h->n_maps;
    if (!(e->maps = calloc(h->n_maps * n, sizeof *e->maps)) ||
        !(e->coef_lo = calloc(2 * h->n_maps, sizeof *e->coef_lo)))
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (maps)");
    e->coef_hi = e->coef_lo + h->n_maps;
    for (size_t k = 0; k < h->n_maps; k++) {
        char key[300];
        snprintf(key, sizeof key, "heterogeneous.%s.maps[%zu]", h->name, k);
        double *m = NULL;
        bnm_status st = read_node_file(ctx, run, h->maps_loc[k], key, h->maps[k], n, &m);
        if (st != BNM_OK)
            return st;
        memcpy(e->maps + k * n, m, n * sizeof *m);
        free(m);
        /* symmetric: both nodes of a mirrored pair take the pair's mean, so they get one
         * value; the automatic range below then follows the averaged map. */
        if (h->symmetric)
            for (size_t i = 0; i < n / 2; i++) {
                double *a = &e->maps[k * n + i], *b = &e->maps[k * n + i + n / 2];
                *a = *b = 0.5 * (*a + *b);
            }
        if (h->coef_auto) {
            double mx = 0;
            for (size_t i = 0; i < n; i++)
                mx = fmax(mx, fabs(e->maps[k * n + i]));
            if (!(mx > 0))
                return opt_fail_at(ctx, BNM_ERR_DATA, run, h->maps_loc[k],
                                   "%s: the map is zero at every node, so coef_range auto has "
                                   "no scale (give coef_range: [lo, hi] or another map)", key);
            /* |c_k m_k[i]| <= 1/K for every node, so the scale 1 + sum stays in [0, 2]. */
            e->coef_hi[k] = 1.0 / ((double)h->n_maps * mx);
            e->coef_lo[k] = -e->coef_hi[k];
        } else {
            e->coef_lo[k] = h->coef_lo;
            e->coef_hi[k] = h->coef_hi;
        }
    }
    return BNM_OK;
}

static bnm_status check_run(bnm_context *ctx, const bnm_opt_problem_config *cfg)
{
    const bnm_run *run = cfg->run;
    if (!run->has_optimizer || run->n_free == 0)
        return opt_fail_at(ctx, BNM_ERR_RUN, run, run->optimizer.loc,
                           "an optimize run needs 'free' and 'optimizer'");
    if (run->optimizer.popsize < 2)
        return opt_fail_at(ctx, BNM_ERR_RUN, run, run->optimizer.loc,
                           "optimizer.popsize must be at least 2, got %lld",
                           (long long)run->optimizer.popsize);
    if (run->optimizer.generations < 1)
        return opt_fail_at(ctx, BNM_ERR_RUN, run, run->optimizer.loc,
                           "optimizer.generations must be at least 1");
    if (run->optimizer.method && strcmp(run->optimizer.method, "cmaes") != 0)
        return opt_fail_at(ctx, BNM_ERR_RUN, run, run->optimizer.loc,
                           "unknown optimizer.method '%s' (only cmaes)", run->optimizer.method);
    if (run->n_subjects == 0)
        return opt_fail_at(ctx, BNM_ERR_RUN, run, (bnm_run_loc){0, 0}, "no subjects");
    bnm_status st = bnm_run_check_model(ctx, run, cfg->param_names, cfg->n_param_names, NULL, 0);
    if (st != BNM_OK)
        return st;
    for (size_t f = 0; f < run->n_free; f++) {
        const bnm_run_free *fr = &run->free_params[f];
        if (!(fr->lo < fr->hi) || !isfinite(fr->lo) || !isfinite(fr->hi))
            return opt_fail_at(ctx, BNM_ERR_RUN, run, fr->loc,
                               "bounds of '%s' must have lo < hi, got [%g, %g]", fr->name,
                               fr->lo, fr->hi);
        if (run->fic.enabled && is_fic_name(cfg, fr->name))
            return opt_fail_at(ctx, BNM_ERR_RUN, run, fr->loc,
                               "'%s' cannot be free while FIC is on: FIC sets it per node "
                               "(set fic: false to fit it)", fr->name);
    }
    for (size_t k = 0; k < run->n_hetero; k++)
        if (run->fic.enabled && is_fic_name(cfg, run->hetero[k].name))
            return opt_fail_at(ctx, BNM_ERR_RUN, run, run->hetero[k].loc,
                               "'%s' cannot be heterogeneous while FIC is on: FIC sets it per "
                               "node (set fic: false to fit it)", run->hetero[k].name);
    for (size_t s = 1; s < run->n_subjects; s++)
        if (cfg->subject_nodes[s] != cfg->subject_nodes[0])
            return opt_fail_at(ctx, BNM_ERR_DATA, run, run->subjects[s].loc,
                               "subject '%s' has %zu nodes but subject '%s' has %zu: every "
                               "subject of one optimize run needs the same N",
                               run->subjects[s].id, cfg->subject_nodes[s], run->subjects[0].id,
                               cfg->subject_nodes[0]);
    if (cfg->subject_nodes[0] == 0)
        return opt_fail_at(ctx, BNM_ERR_DATA, run, run->subjects[0].loc,
                           "subject '%s' has no nodes", run->subjects[0].id);
    /* odd N with symmetric, per-node params of another length */
    return bnm_run_check_nodes(ctx, run, cfg->subject_nodes[0]);
}

static bnm_status add_coord(bnm_context *ctx, bnm_opt_problem *p, char *name, double lo,
                            double hi)
{
    if (!name)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (coordinate names)");
    p->coord_names[p->dim] = name;
    p->lo[p->dim] = lo;
    p->hi[p->dim] = hi;
    p->dim++;
    return BNM_OK;
}

bnm_status bnm_opt_problem_create(bnm_context *ctx, const bnm_opt_problem_config *cfg,
                                  bnm_opt_problem **out)
{
    *out = NULL;
    if (!cfg || !cfg->run || !cfg->subject_nodes || (cfg->n_param_names && !cfg->param_names))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_opt_problem_create: missing run, "
                        "subject node counts or param names");
    bnm_status st = check_run(ctx, cfg);
    if (st != BNM_OK)
        return st;
    const bnm_run *run = cfg->run;
    size_t n = cfg->subject_nodes[0];
    bnm_opt_problem *p = calloc(1, sizeof *p);
    if (!p)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (optimisation problem)");
    p->run = run;
    p->n_nodes = n;
    p->n_entries = run->n_free;
    p->entries = calloc(run->n_free, sizeof *p->entries);
    p->param_names = calloc(run->n_free, sizeof *p->param_names);
    p->regional = calloc(run->n_free, sizeof *p->regional);
    if (!p->entries || !p->param_names || !p->regional) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (optimisation problem)");
        goto fail;
    }
    size_t cap = 0;
    for (size_t f = 0; f < run->n_free; f++) {
        opt_entry *e = &p->entries[f];
        const bnm_run_free *fr = &run->free_params[f];
        const bnm_run_hetero *h = find_hetero(run, fr->name);
        e->name = fr->name;
        e->lo = fr->lo;
        e->hi = fr->hi;
        p->param_names[f] = fr->name;
        if (h && (h->groups || !h->maps)) {
            e->kind = OPT_GROUPS;
            if ((st = setup_groups(ctx, run, h, n, e)) != BNM_OK)
                goto fail;
            cap += e->n_groups;
        } else if (h) {
            e->kind = OPT_MAPS;
            if ((st = setup_maps(ctx, run, h, n, e)) != BNM_OK)
                goto fail;
            cap += 1 + e->n_maps;
        } else {
            e->kind = OPT_PLAIN;
            cap += 1;
        }
        p->regional[f] = e->kind != OPT_PLAIN;
    }
    p->coord_names = calloc(cap, sizeof *p->coord_names);
    p->lo = malloc(cap * sizeof *p->lo);
    p->hi = malloc(cap * sizeof *p->hi);
    if (!p->coord_names || !p->lo || !p->hi) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (optimisation problem)");
        goto fail;
    }
    for (size_t f = 0; f < p->n_entries && st == BNM_OK; f++) {
        opt_entry *e = &p->entries[f];
        e->coord0 = p->dim;
        if (e->kind == OPT_GROUPS) {
            for (size_t g = 0; g < e->n_groups && st == BNM_OK; g++)
                st = add_coord(ctx, p,
                               dup_printf(e->pairs ? "%s_pair%.0f" : "%s_%.0f", e->name,
                                          e->labels[g]),
                               e->lo, e->hi);
        } else {
            st = add_coord(ctx, p, dup_printf("%s", e->name), e->lo, e->hi);
            for (size_t k = 0; k < e->n_maps && st == BNM_OK; k++)
                st = add_coord(ctx, p, dup_printf("%s_c%zu", e->name, k), e->coef_lo[k],
                               e->coef_hi[k]);
        }
    }
    if (st != BNM_OK)
        goto fail;
    *out = p;
    return BNM_OK;
fail:
    bnm_opt_problem_destroy(p);
    return st;
}

size_t bnm_opt_problem_nodes(const bnm_opt_problem *p) { return p->n_nodes; }
size_t bnm_opt_problem_dim(const bnm_opt_problem *p) { return p->dim; }
size_t bnm_opt_problem_n_params(const bnm_opt_problem *p) { return p->n_entries; }

const char *bnm_opt_problem_coord_name(const bnm_opt_problem *p, size_t j)
{
    return j < p->dim ? p->coord_names[j] : NULL;
}

void bnm_opt_problem_coord_bounds(const bnm_opt_problem *p, size_t j, double *lo, double *hi)
{
    *lo = j < p->dim ? p->lo[j] : NAN;
    *hi = j < p->dim ? p->hi[j] : NAN;
}

const char *bnm_opt_problem_param_name(const bnm_opt_problem *p, size_t j)
{
    return j < p->n_entries ? p->param_names[j] : NULL;
}

bool bnm_opt_problem_param_regional(const bnm_opt_problem *p, size_t j)
{
    return j < p->n_entries && p->regional[j];
}

double opt_coord_value(const bnm_opt_problem *p, size_t j, double x01)
{
    return p->lo[j] + x01 * (p->hi[j] - p->lo[j]);
}

void bnm_opt_problem_map(const bnm_opt_problem *p, const double *x01, double *values)
{
    size_t n = p->n_nodes;
    for (size_t f = 0; f < p->n_entries; f++) {
        const opt_entry *e = &p->entries[f];
        double *v = values + f * n;
        size_t c = e->coord0;
        if (e->kind == OPT_PLAIN) {
            double P = opt_coord_value(p, c, x01[c]);
            for (size_t i = 0; i < n; i++)
                v[i] = P;
        } else if (e->kind == OPT_GROUPS) {
            for (size_t i = 0; i < n; i++) {
                size_t j = c + e->node_group[i];
                v[i] = opt_coord_value(p, j, x01[j]);
            }
        } else {
            double P = opt_coord_value(p, c, x01[c]);
            for (size_t i = 0; i < n; i++) {
                double s = 1.0;
                for (size_t k = 0; k < e->n_maps; k++)
                    s += opt_coord_value(p, c + 1 + k, x01[c + 1 + k]) * e->maps[k * n + i];
                v[i] = fmin(e->hi, fmax(e->lo, P * s));
            }
        }
    }
}

size_t bnm_opt_problem_n_runs(const bnm_opt_problem *p)
{
    return p->run->n_subjects * opt_n_seeds(p->run);
}

size_t opt_n_seeds(const bnm_run *run)
{
    return run->optimizer.n_seeds ? run->optimizer.n_seeds : 1;
}

void bnm_opt_problem_run_info(const bnm_opt_problem *p, size_t k, size_t *subject,
                              uint64_t *opt_seed, uint64_t *noise_seed)
{
    size_t ns = opt_n_seeds(p->run);
    if (subject)
        *subject = k / ns;
    if (opt_seed)
        *opt_seed = p->run->optimizer.n_seeds ? p->run->optimizer.seeds[k % ns] : p->run->seed;
    if (noise_seed)
        *noise_seed = p->run->seed;
}

static uint64_t splitmix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

uint64_t bnm_opt_cmaes_seed(uint64_t run_seed, uint64_t opt_seed)
{
    return splitmix64(splitmix64(run_seed) ^ opt_seed);
}
