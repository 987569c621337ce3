/* TVB connectivity: a folder or a .zip with weights.txt, tract_lengths.txt, centres.txt. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "data_internal.h"

static const char *const tvb_files[] = {"weights.txt", "tract_lengths.txt", "centres.txt"};

void bnm_tvb_free(bnm_tvb_connectivity *c)
{
    if (!c)
        return;
    bnm_matrix_free(&c->weights);
    bnm_matrix_free(&c->tract_lengths);
    bnm_matrix_free(&c->centres);
    if (c->labels)
        for (size_t i = 0; i < c->n; i++)
            free(c->labels[i]);
    free(c->labels);
    memset(c, 0, sizeof *c);
}

/* centres.txt rows are "label x y z"; the label is text, so the numeric reader cannot
 * take it. */
static bnm_status parse_centres(bnm_context *ctx, const char *what, const char *text,
                                bnm_tvb_connectivity *c)
{
    size_t cap = 64, n = 0, line = 0;
    char **labels = calloc(cap, sizeof *labels);
    double *xyz = malloc(cap * 3 * sizeof *xyz);
    bnm_status st = BNM_OK;
    if (!labels || !xyz) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory", what);
        goto fail;
    }
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        if (!end)
            end = p + strlen(p);
        line++;
        char row[1024];
        size_t len = (size_t)(end - p) < sizeof row - 1 ? (size_t)(end - p) : sizeof row - 1;
        memcpy(row, p, len);
        row[len] = '\0';
        p = *end ? end + 1 : end;
        char label[256];
        double x, y, z;
        char extra;
        char *s = row;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '#')
            continue;
        if (sscanf(s, "%255s %lf %lf %lf %c", label, &x, &y, &z, &extra) != 4 ||
            !isfinite(x) || !isfinite(y) || !isfinite(z)) {
            st = bnm_fail(ctx, BNM_ERR_DATA,
                          "%s:%zu: expected 'label x y z' with finite coordinates", what, line);
            goto fail;
        }
        if (n == cap) {
            cap *= 2;
            char **gl = realloc(labels, cap * sizeof *gl);
            if (gl)
                labels = gl;
            double *gx = realloc(xyz, cap * 3 * sizeof *gx);
            if (gx)
                xyz = gx;
            if (!gl || !gx) {
                st = bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory", what);
                goto fail;
            }
        }
        labels[n] = strdup(label);
        xyz[3 * n] = x;
        xyz[3 * n + 1] = y;
        xyz[3 * n + 2] = z;
        n++;
    }
    if (n == 0) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: no regions listed", what);
        goto fail;
    }
    c->labels = labels;
    c->centres.rows = n;
    c->centres.cols = 3;
    c->centres.data = xyz;
    return BNM_OK;
fail:
    if (labels)
        for (size_t i = 0; i < n; i++)
            free(labels[i]);
    free(labels);
    free(xyz);
    return st;
}

/* Reads the three members of a .zip into texts[]; members may sit in one folder. */
static bnm_status read_zip(bnm_context *ctx, const char *path, char *texts[3])
{
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    if (!z) {
        zip_error_t e;
        zip_error_init_with_code(&e, zerr);
        bnm_status st = bnm_fail(ctx, BNM_ERR_DATA, "%s: cannot open as a zip archive: %s", path,
                                 zip_error_strerror(&e));
        zip_error_fini(&e);
        return st;
    }
    bnm_status st = BNM_OK;
    zip_int64_t entries = zip_get_num_entries(z, 0);
    for (zip_int64_t k = 0; k < entries && st == BNM_OK; k++) {
        const char *name = zip_get_name(z, (zip_uint64_t)k, 0);
        if (!name)
            continue;
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        int depth = 0;
        for (const char *q = name; *q; q++)
            depth += *q == '/';
        for (int f = 0; f < 3; f++) {
            if (strcmp(base, tvb_files[f]) != 0 || depth > 1 || texts[f])
                continue;
            zip_stat_t zs;
            zip_file_t *zf = NULL;
            if (zip_stat_index(z, (zip_uint64_t)k, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE) ||
                !(zf = zip_fopen_index(z, (zip_uint64_t)k, 0))) {
                st = bnm_fail(ctx, BNM_ERR_DATA, "%s: cannot read member %s", path, name);
                break;
            }
            texts[f] = malloc(zs.size + 1);
            zip_int64_t got = texts[f] ? zip_fread(zf, texts[f], zs.size) : -1;
            zip_fclose(zf);
            if (got < 0 || (zip_uint64_t)got != zs.size) {
                st = bnm_fail(ctx, BNM_ERR_DATA, "%s: member %s is damaged", path, name);
                break;
            }
            texts[f][zs.size] = '\0';
        }
    }
    zip_discard(z);
    return st;
}

static bnm_status read_folder(bnm_context *ctx, const char *path, char *texts[3])
{
    for (int f = 0; f < 3; f++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, tvb_files[f]);
        struct stat sb;
        if (stat(file, &sb) != 0)
            continue; /* reported as missing by the caller, with the full list */
        size_t len;
        unsigned char *buf;
        bnm_status st = bnm_read_file(ctx, file, &buf, &len);
        if (st != BNM_OK)
            return st;
        texts[f] = (char *)buf;
    }
    return BNM_OK;
}

bnm_status bnm_tvb_read(bnm_context *ctx, const char *path, bnm_tvb_connectivity *out)
{
    char *texts[3] = {NULL, NULL, NULL};
    bnm_status st;
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: no such TVB connectivity folder or .zip", path);
        goto fail;
    }
    st = S_ISDIR(sb.st_mode) ? read_folder(ctx, path, texts) : read_zip(ctx, path, texts);
    if (st != BNM_OK)
        goto fail;
    for (int f = 0; f < 3; f++) {
        if (!texts[f]) {
            st = bnm_fail(ctx, BNM_ERR_DATA,
                          "%s: %s is missing; a TVB connectivity holds weights.txt, "
                          "tract_lengths.txt and centres.txt",
                          path, tvb_files[f]);
            goto fail;
        }
    }
    char what[4200];
    snprintf(what, sizeof what, "%s/%s", path, tvb_files[0]);
    if ((st = bnm_matrix_parse_text(ctx, what, texts[0], strlen(texts[0]), &out->weights)))
        goto fail;
    snprintf(what, sizeof what, "%s/%s", path, tvb_files[1]);
    if ((st = bnm_matrix_parse_text(ctx, what, texts[1], strlen(texts[1]),
                                    &out->tract_lengths)))
        goto fail;
    snprintf(what, sizeof what, "%s/%s", path, tvb_files[2]);
    if ((st = parse_centres(ctx, what, texts[2], out)))
        goto fail;
    out->n = out->centres.rows;
    if (out->weights.rows != out->n || out->weights.cols != out->n ||
        out->tract_lengths.rows != out->n || out->tract_lengths.cols != out->n) {
        st = bnm_fail(ctx, BNM_ERR_DATA,
                      "%s: sizes disagree: centres.txt lists %zu regions, weights.txt is %zu x "
                      "%zu, tract_lengths.txt is %zu x %zu",
                      path, out->n, out->weights.rows, out->weights.cols,
                      out->tract_lengths.rows, out->tract_lengths.cols);
        goto fail;
    }
    for (int f = 0; f < 3; f++)
        free(texts[f]);
    return BNM_OK;
fail:
    for (int f = 0; f < 3; f++)
        free(texts[f]);
    bnm_tvb_free(out);
    return st;
}
