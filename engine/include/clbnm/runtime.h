/* One device's OpenCL context and command queue. */
#ifndef CLBNM_RUNTIME_H
#define CLBNM_RUNTIME_H

#include "clbnm/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bnm_cl bnm_cl;

/* Creates a context and an in-order queue on the device. The info is copied; the caller
 * owns *out (release with bnm_cl_destroy). */
bnm_status bnm_cl_create(bnm_context *ctx, const bnm_device_info *info, bnm_cl **out);
/* Releases queue and context; NULL is accepted. */
void bnm_cl_destroy(bnm_cl *cl);

/* Borrowed handles, valid while cl lives. */
cl_context bnm_cl_context(const bnm_cl *cl);
cl_command_queue bnm_cl_queue(const bnm_cl *cl);
const bnm_device_info *bnm_cl_device(const bnm_cl *cl);

/* Convenience: enumerate, select (as bnm_device_list_select) and create in one call. */
bnm_status bnm_cl_create_selected(bnm_context *ctx, const char *selector, bnm_cl **out);

#ifdef __cplusplus
}
#endif
#endif
