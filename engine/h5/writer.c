/* Creating, finishing and abandoning the output file. The file lives under a temporary
 * name until commit, so readers never see a half-written result. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clbnm/version.h"
#include "h5_internal.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static bnm_status write_attr_string(bnm_context *ctx, bnm_h5_writer *w, const char *name,
                                    const char *value)
{
    bnm_status st = BNM_OK;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    const char *v = value ? value : "";

    /* Variable-length UTF-8: h5py returns str, and model_source/run_file can be long. */
    if ((type = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 ||
        H5Tset_cset(type, H5T_CSET_UTF8) < 0 || (space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(w->file, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(attr, type, &v) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot write the root attribute '%s'", name);
        goto fail;
    }
fail:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return st;
}

static bnm_status write_attr_int(bnm_context *ctx, bnm_h5_writer *w, const char *name,
                                 int32_t value)
{
    bnm_status st = BNM_OK;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    if ((space = H5Screate(H5S_SCALAR)) < 0 ||
        (attr = H5Acreate2(w->file, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT)) <
            0 ||
        H5Awrite(attr, H5T_NATIVE_INT32, &value) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot write the root attribute '%s'", name);
        goto fail;
    }
fail:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

static bnm_status write_root_attrs(bnm_context *ctx, bnm_h5_writer *w, const bnm_h5_layout *l)
{
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *names[] = {"clbnm_version", "model",     "model_source", "model_hash",
                           "device",        "precision", "run_file",     "created"};
    const char *values[] = {bnm_version(), l->model,    l->model_source, l->model_hash,
                            l->device,     l->precision, l->run_file,    created};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        bnm_status st = write_attr_string(ctx, w, names[k], values[k]);
        if (st)
            return st;
    }
    return BNM_OK;
}

/* File type of an entry; the caller closes it. */
static hid_t entry_file_type(const h5_plan_entry *e, size_t subject_len)
{
    if (e->kind == H5K_SUBJECT) {
        hid_t t = H5Tcopy(H5T_C_S1);
        if (t >= 0 && (H5Tset_size(t, subject_len) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
                       H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
            H5Tclose(t);
            return H5I_INVALID_HID;
        }
        return t;
    }
    return H5Tcopy(h5_file_type(e->type));
}

static bnm_status create_dataset(bnm_context *ctx, bnm_h5_writer *w, hid_t lcpl, h5_dset *d)
{
    bnm_status st = BNM_OK;
    const h5_plan_entry *e = &d->e;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID,
          type = H5I_INVALID_HID;

    if ((type = entry_file_type(e, w->subject_len)) < 0 ||
        (space = H5Screate_simple(e->ndim, e->dims, NULL)) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, e->ndim, e->chunk) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot set up dataset /%s", e->name);
        goto fail;
    }
    /* NaN where nothing was written: an incomplete file cannot pass for real zeros. */
    if (e->kind == H5K_NUMERIC && h5_type_is_float(e->type)) {
        double nan = NAN;
        if (H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan) < 0) {
            st = h5_fail(ctx, w->final_path, "cannot set the fill value of /%s", e->name);
            goto fail;
        }
    }
    if (e->compressed && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 4) < 0)) {
        st = h5_fail(ctx, w->final_path, "cannot enable compression for /%s", e->name);
        goto fail;
    }
    /* 1 MiB of chunk cache per dataset, so memory does not grow with the data. The
     * preemption weight must stay below 1: at 1.0, HDF5 1.10 kept every partially
     * written chunk alive (164 MB for 800 MB of BOLD written in 500-simulation chunks
     * that straddle 131-simulation HDF5 chunks). 0.75 is HDF5's default. */
    if ((dapl = H5Pcreate(H5P_DATASET_ACCESS)) < 0 ||
        H5Pset_chunk_cache(dapl, 521, H5_CHUNK_TARGET, 0.75) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot set up dataset /%s", e->name);
        goto fail;
    }
    d->id = H5Dcreate2(w->file, e->name, type, space, lcpl, dcpl, dapl);
    if (d->id < 0) {
        st = h5_fail(ctx, w->final_path, "cannot create dataset /%s", e->name);
        goto fail;
    }
fail:
    if (dapl >= 0)
        H5Pclose(dapl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return st;
}

static bnm_status write_fc_pairs(bnm_context *ctx, bnm_h5_writer *w, const h5_plan *plan)
{
    size_t dims[2] = {plan->n_fc_pairs, 2};
    return bnm_h5_writer_write_array(ctx, w, "fc_pairs", 2, dims, BNM_H5_I32, plan->fc_pairs);
}

static bnm_status create_subject_groups(bnm_context *ctx, bnm_h5_writer *w, hid_t lcpl)
{
    for (size_t k = 0; k < w->n_subjects; k++) {
        size_t n = strlen(w->subject_ids[k]) + sizeof "subjects/";
        char *path = malloc(n);
        if (!path)
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        snprintf(path, n, "subjects/%s", w->subject_ids[k]);
        hid_t g = H5Gcreate2(w->file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        bnm_status st = g < 0 ? h5_fail(ctx, w->final_path, "cannot create group /%s", path)
                              : BNM_OK;
        free(path);
        if (st)
            return st;
        H5Gclose(g);
    }
    return BNM_OK;
}

/* Reserves a unique name beside the final file. mkstemp makes the file 0600; a result
 * file should get the usual permissions, which the process umask decides. */
static bnm_status make_temp(bnm_context *ctx, bnm_h5_writer *w)
{
    size_t n = strlen(w->final_path) + sizeof ".partial-XXXXXX";
    w->tmp_path = malloc(n);
    if (!w->tmp_path)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    snprintf(w->tmp_path, n, "%s.partial-XXXXXX", w->final_path);
    int fd = mkstemp(w->tmp_path);
    if (fd < 0) {
        int err = errno;
        free(w->tmp_path);
        w->tmp_path = NULL;
        return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot create the output file there: %s",
                        w->final_path, strerror(err));
    }
    /* Reading the umask means setting it; the window is two system calls long and only
     * ever narrows permissions for anything created inside it. */
    mode_t mask = umask(077);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        int err = errno;
        close(fd);
        return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot set permissions: %s", w->tmp_path,
                        strerror(err));
    }
    close(fd);
    return BNM_OK;
}

bnm_status bnm_h5_writer_create(bnm_context *ctx, const char *final_path,
                                const bnm_h5_layout *layout, bnm_h5_writer **out)
{
    if (!out)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_h5_writer_create: out is NULL");
    *out = NULL;
    if (!final_path || !final_path[0] || !layout)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "bnm_h5_writer_create: an output path and a layout are required");

    h5_plan plan;
    bnm_status st = h5_plan_build(ctx, final_path, layout, &plan);
    if (st)
        return st;

    h5_quiet q;
    h5_quiet_begin(&q);
    hid_t lcpl = H5I_INVALID_HID;
    bnm_h5_writer *w = calloc(1, sizeof *w);
    if (!w) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    w->file = H5I_INVALID_HID;
    w->n_sims = layout->n_sims;
    w->subject_len = plan.subject_len;
    if (!(w->final_path = dup_str(final_path)) ||
        !(w->subject_ids = calloc(layout->n_subjects, sizeof *w->subject_ids)) ||
        !(w->dsets = calloc(plan.n, sizeof *w->dsets))) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    w->n_subjects = layout->n_subjects;
    for (size_t k = 0; k < w->n_subjects; k++)
        if (!(w->subject_ids[k] = dup_str(layout->subject_ids[k]))) {
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
            goto fail;
        }
    /* The plan's names move into the writer one by one, so each is freed exactly once
     * whichever way this function ends. */
    for (size_t k = 0; k < plan.n; k++) {
        h5_dset *d = &w->dsets[k];
        d->e = plan.entries[k];
        plan.entries[k].name = NULL;
        d->id = H5I_INVALID_HID;
        w->n_dsets++;
        d->full = d->e.ndim == 3 ? (uint32_t)d->e.dims[1] : 1;
        if (!(d->progress = calloc(w->n_sims, sizeof *d->progress))) {
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }

    /* rename(2) cannot put a file over a folder; say so now, not after the whole run. */
    struct stat fst;
    if (stat(final_path, &fst) == 0 && S_ISDIR(fst.st_mode)) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: is a folder; give a file name for the output",
                      final_path);
        goto fail;
    }
    if ((st = make_temp(ctx, w)))
        goto fail;
    w->file = H5Fcreate(w->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) {
        st = h5_fail(ctx, w->final_path, "cannot create the HDF5 file %s", w->tmp_path);
        goto fail;
    }
    if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 ||
        H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot set up group creation");
        goto fail;
    }
    if ((st = write_root_attrs(ctx, w, layout)))
        goto fail;
    for (size_t k = 0; k < w->n_dsets; k++)
        if ((st = create_dataset(ctx, w, lcpl, &w->dsets[k])))
            goto fail;
    if (plan.fc_pairs && (st = write_fc_pairs(ctx, w, &plan)))
        goto fail;
    if ((st = create_subject_groups(ctx, w, lcpl)))
        goto fail;
    *out = w;
    w = NULL;
fail:
    if (lcpl >= 0)
        H5Pclose(lcpl);
    h5_quiet_end(&q);
    bnm_h5_writer_destroy(w);
    h5_plan_free(&plan);
    return st;
}

h5_dset *h5_writer_find(bnm_context *ctx, bnm_h5_writer *w, const char *name)
{
    if (!w || !name) {
        bnm_fail(ctx, BNM_ERR_INVALID_ARG, "HDF5 writer: no writer or dataset name given");
        return NULL;
    }
    if (w->committed || w->broken || w->file < 0) {
        bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: the output file is already %s; /%s cannot be "
                 "written",
                 w->final_path, w->committed ? "finished" : "closed after an error", name);
        return NULL;
    }
    if (name[0] == '/')
        name++;
    for (size_t k = 0; k < w->n_dsets; k++)
        if (strcmp(w->dsets[k].e.name, name) == 0)
            return &w->dsets[k];
    bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: the output has no per-simulation dataset /%s",
             w->final_path, name);
    return NULL;
}

size_t bnm_h5_writer_missing(const bnm_h5_writer *w, size_t *first_missing,
                             const char **dataset)
{
    if (!w)
        return 0;
    size_t missing = 0;
    for (size_t i = 0; i < w->n_sims; i++) {
        for (size_t k = 0; k < w->n_dsets; k++) {
            if (w->dsets[k].progress[i] >= w->dsets[k].full)
                continue;
            if (missing == 0 && first_missing && dataset) {
                *first_missing = i;
                *dataset = w->dsets[k].e.name;
            }
            missing++;
            break;
        }
    }
    return missing;
}

void bnm_h5_writer_mark_incomplete(bnm_h5_writer *w, const char *reason)
{
    if (!w)
        return;
    w->incomplete = true;
    free(w->reason);
    w->reason = dup_str(reason ? reason : ""); /* NULL on no memory: written as "" */
}

static bnm_status write_written(bnm_context *ctx, bnm_h5_writer *w)
{
    uint8_t *written = malloc(w->n_sims);
    if (!written)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < w->n_sims; i++) {
        written[i] = 1;
        for (size_t k = 0; k < w->n_dsets; k++)
            if (w->dsets[k].progress[i] < w->dsets[k].full)
                written[i] = 0;
    }
    size_t dims[1] = {w->n_sims};
    bnm_status st =
        bnm_h5_writer_write_array(ctx, w, "status/written", 1, dims, BNM_H5_U8, written);
    free(written);
    return st;
}

static void close_all(bnm_h5_writer *w)
{
    for (size_t k = 0; k < w->n_dsets; k++)
        if (w->dsets[k].id >= 0) {
            H5Dclose(w->dsets[k].id);
            w->dsets[k].id = H5I_INVALID_HID;
        }
    if (w->file >= 0) {
        H5Fclose(w->file);
        w->file = H5I_INVALID_HID;
    }
}

/* Makes the data durable before the rename publishes it, so a crash cannot leave a final
 * name pointing at a file whose blocks never reached the disk. */
static bnm_status sync_path(bnm_context *ctx, const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return bnm_fail(ctx, BNM_ERR_IO, "%s: cannot flush to disk: %s", path, strerror(err));
    }
    close(fd);
    return BNM_OK;
}

static void sync_parent_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
}

bnm_status bnm_h5_writer_commit(bnm_context *ctx, bnm_h5_writer *w)
{
    if (!w)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_h5_writer_commit: no writer");
    if (w->committed || w->broken || w->file < 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: the output file is already %s",
                        w->final_path, w->committed ? "finished" : "closed after an error");
    size_t first = 0;
    const char *dset = "";
    size_t missing = bnm_h5_writer_missing(w, &first, &dset);
    if (missing && !w->incomplete)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: %zu of %zu simulations were not written (first: simulation %zu "
                        "in /%s); the file is not finished",
                        w->final_path, missing, w->n_sims, first, dset);

    h5_quiet q;
    h5_quiet_begin(&q);
    bnm_status st;
    w->broken = true; /* until the rename succeeds */
    if ((st = write_written(ctx, w)) ||
        (st = write_attr_int(ctx, w, "complete", missing ? 0 : 1)))
        goto fail;
    if (w->incomplete && (st = write_attr_string(ctx, w, "incomplete_reason", w->reason)))
        goto fail;
    for (size_t k = 0; k < w->n_dsets; k++) {
        herr_t rc = H5Dclose(w->dsets[k].id);
        w->dsets[k].id = H5I_INVALID_HID;
        if (rc < 0) {
            st = h5_fail(ctx, w->final_path, "cannot finish dataset /%s", w->dsets[k].e.name);
            goto fail;
        }
    }
    herr_t rc = H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    if (rc < 0) {
        st = h5_fail(ctx, w->final_path, "cannot close the HDF5 file %s", w->tmp_path);
        goto fail;
    }
    if ((st = sync_path(ctx, w->tmp_path)))
        goto fail;
    if (rename(w->tmp_path, w->final_path) != 0) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot move the finished file %s into place: %s",
                      w->final_path, w->tmp_path, strerror(errno));
        goto fail;
    }
    sync_parent_dir(w->final_path);
    w->committed = true;
    w->broken = false;
fail:
    if (st)
        close_all(w);
    h5_quiet_end(&q);
    return st;
}

const char *bnm_h5_writer_path(const bnm_h5_writer *w)
{
    if (!w)
        return NULL;
    return w->committed ? w->final_path : w->tmp_path;
}

void bnm_h5_writer_destroy(bnm_h5_writer *w)
{
    if (!w)
        return;
    h5_quiet q;
    h5_quiet_begin(&q);
    close_all(w);
    h5_quiet_end(&q);
    if (w->tmp_path && !w->committed)
        unlink(w->tmp_path);
    for (size_t k = 0; k < w->n_dsets; k++) {
        free(w->dsets[k].e.name);
        free(w->dsets[k].progress);
    }
    free(w->dsets);
    for (size_t k = 0; k < w->n_subjects; k++)
        free(w->subject_ids[k]);
    free(w->subject_ids);
    free(w->reason);
    free(w->tmp_path);
    free(w->final_path);
    free(w);
}
