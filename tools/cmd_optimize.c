/* clbnm optimize: every subject x seed CMA-ES run of a run file, batched together
 * (interface.md 1, 2, 4; driver in clbnm/optimize.h; the job itself is in
 * cli_optimize.c, shared with `clbnm demo`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clbnm/optimize.h"

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: clbnm optimize RUN.yaml [-o OUTDIR] [--resume] [options]\n"
            "\n"
            "Runs one CMA-ES optimisation per subject x optimizer seed of the run file; all\n"
            "runs advance together, one generation of all of them per device batch, and stop\n"
            "independently. Writes OUTDIR/runs.h5 and OUTDIR/history_K.csv (default OUTDIR:\n"
            "the run file's name without .yaml) and checkpoints to OUTDIR/checkpoint.h5 after\n"
            "every generation.\n"
            "\n"
            "options:\n"
            "  -o, --output D      output folder\n"
            "  --resume            continue the job whose checkpoint is in OUTDIR\n"
            "%s",
            cli_common_help);
}

static char *default_outdir(const char *run_path)
{
    char *out = strdup(run_path);
    if (!out)
        return NULL;
    char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash))
        *dot = '\0';
    return out;
}

int cmd_optimize(int argc, char **argv)
{
    cli_common common = {0};
    const char *run_path = NULL, *outdir = NULL;
    bool resume = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_parse_common(argc, argv, &i, &common)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (strcmp(argv[i], "-o") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("optimize", "-o needs a folder name");
            outdir = argv[++i];
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--output", &v)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            outdir = v;
            continue;
        }
        if (strcmp(argv[i], "--resume") == 0) {
            resume = true;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("optimize", "unknown option '%s'", argv[i]);
        if (run_path)
            return cli_usage_error("optimize", "one run file only ('%s' and '%s')", run_path,
                                   argv[i]);
        run_path = argv[i];
    }
    if (!run_path)
        return cli_usage_error("optimize", "no run file given");

    bnm_context *ctx = NULL;
    cli_opt_job *job = NULL;
    char *def_out = NULL;
    int code = CLI_EXIT_OK;
    if (bnm_context_create(&ctx) != BNM_OK)
        return CLI_EXIT_DEVICE;
    bnm_status st = cli_opt_job_create(ctx, run_path, &common, false, &job);
    if (st == BNM_OK && !outdir) {
        if (!(def_out = default_outdir(run_path)))
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        outdir = def_out;
    }
    if (st == BNM_OK)
        st = cli_opt_job_run(ctx, job, outdir, resume, &common);
    if (st != BNM_OK)
        code = cli_report(ctx, st);
    else if (!common.quiet)
        fprintf(stderr, "clbnm optimize: %zu runs done; wrote %s/runs.h5\n",
                bnm_opt_problem_n_runs(cli_opt_job_problem(job)), outdir);
    cli_opt_job_destroy(job);
    free(def_out);
    bnm_context_destroy(ctx);
    return code;
}
