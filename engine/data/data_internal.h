#ifndef CLBNM_DATA_INTERNAL_H
#define CLBNM_DATA_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "clbnm/data.h"

/* Parses a whole .npy file held in memory. */
bnm_status bnm_matrix_read_npy(bnm_context *ctx, const char *path, const unsigned char *buf,
                               size_t len, bnm_matrix *out);
/* Reads dataset `dataset` of HDF5 file `file`. */
bnm_status bnm_matrix_read_hdf5(bnm_context *ctx, const char *file, const char *dataset,
                                bnm_matrix *out);
/* Reads a whole file; BNM_ERR_IO naming it on failure. Caller frees *buf. */
bnm_status bnm_read_file(bnm_context *ctx, const char *path, unsigned char **buf, size_t *len);

#endif
