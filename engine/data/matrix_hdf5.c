#include <hdf5.h>
#include <math.h>
#include <stdlib.h>

#include "data_internal.h"

bnm_status bnm_matrix_read_hdf5(bnm_context *ctx, const char *file, const char *dataset,
                                bnm_matrix *out)
{
    bnm_status st = BNM_OK;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, space = H5I_INVALID_HID,
          type = H5I_INVALID_HID;
    double *data = NULL;

    /* HDF5 prints its own error stack by default; our message replaces it. */
    H5E_auto2_t old_func;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    if (H5Fis_hdf5(file) <= 0) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot open as an HDF5 file", file);
        goto fail;
    }
    f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot open as an HDF5 file", file);
        goto fail;
    }
    if (H5Lexists(f, dataset, H5P_DEFAULT) <= 0 ||
        (d = H5Dopen2(f, dataset, H5P_DEFAULT)) < 0) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: no dataset '%s' in the file", file, dataset);
        goto fail;
    }
    type = H5Dget_type(d);
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s:%s: dataset is not numeric", file, dataset);
        goto fail;
    }
    space = H5Dget_space(d);
    int ndim = H5Sget_simple_extent_ndims(space);
    hsize_t dims[2] = {0, 1};
    if (ndim < 1 || ndim > 2) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s:%s: dataset has %d dimensions; expected 1 or 2",
                      file, dataset, ndim);
        goto fail;
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    if (dims[0] == 0 || dims[1] == 0) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s:%s: dataset is empty", file, dataset);
        goto fail;
    }
    size_t count = (size_t)(dims[0] * dims[1]);
    data = malloc(count * sizeof *data);
    if (!data) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "%s:%s: out of memory", file, dataset);
        goto fail;
    }
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s:%s: the dataset could not be read", file, dataset);
        goto fail;
    }
    for (size_t k = 0; k < count; k++) {
        if (!isfinite(data[k])) {
            st = bnm_fail(ctx, BNM_ERR_DATA,
                          "%s:%s: non-finite value at row %zu, column %zu; every value must be "
                          "a finite number",
                          file, dataset, k / (size_t)dims[1] + 1, k % (size_t)dims[1] + 1);
            goto fail;
        }
    }
    out->rows = (size_t)dims[0];
    out->cols = (size_t)dims[1];
    out->data = data;
    data = NULL;
fail:
    free(data);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    return st;
}
