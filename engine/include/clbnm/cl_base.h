/* The one place that includes the OpenCL headers, so every file targets the same API
 * level: clBNM needs OpenCL 1.2 and nothing newer. */
#ifndef CLBNM_CL_BASE_H
#define CLBNM_CL_BASE_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "CL_OUT_OF_RESOURCES" etc.; "CL_UNKNOWN_ERROR(<code>)" style text for unknown codes,
 * kept in a small rotating static buffer (safe for a few uses in one message). */
const char *bnm_cl_error_name(cl_int err);

#ifdef __cplusplus
}
#endif
#endif
