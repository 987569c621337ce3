/* Small HDF5 helpers for the checkpoint and runs.h5, plus the durable rename both use. */
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opt_internal.h"

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is passed as int64_t");

static hid_t mem_type(char type)
{
    switch (type) {
    case 'd': return H5T_NATIVE_DOUBLE;
    case 'b': return H5T_NATIVE_UINT8;
    case 'i': return H5T_NATIVE_INT32;
    default: return H5T_NATIVE_UINT64;
    }
}

bnm_status opt_h5_write(bnm_context *ctx, int64_t loc, const char *name, char type, int ndim,
                        const size_t *dims, const void *data)
{
    hsize_t hd[4] = {0};
    for (int k = 0; k < ndim && k < 4; k++)
        hd[k] = dims[k];
    hid_t sp = ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, hd, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl >= 0)
        H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = sp < 0 || lcpl < 0 ? -1
                                  : H5Dcreate2(loc, name, mem_type(type), sp, lcpl,
                                               H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = -1;
    size_t count = 1;
    for (int k = 0; k < ndim; k++)
        count *= dims[k];
    if (ds >= 0)
        e = count ? H5Dwrite(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    if (ds >= 0)
        H5Dclose(ds);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (sp >= 0)
        H5Sclose(sp);
    if (e < 0)
        return bnm_fail(ctx, BNM_ERR_IO, "cannot write dataset '%s'", name);
    return BNM_OK;
}

bnm_status opt_h5_count(bnm_context *ctx, int64_t loc, const char *file, const char *name,
                        size_t *count)
{
    *count = 0;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: dataset '%s' is missing", file, name);
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    if (n < 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: cannot read dataset '%s'", file, name);
    *count = (size_t)n;
    return BNM_OK;
}

bnm_status opt_h5_read(bnm_context *ctx, int64_t loc, const char *file, const char *name,
                       char type, size_t count, void *data)
{
    size_t have;
    bnm_status st = opt_h5_count(ctx, loc, file, name, &have);
    if (st != BNM_OK)
        return st;
    if (have != count)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: dataset '%s' holds %zu values, expected %zu",
                        file, name, have, count);
    if (count == 0)
        return BNM_OK;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    herr_t e = ds >= 0 ? H5Dread(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (ds >= 0)
        H5Dclose(ds);
    if (e < 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: cannot read dataset '%s'", file, name);
    return BNM_OK;
}

bnm_status opt_h5_attr_str(bnm_context *ctx, int64_t obj, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    const char *s = v ? v : "";
    herr_t e = a >= 0 ? H5Awrite(a, t, &s) : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    if (e < 0)
        return bnm_fail(ctx, BNM_ERR_IO, "cannot write attribute '%s'", name);
    return BNM_OK;
}

bnm_status opt_h5_attr_num(bnm_context *ctx, int64_t obj, const char *name, char type,
                           const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, mem_type(type), sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a >= 0 ? H5Awrite(a, mem_type(type), v) : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    if (e < 0)
        return bnm_fail(ctx, BNM_ERR_IO, "cannot write attribute '%s'", name);
    return BNM_OK;
}

bnm_status opt_h5_read_attr_str(bnm_context *ctx, int64_t obj, const char *file,
                                const char *name, char **out)
{
    *out = NULL;
    hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : -1;
    if (a < 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: attribute '%s' is missing", file, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *s = NULL;
    herr_t e = H5Aread(a, t, &s);
    H5Tclose(t);
    H5Aclose(a);
    if (e < 0 || !s)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: cannot read attribute '%s'", file, name);
    *out = strdup(s);
    H5free_memory(s);
    if (!*out)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    return BNM_OK;
}

bnm_status opt_h5_read_attr_num(bnm_context *ctx, int64_t obj, const char *file,
                                const char *name, char type, void *v)
{
    hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : -1;
    if (a < 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: attribute '%s' is missing", file, name);
    herr_t e = H5Aread(a, mem_type(type), v);
    H5Aclose(a);
    if (e < 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: cannot read attribute '%s'", file, name);
    return BNM_OK;
}

int64_t opt_h5_group(bnm_context *ctx, int64_t loc, const char *path)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(loc, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    if (g < 0)
        bnm_fail(ctx, BNM_ERR_IO, "cannot create group '%s'", path);
    return g;
}

int opt_rename_durable(const char *tmp, const char *final)
{
    /* fsync before rename: after a crash the final name holds either the old or the
     * complete new file, never a truncated one. */
    int fd = open(tmp, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return rename(tmp, final);
}
