/* Reading user data: connectomes, tract lengths, BOLD and maps (interface.md section 3).
 * Every reader checks what it reads and fails with one message that names the file and
 * the problem (and the line or element where there is one); nothing is half-returned. */
#ifndef CLBNM_DATA_H
#define CLBNM_DATA_H

#include <stddef.h>

#include "clbnm/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dense 2-D array of doubles, row-major. A 1-D input has cols = 1. */
typedef struct bnm_matrix {
    size_t rows, cols;
    double *data;
} bnm_matrix;

/* Reads a numeric array from spec:
 *   "file.txt" / ".csv" / ".tsv" / any other name: text, values separated by whitespace or
 *      commas, one row per line; blank lines and lines starting with '#' are skipped;
 *   "file.npy": NumPy format 1.0-3.0, float32 or float64 (either byte order), C or Fortran
 *      order, 1-D or 2-D;
 *   "file.h5:/path" (or .hdf5): a 1-D or 2-D numeric HDF5 dataset.
 * Non-finite values, ragged rows, truncated files and wrong types are errors
 * (BNM_ERR_DATA, or BNM_ERR_IO when the file cannot be opened). On success the caller
 * owns out->data (bnm_matrix_free); on failure *out is empty. */
bnm_status bnm_matrix_read(bnm_context *ctx, const char *spec, bnm_matrix *out);
/* Parses text already in memory; what names the source in messages. Same rules as above. */
bnm_status bnm_matrix_parse_text(bnm_context *ctx, const char *what, const char *text,
                                 size_t len, bnm_matrix *out);
/* Frees the data and empties the matrix; NULL and empty matrices are accepted. */
void bnm_matrix_free(bnm_matrix *m);

/* A TVB connectivity: weights, tract lengths (mm) and centres (x, y, z per region). */
typedef struct bnm_tvb_connectivity {
    size_t n;                 /* regions */
    bnm_matrix weights;       /* n x n, as stored in the file */
    bnm_matrix tract_lengths; /* n x n */
    bnm_matrix centres;       /* n x 3 */
    char **labels;            /* n region labels from centres.txt */
} bnm_tvb_connectivity;

/* Reads a TVB connectivity folder or .zip holding weights.txt, tract_lengths.txt and
 * centres.txt (in the archive's root or one folder down). The caller owns *out
 * (bnm_tvb_free). */
bnm_status bnm_tvb_read(bnm_context *ctx, const char *path, bnm_tvb_connectivity *out);
/* NULL is accepted. */
void bnm_tvb_free(bnm_tvb_connectivity *c);

typedef enum bnm_sc_orientation {
    BNM_SC_UNSPECIFIED, /* allowed only for symmetric matrices */
    BNM_SC_SOURCE_ROWS, /* file row j, column i = weight from j to i */
    BNM_SC_TARGET_ROWS  /* file row i, column j = weight from j to i */
} bnm_sc_orientation;

/* Checks a connectome (square, finite, non-negative) and puts it in clBNM's orientation,
 * rows = targets: W[i*n + j] is the weight from node j to node i. A matrix that is not
 * symmetric needs an explicit orientation (the message says how to give it). what
 * names the file in messages. Transposes in place when needed. */
bnm_status bnm_sc_prepare(bnm_context *ctx, const char *what, bnm_matrix *sc,
                          bnm_sc_orientation orientation);
/* Checks tract lengths against an n-node SC (square n x n, finite, non-negative) and
 * orients them like the SC. */
bnm_status bnm_lengths_prepare(bnm_context *ctx, const char *what, bnm_matrix *lengths,
                               size_t n, bnm_sc_orientation orientation);

typedef enum bnm_bold_layout {
    BNM_BOLD_UNSPECIFIED,   /* decided by which side equals the number of nodes */
    BNM_BOLD_NODES_BY_TIME,
    BNM_BOLD_TIME_BY_NODES
} bnm_bold_layout;

/* Puts empirical BOLD in nodes x time layout (rows = nodes) for an n-node connectome.
 * With no layout, the side that equals n is the node side; when both sides equal n the
 * layout must be given (the message says how). Transposes in place when needed. Checks
 * finiteness and that no node's series is constant (zero variance). */
bnm_status bnm_bold_prepare(bnm_context *ctx, const char *what, bnm_matrix *bold, size_t n,
                            bnm_bold_layout layout);
/* A per-node map (n values, as a row or a column): checks the length and finiteness and
 * reshapes it to n x 1. */
bnm_status bnm_map_prepare(bnm_context *ctx, const char *what, bnm_matrix *map, size_t n);

#ifdef __cplusplus
}
#endif
#endif
