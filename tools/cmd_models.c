/* clbnm models: every model on the model path with its parameters (interface.md 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clbnm/model.h"
#include "ir.h"
#include "modellib.h"

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: clbnm models [--dir D]...\n"
            "\n"
            "Lists the models found on the model path with their parameters, defaults and\n"
            "bounds. The model path is, in order: the built-in models/ directory,\n"
            "each directory of $CLBNM_MODEL_PATH (colon-separated), then each --dir. When\n"
            "two directories hold the same NAME.nmm, the first one wins.\n"
            "Exit status 1 when a model on the path does not load (its diagnostics are on\n"
            "stderr); the others are still listed.\n"
            "\n"
            "options:\n"
            "  --dir D             also search directory D (repeatable)\n"
            "  -h, --help          this help\n");
}

int cmd_models(int argc, char **argv)
{
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    int n_dirs = 0;
    if (!dirs)
        return CLI_EXIT_DEVICE;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            free(dirs);
            return CLI_EXIT_OK;
        }
        if ((r = cli_option_value(argc, argv, &i, "--dir", &v)) != 0) {
            if (r < 0) {
                free(dirs);
                return CLI_EXIT_USAGE;
            }
            dirs[n_dirs++] = v;
            continue;
        }
        free(dirs);
        return cli_usage_error("models", "unexpected argument '%s'", argv[i]);
    }

    bnm_context *ctx = NULL;
    bnm_model_entry *models = NULL;
    int n_models = 0, code = CLI_EXIT_OK;
    if (bnm_context_create(&ctx) != BNM_OK) {
        free(dirs);
        return CLI_EXIT_DEVICE;
    }
    bnm_status st = bnm_model_list(ctx, dirs, n_dirs, &models, &n_models);
    if (st != BNM_OK) {
        code = cli_report(ctx, st);
        goto done;
    }
    if (n_models == 0) {
        char **path;
        int n_path;
        fprintf(stderr, "clbnm models: no .nmm file on the model path");
        if (bnm_model_path(ctx, dirs, n_dirs, &path, &n_path) == BNM_OK) {
            fprintf(stderr, " (");
            for (int i = 0; i < n_path; i++)
                fprintf(stderr, "%s%s", i ? ", " : "", path[i]);
            fprintf(stderr, "%s)", n_path ? "" : "no directory exists");
            bnm_model_path_free(path, n_path);
        }
        fputc('\n', stderr);
        goto done;
    }
    for (int i = 0; i < n_models; i++) {
        bnm_model_ir *ir = NULL;
        char *diag = NULL;
        bnm_context_clear(ctx);
        st = bnm_nmm_load(ctx, models[i].path, &ir, &diag);
        if (i > 0)
            putchar('\n');
        if (st != BNM_OK) {
            printf("%s  %s\n  (does not load: see 'clbnm check %s')\n", models[i].name,
                   models[i].path, models[i].name);
            fflush(stdout);
            if (diag && *diag)
                fputs(diag, stderr);
            else
                cli_report(ctx, st);
            code = CLI_EXIT_USER;
            free(diag);
            bnm_model_ir_destroy(ir);
            continue;
        }
        printf("%s  %s\n", models[i].name, models[i].path);
        if (ir->name && strcmp(ir->name, models[i].name) != 0)
            printf("  model %s\n", ir->name);
        for (int d = 0; d < ir->n_docs; d++)
            printf("  %s\n", ir->docs[d]);
        cli_print_params(stdout, ir, "    ", NULL);
        free(diag);
        bnm_model_ir_destroy(ir);
    }
done:
    bnm_model_list_free(models, n_models);
    bnm_context_destroy(ctx);
    free(dirs);
    return code;
}
