#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/file_read.h"
#include "data_internal.h"

bnm_status bnm_read_file(bnm_context *ctx, const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return bnm_fail(ctx, BNM_ERR_IO, "%s: is a directory, not a data file", path);
    char *data = NULL;
    size_t n = 0;
    int e = 0;
    switch (bnm_file_read_all(path, &data, &n, &e)) {
    case BNM_FILE_READ_OK:
        break;
    case BNM_FILE_READ_OPEN_FAILED:
        return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    case BNM_FILE_READ_FAILED:
        return bnm_fail(ctx, BNM_ERR_IO, "%s: read error", path);
    case BNM_FILE_READ_NOMEM:
        return bnm_fail(ctx, BNM_ERR_NOMEM, "%s: out of memory reading the file", path);
    }
    *buf = (unsigned char *)data;
    *len = n;
    return BNM_OK;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

bnm_status bnm_matrix_read(bnm_context *ctx, const char *spec, bnm_matrix *out)
{
    out->rows = out->cols = 0;
    out->data = NULL;
    /* "file.h5:/path": the split is at the first ':' that follows an HDF5 suffix, so
     * paths that contain ':' elsewhere still work. */
    for (const char *colon = strchr(spec, ':'); colon; colon = strchr(colon + 1, ':')) {
        size_t n = (size_t)(colon - spec);
        if (ends_with(spec, n, ".h5") || ends_with(spec, n, ".hdf5")) {
            char *file = strndup(spec, n);
            if (!file)
                return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
            bnm_status st = bnm_matrix_read_hdf5(ctx, file, colon + 1, out);
            free(file);
            return st;
        }
    }
    size_t n = strlen(spec);
    if (ends_with(spec, n, ".h5") || ends_with(spec, n, ".hdf5"))
        return bnm_fail(ctx, BNM_ERR_DATA,
                        "%s: an HDF5 file needs the dataset too, as '%s:/path/to/dataset'", spec,
                        spec);
    unsigned char *buf = NULL;
    size_t len = 0;
    bnm_status st = bnm_read_file(ctx, spec, &buf, &len);
    if (st != BNM_OK)
        return st;
    if (ends_with(spec, n, ".npy"))
        st = bnm_matrix_read_npy(ctx, spec, buf, len, out);
    else
        st = bnm_matrix_parse_text(ctx, spec, (const char *)buf, len, out);
    free(buf);
    return st;
}
