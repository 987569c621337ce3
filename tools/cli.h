/* Shared by the clbnm subcommands: common options, exit-code mapping, error printing. */
#ifndef CLBNM_TOOLS_CLI_H
#define CLBNM_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clbnm/clbnm.h"
#include "clbnm/fit.h"
#include "clbnm/optimize.h"

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
int cmd_demo(int argc, char **argv);

/* The optimize job of `clbnm optimize` and `clbnm demo` (cli_optimize.c): the run file
 * parsed and checked against its model and data, the driver's problem, and the engine
 * as the driver's evaluator. */
typedef struct cli_opt_job cli_opt_job;

/* What the final re-run of one run's best particle gave (kept with keep_best). */
typedef struct cli_opt_best {
    bool done;
    double *values; /* [n_params] in bnm_opt_problem_param_name order (node 0's value) */
    double scores[BNM_FIT_N_TERMS]; /* larger is better: fcd_ks is -D */
    double gof, cost, fic_penalty;
    uint8_t diverged;
    double *bold; /* [n_vol][n_nodes], the whole series */
    size_t n_vol;
    double *fc, *fcd; /* [n_fc], [n_fcd] */
    size_t n_fc, n_fcd;
} cli_opt_best;

/* Parses run_path (optimize mode) and builds the job; keep_best keeps the best
 * particles' re-runs (cli_opt_job_best, cli_opt_job_write_best_sim). */
bnm_status cli_opt_job_create(bnm_context *ctx, const char *run_path, const cli_common *common,
                              bool keep_best, cli_opt_job **out);
/* Runs bnm_optimize into outdir. */
bnm_status cli_opt_job_run(bnm_context *ctx, cli_opt_job *job, const char *outdir, bool resume,
                           const cli_common *common);
const bnm_run *cli_opt_job_run_file(const cli_opt_job *job);
const bnm_opt_problem *cli_opt_job_problem(const cli_opt_job *job);
/* Prints "LABEL: generation G of at most N: ..." on stderr after every generation
 * (label borrowed; NULL: nothing, the default). */
void cli_opt_job_set_progress(cli_opt_job *job, const char *label);
/* Simulations the job has evaluated (every generation and the best re-runs). */
uint64_t cli_opt_job_simulations(const cli_opt_job *job);
/* Run k's best re-run, or NULL when it was not kept (or not reached). */
const cli_opt_best *cli_opt_job_best(const cli_opt_job *job, size_t k);
/* The KS distance D of run k's best re-run FCD against its subject's empirical FCD: the
 * score when the fit selected -fcd_ks, else computed here the same way (NaN without
 * FCD). */
bnm_status cli_opt_job_best_fcd_ks(bnm_context *ctx, const cli_opt_job *job, size_t k,
                                   double *d);
/* Adds to outdir/runs.h5 what the driver does not write yet and `clbnm report` draws:
 * /runs/k/best_sim/{bold, fc, fc_pairs, fcd} and /subjects/ID/{sc, emp_fc, emp_fcd}
 * (interface.md 4: best_sim has the layout of a simulate file). Datasets already there
 * are kept. The file is edited as a copy and renamed over the original. */
bnm_status cli_opt_job_write_best_sim(bnm_context *ctx, const cli_opt_job *job,
                                      const char *outdir);
/* NULL is accepted. */
void cli_opt_job_destroy(cli_opt_job *job);

/* Runs `clbnm report INPUT -o OUTDIR` (cmd_report.c) as a child process and waits for
 * it; its output goes to this process's stdout and stderr. Returns its exit status
 * (CLI_EXIT_USER when it could not be run or did not exit normally). */
int cli_report_run(const char *input, const char *outdir);

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
