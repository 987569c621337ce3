/* OpenCL device discovery and selection. */
#ifndef CLBNM_DEVICE_H
#define CLBNM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clbnm/cl_base.h"
#include "clbnm/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bnm_device_kind {
    BNM_DEVICE_GPU,
    BNM_DEVICE_CPU,
    BNM_DEVICE_ACCELERATOR,
    BNM_DEVICE_OTHER
} bnm_device_kind;

/* Everything clBNM needs to know about one device, queried once at enumeration. */
typedef struct bnm_device_info {
    unsigned platform_index; /* P of the "P:D" selector */
    unsigned device_index;   /* D of the "P:D" selector, within its platform */
    cl_platform_id platform;
    cl_device_id device;
    bnm_device_kind kind;
    char name[256];
    char vendor[256];
    char platform_name[256];
    char platform_version[256];
    char device_version[256];
    char driver_version[256];
    char opencl_c_version[256];
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    unsigned compute_units;
    size_t max_work_group_size;
    bool fp64;
    unsigned pref_vector_width_float;
    unsigned pref_vector_width_double;
    unsigned native_vector_width_float;
    unsigned native_vector_width_double;
} bnm_device_info;

typedef struct bnm_device_list bnm_device_list;

/* Enumerates every device of every platform. The caller owns *out (release with
 * bnm_device_list_destroy). No platform or no device is BNM_ERR_NO_DEVICE. */
bnm_status bnm_device_list_create(bnm_context *ctx, bnm_device_list **out);
/* NULL is accepted. */
void bnm_device_list_destroy(bnm_device_list *list);

size_t bnm_device_list_count(const bnm_device_list *list);
/* Borrowed pointer, valid while the list lives; NULL when i is out of range. */
const bnm_device_info *bnm_device_list_get(const bnm_device_list *list, size_t i);

/* Index of the device the default rule picks: the first GPU, else the first device. */
size_t bnm_device_list_default(const bnm_device_list *list);

/* Picks one device. selector: "P:D" (platform and device index), or a case-insensitive
 * substring of the device name (first match in enumeration order); NULL or "" means
 * $CLBNM_DEVICE when set and non-empty, else the default rule. No match is
 * BNM_ERR_DEVICE_SELECT with the available devices listed in the context message. */
bnm_status bnm_device_list_select(const bnm_device_list *list, bnm_context *ctx,
                                  const char *selector, size_t *index_out);

/* "gpu", "cpu", "accelerator" or "other". Static string. */
const char *bnm_device_kind_name(bnm_device_kind kind);

/* Writes one line per device ("  P:D  name  (kind, vendor)"), each prefixed with
 * indent. Used in error messages and by `clbnm devices`. */
void bnm_device_list_print_short(const bnm_device_list *list, FILE *out, const char *indent);

#ifdef __cplusplus
}
#endif
#endif
