/* clbnm check: parse and check one model, print its summary or its diagnostics
 * (interface.md 1, nmm-format.md 13). */
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
            "usage: clbnm check MODEL [--emit-cl [--lanes L]] [--per-sim P,..] [--per-node P,..]\n"
            "                   [--dir D]\n"
            "\n"
            "Parses and checks a model file (a path, or a model name looked up on the model\n"
            "path as 'clbnm models' lists it). Prints a summary: states, params with their\n"
            "levels, lets, couplings, the transmitted set and the integrator. A model with\n"
            "errors prints its diagnostics on stderr and exits with status 1.\n"
            "\n"
            "options:\n"
            "  --per-sim P,..      params given one value per simulation (default: fixed)\n"
            "  --per-node P,..     regional params given one value per node\n"
            "  --lanes L           with --emit-cl: simulations per work-item (1, 2, 4, 8, 16;\n"
            "                      default 1, the GPU layout; CPUs get their vector width)\n"
            "  --emit-cl           print the generated OpenCL C instead of the summary;\n"
            "                      required params not listed become per-sim\n"
            "  --precision P       float (default) or double, for --emit-cl\n"
            "  --dir D             also search directory D for MODEL (repeatable)\n"
            "  -h, --help          this help\n");
}

/* Splits a comma-separated list in place, appending to names; a list without any name
 * is a usage error. */
static int split_list(char *list, const char *opt, const char **names, int *n)
{
    char *save = NULL;
    int before = *n;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok)
            names[(*n)++] = tok;
    }
    if (*n == before)
        return cli_usage_error("check", "%s needs a comma-separated list of params", opt);
    return 0;
}

static int find_param(const bnm_model_ir *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0 ||
            (m->params[i].alias && strcmp(m->params[i].alias, name) == 0))
            return i;
    return -1;
}

/* Assigns levels from the two lists; prints the first problem and returns 1. */
static int assign_levels(const bnm_model_ir *m, const char *const *names, const bool *per_node,
                         int n, int *level)
{
    for (int i = 0; i < m->n_params; i++)
        level[i] = 0;
    for (int k = 0; k < n; k++) {
        const char *opt = per_node[k] ? "--per-node" : "--per-sim";
        int p = find_param(m, names[k]);
        if (p < 0) {
            const char **cands = malloc((size_t)(2 * m->n_params + 1) * sizeof *cands);
            int nc = 0;
            for (int i = 0; cands && i < m->n_params; i++) {
                cands[nc++] = m->params[i].name;
                if (m->params[i].alias)
                    cands[nc++] = m->params[i].alias;
            }
            const char *best = cands ? bnm_suggest_name(names[k], cands, nc) : NULL;
            fprintf(stderr, "clbnm check: error: %s: model '%s' has no param '%s'", opt, m->name,
                    names[k]);
            if (best)
                fprintf(stderr, "; did you mean '%s'?\n", best);
            else {
                fprintf(stderr, "; its params are:");
                for (int i = 0; i < m->n_params; i++)
                    fprintf(stderr, " %s", m->params[i].name);
                fputc('\n', stderr);
            }
            free(cands);
            return CLI_EXIT_USER;
        }
        const bnm_ir_param *pp = &m->params[p];
        if (pp->is_const) {
            fprintf(stderr,
                    "clbnm check: error: %s %s: param '%s' is const (%s:%d) and cannot vary\n",
                    opt, names[k], pp->name, m->file_name, pp->line);
            return CLI_EXIT_USER;
        }
        if (per_node[k] && !pp->regional) {
            fprintf(stderr,
                    "clbnm check: error: --per-node %s: param '%s' is not regional (declared "
                    "at %s:%d); only params declared 'regional' may vary per node\n",
                    names[k], pp->name, m->file_name, pp->line);
            return CLI_EXIT_USER;
        }
        if (level[p]) {
            fprintf(stderr, "clbnm check: error: param '%s' is listed twice\n", pp->name);
            return CLI_EXIT_USER;
        }
        level[p] = per_node[k] ? 2 : 1;
    }
    return 0;
}

static const char *ref_name(const bnm_model_ir *m, bnm_ir_ref r)
{
    switch (r.kind) {
    case BNM_REF_STATE: return m->states[r.index].name;
    case BNM_REF_LET: return m->lets[r.index].name;
    case BNM_REF_COUPLING: return m->couplings[r.index].name;
    case BNM_REF_INPUT: return m->inputs[r.index].name;
    case BNM_REF_PARAM: return m->params[r.index].name;
    }
    return "?";
}

static void print_summary(const bnm_model_ir *m, const char *path, const int *level)
{
    static const char *const integ[] = {"euler", "heun", "rk4"};
    static const char *const tunit[] = {"s", "ms", "us"};
    static const char *const lvl[] = {"fixed", "per-sim", "per-node"};
    printf("model %s (%s): ok\n", m->name, path);
    for (int d = 0; d < m->n_docs; d++)
        printf("  %s\n", m->docs[d]);
    printf("  integrator %s, time unit %s\n", integ[m->integrator], tunit[m->time_unit]);
    printf("  states (%d):\n", m->n_states);
    for (int i = 0; i < m->n_states; i++) {
        const bnm_ir_state *s = &m->states[i];
        printf("    %s", s->name);
        if (s->unit)
            printf(" [%s]", s->unit);
        if (s->init_kind == BNM_INIT_UNIFORM)
            printf(", init uniform");
        else if (s->init_kind == BNM_INIT_NORMAL)
            printf(", init normal");
        if (s->bound != BNM_BOUND_NONE) {
            printf(", %s", s->bound == BNM_BOUND_CLAMP ? "clamp" : "wrap");
            if (s->lo && s->hi && s->lo->op == BNM_IR_NUM && s->hi->op == BNM_IR_NUM)
                printf(" [%g, %g]", s->lo->value, s->hi->value);
        }
        if (s->noise)
            printf(", noise (slot %d)", s->noise_slot);
        putchar('\n');
    }
    const char **lv = malloc((size_t)(m->n_params + 1) * sizeof *lv);
    printf("  params (%d):\n", m->n_params);
    if (lv) {
        for (int i = 0; i < m->n_params; i++)
            lv[i] = lvl[level[i]];
        cli_print_params(stdout, m, "    ", lv);
        free(lv);
    }
    printf("  lets (%d):", m->n_lets);
    for (int i = 0; i < m->n_lets; i++)
        printf(" %s", m->lets[i].name);
    printf("\n  couplings (%d):", m->n_couplings);
    for (int i = 0; i < m->n_couplings; i++)
        printf(" %s", m->couplings[i].name);
    printf("\n  transmitted (%d):", m->n_transmit);
    for (int i = 0; i < m->n_transmit; i++)
        printf(" %s", ref_name(m, m->transmit[i]));
    if (m->n_inputs) {
        printf("\n  inputs (%d):", m->n_inputs);
        for (int i = 0; i < m->n_inputs; i++)
            printf(" %s", m->inputs[i].name);
    }
    printf("\n  outputs (%d):", m->n_outputs);
    for (int i = 0; i < m->n_outputs; i++)
        printf(" %s", ref_name(m, m->outputs[i]));
    printf("\n  bold: %s\n", m->has_bold ? ref_name(m, m->bold) : "none");
    if (m->fic)
        printf("  fic: controls %s (default method %s)\n", m->params[m->fic->param].name,
               m->fic->method == BNM_FIC_STEADY_STATE ? "steady_state" : "iterative");
}

int cmd_check(int argc, char **argv)
{
    cli_common common = {0};
    const char *model = NULL;
    bool emit = false;
    int lanes = 1;
    int n_names = 0, n_dirs = 0, n_lists = 0, code = CLI_EXIT_OK;
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    char **lists = calloc((size_t)argc, sizeof *lists); /* copies, split in place */
    bool *list_node = calloc((size_t)argc, sizeof *list_node);
    const char **names = NULL;
    bool *per_node = NULL;
    bnm_context *ctx = NULL;
    bnm_model_ir *ir = NULL;
    char *path = NULL, *diag = NULL;
    int *level = NULL;
    if (!dirs || !lists || !list_node) {
        code = CLI_EXIT_DEVICE;
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            goto done;
        }
        if (strcmp(argv[i], "--emit-cl") == 0) {
            emit = true;
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--lanes", &v)) != 0) {
            char *end = NULL;
            long n = r > 0 ? strtol(v, &end, 10) : 0;
            if (r < 0 || *end != '\0' || (n != 1 && n != 2 && n != 4 && n != 8 && n != 16)) {
                code = r < 0 ? CLI_EXIT_USAGE
                             : cli_usage_error("check", "--lanes takes 1, 2, 4, 8 or 16, not '%s'", v);
                goto done;
            }
            lanes = (int)n;
            continue;
        }
        bool node = false;
        if ((r = cli_option_value(argc, argv, &i, "--per-sim", &v)) != 0 ||
            (node = true, r = cli_option_value(argc, argv, &i, "--per-node", &v)) != 0) {
            if (r < 0) {
                code = CLI_EXIT_USAGE;
                goto done;
            }
            if (!(lists[n_lists] = strdup(v))) {
                code = CLI_EXIT_DEVICE;
                goto done;
            }
            list_node[n_lists++] = node;
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--dir", &v)) != 0) {
            if (r < 0) {
                code = CLI_EXIT_USAGE;
                goto done;
            }
            dirs[n_dirs++] = v;
            continue;
        }
        r = cli_parse_common(argc, argv, &i, &common);
        if (r < 0) {
            code = CLI_EXIT_USAGE;
            goto done;
        }
        if (r > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            code = cli_usage_error("check", "unknown option '%s'", argv[i]);
            goto done;
        }
        if (model) {
            code = cli_usage_error("check", "one model at a time ('%s' and '%s')", model,
                                   argv[i]);
            goto done;
        }
        model = argv[i];
    }
    if (!model) {
        code = cli_usage_error("check", "which model? (a .nmm path or a model name)");
        goto done;
    }
    /* A list of n items has n-1 commas. */
    size_t cap = 1;
    for (int l = 0; l < n_lists; l++)
        for (const char *c = lists[l]; *c; c++)
            cap += *c == ',';
    cap += (size_t)n_lists;
    names = calloc(cap, sizeof *names);
    per_node = calloc(cap, sizeof *per_node);
    if (!names || !per_node) {
        code = CLI_EXIT_DEVICE;
        goto done;
    }
    for (int l = 0; l < n_lists; l++) {
        int before = n_names;
        if ((code = split_list(lists[l], list_node[l] ? "--per-node" : "--per-sim", names,
                               &n_names)))
            goto done;
        for (int k = before; k < n_names; k++)
            per_node[k] = list_node[l];
    }

    if (bnm_context_create(&ctx) != BNM_OK) {
        code = CLI_EXIT_DEVICE;
        goto done;
    }
    bnm_status st = bnm_model_find(ctx, model, dirs, n_dirs, &path);
    if (st == BNM_OK)
        st = bnm_nmm_load(ctx, path, &ir, &diag);
    if (diag && *diag)
        fputs(diag, stderr); /* errors, or warnings of a model that loaded */
    if (st != BNM_OK) {
        if (!diag || !*diag)
            cli_report(ctx, st);
        code = bnm_status_exit_code(st);
        goto done;
    }
    level = calloc((size_t)ir->n_params + 1, sizeof *level);
    if (!level) {
        code = CLI_EXIT_DEVICE;
        goto done;
    }
    if ((code = assign_levels(ir, names, per_node, n_names, level)))
        goto done;
    if (emit) {
        code = cli_emit_cl(ctx, ir, level, &common, lanes);
        goto done;
    }
    print_summary(ir, path, level);
done:
    for (int i = 0; i < n_lists; i++)
        free(lists[i]);
    free(lists);
    free(list_node);
    free(names);
    free(per_node);
    free(dirs);
    free(level);
    free(path);
    free(diag);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
    return code;
}
