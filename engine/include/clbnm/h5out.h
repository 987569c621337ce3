/* The HDF5 file `clbnm simulate` writes (interface.md section 4), streamed chunk by
 * chunk, and a small reader for it.
 *
 * The writer works on "<final>.partial-XXXXXX" in the final file's folder. Only
 * bnm_h5_writer_commit renames it to the final name (atomically, replacing any file
 * already there); destroying a writer that was not committed removes the temporary file.
 * So a run that fails, for any reason, leaves the previous output untouched and no
 * half-written file behind.
 *
 * Per-simulation datasets (names relative to the root, no leading '/'):
 *   bold                  [n_sims, n_vols, n_nodes]     float32
 *   fc                    [n_sims, n_fc_pairs]          float32  (+ /fc_pairs [n_fc_pairs, 2] int32)
 *   fcd                   [n_sims, n_fcd_windows*(n_fcd_windows-1)/2] float32
 *   states_mean/VAR       [n_sims, n_nodes]             float64
 *   states_ts/VAR         [n_sims, n_ts_samples, n_nodes] float32, chunked, shuffle+deflate 4
 *   scores/TERM, scores/gof, scores/cost, scores/fic_penalty [n_sims] float64
 *   status/diverged       [n_sims] uint8
 *   fic/failed            [n_sims] uint8;  fic/trials [n_sims] int32
 *   params/NAME           [n_sims] or [n_sims, n_nodes] float64
 *   sims/seed             [n_sims] uint64
 *   sims/subject          [n_sims] fixed-length UTF-8 string (the subject ID), and
 *   sims/subject_index    [n_sims] int32 (index into the layout's subject_ids)
 * Whole datasets: fc_pairs, subjects/ID/{sc,lengths,emp_fc,emp_fcd} (any array written
 * with bnm_h5_writer_write_array). At commit: status/written [n_sims] uint8 and the root
 * attribute complete (int32, 1 or 0).
 * Root attributes (variable-length UTF-8 strings): clbnm_version, model, model_source,
 * model_hash, device, precision, run_file, created (ISO-8601 UTC).
 * Float datasets are filled with NaN where nothing was written.
 *
 * The writer never holds a dataset's data: memory is the per-dataset HDF5 chunk cache
 * (1 MiB each), HDF5's metadata cache (32 MiB at most by default) and 4 bytes per
 * simulation per dataset of bookkeeping. Chunks hold whole simulations, at most 1 MiB
 * (rows longer than that are cut along time or pairs); states_ts chunks hold one
 * simulation each. Not thread-safe: call it from one thread.
 *
 * Typical use by the engine:
 *   bnm_h5_layout l; bnm_h5_layout_init_defaults(&l); l.n_sims = ...; l.bold = true; ...
 *   bnm_h5_writer *w; if (bnm_h5_writer_create(ctx, "out.h5", &l, &w)) return ...;
 *   for each finished chunk [first, first + count):
 *       bnm_h5_writer_write_rows(ctx, w, "fc", first, count, BNM_H5_F32, fc);  (etc.)
 *       bnm_h5_writer_write_block(ctx, w, "states_ts/S_E", first, count, t0, nt, ...);
 *   on success: bnm_h5_writer_commit(ctx, w);
 *   on a device failure: either nothing (destroy removes the file) or
 *       bnm_h5_writer_mark_incomplete(w, why) then bnm_h5_writer_commit(ctx, w);
 *   always: bnm_h5_writer_destroy(w); */
#ifndef CLBNM_H5OUT_H
#define CLBNM_H5OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element type of a caller's buffer. HDF5 converts between float32 and float64, and
 * between integer widths; a float buffer for an integer dataset (or the reverse) is
 * refused. */
typedef enum bnm_h5_type {
    BNM_H5_F32,
    BNM_H5_F64,
    BNM_H5_I32,
    BNM_H5_I64,
    BNM_H5_U8,
    BNM_H5_U64
} bnm_h5_type;

/* Bytes per element of t (0 for an unknown value). */
size_t bnm_h5_type_size(bnm_h5_type t);

typedef struct bnm_h5_param {
    const char *name; /* no '/' */
    bool regional;    /* true: [n_sims, n_nodes]; false: [n_sims] */
} bnm_h5_param;

/* What the file holds. Every pointer is borrowed during bnm_h5_writer_create only. */
typedef struct bnm_h5_layout {
    size_t n_sims;  /* >= 1 */
    size_t n_nodes; /* >= 1 */

    bool bold;
    size_t n_vols; /* BOLD volumes per simulation (>= 1 when bold) */

    bool fc;
    /* Pair list of /fc_pairs and the fc columns. fc_pairs = NULL: every (i, j) with
     * i > j in row-major order (NumPy tril_indices(n, -1)), without the pairs that
     * cross hemispheres (nodes 0..n/2-1 vs n/2..n-1, n even) when exc_interhemispheric
     * is set. Otherwise n_fc_pairs pairs (i, j), 2 int32 each, used as given. */
    bool exc_interhemispheric;
    const int32_t *fc_pairs;
    size_t n_fc_pairs;

    bool fcd;
    size_t n_fcd_windows; /* fcd has n_fcd_windows*(n_fcd_windows-1)/2 columns (>= 1) */

    const char *const *states_mean; /* variable names, n_states_mean of them */
    size_t n_states_mean;
    const char *const *states_ts; /* variable names, n_states_ts of them */
    size_t n_states_ts;
    size_t n_ts_samples; /* time samples per simulation (>= 1 when n_states_ts > 0) */
    /* Samples per time block the engine writes (0: unknown). Chunks are cut to it so
     * each compressed chunk is written once, never decompressed and rewritten. */
    size_t ts_block;

    bool scores; /* scores/TERM for each term, plus gof, cost, fic_penalty */
    const char *const *score_terms;
    size_t n_score_terms;

    bool fic; /* fic/failed, fic/trials */

    const bnm_h5_param *params;
    size_t n_params;

    const char *const *subject_ids; /* >= 1 ID; no '/', not "." or ".." */
    size_t n_subjects;

    /* Root attributes; NULL is written as "". */
    const char *model, *model_source, *model_hash, *device, *precision, *run_file;
} bnm_h5_layout;

/* Zeroes everything (no outputs, no names). */
void bnm_h5_layout_init_defaults(bnm_h5_layout *layout);

typedef struct bnm_h5_writer bnm_h5_writer;

/* Checks the layout (BNM_ERR_INVALID_ARG, nothing created), then creates the temporary
 * file next to final_path with every group, dataset and root attribute, and /fc_pairs.
 * BNM_ERR_IO (message naming the path) when the folder cannot hold it. The caller owns
 * *out (bnm_h5_writer_destroy); final_path is copied. */
bnm_status bnm_h5_writer_create(bnm_context *ctx, const char *final_path,
                                const bnm_h5_layout *layout, bnm_h5_writer **out);

/* Writes simulations [first, first + count) of a per-simulation dataset (name as in the
 * list above, e.g. "bold", "states_ts/S_E", "params/G"): data holds count whole rows,
 * row-major, in the dataset's shape. Chunks may come in any order and may be rewritten. */
bnm_status bnm_h5_writer_write_rows(bnm_context *ctx, bnm_h5_writer *w, const char *name,
                                    size_t first, size_t count, bnm_h5_type type,
                                    const void *data);

/* Writes time samples [t0, t0 + nt) of simulations [first, first + count) of a 3-D
 * dataset (bold or states_ts/VAR): data is [count, nt, n_nodes] row-major. For each
 * simulation, blocks must not leave a gap (t0 <= samples already written from 0); a
 * simulation's row counts as written once samples [0, n) all were. */
bnm_status bnm_h5_writer_write_block(bnm_context *ctx, bnm_h5_writer *w, const char *name,
                                     size_t first, size_t count, size_t t0, size_t nt,
                                     bnm_h5_type type, const void *data);

/* Writes sims/subject and sims/subject_index for [first, first + count): index[k] is the
 * position of the simulation's subject in layout.subject_ids. */
bnm_status bnm_h5_writer_write_subjects(bnm_context *ctx, bnm_h5_writer *w, size_t first,
                                        size_t count, const int32_t *index);

/* Writes a whole array that is not per simulation, e.g. "subjects/sub-01/sc"
 * ([n, n] float64). Missing groups are created; ndim is 1 to 4; the file type is data's
 * type. An existing dataset of that name is an error. */
bnm_status bnm_h5_writer_write_array(bnm_context *ctx, bnm_h5_writer *w, const char *path,
                                     int ndim, const size_t *dims, bnm_h5_type type,
                                     const void *data);

/* Simulations not yet written in every per-simulation dataset. When first_missing and
 * dataset are non-NULL and the count is not 0, they receive the first such simulation
 * and one dataset (borrowed, valid while w lives) that lacks it. */
size_t bnm_h5_writer_missing(const bnm_h5_writer *w, size_t *first_missing,
                             const char **dataset);

/* Lets commit finish a file with missing rows: it then carries complete = 0,
 * incomplete_reason = reason (NULL: "") and status/written marks the rows written. */
void bnm_h5_writer_mark_incomplete(bnm_h5_writer *w, const char *reason);

/* Finishes the file (status/written, complete), closes it, flushes it to disk and
 * renames it to the final path. Refuses with BNM_ERR_INVALID_ARG, leaving the writer
 * usable, when rows are missing and the file was not marked incomplete. After any other
 * failure (BNM_ERR_IO) the writer can only be destroyed. */
bnm_status bnm_h5_writer_commit(bnm_context *ctx, bnm_h5_writer *w);

/* The temporary file's path (borrowed), or the final path after a commit. */
const char *bnm_h5_writer_path(const bnm_h5_writer *w);

/* Closes everything; removes the temporary file unless committed. NULL is accepted. */
void bnm_h5_writer_destroy(bnm_h5_writer *w);

/* ----- Reading ------------------------------------------------------------------ */

#define BNM_H5_MAX_DIMS 4

/* A dense row-major array read from a file. */
typedef struct bnm_h5_array {
    int ndim;
    size_t dims[BNM_H5_MAX_DIMS];
    size_t count; /* product of dims */
    bnm_h5_type type;
    void *data; /* count elements of type; owned, bnm_h5_array_free */
} bnm_h5_array;

/* Reads a whole numeric dataset (1 to 4 dimensions), converted to type. BNM_ERR_IO
 * (message naming the file and dataset) when the file, the dataset or the conversion
 * fails. On success the caller owns out->data; on failure *out is empty. */
bnm_status bnm_h5_read(bnm_context *ctx, const char *file, const char *dataset,
                       bnm_h5_type type, bnm_h5_array *out);
/* Reads rows [first, first + count) along the first dimension only (out->dims[0] =
 * count), so a large dataset can be read a chunk of simulations at a time. */
bnm_status bnm_h5_read_rows(bnm_context *ctx, const char *file, const char *dataset,
                            size_t first, size_t count, bnm_h5_type type, bnm_h5_array *out);
/* NULL and empty arrays are accepted. */
void bnm_h5_array_free(bnm_h5_array *a);

/* Reads a string attribute (fixed or variable length) of object ("/" for the root).
 * The caller owns *out (free()). */
bnm_status bnm_h5_read_attr_string(bnm_context *ctx, const char *file, const char *object,
                                   const char *name, char **out);
/* Reads a scalar integer attribute of object. */
bnm_status bnm_h5_read_attr_int(bnm_context *ctx, const char *file, const char *object,
                                const char *name, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
