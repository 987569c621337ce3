/* OUTDIR/checkpoint.h5: everything a resumed job needs to continue bitwise exactly.
 *   root attributes: format (int32 1), run_file (the YAML text), n_runs, dim, popsize;
 *   /x_lo, /x_hi [dim]: the coordinate bounds (they depend on map files too, which the
 *   run file text does not capture)
 *   /runs/k: attribute rows (uint64); datasets cmaes_state (uint8 blob of cmaes.h), x
 *   [rows, d], cost, gof, fic_penalty [rows], scores [rows, BNM_FIT_N_TERMS], diverged
 *   [rows] uint8, generation, particle [rows] int32.
 * Written to OUTDIR/.checkpoint.h5.tmp and renamed over checkpoint.h5. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt_internal.h"

#define CK_FORMAT 1

static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s/%s", dir, name);
    return s;
}

static bnm_status write_run(bnm_context *ctx, hid_t f, const bnm_opt_problem *p, size_t k,
                            const opt_runstate *r)
{
    char path[64];
    snprintf(path, sizeof path, "runs/%zu", k);
    hid_t g = opt_h5_group(ctx, f, path);
    if (g < 0)
        return BNM_ERR_IO;
    size_t size = bnm_cmaes_state_size(r->es), rows = r->h.rows, d = p->dim;
    uint64_t rows64 = rows;
    unsigned char *blob = malloc(size);
    bnm_status st = blob ? bnm_cmaes_state_save(ctx, r->es, blob, size)
                         : bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (checkpoint)");
    size_t d2[2] = {rows, d}, s2[2] = {rows, BNM_FIT_N_TERMS};
    if (st == BNM_OK)
        st = opt_h5_attr_num(ctx, g, "rows", 'u', &rows64);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "cmaes_state", 'b', 1, &size, blob);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "x", 'd', 2, d2, r->h.x);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "cost", 'd', 1, &rows, r->h.cost);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "gof", 'd', 1, &rows, r->h.gof);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "fic_penalty", 'd', 1, &rows, r->h.fic);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "scores", 'd', 2, s2, r->h.scores);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "diverged", 'b', 1, &rows, r->h.diverged);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "generation", 'i', 1, &rows, r->h.generation);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, g, "particle", 'i', 1, &rows, r->h.particle);
    free(blob);
    H5Gclose(g);
    return st;
}

bnm_status opt_checkpoint_write(bnm_context *ctx, const bnm_opt_problem *p, const char *outdir,
                                opt_runstate *runs, size_t n_runs)
{
    char *tmp = join(outdir, ".checkpoint.h5.tmp"), *fin = join(outdir, "checkpoint.h5");
    bnm_status st = BNM_OK;
    hid_t f = -1;
    if (!tmp || !fin) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto done;
    }
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot create the checkpoint file", tmp);
        goto done;
    }
    int32_t format = CK_FORMAT;
    uint64_t nr = n_runs, dim = p->dim, pop = (uint64_t)p->run->optimizer.popsize;
    st = opt_h5_attr_num(ctx, f, "format", 'i', &format);
    if (st == BNM_OK)
        st = opt_h5_attr_str(ctx, f, "run_file", p->run->text);
    if (st == BNM_OK)
        st = opt_h5_attr_num(ctx, f, "n_runs", 'u', &nr);
    if (st == BNM_OK)
        st = opt_h5_attr_num(ctx, f, "dim", 'u', &dim);
    if (st == BNM_OK)
        st = opt_h5_attr_num(ctx, f, "popsize", 'u', &pop);
    size_t d = p->dim;
    if (st == BNM_OK)
        st = opt_h5_write(ctx, f, "x_lo", 'd', 1, &d, p->lo);
    if (st == BNM_OK)
        st = opt_h5_write(ctx, f, "x_hi", 'd', 1, &d, p->hi);
    for (size_t k = 0; k < n_runs && st == BNM_OK; k++)
        st = write_run(ctx, f, p, k, &runs[k]);
    if (H5Fclose(f) < 0 && st == BNM_OK)
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot close the checkpoint file", tmp);
    f = -1;
    if (st == BNM_OK && opt_rename_durable(tmp, fin) != 0)
        st = bnm_fail(ctx, BNM_ERR_IO, "%s: cannot rename the checkpoint to %s", tmp, fin);
    if (st != BNM_OK)
        remove(tmp);
done:
    if (st != BNM_OK && bnm_context_status(ctx) != BNM_OK && fin)
        bnm_context_append(ctx, " (writing %s)", fin);
    free(tmp);
    free(fin);
    return st;
}

static bnm_status read_run(bnm_context *ctx, hid_t f, const char *file, const bnm_opt_problem *p,
                           size_t k, opt_runstate *r)
{
    char path[64];
    snprintf(path, sizeof path, "runs/%zu", k);
    if (H5Lexists(f, "runs", H5P_DEFAULT) <= 0 || H5Lexists(f, path, H5P_DEFAULT) <= 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: group '/%s' is missing", file, path);
    hid_t g = H5Gopen2(f, path, H5P_DEFAULT);
    if (g < 0)
        return bnm_fail(ctx, BNM_ERR_DATA, "%s: cannot open '/%s'", file, path);
    uint64_t rows64 = 0;
    size_t size = 0, d = p->dim;
    unsigned char *blob = NULL;
    bnm_status st = opt_h5_read_attr_num(ctx, g, file, "rows", 'u', &rows64);
    size_t rows = (size_t)rows64;
    if (st == BNM_OK)
        st = opt_h5_count(ctx, g, file, "cmaes_state", &size);
    if (st == BNM_OK && !(blob = malloc(size ? size : 1)))
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory (checkpoint)");
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "cmaes_state", 'b', size, blob);
    if (st == BNM_OK)
        st = bnm_cmaes_state_restore(ctx, blob, size, &r->es);
    if (st == BNM_OK && (bnm_cmaes_dim(r->es) != d ||
                         bnm_cmaes_popsize(r->es) != (unsigned)p->run->optimizer.popsize))
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: run %zu's optimizer state does not match the "
                      "run file", file, k);
    if (st == BNM_OK)
        st = opt_history_reserve(ctx, &r->h, d, rows);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "x", 'd', rows * d, r->h.x);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "cost", 'd', rows, r->h.cost);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "gof", 'd', rows, r->h.gof);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "fic_penalty", 'd', rows, r->h.fic);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "scores", 'd', rows * BNM_FIT_N_TERMS, r->h.scores);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "diverged", 'b', rows, r->h.diverged);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "generation", 'i', rows, r->h.generation);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, g, file, "particle", 'i', rows, r->h.particle);
    if (st == BNM_OK) {
        r->h.rows = rows;
        if (rows != bnm_cmaes_evaluations(r->es))
            st = bnm_fail(ctx, BNM_ERR_DATA, "%s: run %zu holds %zu history rows but its "
                          "optimizer has made %llu evaluations", file, k, rows,
                          (unsigned long long)bnm_cmaes_evaluations(r->es));
    }
    free(blob);
    H5Gclose(g);
    return st;
}

bnm_status opt_checkpoint_read(bnm_context *ctx, const bnm_opt_problem *p, const char *outdir,
                               opt_runstate *runs, size_t n_runs)
{
    char *fin = join(outdir, "checkpoint.h5"), *text = NULL;
    if (!fin)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    FILE *probe = fopen(fin, "rb");
    if (!probe) {
        bnm_status st = bnm_fail(ctx, BNM_ERR_IO, "%s: nothing to resume (no checkpoint; run "
                                 "without --resume to start)", fin);
        free(fin);
        return st;
    }
    fclose(probe);
    hid_t f = H5Fopen(fin, H5F_ACC_RDONLY, H5P_DEFAULT);
    bnm_status st = BNM_OK;
    if (f < 0) {
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: not a readable checkpoint (HDF5) file", fin);
        goto done;
    }
    int32_t format = 0;
    uint64_t nr = 0, dim = 0, pop = 0;
    st = opt_h5_read_attr_num(ctx, f, fin, "format", 'i', &format);
    if (st == BNM_OK && format != CK_FORMAT)
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: checkpoint format %d, this clbnm reads %d", fin,
                      format, CK_FORMAT);
    if (st == BNM_OK)
        st = opt_h5_read_attr_str(ctx, f, fin, "run_file", &text);
    if (st == BNM_OK && strcmp(text, p->run->text ? p->run->text : "") != 0)
        st = bnm_fail(ctx, BNM_ERR_RUN, "%s: the checkpoint was made from a different run "
                      "file than %s; resume with the same run file", fin, p->run->path);
    if (st == BNM_OK)
        st = opt_h5_read_attr_num(ctx, f, fin, "n_runs", 'u', &nr);
    if (st == BNM_OK)
        st = opt_h5_read_attr_num(ctx, f, fin, "dim", 'u', &dim);
    if (st == BNM_OK)
        st = opt_h5_read_attr_num(ctx, f, fin, "popsize", 'u', &pop);
    if (st == BNM_OK && (nr != n_runs || dim != p->dim ||
                         pop != (uint64_t)p->run->optimizer.popsize))
        st = bnm_fail(ctx, BNM_ERR_DATA, "%s: the checkpoint holds %llu runs of %llu "
                      "coordinates, the run file makes %zu of %zu", fin,
                      (unsigned long long)nr, (unsigned long long)dim, n_runs, p->dim);
    double *bounds = st == BNM_OK ? malloc(2 * p->dim * sizeof *bounds) : NULL;
    if (st == BNM_OK && !bounds)
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    if (st == BNM_OK)
        st = opt_h5_read(ctx, f, fin, "x_lo", 'd', p->dim, bounds);
    if (st == BNM_OK)
        st = opt_h5_read(ctx, f, fin, "x_hi", 'd', p->dim, bounds + p->dim);
    if (st == BNM_OK && (memcmp(bounds, p->lo, p->dim * sizeof *bounds) != 0 ||
                         memcmp(bounds + p->dim, p->hi, p->dim * sizeof *bounds) != 0))
        st = bnm_fail(ctx, BNM_ERR_RUN, "%s: the free coordinates' bounds differ from the "
                      "checkpoint's (a map file changed?); resume with the same inputs", fin);
    free(bounds);
    for (size_t k = 0; k < n_runs && st == BNM_OK; k++)
        st = read_run(ctx, f, fin, p, k, &runs[k]);
    H5Fclose(f);
done:
    free(text);
    free(fin);
    return st;
}
