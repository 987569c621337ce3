#include "core/file_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

bnm_file_read_result bnm_file_read_all(const char *path, char **data, size_t *len,
                                       int *err_out)
{
    int dummy;
    int *err = err_out ? err_out : &dummy;
    *data = NULL;
    *len = 0;
    *err = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = errno;
        return BNM_FILE_READ_OPEN_FAILED;
    }
    size_t cap = 16384, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return BNM_FILE_READ_NOMEM;
    }
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break; /* end of file or an error: ferror tells which */
        char *grown = realloc(buf, 2 * cap + 1);
        if (!grown) {
            free(buf);
            fclose(f);
            return BNM_FILE_READ_NOMEM;
        }
        buf = grown;
        cap *= 2;
    }
    if (ferror(f)) {
        *err = errno ? errno : EIO;
        free(buf);
        fclose(f);
        return BNM_FILE_READ_FAILED;
    }
    fclose(f);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return BNM_FILE_READ_OK;
}
