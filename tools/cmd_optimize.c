/* clbnm optimize: every subject x seed CMA-ES run of a run file, batched together
 * (interface.md 1, 2, 4; driver in clbnm/optimize.h). Each generation of all runs is one
 * bnm_engine_simulate_list call (the engine's batching splits it to fit the device).
 * The engine is set up again for every generation (model, data, device; the kernel
 * comes from the program cache): simple, and small next to the simulations themselves
 * for realistic durations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clbnm/data.h"
#include "clbnm/engine.h"
#include "clbnm/fic.h"
#include "clbnm/fit.h"
#include "clbnm/model.h"
#include "clbnm/optimize.h"
#include "clbnm/run.h"
#include "ir.h"
#include "modellib.h"

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

/* The model's param names and aliases, and the FIC-controlled param's. */
typedef struct model_names {
    bnm_model_ir *ir;
    const char **names;
    size_t n;
    const char *fic[2];
    size_t n_fic;
} model_names;

static bnm_status load_names(bnm_context *ctx, const bnm_run *run, model_names *m)
{
    char *path = NULL;
    bnm_status st = bnm_model_find(ctx, run->model, NULL, 0, &path);
    if (st == BNM_OK)
        st = bnm_nmm_load(ctx, path, &m->ir, NULL);
    free(path);
    if (st != BNM_OK)
        return st;
    m->names = malloc((size_t)(2 * m->ir->n_params + 1) * sizeof *m->names);
    if (!m->names)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    for (int p = 0; p < m->ir->n_params; p++) {
        m->names[m->n++] = m->ir->params[p].name;
        if (m->ir->params[p].alias)
            m->names[m->n++] = m->ir->params[p].alias;
    }
    int f = bnm_fic_param_index(m->ir);
    if (f >= 0) {
        m->fic[m->n_fic++] = m->ir->params[f].name;
        if (m->ir->params[f].alias)
            m->fic[m->n_fic++] = m->ir->params[f].alias;
    }
    return BNM_OK;
}

/* Node count of every subject's SC (the engine reads them again with their checks). */
static bnm_status subject_nodes(bnm_context *ctx, const bnm_run *run, size_t *nodes)
{
    for (size_t s = 0; s < run->n_subjects; s++) {
        bnm_matrix m = {0};
        bnm_status st = bnm_matrix_read(ctx, run->subjects[s].sc, &m);
        if (st == BNM_OK)
            st = bnm_sc_prepare(ctx, run->subjects[s].sc, &m, run->subjects[s].sc_orientation);
        nodes[s] = m.rows;
        bnm_matrix_free(&m);
        if (st != BNM_OK)
            return st;
    }
    return BNM_OK;
}

typedef struct engine_user {
    const bnm_run *run;
    bnm_engine_options opts;
} engine_user;

/* One generation of every active run: simulate, then gof and cost from the scores. */
static bnm_status engine_eval(bnm_context *ctx, const bnm_opt_batch *b, void *user)
{
    engine_user *u = user;
    bnm_engine_sim_list l = {
        .n = b->n, .subject = b->subject, .seed = b->seed, .n_params = b->n_params,
        .param_names = b->param_names, .param_regional = b->param_regional,
        .n_nodes = b->n_nodes, .values = b->values,
    };
    bnm_engine_list_results r = {b->scores, b->fic_penalty, b->diverged};
    bnm_status st = bnm_engine_simulate_list(ctx, u->run, &l, &u->opts, &r, NULL);
    if (st != BNM_OK)
        return st;
    for (size_t q = 0; q < b->n; q++) {
        b->gof[q] = bnm_fit_gof(b->scores + q * BNM_FIT_N_TERMS, u->run->fit.terms);
        b->cost[q] = bnm_fit_cost(b->gof[q], b->fic_penalty[q]);
    }
    return BNM_OK;
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
    bnm_run *run = NULL;
    model_names mn = {0};
    size_t *nodes = NULL;
    bnm_opt_problem *p = NULL;
    engine_user eu;
    memset(&eu, 0, sizeof eu);
    char *def_out = NULL;
    int code = CLI_EXIT_OK;
    if (bnm_context_create(&ctx) != BNM_OK)
        return CLI_EXIT_DEVICE;
    bnm_status st = bnm_run_parse_file(ctx, run_path, BNM_RUN_MODE_OPTIMIZE, &run);
    if (st == BNM_OK)
        st = load_names(ctx, run, &mn);
    if (st == BNM_OK && !(nodes = calloc(run->n_subjects + 1, sizeof *nodes)))
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    if (st == BNM_OK)
        st = subject_nodes(ctx, run, nodes);
    if (st == BNM_OK) {
        bnm_opt_problem_config pc;
        bnm_opt_problem_config_init_defaults(&pc);
        pc.run = run;
        pc.param_names = mn.names;
        pc.n_param_names = mn.n;
        pc.fic_names = mn.fic;
        pc.n_fic_names = mn.n_fic;
        pc.subject_nodes = nodes;
        st = bnm_opt_problem_create(ctx, &pc, &p);
    }
    for (size_t k = 0; st == BNM_OK && k < run->n_subjects; k++)
        if (!run->subjects[k].bold)
            st = bnm_fail(ctx, BNM_ERR_RUN, "%s:%d:%d: error: subject '%s' has no empirical "
                          "BOLD (key bold): optimize fits to it", run->path,
                          run->subjects[k].loc.line, run->subjects[k].loc.col,
                          run->subjects[k].id);
    if (st == BNM_OK) {
        eu.run = run;
        bnm_engine_options_init_defaults(&eu.opts);
        eu.opts.device = common.device;
        if (common.precision)
            eu.opts.precision = strcmp(common.precision, "double") == 0
                                    ? BNM_RUN_PRECISION_DOUBLE
                                    : BNM_RUN_PRECISION_FLOAT;
        eu.opts.progress = false;
    }
    if (st == BNM_OK && !outdir) {
        if (!(def_out = default_outdir(run_path)))
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        outdir = def_out;
    }
    if (st == BNM_OK) {
        bnm_opt_config c;
        bnm_opt_config_init_defaults(&c);
        c.outdir = outdir;
        c.resume = resume;
        c.eval = engine_eval;
        c.user = &eu;
        c.model = run->model;
        c.precision = common.precision;
        c.device = common.device;
        st = bnm_optimize(ctx, p, &c);
    }
    if (st != BNM_OK)
        code = cli_report(ctx, st);
    else if (!common.quiet)
        fprintf(stderr, "clbnm optimize: %zu runs done; wrote %s/runs.h5\n",
                bnm_opt_problem_n_runs(p), outdir);
    bnm_opt_problem_destroy(p);
    free(nodes);
    free(mn.names);
    bnm_model_ir_destroy(mn.ir);
    free(def_out);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    return code;
}
