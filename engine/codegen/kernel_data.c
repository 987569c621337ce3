/* A batch's device buffers in the generated kernel's lane layout (codegen.h), shared by
 * the model-kernel launcher (launcher.c) and the batch engine's fused kernel.
 *
 * Simulations are placed in lanes sorted by (connectome, delay matrix, seed, noise id),
 * so that most work-items see one connectome (scalar weights, vector loads of the
 * history) and one noise realisation (drawn once per node instead of once per lane).
 * When the distinct keys are few next to the batch, each key's run of simulations also
 * starts a new work-item (padding lanes fill the gap), which makes every work-item
 * uniform; the padding costs at most a quarter more work-items, else it is skipped.
 * A simulation's lane never changes its results (emit.c), so the placement is free. */
#include <stdlib.h>
#include <string.h>

#include "codegen_internal.h"

static const char *dev_name(const bnm_kdata *kd)
{
    return bnm_cl_device(kd->cl)->name;
}

void bnm_kdata_init(bnm_kdata *kd, bnm_cl *cl, const bnm_cg_spec *rs, const bnm_cg_layout *lay)
{
    memset(kd, 0, sizeof *kd);
    kd->cl = cl;
    kd->rs = rs;
    kd->rsize = rs->precision == BNM_PRECISION_DOUBLE ? sizeof(double) : sizeof(float);
    kd->lanes = rs->lanes;
    kd->lay = *lay;
    size_t maxwg = bnm_cl_device(cl)->max_work_group_size;
    kd->wg = rs->lanes > 1 ? 1 : (maxwg && maxwg < BNM_CG_GPU_GROUP ? maxwg : BNM_CG_GPU_GROUP);
}

void bnm_kdata_release(bnm_kdata *kd)
{
    for (int b = 0; b < BNM_KD_COUNT; b++) {
        if (kd->buf[b])
            clReleaseMemObject(kd->buf[b]);
        kd->buf[b] = NULL;
    }
    free(kd->slot);
    kd->slot = NULL;
    kd->n_sims = kd->n_groups = 0;
    kd->bytes = 0;
}

bnm_status bnm_kdata_make_buf(bnm_context *ctx, bnm_kdata *kd, cl_mem *out, size_t bytes,
                              const void *host)
{
    cl_int err;
    if (bytes == 0) {
        bytes = 16;
        host = NULL;
    }
    *out = clCreateBuffer(bnm_cl_context(kd->cl),
                          CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                          (void *)host, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateBuffer(%zu bytes) failed: %s",
                        dev_name(kd), bytes, bnm_cl_error_name(err));
    }
    kd->bytes += bytes;
    return BNM_OK;
}

typedef struct sim_key {
    uint32_t conn, dmat, nid;
    uint64_t seed;
    int sim;
} sim_key;

static int key_cmp(const void *pa, const void *pb)
{
    const sim_key *a = pa, *b = pb;
    if (a->conn != b->conn)
        return a->conn < b->conn ? -1 : 1;
    if (a->dmat != b->dmat)
        return a->dmat < b->dmat ? -1 : 1;
    if (a->seed != b->seed)
        return a->seed < b->seed ? -1 : 1;
    if (a->nid != b->nid)
        return a->nid < b->nid ? -1 : 1;
    return a->sim < b->sim ? -1 : (a->sim > b->sim); /* stable */
}

static bool same_key(const sim_key *a, const sim_key *b, bool conn_only)
{
    return a->conn == b->conn &&
           (conn_only || (a->dmat == b->dmat && a->seed == b->seed && a->nid == b->nid));
}

/* Lane placement: kd->slot[q] is the simulation in lane slot q, or -1 for padding.
 * Tiles are what the kernel wants uniform: a work-item's lanes (lanes > 1, every key
 * field), or a work-group (one lane: the connectome, for local memory). */
static bnm_status place(bnm_kdata *kd, const bnm_model_data *d, bool delays)
{
    const int L = kd->lanes, S = d->n_sims, T = L > 1 ? L : (int)kd->wg;
    const bool conn_only = L == 1;
    sim_key *k = malloc((size_t)S * sizeof *k);
    if (!k)
        return BNM_ERR_NOMEM;
    for (int s = 0; s < S; s++) {
        k[s].conn = d->conn_index ? (uint32_t)d->conn_index[s] : 0;
        k[s].dmat = delays && d->delay_index ? (uint32_t)d->delay_index[s] : 0;
        k[s].seed = d->seeds ? d->seeds[s] : 0;
        k[s].nid = d->noise_ids ? d->noise_ids[s] : 0;
        k[s].sim = s;
    }
    qsort(k, (size_t)S, sizeof *k, key_cmp);
    long plain = (S + T - 1) / T, padded = 0;
    for (int s = 0; s < S;) {
        int e = s;
        while (e < S && same_key(&k[e], &k[s], conn_only))
            e++;
        padded += (e - s + T - 1) / T;
        s = e;
    }
    bool pad = T > 1 && 4 * padded <= 5 * plain;
    size_t Q = (size_t)(pad ? padded : plain) * (size_t)T;
    kd->slot = malloc(Q * sizeof *kd->slot);
    if (!kd->slot) {
        free(k);
        return BNM_ERR_NOMEM;
    }
    size_t q = 0;
    for (int s = 0; s < S; s++) {
        if (pad && s > 0 && !same_key(&k[s], &k[s - 1], conn_only))
            while (q % (size_t)T)
                kd->slot[q++] = -1;
        kd->slot[q++] = k[s].sim;
    }
    while (q < Q)
        kd->slot[q++] = -1;
    kd->n_groups = (int)(Q / (size_t)L);
    free(k);
    return BNM_OK;
}

/* The simulation whose data lane slot q carries: padding copies the first slot of its
 * tile, which is never padding. */
static int slot_sim(const bnm_kdata *kd, size_t q)
{
    size_t T = kd->lanes > 1 ? (size_t)kd->lanes : kd->wg;
    int s = kd->slot[q];
    return s >= 0 ? s : kd->slot[q - q % T];
}

static void *to_real(const bnm_kdata *kd, const double *src, size_t n)
{
    void *dst = malloc(n * kd->rsize + 1);
    for (size_t i = 0; dst && i < n; i++) {
        if (kd->rsize == sizeof(double))
            ((double *)dst)[i] = src[i];
        else
            ((float *)dst)[i] = (float)src[i];
    }
    return dst;
}

void *bnm_kdata_pack(const bnm_kdata *kd, const double *src, size_t m)
{
    const size_t L = (size_t)kd->lanes, G = (size_t)kd->n_groups;
    void *dst = malloc(G * m * L * kd->rsize + 1);
    if (!dst || m == 0)
        return dst;
    bool dbl = kd->rsize == sizeof(double);
    for (size_t g = 0; g < G; g++)
        for (size_t l = 0; l < L; l++) {
            const double *p = src + (size_t)slot_sim(kd, g * L + l) * m;
            for (size_t e = 0; e < m; e++) {
                size_t o = (g * m + e) * L + l;
                if (dbl)
                    ((double *)dst)[o] = p[e];
                else
                    ((float *)dst)[o] = (float)p[e];
            }
        }
    return dst;
}

void bnm_kdata_unpack(const bnm_kdata *kd, const void *dev, size_t m_dev, size_t m_out,
                      double *dst)
{
    const size_t L = (size_t)kd->lanes;
    bool dbl = kd->rsize == sizeof(double);
    for (size_t q = 0; q < (size_t)kd->n_groups * L; q++) {
        int s = kd->slot[q];
        if (s < 0)
            continue;
        size_t g = q / L, l = q % L;
        double *p = dst + (size_t)s * m_out;
        for (size_t e = 0; e < m_out; e++) {
            size_t o = (g * m_dev + e) * L + l;
            p[e] = dbl ? ((const double *)dev)[o] : (double)((const float *)dev)[o];
        }
    }
}

bnm_status bnm_kdata_upload(bnm_context *ctx, bnm_kdata *kd, const bnm_model_data *d)
{
    const bnm_cg_spec *rs = kd->rs;
    const bnm_model_ir *ir = rs->ir;
    int *dsteps = NULL;
    uint32_t hl = 1;
    bnm_status st = bnm_cg_check_data(ctx, rs, d, &dsteps, &hl);
    if (st == BNM_OK && (st = bnm_cg_check_states(ctx, ir, d)) != BNM_OK)
        free(dsteps);
    if (st != BNM_OK)
        return st;
    bnm_kdata_release(kd);
    const size_t N = (size_t)d->n_nodes, NN = N * N, L = (size_t)kd->lanes;
    const size_t ns = (size_t)ir->n_states, nt = (size_t)ir->n_transmit;
    const size_t nw = (size_t)d->n_connectomes * NN;
    const size_t nd = dsteps ? (size_t)d->n_delay_mats * NN : 0;
    uint32_t *gidx = NULL;
    uint64_t *status = NULL;
    double *wt = NULL;
    int *dt_ = NULL;
    void *w = NULL, *sp = NULL, *np = NULL, *xs = NULL;
    if (place(kd, d, dsteps != NULL) != BNM_OK)
        goto nomem;
    const size_t G = (size_t)kd->n_groups, Q = G * L;
    /* one lane: a work-group's shared weights go to local memory when they fit */
    kd->local_w = L == 1 && NN * kd->rsize + 1024 <= bnm_cl_device(kd->cl)->local_mem_bytes;
    gidx = calloc(G * BNM_CG_GIDX_ROWS * L, sizeof *gidx);
    status = calloc(2 * Q, sizeof *status);
    wt = malloc((nw ? nw : 1) * sizeof *wt);
    dt_ = calloc(nd ? nd : 1, sizeof *dt_);
    if (!gidx || !status || !wt || !dt_)
        goto nomem;
    for (size_t g = 0; g < G; g++) {
        uint32_t *row = gidx + g * BNM_CG_GIDX_ROWS * L;
        bool uconn = true, unoise = true;
        for (size_t l = 0; l < L; l++) {
            int s = slot_sim(kd, g * L + l);
            uint64_t seed = d->seeds ? d->seeds[s] : 0;
            row[l] = (uint32_t)seed;
            row[L + l] = (uint32_t)(seed >> 32);
            row[2 * L + l] = d->noise_ids ? d->noise_ids[s] : 0;
            row[3 * L + l] = d->conn_index ? (uint32_t)d->conn_index[s] : 0;
            row[4 * L + l] = (dsteps && d->delay_index) ? (uint32_t)d->delay_index[s] : 0;
            for (int r = 0; r < 5; r++)
                if (row[r * L + l] != row[r * L]) {
                    if (r <= 2)
                        unoise = false;
                    else
                        uconn = false;
                }
            /* padding lanes start frozen: they never report a status */
            if (kd->slot[g * L + l] < 0)
                status[2 * (g * L + l)] = 1;
        }
        row[5 * L] = (uconn ? BNM_CG_FLAG_UNIFORM_CONN : 0u) |
                     (unoise && rs->noise ? BNM_CG_FLAG_SHARED_NOISE : 0u);
    }
    for (size_t t0 = 0; kd->local_w && t0 < Q; t0 += kd->wg) {
        bool same = true;
        for (size_t q = t0; q < t0 + kd->wg; q++)
            same = same && gidx[q * BNM_CG_GIDX_ROWS + 3] == gidx[t0 * BNM_CG_GIDX_ROWS + 3];
        for (size_t q = t0; same && q < t0 + kd->wg; q++)
            gidx[q * BNM_CG_GIDX_ROWS + 5] |= BNM_CG_FLAG_LOCAL_W;
    }
    /* Host [target i][source j] -> device [source j][target i]. */
    for (size_t c = 0; c < (size_t)d->n_connectomes; c++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                wt[c * NN + j * N + i] = d->weights[c * NN + i * N + j];
    for (size_t m = 0; nd && m < (size_t)d->n_delay_mats; m++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                dt_[m * NN + j * N + i] = dsteps[m * NN + i * N + j];
    const size_t msp = (size_t)rs->n_sim_params, mnp = (size_t)rs->n_node_params * N;
    w = to_real(kd, wt, nw);
    sp = bnm_kdata_pack(kd, d->sim_params, msp);
    np = bnm_kdata_pack(kd, d->node_params, mnp);
    xs = bnm_kdata_pack(kd, d->states, ns * N);
    if (!w || !sp || !np || !xs)
        goto nomem;
    const size_t nnl = (N + L - 1) / L * L;
    const size_t r = kd->rsize;
    if ((st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_GIDX],
                                 G * BNM_CG_GIDX_ROWS * L * sizeof *gidx, gidx)) != BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_W], nw * r, w)) != BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_DELAYS], (nd ? nd : 1) * sizeof *dt_,
                                 dt_)) != BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_HIST], Q * nt * hl * N * r, NULL)) !=
            BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_SIMP], Q * msp * r, sp)) != BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_NODEP], Q * mnp * r, np)) != BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_NCACHE],
                                 Q * (size_t)kd->lay.n_node_cache * N * r, NULL)) != BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_STATES], Q * ns * N * r, xs)) !=
            BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_STATUS], 2 * Q * sizeof *status,
                                 status)) != BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_ZBUF],
                                 L > 1 ? G * (size_t)kd->lay.n_noisy * nnl * r : 0, NULL)) !=
            BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, kd, &kd->buf[BNM_KD_CPL],
                                 Q * (size_t)kd->lay.n_cpl * N * r, NULL)) != BNM_OK)
        goto fail;
    kd->n_sims = d->n_sims;
    kd->n = d->n_nodes;
    kd->dt = d->dt;
    kd->t0 = d->t0;
    kd->hl = hl;
    st = BNM_OK;
    goto done;
nomem:
    st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory staging a batch of %d simulations",
                  d->n_sims);
fail:
    bnm_kdata_release(kd);
done:
    free(gidx);
    free(status);
    free(wt);
    free(dt_);
    free(w);
    free(sp);
    free(np);
    free(xs);
    free(dsteps);
    return st;
}

bnm_status bnm_kdata_bind(bnm_context *ctx, const bnm_kdata *kd, cl_kernel kn)
{
    cl_uint n_sims = (cl_uint)(kd->n_groups * kd->lanes), n_nodes = (cl_uint)kd->n, hl = kd->hl;
    double dd[2] = {kd->t0, kd->dt};
    float ff[2] = {(float)kd->t0, (float)kd->dt};
    bool dbl = kd->rsize == sizeof(double);
    cl_int err = CL_SUCCESS;
    err |= clSetKernelArg(kn, 0, sizeof n_sims, &n_sims);
    err |= clSetKernelArg(kn, 1, sizeof n_nodes, &n_nodes);
    err |= clSetKernelArg(kn, 4, kd->rsize, dbl ? (const void *)&dd[0] : (const void *)&ff[0]);
    err |= clSetKernelArg(kn, 5, kd->rsize, dbl ? (const void *)&dd[1] : (const void *)&ff[1]);
    err |= clSetKernelArg(kn, 6, sizeof hl, &hl);
    for (int b = 0; b < BNM_KD_COUNT; b++)
        err |= clSetKernelArg(kn, 7 + (cl_uint)b, sizeof(cl_mem), &kd->buf[b]);
    size_t wl = kd->local_w ? (size_t)kd->n * (size_t)kd->n * kd->rsize : kd->rsize;
    err |= clSetKernelArg(kn, 7 + BNM_KD_COUNT, wl, NULL);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clSetKernelArg failed: %s",
                        dev_name(kd), bnm_cl_error_name(err));
    return BNM_OK;
}

/* Test hook: with CLBNM_FAULT_LAUNCH=n the n-th kernel launch of the process fails as if
 * the device had run out of resources, so tests can check what a device failure in the
 * middle of a run leaves behind (a message naming the device and the error, no output
 * file). */
static bool fault_injected(void)
{
    static unsigned long launches;
    const char *env = getenv("CLBNM_FAULT_LAUNCH");
    launches++;
    return env && *env && strtoul(env, NULL, 10) == launches;
}

bnm_status bnm_kdata_launch(bnm_context *ctx, const bnm_kdata *kd, cl_kernel kn,
                            uint64_t first_step, uint32_t n_steps)
{
    if (fault_injected())
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': model %s kernel failed: %s",
                        dev_name(kd), kd->rs->ir->name, bnm_cl_error_name(CL_OUT_OF_RESOURCES));
    cl_ulong first = first_step;
    cl_uint steps = n_steps;
    cl_int err = clSetKernelArg(kn, 2, sizeof first, &first);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kn, 3, sizeof steps, &steps);
    /* Lanes > 1 (CPUs): a work-item is a whole vector of simulations, one per group.
     * One lane (GPUs): work-groups of up to 64 simulations; placement pads the batch to
     * whole work-groups with frozen lanes. */
    size_t local = kd->wg;
    size_t global = (size_t)kd->n_groups;
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(bnm_cl_queue(kd->cl), kn, 1, NULL, &global, &local, 0,
                                     NULL, NULL);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': launching model %s failed: %s",
                        dev_name(kd), kd->rs->ir->name, bnm_cl_error_name(err));
    return BNM_OK;
}

bnm_status bnm_kdata_read_status(bnm_context *ctx, const bnm_kdata *kd,
                                 bnm_sim_status *status_out)
{
    if (kd->n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "model kernel read before set_data");
    size_t Q = (size_t)kd->n_groups * (size_t)kd->lanes;
    cl_ulong *tmp = malloc(2 * Q * sizeof *tmp);
    if (!tmp)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory reading status");
    cl_int err = clEnqueueReadBuffer(bnm_cl_queue(kd->cl), kd->buf[BNM_KD_STATUS], CL_TRUE, 0,
                                     2 * Q * sizeof *tmp, tmp, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        for (size_t q = 0; q < Q; q++) {
            int s = kd->slot[q];
            if (s < 0)
                continue;
            status_out[s].nonfinite = tmp[2 * q] != 0;
            status_out[s].first_bad_step = tmp[2 * q + 1];
        }
    free(tmp);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': reading status failed: %s",
                        dev_name(kd), bnm_cl_error_name(err));
    return BNM_OK;
}

bnm_status bnm_kdata_read(bnm_context *ctx, const bnm_kdata *kd, int which, size_t m_dev,
                          size_t m_out, double *dst)
{
    size_t bytes = (size_t)kd->n_groups * m_dev * (size_t)kd->lanes * kd->rsize;
    void *tmp = malloc(bytes + 1);
    if (!tmp)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory reading device results");
    cl_int err = clEnqueueReadBuffer(bnm_cl_queue(kd->cl), kd->buf[which], CL_TRUE, 0, bytes,
                                     tmp, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        bnm_kdata_unpack(kd, tmp, m_dev, m_out, dst);
    free(tmp);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': reading results failed: %s",
                        dev_name(kd), bnm_cl_error_name(err));
    return BNM_OK;
}

int bnm_cg_lanes_for_device(const bnm_device_info *dev, bnm_precision precision)
{
    const char *env = getenv("CLBNM_LANES");
    if (env && *env) {
        int n = atoi(env);
        if (n == 1 || n == 2 || n == 4 || n == 8 || n == 16)
            return n;
    }
    if (dev->kind != BNM_DEVICE_CPU)
        return 1;
    unsigned w = precision == BNM_PRECISION_DOUBLE ? dev->pref_vector_width_double
                                                   : dev->pref_vector_width_float;
    int lanes = 1;
    while (lanes < 16 && (unsigned)lanes * 2 <= w)
        lanes *= 2;
    return lanes;
}
