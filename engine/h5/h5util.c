#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "h5_internal.h"

void h5_quiet_begin(h5_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5_quiet_end(const h5_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

/* The stack lists the API call first and the root cause (a system error, a missing
 * object) last, so the last description is the most useful one to show. */
static herr_t keep_innermost(unsigned n, const H5E_error2_t *err, void *user)
{
    char *buf = user;
    if (err && err->desc && err->desc[0])
        snprintf(buf, 256, "%s", err->desc);
    return 0;
}

bnm_status h5_fail(bnm_context *ctx, const char *file, const char *fmt, ...)
{
    char cause[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_innermost, cause);
    H5Eclear2(H5E_DEFAULT);

    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (cause[0])
        return bnm_fail(ctx, BNM_ERR_IO, "%s: %s (HDF5: %s)", file, what, cause);
    return bnm_fail(ctx, BNM_ERR_IO, "%s: %s", file, what);
}

size_t bnm_h5_type_size(bnm_h5_type t)
{
    switch (t) {
    case BNM_H5_F32:
    case BNM_H5_I32:
        return 4;
    case BNM_H5_F64:
    case BNM_H5_I64:
    case BNM_H5_U64:
        return 8;
    case BNM_H5_U8:
        return 1;
    }
    return 0;
}

hid_t h5_mem_type(bnm_h5_type t)
{
    switch (t) {
    case BNM_H5_F32:
        return H5T_NATIVE_FLOAT;
    case BNM_H5_F64:
        return H5T_NATIVE_DOUBLE;
    case BNM_H5_I32:
        return H5T_NATIVE_INT32;
    case BNM_H5_I64:
        return H5T_NATIVE_INT64;
    case BNM_H5_U8:
        return H5T_NATIVE_UINT8;
    case BNM_H5_U64:
        return H5T_NATIVE_UINT64;
    }
    return -1;
}

/* Little-endian on disk whatever the host, so files move between machines unchanged. */
hid_t h5_file_type(bnm_h5_type t)
{
    switch (t) {
    case BNM_H5_F32:
        return H5T_IEEE_F32LE;
    case BNM_H5_F64:
        return H5T_IEEE_F64LE;
    case BNM_H5_I32:
        return H5T_STD_I32LE;
    case BNM_H5_I64:
        return H5T_STD_I64LE;
    case BNM_H5_U8:
        return H5T_STD_U8LE;
    case BNM_H5_U64:
        return H5T_STD_U64LE;
    }
    return -1;
}

bool h5_type_is_float(bnm_h5_type t)
{
    return t == BNM_H5_F32 || t == BNM_H5_F64;
}
