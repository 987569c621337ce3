/* clbnm optimize: every subject x seed CMA-ES run of a run file, batched together
 * (interface.md 1, 2, 4; driver in clbnm/optimize.h).
 *
 * NOT IN THE BUILD YET. The evaluation callback needs the engine entry point that
 * simulates an explicit list of (subject, seed, param values per sim and per node) and
 * returns scores per simulation (proposed below as bnm_engine_sets_*, to live in
 * engine/batch/sets.c). The engine was not released when this was written, so that entry
 * point does not exist; everything else here is final. To enable: implement the three
 * bnm_engine_sets_* functions, move their prototypes to a public header, add
 * 'cmd_optimize.c' to tools/meson.build, `int cmd_optimize(int, char **);` to cli.h and
 * {"optimize", "...", cmd_optimize} to the table in clbnm.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clbnm/data.h"
#include "clbnm/engine.h"
#include "clbnm/fic.h"
#include "clbnm/model.h"
#include "clbnm/optimize.h"
#include "clbnm/run.h"
#include "ir.h"
#include "modellib.h"

/* ---- Proposed engine entry point (engine/batch/sets.c) ------------------------------ */
typedef struct bnm_engine_sets bnm_engine_sets;
/* Prepares the engine for run (model, subjects, device, kernel with the given params
 * settable per simulation, the regional ones per node). The caller owns *out. */
bnm_status bnm_engine_sets_create(bnm_context *ctx, const bnm_run *run,
                                  const bnm_engine_options *opts,
                                  const char *const *param_names, const bool *param_regional,
                                  size_t n_params, bnm_engine_sets **out);
/* Simulates the batch's particles (batch->subject, batch->seed, batch->values) and fills
 * batch->cost, gof, scores, fic_penalty, diverged. */
bnm_status bnm_engine_sets_eval(bnm_context *ctx, bnm_engine_sets *e, const bnm_opt_batch *batch);
void bnm_engine_sets_destroy(bnm_engine_sets *e);
/* ------------------------------------------------------------------------------------ */

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

static bnm_status engine_eval(bnm_context *ctx, const bnm_opt_batch *batch, void *user)
{
    return bnm_engine_sets_eval(ctx, user, batch);
}

int cmd_optimize(int argc, char **argv);
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
    bnm_engine_sets *eng = NULL;
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
    if (st == BNM_OK) {
        bnm_engine_options o;
        bnm_engine_options_init_defaults(&o);
        o.device = common.device;
        if (common.precision)
            o.precision = strcmp(common.precision, "double") == 0 ? BNM_RUN_PRECISION_DOUBLE
                                                                  : BNM_RUN_PRECISION_FLOAT;
        size_t np = bnm_opt_problem_n_params(p);
        const char **names = calloc(np + 1, sizeof *names);
        bool *regional = calloc(np + 1, sizeof *regional);
        if (!names || !regional)
            st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        for (size_t j = 0; j < np && st == BNM_OK; j++) {
            names[j] = bnm_opt_problem_param_name(p, j);
            regional[j] = bnm_opt_problem_param_regional(p, j);
        }
        if (st == BNM_OK)
            st = bnm_engine_sets_create(ctx, run, &o, names, regional, np, &eng);
        free(names);
        free(regional);
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
        c.user = eng;
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
    bnm_engine_sets_destroy(eng);
    bnm_opt_problem_destroy(p);
    free(nodes);
    free(mn.names);
    bnm_model_ir_destroy(mn.ir);
    free(def_out);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    return code;
}
