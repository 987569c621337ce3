#include "clbnm/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static bnm_log_level current_level = BNM_LOG_WARN;
static bool level_from_api = false;
static bool env_read = false;
static bnm_log_sink current_sink = NULL;
static void *current_user = NULL;

static const char *const level_names[] = {"off", "error", "warn", "info", "debug", "trace"};

const char *bnm_log_level_name(bnm_log_level level)
{
    if ((int)level < 0 || (int)level > (int)BNM_LOG_TRACE)
        return "?";
    return level_names[level];
}

bool bnm_log_level_parse(const char *text, bnm_log_level *out)
{
    if (!text)
        return false;
    for (int i = 0; i <= (int)BNM_LOG_TRACE; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (bnm_log_level)i;
            return true;
        }
    }
    if (strcasecmp(text, "warning") == 0) {
        *out = BNM_LOG_WARN;
        return true;
    }
    return false;
}

/* The environment is read lazily so that a program that never logs never looks. */
static void read_env_once(void)
{
    if (env_read || level_from_api)
        return;
    env_read = true;
    const char *env = getenv("CLBNM_LOG");
    bnm_log_level parsed;
    if (env && *env) {
        if (bnm_log_level_parse(env, &parsed))
            current_level = parsed;
        else
            fprintf(stderr, "clbnm: warning: CLBNM_LOG='%s' is not a log level "
                            "(use error, warn, info, debug, trace or off)\n", env);
    }
}

void bnm_log_set_level(bnm_log_level level)
{
    level_from_api = true;
    current_level = level;
}

bnm_log_level bnm_log_get_level(void)
{
    read_env_once();
    return current_level;
}

void bnm_log_set_sink(bnm_log_sink sink, void *user)
{
    current_sink = sink;
    current_user = user;
}

static void default_sink(bnm_log_level level, const char *msg)
{
    static const char *const prefix[] = {"", "error", "warning", "info", "debug", "trace"};
    fprintf(stderr, "clbnm: %s: %s\n", prefix[level], msg);
}

void bnm_logv(bnm_log_level level, const char *fmt, va_list ap)
{
    if (level == BNM_LOG_OFF || level > bnm_log_get_level())
        return;
    char buf[4096];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (current_sink)
        current_sink(level, buf, current_user);
    else
        default_sink(level, buf);
}

void bnm_log(bnm_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bnm_logv(level, fmt, ap);
    va_end(ap);
}
