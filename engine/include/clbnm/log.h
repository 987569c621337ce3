/* Leveled logging, separate from errors: errors go to the context, logs go to a sink.
 * The level comes from bnm_log_set_level or, until that is called, from $CLBNM_LOG
 * (error, warn, info, debug, trace or off; default warn). */
#ifndef CLBNM_LOG_H
#define CLBNM_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bnm_log_level {
    BNM_LOG_OFF = 0,
    BNM_LOG_ERROR,
    BNM_LOG_WARN,
    BNM_LOG_INFO,
    BNM_LOG_DEBUG,
    BNM_LOG_TRACE
} bnm_log_level;

/* Receives each message that passes the level filter; msg has no trailing newline and
 * is borrowed for the duration of the call. */
typedef void (*bnm_log_sink)(bnm_log_level level, const char *msg, void *user);

void bnm_log_set_level(bnm_log_level level);
bnm_log_level bnm_log_get_level(void);
/* Parses "error", "warn", "info", "debug", "trace", "off" (case-insensitive).
 * Returns false and leaves *out alone for anything else. */
bool bnm_log_level_parse(const char *text, bnm_log_level *out);
const char *bnm_log_level_name(bnm_log_level level);
/* Replaces the sink (default: stderr with a "clbnm: warning: " style prefix).
 * NULL restores the default. user is borrowed and passed back to the sink. */
void bnm_log_set_sink(bnm_log_sink sink, void *user);

void bnm_log(bnm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bnm_logv(bnm_log_level level, const char *fmt, va_list ap);

#define bnm_log_error(...) bnm_log(BNM_LOG_ERROR, __VA_ARGS__)
#define bnm_log_warn(...) bnm_log(BNM_LOG_WARN, __VA_ARGS__)
#define bnm_log_info(...) bnm_log(BNM_LOG_INFO, __VA_ARGS__)
#define bnm_log_debug(...) bnm_log(BNM_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
