/* fic_table: the FIC acceptance run of issue 5, end to end through `clbnm simulate`'s
 * engine (bnm_engine_simulate), its output file read back with HDF5.
 *
 * A 100-node distance-rule connectome (the rule and seed of tests/fic's test network), rWW
 * at G = 0.3, 0.5, 1, 2, 3, double precision, noise on (sigma 0.01), dt 0.1 ms:
 *   1. analytic FIC only: per simulation fic/failed, and r_E time-averaged over 60 s after
 *      a 10 s transient (bold_remove 10 s, duration 70 s), min and max over nodes; the
 *      criterion "every node within 3 +- 1 Hz wherever FIC reports success" is checked;
 *   2. analytic FIC then the iterative adjustment (fic.max_trials, default 10, the
 *      model's keys): fic/failed, fic/trials, the wIE range, and, from the engine's own
 *      state averages of the final run (independent of the driver's host sums), the
 *      window means of the iterative measure, which must lie within its tolerance
 *      wherever FIC reports success ("into tolerance within max_trials").
 * Exit status 0 when both criteria hold.
 * Recorded (2026-11-21, PoCL on 2 shared cores): step 2 with the 70 s run instead gave
 * r_E over 60 s of 3.23..5.05 Hz at G = 1 after 3 trials: the iterative tolerance
 * (+-0.005 nA of I_E over 9 s) does not promise 3 +- 1 Hz of r_E over a longer run.
 *
 * usage: fic_table [--max-trials K] [--duration S] [--skip-iterative] [--device SEL]
 * Not installed: a developer's measuring tool (like cmaes_table). */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clbnm/engine.h"
#include "clbnm/run.h"

/* the G = 0.5, 1, 2, 3, and 0.3, where the analytic method holds */
enum { N = 100, S = 5 };
static const double Gs[S] = {0.3, 0.5, 1.0, 2.0, 3.0};

static double urand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * UINT64_C(2685821657736338717)) >> 11) * 0x1.0p-53;
}

/* tests/fic/test_fic.c make_connectome: N points in two 4 x 6 x 5 boxes 1 apart,
 * W = exp(-d/2), interhemispheric x 0.2, symmetric, zero diagonal, mean 0.01. */
static void make_connectome(uint64_t seed, double *W)
{
    double p[3 * N];
    for (int i = 0; i < N; i++) {
        double side = i < N / 2 ? -1.0 : 1.0;
        p[3 * i] = side * (0.5 + 4.0 * urand(&seed));
        p[3 * i + 1] = 6.0 * urand(&seed);
        p[3 * i + 2] = 5.0 * urand(&seed);
    }
    double sum = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double w = 0.0;
            if (j < i) {
                w = W[j * N + i];
            } else if (j > i) {
                double dx = p[3 * i] - p[3 * j], dy = p[3 * i + 1] - p[3 * j + 1],
                       dz = p[3 * i + 2] - p[3 * j + 2];
                w = exp(-sqrt(dx * dx + dy * dy + dz * dz) / 2.0);
                if ((i < N / 2) != (j < N / 2))
                    w *= 0.2;
            }
            W[i * N + j] = w;
            sum += w;
        }
    double scale = 1.0 / (100.0 * sum / ((double)N * N));
    for (int q = 0; q < N * N; q++)
        W[q] *= scale;
}

static int read_ds(hid_t f, const char *name, hid_t type, void *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    herr_t r = H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    H5Dclose(d);
    return r < 0 ? -1 : 0;
}

typedef struct result {
    uint8_t failed[S];
    int32_t trials[S];
    double wie[S * N], re[S * N], ie[S * N];
} result;

/* window: false: r_E over (10 s, duration]; true: the iterative window, r_E and I_E
 * sampled every 1 ms over (1 s, 10 s] (the window [1000, 10000] ms of models.md 1.7 but
 * its first sample: 1/9001 of the mean). */
static int run_case(const char *dir, const char *device, double duration, int max_trials,
                    bool window, result *r)
{
    char text[2048], out[600];
    snprintf(text, sizeof text,
             "model: rww\n"
             "duration: %g\n"
             "dt: 0.1\n"
             "bw_dt: 1.0\n"
             "tr: 0.72\n"
             "bold_remove: %s\n"
             "states_sampling: %s\n"
             "precision: double\n"
             "seed: 7\n"
             "subjects:\n"
             "  - id: net\n"
             "    sc: sc.txt\n"
             "sweep:\n"
             "  table: g.csv\n"
             "fic: {enabled: true, max_trials: %d, penalty_scale: 0.5}\n"
             "outputs: {bold: false, fc: false, fcd: false, states_mean: [r_E, I_E]}\n",
             window ? 10.0 : duration, window ? "1" : "10", window ? "0.001" : "0.72",
             max_trials);
    snprintf(out, sizeof out, "%s/out_%d.h5", dir, max_trials);
    bnm_context *ctx = NULL;
    bnm_run *run = NULL;
    if (bnm_context_create(&ctx) != BNM_OK)
        return -1;
    bnm_engine_options o;
    bnm_engine_options_init_defaults(&o);
    o.device = device;
    bnm_engine_stats st;
    memset(&st, 0, sizeof st);
    bnm_status s = bnm_run_parse_string(ctx, text, strlen(text), "fic_table.yaml", dir,
                                        BNM_RUN_MODE_SIMULATE, &run);
    if (s == BNM_OK)
        s = bnm_engine_simulate(ctx, run, out, &o, &st);
    if (s != BNM_OK) {
        fprintf(stderr, "fic_table: %s\n", bnm_context_message(ctx));
        bnm_run_destroy(run);
        bnm_context_destroy(ctx);
        return -1;
    }
    fprintf(stderr, "fic_table: max_trials %d: %d simulations in %.1f s (%s)\n", max_trials, S,
            st.wall_s, st.device);
    bnm_run_destroy(run);
    bnm_context_destroy(ctx);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    int rc = f < 0 || read_ds(f, "fic/failed", H5T_NATIVE_UINT8, r->failed) ||
                     read_ds(f, "fic/trials", H5T_NATIVE_INT32, r->trials) ||
                     read_ds(f, "params/wIE", H5T_NATIVE_DOUBLE, r->wie) ||
                     read_ds(f, "states_mean/r_E", H5T_NATIVE_DOUBLE, r->re) ||
                     read_ds(f, "states_mean/I_E", H5T_NATIVE_DOUBLE, r->ie)
                 ? -1
                 : 0;
    if (f >= 0)
        H5Fclose(f);
    remove(out);
    return rc;
}

/* Prints the table; returns the number of successful simulations outside 3 +- 1 Hz. */
static int print_table(const char *title, const result *r)
{
    int bad = 0;
    printf("%s\n  %-5s %-8s %-6s %-17s %-17s %s\n", title, "G", "FIC", "trials",
           "wIE min..max", "r_E min..max Hz", "every node in 3+-1 Hz");
    for (int s = 0; s < S; s++) {
        double wl = INFINITY, wh = -INFINITY, rl = INFINITY, rh = -INFINITY;
        bool in = true;
        for (int i = 0; i < N; i++) {
            wl = fmin(wl, r->wie[s * N + i]);
            wh = fmax(wh, r->wie[s * N + i]);
            rl = fmin(rl, r->re[s * N + i]);
            rh = fmax(rh, r->re[s * N + i]);
            in = in && fabs(r->re[s * N + i] - 3.0) <= 1.0;
        }
        if (!r->failed[s] && !in)
            bad++;
        printf("  %-5.1f %-8s %-6d %6.3f..%-9.3f %6.2f..%-9.2f %s\n", Gs[s],
               r->failed[s] ? "failed" : "success", (int)r->trials[s], wl, wh, rl, rh,
               in ? "yes" : (r->failed[s] ? "no (flagged)" : "NO: criterion broken"));
    }
    fflush(stdout);
    return bad;
}

/* The iterative table: where FIC reports success, every node's window mean of the
 * iterative measure I_E - b_E/a_E must lie in -0.026 +- 0.005 nA (models.md 1.7 step 2).
 * Returns the number of successful simulations outside. */
static int print_window(const char *title, const result *r)
{
    int bad = 0;
    const double b_over_a = 125.0 / 310.0;
    printf("%s\n  %-5s %-8s %-6s %-17s %-21s %-15s %s\n", title, "G", "FIC", "trials",
           "wIE min..max", "e = I_E-b/a+0.026 nA", "r_E min..max Hz", "every node |e| <= 0.005");
    for (int s = 0; s < S; s++) {
        double wl = INFINITY, wh = -INFINITY, el = INFINITY, eh = -INFINITY, rl = INFINITY,
               rh = -INFINITY;
        bool in = true;
        for (int i = 0; i < N; i++) {
            double e = r->ie[s * N + i] - b_over_a + 0.026;
            wl = fmin(wl, r->wie[s * N + i]);
            wh = fmax(wh, r->wie[s * N + i]);
            el = fmin(el, e);
            eh = fmax(eh, e);
            rl = fmin(rl, r->re[s * N + i]);
            rh = fmax(rh, r->re[s * N + i]);
            in = in && fabs(e) <= 0.005;
        }
        if (!r->failed[s] && !in)
            bad++;
        printf("  %-5.1f %-8s %-6d %6.3f..%-9.3f %+8.4f..%+-10.4f %6.2f..%-7.2f %s\n", Gs[s],
               r->failed[s] ? "failed" : "success", (int)r->trials[s], wl, wh, el, eh, rl, rh,
               in ? "yes" : (r->failed[s] ? "no (flagged)" : "NO: criterion broken"));
    }
    fflush(stdout);
    return bad;
}

int main(int argc, char **argv)
{
    int max_trials = 10;
    double duration = 70;
    bool iterative = true;
    const char *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-trials") == 0 && i + 1 < argc)
            max_trials = atoi(argv[++i]);
        else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc)
            duration = atof(argv[++i]);
        else if (strcmp(argv[i], "--skip-iterative") == 0)
            iterative = false;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else {
            fprintf(stderr, "usage: fic_table [--max-trials K] [--duration S] "
                            "[--skip-iterative] [--device SEL]\n");
            return 2;
        }
    }
    if (max_trials < 1 || !(duration > 10)) {
        fprintf(stderr, "fic_table: --max-trials must be >= 1 and --duration > 10 s\n");
        return 2;
    }
    char dir[] = "/tmp/clbnm_fic_table_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("fic_table: mkdtemp");
        return 1;
    }
    char p[600];
    static double W[N * N];
    make_connectome(2026, W);
    snprintf(p, sizeof p, "%s/sc.txt", dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            fprintf(f, "%.17g%c", W[i * N + j], j + 1 < N ? ' ' : '\n');
    fclose(f);
    snprintf(p, sizeof p, "%s/g.csv", dir);
    f = fopen(p, "w");
    if (!f)
        return 1;
    fprintf(f, "G\n");
    for (int s = 0; s < S; s++)
        fprintf(f, "%g\n", Gs[s]);
    fclose(f);

    printf("FIC on a 100-node distance-rule connectome, rWW, noise sigma 0.01, dt 0.1 ms, "
           "double; r_E averaged over %g s after a 10 s transient\n", duration - 10);
    int bad = 0;
    static result r;
    if (run_case(dir, device, duration, 0, false, &r) != 0)
        bad = -1;
    else
        bad += print_table("analytic (steady-state) FIC:", &r);
    if (bad >= 0 && iterative) {
        char title[120];
        static result r0;
        /* before: the analytic wIE over the same window (its flags judge a 9 s average
         * here; informational, the criterion is the one above) */
        if (run_case(dir, device, duration, 0, true, &r0) != 0)
            bad = -1;
        else
            print_window("analytic FIC alone (before the trials), means over the window 1-10 s:",
                         &r0);
        snprintf(title, sizeof title,
                 "analytic then iterative FIC (max_trials %d), means over the window 1-10 s:",
                 max_trials);
        if (bad < 0 || run_case(dir, device, duration, max_trials, true, &r) != 0)
            bad = -1;
        else
            bad += print_window(title, &r);
    }
    snprintf(p, sizeof p, "%s/sc.txt", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/g.csv", dir);
    remove(p);
    rmdir(dir);
    if (bad < 0)
        return 1;
    printf("criterion %s\n", bad ? "BROKEN" : "holds");
    return bad ? 1 : 0;
}
