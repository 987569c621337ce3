/* The fused batch kernel: the generated model kernel with the BW-step-end work of
 * analysis.md 2.4 spliced into its step loop, and its host launcher.
 *
 * The splice is done at the extension points the generator marks in its output
 * (codegen.h: BNM_CODEGEN_MARK_*), each required exactly once: without them creation
 * fails with BNM_ERR_INTERNAL instead of producing a wrong kernel.
 * The BW state lives in global memory between launches with its compensation terms, so
 * a launch boundary never rounds anything. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "clbnm/codegen.h"
#include "codegen_internal.h"

enum { B_SEEDS, B_SIMIDX, B_W, B_DELAYS, B_HIST, B_SIMP, B_NODEP, B_NCACHE, B_STATES, B_STATUS,
       B_BW, B_VOL, B_SAMP, B_COUNT_ };

struct bnm_fused {
    bnm_cl *cl;
    const bnm_model_ir *ir;
    bnm_cg_spec *rs;
    bnm_model_abi *abi;
    bnm_fused_config cfg;
    char *source;
    int n_node_cache;
    size_t rsize;
    cl_program program;
    cl_kernel kernel;
    cl_mem buf[B_COUNT_];
    uint64_t bytes;
    int n_sims, n;
    double dt, t0;
    uint32_t hl;
    uint64_t vcap, scap, max_bw, next_bw;
    void *vtmp, *stmp; /* host staging of the volume / sample buffers */
    size_t local;      /* work-group size */
};

static const char *dev_name(const bnm_fused *f)
{
    return bnm_cl_device(f->cl)->name;
}

static void release_buffers(bnm_fused *f)
{
    for (int b = 0; b < B_COUNT_; b++) {
        if (f->buf[b])
            clReleaseMemObject(f->buf[b]);
        f->buf[b] = NULL;
    }
    free(f->vtmp);
    free(f->stmp);
    f->vtmp = f->stmp = NULL;
    f->n_sims = 0;
    f->bytes = 0;
}

void bnm_fused_destroy(bnm_fused *f)
{
    if (!f)
        return;
    release_buffers(f);
    if (f->kernel)
        clReleaseKernel(f->kernel);
    if (f->program)
        clReleaseProgram(f->program);
    free(f->source);
    bnm_model_abi_destroy(f->abi);
    bnm_cg_spec_destroy(f->rs);
    free(f);
}

const bnm_model_abi *bnm_fused_abi(const bnm_fused *f)
{
    return f->abi;
}

int bnm_fused_node_cache(const bnm_fused *f)
{
    return f->n_node_cache;
}

const char *bnm_fused_source(const bnm_fused *f)
{
    return f->source;
}

uint64_t bnm_fused_device_bytes(const bnm_fused *f)
{
    return f->bytes;
}

uint64_t bnm_fused_vol_cap(const bnm_fused *f)
{
    return f->vcap;
}

uint64_t bnm_fused_samp_cap(const bnm_fused *f)
{
    return f->scap;
}

static const char sig_extra[] =
    ",\n"
    "    const uint nmm_n_inner, const uint nmm_bpv, const uint nmm_bps,\n"
    "    const ulong nmm_vbase, const ulong nmm_sbase, const uint nmm_vcap,\n"
    "    const uint nmm_scap, const nmm_real nmm_bwh, const nmm_real nmm_k1,\n"
    "    const nmm_real nmm_k2, const nmm_real nmm_k3, __global nmm_real *nmm_bwbuf,\n"
    "    __global nmm_real *nmm_vol, __global nmm_real *nmm_samp";

/* The generator's BW-step-end hook (codegen.h): runs at the end of every BW step with
 * the node's BOLD driver at the new state in nmm_zd; x_{k+1} is in nmm_states. */
static const char step_end_macros[] =
    "#define NMM_STEP_END_DUE ((nmm_k + 1) % nmm_n_inner == 0)\n"
    "/* t = kb * bw_dt (analysis.md 2.4); volume and sample numbers from kb alone */\n"
    "#define NMM_STEP_END_BEGIN \\\n"
    "    const ulong nmm_kb = (nmm_k + 1) / nmm_n_inner; \\\n"
    "    const int nmm_vdue = (nmm_kb % nmm_bpv) == 0; \\\n"
    "    const ulong nmm_vs = nmm_vdue ? nmm_kb / nmm_bpv - 1 - nmm_vbase : 0; \\\n"
    "    const int nmm_sdue = NMM_SAMPLE && (nmm_kb % nmm_bps) == 0; \\\n"
    "    const ulong nmm_ss = nmm_sdue ? nmm_kb / nmm_bps - 1 - nmm_sbase : 0; \\\n"
    "    (void)nmm_vs; (void)nmm_ss;\n"
    "#define NMM_STEP_END_NODE \\\n"
    "    if (NMM_BALLOON) { \\\n"
    "        __global nmm_real *nmm_bp = nmm_bwbuf + nmm_s * NMM_BW_NFIELD * nmm_nn + nmm_i; \\\n"
    "        const nmm_bw nmm_b = nmm_bw_step(nmm_bw_load(nmm_bp, nmm_nn), nmm_zd, nmm_bwh); \\\n"
    "        nmm_bw_store(nmm_bp, nmm_nn, nmm_b); \\\n"
    "        if (nmm_vdue) \\\n"
    "            nmm_vol[(nmm_s * nmm_vcap + nmm_vs) * nmm_nn + nmm_i] = \\\n"
    "                nmm_bw_bold(nmm_b, nmm_k1, nmm_k2, nmm_k3); \\\n"
    "    } else if (nmm_vdue) { \\\n"
    "        nmm_vol[(nmm_s * nmm_vcap + nmm_vs) * nmm_nn + nmm_i] = nmm_zd; \\\n"
    "    } \\\n"
    "    if (NMM_SAMPLE && nmm_sdue) \\\n"
    "        for (uint nmm_q = 0; nmm_q < NMM_NSTATES; ++nmm_q) \\\n"
    "            nmm_samp[((nmm_s * nmm_scap + nmm_ss) * NMM_NSTATES + nmm_q) * nmm_nn + nmm_i] = \\\n"
    "                nmm_states[(nmm_sb + nmm_q) * nmm_nn + nmm_i];\n";

/* text with the marker (which must occur exactly once) replaced by insert; NULL when it
 * does not (the caller reports it) or on no memory (*oom set). Frees nothing. */
static char *replace_once(const char *text, const char *marker, const char *insert, bool *oom)
{
    const char *m = strstr(text, marker);
    if (!m || strstr(m + 1, marker))
        return NULL;
    size_t pre = (size_t)(m - text), ml = strlen(marker), il = strlen(insert);
    size_t post = strlen(m + ml);
    char *out = malloc(pre + il + post + 1);
    if (!out) {
        *oom = true;
        return NULL;
    }
    memcpy(out, text, pre);
    memcpy(out + pre, insert, il);
    memcpy(out + pre + il, m + ml, post + 1);
    return out;
}

/* Splices the BW-step-end work into the generated source at the generator's extension
 * points (codegen.h). NULL when a marker is missing or on no memory (*oom set). */
static char *splice(const char *src, const bnm_fused_config *cfg, int n_states, bool *oom)
{
    *oom = false;
    char defs[256];
    snprintf(defs, sizeof defs,
             "\n#define NMM_BALLOON %d\n#define NMM_SAMPLE %d\n#define NMM_NSTATES %du\n",
             cfg->mode == BNM_BOLD_BALLOON ? 1 : 0, cfg->bw_per_samp > 0 ? 1 : 0, n_states);
    size_t pl = strlen(bnm_bold_cl_source) + strlen(defs) + strlen(step_end_macros) + 1;
    char *prelude = malloc(pl);
    if (!prelude) {
        *oom = true;
        return NULL;
    }
    snprintf(prelude, pl, "%s%s%s", bnm_bold_cl_source, defs, step_end_macros);
    char *a = replace_once(src, BNM_CODEGEN_MARK_PRELUDE, prelude, oom);
    char *b = a ? replace_once(a, BNM_CODEGEN_MARK_ARGS, sig_extra, oom) : NULL;
    /* the hook itself is the generator's; the step-end marker must still be there once */
    char *c = b && strstr(b, "#ifdef NMM_STEP_END_NODE") ? replace_once(b, BNM_CODEGEN_MARK_STEP_END, "", oom) : NULL;
    free(prelude);
    free(a);
    free(b);
    return c;
}

bnm_status bnm_fused_create(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                            const struct bnm_model_ir *ir, const bnm_model_spec *spec,
                            const bnm_fused_config *cfg, bnm_fused **out)
{
    *out = NULL;
    char *log = NULL, *gen = NULL;
    bnm_status st;
    bnm_fused *f = calloc(1, sizeof *f);
    if (!f)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating the batch kernel");
    f->cl = cl;
    f->ir = ir;
    f->cfg = *cfg;
    const bnm_device_info *dev = bnm_cl_device(cl);
    if (cfg->n_inner == 0 || cfg->bw_per_vol == 0) {
        st = bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bad fused-kernel configuration");
        goto fail;
    }
    st = bnm_cg_spec_resolve(ctx, ir, spec, &f->rs);
    if (st != BNM_OK)
        goto fail;
    if (f->rs->precision == BNM_PRECISION_DOUBLE && !dev->fp64) {
        st = bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                      "device '%s' has no double precision (cl_khr_fp64): use --precision "
                      "float or choose another device",
                      dev->name);
        goto fail;
    }
    f->rsize = f->rs->precision == BNM_PRECISION_DOUBLE ? sizeof(double) : sizeof(float);
    st = bnm_codegen_emit_full(ctx, ir, spec, &gen, &f->abi, &f->n_node_cache);
    if (st != BNM_OK)
        goto fail;
    bool oom;
    f->source = splice(gen, cfg, ir->n_states, &oom);
    if (!f->source) {
        st = oom ? bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory generating the batch kernel")
                 : bnm_fail(ctx, BNM_ERR_INTERNAL,
                            "the model kernel text lacks the extension points the batch "
                            "kernel needs (code generator v%d, codegen.h)",
                            BNM_CODEGEN_VERSION);
        goto fail;
    }
    st = bnm_program_build(ctx, cl, cache, f->source, NULL, &f->program, &log);
    if (st == BNM_ERR_BUILD) {
        st = bnm_fail(ctx, BNM_ERR_BUILD,
                      "model %s: the batch kernel did not compile on device '%s'\n"
                      "full build log:\n%s",
                      ir->name, dev->name, log ? log : "(the driver gave no log)");
        goto fail;
    }
    if (st != BNM_OK)
        goto fail;
    cl_int err;
    f->kernel = clCreateKernel(f->program, f->abi->kernel_name, &err);
    if (err != CL_SUCCESS) {
        st = bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateKernel(%s) failed: %s",
                      dev->name, f->abi->kernel_name, bnm_cl_error_name(err));
        goto fail;
    }
    /* 16 lanes fill AVX-512 floats on a CPU (PoCL vectorises across work-items); GPUs
     * want whole warps. Measured on the 2-core CI CPU: 16 is ~1.5x faster than 1. */
    f->local = dev->kind == BNM_DEVICE_CPU ? 16 : 64;
    const char *lenv = getenv("CLBNM_LOCAL");
    if (lenv && atoi(lenv) > 0)
        f->local = (size_t)atoi(lenv);
    free(gen);
    free(log);
    *out = f;
    return BNM_OK;
fail:
    free(gen);
    free(log);
    bnm_fused_destroy(f);
    return st;
}

static void *to_real(const bnm_fused *f, const double *src, size_t n)
{
    void *dst = malloc(n ? n * f->rsize : 1);
    if (!dst)
        return NULL;
    if (f->rsize == sizeof(double)) {
        if (n)
            memcpy(dst, src, n * sizeof(double));
    } else {
        float *p = dst;
        for (size_t i = 0; i < n; i++)
            p[i] = (float)src[i];
    }
    return dst;
}

static bnm_status make_buf(bnm_context *ctx, bnm_fused *f, int which, size_t bytes, void *host)
{
    cl_int err;
    if (bytes == 0) {
        bytes = 16;
        host = NULL;
    }
    f->buf[which] = clCreateBuffer(bnm_cl_context(f->cl),
                                   CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                                   host, &err);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateBuffer(%zu bytes) failed: %s",
                        dev_name(f), bytes, bnm_cl_error_name(err));
    f->bytes += bytes;
    return BNM_OK;
}

bnm_status bnm_fused_set_data(bnm_context *ctx, bnm_fused *f, const bnm_model_data *d,
                              uint64_t max_launch_bw)
{
    const bnm_model_ir *ir = f->ir;
    int *dsteps = NULL;
    uint32_t hl = 1;
    if (max_launch_bw == 0 || max_launch_bw * f->cfg.n_inner > 0x40000000u)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "launch length of %llu BW steps out of range",
                        (unsigned long long)max_launch_bw);
    bnm_status st = bnm_cg_check_data(ctx, f->rs, d, &dsteps, &hl);
    if (st != BNM_OK)
        return st;
    release_buffers(f);
    size_t S = (size_t)d->n_sims, N = (size_t)d->n_nodes, NN = N * N;
    size_t ns = (size_t)ir->n_states, nt = (size_t)ir->n_transmit;
    size_t nw = (size_t)d->n_connectomes * NN;
    size_t nd = dsteps ? (size_t)d->n_delay_mats * NN : 0;
    /* A launch of B BW steps emits at most ceil(B / per) + 1 volumes (samples). */
    f->vcap = max_launch_bw / f->cfg.bw_per_vol + 1;
    f->scap = f->cfg.bw_per_samp ? max_launch_bw / f->cfg.bw_per_samp + 1 : 0;
    f->max_bw = max_launch_bw;
    uint64_t *seeds = calloc(S, sizeof *seeds);
    uint32_t *idx = calloc(3 * S, sizeof *idx);
    double *wt = malloc((nw ? nw : 1) * sizeof *wt);
    int *dt_ = calloc(nd ? nd : 1, sizeof *dt_);
    uint64_t *status = calloc(2 * S, sizeof *status);
    void *w = NULL, *sp = NULL, *np = NULL, *xs = NULL;
    size_t nbw = S * 8 * N;
    double *bw0 = calloc(nbw, sizeof *bw0); /* rest: x = 0 and zero deviations */
    void *bwr = NULL;
    if (!seeds || !idx || !wt || !dt_ || !status || !bw0)
        goto nomem;
    for (size_t s = 0; s < S; s++) {
        seeds[s] = d->seeds ? d->seeds[s] : 0;
        idx[3 * s] = d->noise_ids ? d->noise_ids[s] : 0;
        idx[3 * s + 1] = d->conn_index ? (uint32_t)d->conn_index[s] : 0;
        idx[3 * s + 2] = (dsteps && d->delay_index) ? (uint32_t)d->delay_index[s] : 0;
    }
    /* Host [target i][source j] -> device [source j][target i] (codegen.h). */
    for (size_t c = 0; c < (size_t)d->n_connectomes; c++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                wt[c * NN + j * N + i] = d->weights[c * NN + i * N + j];
    for (size_t m = 0; nd && m < (size_t)d->n_delay_mats; m++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                dt_[m * NN + j * N + i] = dsteps[m * NN + i * N + j];
    size_t nsp = S * (size_t)f->rs->n_sim_params, nnp = S * (size_t)f->rs->n_node_params * N;
    w = to_real(f, wt, nw);
    sp = to_real(f, d->sim_params, nsp);
    np = to_real(f, d->node_params, nnp);
    xs = to_real(f, d->states, S * ns * N);
    bwr = to_real(f, bw0, nbw);
    f->vtmp = malloc(S * f->vcap * N * f->rsize + 1);
    f->stmp = malloc(S * f->scap * ns * N * f->rsize + 1);
    if (!w || !sp || !np || !xs || !bwr || !f->vtmp || !f->stmp)
        goto nomem;
    if ((st = make_buf(ctx, f, B_SEEDS, S * sizeof *seeds, seeds)) != BNM_OK ||
        (st = make_buf(ctx, f, B_SIMIDX, 3 * S * sizeof *idx, idx)) != BNM_OK ||
        (st = make_buf(ctx, f, B_W, nw * f->rsize, w)) != BNM_OK ||
        (st = make_buf(ctx, f, B_DELAYS, (nd ? nd : 1) * sizeof *dt_, dt_)) != BNM_OK ||
        (st = make_buf(ctx, f, B_HIST, S * nt * hl * N * f->rsize, NULL)) != BNM_OK ||
        (st = make_buf(ctx, f, B_SIMP, nsp * f->rsize, sp)) != BNM_OK ||
        (st = make_buf(ctx, f, B_NODEP, nnp * f->rsize, np)) != BNM_OK ||
        (st = make_buf(ctx, f, B_NCACHE, S * (size_t)f->n_node_cache * N * f->rsize, NULL)) !=
            BNM_OK ||
        (st = make_buf(ctx, f, B_STATES, S * ns * N * f->rsize, xs)) != BNM_OK ||
        (st = make_buf(ctx, f, B_STATUS, 2 * S * sizeof *status, status)) != BNM_OK ||
        (st = make_buf(ctx, f, B_BW, nbw * f->rsize, bwr)) != BNM_OK ||
        (st = make_buf(ctx, f, B_VOL, S * f->vcap * N * f->rsize, NULL)) != BNM_OK ||
        (st = make_buf(ctx, f, B_SAMP, S * f->scap * ns * N * f->rsize, NULL)) != BNM_OK)
        goto fail;
    f->n_sims = d->n_sims;
    f->n = d->n_nodes;
    f->dt = d->dt;
    f->t0 = d->t0;
    f->hl = hl;
    f->next_bw = 0;
    st = BNM_OK;
    goto done;
nomem:
    st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory staging a batch of %d simulations",
                  d->n_sims);
fail:
    release_buffers(f);
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
    free(bw0);
    free(bwr);
    free(dsteps);
    return st;
}

static void real_to_double(const bnm_fused *f, const void *src, double *dst, size_t n)
{
    if (f->rsize == sizeof(double)) {
        memcpy(dst, src, n * sizeof(double));
    } else {
        const float *p = src;
        for (size_t i = 0; i < n; i++)
            dst[i] = p[i];
    }
}

bnm_status bnm_fused_run(bnm_context *ctx, bnm_fused *f, uint64_t first_bw, uint64_t n_bw,
                         double *vol_out, uint64_t *n_vol_out, double *samp_out,
                         uint64_t *n_samp_out)
{
    *n_vol_out = 0;
    if (n_samp_out)
        *n_samp_out = 0;
    if (f->n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "batch kernel run before set_data");
    if (n_bw == 0 || n_bw > f->max_bw || (first_bw != 0 && first_bw != f->next_bw))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "batch kernel launch [%llu, +%llu) does not continue at %llu",
                        (unsigned long long)first_bw, (unsigned long long)n_bw,
                        (unsigned long long)f->next_bw);
    const bnm_fused_config *c = &f->cfg;
    uint64_t vbase = first_bw / c->bw_per_vol;
    uint64_t nv = (first_bw + n_bw) / c->bw_per_vol - vbase;
    uint64_t sbase = c->bw_per_samp ? first_bw / c->bw_per_samp : 0;
    uint64_t nsm = c->bw_per_samp ? (first_bw + n_bw) / c->bw_per_samp - sbase : 0;
    cl_uint n_sims = (cl_uint)f->n_sims, n_nodes = (cl_uint)f->n, hl = f->hl;
    cl_ulong first = (cl_ulong)(first_bw * c->n_inner);
    cl_uint steps = (cl_uint)(n_bw * c->n_inner);
    cl_uint n_inner = c->n_inner, bpv = c->bw_per_vol, bps = c->bw_per_samp ? c->bw_per_samp : 1;
    cl_ulong vb = vbase, sb = sbase;
    cl_uint vcap = (cl_uint)f->vcap, scap = (cl_uint)f->scap;
    bool dbl = f->rsize == sizeof(double);
    double dd[6] = {f->t0, f->dt, c->bw_h, c->coeffs.k1, c->coeffs.k2, c->coeffs.k3};
    float ff[6];
    for (int i = 0; i < 6; i++)
        ff[i] = (float)dd[i];
    cl_int err = CL_SUCCESS;
    cl_uint a = 0;
    cl_kernel kn = f->kernel;
    err |= clSetKernelArg(kn, a++, sizeof n_sims, &n_sims);
    err |= clSetKernelArg(kn, a++, sizeof n_nodes, &n_nodes);
    err |= clSetKernelArg(kn, a++, sizeof first, &first);
    err |= clSetKernelArg(kn, a++, sizeof steps, &steps);
    err |= clSetKernelArg(kn, a++, f->rsize, dbl ? (const void *)&dd[0] : (const void *)&ff[0]);
    err |= clSetKernelArg(kn, a++, f->rsize, dbl ? (const void *)&dd[1] : (const void *)&ff[1]);
    err |= clSetKernelArg(kn, a++, sizeof hl, &hl);
    for (int b = 0; b <= B_STATUS; b++)
        err |= clSetKernelArg(kn, a++, sizeof(cl_mem), &f->buf[b]);
    err |= clSetKernelArg(kn, a++, sizeof n_inner, &n_inner);
    err |= clSetKernelArg(kn, a++, sizeof bpv, &bpv);
    err |= clSetKernelArg(kn, a++, sizeof bps, &bps);
    err |= clSetKernelArg(kn, a++, sizeof vb, &vb);
    err |= clSetKernelArg(kn, a++, sizeof sb, &sb);
    err |= clSetKernelArg(kn, a++, sizeof vcap, &vcap);
    err |= clSetKernelArg(kn, a++, sizeof scap, &scap);
    for (int i = 2; i < 6; i++)
        err |= clSetKernelArg(kn, a++, f->rsize, dbl ? (const void *)&dd[i] : (const void *)&ff[i]);
    err |= clSetKernelArg(kn, a++, sizeof(cl_mem), &f->buf[B_BW]);
    err |= clSetKernelArg(kn, a++, sizeof(cl_mem), &f->buf[B_VOL]);
    err |= clSetKernelArg(kn, a++, sizeof(cl_mem), &f->buf[B_SAMP]);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clSetKernelArg failed: %s", dev_name(f),
                        bnm_cl_error_name(err));
    cl_command_queue q = bnm_cl_queue(f->cl);
    /* A simulation that freezes emits nothing more: NaN marks what it did not write. */
    size_t S = (size_t)f->n_sims, N = (size_t)f->n, ns = (size_t)f->ir->n_states;
    if (nv > 0) {
        if (dbl) {
            cl_double nan = NAN;
            err = clEnqueueFillBuffer(q, f->buf[B_VOL], &nan, sizeof nan, 0,
                                      S * f->vcap * N * f->rsize, 0, NULL, NULL);
        } else {
            cl_float nan = NAN;
            err = clEnqueueFillBuffer(q, f->buf[B_VOL], &nan, sizeof nan, 0,
                                      S * f->vcap * N * f->rsize, 0, NULL, NULL);
        }
    }
    /* Fixed work-groups, padded (the kernel returns early past n_sims): every simulation
     * runs in the same code path whatever the batch size, and the compiler can vectorise
     * across simulations. */
    size_t local = f->local, global = (S + local - 1) / local * local;
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(q, kn, 1, NULL, &global, &local, 0, NULL, NULL);
    if (err == CL_SUCCESS && nv > 0)
        err = clEnqueueReadBuffer(q, f->buf[B_VOL], CL_TRUE, 0, S * f->vcap * N * f->rsize,
                                  f->vtmp, 0, NULL, NULL);
    if (err == CL_SUCCESS && nsm > 0 && samp_out)
        err = clEnqueueReadBuffer(q, f->buf[B_SAMP], CL_TRUE, 0,
                                  S * f->scap * ns * N * f->rsize, f->stmp, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clFinish(q);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': model %s batch kernel failed: %s",
                        dev_name(f), f->ir->name, bnm_cl_error_name(err));
    for (size_t s = 0; s < S && nv > 0; s++)
        real_to_double(f, (const char *)f->vtmp + s * f->vcap * N * f->rsize,
                       vol_out + s * nv * N, nv * N);
    for (size_t s = 0; s < S && nsm > 0 && samp_out; s++)
        real_to_double(f, (const char *)f->stmp + s * f->scap * ns * N * f->rsize,
                       samp_out + s * nsm * ns * N, nsm * ns * N);
    *n_vol_out = nv;
    if (n_samp_out)
        *n_samp_out = nsm;
    f->next_bw = first_bw + n_bw;
    return BNM_OK;
}

bnm_status bnm_fused_read_status(bnm_context *ctx, bnm_fused *f, bnm_sim_status *status_out)
{
    if (f->n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "batch kernel read before set_data");
    size_t n = 2 * (size_t)f->n_sims;
    cl_ulong *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory reading status");
    cl_int err = clEnqueueReadBuffer(bnm_cl_queue(f->cl), f->buf[B_STATUS], CL_TRUE, 0,
                                     n * sizeof *tmp, tmp, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        for (int s = 0; s < f->n_sims; s++) {
            status_out[s].nonfinite = tmp[2 * s] != 0;
            status_out[s].first_bad_step = tmp[2 * s + 1];
        }
    free(tmp);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': reading status failed: %s",
                        dev_name(f), bnm_cl_error_name(err));
    return BNM_OK;
}
