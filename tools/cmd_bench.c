/* clbnm bench: standard timed workloads (interface.md 5). Each workload is a synthetic
 * run (random connectome, fixed seed) executed by the same engine `clbnm simulate` uses,
 * without writing output; a short warm-up run builds the kernel first, then the median
 * of --repeats timed runs is reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clbnm/engine.h"
#include "clbnm/fit.h"
#include "clbnm/program.h"
#include "clbnm/run.h"
#include "clbnm/runtime.h"

typedef struct workload {
    const char *name;
    const char *model;
    int nodes;
    bool delays;
    const char *extra; /* run-file lines */
    const char *doc;
} workload;

static const workload workloads[] = {
    {"rww-100", "rww", 100, false, "",
     "rWW, 100 nodes, dt 0.1 ms, bw_dt 1 ms, TR 0.72 s, noise, BOLD, FC+FCD"},
    {"rww-100-delay", "rww", 100, true, "velocity: 5\n",
     "rww-100 with tract lengths and velocity 5 m/s"},
    {"kuramoto-400", "kuramoto", 400, false, "",
     "Kuramoto, 400 nodes, BOLD, FC+FCD"},
    {"rww-1000", "rww", 1000, false, "", "rWW, 1000 nodes"},
    {"score-rww-100", "rww", 100, false, "",
     "FC+FCD+KS scoring of 10,000 rww-100 BOLD series of 900 s vs simulating them"},
};
enum { N_WORKLOADS = sizeof workloads / sizeof workloads[0] };

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: clbnm bench [WORKLOAD] [--json] [options]\n"
            "\n"
            "Runs standard timed workloads and prints, per workload: simulations, nodes,\n"
            "simulated seconds, wall seconds (median of the repeats), node-steps per second,\n"
            "simulated seconds per wall second (per simulation and for the batch), peak\n"
            "device and host memory, and the device name. No WORKLOAD: rww-100.\n"
            "\n"
            "workloads:\n");
    for (int i = 0; i < N_WORKLOADS; i++)
        fprintf(out, "  %-15s %s\n", workloads[i].name, workloads[i].doc);
    fprintf(out,
            "  all             every workload above\n"
            "\n"
            "options:\n"
            "  --json              print JSON instead of text\n"
            "  --sims N            simulations (default: sized to the device)\n"
            "  --duration S        simulated seconds (default: scaled to the device)\n"
            "  --repeats R         timed runs, the median is reported (default 3)\n"
            "  --score-sims N      score-rww-100: series scored (default 10000)\n"
            "%s",
            cli_common_help);
}

/* Symmetric random weights (about 30 % density), tract lengths 10-150 mm. */
static int write_network(const char *dir, int n, bool lengths)
{
    char p[600];
    snprintf(p, sizeof p, "%s/sc.txt", dir);
    FILE *f = fopen(p, "w");
    FILE *g = NULL;
    if (!f)
        return -1;
    if (lengths) {
        snprintf(p, sizeof p, "%s/len.txt", dir);
        g = fopen(p, "w");
        if (!g) {
            fclose(f);
            return -1;
        }
    }
    double *w = malloc((size_t)n * (size_t)n * sizeof *w);
    double *l = malloc((size_t)n * (size_t)n * sizeof *l);
    if (!w || !l) {
        free(w);
        free(l);
        fclose(f);
        if (g)
            fclose(g);
        return -1;
    }
    unsigned s = 2463534242u;
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            double u = (double)(s % 100000) / 100000.0;
            double v = i == j || u > 0.3 ? 0 : u / 0.3 / (double)n * 10.0;
            w[i * n + j] = w[j * n + i] = v;
            l[i * n + j] = l[j * n + i] = i == j ? 0 : 10.0 + 140.0 * u;
        }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            fprintf(f, "%s%.6g", j ? " " : "", w[i * n + j]);
            if (g)
                fprintf(g, "%s%.6g", j ? " " : "", l[i * n + j]);
        }
        fputc('\n', f);
        if (g)
            fputc('\n', g);
    }
    free(w);
    free(l);
    fclose(f);
    if (g)
        fclose(g);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct bench_result {
    uint64_t sims;
    int nodes;
    double sim_s, wall_s, node_steps_per_s, simsec_per_wall_per_sim;
    uint64_t peak_dev;
    long peak_host_kb;
    char device[256];
    bool dbl;
    uint64_t batch;
} bench_result;

static bnm_status run_one(bnm_context *ctx, const char *dir, const workload *w, uint64_t sims,
                          double duration, const bnm_engine_options *o, bnm_engine_stats *st)
{
    char text[2048];
    /* Sims are a grid over G around the workload's G, so each simulation differs. */
    snprintf(text, sizeof text,
             "model: %s\n"
             "duration: %.9g\n"
             "tr: 0.72\n"
             "bold_remove: 0\n"
             "seed: 1\n"
             "fic: false\n"
             "subjects:\n"
             "  - id: bench\n"
             "    sc: sc.txt\n%s"
             "%s"
             "sweep:\n"
             "  grid: {G: [0.5, 2.0, %llu]}\n"
             "outputs: {bold: true, fc: true, fcd: {window: 2.88, step: 0.72}}\n",
             w->model, duration, w->delays ? "    lengths: len.txt\n" : "", w->extra,
             (unsigned long long)sims);
    bnm_run *run = NULL;
    bnm_status s = bnm_run_parse_string(ctx, text, strlen(text), w->name, dir,
                                        BNM_RUN_MODE_SIMULATE, &run);
    if (s == BNM_OK)
        s = bnm_engine_simulate(ctx, run, NULL, o, st);
    bnm_run_destroy(run);
    return s;
}

/* stats_out (may be NULL): the engine statistics of the median-time repeat. */
static bnm_status bench_workload(bnm_context *ctx, const workload *w, uint64_t sims,
                                 double duration, int repeats, const bnm_engine_options *o,
                                 bench_result *r, bnm_engine_stats *stats_out)
{
    char dir[] = "/tmp/clbnm_bench_XXXXXX";
    if (!mkdtemp(dir))
        return bnm_fail(ctx, BNM_ERR_IO, "cannot create a temporary folder for the benchmark");
    bnm_status s = BNM_OK;
    if (write_network(dir, w->nodes, w->delays) != 0) {
        s = bnm_fail(ctx, BNM_ERR_IO, "cannot write the benchmark network in %s", dir);
        goto done;
    }
    bnm_engine_stats st;
    /* warm-up: builds (or loads) the kernel, 2 simulations of 10 TRs */
    if ((s = run_one(ctx, dir, w, 2, 7.2, o, &st)) != BNM_OK)
        goto done;
    memset(r, 0, sizeof *r);
    snprintf(r->device, sizeof r->device, "%s", st.device);
    bool cpu = strstr(st.device, "pthread") || strstr(st.device, "cpu") ||
               strstr(st.device, "CPU");
    /* Fill the device: on a CPU a work-item is a vector of up to 16 simulations, and
     * each core wants several of them (128 simulations per core); a GPU its thousands. */
    if (sims == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        sims = cpu ? 128 * (uint64_t)(cores > 0 ? cores : 1) : 16384;
    }
    if (duration <= 0) /* simulated time scaled to the device: ~1 minute per repeat */
        duration = cpu ? 5.04 : 36; /* >= 3 FCD windows of 2.88 s */
    double *walls = calloc((size_t)repeats, sizeof *walls);
    if (!walls) {
        s = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto done;
    }
    bnm_engine_stats *all = calloc((size_t)repeats, sizeof *all);
    if (!all) {
        free(walls);
        s = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < repeats && s == BNM_OK; k++) {
        s = run_one(ctx, dir, w, sims, duration, o, &st);
        walls[k] = st.wall_s;
        all[k] = st;
    }
    if (s == BNM_OK) {
        qsort(walls, (size_t)repeats, sizeof *walls, cmp_double);
        double wall = walls[repeats / 2];
        for (int k = 0; k < repeats; k++)
            if (all[k].wall_s == wall && stats_out)
                *stats_out = all[k];
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        r->sims = st.n_sims;
        r->nodes = st.n_nodes;
        r->sim_s = st.simulated_s;
        r->wall_s = wall;
        r->node_steps_per_s = st.node_steps / wall;
        r->simsec_per_wall_per_sim = st.simulated_s / wall;
        r->peak_dev = st.peak_device_bytes;
        r->peak_host_kb = ru.ru_maxrss;
        r->dbl = st.dbl;
        r->batch = st.batch_size;
    }
    free(walls);
    free(all);
done:;
    char p[600];
    snprintf(p, sizeof p, "%s/sc.txt", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/len.txt", dir);
    remove(p);
    rmdir(dir);
    return s;
}

/* ---- score-rww-100 --------------------------------------------------------------------
 * Issue 5's budget: scoring (FC + FCD + KS against an empirical set, the engine/fit device
 * path with CLBlast) of 10,000 rww-100 series of 900 s must cost under 5 % of simulating
 * them on the same device. The series have the interface defaults: TR 0.72 s, so 1250
 * volumes, bold_remove 30 s (41 volumes), FCD windows 30 s, step 5 s. They are scored in
 * chunks of 128 MiB of BOLD with 256 MiB of fit scratch on the device, so memory stays
 * flat in the number of series; each chunk's BOLD is synthetic (a per-node offset plus
 * noise) and generated untimed: only bnm_fit_device_run is timed, uploads included. Both
 * times grow linearly with the number of series, so --score-sims N gives the same ratio
 * for any N (on a 2-core CPU the default 10,000 takes about 20 minutes of scoring).
 * The simulation time
 * is not measured for 10,000 x 900 s (that is the point of the budget): it is extrapolated
 * from the rww-100 workload run first in the same invocation on the same device, as
 * 10,000 x 100 nodes x 9e6 steps (900 s at dt 0.1 ms) / (rww-100's kernel node-steps per
 * second). Kernel time only (not the engine's host FC/FCD of that workload), so the
 * estimate is the smallest simulation time and the ratio the largest. */

#define SCORE_DURATION_S 900.0
#define SCORE_TR_NS INT64_C(720000000)
#define SCORE_REMOVE_NS INT64_C(30000000000)
#define SCORE_HOST_BYTES (128.0 * 1048576.0)   /* BOLD of one chunk */
#define SCORE_DEVICE_BYTES (UINT64_C(256) << 20) /* the fit's scratch per group */
#define SCORE_BUDGET 0.05

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Deterministic BOLD-like noise in [-0.5, 0.5) (xorshift64). */
static double synth_value(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (double)(*x >> 11) * 0x1p-53 - 0.5;
}

typedef struct score_result {
    bench_result sim;             /* the rww-100 run that sets the simulation rate */
    double kernel_rate;           /* rww-100 kernel node-steps per second */
    uint64_t scored;              /* series scored */
    size_t n_vol, n_rm, n_win, chunk;
    double score_s, est_sim_s, ratio;
    bool dbl;
} score_result;

static bnm_status bench_score(bnm_context *ctx, uint64_t n_score, int repeats,
                              const bnm_engine_options *o, score_result *r)
{
    memset(r, 0, sizeof *r);
    bnm_engine_stats est;
    memset(&est, 0, sizeof est);
    /* 1. the simulation rate: the rww-100 workload as `clbnm bench rww-100` runs it */
    bnm_status s = bench_workload(ctx, &workloads[0], 0, 0, repeats, o, &r->sim, &est);
    if (s != BNM_OK)
        return s;
    r->kernel_rate = est.kernel_s > 0 ? est.node_steps / est.kernel_s : r->sim.node_steps_per_s;
    r->dbl = r->sim.dbl;
    /* 2. scoring on the same device, same precision */
    bnm_cl *cl = NULL;
    bnm_program_cache *cache = NULL;
    bnm_fit_device *dev = NULL;
    bnm_fcd_windows win;
    bnm_fc_pairs pairs = {0};
    bnm_fit_emp *emp = NULL;
    const bnm_fit_emp **emps = NULL;
    void *bold = NULL;
    double *emp_bold = NULL, *scores = NULL;
    if ((s = bnm_cl_create_selected(ctx, o->device, &cl)) != BNM_OK)
        goto done;
    bnm_cache_config cc;
    bnm_cache_config_init_defaults(&cc);
    cc.dir = o->cache_dir;
    if ((s = bnm_program_cache_create(ctx, &cc, &cache)) != BNM_OK ||
        (s = bnm_fit_device_create(ctx, cl, cache, r->dbl, &dev)) != BNM_OK ||
        (s = bnm_fcd_windows_from_ns(ctx, 30 * INT64_C(1000000000), 5 * INT64_C(1000000000),
                                     SCORE_TR_NS, true, &win)) != BNM_OK)
        goto done;
    r->n_vol = (size_t)(SCORE_DURATION_S * 1e9 / (double)SCORE_TR_NS);
    r->n_rm = (size_t)(SCORE_REMOVE_NS / SCORE_TR_NS);
    r->n_win = bnm_fcd_window_count(&win, r->n_vol, r->n_rm);
    size_t n_nodes = (size_t)workloads[0].nodes, nv = r->n_vol;
    size_t elt = r->dbl ? sizeof(double) : sizeof(float);
    r->chunk = (size_t)fmax(1.0, floor(SCORE_HOST_BYTES / ((double)nv * (double)n_nodes *
                                                           (double)elt)));
    if ((s = bnm_fc_pairs_make(ctx, n_nodes, false, NULL, &pairs)) != BNM_OK)
        goto done;
    bold = malloc(r->chunk * nv * n_nodes * elt);
    emp_bold = malloc(nv * n_nodes * sizeof *emp_bold);
    scores = malloc(r->chunk * BNM_FIT_N_TERMS * sizeof *scores);
    emps = malloc(r->chunk * sizeof *emps);
    if (!bold || !emp_bold || !scores || !emps) {
        s = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the scoring benchmark");
        goto done;
    }
    /* one synthetic empirical set (FC and FCD as analysis.md 7.2 computes them) */
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    for (size_t k = 0; k < nv * n_nodes; k++)
        emp_bold[k] = synth_value(&x);
    bnm_fit_emp_options eo;
    bnm_fit_emp_options_init_defaults(&eo);
    eo.need_fcd = true;
    if ((s = bnm_fit_emp_from_bold(ctx, emp_bold, n_nodes, 1, nv, &pairs, &win, &eo, &emp)) !=
        BNM_OK)
        goto done;
    for (size_t k = 0; k < r->chunk; k++)
        emps[k] = emp;
    bnm_fit_batch fb;
    memset(&fb, 0, sizeof fb);
    fb.n_vol = nv;
    fb.n_nodes = n_nodes;
    fb.n_rm = r->n_rm;
    fb.pairs = &pairs;
    fb.windows = &win;
    fb.bold_host = bold;
    fb.emp = emps;
    fb.max_bytes = SCORE_DEVICE_BYTES;
    for (uint64_t done_n = 0, k = 0; done_n < n_score; k++) {
        /* k = 0: a 2-series warm-up that builds the kernels (CLBlast's too), not timed */
        size_t c = k == 0 ? 2 : n_score - done_n < r->chunk ? (size_t)(n_score - done_n) : r->chunk;
        for (size_t q = 0; q < c * nv * n_nodes; q++) { /* BOLD-like: node offset + noise */
            double v = 0.02 * (double)(q % n_nodes) + synth_value(&x);
            if (r->dbl)
                ((double *)bold)[q] = v;
            else
                ((float *)bold)[q] = (float)v;
        }
        fb.n_sims = c;
        double t0 = wall_now();
        if ((s = bnm_fit_device_run(dev, &fb, NULL, NULL, NULL, scores)) != BNM_OK)
            goto done;
        if (k == 0)
            continue;
        r->score_s += wall_now() - t0;
        done_n += c;
        if (o->progress)
            fprintf(stderr, "score-rww-100: %llu / %llu series scored, %.1f s\n",
                    (unsigned long long)done_n, (unsigned long long)n_score, r->score_s);
    }
    r->scored = n_score;
    double steps = SCORE_DURATION_S * 1000.0 / 0.1; /* dt 0.1 ms */
    r->est_sim_s = (double)n_score * (double)n_nodes * steps / r->kernel_rate;
    r->ratio = r->score_s / r->est_sim_s;
done:
    bnm_fit_emp_destroy(emp);
    bnm_fc_pairs_free(&pairs);
    free(bold);
    free(emp_bold);
    free(scores);
    free(emps);
    bnm_fit_device_destroy(dev);
    bnm_program_cache_destroy(cache);
    bnm_cl_destroy(cl);
    return s;
}

static void print_score(const score_result *r, bool json, int repeats, bool last)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (json) {
        printf("  {\"workload\": \"score-rww-100\", \"simulations\": %llu, \"nodes\": %d, "
               "\"precision\": \"%s\", \"volumes\": %zu, \"removed_volumes\": %zu, "
               "\"fcd_windows\": %zu, \"chunk\": %zu, \"scoring_wall_seconds\": %.6g, "
               "\"scoring_seconds_per_simulation\": %.6g, "
               "\"simulation_node_steps_per_second\": %.6g, "
               "\"simulation_seconds_estimated\": %.6g, \"ratio\": %.6g, "
               "\"under_5_percent\": %s, \"rww_100_wall_seconds\": %.6g, "
               "\"peak_host_bytes\": %lld, \"repeats\": %d, \"device\": \"%s\"}%s\n",
               (unsigned long long)r->scored, r->sim.nodes, r->dbl ? "double" : "float",
               r->n_vol, r->n_rm, r->n_win, r->chunk, r->score_s,
               r->score_s / (double)r->scored, r->kernel_rate, r->est_sim_s, r->ratio,
               r->ratio < SCORE_BUDGET ? "true" : "false", r->sim.wall_s,
               (long long)ru.ru_maxrss * 1024, repeats, r->sim.device, last ? "" : ",");
        return;
    }
    printf("score-rww-100 (%s)\n"
           "  series scored           %llu x %d nodes, %zu volumes (TR 0.72 s, 900 s), first %zu "
           "removed, %zu FCD windows\n"
           "  scoring                 FC + FCD + KS on the device (CLBlast), chunks of %zu\n"
           "  scoring wall seconds    %.3f (%.4g per series)\n"
           "  simulation rate         %.4g node-steps/s (rww-100 kernel time, this run)\n"
           "  simulation (estimated)  %.4g s = %llu x 100 nodes x 9e6 steps / rate; not run\n"
           "  scoring / simulation    %.3g %% (budget 5 %%): %s\n"
           "  peak host memory        %.1f MiB\n"
           "  device                  %s\n",
           r->dbl ? "double" : "float", (unsigned long long)r->scored, r->sim.nodes, r->n_vol,
           r->n_rm, r->n_win, r->chunk, r->score_s, r->score_s / (double)r->scored,
           r->kernel_rate, r->est_sim_s, (unsigned long long)r->scored, 100.0 * r->ratio,
           r->ratio < SCORE_BUDGET ? "under" : "OVER", (double)ru.ru_maxrss / 1024.0,
           r->sim.device);
}

int cmd_bench(int argc, char **argv)
{
    cli_common common = {0};
    const char *which = NULL;
    bool json = false;
    uint64_t sims = 0;
    double duration = 0;
    int repeats = 3;
    uint64_t score_sims = 10000;
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
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--sims", &v)) != 0) {
            char *end;
            if (r < 0)
                return CLI_EXIT_USAGE;
            sims = strtoull(v, &end, 10);
            if (*end || sims == 0 || v[0] == '-')
                return cli_usage_error("bench", "--sims needs a positive integer, not '%s'", v);
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--duration", &v)) != 0) {
            char *end;
            if (r < 0)
                return CLI_EXIT_USAGE;
            duration = strtod(v, &end);
            if (*end || !(duration > 0))
                return cli_usage_error("bench", "--duration needs a positive number, not '%s'",
                                       v);
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--score-sims", &v)) != 0) {
            char *end;
            if (r < 0)
                return CLI_EXIT_USAGE;
            score_sims = strtoull(v, &end, 10);
            if (*end || score_sims == 0 || v[0] == '-')
                return cli_usage_error("bench", "--score-sims needs a positive integer, not "
                                       "'%s'", v);
            continue;
        }
        if ((r = cli_option_value(argc, argv, &i, "--repeats", &v)) != 0) {
            char *end;
            if (r < 0)
                return CLI_EXIT_USAGE;
            long x = strtol(v, &end, 10);
            if (*end || x < 1 || x > 100)
                return cli_usage_error("bench", "--repeats needs an integer 1..100, not '%s'",
                                       v);
            repeats = (int)x;
            continue;
        }
        if (argv[i][0] == '-')
            return cli_usage_error("bench", "unknown option '%s'", argv[i]);
        if (which)
            return cli_usage_error("bench", "one workload only");
        which = argv[i];
    }
    bool all = which && strcmp(which, "all") == 0;
    int first = 0, last = 0;
    if (!all) {
        const char *name = which ? which : "rww-100";
        first = -1;
        for (int i = 0; i < N_WORKLOADS; i++)
            if (strcmp(workloads[i].name, name) == 0)
                first = i;
        if (first < 0)
            return cli_usage_error("bench", "unknown workload '%s' (see --help)", name);
        last = first;
    } else {
        last = N_WORKLOADS - 1;
    }
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.device = common.device;
    if (common.precision)
        o.precision = strcmp(common.precision, "double") == 0 ? BNM_RUN_PRECISION_DOUBLE
                                                              : BNM_RUN_PRECISION_FLOAT;
    bnm_context *ctx = NULL;
    if (bnm_context_create(&ctx) != BNM_OK)
        return CLI_EXIT_DEVICE;
    int code = CLI_EXIT_OK;
    if (json)
        printf("[\n");
    for (int i = first; i <= last; i++) {
        if (strcmp(workloads[i].name, "score-rww-100") == 0) {
            score_result sr;
            bnm_status st = bench_score(ctx, score_sims, repeats, &o, &sr);
            if (st != BNM_OK) {
                code = cli_report(ctx, st);
                break;
            }
            print_score(&sr, json, repeats, i == last);
            fflush(stdout);
            continue;
        }
        bench_result r;
        bnm_status st = bench_workload(ctx, &workloads[i], sims, duration, repeats, &o, &r,
                                       NULL);
        if (st != BNM_OK) {
            code = cli_report(ctx, st);
            break;
        }
        if (json)
            printf("  {\"workload\": \"%s\", \"simulations\": %llu, \"nodes\": %d, "
                   "\"precision\": \"%s\", \"simulated_seconds\": %.6g, \"wall_seconds\": %.6g, "
                   "\"node_steps_per_second\": %.6g, "
                   "\"simulated_seconds_per_wall_second_per_simulation\": %.6g, "
                   "\"batch\": %llu, \"peak_device_bytes\": %llu, \"peak_host_bytes\": %lld, "
                   "\"repeats\": %d, \"device\": \"%s\"}%s\n",
                   workloads[i].name, (unsigned long long)r.sims, r.nodes,
                   r.dbl ? "double" : "float", r.sim_s, r.wall_s, r.node_steps_per_s,
                   r.simsec_per_wall_per_sim, (unsigned long long)r.batch,
                   (unsigned long long)r.peak_dev, (long long)r.peak_host_kb * 1024, repeats,
                   r.device, i < last ? "," : "");
        else
            printf("%s (%s)\n"
                   "  simulations             %llu (batches of %llu)\n"
                   "  nodes                   %d\n"
                   "  simulated seconds       %g per simulation\n"
                   "  wall seconds            %.3f (median of %d)\n"
                   "  node-steps per second   %.4g\n"
                   "  sim-s per wall-s        %.4g per simulation, %.4g for the batch\n"
                   "  peak device memory      %.1f MiB\n"
                   "  peak host memory        %.1f MiB\n"
                   "  device                  %s\n",
                   workloads[i].name, r.dbl ? "double" : "float", (unsigned long long)r.sims,
                   (unsigned long long)r.batch, r.nodes, r.sim_s, r.wall_s, repeats,
                   r.node_steps_per_s, r.simsec_per_wall_per_sim,
                   r.simsec_per_wall_per_sim * (double)r.sims, (double)r.peak_dev / 1048576.0,
                   (double)r.peak_host_kb / 1024.0, r.device);
        fflush(stdout);
    }
    if (json)
        printf("]\n");
    bnm_context_destroy(ctx);
    return code;
}
