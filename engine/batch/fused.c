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

enum { B_BW, B_VOL, B_SAMP, B_COUNT_ };

struct bnm_fused {
    bnm_cl *cl;
    const bnm_model_ir *ir;
    bnm_cg_spec *rs;
    bnm_model_abi *abi;
    bnm_fused_config cfg;
    char *source;
    int n_node_cache;
    cl_program program;
    cl_kernel kernel;
    bnm_kdata kd;          /* the model kernel's buffers (kernel_data.c) */
    cl_mem buf[B_COUNT_];  /* BW state, volumes, samples: [group][...][lane] */
    uint64_t vcap, scap, max_bw, next_bw;
    void *vtmp, *stmp; /* host staging of the volume / sample buffers */
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
    bnm_kdata_release(&f->kd);
    free(f->vtmp);
    free(f->stmp);
    f->vtmp = f->stmp = NULL;
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
    return f->kd.bytes;
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
    "    const uint nmm_scap, const nmm_sreal nmm_bwh, const nmm_sreal nmm_k1,\n"
    "    const nmm_sreal nmm_k2, const nmm_sreal nmm_k3, __global nmm_real *nmm_bwbuf,\n"
    "    __global nmm_real *nmm_vol, __global nmm_real *nmm_samp";

/* The generator's BW-step-end hook (codegen.h): runs at the end of every BW step with
 * the node's BOLD driver at the new state in nmm_zd; x_{k+1} is in nmm_states. nmm_s is
 * the work-item's group of lanes; a lane frozen by a non-finite state emits NaN. */
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
    "                NMM_KEEP_DEAD(nmm_bw_bold(nmm_b, nmm_k1, nmm_k2, nmm_k3), (nmm_real)NAN); \\\n"
    "    } else if (nmm_vdue) { \\\n"
    "        nmm_vol[(nmm_s * nmm_vcap + nmm_vs) * nmm_nn + nmm_i] = \\\n"
    "            NMM_KEEP_DEAD(nmm_zd, (nmm_real)NAN); \\\n"
    "    } \\\n"
    "    if (NMM_SAMPLE && nmm_sdue) \\\n"
    "        for (uint nmm_q = 0; nmm_q < NMM_NSTATES; ++nmm_q) \\\n"
    "            nmm_samp[((nmm_s * nmm_scap + nmm_ss) * NMM_NSTATES + nmm_q) * nmm_nn + nmm_i] = \\\n"
    "                NMM_KEEP_DEAD(nmm_states[(nmm_sb + nmm_q) * nmm_nn + nmm_i], (nmm_real)NAN);\n";

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
    char *gen = NULL;
    bnm_status st;
    bnm_model_spec sp;
    bnm_fused *f = calloc(1, sizeof *f);
    if (!f)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating the batch kernel");
    f->cl = cl;
    f->ir = ir;
    f->cfg = *cfg;
    if (cfg->n_inner == 0 || cfg->bw_per_vol == 0) {
        st = bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bad fused-kernel configuration");
        goto fail;
    }
    st = bnm_cg_resolve_for_device(ctx, cl, ir, spec, &sp, &f->rs);
    if (st != BNM_OK)
        goto fail;
    bnm_cg_layout lay;
    st = bnm_cg_emit(ctx, ir, &sp, &gen, &f->abi, &lay);
    if (st != BNM_OK)
        goto fail;
    f->n_node_cache = lay.n_node_cache;
    bnm_kdata_init(&f->kd, cl, f->rs, &lay);
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
    st = bnm_cg_build_kernel(ctx, cl, cache, ir, f->source, "batch kernel", f->abi->kernel_name,
                             &f->program, &f->kernel);
    if (st != BNM_OK)
        goto fail;
    free(gen);
    *out = f;
    return BNM_OK;
fail:
    free(gen);
    bnm_fused_destroy(f);
    return st;
}

bnm_status bnm_fused_set_data(bnm_context *ctx, bnm_fused *f, const bnm_model_data *d,
                              uint64_t max_launch_bw)
{
    if (max_launch_bw == 0 || max_launch_bw * f->cfg.n_inner > 0x40000000u)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "launch length of %llu BW steps out of range",
                        (unsigned long long)max_launch_bw);
    release_buffers(f);
    bnm_status st = bnm_kdata_upload(ctx, &f->kd, d);
    if (st != BNM_OK)
        return st;
    const size_t N = (size_t)d->n_nodes, ns = (size_t)f->ir->n_states;
    const size_t Q = (size_t)f->kd.n_groups * (size_t)f->kd.lanes, r = f->kd.rsize;
    /* A launch of B BW steps emits at most floor(B / per) + 1 volumes (samples). */
    f->vcap = max_launch_bw / f->cfg.bw_per_vol + 1;
    f->scap = f->cfg.bw_per_samp ? max_launch_bw / f->cfg.bw_per_samp + 1 : 0;
    f->max_bw = max_launch_bw;
    void *bw0 = calloc(Q * 8 * N, r); /* rest: x = 0 and zero deviations */
    f->vtmp = malloc(Q * f->vcap * N * r + 1);
    f->stmp = malloc(Q * f->scap * ns * N * r + 1);
    if (!bw0 || !f->vtmp || !f->stmp) {
        free(bw0);
        release_buffers(f);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory staging a batch of %d simulations",
                        d->n_sims);
    }
    if ((st = bnm_kdata_make_buf(ctx, &f->kd, &f->buf[B_BW], Q * 8 * N * r, bw0)) != BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, &f->kd, &f->buf[B_VOL], Q * f->vcap * N * r, NULL)) !=
            BNM_OK ||
        (st = bnm_kdata_make_buf(ctx, &f->kd, &f->buf[B_SAMP], Q * f->scap * ns * N * r, NULL)) !=
            BNM_OK ||
        (st = bnm_kdata_bind(ctx, &f->kd, f->kernel)) != BNM_OK)
        release_buffers(f);
    free(bw0);
    f->next_bw = 0;
    return st;
}

bnm_status bnm_fused_run(bnm_context *ctx, bnm_fused *f, uint64_t first_bw, uint64_t n_bw,
                         double *vol_out, uint64_t *n_vol_out, double *samp_out,
                         uint64_t *n_samp_out)
{
    *n_vol_out = 0;
    if (n_samp_out)
        *n_samp_out = 0;
    if (f->kd.n_sims == 0)
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
    cl_uint n_inner = c->n_inner, bpv = c->bw_per_vol, bps = c->bw_per_samp ? c->bw_per_samp : 1;
    cl_ulong vb = vbase, sb = sbase;
    cl_uint vcap = (cl_uint)f->vcap, scap = (cl_uint)f->scap;
    bool dbl = f->kd.rsize == sizeof(double);
    double dd[4] = {c->bw_h, c->coeffs.k1, c->coeffs.k2, c->coeffs.k3};
    float ff[4];
    for (int i = 0; i < 4; i++)
        ff[i] = (float)dd[i];
    cl_int err = CL_SUCCESS;
    cl_uint a = 8 + BNM_KD_COUNT; /* after the base arguments and the __local weights */
    cl_kernel kn = f->kernel;
    err |= clSetKernelArg(kn, a++, sizeof n_inner, &n_inner);
    err |= clSetKernelArg(kn, a++, sizeof bpv, &bpv);
    err |= clSetKernelArg(kn, a++, sizeof bps, &bps);
    err |= clSetKernelArg(kn, a++, sizeof vb, &vb);
    err |= clSetKernelArg(kn, a++, sizeof sb, &sb);
    err |= clSetKernelArg(kn, a++, sizeof vcap, &vcap);
    err |= clSetKernelArg(kn, a++, sizeof scap, &scap);
    for (int i = 0; i < 4; i++)
        err |= clSetKernelArg(kn, a++, f->kd.rsize, dbl ? (const void *)&dd[i] : (const void *)&ff[i]);
    for (int b = 0; b < B_COUNT_; b++)
        err |= clSetKernelArg(kn, a++, sizeof(cl_mem), &f->buf[b]);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clSetKernelArg failed: %s", dev_name(f),
                        bnm_cl_error_name(err));
    cl_command_queue q = bnm_cl_queue(f->cl);
    /* A simulation that freezes emits nothing more: NaN marks what it did not write. */
    const size_t N = (size_t)f->kd.n, ns = (size_t)f->ir->n_states;
    const size_t Q = (size_t)f->kd.n_groups * (size_t)f->kd.lanes;
    const size_t vbytes = Q * f->vcap * N * f->kd.rsize;
    if (nv > 0) {
        if (dbl) {
            cl_double nan = NAN;
            err = clEnqueueFillBuffer(q, f->buf[B_VOL], &nan, sizeof nan, 0, vbytes, 0, NULL,
                                      NULL);
        } else {
            cl_float nan = NAN;
            err = clEnqueueFillBuffer(q, f->buf[B_VOL], &nan, sizeof nan, 0, vbytes, 0, NULL,
                                      NULL);
        }
    }
    bnm_status st = BNM_OK;
    if (err == CL_SUCCESS)
        st = bnm_kdata_launch(ctx, &f->kd, kn, first_bw * c->n_inner,
                              (uint32_t)(n_bw * c->n_inner));
    if (st != BNM_OK)
        return st;
    if (err == CL_SUCCESS && nv > 0)
        err = clEnqueueReadBuffer(q, f->buf[B_VOL], CL_TRUE, 0, vbytes, f->vtmp, 0, NULL, NULL);
    if (err == CL_SUCCESS && nsm > 0 && samp_out)
        err = clEnqueueReadBuffer(q, f->buf[B_SAMP], CL_TRUE, 0, Q * f->scap * ns * N * f->kd.rsize,
                                  f->stmp, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clFinish(q);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': model %s batch kernel failed: %s",
                        dev_name(f), f->ir->name, bnm_cl_error_name(err));
    if (nv > 0)
        bnm_kdata_unpack(&f->kd, f->vtmp, f->vcap * N, nv * N, vol_out);
    if (nsm > 0 && samp_out)
        bnm_kdata_unpack(&f->kd, f->stmp, f->scap * ns * N, nsm * ns * N, samp_out);
    *n_vol_out = nv;
    if (n_samp_out)
        *n_samp_out = nsm;
    f->next_bw = first_bw + n_bw;
    return BNM_OK;
}

bnm_status bnm_fused_read_status(bnm_context *ctx, bnm_fused *f, bnm_sim_status *status_out)
{
    return bnm_kdata_read_status(ctx, &f->kd, status_out);
}

/* Snapshot layout: header, then each saved buffer's bytes in save_list order. */
typedef struct snap_header {
    char magic[8];        /* "CLBNMSNP" */
    uint32_t version;     /* 1 */
    uint32_t lanes, n_groups, n_nodes, rsize, n_sims, pad_;
    uint64_t source_hash; /* FNV-1a 64 of the kernel source */
    uint64_t slot_hash;   /* FNV-1a 64 of the lane placement */
    uint64_t next_bw;
    uint64_t bytes[5];
} snap_header;

static uint64_t fnv1a(const void *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *c = p; n--; c++)
        h = (h ^ *c) * 0x100000001b3ull;
    return h;
}

static void snap_fill(const bnm_fused *f, snap_header *h)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, "CLBNMSNP", 8);
    h->version = 1;
    h->lanes = (uint32_t)f->kd.lanes;
    h->n_groups = (uint32_t)f->kd.n_groups;
    h->n_nodes = (uint32_t)f->kd.n;
    h->rsize = (uint32_t)f->kd.rsize;
    h->n_sims = (uint32_t)f->kd.n_sims;
    h->source_hash = fnv1a(f->source, strlen(f->source));
    h->slot_hash = fnv1a(f->kd.slot, (size_t)f->kd.n_groups * (size_t)f->kd.lanes * sizeof(int));
}

/* The buffers that carry state between launches (node cache, shared noise and the
 * coupling buffer are recomputed; volumes and samples are outputs). */
static void save_list(bnm_fused *f, cl_mem *m)
{
    m[0] = f->kd.buf[BNM_KD_STATES];
    m[1] = f->kd.buf[BNM_KD_HIST];
    m[2] = f->kd.buf[BNM_KD_STATUS];
    m[3] = f->buf[B_BW];
    m[4] = f->kd.buf[BNM_KD_GIDX]; /* checked, not restored: the lane placement */
}

static bnm_status mem_size(bnm_context *ctx, bnm_fused *f, cl_mem m, uint64_t *out)
{
    size_t sz = 0;
    cl_int err = clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof sz, &sz, NULL);
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clGetMemObjectInfo failed: %s",
                        dev_name(f), bnm_cl_error_name(err));
    *out = sz;
    return BNM_OK;
}

bnm_status bnm_fused_save(bnm_context *ctx, bnm_fused *f, void **blob, size_t *len)
{
    *blob = NULL;
    *len = 0;
    if (f->kd.n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "batch kernel saved before set_data");
    snap_header h;
    snap_fill(f, &h);
    h.next_bw = f->next_bw;
    cl_mem m[5];
    save_list(f, m);
    size_t total = sizeof h;
    bnm_status st;
    for (int k = 0; k < 5; k++) {
        if ((st = mem_size(ctx, f, m[k], &h.bytes[k])) != BNM_OK)
            return st;
        total += h.bytes[k];
    }
    char *p = malloc(total);
    if (!p)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory saving a batch (%zu bytes)", total);
    memcpy(p, &h, sizeof h);
    size_t off = sizeof h;
    cl_int err = CL_SUCCESS;
    for (int k = 0; k < 5 && err == CL_SUCCESS; k++) {
        err = clEnqueueReadBuffer(bnm_cl_queue(f->cl), m[k], CL_TRUE, 0, h.bytes[k], p + off, 0,
                                  NULL, NULL);
        off += h.bytes[k];
    }
    if (err != CL_SUCCESS) {
        free(p);
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': reading the batch state failed: %s",
                        dev_name(f), bnm_cl_error_name(err));
    }
    *blob = p;
    *len = total;
    return BNM_OK;
}

bnm_status bnm_fused_restore(bnm_context *ctx, bnm_fused *f, const void *blob, size_t len)
{
    snap_header h;
    if (f->kd.n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "batch kernel restored before set_data");
    if (len < sizeof h)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "batch state of %zu bytes is truncated", len);
    memcpy(&h, blob, sizeof h);
    cl_mem m[5];
    save_list(f, m);
    uint64_t want = sizeof h, sz[5];
    bnm_status st;
    for (int k = 0; k < 5; k++) {
        if ((st = mem_size(ctx, f, m[k], &sz[k])) != BNM_OK)
            return st;
        want += sz[k];
    }
    snap_header mine;
    snap_fill(f, &mine);
    mine.next_bw = h.next_bw;
    memcpy(mine.bytes, h.bytes, sizeof mine.bytes);
    bool same = memcmp(&h, &mine, sizeof h) == 0 && len == want;
    for (int k = 0; same && k < 5; k++)
        same = h.bytes[k] == sz[k];
    const char *data = (const char *)blob + sizeof h;
    /* the lane placement must be the one the state was saved with */
    if (same) {
        char *gi = malloc(sz[4] + 1);
        cl_int err = gi ? clEnqueueReadBuffer(bnm_cl_queue(f->cl), m[4], CL_TRUE, 0, sz[4], gi, 0,
                                              NULL, NULL)
                        : CL_OUT_OF_HOST_MEMORY;
        same = err == CL_SUCCESS &&
               memcmp(gi, data + sz[0] + sz[1] + sz[2] + sz[3], sz[4]) == 0;
        free(gi);
    }
    if (!same)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "the saved batch state does not belong to this kernel and batch (other "
                        "model, spec, device layout or simulations): start the run afresh");
    size_t off = 0;
    cl_int err = CL_SUCCESS;
    for (int k = 0; k < 4 && err == CL_SUCCESS; k++) {
        err = clEnqueueWriteBuffer(bnm_cl_queue(f->cl), m[k], CL_TRUE, 0, sz[k], data + off, 0,
                                   NULL, NULL);
        off += sz[k];
    }
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': writing the batch state failed: %s",
                        dev_name(f), bnm_cl_error_name(err));
    f->next_bw = h.next_bw;
    return BNM_OK;
}
