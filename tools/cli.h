/* Shared by the clbnm subcommands: common options, exit-code mapping, error printing. */
#ifndef CLBNM_TOOLS_CLI_H
#define CLBNM_TOOLS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "clbnm/clbnm.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_USER = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_DEVICE = 3 };

/* Options every running subcommand accepts (interface.md section 1). */
typedef struct cli_common {
    const char *device;    /* --device; NULL: $CLBNM_DEVICE or the default rule */
    const char *precision; /* --precision float|double */
    bool quiet;
    bool no_progress;
} cli_common;

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} cli_command;

/* Parses a common option at argv[*i] (advancing *i past its value). Returns 1 when it
 * consumed one, 0 when argv[*i] is not a common option, -1 on a usage error (printed). */
int cli_parse_common(int argc, char **argv, int *i, cli_common *common);
/* Help text for the common options, one per line, indented. */
extern const char cli_common_help[];

/* Prints "clbnm: error: MESSAGE" from the context and returns the status's exit code. */
int cli_report(const bnm_context *ctx, bnm_status st);
/* Prints "clbnm CMD: error: ..." with a pointer to --help and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_devices(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Model subcommands (cli_model.c). */
struct bnm_model_ir;
/* Parses "--opt value" or "--opt=value" at argv[*i] (advancing *i past the value).
 * Returns 1 and sets *value when argv[*i] is opt, 0 when it is not, -1 when the value
 * is missing (printed). */
int cli_option_value(int argc, char **argv, int *i, const char *opt, const char **value);
/* One line per param: name, default or "required", bounds, global/regional/const, then
 * levels[i] when levels is non-NULL, else the unit. */
void cli_print_params(FILE *out, const struct bnm_model_ir *m, const char *indent,
                      const char *const *levels);
/* --emit-cl (cli_emit.c): prints the OpenCL C of m with param levels (0 fixed, 1 per-sim,
 * 2 per-node) to stdout; returns the exit code. */
int cli_emit_cl(bnm_context *ctx, const struct bnm_model_ir *m, const int *level,
                const cli_common *common, int lanes);

#endif
