#include "clbnm/runtime.h"

#include <stdlib.h>

struct bnm_cl {
    bnm_device_info info;
    cl_context context;
    cl_command_queue queue;
};

bnm_status bnm_cl_create(bnm_context *ctx, const bnm_device_info *info, bnm_cl **out)
{
    bnm_status st = BNM_OK;
    cl_int err = CL_SUCCESS;
    bnm_cl *cl = calloc(1, sizeof *cl);

    *out = NULL;
    if (!cl)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating an OpenCL context");
    cl->info = *info;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)info->platform,
                                     0};
    cl->context = clCreateContext(props, 1, &info->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        st = bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateContext failed: %s",
                      info->name, bnm_cl_error_name(err));
        goto fail;
    }
    /* Profiling is on so benchmarks can read device times without a second queue. */
    cl->queue = clCreateCommandQueue(cl->context, info->device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) {
        st = bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateCommandQueue failed: %s",
                      info->name, bnm_cl_error_name(err));
        goto fail;
    }
    *out = cl;
    return BNM_OK;
fail:
    bnm_cl_destroy(cl);
    return st;
}

void bnm_cl_destroy(bnm_cl *cl)
{
    if (!cl)
        return;
    if (cl->queue) {
        clFinish(cl->queue);
        clReleaseCommandQueue(cl->queue);
    }
    if (cl->context)
        clReleaseContext(cl->context);
    free(cl);
}

cl_context bnm_cl_context(const bnm_cl *cl)
{
    return cl->context;
}

cl_command_queue bnm_cl_queue(const bnm_cl *cl)
{
    return cl->queue;
}

const bnm_device_info *bnm_cl_device(const bnm_cl *cl)
{
    return &cl->info;
}

bnm_status bnm_cl_create_selected(bnm_context *ctx, const char *selector, bnm_cl **out)
{
    bnm_device_list *list = NULL;
    size_t index = 0;
    bnm_status st = bnm_device_list_create(ctx, &list);
    if (st == BNM_OK)
        st = bnm_device_list_select(list, ctx, selector, &index);
    if (st == BNM_OK)
        st = bnm_cl_create(ctx, bnm_device_list_get(list, index), out);
    bnm_device_list_destroy(list);
    return st;
}
