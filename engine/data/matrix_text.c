#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/data.h"

void bnm_matrix_free(bnm_matrix *m)
{
    if (!m)
        return;
    free(m->data);
    m->data = NULL;
    m->rows = m->cols = 0;
}

static bool is_separator(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == '\r';
}

bnm_status bnm_matrix_parse_text(bnm_context *ctx, const char *what, const char *text,
                                 size_t len, bnm_matrix *out)
{
    bnm_status st = BNM_OK;
    size_t cap = 256, count = 0, rows = 0, cols = 0, first_row_line = 0;
    double *data = malloc(cap * sizeof *data);
    char token[128];

    out->rows = out->cols = 0;
    out->data = NULL;
    if (!data)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory", what);
    size_t pos = 0, line = 0;
    while (pos < len) {
        line++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t p = pos, in_row = 0;
        while (p < end && is_separator(text[p]))
            p++;
        if (p == end || text[p] == '#') {
            pos = end + 1;
            continue;
        }
        while (p < end) {
            size_t start = p;
            while (p < end && !is_separator(text[p]))
                p++;
            size_t n = p - start;
            if (n >= sizeof token) {
                st = bnm_fail(ctx, BNM_ERR_DATA, "%s:%zu:%zu: value too long", what, line,
                              start - pos + 1);
                goto fail;
            }
            memcpy(token, text + start, n);
            token[n] = '\0';
            char *stop = NULL;
            errno = 0;
            double v = strtod(token, &stop);
            if (stop == token || *stop != '\0') {
                st = bnm_fail(ctx, BNM_ERR_DATA, "%s:%zu:%zu: '%s' is not a number", what, line,
                              start - pos + 1, token);
                goto fail;
            }
            if (!isfinite(v)) {
                st = bnm_fail(ctx, BNM_ERR_DATA,
                              "%s:%zu:%zu: non-finite value '%s' (row %zu, column %zu); every "
                              "value must be a finite number",
                              what, line, start - pos + 1, token, rows + 1, in_row + 1);
                goto fail;
            }
            if (count == cap) {
                cap *= 2;
                double *grown = realloc(data, cap * sizeof *data);
                if (!grown) {
                    st = bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory", what);
                    goto fail;
                }
                data = grown;
            }
            data[count++] = v;
            in_row++;
            while (p < end && is_separator(text[p]))
                p++;
        }
        if (rows == 0) {
            cols = in_row;
            first_row_line = line;
        } else if (in_row != cols) {
            st = bnm_fail(ctx, BNM_ERR_DATA,
                          "%s:%zu: row %zu has %zu values but row 1 (line %zu) has %zu; every "
                          "row must have the same number of values",
                          what, line, rows + 1, in_row, first_row_line, cols);
            goto fail;
        }
        rows++;
        pos = end + 1;
    }
    if (rows == 0) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: no numbers found (the file is empty)", what);
        goto fail;
    }
    out->rows = rows;
    out->cols = cols;
    out->data = data;
    return BNM_OK;
fail:
    free(data);
    return st;
}
