/* Shared by the HDF5 writer and reader: error capture, type mapping and the dataset
 * plan that turns a bnm_h5_layout into a list of datasets. */
#ifndef CLBNM_H5_INTERNAL_H
#define CLBNM_H5_INTERNAL_H

#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/h5out.h"

/* HDF5 prints its error stack to stderr by default; every public call silences it and
 * puts the innermost HDF5 message into our own error instead. */
typedef struct h5_quiet {
    H5E_auto2_t func;
    void *data;
} h5_quiet;

void h5_quiet_begin(h5_quiet *q);
void h5_quiet_end(const h5_quiet *q);

/* Records BNM_ERR_IO as "FILE: WHAT (HDF5: innermost message)". Call it right after the
 * failing HDF5 call, before any other HDF5 call clears the error stack. */
bnm_status h5_fail(bnm_context *ctx, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Predefined HDF5 types (never closed); -1 for an unknown value. */
hid_t h5_mem_type(bnm_h5_type t);
hid_t h5_file_type(bnm_h5_type t);
bool h5_type_is_float(bnm_h5_type t);

typedef enum h5_kind {
    H5K_NUMERIC,
    H5K_SUBJECT /* sims/subject: fixed-length strings, written by write_subjects */
} h5_kind;

/* One per-simulation dataset of the file. */
typedef struct h5_plan_entry {
    char *name; /* "bold", "states_ts/S_E", ... */
    int ndim;   /* 1 to 3; dims[0] = n_sims */
    hsize_t dims[3];
    hsize_t chunk[3];
    bnm_h5_type type; /* file type (ignored for H5K_SUBJECT) */
    h5_kind kind;
    bool compressed; /* shuffle + deflate 4 */
} h5_plan_entry;

typedef struct h5_plan {
    h5_plan_entry *entries;
    size_t n;
    int32_t *fc_pairs; /* [n_fc_pairs * 2] when the layout has fc */
    size_t n_fc_pairs;
    size_t subject_len; /* bytes of the longest subject ID (>= 1) */
} h5_plan;

/* Checks the layout and builds the plan. BNM_ERR_INVALID_ARG with a message naming
 * the problem; BNM_ERR_NOMEM. The caller owns *plan (h5_plan_free) on success. */
bnm_status h5_plan_build(bnm_context *ctx, const char *path, const bnm_h5_layout *layout,
                         h5_plan *plan);
void h5_plan_free(h5_plan *plan);

/* Chunk shape for a dataset of ndim dims with elem-byte elements: the first dimension
 * (simulations) is 1 for compressed datasets, so a compressed chunk is never shared by
 * two writes, and otherwise grows until the chunk reaches target bytes; the other
 * dimensions shrink (last-but-one first) until one simulation's chunk fits in target.
 * time_block (0: none) caps dimension 1. */
void h5_chunk_shape(int ndim, const hsize_t *dims, size_t elem, bool compressed,
                    size_t time_block, size_t target, hsize_t *chunk);

#define H5_CHUNK_TARGET ((size_t)1 << 20)

/* An open per-simulation dataset and which of its rows were written. */
typedef struct h5_dset {
    h5_plan_entry e; /* name owned here */
    hid_t id;
    /* Per simulation: samples written from 0 along dimension 1 for 3-D datasets, 1 once
     * the row was written for the others. A row is complete at `full`. */
    uint32_t *progress;
    uint32_t full;
} h5_dset;

struct bnm_h5_writer {
    char *final_path;
    char *tmp_path;
    hid_t file;
    size_t n_sims;
    h5_dset *dsets;
    size_t n_dsets;
    char **subject_ids;
    size_t n_subjects;
    size_t subject_len;
    bool incomplete;
    char *reason;
    bool committed;
    bool broken; /* a commit failed after it began changing the file */
};

/* The open dataset called name, or NULL after recording BNM_ERR_INVALID_ARG. */
h5_dset *h5_writer_find(bnm_context *ctx, bnm_h5_writer *w, const char *name);

#endif
