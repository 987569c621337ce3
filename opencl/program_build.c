#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"
#include "program_cache_internal.h"

static char *build_log(cl_program program, cl_device_id device)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
            CL_SUCCESS ||
        size == 0)
        return NULL;
    char *log = malloc(size + 1);
    if (!log)
        return NULL;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log, NULL) !=
        CL_SUCCESS) {
        free(log);
        return NULL;
    }
    log[size] = '\0';
    return log;
}

static unsigned char *program_binary(cl_program program, size_t *size)
{
    /* Built for exactly one device, so there is exactly one binary. */
    size_t n = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL) != CL_SUCCESS ||
        n == 0)
        return NULL;
    unsigned char *bin = malloc(n);
    if (!bin)
        return NULL;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) != CL_SUCCESS) {
        free(bin);
        return NULL;
    }
    *size = n;
    return bin;
}

/* A cached binary the driver refuses (new driver, foreign file) is not an error. */
static cl_program from_binary(bnm_cl *cl, const unsigned char *bin, size_t size,
                              const char *options)
{
    const bnm_device_info *dev = bnm_cl_device(cl);
    cl_int err = CL_SUCCESS, bin_status = CL_SUCCESS;
    cl_program program = clCreateProgramWithBinary(bnm_cl_context(cl), 1, &dev->device, &size,
                                                   &bin, &bin_status, &err);
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
        if (program)
            clReleaseProgram(program);
        bnm_log_info("device '%s' rejected a cached kernel binary (%s); rebuilding it",
                     dev->name, bnm_cl_error_name(err != CL_SUCCESS ? err : bin_status));
        return NULL;
    }
    err = clBuildProgram(program, 1, &dev->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clReleaseProgram(program);
        bnm_log_info("device '%s' could not load a cached kernel binary (%s); rebuilding it",
                     dev->name, bnm_cl_error_name(err));
        return NULL;
    }
    return program;
}

bnm_status bnm_program_build(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                             const char *source, const char *options, cl_program *out,
                             char **log_out)
{
    const bnm_device_info *dev = bnm_cl_device(cl);
    bnm_status st = BNM_OK;
    cl_program program = NULL;
    unsigned char *binary = NULL;
    char *log = NULL;
    size_t size = 0;
    char key[65];
    cl_int err;

    *out = NULL;
    if (log_out)
        *log_out = NULL;
    if (!options)
        options = "";

    bool cached = bnm_program_cache_usable(cache);
    bnm_cache_lookup lookup = BNM_CACHE_ABSENT;
    if (cached) {
        bnm_program_cache_key(dev, source, options, key);
        lookup = bnm_program_cache_load(cache, key, &binary, &size);
        if (lookup == BNM_CACHE_VALID)
            program = from_binary(cl, binary, size, options);
        free(binary);
        binary = NULL;
    }
    bnm_program_cache_count(cache, lookup, program != NULL);
    if (program) {
        *out = program;
        return BNM_OK;
    }

    size_t len = strlen(source);
    program = clCreateProgramWithSource(bnm_cl_context(cl), 1, &source, &len, &err);
    if (err != CL_SUCCESS) {
        st = bnm_fail(ctx, BNM_ERR_OPENCL, "device '%s': clCreateProgramWithSource failed: %s",
                      dev->name, bnm_cl_error_name(err));
        goto fail;
    }
    err = clBuildProgram(program, 1, &dev->device, options, NULL, NULL);
    log = build_log(program, dev->device);
    if (err != CL_SUCCESS) {
        st = bnm_fail(ctx, BNM_ERR_BUILD,
                      "device '%s': OpenCL program build failed (%s); build log:\n%s", dev->name,
                      bnm_cl_error_name(err), log && *log ? log : "(the driver gave no log)");
        if (log_out) {
            *log_out = log;
            log = NULL;
        }
        goto fail;
    }
    if (log && log[strspn(log, " \t\r\n")])
        bnm_log_debug("device '%s' build log:\n%s", dev->name, log);

    if (cached) {
        binary = program_binary(program, &size);
        if (binary)
            bnm_program_cache_store(cache, key, source, binary, size);
        else
            bnm_log_info("device '%s' gave no program binary; not cached", dev->name);
    }
    *out = program;
    program = NULL;
fail:
    free(binary);
    free(log);
    if (program)
        clReleaseProgram(program);
    return st;
}
