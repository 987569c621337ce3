/* Host launcher of a generated model kernel (ABI in clbnm/codegen.h); the buffers and
 * their lane layout are kernel_data.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/codegen.h"
#include "clbnm/model_kernel.h"
#include "codegen_internal.h"

struct bnm_model_kernel {
    bnm_cl *cl;
    const bnm_model_ir *ir;
    bnm_cg_spec *rs;
    bnm_model_abi *abi;
    char *source;
    cl_program program;
    cl_kernel kernel;
    bnm_kdata kd;
    uint64_t next_step;
};

void bnm_model_kernel_destroy(bnm_model_kernel *k)
{
    if (!k)
        return;
    bnm_kdata_release(&k->kd);
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

bnm_status bnm_cg_build_kernel(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                               const bnm_model_ir *ir, const char *source, const char *what,
                               const char *kernel_name, cl_program *program_out,
                               cl_kernel *kernel_out)
{
    char *log = NULL;
    const bnm_device_info *dev = bnm_cl_device(cl);
    *program_out = NULL;
    *kernel_out = NULL;
    bnm_status st = bnm_program_build(ctx, cl, cache, source, NULL, program_out, &log);
    if (st == BNM_ERR_BUILD) {
        char *first = NULL, *shown = NULL;
        bnm_cg_build_diag(ir, log, &first, &shown);
        st = bnm_fail(ctx, BNM_ERR_BUILD,
                      "model %s: the %s did not compile on device '%s'%s%s\n"
                      "%sfull build log:\n%s",
                      ir->name, what, dev->name, first ? ": " : "", first ? first : "",
                      shown ? shown : "", log ? log : "(the driver gave no log)");
        free(first);
        free(shown);
    }
    free(log);
    if (st != BNM_OK)
        return st;
    cl_int err;
    *kernel_out = clCreateKernel(*program_out, kernel_name, &err);
    if (err != CL_SUCCESS) {
        clReleaseProgram(*program_out);
        *program_out = NULL;
        *kernel_out = NULL;
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateKernel(%s) failed: %s",
                        dev->name, kernel_name, bnm_cl_error_name(err));
    }
    return BNM_OK;
}

bnm_status bnm_cg_check_precision(bnm_context *ctx, const bnm_device_info *dev,
                                  const char *model, bnm_precision precision)
{
    if (precision == BNM_PRECISION_DOUBLE && !dev->fp64)
        return bnm_fail(ctx, BNM_ERR_UNSUPPORTED,
                        "device '%s' has no double precision (cl_khr_fp64): run model %s in "
                        "float precision (--precision float) or choose another device",
                        dev->name, model);
    return BNM_OK;
}

bnm_status bnm_cg_resolve_for_device(bnm_context *ctx, bnm_cl *cl, const bnm_model_ir *ir,
                                     const bnm_model_spec *spec, bnm_model_spec *resolved,
                                     bnm_cg_spec **rs_out)
{
    const bnm_device_info *dev = bnm_cl_device(cl);
    *resolved = *spec;
    if (resolved->lanes == 0)
        resolved->lanes = bnm_cg_lanes_for_device(dev, spec->precision);
    bnm_status st = bnm_cg_spec_resolve(ctx, ir, resolved, rs_out);
    if (st != BNM_OK)
        return st;
    st = bnm_cg_check_precision(ctx, dev, ir->name, (*rs_out)->precision);
    if (st != BNM_OK) {
        bnm_cg_spec_destroy(*rs_out);
        *rs_out = NULL;
    }
    return st;
}

bnm_status bnm_model_kernel_create(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                                   const struct bnm_model_ir *ir, const bnm_model_spec *spec,
                                   bnm_model_kernel **out)
{
    *out = NULL;
    bnm_status st;
    bnm_model_spec sp;
    bnm_cg_layout lay;
    bnm_model_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating a model kernel");
    k->cl = cl;
    k->ir = ir;
    st = bnm_cg_resolve_for_device(ctx, cl, ir, spec, &sp, &k->rs);
    if (st != BNM_OK)
        goto fail;
    st = bnm_cg_emit(ctx, ir, &sp, &k->source, &k->abi, &lay);
    if (st != BNM_OK)
        goto fail;
    bnm_kdata_init(&k->kd, cl, k->rs, &lay);
    st = bnm_cg_build_kernel(ctx, cl, cache, ir, k->source, "generated OpenCL C",
                             k->abi->kernel_name, &k->program, &k->kernel);
    if (st != BNM_OK)
        goto fail;
    *out = k;
    return BNM_OK;
fail:
    bnm_model_kernel_destroy(k);
    return st;
}

bnm_status bnm_model_kernel_set_data(bnm_context *ctx, bnm_model_kernel *k,
                                     const bnm_model_data *d)
{
    bnm_status st = bnm_kdata_upload(ctx, &k->kd, d);
    if (st == BNM_OK)
        st = bnm_kdata_bind(ctx, &k->kd, k->kernel);
    k->next_step = 0;
    return st;
}

bnm_status bnm_model_kernel_run(bnm_context *ctx, bnm_model_kernel *k, uint64_t first_step,
                                uint64_t n_steps)
{
    if (k->kd.n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "model kernel run before set_data");
    if (k->kd.hl > 1 && first_step != 0 && first_step != k->next_step)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "with delays a run must start at step 0 or continue at step %llu "
                        "(asked for %llu)",
                        (unsigned long long)k->next_step, (unsigned long long)first_step);
    uint64_t done = 0;
    while (done < n_steps) {
        uint64_t left = n_steps - done;
        uint32_t chunk = left > 0x40000000u ? 0x40000000u : (uint32_t)left;
        bnm_status st = bnm_kdata_launch(ctx, &k->kd, k->kernel, first_step + done, chunk);
        if (st != BNM_OK)
            return st;
        done += chunk;
    }
    cl_int err = clFinish(bnm_cl_queue(k->cl));
    if (err != CL_SUCCESS)
        return bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': model %s kernel failed: %s",
                        bnm_cl_device(k->cl)->name, k->ir->name, bnm_cl_error_name(err));
    k->next_step = first_step + n_steps;
    return BNM_OK;
}

bnm_status bnm_model_kernel_read_states(bnm_context *ctx, bnm_model_kernel *k,
                                        double *states_out)
{
    if (k->kd.n_sims == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "model kernel read before set_data");
    size_t m = (size_t)k->ir->n_states * (size_t)k->kd.n;
    return bnm_kdata_read(ctx, &k->kd, BNM_KD_STATES, m, m, states_out);
}

bnm_status bnm_model_kernel_read_status(bnm_context *ctx, bnm_model_kernel *k,
                                        bnm_sim_status *status_out)
{
    return bnm_kdata_read_status(ctx, &k->kd, status_out);
}
