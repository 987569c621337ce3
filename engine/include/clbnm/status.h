/* clBNM status codes: one table drives the enum, the names, the messages and the
 * process exit code a command-line front end should use (interface.md section 1). */
#ifndef CLBNM_STATUS_H
#define CLBNM_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, EXIT_CODE, MESSAGE). Exit codes: 1 user error (bad input, model, run file,
 * data), 2 usage error, 3 device/OpenCL failure. Keep BNM_OK first. */
#define BNM_STATUS_TABLE(X)                                                          \
    X(OK, 0, "success")                                                              \
    X(ERR_USAGE, 2, "invalid command-line usage")                                    \
    X(ERR_INVALID_ARG, 2, "invalid argument")                                        \
    X(ERR_NOMEM, 3, "out of memory")                                                 \
    X(ERR_IO, 1, "file could not be read or written")                                \
    X(ERR_NOT_FOUND, 1, "not found")                                                 \
    X(ERR_PARSE, 1, "syntax error")                                                  \
    X(ERR_MODEL, 1, "invalid model")                                                 \
    X(ERR_RUN, 1, "invalid run specification")                                       \
    X(ERR_DATA, 1, "invalid data file")                                              \
    X(ERR_DEVICE_SELECT, 1, "no OpenCL device matches the selection")                \
    X(ERR_NO_DEVICE, 3, "no OpenCL platform or device is available")                 \
    X(ERR_OPENCL, 3, "an OpenCL call failed")                                        \
    X(ERR_BUILD, 3, "OpenCL program build failed")                                   \
    X(ERR_UNSUPPORTED, 3, "the device does not support what was asked")              \
    X(ERR_CANCELLED, 1, "cancelled")                                                 \
    X(ERR_INTERNAL, 3, "internal error")

typedef enum bnm_status {
#define BNM_STATUS_ENUM_(name, code, msg) BNM_##name,
    BNM_STATUS_TABLE(BNM_STATUS_ENUM_)
#undef BNM_STATUS_ENUM_
    BNM_STATUS_COUNT_
} bnm_status;

/* "BNM_ERR_PARSE" etc. Static string; "BNM_STATUS_UNKNOWN" for out-of-range values. */
const char *bnm_status_name(bnm_status st);
/* One-line generic description. Static string. */
const char *bnm_status_message(bnm_status st);
/* Exit code a command-line program should return for this status (0, 1, 2 or 3). */
int bnm_status_exit_code(bnm_status st);

#ifdef __cplusplus
}
#endif
#endif
