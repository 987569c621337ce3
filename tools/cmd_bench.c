/* clbnm bench: standard timed workloads (interface.md 5). Each workload is a synthetic
 * run (random connectome, fixed seed) executed by the same engine `clbnm simulate` uses,
 * without writing output; a short warm-up run builds the kernel first, then the median
 * of --repeats timed runs is reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "clbnm/engine.h"
#include "clbnm/run.h"

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

static bnm_status bench_workload(bnm_context *ctx, const workload *w, uint64_t sims,
                                 double duration, int repeats, const bnm_engine_options *o,
                                 bench_result *r)
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
    if (sims == 0) /* fill the device: a few work-groups per CPU core, a GPU's thousands */
        sims = cpu ? 32 : 16384;
    if (duration <= 0) /* simulated time scaled to the device: ~1 minute per repeat */
        duration = cpu ? 5.04 : 36; /* >= 3 FCD windows of 2.88 s */
    double *walls = calloc((size_t)repeats, sizeof *walls);
    if (!walls) {
        s = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < repeats && s == BNM_OK; k++) {
        s = run_one(ctx, dir, w, sims, duration, o, &st);
        walls[k] = st.wall_s;
    }
    if (s == BNM_OK) {
        qsort(walls, (size_t)repeats, sizeof *walls, cmp_double);
        double wall = walls[repeats / 2];
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
done:;
    char p[600];
    snprintf(p, sizeof p, "%s/sc.txt", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/len.txt", dir);
    remove(p);
    rmdir(dir);
    return s;
}

int cmd_bench(int argc, char **argv)
{
    cli_common common = {0};
    const char *which = NULL;
    bool json = false;
    uint64_t sims = 0;
    double duration = 0;
    int repeats = 3;
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
        bench_result r;
        bnm_status st = bench_workload(ctx, &workloads[i], sims, duration, repeats, &o, &r);
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
