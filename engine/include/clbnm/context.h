/* An error context: every failing library call records a status and a human message
 * here, so a front end can print exactly what went wrong and what to do about it. */
#ifndef CLBNM_CONTEXT_H
#define CLBNM_CONTEXT_H

#include <stdarg.h>
#include "clbnm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bnm_context bnm_context;

/* Creates an empty context. The caller owns *out and releases it with bnm_context_destroy. */
bnm_status bnm_context_create(bnm_context **out);
/* Releases the context; NULL is accepted. */
void bnm_context_destroy(bnm_context *ctx);

/* Status of the last recorded failure, BNM_OK when none. */
bnm_status bnm_context_status(const bnm_context *ctx);
/* Message of the last recorded failure ("" when none). Borrowed: valid until the next
 * failure is recorded or the context is cleared or destroyed. */
const char *bnm_context_message(const bnm_context *ctx);
/* Forgets the last failure. */
void bnm_context_clear(bnm_context *ctx);

/* Records a failure and returns st, so callers can write `return bnm_fail(ctx, ...)`.
 * ctx may be NULL (the message is then only logged at debug level). */
bnm_status bnm_fail(bnm_context *ctx, bnm_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bnm_status bnm_failv(bnm_context *ctx, bnm_status st, const char *fmt, va_list ap);

/* Appends text to the recorded message (for example a list of alternatives). */
void bnm_context_append(bnm_context *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
