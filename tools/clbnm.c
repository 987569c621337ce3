/* clbnm: one program, git-style subcommands (interface.md section 1). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"devices", "list every OpenCL platform and device", cmd_devices},
    {"selftest", "build and run a small kernel on a device and verify its results",
     cmd_selftest},
    {"models", "list the models on the model path with their parameters", cmd_models},
    {"check", "parse and check a model file; print its summary or diagnostics", cmd_check},
    {"simulate", "run the batch of simulations a run file describes; write one HDF5 file",
     cmd_simulate},
    {"optimize", "fit every subject x seed of a run file with batched CMA-ES", cmd_optimize},
    {"bench", "run standard timed workloads and print throughput", cmd_bench},
    {"report", "draw the standard figures (PNG) of a simulate file or optimize folder",
     cmd_report},
    {"demo", "make a synthetic data set, fit it, draw it, print true vs recovered values",
     cmd_demo},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: clbnm [--version] [--help] COMMAND [ARGS]\n"
            "\n"
            "clBNM: batched brain network models on any OpenCL device.\n"
            "\n"
            "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s  %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "'clbnm COMMAND --help' describes one command. Exit codes: 0 success, 1 bad input,\n"
            "2 usage error, 3 device or OpenCL failure. Environment: CLBNM_DEVICE (default\n"
            "device), CLBNM_LOG (log level), CLBNM_CACHE_DIR (kernel cache), CLBNM_MODEL_PATH\n"
            "(colon-separated model directories searched after the built-in models).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("clbnm %s\n", bnm_version());
        return CLI_EXIT_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "clbnm: error: '%s' is not a clbnm command; commands:", cmd);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, " (see 'clbnm --help')\n");
    return CLI_EXIT_USAGE;
}
