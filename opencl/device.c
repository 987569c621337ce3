#include "clbnm/device.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"

struct bnm_device_list {
    size_t count;
    bnm_device_info *items;
};

const char *bnm_device_kind_name(bnm_device_kind kind)
{
    switch (kind) {
    case BNM_DEVICE_GPU: return "gpu";
    case BNM_DEVICE_CPU: return "cpu";
    case BNM_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

static void query_string(cl_device_id d, cl_device_info what, char *buf, size_t size)
{
    if (clGetDeviceInfo(d, what, size, buf, NULL) != CL_SUCCESS)
        snprintf(buf, size, "?");
    buf[size - 1] = '\0';
}

static void trim_right(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

static void fill_info(bnm_device_info *info, cl_platform_id p, cl_device_id d)
{
    info->platform = p;
    info->device = d;
    if (clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof info->platform_name, info->platform_name,
                          NULL) != CL_SUCCESS)
        snprintf(info->platform_name, sizeof info->platform_name, "?");
    if (clGetPlatformInfo(p, CL_PLATFORM_VERSION, sizeof info->platform_version,
                          info->platform_version, NULL) != CL_SUCCESS)
        snprintf(info->platform_version, sizeof info->platform_version, "?");
    query_string(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    query_string(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    query_string(d, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
    query_string(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    query_string(d, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
                 sizeof info->opencl_c_version);
    trim_right(info->name);
    trim_right(info->vendor);

    cl_device_type type = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    info->kind = (type & CL_DEVICE_TYPE_GPU)           ? BNM_DEVICE_GPU
                 : (type & CL_DEVICE_TYPE_CPU)         ? BNM_DEVICE_CPU
                 : (type & CL_DEVICE_TYPE_ACCELERATOR) ? BNM_DEVICE_ACCELERATOR
                                                       : BNM_DEVICE_OTHER;

    cl_ulong u64 = 0;
    cl_uint u32 = 0;
    size_t sz = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof u64, &u64, NULL) == CL_SUCCESS)
        info->global_mem_bytes = u64;
    if (clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof u64, &u64, NULL) == CL_SUCCESS)
        info->local_mem_bytes = u64;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof u64, &u64, NULL) == CL_SUCCESS)
        info->max_alloc_bytes = u64;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u32, &u32, NULL) == CL_SUCCESS)
        info->compute_units = u32;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof sz, &sz, NULL) == CL_SUCCESS)
        info->max_work_group_size = sz;
    cl_device_fp_config fp = 0;
    /* CL_DEVICE_DOUBLE_FP_CONFIG is zero on devices without double precision. */
    if (clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp, &fp, NULL) == CL_SUCCESS)
        info->fp64 = fp != 0;
    if (clGetDeviceInfo(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof u32, &u32, NULL) ==
        CL_SUCCESS)
        info->pref_vector_width_float = u32;
    if (clGetDeviceInfo(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE, sizeof u32, &u32, NULL) ==
        CL_SUCCESS)
        info->pref_vector_width_double = u32;
    if (clGetDeviceInfo(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof u32, &u32, NULL) ==
        CL_SUCCESS)
        info->native_vector_width_float = u32;
    if (clGetDeviceInfo(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE, sizeof u32, &u32, NULL) ==
        CL_SUCCESS)
        info->native_vector_width_double = u32;
}

bnm_status bnm_device_list_create(bnm_context *ctx, bnm_device_list **out)
{
    bnm_status st = BNM_OK;
    cl_platform_id *platforms = NULL;
    cl_device_id *devices = NULL;
    bnm_device_list *list = NULL;
    cl_uint np = 0;

    *out = NULL;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && np == 0)) {
        st = bnm_fail(ctx, BNM_ERR_NO_DEVICE,
                      "no OpenCL platform found; install a driver (for the CPU: "
                      "apt-get install pocl-opencl-icd)");
        goto fail;
    }
    if (err != CL_SUCCESS) {
        st = bnm_fail(ctx, BNM_ERR_OPENCL, "clGetPlatformIDs failed: %s",
                      bnm_cl_error_name(err));
        goto fail;
    }
    platforms = calloc(np, sizeof *platforms);
    list = calloc(1, sizeof *list);
    if (!platforms || !list) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory listing OpenCL platforms");
        goto fail;
    }
    err = clGetPlatformIDs(np, platforms, NULL);
    if (err != CL_SUCCESS) {
        st = bnm_fail(ctx, BNM_ERR_OPENCL, "clGetPlatformIDs failed: %s",
                      bnm_cl_error_name(err));
        goto fail;
    }
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
        if (err == CL_DEVICE_NOT_FOUND || nd == 0)
            continue;
        if (err != CL_SUCCESS) {
            /* One broken platform must not hide the devices of the others. */
            bnm_log_warn("OpenCL platform %u: clGetDeviceIDs failed: %s; skipping it", p,
                         bnm_cl_error_name(err));
            continue;
        }
        free(devices);
        devices = calloc(nd, sizeof *devices);
        bnm_device_info *grown = realloc(list->items, (list->count + nd) * sizeof *grown);
        if (!devices || !grown) {
            if (grown)
                list->items = grown;
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory listing OpenCL devices");
            goto fail;
        }
        list->items = grown;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, nd, devices, NULL);
        if (err != CL_SUCCESS) {
            bnm_log_warn("OpenCL platform %u: clGetDeviceIDs failed: %s; skipping it", p,
                         bnm_cl_error_name(err));
            continue;
        }
        for (cl_uint d = 0; d < nd; d++) {
            bnm_device_info *info = &list->items[list->count++];
            memset(info, 0, sizeof *info);
            info->platform_index = p;
            info->device_index = d;
            fill_info(info, platforms[p], devices[d]);
        }
    }
    if (list->count == 0) {
        st = bnm_fail(ctx, BNM_ERR_NO_DEVICE,
                      "OpenCL platforms were found but none has a device; check the driver "
                      "installation (clinfo lists what the loader sees)");
        goto fail;
    }
    *out = list;
    list = NULL;
fail:
    free(platforms);
    free(devices);
    bnm_device_list_destroy(list);
    return st;
}

void bnm_device_list_destroy(bnm_device_list *list)
{
    if (!list)
        return;
    free(list->items);
    free(list);
}

size_t bnm_device_list_count(const bnm_device_list *list)
{
    return list ? list->count : 0;
}

const bnm_device_info *bnm_device_list_get(const bnm_device_list *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

size_t bnm_device_list_default(const bnm_device_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].kind == BNM_DEVICE_GPU)
            return i;
    return 0;
}

void bnm_device_list_print_short(const bnm_device_list *list, FILE *out, const char *indent)
{
    for (size_t i = 0; i < list->count; i++) {
        const bnm_device_info *d = &list->items[i];
        fprintf(out, "%s%u:%u  %s  (%s, %s)\n", indent, d->platform_index, d->device_index,
                d->name, bnm_device_kind_name(d->kind), d->vendor);
    }
}

static bool parse_index_pair(const char *s, unsigned *p, unsigned *d)
{
    char *end = NULL;
    if (!isdigit((unsigned char)s[0]))
        return false;
    unsigned long a = strtoul(s, &end, 10);
    if (*end != ':' || !isdigit((unsigned char)end[1]))
        return false;
    unsigned long b = strtoul(end + 1, &end, 10);
    if (*end != '\0' || a > 4096 || b > 4096)
        return false;
    *p = (unsigned)a;
    *d = (unsigned)b;
    return true;
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* Lists the devices into the context message so the user sees what would have matched. */
static bnm_status fail_with_list(const bnm_device_list *list, bnm_context *ctx,
                                 const char *origin, const char *selector, const char *why)
{
    bnm_fail(ctx, BNM_ERR_DEVICE_SELECT, "%s '%s' %s; available devices:", origin, selector,
             why);
    for (size_t i = 0; i < list->count; i++) {
        const bnm_device_info *d = &list->items[i];
        bnm_context_append(ctx, "\n  %u:%u  %s  (%s, %s)", d->platform_index, d->device_index,
                           d->name, bnm_device_kind_name(d->kind), d->vendor);
    }
    bnm_context_append(ctx, "\nselect one with --device P:D or a part of its name");
    return BNM_ERR_DEVICE_SELECT;
}

bnm_status bnm_device_list_select(const bnm_device_list *list, bnm_context *ctx,
                                  const char *selector, size_t *index_out)
{
    const char *origin = "--device";
    if (!selector || !*selector) {
        const char *env = getenv("CLBNM_DEVICE");
        if (!env || !*env) {
            *index_out = bnm_device_list_default(list);
            return BNM_OK;
        }
        selector = env;
        origin = "CLBNM_DEVICE";
    }
    unsigned p, d;
    if (parse_index_pair(selector, &p, &d)) {
        for (size_t i = 0; i < list->count; i++) {
            if (list->items[i].platform_index == p && list->items[i].device_index == d) {
                *index_out = i;
                return BNM_OK;
            }
        }
        return fail_with_list(list, ctx, origin, selector, "names no device");
    }
    for (size_t i = 0; i < list->count; i++) {
        if (contains_nocase(list->items[i].name, selector)) {
            *index_out = i;
            return BNM_OK;
        }
    }
    return fail_with_list(list, ctx, origin, selector, "matches no device name");
}
