#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_internal.h"

void bnm_h5_layout_init_defaults(bnm_h5_layout *layout)
{
    memset(layout, 0, sizeof *layout);
}

void h5_chunk_shape(int ndim, const hsize_t *dims, size_t elem, bool compressed,
                    size_t time_block, size_t target, hsize_t *chunk)
{
    for (int k = 0; k < ndim; k++)
        chunk[k] = dims[k] ? dims[k] : 1;
    chunk[0] = 1;
    if (ndim == 3 && time_block && chunk[1] > time_block)
        chunk[1] = time_block;
    /* Shrink the inner dimensions, outermost first (time for 3-D datasets), so a
     * simulation's chunk fits in target bytes. */
    for (int k = 1; k < ndim; k++) {
        size_t inner = elem;
        for (int m = k + 1; m < ndim; m++)
            inner *= (size_t)chunk[m];
        size_t fit = target / inner;
        if (fit < 1)
            fit = 1;
        if (chunk[k] > fit)
            chunk[k] = fit;
    }
    if (compressed)
        return;
    size_t row = elem;
    for (int k = 1; k < ndim; k++)
        row *= (size_t)chunk[k];
    size_t rows = target / row;
    if (rows < 1)
        rows = 1;
    chunk[0] = rows < dims[0] ? rows : dims[0];
    if (chunk[0] < 1)
        chunk[0] = 1;
}

/* Names become HDF5 link names, so '/' would silently create nested groups. */
static bool name_ok(const char *s)
{
    return s && s[0] && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static bnm_status add(bnm_context *ctx, h5_plan *plan, size_t *cap, const char *group,
                      const char *leaf, int ndim, size_t d1, size_t d2, bnm_h5_type type,
                      h5_kind kind, bool compressed, size_t n_sims, size_t time_block)
{
    if (plan->n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 32;
        h5_plan_entry *e = realloc(plan->entries, ncap * sizeof *e);
        if (!e)
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory planning the output file");
        plan->entries = e;
        *cap = ncap;
    }
    h5_plan_entry *e = &plan->entries[plan->n];
    memset(e, 0, sizeof *e);
    size_t len = (group ? strlen(group) + 1 : 0) + strlen(leaf) + 1;
    e->name = malloc(len);
    if (!e->name)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory planning the output file");
    if (group)
        snprintf(e->name, len, "%s/%s", group, leaf);
    else
        snprintf(e->name, len, "%s", leaf);
    plan->n++;
    e->ndim = ndim;
    e->dims[0] = n_sims;
    e->dims[1] = d1;
    e->dims[2] = d2;
    e->type = type;
    e->kind = kind;
    e->compressed = compressed;
    size_t elem = kind == H5K_SUBJECT ? plan->subject_len : bnm_h5_type_size(type);
    h5_chunk_shape(ndim, e->dims, elem, compressed, time_block, H5_CHUNK_TARGET, e->chunk);
    return BNM_OK;
}

static bnm_status check_names(bnm_context *ctx, const char *path, const char *what,
                              const char *const *names, size_t n)
{
    if (n && !names)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: %zu %s names given as NULL", path, n,
                        what);
    for (size_t k = 0; k < n; k++)
        if (!name_ok(names[k]))
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                            "%s: %s name '%s' is not usable as an HDF5 name (empty, '.', "
                            "'..' or containing '/')",
                            path, what, names[k] ? names[k] : "(null)");
    return BNM_OK;
}

static bnm_status build_fc_pairs(bnm_context *ctx, const char *path, const bnm_h5_layout *l,
                                 h5_plan *plan)
{
    size_t n = l->n_nodes;
    if (l->fc_pairs) {
        if (l->n_fc_pairs == 0)
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: fc_pairs given with n_fc_pairs 0",
                            path);
        for (size_t p = 0; p < l->n_fc_pairs; p++) {
            int32_t i = l->fc_pairs[2 * p], j = l->fc_pairs[2 * p + 1];
            if (i < 0 || j < 0 || (size_t)i >= n || (size_t)j >= n || i == j)
                return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                                "%s: FC pair %zu is (%d, %d); nodes must differ and lie in "
                                "0..%zu",
                                path, p, (int)i, (int)j, n - 1);
        }
        plan->n_fc_pairs = l->n_fc_pairs;
        plan->fc_pairs = malloc(2 * plan->n_fc_pairs * sizeof *plan->fc_pairs);
        if (!plan->fc_pairs)
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the FC pair list");
        memcpy(plan->fc_pairs, l->fc_pairs, 2 * plan->n_fc_pairs * sizeof *plan->fc_pairs);
        return BNM_OK;
    }
    if (l->exc_interhemispheric && n % 2)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: exc_interhemispheric needs an even number of nodes, not %zu", path,
                        n);
    if (n < 2 || n > INT32_MAX)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: FC needs 2 or more nodes, not %zu",
                        path, n);
    size_t cap = n * (n - 1) / 2;
    plan->fc_pairs = malloc(2 * cap * sizeof *plan->fc_pairs);
    if (!plan->fc_pairs)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the FC pair list");
    size_t half = n / 2, np = 0;
    /* analysis.md section 5.2: (i, j), i > j, row-major; crossing pairs dropped in order. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            if (l->exc_interhemispheric && ((i < half) != (j < half)))
                continue;
            plan->fc_pairs[2 * np] = (int32_t)i;
            plan->fc_pairs[2 * np + 1] = (int32_t)j;
            np++;
        }
    if (np == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: the FC pair list is empty", path);
    plan->n_fc_pairs = np;
    return BNM_OK;
}

bnm_status h5_plan_build(bnm_context *ctx, const char *path, const bnm_h5_layout *l,
                         h5_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    bnm_status st;
    size_t cap = 0, S = l->n_sims, N = l->n_nodes;

    if (S == 0 || N == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: the output needs at least one simulation and one node "
                        "(n_sims %zu, n_nodes %zu)",
                        path, S, N);
    if (l->n_subjects == 0 || !l->subject_ids)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: the output needs at least one subject",
                        path);
    if ((st = check_names(ctx, path, "subject", l->subject_ids, l->n_subjects)) ||
        (st = check_names(ctx, path, "states_mean variable", l->states_mean,
                          l->n_states_mean)) ||
        (st = check_names(ctx, path, "states_ts variable", l->states_ts, l->n_states_ts)) ||
        (st = check_names(ctx, path, "score term", l->score_terms, l->n_score_terms)))
        return st;
    if (l->n_params && !l->params)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: %zu parameters given as NULL", path,
                        l->n_params);
    for (size_t k = 0; k < l->n_params; k++)
        if (!name_ok(l->params[k].name))
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                            "%s: parameter name '%s' is not usable as an HDF5 name", path,
                            l->params[k].name ? l->params[k].name : "(null)");
    if (l->bold && l->n_vols == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: bold output with 0 volumes", path);
    if (l->fcd && l->n_fcd_windows < 2)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: fcd output needs 2 or more windows, not %zu", path,
                        l->n_fcd_windows);
    if (l->n_states_ts && l->n_ts_samples == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: states_ts output with 0 samples", path);
    if (l->bold && l->n_vols > UINT32_MAX)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: %zu BOLD volumes is too many", path,
                        l->n_vols);
    if (l->n_states_ts && l->n_ts_samples > UINT32_MAX)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: %zu states_ts samples is too many",
                        path, l->n_ts_samples);

    plan->subject_len = 1;
    for (size_t k = 0; k < l->n_subjects; k++)
        if (strlen(l->subject_ids[k]) > plan->subject_len)
            plan->subject_len = strlen(l->subject_ids[k]);
    if (l->fc && (st = build_fc_pairs(ctx, path, l, plan)))
        goto fail;

#define ADD(group, leaf, ndim, d1, d2, type, kind, comp, tb)                                  \
    do {                                                                                      \
        if ((st = add(ctx, plan, &cap, group, leaf, ndim, d1, d2, type, kind, comp, S, tb))) \
            goto fail;                                                                        \
    } while (0)

    if (l->bold)
        ADD(NULL, "bold", 3, l->n_vols, N, BNM_H5_F32, H5K_NUMERIC, false, 0);
    if (l->fc)
        ADD(NULL, "fc", 2, plan->n_fc_pairs, 0, BNM_H5_F32, H5K_NUMERIC, false, 0);
    if (l->fcd)
        ADD(NULL, "fcd", 2, l->n_fcd_windows * (l->n_fcd_windows - 1) / 2, 0, BNM_H5_F32,
            H5K_NUMERIC, false, 0);
    for (size_t k = 0; k < l->n_states_mean; k++)
        ADD("states_mean", l->states_mean[k], 2, N, 0, BNM_H5_F64, H5K_NUMERIC, false, 0);
    for (size_t k = 0; k < l->n_states_ts; k++)
        ADD("states_ts", l->states_ts[k], 3, l->n_ts_samples, N, BNM_H5_F32, H5K_NUMERIC,
            true, l->ts_block);
    if (l->scores) {
        for (size_t k = 0; k < l->n_score_terms; k++)
            ADD("scores", l->score_terms[k], 1, 0, 0, BNM_H5_F64, H5K_NUMERIC, false, 0);
        ADD("scores", "gof", 1, 0, 0, BNM_H5_F64, H5K_NUMERIC, false, 0);
        ADD("scores", "cost", 1, 0, 0, BNM_H5_F64, H5K_NUMERIC, false, 0);
        ADD("scores", "fic_penalty", 1, 0, 0, BNM_H5_F64, H5K_NUMERIC, false, 0);
    }
    ADD("status", "diverged", 1, 0, 0, BNM_H5_U8, H5K_NUMERIC, false, 0);
    if (l->fic) {
        ADD("fic", "failed", 1, 0, 0, BNM_H5_U8, H5K_NUMERIC, false, 0);
        ADD("fic", "trials", 1, 0, 0, BNM_H5_I32, H5K_NUMERIC, false, 0);
    }
    for (size_t k = 0; k < l->n_params; k++)
        ADD("params", l->params[k].name, l->params[k].regional ? 2 : 1, N, 0, BNM_H5_F64,
            H5K_NUMERIC, false, 0);
    ADD("sims", "seed", 1, 0, 0, BNM_H5_U64, H5K_NUMERIC, false, 0);
    ADD("sims", "subject", 1, 0, 0, BNM_H5_U8, H5K_SUBJECT, false, 0);
    ADD("sims", "subject_index", 1, 0, 0, BNM_H5_I32, H5K_NUMERIC, false, 0);
#undef ADD

    /* Duplicates (a score term called "gof", a parameter listed twice) would otherwise
     * surface as an HDF5 "already exists" failure halfway through creating the file. */
    for (size_t a = 0; a < plan->n; a++)
        for (size_t b = a + 1; b < plan->n; b++)
            if (strcmp(plan->entries[a].name, plan->entries[b].name) == 0) {
                st = bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: output /%s is listed twice", path,
                              plan->entries[a].name);
                goto fail;
            }
    for (size_t a = 0; a < l->n_subjects; a++)
        for (size_t b = a + 1; b < l->n_subjects; b++)
            if (strcmp(l->subject_ids[a], l->subject_ids[b]) == 0) {
                st = bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: subject '%s' is listed twice",
                              path, l->subject_ids[a]);
                goto fail;
            }
    return BNM_OK;
fail:
    h5_plan_free(plan);
    return st;
}

void h5_plan_free(h5_plan *plan)
{
    if (!plan)
        return;
    for (size_t k = 0; k < plan->n; k++)
        free(plan->entries[k].name);
    free(plan->entries);
    free(plan->fc_pairs);
    memset(plan, 0, sizeof *plan);
}
