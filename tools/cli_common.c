#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char cli_common_help[] =
    "  --device SEL        P:D index or part of a device name (default: $CLBNM_DEVICE,\n"
    "                      else the first GPU, else the first device)\n"
    "  --precision P       float (default) or double\n"
    "  --quiet             only errors on stderr\n"
    "  --no-progress       no progress line\n"
    "  --log-level L       error, warn, info, debug, trace or off (default: $CLBNM_LOG or warn)\n"
    "  -h, --help          this help\n";

/* Accepts both "--opt value" and "--opt=value". */
static const char *option_value(int argc, char **argv, int *i, const char *opt, int *status)
{
    size_t n = strlen(opt);
    const char *arg = argv[*i];
    if (strncmp(arg, opt, n) != 0)
        return NULL;
    if (arg[n] == '=') {
        *status = 1;
        return arg + n + 1;
    }
    if (arg[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "clbnm: error: option %s needs a value (see --help)\n", opt);
        *status = -1;
        return NULL;
    }
    *status = 1;
    return argv[++*i];
}

int cli_parse_common(int argc, char **argv, int *i, cli_common *common)
{
    const char *arg = argv[*i];
    int status = 0;
    const char *v;
    if (strcmp(arg, "--quiet") == 0) {
        common->quiet = true;
        bnm_log_set_level(BNM_LOG_ERROR);
        return 1;
    }
    if (strcmp(arg, "--no-progress") == 0) {
        common->no_progress = true;
        return 1;
    }
    if ((v = option_value(argc, argv, i, "--device", &status)) || status) {
        if (status > 0)
            common->device = v;
        return status;
    }
    if ((v = option_value(argc, argv, i, "--precision", &status)) || status) {
        if (status < 0)
            return -1;
        if (strcmp(v, "float") != 0 && strcmp(v, "double") != 0) {
            fprintf(stderr, "clbnm: error: --precision must be float or double, not '%s'\n", v);
            return -1;
        }
        common->precision = v;
        return 1;
    }
    if ((v = option_value(argc, argv, i, "--log-level", &status)) || status) {
        if (status < 0)
            return -1;
        bnm_log_level level;
        if (!bnm_log_level_parse(v, &level)) {
            fprintf(stderr,
                    "clbnm: error: --log-level '%s' is not one of error, warn, info, debug, "
                    "trace, off\n",
                    v);
            return -1;
        }
        bnm_log_set_level(level);
        return 1;
    }
    return 0;
}

int cli_report(const bnm_context *ctx, bnm_status st)
{
    const char *msg = bnm_context_message(ctx);
    fprintf(stderr, "clbnm: error: %s\n", *msg ? msg : bnm_status_message(st));
    return bnm_status_exit_code(st);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clbnm %s: error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'clbnm %s --help')\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}
