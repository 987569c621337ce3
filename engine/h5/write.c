/* Hyperslab writes of chunks of simulations, and whole arrays. */
#include <stdlib.h>
#include <string.h>

#include "h5_internal.h"

static bnm_status check_type(bnm_context *ctx, const bnm_h5_writer *w, const h5_dset *d,
                             bnm_h5_type type, const void *data)
{
    if (h5_mem_type(type) < 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: /%s: unknown buffer type %d",
                        w->final_path, d->e.name, (int)type);
    if (!data)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: /%s: no data given", w->final_path,
                        d->e.name);
    if (h5_type_is_float(type) != h5_type_is_float(d->e.type))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: /%s holds %s values; a buffer of %s was given", w->final_path,
                        d->e.name, h5_type_is_float(d->e.type) ? "floating-point" : "integer",
                        h5_type_is_float(type) ? "floating-point" : "integer");
    return BNM_OK;
}

/* Writes the box start[] + count[] of d from a dense buffer of that box's shape. */
static bnm_status write_box(bnm_context *ctx, bnm_h5_writer *w, h5_dset *d,
                            const hsize_t *start, const hsize_t *count, hid_t mem_type,
                            const void *data)
{
    bnm_status st = BNM_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    h5_quiet q;
    h5_quiet_begin(&q);
    if ((fspace = H5Dget_space(d->id)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (mspace = H5Screate_simple(d->e.ndim, count, NULL)) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot select simulations %llu..%llu of /%s",
                     (unsigned long long)start[0],
                     (unsigned long long)(start[0] + count[0] - 1), d->e.name);
        goto fail;
    }
    if (H5Dwrite(d->id, mem_type, mspace, fspace, H5P_DEFAULT, data) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot write simulations %llu..%llu of /%s",
                     (unsigned long long)start[0],
                     (unsigned long long)(start[0] + count[0] - 1), d->e.name);
        goto fail;
    }
fail:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    h5_quiet_end(&q);
    return st;
}

static bnm_status check_rows(bnm_context *ctx, const bnm_h5_writer *w, const h5_dset *d,
                             size_t first, size_t count)
{
    if (count == 0 || first > w->n_sims || count > w->n_sims - first)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: /%s: simulations [%zu, %zu) are not a non-empty part of the %zu "
                        "simulations",
                        w->final_path, d->e.name, first, first + count, w->n_sims);
    return BNM_OK;
}

bnm_status bnm_h5_writer_write_rows(bnm_context *ctx, bnm_h5_writer *w, const char *name,
                                    size_t first, size_t count, bnm_h5_type type,
                                    const void *data)
{
    h5_dset *d = h5_writer_find(ctx, w, name);
    if (!d)
        return BNM_ERR_INVALID_ARG;
    if (d->e.kind != H5K_NUMERIC)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: /%s is written with bnm_h5_writer_write_subjects", w->final_path,
                        d->e.name);
    bnm_status st;
    if ((st = check_rows(ctx, w, d, first, count)) || (st = check_type(ctx, w, d, type, data)))
        return st;
    hsize_t start[3] = {first, 0, 0}, cnt[3] = {count, d->e.dims[1], d->e.dims[2]};
    if ((st = write_box(ctx, w, d, start, cnt, h5_mem_type(type), data)))
        return st;
    for (size_t i = first; i < first + count; i++)
        d->progress[i] = d->full;
    return BNM_OK;
}

bnm_status bnm_h5_writer_write_block(bnm_context *ctx, bnm_h5_writer *w, const char *name,
                                     size_t first, size_t count, size_t t0, size_t nt,
                                     bnm_h5_type type, const void *data)
{
    h5_dset *d = h5_writer_find(ctx, w, name);
    if (!d)
        return BNM_ERR_INVALID_ARG;
    if (d->e.ndim != 3)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: /%s has no time axis; write it with bnm_h5_writer_write_rows",
                        w->final_path, d->e.name);
    bnm_status st;
    if ((st = check_rows(ctx, w, d, first, count)) || (st = check_type(ctx, w, d, type, data)))
        return st;
    if (nt == 0 || t0 > d->e.dims[1] || nt > d->e.dims[1] - t0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "%s: /%s: samples [%zu, %zu) are not a non-empty part of the %llu "
                        "samples",
                        w->final_path, d->e.name, t0, t0 + nt,
                        (unsigned long long)d->e.dims[1]);
    for (size_t i = first; i < first + count; i++)
        if (d->progress[i] < t0)
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                            "%s: /%s: simulation %zu has samples [0, %u) written; a block "
                            "starting at %zu would leave a gap",
                            w->final_path, d->e.name, i, (unsigned)d->progress[i], t0);
    hsize_t start[3] = {first, t0, 0}, cnt[3] = {count, nt, d->e.dims[2]};
    if ((st = write_box(ctx, w, d, start, cnt, h5_mem_type(type), data)))
        return st;
    for (size_t i = first; i < first + count; i++)
        if (d->progress[i] < t0 + nt)
            d->progress[i] = (uint32_t)(t0 + nt);
    return BNM_OK;
}

bnm_status bnm_h5_writer_write_subjects(bnm_context *ctx, bnm_h5_writer *w, size_t first,
                                        size_t count, const int32_t *index)
{
    h5_dset *names = h5_writer_find(ctx, w, "sims/subject");
    if (!names)
        return BNM_ERR_INVALID_ARG;
    bnm_status st;
    if ((st = check_rows(ctx, w, names, first, count)))
        return st;
    if (!index)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: /sims/subject: no data given",
                        w->final_path);
    for (size_t k = 0; k < count; k++)
        if (index[k] < 0 || (size_t)index[k] >= w->n_subjects)
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                            "%s: /sims/subject: simulation %zu has subject index %d; there are "
                            "%zu subjects",
                            w->final_path, first + k, (int)index[k], w->n_subjects);

    /* The strings exist only for this chunk: count * longest ID bytes. */
    char *text = calloc(count, w->subject_len);
    if (!text)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < count; k++) {
        const char *id = w->subject_ids[index[k]];
        memcpy(text + k * w->subject_len, id, strlen(id));
    }
    h5_quiet q;
    h5_quiet_begin(&q);
    hid_t type = H5Dget_type(names->id);
    h5_quiet_end(&q);
    if (type < 0) {
        free(text);
        return h5_fail(ctx, w->final_path, "cannot read the type of /sims/subject");
    }
    hsize_t start[3] = {first, 0, 0}, cnt[3] = {count, 0, 0};
    st = write_box(ctx, w, names, start, cnt, type, text);
    H5Tclose(type);
    free(text);
    if (st)
        return st;
    for (size_t i = first; i < first + count; i++)
        names->progress[i] = names->full;
    return bnm_h5_writer_write_rows(ctx, w, "sims/subject_index", first, count, BNM_H5_I32,
                                    index);
}

bnm_status bnm_h5_writer_write_array(bnm_context *ctx, bnm_h5_writer *w, const char *path,
                                     int ndim, const size_t *dims, bnm_h5_type type,
                                     const void *data)
{
    if (!w || !path || !path[0] || !dims || !data || ndim < 1 || ndim > BNM_H5_MAX_DIMS ||
        h5_mem_type(type) < 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "bnm_h5_writer_write_array: missing or invalid argument for %s",
                        path ? path : "(null)");
    if (w->committed || w->file < 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: the output file is already closed; "
                        "/%s cannot be written",
                        w->final_path, path);
    hsize_t hd[BNM_H5_MAX_DIMS];
    for (int k = 0; k < ndim; k++) {
        if (dims[k] == 0)
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "%s: /%s: dimension %d is 0",
                            w->final_path, path, k);
        hd[k] = dims[k];
    }
    if (path[0] == '/')
        path++;

    bnm_status st = BNM_OK;
    hid_t space = H5I_INVALID_HID, lcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    h5_quiet q;
    h5_quiet_begin(&q);
    if ((space = H5Screate_simple(ndim, hd, NULL)) < 0 ||
        (lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 ||
        H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot set up dataset /%s", path);
        goto fail;
    }
    if ((d = H5Dcreate2(w->file, path, h5_file_type(type), space, lcpl, H5P_DEFAULT,
                        H5P_DEFAULT)) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot create dataset /%s", path);
        goto fail;
    }
    if (H5Dwrite(d, h5_mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        st = h5_fail(ctx, w->final_path, "cannot write dataset /%s", path);
        goto fail;
    }
fail:
    if (d >= 0)
        H5Dclose(d);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (space >= 0)
        H5Sclose(space);
    h5_quiet_end(&q);
    return st;
}
