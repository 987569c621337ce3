/* Orientation and validity rules of interface.md section 3. Orientation is never
 * guessed when it is ambiguous. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/data.h"

static void transpose(bnm_matrix *m)
{
    double *t = malloc(m->rows * m->cols * sizeof *t);
    if (!t)
        return; /* callers check the result through the returned status */
    for (size_t r = 0; r < m->rows; r++)
        for (size_t c = 0; c < m->cols; c++)
            t[c * m->rows + r] = m->data[r * m->cols + c];
    free(m->data);
    m->data = t;
    size_t rows = m->rows;
    m->rows = m->cols;
    m->cols = rows;
}

static bool symmetric(const bnm_matrix *m)
{
    size_t n = m->rows;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            double a = m->data[i * n + j], b = m->data[j * n + i];
            /* Exact up to text round-trip noise; a real asymmetry is far larger. */
            if (fabs(a - b) > 1e-12 * fmax(fabs(a), fabs(b)))
                return false;
        }
    return true;
}

static bnm_status check_square_nonneg(bnm_context *ctx, const char *what, const char *kind,
                                      const bnm_matrix *m)
{
    if (m->rows != m->cols)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: %s must be square, but it is %zu x %zu", what,
                        kind, m->rows, m->cols);
    for (size_t k = 0; k < m->rows * m->cols; k++) {
        if (!isfinite(m->data[k]))
            return bnm_fail(ctx, BNM_ERR_DATA, "%s: non-finite %s value at row %zu, column %zu",
                            what, kind, k / m->cols + 1, k % m->cols + 1);
        if (m->data[k] < 0)
            return bnm_fail(ctx, BNM_ERR_DATA,
                            "%s: negative %s value %g at row %zu, column %zu; values must be "
                            ">= 0",
                            what, kind, m->data[k], k / m->cols + 1, k % m->cols + 1);
    }
    return BNM_OK;
}

static bnm_status orient(bnm_context *ctx, const char *what, bnm_matrix *m,
                         bnm_sc_orientation o)
{
    if (o == BNM_SC_UNSPECIFIED && !symmetric(m))
        return bnm_fail(ctx, BNM_ERR_DATA,
                        "%s: the matrix is not symmetric, so its orientation must be stated: set "
                        "'sc_orientation: source_rows' (row j holds the weights from node j) or "
                        "'sc_orientation: target_rows' (row i holds the weights into node i)",
                        what);
    if (o == BNM_SC_SOURCE_ROWS) {
        size_t cells = m->rows * m->cols;
        double *before = m->data;
        transpose(m);
        if (m->data == before && cells > 1)
            return bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory", what);
    }
    return BNM_OK;
}

bnm_status bnm_sc_prepare(bnm_context *ctx, const char *what, bnm_matrix *sc,
                          bnm_sc_orientation orientation)
{
    bnm_status st = check_square_nonneg(ctx, what, "connectome", sc);
    return st ? st : orient(ctx, what, sc, orientation);
}

bnm_status bnm_lengths_prepare(bnm_context *ctx, const char *what, bnm_matrix *lengths,
                               size_t n, bnm_sc_orientation orientation)
{
    bnm_status st = check_square_nonneg(ctx, what, "tract length", lengths);
    if (st)
        return st;
    if (lengths->rows != n)
        return bnm_fail(ctx, BNM_ERR_DATA,
                        "%s: tract lengths are %zu x %zu but the connectome has %zu nodes", what,
                        lengths->rows, lengths->cols, n);
    return orient(ctx, what, lengths, orientation);
}

bnm_status bnm_bold_prepare(bnm_context *ctx, const char *what, bnm_matrix *bold, size_t n,
                            bnm_bold_layout layout)
{
    bool rows_n = bold->rows == n, cols_n = bold->cols == n;
    if (layout == BNM_BOLD_UNSPECIFIED) {
        if (rows_n && cols_n)
            return bnm_fail(ctx, BNM_ERR_DATA,
                            "%s: BOLD is %zu x %zu and the connectome has %zu nodes, so either "
                            "side could be the nodes: set 'bold_layout: nodes_by_time' or "
                            "'bold_layout: time_by_nodes'",
                            what, bold->rows, bold->cols, n);
        if (!rows_n && !cols_n)
            return bnm_fail(ctx, BNM_ERR_DATA,
                            "%s: BOLD is %zu x %zu but the connectome has %zu nodes; one side "
                            "must equal the number of nodes",
                            what, bold->rows, bold->cols, n);
        layout = rows_n ? BNM_BOLD_NODES_BY_TIME : BNM_BOLD_TIME_BY_NODES;
    } else if ((layout == BNM_BOLD_NODES_BY_TIME && !rows_n) ||
               (layout == BNM_BOLD_TIME_BY_NODES && !cols_n)) {
        return bnm_fail(ctx, BNM_ERR_DATA,
                        "%s: BOLD is %zu x %zu, which does not fit bold_layout %s with %zu nodes",
                        what, bold->rows, bold->cols,
                        layout == BNM_BOLD_NODES_BY_TIME ? "nodes_by_time" : "time_by_nodes", n);
    }
    if (layout == BNM_BOLD_TIME_BY_NODES) {
        double *before = bold->data;
        transpose(bold);
        if (bold->data == before && bold->rows * bold->cols > 1)
            return bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory", what);
    }
    for (size_t i = 0; i < bold->rows; i++) {
        const double *x = bold->data + i * bold->cols;
        bool constant = true;
        for (size_t t = 0; t < bold->cols; t++) {
            if (!isfinite(x[t]))
                return bnm_fail(ctx, BNM_ERR_DATA, "%s: non-finite BOLD value at node %zu, volume %zu",
                                what, i + 1, t + 1);
            constant = constant && x[t] == x[0];
        }
        if (constant)
            return bnm_fail(ctx, BNM_ERR_DATA,
                            "%s: node %zu has a constant BOLD series (zero variance); its "
                            "correlations are undefined: remove the node or fix the data",
                            what, i + 1);
    }
    return BNM_OK;
}

bnm_status bnm_map_prepare(bnm_context *ctx, const char *what, bnm_matrix *map, size_t n)
{
    size_t len = map->rows * map->cols;
    if ((map->rows != 1 && map->cols != 1) || len != n)
        return bnm_fail(ctx, BNM_ERR_DATA,
                        "%s: a map needs one value per node (%zu), but the file holds %zu x %zu",
                        what, n, map->rows, map->cols);
    for (size_t k = 0; k < len; k++)
        if (!isfinite(map->data[k]))
            return bnm_fail(ctx, BNM_ERR_DATA, "%s: non-finite value for node %zu", what, k + 1);
    map->rows = n;
    map->cols = 1;
    return BNM_OK;
}
