/* clbnm simulate: run the batch a run file describes and write one HDF5 file
 * (interface.md 1, 2, 4). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clbnm/engine.h"
#include "clbnm/run.h"

static volatile sig_atomic_t stop_signal;
static volatile int stop_requested;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    stop_requested = 1;
}

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: clbnm simulate RUN.yaml [-o OUT.h5] [options]\n"
            "\n"
            "Runs every simulation the run file describes (fixed values, a grid, a random or\n"
            "Sobol sample, or a table; times subjects) in batches on one OpenCL device and\n"
            "writes one HDF5 file (default: the run file's name with .h5). The file appears\n"
            "only when every simulation is written; on any error nothing is left behind.\n"
            "\n"
            "options:\n"
            "  -o, --output F      output file\n"
            "  --max-batch N       at most N simulations per batch (default: what fits)\n"
            "  --launch-bw N       BW steps per kernel launch (default: automatic)\n"
            "%s",
            cli_common_help);
}

static char *default_output(const char *run_path)
{
    size_t n = strlen(run_path);
    char *out = malloc(n + 4);
    if (!out)
        return NULL;
    memcpy(out, run_path, n + 1);
    char *dot = strrchr(out, '.');
    char *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash))
        *dot = '\0';
    strcat(out, ".h5");
    return out;
}

static int parse_count(const char *cmd, const char *opt, const char *v, uint64_t *out)
{
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || x == 0 || v[0] == '-')
        return cli_usage_error(cmd, "%s needs a positive integer, not '%s'", opt, v);
    *out = x;
    return 0;
}

int cmd_simulate(int argc, char **argv)
{
    cli_common common = {0};
    const char *run_path = NULL, *out_path = NULL;
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
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
                return cli_usage_error("simulate", "-o needs a file name");
            out_path = argv[++i];
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--output", &v)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            out_path = v;
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--max-batch", &v)) != 0) {
            if (r < 0 || parse_count("simulate", "--max-batch", v, &o.max_batch))
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--launch-bw", &v)) != 0) {
            if (r < 0 || parse_count("simulate", "--launch-bw", v, &o.max_launch_bw))
                return CLI_EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("simulate", "unknown option '%s'", argv[i]);
        if (run_path)
            return cli_usage_error("simulate", "one run file only ('%s' and '%s')", run_path,
                                   argv[i]);
        run_path = argv[i];
    }
    if (!run_path)
        return cli_usage_error("simulate", "no run file given");
    o.device = common.device;
    if (common.precision)
        o.precision = strcmp(common.precision, "double") == 0 ? BNM_RUN_PRECISION_DOUBLE
                                                              : BNM_RUN_PRECISION_FLOAT;
    o.progress = !common.quiet && !common.no_progress;

    bnm_context *ctx = NULL;
    bnm_run *run = NULL;
    char *def_out = NULL;
    int code = CLI_EXIT_OK;
    if (bnm_context_create(&ctx) != BNM_OK)
        return CLI_EXIT_DEVICE;
    bnm_status st = bnm_run_parse_file(ctx, run_path, BNM_RUN_MODE_SIMULATE, &run);
    if (st != BNM_OK) {
        code = cli_report(ctx, st);
        goto done;
    }
    if (!out_path) {
        def_out = default_output(run_path);
        if (!def_out) {
            code = CLI_EXIT_DEVICE;
            goto done;
        }
        out_path = def_out;
    }
    bnm_engine_stats stats;
    /* Ctrl-C or a TERM: stop after the current launch, removing the partial output. */
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    o.cancel = &stop_requested;
    st = bnm_engine_simulate(ctx, run, out_path, &o, &stats);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (st != BNM_OK) {
        code = cli_report(ctx, st);
        if (st == BNM_ERR_CANCELLED && stop_signal)
            code = 128 + (int)stop_signal; /* the shell's convention for a signal */
        goto done;
    }
    if (!common.quiet)
        fprintf(stderr,
                "clbnm simulate: %llu simulations (%d nodes, %g s simulated, %s) on '%s' in "
                "%.2f s (kernels %.2f s); %llu diverged; wrote %s\n",
                (unsigned long long)stats.n_sims, stats.n_nodes, stats.simulated_s,
                stats.dbl ? "double" : "float", stats.device, stats.wall_s, stats.kernel_s,
                (unsigned long long)stats.n_diverged, out_path);
done:
    free(def_out);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    return code;
}
