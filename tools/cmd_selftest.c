/* A smoke test a user can run on their own device: build a kernel (through the cache),
 * run it, and compare every element with the same arithmetic done on the host. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char selftest_source[] =
    "__kernel void bnm_selftest(__global const float *x, __global float *y, const float a)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    y[i] = a * x[i] + sin(x[i]);\n"
    "}\n";

enum { N_ELEMENTS = 1 << 16 };

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: clbnm selftest [OPTIONS]\n"
            "\n"
            "Builds a small kernel (through the kernel cache), runs it on the device over\n"
            "%d elements and verifies every result against the host. Exit 0 when all match.\n"
            "\n"
            "options:\n%s",
            N_ELEMENTS, cli_common_help);
}

static bnm_status run_kernel(bnm_context *ctx, bnm_cl *cl, cl_program program, const float *x,
                             float *y, float a)
{
    bnm_status st = BNM_OK;
    cl_int err = CL_SUCCESS;
    cl_mem bx = NULL, by = NULL;
    cl_kernel k = NULL;
    const char *dev = bnm_cl_device(cl)->name;
    size_t bytes = N_ELEMENTS * sizeof(float), global = N_ELEMENTS;

    k = clCreateKernel(program, "bnm_selftest", &err);
    if (err == CL_SUCCESS)
        bx = clCreateBuffer(bnm_cl_context(cl), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes,
                            (void *)x, &err);
    if (err == CL_SUCCESS)
        by = clCreateBuffer(bnm_cl_context(cl), CL_MEM_WRITE_ONLY, bytes, NULL, &err);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, 0, sizeof bx, &bx);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, 1, sizeof by, &by);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(k, 2, sizeof a, &a);
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(bnm_cl_queue(cl), k, 1, NULL, &global, NULL, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(bnm_cl_queue(cl), by, CL_TRUE, 0, bytes, y, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        st = bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': running the self-test kernel failed: %s",
                      dev, bnm_cl_error_name(err));
    if (bx)
        clReleaseMemObject(bx);
    if (by)
        clReleaseMemObject(by);
    if (k)
        clReleaseKernel(k);
    return st;
}

int cmd_selftest(int argc, char **argv)
{
    cli_common common = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        }
        int r = cli_parse_common(argc, argv, &i, &common);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r == 0)
            return cli_usage_error("selftest", "unexpected argument '%s'", argv[i]);
    }

    int code = CLI_EXIT_OK;
    bnm_context *ctx = NULL;
    bnm_cl *cl = NULL;
    bnm_program_cache *cache = NULL;
    cl_program program = NULL;
    float *x = malloc(N_ELEMENTS * sizeof *x), *y = malloc(N_ELEMENTS * sizeof *y);
    const float a = 0.75f;
    if (bnm_context_create(&ctx) != BNM_OK || !x || !y) {
        code = CLI_EXIT_DEVICE;
        goto done;
    }
    bnm_status st = bnm_cl_create_selected(ctx, common.device, &cl);
    if (st == BNM_OK)
        st = bnm_program_cache_create(ctx, NULL, &cache);
    if (st == BNM_OK)
        st = bnm_program_build(ctx, cl, cache, selftest_source, "-cl-std=CL1.2", &program, NULL);
    for (int i = 0; i < N_ELEMENTS; i++)
        x[i] = (float)(i - N_ELEMENTS / 2) * 1e-3f;
    if (st == BNM_OK)
        st = run_kernel(ctx, cl, program, x, y, a);
    if (st != BNM_OK) {
        code = cli_report(ctx, st);
        goto done;
    }
    /* OpenCL's single-precision sin is allowed 4 ulp; the sum adds one rounding. */
    double worst = 0.0;
    int bad = 0;
    for (int i = 0; i < N_ELEMENTS; i++) {
        double ref = (double)a * x[i] + sin((double)x[i]);
        double err = fabs(y[i] - ref) / fmax(fabs(ref), 1e-6);
        if (!(err <= 1e-5))
            bad++;
        if (err > worst || err != err)
            worst = err;
    }
    bnm_cache_stats stats = bnm_program_cache_stats(cache);
    printf("selftest: device %s\n", bnm_cl_device(cl)->name);
    printf("selftest: kernel %s (cache %s)\n", stats.hits ? "loaded from the cache" : "compiled",
           bnm_program_cache_dir(cache) ? bnm_program_cache_dir(cache) : "off");
    printf("selftest: %d elements, largest relative error %.2e, %d outside 1e-5\n", N_ELEMENTS,
           worst, bad);
    if (bad) {
        fprintf(stderr, "clbnm: error: device '%s' computed %d wrong results in the self-test\n",
                bnm_cl_device(cl)->name, bad);
        code = CLI_EXIT_DEVICE;
    } else {
        printf("selftest: passed\n");
    }
done:
    if (program)
        clReleaseProgram(program);
    bnm_program_cache_destroy(cache);
    bnm_cl_destroy(cl);
    bnm_context_destroy(ctx);
    free(x);
    free(y);
    return code;
}
