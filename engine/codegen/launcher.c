/* Host launcher of a generated model kernel (ABI in clbnm/codegen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/codegen.h"
#include "clbnm/model_kernel.h"
#include "codegen_internal.h"

enum { B_SEEDS, B_SIMIDX, B_W, B_DELAYS, B_HIST, B_SIMP, B_NODEP, B_NCACHE, B_STATES, B_STATUS,
       B_COUNT_ };

struct bnm_model_kernel {
    bnm_cl *cl;
    const bnm_model_ir *ir;
    bnm_cg_spec *rs;
    bnm_model_abi *abi;
    char *source;
    int n_node_cache;
    size_t rsize; /* sizeof(nmm_real) on the device */
    cl_program program;
    cl_kernel kernel;
    cl_mem buf[B_COUNT_];
    int n_sims, n;
    double dt, t0;
    uint32_t hl;
    uint64_t next_step;
};

static const char *dev_name(const bnm_model_kernel *k)
{
    return bnm_cl_device(k->cl)->name;
}

static void release_buffers(bnm_model_kernel *k)
{
    for (int b = 0; b < B_COUNT_; b++) {
        if (k->buf[b])
            clReleaseMemObject(k->buf[b]);
        k->buf[b] = NULL;
    }
    k->n_sims = 0;
}

void bnm_model_kernel_destroy(bnm_model_kernel *k)
{
    if (!k)
        return;
    release_buffers(k);
    if (k->kernel)
        clReleaseKernel(k->kernel);
    if (k->program)
        clReleaseProgram(k->program);
    free(k->source);
    bnm_model_abi_destroy(k->abi);
    bnm_cg_spec_destroy(k->rs);
    free(k);
}

const bnm_model_abi *bnm_model_kernel_abi(const bnm_model_kernel *k)
{
    return k->abi;
}

const char *bnm_model_kernel_source(const bnm_model_kernel *k)
{
    return k->source;
}

bnm_status bnm_model_kernel_create(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                                   const struct bnm_model_ir *ir, const bnm_model_spec *spec,
                                   bnm_model_kernel **out)
{
    *out = NULL;
    char *log = NULL;
    bnm_status st;
    bnm_model_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating a model kernel");
    k->cl = cl;
    k->ir = ir;
    const bnm_device_info *dev = bnm_cl_device(cl);
    st = bnm_cg_spec_resolve(ctx, ir, spec, &k->rs);
    if (st != BNM_OK)
        goto fail;
    if (k->rs->precision == BNM_PRECISION_DOUBLE && !dev->fp64) {
        st = bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                      "device '%s' has no double precision (cl_khr_fp64): run model %s in "
                      "float precision or choose another device",
                      dev->name, ir->name);
        goto fail;
    }
    k->rsize = k->rs->precision == BNM_PRECISION_DOUBLE ? sizeof(double) : sizeof(float);
    st = bnm_codegen_emit_full(ctx, ir, spec, &k->source, &k->abi, &k->n_node_cache);
    if (st != BNM_OK)
        goto fail;
    st = bnm_program_build(ctx, cl, cache, k->source, NULL, &k->program, &log);
    if (st == BNM_ERR_BUILD) {
        char *first = NULL, *shown = NULL;
        bnm_cg_build_diag(ir, log, &first, &shown);
        st = bnm_fail(ctx, BNM_ERR_BUILD,
                      "model %s: the generated OpenCL C did not compile on device '%s'%s%s\n"
                      "%sfull build log:\n%s",
                      ir->name, dev->name, first ? ": " : "", first ? first : "",
                      shown ? shown : "", log ? log : "(the driver gave no log)");
        free(first);
        free(shown);
        goto fail;
    }
    if (st != BNM_OK)
        goto fail;
    cl_int err;
    k->kernel = clCreateKernel(k->program, k->abi->kernel_name, &err);
    if (err != CL_SUCCESS) {
        st = bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateKernel(%s) failed: %s",
                      dev->name, k->abi->kernel_name, bnm_cl_error_name(err));
        goto fail;
    }
    free(log);
    *out = k;
    return BNM_OK;
fail:
    free(log);
    bnm_model_kernel_destroy(k);
    return st;
}

/* Host copy in the device precision; caller frees. */
static void *to_real(const bnm_model_kernel *k, const double *src, size_t n)
{
    void *dst = malloc(n ? n * k->rsize : 1);
    if (!dst)
        return NULL;
    if (k->rsize == sizeof(double)) {
        if (n)
            memcpy(dst, src, n * sizeof(double));
    } else {
        float *f = dst;
        for (size_t i = 0; i < n; i++)
            f[i] = (float)src[i];
    }
    return dst;
}

static bnm_status make_buf(bnm_context *ctx, bnm_model_kernel *k, int which, size_t bytes,
                           void *host)
{
    cl_int err;
    k->buf[which] = clCreateBuffer(bnm_cl_context(k->cl),
                                   CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                                   bytes ? bytes : 16, bytes ? host : NULL, &err);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateBuffer(%zu bytes) failed: %s",
                        dev_name(k), bytes, bnm_cl_error_name(err));
    return BNM_OK;
}

bnm_status bnm_model_kernel_set_data(bnm_context *ctx, bnm_model_kernel *k,
                                     const bnm_model_data *d)
{
    const bnm_model_ir *ir = k->ir;
    int *dsteps = NULL;
    uint32_t hl = 1;
    bnm_status st = bnm_cg_check_data(ctx, k->rs, d, &dsteps, &hl);
    if (st == BNM_OK && (st = bnm_cg_check_states(ctx, ir, d)) != BNM_OK)
        free(dsteps);
    if (st != BNM_OK)
        return st;
    release_buffers(k);
    size_t S = (size_t)d->n_sims, N = (size_t)d->n_nodes, NN = N * N;
    size_t ns = (size_t)ir->n_states, nt = (size_t)ir->n_transmit;
    size_t nw = (size_t)d->n_connectomes * NN;
    size_t nd = dsteps ? (size_t)d->n_delay_mats * NN : 0;
    uint64_t *seeds = calloc(S, sizeof *seeds);
    uint32_t *idx = calloc(3 * S, sizeof *idx);
    double *wt = malloc((nw ? nw : 1) * sizeof *wt);
    int *dt_ = calloc(nd ? nd : 1, sizeof *dt_);
    uint64_t *status = calloc(2 * S, sizeof *status);
    void *w = NULL, *sp = NULL, *np = NULL, *xs = NULL;
    if (!seeds || !idx || !wt || !dt_ || !status)
        goto nomem;
    for (size_t s = 0; s < S; s++) {
        seeds[s] = d->seeds ? d->seeds[s] : 0;
        idx[3 * s] = d->noise_ids ? d->noise_ids[s] : 0;
        idx[3 * s + 1] = d->conn_index ? (uint32_t)d->conn_index[s] : 0;
        idx[3 * s + 2] = (dsteps && d->delay_index) ? (uint32_t)d->delay_index[s] : 0;
    }
    /* Host [target i][source j] -> device [source j][target i]: work-items on adjacent
     * targets read adjacent weights. */
    for (size_t c = 0; c < (size_t)d->n_connectomes; c++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                wt[c * NN + j * N + i] = d->weights[c * NN + i * N + j];
    for (size_t m = 0; nd && m < (size_t)d->n_delay_mats; m++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                dt_[m * NN + j * N + i] = dsteps[m * NN + i * N + j];
    size_t nsp = S * (size_t)k->rs->n_sim_params, nnp = S * (size_t)k->rs->n_node_params * N;
    w = to_real(k, wt, nw);
    sp = to_real(k, d->sim_params, nsp);
    np = to_real(k, d->node_params, nnp);
    xs = to_real(k, d->states, S * ns * N);
    if (!w || !sp || !np || !xs)
        goto nomem;
    if ((st = make_buf(ctx, k, B_SEEDS, S * sizeof *seeds, seeds)) != BNM_OK ||
        (st = make_buf(ctx, k, B_SIMIDX, 3 * S * sizeof *idx, idx)) != BNM_OK ||
        (st = make_buf(ctx, k, B_W, nw * k->rsize, w)) != BNM_OK ||
        (st = make_buf(ctx, k, B_DELAYS, (nd ? nd : 1) * sizeof *dt_, dt_)) != BNM_OK ||
        (st = make_buf(ctx, k, B_HIST, S * nt * hl * N * k->rsize, NULL)) != BNM_OK ||
        (st = make_buf(ctx, k, B_SIMP, nsp * k->rsize, nsp ? sp : NULL)) != BNM_OK ||
        (st = make_buf(ctx, k, B_NODEP, nnp * k->rsize, nnp ? np : NULL)) != BNM_OK ||
        (st = make_buf(ctx, k, B_NCACHE, S * (size_t)k->n_node_cache * N * k->rsize, NULL)) !=
            BNM_OK ||
        (st = make_buf(ctx, k, B_STATES, S * ns * N * k->rsize, xs)) != BNM_OK ||
        (st = make_buf(ctx, k, B_STATUS, 2 * S * sizeof *status, status)) != BNM_OK)
        goto fail;
    k->n_sims = d->n_sims;
    k->n = d->n_nodes;
    k->dt = d->dt;
    k->t0 = d->t0;
    k->hl = hl;
    k->next_step = 0;
    st = BNM_OK;
    goto done;
nomem:
    st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory staging a batch of %d simulations",
                  d->n_sims);
fail:
    release_buffers(k);
done:
    free(seeds);
    free(idx);
    free(wt);
    free(dt_);
    free(status);
    free(w);
    free(sp);
    free(np);
    free(xs);
    free(dsteps);
    return st;
}

bnm_status bnm_model_kernel_run(bnm_context *ctx, bnm_model_kernel *k, uint64_t first_step,
                                uint64_t n_steps)
{
    if (k->n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "model kernel run before set_data");
    if (k->hl > 1 && first_step != 0 && first_step != k->next_step)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "with delays a run must start at step 0 or continue at step %llu "
                        "(asked for %llu)",
                        (unsigned long long)k->next_step, (unsigned long long)first_step);
    cl_uint n_sims = (cl_uint)k->n_sims, n_nodes = (cl_uint)k->n, hl = k->hl;
    double dt = k->dt, t0 = k->t0;
    float dtf = (float)dt, t0f = (float)t0;
    bool dbl = k->rsize == sizeof(double);
    cl_int err = CL_SUCCESS;
    cl_uint a = 0;
    err |= clSetKernelArg(k->kernel, a++, sizeof n_sims, &n_sims);
    err |= clSetKernelArg(k->kernel, a++, sizeof n_nodes, &n_nodes);
    cl_uint first_arg = a++, steps_arg = a++;
    err |= clSetKernelArg(k->kernel, a++, k->rsize, dbl ? (const void *)&t0 : (const void *)&t0f);
    err |= clSetKernelArg(k->kernel, a++, k->rsize, dbl ? (const void *)&dt : (const void *)&dtf);
    err |= clSetKernelArg(k->kernel, a++, sizeof hl, &hl);
    for (int b = 0; b < B_COUNT_; b++)
        err |= clSetKernelArg(k->kernel, a++, sizeof(cl_mem), &k->buf[b]);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clSetKernelArg failed: %s", dev_name(k),
                        bnm_cl_error_name(err));
    cl_command_queue q = bnm_cl_queue(k->cl);
    uint64_t done = 0;
    while (done < n_steps) {
        uint64_t left = n_steps - done;
        cl_uint chunk = left > 0x40000000u ? 0x40000000u : (cl_uint)left;
        cl_ulong first = first_step + done;
        err = clSetKernelArg(k->kernel, first_arg, sizeof first, &first);
        if (err == CL_SUCCESS)
            err = clSetKernelArg(k->kernel, steps_arg, sizeof chunk, &chunk);
        size_t global = (size_t)k->n_sims;
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(q, k->kernel, 1, NULL, &global, NULL, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': launching model %s failed: %s",
                            dev_name(k), k->ir->name, bnm_cl_error_name(err));
        done += chunk;
    }
    err = clFinish(q);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': model %s kernel failed: %s",
                        dev_name(k), k->ir->name, bnm_cl_error_name(err));
    k->next_step = first_step + n_steps;
    return BNM_OK;
}

bnm_status bnm_model_kernel_read_states(bnm_context *ctx, bnm_model_kernel *k,
                                        double *states_out)
{
    if (k->n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "model kernel read before set_data");
    size_t n = (size_t)k->n_sims * (size_t)k->ir->n_states * (size_t)k->n;
    void *tmp = k->rsize == sizeof(double) ? (void *)states_out : malloc(n * k->rsize + 1);
    if (!tmp)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory reading states");
    cl_int err = clEnqueueReadBuffer(bnm_cl_queue(k->cl), k->buf[B_STATES], CL_TRUE, 0,
                                     n * k->rsize, tmp, 0, NULL, NULL);
    if (err == CL_SUCCESS && tmp != (void *)states_out) {
        const float *f = tmp;
        for (size_t i = 0; i < n; i++)
            states_out[i] = f[i];
    }
    if (tmp != (void *)states_out)
        free(tmp);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': reading states failed: %s",
                        dev_name(k), bnm_cl_error_name(err));
    return BNM_OK;
}

bnm_status bnm_model_kernel_read_status(bnm_context *ctx, bnm_model_kernel *k,
                                        bnm_sim_status *status_out)
{
    if (k->n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "model kernel read before set_data");
    size_t n = 2 * (size_t)k->n_sims;
    cl_ulong *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory reading status");
    cl_int err = clEnqueueReadBuffer(bnm_cl_queue(k->cl), k->buf[B_STATUS], CL_TRUE, 0,
                                     n * sizeof *tmp, tmp, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        for (int s = 0; s < k->n_sims; s++) {
            status_out[s].nonfinite = tmp[2 * s] != 0;
            status_out[s].first_bad_step = tmp[2 * s + 1];
        }
    free(tmp);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': reading status failed: %s",
                        dev_name(k), bnm_cl_error_name(err));
    return BNM_OK;
}
