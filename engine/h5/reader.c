/* Reading results back: used by the tests and by `clbnm report`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5_internal.h"

void bnm_h5_array_free(bnm_h5_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

static bnm_status open_file(bnm_context *ctx, const char *file, hid_t *f)
{
    if (!file)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "no HDF5 file name given");
    /* The system's reason reads better than HDF5's for the common cases. */
    if (access(file, R_OK) != 0)
        return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot open: %s", file, strerror(errno));
    if (H5Fis_hdf5(file) <= 0)
        return h5_fail(ctx, file, "not an HDF5 file");
    *f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*f < 0)
        return h5_fail(ctx, file, "cannot open as an HDF5 file");
    return BNM_OK;
}

/* rows_first/rows_count: SIZE_MAX count means the whole first dimension. */
static bnm_status read_impl(bnm_context *ctx, const char *file, const char *dataset,
                            size_t rows_first, size_t rows_count, bnm_h5_type type,
                            bnm_h5_array *out)
{
    memset(out, 0, sizeof *out);
    if (!dataset || h5_mem_type(type) < 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: no dataset name or an unknown type",
                        file ? file : "(null)");
    bnm_status st = BNM_OK;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, fspace = H5I_INVALID_HID,
          mspace = H5I_INVALID_HID, ftype = H5I_INVALID_HID;
    void *data = NULL;
    h5_quiet q;
    h5_quiet_begin(&q);

    if ((st = open_file(ctx, file, &f)))
        goto fail;
    if ((d = H5Dopen2(f, dataset, H5P_DEFAULT)) < 0) {
        st = h5_fail(ctx, file, "cannot open dataset %s", dataset);
        goto fail;
    }
    if ((ftype = H5Dget_type(d)) < 0 || (fspace = H5Dget_space(d)) < 0) {
        st = h5_fail(ctx, file, "cannot read the shape of dataset %s", dataset);
        goto fail;
    }
    H5T_class_t cls = H5Tget_class(ftype);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: dataset %s is not numeric", file, dataset);
        goto fail;
    }
    int ndim = H5Sget_simple_extent_ndims(fspace);
    if (ndim < 1 || ndim > BNM_H5_MAX_DIMS) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: dataset %s has %d dimensions; 1 to %d are read",
                      file, dataset, ndim, BNM_H5_MAX_DIMS);
        goto fail;
    }
    hsize_t dims[BNM_H5_MAX_DIMS], start[BNM_H5_MAX_DIMS] = {0};
    H5Sget_simple_extent_dims(fspace, dims, NULL);
    if (rows_count != SIZE_MAX) {
        if (rows_count == 0 || rows_first > dims[0] || rows_count > dims[0] - rows_first) {
            st = bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                          "%s: dataset %s: rows [%zu, %zu) are not a non-empty part of its "
                          "%llu rows",
                          file, dataset, rows_first, rows_first + rows_count,
                          (unsigned long long)dims[0]);
            goto fail;
        }
        start[0] = rows_first;
        dims[0] = rows_count;
    }
    size_t count = 1;
    for (int k = 0; k < ndim; k++)
        count *= (size_t)dims[k];
    data = malloc((count ? count : 1) * bnm_h5_type_size(type));
    if (!data) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "%s: dataset %s: out of memory", file, dataset);
        goto fail;
    }
    if (count &&
        ((mspace = H5Screate_simple(ndim, dims, NULL)) < 0 ||
         H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, dims, NULL) < 0 ||
         H5Dread(d, h5_mem_type(type), mspace, fspace, H5P_DEFAULT, data) < 0)) {
        st = h5_fail(ctx, file, "cannot read dataset %s", dataset);
        goto fail;
    }
    out->ndim = ndim;
    for (int k = 0; k < ndim; k++)
        out->dims[k] = (size_t)dims[k];
    out->count = count;
    out->type = type;
    out->data = data;
    data = NULL;
fail:
    free(data);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    h5_quiet_end(&q);
    return st;
}

bnm_status bnm_h5_read(bnm_context *ctx, const char *file, const char *dataset,
                       bnm_h5_type type, bnm_h5_array *out)
{
    if (!out)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_h5_read: out is NULL");
    return read_impl(ctx, file, dataset, 0, SIZE_MAX, type, out);
}

bnm_status bnm_h5_read_rows(bnm_context *ctx, const char *file, const char *dataset,
                            size_t first, size_t count, bnm_h5_type type, bnm_h5_array *out)
{
    if (!out || count == SIZE_MAX)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_h5_read_rows: invalid argument");
    return read_impl(ctx, file, dataset, first, count, type, out);
}

/* Opens attribute name of object; the caller closes *f and *a. */
static bnm_status open_attr(bnm_context *ctx, const char *file, const char *object,
                            const char *name, hid_t *f, hid_t *a)
{
    bnm_status st = open_file(ctx, file, f);
    if (st)
        return st;
    *a = H5Aopen_by_name(*f, object ? object : "/", name, H5P_DEFAULT, H5P_DEFAULT);
    if (*a < 0)
        return h5_fail(ctx, file, "cannot open attribute '%s' of %s", name,
                       object ? object : "/");
    return BNM_OK;
}

bnm_status bnm_h5_read_attr_string(bnm_context *ctx, const char *file, const char *object,
                                   const char *name, char **out)
{
    if (!out || !name)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_h5_read_attr_string: invalid argument");
    *out = NULL;
    bnm_status st = BNM_OK;
    hid_t f = H5I_INVALID_HID, a = H5I_INVALID_HID, ftype = H5I_INVALID_HID,
          mtype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char *text = NULL;
    h5_quiet q;
    h5_quiet_begin(&q);
    if ((st = open_attr(ctx, file, object, name, &f, &a)))
        goto fail;
    if ((ftype = H5Aget_type(a)) < 0 || H5Tget_class(ftype) != H5T_STRING ||
        (space = H5Aget_space(a)) < 0 || H5Sget_simple_extent_npoints(space) != 1) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: attribute '%s' is not a single string", file, name);
        goto fail;
    }
    htri_t vlen = H5Tis_variable_str(ftype);
    if (vlen > 0) {
        char *v = NULL;
        if ((mtype = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 || H5Aread(a, mtype, &v) < 0) {
            st = h5_fail(ctx, file, "cannot read attribute '%s'", name);
            goto fail;
        }
        size_t n = v ? strlen(v) : 0;
        text = malloc(n + 1);
        if (text) {
            if (n)
                memcpy(text, v, n);
            text[n] = '\0';
        }
        H5free_memory(v);
    } else {
        size_t n = H5Tget_size(ftype);
        /* HDF5 converts strings only between equal character sets. */
        if ((mtype = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mtype, n + 1) < 0 ||
            H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0 ||
            H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 || !(text = calloc(n + 1, 1)) ||
            H5Aread(a, mtype, text) < 0) {
            st = text ? h5_fail(ctx, file, "cannot read attribute '%s'", name)
                      : bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    if (!text) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = text;
    text = NULL;
fail:
    free(text);
    if (space >= 0)
        H5Sclose(space);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (a >= 0)
        H5Aclose(a);
    if (f >= 0)
        H5Fclose(f);
    h5_quiet_end(&q);
    return st;
}

bnm_status bnm_h5_read_attr_int(bnm_context *ctx, const char *file, const char *object,
                                const char *name, int64_t *out)
{
    if (!out || !name)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_h5_read_attr_int: invalid argument");
    bnm_status st = BNM_OK;
    hid_t f = H5I_INVALID_HID, a = H5I_INVALID_HID, ftype = H5I_INVALID_HID,
          space = H5I_INVALID_HID;
    h5_quiet q;
    h5_quiet_begin(&q);
    if ((st = open_attr(ctx, file, object, name, &f, &a)))
        goto fail;
    if ((ftype = H5Aget_type(a)) < 0 || H5Tget_class(ftype) != H5T_INTEGER ||
        (space = H5Aget_space(a)) < 0 || H5Sget_simple_extent_npoints(space) != 1) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: attribute '%s' is not a single integer", file,
                      name);
        goto fail;
    }
    if (H5Aread(a, H5T_NATIVE_INT64, out) < 0) {
        st = h5_fail(ctx, file, "cannot read attribute '%s'", name);
        goto fail;
    }
fail:
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (a >= 0)
        H5Aclose(a);
    if (f >= 0)
        H5Fclose(f);
    h5_quiet_end(&q);
    return st;
}
