/* Sweep expansion: parameter sets computed on demand from (run, set index), so that
 * huge sweeps are streamed in chunks and never materialised. */
#include <Random123/philox.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_read.h"
#include "run_internal.h"

double bnm_run_uniform(uint64_t seed, uint64_t set, uint32_t dim)
{
    philox4x32_ctr_t ctr = {{(uint32_t)set, (uint32_t)(set >> 32), dim, UINT32_C(0x53574550)}};
    philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32_R(10, ctr, key);
    uint64_t bits = ((uint64_t)r.v[0] << 32 | r.v[1]) >> 11;
    return (double)bits / 9007199254740992.0; /* 2^53 */
}

uint64_t bnm_run_n_sets(const bnm_run *run)
{
    const bnm_run_sweep *s = &run->sweep;
    switch (s->kind) {
    case BNM_SWEEP_NONE:
        return 1;
    case BNM_SWEEP_RANDOM:
    case BNM_SWEEP_TABLE:
        return s->n;
    case BNM_SWEEP_GRID:
        if (s->combine == BNM_SWEEP_ZIP)
            return s->n_params ? s->params[0].n : 1;
        {
            uint64_t n = 1;
            for (size_t k = 0; k < s->n_params; k++) {
                if (s->params[k].n && n > UINT64_MAX / s->params[k].n)
                    return 0;
                n *= s->params[k].n;
            }
            return n;
        }
    }
    return 0;
}

size_t bnm_run_n_swept(const bnm_run *run)
{
    return run->sweep.kind == BNM_SWEEP_NONE ? 0 : run->sweep.n_params;
}

const char *bnm_run_swept_name(const bnm_run *run, size_t k)
{
    return k < bnm_run_n_swept(run) ? run->sweep.params[k].name : NULL;
}

uint64_t bnm_run_n_sims(const bnm_run *run)
{
    uint64_t sets = bnm_run_n_sets(run), subj = run->n_subjects;
    if (subj && sets > UINT64_MAX / subj)
        return 0;
    return sets * subj;
}

static double linspace(double lo, double hi, uint64_t n, uint64_t i)
{
    if (n <= 1)
        return lo;
    if (i == n - 1)
        return hi; /* exact end point, as numpy.linspace */
    return lo + (double)i * ((hi - lo) / (double)(n - 1));
}

bool bnm_run_set_params(const bnm_run *run, uint64_t set, double *values_out)
{
    const bnm_run_sweep *s = &run->sweep;
    if (set >= bnm_run_n_sets(run))
        return false;
    switch (s->kind) {
    case BNM_SWEEP_NONE:
        break;
    case BNM_SWEEP_GRID: {
        /* Product: the last parameter varies fastest (C order, itertools.product). */
        uint64_t rest = set;
        for (size_t k = s->n_params; k-- > 0;) {
            const bnm_run_sweep_param *p = &s->params[k];
            uint64_t i = s->combine == BNM_SWEEP_ZIP ? set : rest % p->n;
            if (s->combine != BNM_SWEEP_ZIP)
                rest /= p->n;
            values_out[k] = linspace(p->lo, p->hi, p->n, i);
        }
        break;
    }
    case BNM_SWEEP_RANDOM:
        for (size_t k = 0; k < s->n_params; k++) {
            const bnm_run_sweep_param *p = &s->params[k];
            double u;
            if (s->method == BNM_SWEEP_SOBOL)
                bnm_sobol_point((unsigned)k + 1, set, &u);
            else
                u = bnm_run_uniform(run->seed, set, (uint32_t)k);
            values_out[k] = p->lo + (p->hi - p->lo) * u;
        }
        break;
    case BNM_SWEEP_TABLE:
        memcpy(values_out, run->table_values_ + set * s->n_params, s->n_params * sizeof(double));
        break;
    }
    return true;
}

bool bnm_run_sim_params(const bnm_run *run, uint64_t sim, size_t *subject_out,
                        uint64_t *seed_out, double *values_out)
{
    uint64_t sets = bnm_run_n_sets(run);
    if (sets == 0 || sim >= bnm_run_n_sims(run))
        return false;
    if (subject_out)
        *subject_out = (size_t)(sim / sets);
    if (seed_out)
        *seed_out = run->seed;
    if (values_out)
        bnm_run_set_params(run, sim % sets, values_out);
    return true;
}

uint64_t bnm_run_sims_chunk(const bnm_run *run, uint64_t first, uint64_t count,
                            size_t *subjects_out, double *values_out)
{
    uint64_t total = bnm_run_n_sims(run);
    if (first >= total)
        return 0;
    if (count > total - first)
        count = total - first;
    size_t k = bnm_run_n_swept(run);
    for (uint64_t i = 0; i < count; i++)
        bnm_run_sim_params(run, first + i, subjects_out ? &subjects_out[i] : NULL, NULL,
                           values_out ? values_out + i * k : NULL);
    return count;
}

bnm_status run_validate_sweep(bnm_context *ctx, bnm_run *run)
{
    bnm_run_sweep *s = &run->sweep;
    if (s->kind == BNM_SWEEP_GRID && s->combine == BNM_SWEEP_ZIP) {
        for (size_t k = 1; k < s->n_params; k++)
            if (s->params[k].n != s->params[0].n)
                return run_error(ctx, run->path, s->params[k].loc,
                                 "with sweep.combine: zip every grid parameter needs the same n",
                                 "grid parameter '%s' has n = %llu but '%s' has n = %llu",
                                 s->params[k].name, (unsigned long long)s->params[k].n,
                                 s->params[0].name, (unsigned long long)s->params[0].n);
    }
    if (s->kind != BNM_SWEEP_NONE && bnm_run_n_sets(run) == 0)
        return run_error(ctx, run->path, s->loc, "use a smaller grid",
                         "the sweep has more than 2^64 parameter sets");
    if (s->kind == BNM_SWEEP_RANDOM && s->method == BNM_SWEEP_SOBOL) {
        if (s->n_params > BNM_SOBOL_MAX_DIM)
            return run_error(ctx, run->path, s->loc, "use method: uniform",
                             "a Sobol sweep supports at most %d parameters, this one has %zu",
                             BNM_SOBOL_MAX_DIM, s->n_params);
        if (s->n > (UINT64_C(1) << 32))
            return run_error(ctx, run->path, s->loc, "use method: uniform",
                             "a Sobol sweep supports at most 2^32 points");
    }
    if (bnm_run_n_sims(run) == 0 && run->n_subjects)
        return run_error(ctx, run->path, s->loc, "use a smaller sweep",
                         "subjects x parameter sets exceeds 2^64 simulations");
    return BNM_OK;
}

/* ---- table CSV ------------------------------------------------------------------ */

static bool is_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p == end || *p == '#';
}

/* Splits [p, end) at the delimiter (',' or whitespace when delim is 0) into fields with
 * their 1-based columns. Returns the number of fields; only the first max are stored. */
static size_t split_fields(const char *line, const char *end, char delim, const char **fs,
                           size_t *fl, int *cols, size_t max)
{
    size_t n = 0;
    const char *p = line;
    while (p <= end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (!delim && p == end)
            break;
        const char *q = p;
        if (delim)
            while (q < end && *q != delim)
                q++;
        else
            while (q < end && *q != ' ' && *q != '\t' && *q != '\r')
                q++;
        const char *e = q;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (e - p >= 2 && *p == '"' && e[-1] == '"') {
            p++;
            e--;
        }
        if (n < max) {
            fs[n] = p;
            fl[n] = (size_t)(e - p);
            cols[n] = (int)(p - line) + 1;
        }
        n++;
        if (delim) {
            if (q == end)
                break;
            p = q + 1;
        } else {
            p = q;
        }
    }
    return n;
}

#define TABLE_MAX_COLS 256

bnm_status run_read_table(bnm_context *ctx, bnm_run *run, bnm_run_loc sweep_loc)
{
    bnm_run_sweep *s = &run->sweep;
    const char *path = s->table_path;
    char *text = NULL;
    size_t len = 0;
    int read_errno = 0;
    switch (bnm_file_read_all(path, &text, &len, &read_errno)) {
    case BNM_FILE_READ_OK:
        break;
    case BNM_FILE_READ_OPEN_FAILED:
    case BNM_FILE_READ_FAILED:
        return run_error(ctx, run->path, sweep_loc, "the path is relative to the run file's folder",
                         "cannot read sweep table '%s': %s", path, strerror(read_errno));
    case BNM_FILE_READ_NOMEM:
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory reading '%s'", path);
    }

    bnm_status st = BNM_OK;
    const char *fs[TABLE_MAX_COLS];
    size_t fl[TABLE_MAX_COLS];
    int cols[TABLE_MAX_COLS];
    size_t ncol = 0, rows = 0, cap_rows = 0;
    char delim = 0;
    int lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        if (!is_blank(p, le)) {
            if (ncol == 0) {
                delim = memchr(p, ',', (size_t)(le - p)) ? ',' : 0;
                ncol = split_fields(p, le, delim, fs, fl, cols, TABLE_MAX_COLS);
                if (ncol > TABLE_MAX_COLS) {
                    bnm_run_loc l = {lineno, 1};
                    ncol = 0;
                    st = run_error(ctx, path, l, "sweep fewer parameters at once",
                                   "the header has more than %d columns", TABLE_MAX_COLS);
                    goto done;
                }
                s->params = calloc(ncol, sizeof *s->params);
                if (!s->params) {
                    st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
                    goto done;
                }
                s->n_params = ncol;
                for (size_t k = 0; k < ncol; k++) {
                    bnm_run_loc l = {lineno, cols[k]};
                    if (fl[k] == 0) {
                        st = run_error(ctx, path, l, "the first row names the parameters",
                                       "empty column name in the header");
                        goto done;
                    }
                    s->params[k].name = run_strndup(fs[k], fl[k]);
                    s->params[k].loc = sweep_loc;
                    if (!s->params[k].name) {
                        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
                        goto done;
                    }
                    for (size_t j = 0; j < k; j++)
                        if (strcmp(s->params[j].name, s->params[k].name) == 0) {
                            st = run_error(ctx, path, l, "name each parameter once",
                                           "column '%s' appears twice in the header",
                                           s->params[k].name);
                            goto done;
                        }
                }
            } else {
                size_t n = split_fields(p, le, delim, fs, fl, cols, TABLE_MAX_COLS);
                if (n != ncol) {
                    bnm_run_loc l = {lineno, 1};
                    st = run_error(ctx, path, l, "every row needs one value per header column",
                                   "row has %zu value%s, the header has %zu", n,
                                   n == 1 ? "" : "s", ncol);
                    goto done;
                }
                if (rows == cap_rows) {
                    cap_rows = cap_rows ? cap_rows * 2 : 64;
                    double *t = realloc(run->table_values_, cap_rows * ncol * sizeof *t);
                    if (!t) {
                        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
                        goto done;
                    }
                    run->table_values_ = t;
                }
                for (size_t k = 0; k < n; k++) {
                    char buf[64];
                    bnm_run_loc l = {lineno, cols[k]};
                    char *e = NULL;
                    double v = 0;
                    if (fl[k] > 0 && fl[k] < sizeof buf) {
                        memcpy(buf, fs[k], fl[k]);
                        buf[fl[k]] = '\0';
                        v = strtod(buf, &e);
                    }
                    if (!e || *e || e == buf || v != v || v - v != 0) {
                        st = run_error(ctx, path, l, "table values must be finite numbers",
                                       "'%.*s' is not a finite number",
                                       (int)(fl[k] > 40 ? 40 : fl[k]), fs[k]);
                        goto done;
                    }
                    run->table_values_[rows * ncol + k] = v;
                }
                rows++;
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (ncol == 0 || rows == 0) {
        st = run_error(ctx, run->path, sweep_loc,
                       "the table needs a header row of parameter names and at least one row",
                       "sweep table '%s' has no %s", path, ncol == 0 ? "header" : "rows");
        goto done;
    }
    s->n = rows;
    for (size_t k = 0; k < ncol; k++)
        s->params[k].n = rows;
done:
    free(text);
    return st;
}
