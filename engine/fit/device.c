/* Batched FC, FCD and KS on an OpenCL device. Correlations are GEMMs (CLBlast) of
 * centred unit-norm series; the FCD sample is sorted on the device (bitonic) and D is an
 * exact integer merge count against the sorted empirical sample.
 *
 * Memory: simulations are processed in groups of G. Per group the device holds G BOLD
 * series (host input only), their static z-series, FC vectors, window-FC vectors
 * (G n_win n_pairs), FCD matrices and sort rows; the full n x n window matrices exist
 * only for a chunk of windows at a time. bnm_fit_device_group_bytes is the exact sum. */
#include <clblast_c.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"
#include "fit_cl.h"
#include "fit_internal.h"

enum { K_ZSCORE, K_PAIRS, K_ZROWS, K_TRIL, K_BITONIC, K_KS, K_COUNT };
static const char *const kernel_names[K_COUNT] = {"fit_zscore", "fit_pairs", "fit_zrows",
                                                  "fit_tril",   "fit_bitonic", "fit_ks"};

struct bnm_fit_device {
    bnm_context *ctx;
    bnm_cl *cl;
    bool dbl;
    size_t elt;
    cl_program prog;
    cl_kernel k[K_COUNT];
    size_t ks_local;
};

bnm_status bnm_fit_device_create(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                                 bool use_double, bnm_fit_device **out)
{
    *out = NULL;
    const bnm_device_info *info = bnm_cl_device(cl);
    if (use_double && !info->fp64)
        return bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                        "device '%s' has no double precision; use float", info->name);
    bnm_fit_device *d = calloc(1, sizeof *d);
    if (!d)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    d->ctx = ctx;
    d->cl = cl;
    d->dbl = use_double;
    d->elt = use_double ? sizeof(double) : sizeof(float);
    const char *head = use_double ? "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
                                    "typedef double real;\n"
                                  : "typedef float real;\n";
    size_t len = strlen(head) + strlen(bnm_fit_cl_source) + 1;
    char *src = malloc(len), *log = NULL;
    bnm_status st = BNM_OK;
    if (!src) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(src, len, "%s%s", head, bnm_fit_cl_source);
    st = bnm_program_build(ctx, cl, cache, src, NULL, &d->prog, &log);
    free(src);
    if (st != BNM_OK) {
        if (log)
            bnm_log_error("fit kernels build log:\n%s", log);
        free(log);
        goto fail;
    }
    free(log);
    for (int i = 0; i < K_COUNT; i++) {
        cl_int err;
        d->k[i] = clCreateKernel(d->prog, kernel_names[i], &err);
        if (err != CL_SUCCESS) {
            st = bnm_fail(ctx, BNM_ERR_OPENCL, "clCreateKernel(%s): %s", kernel_names[i],
                          bnm_cl_error_name(err));
            goto fail;
        }
    }
    /* A power of two for the tree reduction in fit_ks. */
    size_t wg = 1;
    while (wg * 2 <= info->max_work_group_size && wg * 2 <= 256)
        wg *= 2;
    d->ks_local = wg;
    *out = d;
    return BNM_OK;
fail:
    bnm_fit_device_destroy(d);
    return st;
}

bool bnm_fit_device_is_double(const bnm_fit_device *dev)
{
    return dev->dbl;
}

void bnm_fit_device_destroy(bnm_fit_device *dev)
{
    if (!dev)
        return;
    for (int i = 0; i < K_COUNT; i++)
        if (dev->k[i])
            clReleaseKernel(dev->k[i]);
    if (dev->prog)
        clReleaseProgram(dev->prog);
    free(dev);
}

/* Sizes of one batch, derived once. */
typedef struct geom {
    size_t n, n_pairs, n_vol, n_rm, n_corr, n_win, lmax, n_fcd, pad, max_ne;
    unsigned mode;
} geom;

static size_t next_pow2(size_t x)
{
    size_t p = 1;
    while (p < x)
        p *= 2;
    return p;
}

static void geom_of(const bnm_fit_batch *b, geom *g)
{
    memset(g, 0, sizeof *g);
    g->n = b->n_nodes;
    g->n_pairs = b->pairs->n_pairs;
    g->n_vol = b->n_vol;
    g->n_rm = b->n_rm;
    g->n_corr = b->n_vol - b->n_rm;
    if (b->windows) {
        g->n_win = bnm_fcd_window_count(b->windows, b->n_vol, b->n_rm);
        g->lmax = (size_t)b->windows->ws + 1;
        g->mode = b->windows->drop_edges ? 1u : 2u;
        g->n_fcd = bnm_fcd_pair_count(g->n_win);
        g->pad = g->n_fcd ? next_pow2(g->n_fcd) : 0;
    }
    for (size_t s = 0; b->emp && s < b->n_sims; s++) {
        size_t ne = 0;
        if (b->emp[s])
            bnm_fit_emp_fcd_sorted(b->emp[s], &ne);
        if (ne > g->max_ne)
            g->max_ne = ne;
    }
}

static uint64_t budget_of(const bnm_fit_device *dev, const bnm_fit_batch *b)
{
    return b->max_bytes ? b->max_bytes : bnm_cl_device(dev->cl)->global_mem_bytes / 4;
}

/* Windows per GEMM chunk: a quarter of the budget for z-windows and full matrices. */
static size_t chunk_of(const bnm_fit_device *dev, const bnm_fit_batch *b, const geom *g,
                       size_t gs)
{
    if (g->n_win == 0)
        return 0;
    uint64_t per = (uint64_t)dev->elt * (g->lmax * g->n + g->n * g->n);
    uint64_t c = budget_of(dev, b) / 4 / per;
    if (c < 1)
        c = 1;
    if (c > (uint64_t)gs * g->n_win)
        c = (uint64_t)gs * g->n_win;
    return (size_t)c;
}

/* Element counts of each buffer for a group of gs simulations. */
typedef struct sizes {
    size_t bold, zs, cfull, fc, zw, vec, fcdm, srt, emp;
} sizes;

static void sizes_of(const bnm_fit_device *dev, const bnm_fit_batch *b, const geom *g,
                     size_t gs, sizes *z)
{
    size_t chunk = chunk_of(dev, b, g, gs);
    z->bold = b->bold_dev ? 0 : gs * g->n_vol * g->n;
    z->zs = gs * g->n_corr * g->n;
    z->cfull = (gs > chunk ? gs : chunk) * g->n * g->n;
    z->fc = gs * g->n_pairs;
    z->zw = chunk * g->lmax * g->n;
    z->vec = gs * g->n_win * g->n_pairs;
    z->fcdm = gs * g->n_win * g->n_win;
    z->srt = gs * g->pad;
    z->emp = gs * g->max_ne;
}

uint64_t bnm_fit_device_group_bytes(const bnm_fit_device *dev, const bnm_fit_batch *batch,
                                    size_t gs)
{
    geom g;
    sizes z;
    geom_of(batch, &g);
    sizes_of(dev, batch, &g, gs, &z);
    uint64_t e = (uint64_t)z.bold + z.zs + z.cfull + z.fc + z.zw + z.vec + z.fcdm + z.srt +
                 z.emp;
    return e * dev->elt + (uint64_t)gs * (2 * sizeof(cl_uint) + sizeof(cl_ulong) +
                                          sizeof(cl_uint));
}

static bool group_fits(const bnm_fit_device *dev, const bnm_fit_batch *b, const geom *g,
                       size_t gs)
{
    sizes z;
    sizes_of(dev, b, g, gs, &z);
    uint64_t max_alloc = bnm_cl_device(dev->cl)->max_alloc_bytes;
    size_t all[] = {z.bold, z.zs, z.cfull, z.fc, z.zw, z.vec, z.fcdm, z.srt, z.emp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if ((uint64_t)all[i] * dev->elt > max_alloc)
            return false;
    return bnm_fit_device_group_bytes(dev, b, gs) <= budget_of(dev, b);
}

/* Device buffers of one run. */
typedef struct bufs {
    cl_mem bold, zs, cfull, fc, zw, vec, fcdm, srt, emp, pairs, e_off, e_n, num, bad;
} bufs;

static void bufs_release(bufs *m)
{
    cl_mem *all[] = {&m->bold, &m->zs,  &m->cfull, &m->fc,    &m->zw,  &m->vec, &m->fcdm,
                     &m->srt,  &m->emp, &m->pairs, &m->e_off, &m->e_n, &m->num, &m->bad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i])
            clReleaseMemObject(*all[i]);
        *all[i] = NULL;
    }
}

#define CL_TRY(call, what)                                                                  \
    do {                                                                                    \
        cl_int e_ = (call);                                                                 \
        if (e_ != CL_SUCCESS) {                                                             \
            st = bnm_fail(dev->ctx, BNM_ERR_OPENCL, "%s: %s", what, bnm_cl_error_name(e_)); \
            goto fail;                                                                      \
        }                                                                                   \
    } while (0)

#define BLAST_TRY(call, what)                                                               \
    do {                                                                                    \
        CLBlastStatusCode s_ = (call);                                                      \
        if (s_ != CLBlastSuccess) {                                                         \
            st = bnm_fail(dev->ctx, BNM_ERR_OPENCL, "CLBlast %s failed with status %d",     \
                          what, (int)s_);                                                   \
            goto fail;                                                                      \
        }                                                                                   \
    } while (0)

static cl_mem make_buf(bnm_fit_device *dev, size_t bytes, cl_int *err)
{
    return clCreateBuffer(bnm_cl_context(dev->cl), CL_MEM_READ_WRITE, bytes ? bytes : 16,
                          NULL, err);
}

/* C_m = A_m^T A_m (n x n) for count matrices A_m of lmax x n, strided in a. Or, with
 * outer, C_m = A_m A_m^T (rows x rows) for A_m of rows x cols. Row-major. */
static CLBlastStatusCode batched_gram(bnm_fit_device *dev, bool outer, size_t rows,
                                      size_t cols, cl_mem a, cl_mem c, size_t count)
{
    cl_command_queue q = bnm_cl_queue(dev->cl);
    CLBlastTranspose ta = outer ? CLBlastTransposeNo : CLBlastTransposeYes;
    CLBlastTranspose tb = outer ? CLBlastTransposeYes : CLBlastTransposeNo;
    size_t m = outer ? rows : cols, k = outer ? cols : rows;
    if (dev->dbl)
        return CLBlastDgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, m, m, k, 1.0, a, 0,
                                          cols, rows * cols, a, 0, cols, rows * cols, 0.0,
                                          c, 0, m, m * m, count, &q, NULL);
    return CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, m, m, k, 1.0f, a, 0,
                                      cols, rows * cols, a, 0, cols, rows * cols, 0.0f, c,
                                      0, m, m * m, count, &q, NULL);
}

/* Reads count reals from buf at element offset off into double dst. */
static cl_int read_reals(bnm_fit_device *dev, cl_mem buf, size_t off, size_t count,
                         void *tmp, double *dst)
{
    cl_int err = clEnqueueReadBuffer(bnm_cl_queue(dev->cl), buf, CL_TRUE, off * dev->elt,
                                     count * dev->elt, tmp, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return err;
    for (size_t i = 0; i < count; i++)
        dst[i] = dev->dbl ? ((const double *)tmp)[i] : (double)((const float *)tmp)[i];
    return CL_SUCCESS;
}

/* Sorts the gn rows of m->srt (length pad, the first ns values real, the rest +inf) and
 * sets d[s] to the exact KS statistic of row s against emp[s]'s sorted FCD, NaN when
 * emp[s] is NULL or empty or the row holds a non-finite value. tmp holds at least
 * gn * max empirical size reals; the small arrays hold gn entries. */
static bnm_status ks_stage(bnm_fit_device *dev, const bufs *m, size_t gn, size_t ns,
                           size_t pad_, const bnm_fit_emp *const *emp, void *tmp,
                           cl_uint *e_off, cl_uint *e_n, cl_ulong *num, cl_uint *bad,
                           double *d)
{
    bnm_status st = BNM_OK;
    cl_command_queue q = bnm_cl_queue(dev->cl);
    size_t elt = dev->elt;
    cl_kernel k = dev->k[K_BITONIC];
    cl_uint pad = (cl_uint)pad_;
    CL_TRY(clSetKernelArg(k, 0, sizeof(cl_mem), &m->srt), "set arg");
    clSetKernelArg(k, 1, sizeof pad, &pad);
    size_t gb[2] = {pad_ / 2, gn};
    for (cl_uint kk = 2; kk <= pad; kk *= 2)
        for (cl_uint j = kk / 2; j > 0; j /= 2) {
            clSetKernelArg(k, 2, sizeof kk, &kk);
            clSetKernelArg(k, 3, sizeof j, &j);
            CL_TRY(clEnqueueNDRangeKernel(q, k, 2, NULL, gb, NULL, 0, NULL, NULL),
                   "fit_bitonic");
        }
    /* Each simulation's empirical sample, sorted on the host in double and converted to
     * the device precision (rounding is monotone, so it stays sorted). */
    size_t at = 0;
    for (size_t s = 0; s < gn; s++) {
        size_t ne = 0;
        const double *v = emp && emp[s] ? bnm_fit_emp_fcd_sorted(emp[s], &ne) : NULL;
        e_off[s] = (cl_uint)at;
        e_n[s] = (cl_uint)ne;
        for (size_t i = 0; i < ne; i++, at++) {
            if (dev->dbl)
                ((double *)tmp)[at] = v[i];
            else
                ((float *)tmp)[at] = (float)v[i];
        }
    }
    if (at)
        CL_TRY(clEnqueueWriteBuffer(q, m->emp, CL_TRUE, 0, at * elt, tmp, 0, NULL, NULL),
               "upload empirical FCD");
    CL_TRY(clEnqueueWriteBuffer(q, m->e_off, CL_FALSE, 0, gn * sizeof *e_off, e_off, 0, NULL,
                                NULL),
           "upload offsets");
    CL_TRY(clEnqueueWriteBuffer(q, m->e_n, CL_TRUE, 0, gn * sizeof *e_n, e_n, 0, NULL, NULL),
           "upload sizes");
    cl_uint n_s = (cl_uint)ns;
    k = dev->k[K_KS];
    CL_TRY(clSetKernelArg(k, 0, sizeof(cl_mem), &m->srt), "set arg");
    clSetKernelArg(k, 1, sizeof pad, &pad);
    clSetKernelArg(k, 2, sizeof n_s, &n_s);
    clSetKernelArg(k, 3, sizeof(cl_mem), &m->emp);
    clSetKernelArg(k, 4, sizeof(cl_mem), &m->e_off);
    clSetKernelArg(k, 5, sizeof(cl_mem), &m->e_n);
    clSetKernelArg(k, 6, sizeof(cl_mem), &m->num);
    clSetKernelArg(k, 7, sizeof(cl_mem), &m->bad);
    clSetKernelArg(k, 8, dev->ks_local * sizeof(cl_ulong), NULL);
    clSetKernelArg(k, 9, dev->ks_local * sizeof(cl_uint), NULL);
    size_t gk = gn * dev->ks_local, lk = dev->ks_local;
    CL_TRY(clEnqueueNDRangeKernel(q, k, 1, NULL, &gk, &lk, 0, NULL, NULL), "fit_ks");
    CL_TRY(clEnqueueReadBuffer(q, m->num, CL_FALSE, 0, gn * sizeof *num, num, 0, NULL, NULL),
           "read KS");
    CL_TRY(clEnqueueReadBuffer(q, m->bad, CL_TRUE, 0, gn * sizeof *bad, bad, 0, NULL, NULL),
           "read KS flags");
    /* num and ns * ne are exact integers (< 2^53 for any sample that fits in memory):
     * one rounding in the division. */
    for (size_t s = 0; s < gn; s++)
        d[s] = (e_n[s] == 0 || bad[s] || ns == 0)
                   ? NAN
                   : (double)num[s] / ((double)ns * (double)e_n[s]);
fail:
    return st;
}

bnm_status bnm_fit_device_ks_samples(bnm_fit_device *dev, const double *samples, size_t gn,
                                     size_t ns, const bnm_fit_emp *const *emp, double *d)
{
    bnm_status st = BNM_OK;
    bufs m;
    memset(&m, 0, sizeof m);
    size_t pad = next_pow2(ns ? ns : 1), max_ne = 0, elt = dev->elt;
    if (pad < 2)
        pad = 2;
    for (size_t s = 0; s < gn; s++) {
        size_t ne = 0;
        if (emp && emp[s])
            bnm_fit_emp_fcd_sorted(emp[s], &ne);
        max_ne = ne > max_ne ? ne : max_ne;
    }
    size_t n_tmp = gn * (pad > max_ne ? pad : max_ne);
    void *tmp = malloc(n_tmp * elt);
    cl_uint *e_off = malloc(gn * sizeof *e_off), *e_n = malloc(gn * sizeof *e_n);
    cl_uint *bad = malloc(gn * sizeof *bad);
    cl_ulong *num = malloc(gn * sizeof *num);
    cl_int err = CL_SUCCESS;
    if (!tmp || !e_off || !e_n || !bad || !num) {
        st = bnm_fail(dev->ctx, BNM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t s = 0; s < gn; s++)
        for (size_t i = 0; i < pad; i++) {
            double v = i < ns ? samples[s * ns + i] : INFINITY;
            if (dev->dbl)
                ((double *)tmp)[s * pad + i] = v;
            else
                ((float *)tmp)[s * pad + i] = (float)v;
        }
    m.srt = clCreateBuffer(bnm_cl_context(dev->cl), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                           gn * pad * elt, tmp, &err);
    CL_TRY(err, "clCreateBuffer");
    m.emp = make_buf(dev, gn * max_ne * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.e_off = make_buf(dev, gn * sizeof(cl_uint), &err);
    CL_TRY(err, "clCreateBuffer");
    m.e_n = make_buf(dev, gn * sizeof(cl_uint), &err);
    CL_TRY(err, "clCreateBuffer");
    m.num = make_buf(dev, gn * sizeof(cl_ulong), &err);
    CL_TRY(err, "clCreateBuffer");
    m.bad = make_buf(dev, gn * sizeof(cl_uint), &err);
    CL_TRY(err, "clCreateBuffer");
    st = ks_stage(dev, &m, gn, ns, pad, emp, tmp, e_off, e_n, num, bad, d);
fail:
    bufs_release(&m);
    free(tmp);
    free(e_off);
    free(e_n);
    free(bad);
    free(num);
    return st;
}

bnm_status bnm_fit_device_run(bnm_fit_device *dev, const bnm_fit_batch *b, double *fc_out,
                              double *fcd_out, double *ks_out, double *scores)
{
    bnm_status st = BNM_OK;
    bufs m;
    memset(&m, 0, sizeof m);
    geom g;
    void *tmp = NULL;
    double *fc_tmp = NULL;
    cl_uint *e_off = NULL, *e_n = NULL, *bad = NULL;
    cl_ulong *num = NULL;
    double *dks = NULL;
    cl_command_queue q = bnm_cl_queue(dev->cl);
    cl_int err = CL_SUCCESS;

    if (!b->pairs || b->pairs->n_nodes != b->n_nodes || b->n_vol <= b->n_rm + 1 ||
        (!b->bold_dev == !b->bold_host) || b->n_sims == 0)
        return bnm_fail(dev->ctx, BNM_ERR_INVALID_ARG,
                        "fit batch: inconsistent nodes, volumes or BOLD source");
    if (b->n_vol > UINT32_MAX || b->n_nodes > UINT32_MAX)
        return bnm_fail(dev->ctx, BNM_ERR_INVALID_ARG, "fit batch too large");
    geom_of(b, &g);
    if (g.n_win > 0 && g.n_pairs < 2)
        return bnm_fail(dev->ctx, BNM_ERR_INVALID_ARG, "FCD needs at least 2 FC pairs");

    size_t gs = b->group ? b->group : b->n_sims;
    if (gs > b->n_sims)
        gs = b->n_sims;
    if (!b->group) {
        size_t lo = 1, hi = gs;
        while (lo < hi) {
            size_t mid = lo + (hi - lo + 1) / 2;
            if (group_fits(dev, b, &g, mid))
                lo = mid;
            else
                hi = mid - 1;
        }
        gs = lo;
    }
    if (!group_fits(dev, b, &g, gs))
        return bnm_fail(dev->ctx, BNM_ERR_UNSUPPORTED,
                        "fit scratch for %zu simulation%s (%llu bytes) exceeds the memory "
                        "budget or the device's largest allocation",
                        gs, gs == 1 ? "" : "s",
                        (unsigned long long)bnm_fit_device_group_bytes(dev, b, gs));
    size_t chunk = chunk_of(dev, b, &g, gs);
    sizes z;
    sizes_of(dev, b, &g, gs, &z);
    bnm_log_debug("fit: %zu simulations in groups of %zu, %zu windows per GEMM chunk, "
                  "%llu device bytes",
                  b->n_sims, gs, chunk,
                  (unsigned long long)bnm_fit_device_group_bytes(dev, b, gs));

    bool want_ks = g.n_fcd > 0 && g.max_ne > 0 && (ks_out || scores);
    size_t host_elems = gs * (g.n_pairs > g.pad ? g.n_pairs : g.pad);
    if (g.max_ne * gs > host_elems)
        host_elems = g.max_ne * gs;
    tmp = malloc((host_elems ? host_elems : 1) * dev->elt);
    fc_tmp = malloc(gs * g.n_pairs * sizeof *fc_tmp);
    e_off = malloc(gs * sizeof *e_off);
    e_n = malloc(gs * sizeof *e_n);
    num = malloc(gs * sizeof *num);
    bad = malloc(gs * sizeof *bad);
    dks = malloc(gs * sizeof *dks);
    if (!tmp || !fc_tmp || !e_off || !e_n || !num || !bad || !dks) {
        st = bnm_fail(dev->ctx, BNM_ERR_NOMEM, "out of host memory for fit results");
        goto fail;
    }
    size_t elt = dev->elt;
    m.bold = b->bold_dev ? NULL : make_buf(dev, z.bold * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.zs = make_buf(dev, z.zs * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.cfull = make_buf(dev, z.cfull * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.fc = make_buf(dev, z.fc * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.zw = make_buf(dev, z.zw * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.vec = make_buf(dev, z.vec * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.fcdm = make_buf(dev, z.fcdm * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.srt = make_buf(dev, z.srt * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.emp = make_buf(dev, z.emp * elt, &err);
    CL_TRY(err, "clCreateBuffer");
    m.e_off = make_buf(dev, gs * sizeof(cl_uint), &err);
    CL_TRY(err, "clCreateBuffer");
    m.e_n = make_buf(dev, gs * sizeof(cl_uint), &err);
    CL_TRY(err, "clCreateBuffer");
    m.num = make_buf(dev, gs * sizeof(cl_ulong), &err);
    CL_TRY(err, "clCreateBuffer");
    m.bad = make_buf(dev, gs * sizeof(cl_uint), &err);
    CL_TRY(err, "clCreateBuffer");
    m.pairs = clCreateBuffer(bnm_cl_context(dev->cl), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                             2 * g.n_pairs * sizeof(cl_uint), b->pairs->pairs, &err);
    CL_TRY(err, "clCreateBuffer(pairs)");

    cl_uint n_vol = (cl_uint)g.n_vol, n = (cl_uint)g.n, n_rm = (cl_uint)g.n_rm;
    cl_uint ws = b->windows ? b->windows->ws : 0, stp = b->windows ? b->windows->st : 1;
    cl_uint n_pairs = (cl_uint)g.n_pairs;

    for (size_t s0 = 0; s0 < b->n_sims; s0 += gs) {
        size_t gn = b->n_sims - s0 < gs ? b->n_sims - s0 : gs;
        cl_mem src = b->bold_dev ? b->bold_dev : m.bold;
        cl_ulong off = b->bold_dev ? (cl_ulong)(b->bold_dev_offset + s0 * g.n_vol * g.n) : 0;
        if (!b->bold_dev)
            CL_TRY(clEnqueueWriteBuffer(q, m.bold, CL_FALSE, 0, gn * g.n_vol * g.n * elt,
                                        (const char *)b->bold_host +
                                            s0 * g.n_vol * g.n * elt,
                                        0, NULL, NULL),
                   "upload BOLD");
        /* Static FC. */
        cl_uint per = 1, b0 = 0, mode = 0, lmax = (cl_uint)g.n_corr;
        cl_kernel k = dev->k[K_ZSCORE];
        CL_TRY(clSetKernelArg(k, 0, sizeof(cl_mem), &src), "set arg");
        clSetKernelArg(k, 1, sizeof off, &off);
        clSetKernelArg(k, 2, sizeof n_vol, &n_vol);
        clSetKernelArg(k, 3, sizeof n, &n);
        clSetKernelArg(k, 4, sizeof n_rm, &n_rm);
        clSetKernelArg(k, 5, sizeof per, &per);
        clSetKernelArg(k, 6, sizeof b0, &b0);
        clSetKernelArg(k, 7, sizeof mode, &mode);
        clSetKernelArg(k, 8, sizeof ws, &ws);
        clSetKernelArg(k, 9, sizeof stp, &stp);
        clSetKernelArg(k, 10, sizeof lmax, &lmax);
        clSetKernelArg(k, 11, sizeof(cl_mem), &m.zs);
        size_t gz[2] = {g.n, gn};
        CL_TRY(clEnqueueNDRangeKernel(q, k, 2, NULL, gz, NULL, 0, NULL, NULL), "fit_zscore");
        BLAST_TRY(batched_gram(dev, false, g.n_corr, g.n, m.zs, m.cfull, gn), "static FC GEMM");
        cl_ulong row0 = 0;
        k = dev->k[K_PAIRS];
        clSetKernelArg(k, 0, sizeof(cl_mem), &m.cfull);
        clSetKernelArg(k, 1, sizeof n, &n);
        clSetKernelArg(k, 2, sizeof(cl_mem), &m.pairs);
        clSetKernelArg(k, 3, sizeof n_pairs, &n_pairs);
        clSetKernelArg(k, 4, sizeof row0, &row0);
        clSetKernelArg(k, 5, sizeof(cl_mem), &m.fc);
        size_t gp[2] = {g.n_pairs, gn};
        CL_TRY(clEnqueueNDRangeKernel(q, k, 2, NULL, gp, NULL, 0, NULL, NULL), "fit_pairs");

        if (g.n_win > 0) {
            /* Window FCs, a chunk of windows at a time. */
            size_t total = gn * g.n_win;
            for (size_t w0 = 0; w0 < total; w0 += chunk) {
                size_t wn = total - w0 < chunk ? total - w0 : chunk;
                per = (cl_uint)g.n_win;
                b0 = (cl_uint)w0;
                mode = g.mode;
                lmax = (cl_uint)g.lmax;
                k = dev->k[K_ZSCORE];
                clSetKernelArg(k, 5, sizeof per, &per);
                clSetKernelArg(k, 6, sizeof b0, &b0);
                clSetKernelArg(k, 7, sizeof mode, &mode);
                clSetKernelArg(k, 10, sizeof lmax, &lmax);
                clSetKernelArg(k, 11, sizeof(cl_mem), &m.zw);
                size_t gw[2] = {g.n, wn};
                CL_TRY(clEnqueueNDRangeKernel(q, k, 2, NULL, gw, NULL, 0, NULL, NULL),
                       "fit_zscore(windows)");
                BLAST_TRY(batched_gram(dev, false, g.lmax, g.n, m.zw, m.cfull, wn),
                          "window FC GEMM");
                row0 = w0;
                k = dev->k[K_PAIRS];
                clSetKernelArg(k, 4, sizeof row0, &row0);
                clSetKernelArg(k, 5, sizeof(cl_mem), &m.vec);
                size_t gq[2] = {g.n_pairs, wn};
                CL_TRY(clEnqueueNDRangeKernel(q, k, 2, NULL, gq, NULL, 0, NULL, NULL),
                       "fit_pairs(windows)");
            }
            cl_uint rows = (cl_uint)total;
            k = dev->k[K_ZROWS];
            clSetKernelArg(k, 0, sizeof(cl_mem), &m.vec);
            clSetKernelArg(k, 1, sizeof rows, &rows);
            clSetKernelArg(k, 2, sizeof n_pairs, &n_pairs);
            size_t gr = total;
            CL_TRY(clEnqueueNDRangeKernel(q, k, 1, NULL, &gr, NULL, 0, NULL, NULL), "fit_zrows");
            BLAST_TRY(batched_gram(dev, true, g.n_win, g.n_pairs, m.vec, m.fcdm, gn), "FCD GEMM");
        }
        if (g.n_fcd > 0) {
            cl_uint nw = (cl_uint)g.n_win, pad = (cl_uint)g.pad;
            k = dev->k[K_TRIL];
            clSetKernelArg(k, 0, sizeof(cl_mem), &m.fcdm);
            clSetKernelArg(k, 1, sizeof nw, &nw);
            clSetKernelArg(k, 2, sizeof pad, &pad);
            clSetKernelArg(k, 3, sizeof(cl_mem), &m.srt);
            size_t gt[2] = {g.pad, gn};
            CL_TRY(clEnqueueNDRangeKernel(q, k, 2, NULL, gt, NULL, 0, NULL, NULL), "fit_tril");
            if (fcd_out) {
                CL_TRY(clEnqueueReadBuffer(q, m.srt, CL_TRUE, 0, gn * g.pad * elt, tmp, 0,
                                           NULL, NULL),
                       "read FCD");
                for (size_t s = 0; s < gn; s++)
                    for (size_t i = 0; i < g.n_fcd; i++) {
                        size_t at = s * g.pad + i;
                        fcd_out[(s0 + s) * g.n_fcd + i] =
                            dev->dbl ? ((const double *)tmp)[at]
                                     : (double)((const float *)tmp)[at];
                    }
            }
        }
        /* Static FC back to the host: an output, and the input of the FC terms. */
        CL_TRY(read_reals(dev, m.fc, 0, gn * g.n_pairs, tmp, fc_tmp), "read FC");
        if (fc_out)
            memcpy(fc_out + s0 * g.n_pairs, fc_tmp, gn * g.n_pairs * sizeof *fc_tmp);

        for (size_t s = 0; s < gn; s++)
            dks[s] = NAN;
        if (want_ks) {
            st = ks_stage(dev, &m, gn, g.n_fcd, g.pad, b->emp + s0, tmp, e_off, e_n, num, bad,
                          dks);
            if (st != BNM_OK)
                goto fail;
        }
        for (size_t s = 0; s < gn && ks_out; s++)
            ks_out[s0 + s] = dks[s];
        for (size_t s = 0; s < gn && scores; s++) {
            const bnm_fit_emp *e = b->emp ? b->emp[s0 + s] : NULL;
            bnm_fit_score(e, fc_tmp + s * g.n_pairs, g.n_pairs, dks[s],
                          b->diverged && b->diverged[s0 + s], scores + (s0 + s) * BNM_FIT_N_TERMS);
        }
    }
    CL_TRY(clFinish(q), "clFinish");
fail:
    bufs_release(&m);
    free(tmp);
    free(fc_tmp);
    free(e_off);
    free(e_n);
    free(num);
    free(bad);
    free(dks);
    return st;
}
