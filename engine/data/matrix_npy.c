/* NumPy .npy reader (format versions 1.0, 2.0, 3.0). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

static uint32_t read_le(const unsigned char *p, int bytes)
{
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Finds the value text after 'key': in the header dictionary, or NULL. */
static const char *dict_value(const char *header, const char *key)
{
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *k = strstr(header, quoted);
    if (!k) {
        snprintf(quoted, sizeof quoted, "\"%s\"", key);
        k = strstr(header, quoted);
    }
    if (!k)
        return NULL;
    k = strchr(k + strlen(quoted), ':');
    if (!k)
        return NULL;
    k++;
    while (*k == ' ')
        k++;
    return k;
}

static bool parse_shape(const char *v, size_t *dims, int *ndim)
{
    if (*v != '(')
        return false;
    v++;
    *ndim = 0;
    while (*v && *v != ')') {
        while (*v == ' ' || *v == ',')
            v++;
        if (*v == ')')
            break;
        char *end;
        unsigned long long d = strtoull(v, &end, 10);
        if (end == v || *ndim >= 3)
            return false;
        dims[(*ndim)++] = (size_t)d;
        v = end;
    }
    return *v == ')';
}

bnm_status bnm_matrix_read_npy(bnm_context *ctx, const char *path, const unsigned char *buf,
                               size_t len, bnm_matrix *out)
{
    static const unsigned char magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    char *header = NULL;
    bnm_status st = BNM_OK;

    if (len < 10 || memcmp(buf, magic, 6) != 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: not a NumPy .npy file (bad magic bytes)", path);
    int major = buf[6];
    if (major < 1 || major > 3)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: unsupported .npy format version %d.%d", path,
                        major, buf[7]);
    int len_bytes = major == 1 ? 2 : 4;
    size_t offset = 8 + (size_t)len_bytes;
    if (len < offset)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: truncated .npy header", path);
    size_t hlen = read_le(buf + 8, len_bytes);
    if (len < offset + hlen)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: truncated .npy header (%zu of %zu bytes)", path,
                        len - offset, hlen);
    header = malloc(hlen + 1);
    if (!header)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory", path);
    memcpy(header, buf + offset, hlen);
    header[hlen] = '\0';

    const char *descr = dict_value(header, "descr");
    const char *order = dict_value(header, "fortran_order");
    const char *shape = dict_value(header, "shape");
    size_t dims[3] = {0};
    int ndim = 0;
    if (!descr || !order || !shape || !parse_shape(shape, dims, &ndim)) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: malformed .npy header '%s'", path, header);
        goto done;
    }
    char dtype[16] = {0};
    if (descr[0] == '\'' || descr[0] == '"') {
        const char *q = strchr(descr + 1, descr[0]);
        size_t n = q ? (size_t)(q - descr - 1) : 0;
        if (n < sizeof dtype)
            memcpy(dtype, descr + 1, n);
    }
    bool big = dtype[0] == '>';
    int width = 0;
    if (strcmp(dtype + 1, "f8") == 0 && (dtype[0] == '<' || dtype[0] == '>'))
        width = 8;
    else if (strcmp(dtype + 1, "f4") == 0 && (dtype[0] == '<' || dtype[0] == '>'))
        width = 4;
    if (!width) {
        st = bnm_fail(ctx, BNM_ERR_DATA,
                      "%s: array type '%s' is not supported; save it as float64 or float32 "
                      "(e.g. numpy.save(path, a.astype('float64')))",
                      path, dtype[0] ? dtype : "?");
        goto done;
    }
    bool fortran = strncmp(order, "True", 4) == 0;
    if (ndim < 1 || ndim > 2) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: array has %d dimensions; expected 1 or 2", path,
                      ndim);
        goto done;
    }
    size_t rows = dims[0], cols = ndim == 2 ? dims[1] : 1;
    if (rows == 0 || cols == 0 || rows > SIZE_MAX / 8 / cols) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: array is empty or too large (%zu x %zu)", path,
                      rows, cols);
        goto done;
    }
    size_t count = rows * cols, need = count * (size_t)width, have = len - offset - hlen;
    if (have < need) {
        st = bnm_fail(ctx, BNM_ERR_DATA,
                      "%s: file is truncated: the header announces %zu x %zu values (%zu bytes) "
                      "but only %zu bytes of data follow",
                      path, rows, cols, need, have);
        goto done;
    }
    double *data = malloc(count * sizeof *data);
    if (!data) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    const unsigned char *p = buf + offset + hlen;
    for (size_t k = 0; k < count; k++) {
        unsigned char raw[8];
        for (int b = 0; b < width; b++)
            raw[b] = p[k * (size_t)width + (size_t)(big ? width - 1 - b : b)];
        double v;
        if (width == 8) {
            memcpy(&v, raw, 8);
        } else {
            float f;
            memcpy(&f, raw, 4);
            v = f;
        }
        /* Fortran order stores columns first; element k is (k % rows, k / rows). */
        size_t r = fortran ? k % rows : k / cols, c = fortran ? k / rows : k % cols;
        if (!isfinite(v)) {
            free(data);
            st = bnm_fail(ctx, BNM_ERR_DATA,
                          "%s: non-finite value at row %zu, column %zu; every value must be a "
                          "finite number",
                          path, r + 1, c + 1);
            goto done;
        }
        data[r * cols + c] = v;
    }
    out->rows = rows;
    out->cols = cols;
    out->data = data;
done:
    free(header);
    return st;
}
