#include "clbnm/context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"

struct bnm_context {
    bnm_status status;
    char *message; /* heap, grows with bnm_context_append */
};

bnm_status bnm_context_create(bnm_context **out)
{
    if (!out)
        return BNM_ERR_INVALID_ARG;
    *out = calloc(1, sizeof **out);
    return *out ? BNM_OK : BNM_ERR_NOMEM;
}

void bnm_context_destroy(bnm_context *ctx)
{
    if (!ctx)
        return;
    free(ctx->message);
    free(ctx);
}

bnm_status bnm_context_status(const bnm_context *ctx)
{
    return ctx ? ctx->status : BNM_OK;
}

const char *bnm_context_message(const bnm_context *ctx)
{
    return ctx && ctx->message ? ctx->message : "";
}

void bnm_context_clear(bnm_context *ctx)
{
    if (!ctx)
        return;
    free(ctx->message);
    ctx->message = NULL;
    ctx->status = BNM_OK;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *buf = malloc((size_t)n + 1);
    if (buf)
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
    return buf;
}

bnm_status bnm_failv(bnm_context *ctx, bnm_status st, const char *fmt, va_list ap)
{
    char *msg = vformat(fmt, ap);
    bnm_log_debug("%s: %s", bnm_status_name(st), msg ? msg : bnm_status_message(st));
    if (!ctx) {
        free(msg);
        return st;
    }
    free(ctx->message);
    ctx->message = msg; /* NULL on allocation failure: the status still tells the kind */
    ctx->status = st;
    return st;
}

bnm_status bnm_fail(bnm_context *ctx, bnm_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bnm_failv(ctx, st, fmt, ap);
    va_end(ap);
    return st;
}

void bnm_context_append(bnm_context *ctx, const char *fmt, ...)
{
    if (!ctx)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *extra = vformat(fmt, ap);
    va_end(ap);
    if (!extra)
        return;
    size_t old = ctx->message ? strlen(ctx->message) : 0;
    char *joined = realloc(ctx->message, old + strlen(extra) + 1);
    if (joined) {
        memcpy(joined + old, extra, strlen(extra) + 1);
        ctx->message = joined;
    }
    free(extra);
}
