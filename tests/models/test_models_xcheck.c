/* Cross-check of the three implementations of every shipped model: the generated OpenCL
 * kernel (on PoCL), the host interpreter (engine/interp) and the hand-written reference
 * (reference.h), on networks with an asymmetric SC, noise off.
 *
 * Double precision: all three agree to 1e-9 relative after 10,000 steps. Why that bound:
 * each step rounds at ~1e-16 relative; even if every rounding error added up in the same
 * direction, 1e4 steps give ~1e-12, and the chosen regimes never amplify errors
 * exponentially (rww, rwwex, wilson_cowan, hopf and mpr contract to a fixed point;
 * kuramoto with identical-ish frequencies phase-locks, which contracts phase
 * differences; jansen_rit is on a stable limit cycle, where a phase error grows at most
 * linearly). The remaining factor 1000 absorbs libm differences (PoCL's exp, expm1, sin
 * against glibc, a few ulp each) and the different summation orders of equal-valued
 * expressions. An indexing or orientation bug, a wrong constant or a stage mix-up moves
 * the results by 1e-4 or more.
 *
 * Each run is compared at step 100 (inside the transient, where integrator stages show)
 * and at step 10,000, after a second launch that continues the first.
 *
 * Float: the kernel in single precision against the double reference, to a per-model
 * tolerance justified in float_tol below.
 *
 * Noise on (double): the reference is given the engine RNG's draws (engine/rng), and
 * the same 1e-9 applies (noise_on_agrees). */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clbnm/context.h"
#include "clbnm/interp.h"
#include "clbnm/model.h"
#include "clbnm/model_kernel.h"
#include "clbnm/program.h"
#include "clbnm/runtime.h"
#include "ir.h"
#include "reference.h"
#include "rng.h"
#include "test_models.h"

#define PI 3.14159265358979323846
#define N_STEPS 10000
/* Noise-on runs: seed of the one simulation (noise id 0), and the amplitude given to
 * noisy states whose default amplitude is 0 (mpr), so that every noise term acts. */
#define NOISE_SEED UINT64_C(20261121)
#define NOISE_AMP_IF_ZERO 0.05

/* How each model is driven: the step, G, one regional param varied per node (so the
 * per-node data path is exercised) and where the initial states lie. */
typedef struct xcase {
    const char *model;
    double dt_model;      /* in the model's time_unit */
    double G;
    const char *node_param; /* per_node, value base*(1 + spread*sin(...)) */
    double node_spread;
    double init_base[REF_MAX_STATES], init_spread[REF_MAX_STATES];
    double float_tol;
} xcase;

/* float_tol: the float kernel against the double reference, relative to each state's
 * magnitude (eps = 6e-8, float's unit roundoff).
 *  - Models relaxing to a fixed point: float Euler/Heun stops moving once the increment
 *    dt*f(x) is below half an ulp of x, i.e. at |x - x*| ~ eps*|x|*tau/dt for a
 *    relaxation time tau. So the bound is eps*tau/dt: rww/rwwex tau_E = 100 ms at
 *    dt = 0.1 ms gives 6e-5 (tol 2e-4: the recurrent excitation lengthens the effective
 *    tau); wilson_cowan tau ~ 4 ms gives 2.4e-6 (tol 2e-5); mpr's focus relaxes in
 *    ~1/(2r) ~ 6 ms at dt = 0.01 ms, 3.6e-5 (tol 1e-4); hopf 1/|a| = 50 s at dt = 0.01 s,
 *    3e-4 (tol 3e-4).
 *  - kuramoto adds 0.31 rad to a phase of ~pi each step; rounding that sum costs up to
 *    ulp(4)/2 = 2.4e-7 rad, and the periodic phase pattern can make it systematic, so the
 *    common phase may drift by 1e4 * 2.4e-7 = 2.4e-3 rad, 4e-4 of the period (tol 1e-3).
 *  - jansen_rit is on a limit cycle, where a frequency error accumulates as a phase error:
 *    1e4 steps at ~1e-7 relative frequency error over 11 cycles gives ~1e-3 of the
 *    amplitude in the fast states (tol 1e-2).
 * Measured on PoCL (CLBNM_TEST_VERBOSE=1): 9e-6, 8e-6, 7e-5, 9e-5, 2e-6, 3e-7, 2e-6. */
static const xcase cases[] = {
    {"rww", 0.1, 1.5, "w_p", 0.05, {0.15, 0.04}, {0.05, 0.01}, 2e-4},
    {"rwwex", 0.1, 1.0, "w", 0.05, {0.1}, {0.05}, 2e-4},
    {"kuramoto", 0.1, 0.5, "omega", 0.002, {PI}, {2.5}, 1e-3},
    {"jansen_rit", 0.1, 10.0, "J", 0.03, {0.1, 10, 12, 0, 0, 0}, {0.02, 3, 3, 0.1, 0.1, 0.1},
     1e-2},
    {"wilson_cowan", 0.1, 1.0, "P_E", 0.2, {0.2, 0.1}, {0.1, 0.05}, 2e-5},
    {"hopf", 0.01, 0.5, "a", 0.4, {0.1, -0.05}, {0.1, 0.1}, 3e-4},
    {"mpr", 0.01, 0.5, "eta", 0.04, {0.3, -1.0}, {0.2, 0.5}, 1e-4},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* An asymmetric SC with a non-zero diagonal (used as given, models.md 0.2), row sums
 * near 1 so that G keeps the meaning it has with cuBNM's scaling. */
static void make_sc(int n, double *W)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            W[i * n + j] = (0.5 + 0.5 * sin(1.7 * i + 0.3 * j + 0.1 * i * j)) * 2.0 / n;
}

static double node_factor(int i)
{
    return sin(0.9 * i + 0.4);
}

typedef struct problem {
    const xcase *xc;
    const ref_model *ref;
    int n;
    bool noise;
    double *W, *ref_params, *init;
    double *z; /* noise: [N_STEPS][n][n_noisy] draws of the engine's RNG; NULL when off */
    bnm_param_setting extra[REF_MAX_STATES]; /* fixed amplitudes for zero-default noise */
    int n_extra;
} problem;

static void problem_init(problem *pb, const xcase *xc, int n, bool noise)
{
    memset(pb, 0, sizeof *pb);
    pb->xc = xc;
    pb->noise = noise;
    pb->ref = ref_model_find(xc->model);
    ck_assert_ptr_nonnull(pb->ref);
    pb->n = n;
    const ref_model *m = pb->ref;
    pb->W = malloc(sizeof(double) * (size_t)(n * n));
    pb->ref_params = malloc(sizeof(double) * (size_t)(m->n_params * n));
    pb->init = malloc(sizeof(double) * (size_t)(m->n_states * n));
    ck_assert(pb->W && pb->ref_params && pb->init);
    make_sc(n, pb->W);
    ref_params_defaults(m, n, pb->ref_params);
    int iG = ref_param_index(m, "G"), ip = ref_param_index(m, xc->node_param);
    ck_assert(iG >= 0 && ip >= 0);
    for (int i = 0; i < n; i++) {
        pb->ref_params[iG * n + i] = xc->G;
        pb->ref_params[ip * n + i] = m->params[ip].def * (1 + xc->node_spread * node_factor(i));
    }
    for (int s = 0; s < m->n_states; s++)
        for (int i = 0; i < n; i++)
            pb->init[s * n + i] = xc->init_base[s] + xc->init_spread[s] * sin(1.3 * i + 0.7 * s);
    if (!noise)
        return;
    /* The reference takes explicit draws: the same (seed, noise id 0, node, step,
     * stream of the noise slot) the kernel and the interpreter draw (nmm-format.md 10.7,
     * engine/rng). Both back ends are checked against this, so a stream, step or node
     * mix-up in either shows. */
    int nn = ref_n_noisy(m);
    pb->z = malloc(sizeof(double) * (size_t)N_STEPS * (size_t)(n * nn));
    ck_assert_ptr_nonnull(pb->z);
    for (long k = 0; k < N_STEPS; k++)
        for (int i = 0; i < n; i++)
            for (int q = 0; q < nn; q++)
                pb->z[((size_t)k * (size_t)n + (size_t)i) * (size_t)nn + (size_t)q] =
                    bnm_rng_normal(NOISE_SEED, 0, (uint32_t)i, (uint64_t)k,
                                   bnm_rng_stream_noise(q));
    for (int st = 0; st < m->n_states; st++) {
        int g = m->states[st].noise_param;
        if (g < 0 || m->params[g].def != 0)
            continue;
        int dup = 0;
        for (int e = 0; e < pb->n_extra; e++)
            dup |= strcmp(pb->extra[e].name, m->params[g].name) == 0;
        if (dup)
            continue;
        bnm_param_setting *e = &pb->extra[pb->n_extra++];
        e->name = m->params[g].name;
        e->level = BNM_PARAM_FIXED;
        e->has_value = true;
        e->value = NOISE_AMP_IF_ZERO;
        for (int i = 0; i < n; i++)
            pb->ref_params[g * n + i] = NOISE_AMP_IF_ZERO;
    }
}

static void problem_free(problem *pb)
{
    free(pb->W);
    free(pb->ref_params);
    free(pb->init);
    free(pb->z);
}

/* Largest error over the nodes, per state, relative to the state's magnitude in the
 * reference (max over nodes of |final| and |initial|); wrapped states are compared on the
 * circle, relative to their period. Returns the worst over states. */
static double state_error(const problem *pb, const double *got, const double *want,
                          int *worst_state)
{
    const ref_model *m = pb->ref;
    int n = pb->n;
    double worst = 0;
    *worst_state = 0;
    for (int s = 0; s < m->n_states; s++) {
        const ref_state *st = &m->states[s];
        double scale = 0, err = 0;
        for (int i = 0; i < n; i++) {
            double d = got[s * n + i] - want[s * n + i];
            if (st->bound == REF_BOUND_WRAP)
                d = remainder(d, st->hi - st->lo);
            if (!(fabs(d) <= err)) /* NaN counts as infinite error */
                err = isnan(d) ? INFINITY : fabs(d);
            scale = fmax(scale, fmax(fabs(want[s * n + i]), fabs(pb->init[s * n + i])));
        }
        if (st->bound == REF_BOUND_WRAP)
            scale = st->hi - st->lo;
        double rel = err / scale;
        if (!(rel <= worst)) {
            worst = rel;
            *worst_state = s;
        }
    }
    return worst;
}

/* The spec both back ends get: G per simulation, the chosen param per node, noise as
 * the problem says (with its fixed amplitudes). set holds 2 + REF_MAX_STATES entries. */
static void make_spec(const problem *pb, bnm_precision prec, int integrator,
                      bnm_param_setting *set, bnm_model_spec *spec)
{
    memset(set, 0, (2 + REF_MAX_STATES) * sizeof *set);
    set[0].name = "G";
    set[0].level = BNM_PARAM_PER_SIM;
    set[1].name = pb->xc->node_param;
    set[1].level = BNM_PARAM_PER_NODE;
    for (int e = 0; e < pb->n_extra; e++)
        set[2 + e] = pb->extra[e];
    bnm_model_spec_init_defaults(spec);
    spec->params = set;
    spec->n_params = 2 + pb->n_extra;
    spec->precision = prec;
    spec->integrator = integrator;
    spec->noise = pb->noise;
}

/* Fills the batch data (one simulation) from the problem, through the ABI's slots. */
static void make_data(const problem *pb, const bnm_model_abi *abi, bnm_model_data *data,
                      double *sim_params, double *node_params)
{
    const xcase *xc = pb->xc;
    int n = pb->n;
    const bnm_abi_entry *eG = bnm_model_abi_find(abi, BNM_ABI_PARAM, "G");
    const bnm_abi_entry *eP = bnm_model_abi_find(abi, BNM_ABI_PARAM, xc->node_param);
    ck_assert(eG && eP);
    ck_assert_int_eq(abi->n_sim_params, 1);
    ck_assert_int_eq(abi->n_node_params, 1);
    ck_assert(eG->sim_slot == 0 && eP->node_slot == 0);
    ck_assert_int_eq(abi->n_states, pb->ref->n_states);
    sim_params[0] = xc->G;
    int ip = ref_param_index(pb->ref, xc->node_param);
    for (int i = 0; i < n; i++)
        node_params[i] = pb->ref_params[ip * n + i];
    memset(data, 0, sizeof *data);
    data->n_sims = 1;
    data->n_nodes = n;
    data->dt = xc->dt_model;
    data->t0 = 0;
    data->n_connectomes = 1;
    data->weights = pb->W;
    data->sim_params = sim_params;
    data->node_params = node_params;
    data->states = pb->init;
    static const uint64_t seed = NOISE_SEED;
    data->seeds = &seed;
}

/* CLBNM_TEST_VERBOSE=1 prints every measured error (the numbers quoted in reports). */
static void report(const problem *pb, const char *what, double e, int worst)
{
    if (getenv("CLBNM_TEST_VERBOSE"))
        fprintf(stderr, "xcheck %-12s N=%-2d %-32s max rel err %.3g (%s)\n", pb->xc->model,
                pb->n, what, e, pb->ref->states[worst].name);
}

static double dt_ms(const problem *pb)
{
    return pb->xc->dt_model / pb->ref->time_per_ms;
}

static bnm_model_ir *load_model(bnm_context *ctx, const char *name)
{
    char path[4096];
    tm_model_path(name, path, sizeof path);
    bnm_model_ir *ir = NULL;
    char *diag = NULL;
    bnm_status st = bnm_nmm_load(ctx, path, &ir, &diag);
    ck_assert_msg(st == BNM_OK, "%s: %s\n%s", path, bnm_context_message(ctx), diag ? diag : "");
    free(diag);
    return ir;
}

/* Runs one case on 2 and 10 nodes through the interpreter and the kernel of each
 * precision in `precisions` (bit 0 double, bit 1 float) and compares with the reference;
 * with noise on when `noise`. */
static void run_case(const xcase *xc, int integrator, int ref_integrator, int precisions,
                     bool noise)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = load_model(ctx, xc->model);

    bnm_cl *cl = NULL;
    ck_assert_msg(bnm_cl_create_selected(ctx, NULL, &cl) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    char cache_dir[] = "/tmp/clbnm-models-cache-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(cache_dir));
    bnm_cache_config cfg;
    bnm_cache_config_init_defaults(&cfg);
    cfg.dir = getenv("CLBNM_CACHE_DIR") ? getenv("CLBNM_CACHE_DIR") : cache_dir;
    bnm_program_cache *cache = NULL;
    ck_assert_int_eq(bnm_program_cache_create(ctx, &cfg, &cache), BNM_OK);

    static const int sizes[2] = {2, 10};
    for (int prec = 0; prec < 2; prec++) {
        if (!(precisions & (1 << prec)))
            continue;
        bnm_param_setting set[2 + REF_MAX_STATES];
        bnm_model_spec spec;
        problem proto; /* the spec depends on the model only, not on N */
        problem_init(&proto, xc, 2, noise);
        make_spec(&proto, prec ? BNM_PRECISION_FLOAT : BNM_PRECISION_DOUBLE, integrator, set,
                  &spec);
        bnm_model_kernel *k = NULL;
        bnm_status st = bnm_model_kernel_create(ctx, cl, cache, ir, &spec, &k);
        ck_assert_msg(st == BNM_OK, "%s (%s): %s", xc->model, prec ? "float" : "double",
                      bnm_context_message(ctx));
        bnm_interp *ip = NULL;
        if (prec == 0)
            ck_assert_msg(bnm_interp_create(ctx, ir, &spec, &ip) == BNM_OK, "%s",
                          bnm_context_message(ctx));

        for (int sz = 0; sz < 2; sz++) {
            problem pb;
            problem_init(&pb, xc, sizes[sz], noise);
            int nn = ref_n_noisy(pb.ref);
            int n = pb.n, ns = pb.ref->n_states, worst;
            double sim_params[1], *node_params = malloc(sizeof(double) * (size_t)n);
            double *ref = malloc(sizeof(double) * (size_t)(ns * n));
            double *dev = malloc(sizeof(double) * (size_t)(ns * n));
            double *hst = malloc(sizeof(double) * (size_t)(ns * n));
            ck_assert(node_params && ref && dev && hst);

            memcpy(ref, pb.init, sizeof(double) * (size_t)(ns * n));
            bnm_model_data data;
            make_data(&pb, bnm_model_kernel_abi(k), &data, sim_params, node_params);
            ck_assert_msg(bnm_model_kernel_set_data(ctx, k, &data) == BNM_OK, "%s",
                          bnm_context_message(ctx));
            if (ip) {
                make_data(&pb, bnm_interp_abi(ip), &data, sim_params, node_params);
                ck_assert_msg(bnm_interp_set_data(ctx, ip, &data) == BNM_OK, "%s",
                              bnm_context_message(ctx));
            }
            /* Two checkpoints: step 100 is inside the transient, where every model is far
             * from its attractor and the integrator's stages all show (contracting models
             * forget stage errors by step 10^4, since Euler, Heun and RK4 share fixed
             * points); step 10^4 is the long-horizon bound. The second launch continues
             * the first (launch splitting, nmm-format.md 14.3). */
            static const long checkpoints[2] = {100, N_STEPS};
            long done = 0;
            for (int cp = 0; cp < 2; cp++) {
                long steps = checkpoints[cp] - done;
                char what[64];
                const double *z =
                    pb.z ? pb.z + (size_t)done * (size_t)(n * nn) : NULL; /* draws of step done.. */
                ck_assert_int_eq(ref_run(pb.ref, ref_integrator, n, pb.W, dt_ms(&pb), steps,
                                         pb.ref_params, ref, z), 0);
                ck_assert_msg(bnm_model_kernel_run(ctx, k, (uint64_t)done, (uint64_t)steps)
                                  == BNM_OK, "%s", bnm_context_message(ctx));
                ck_assert_int_eq(bnm_model_kernel_read_states(ctx, k, dev), BNM_OK);
                bnm_sim_status status;
                ck_assert_int_eq(bnm_model_kernel_read_status(ctx, k, &status), BNM_OK);
                ck_assert_msg(!status.nonfinite, "%s: kernel flagged non-finite", xc->model);
                done = checkpoints[cp];

                /* The run must have moved: a kernel that does nothing would otherwise
                 * match a reference that returned near its start. */
                double moved = 0;
                for (int q = 0; q < ns * n; q++)
                    moved = fmax(moved, fabs(ref[q] - pb.init[q]));
                ck_assert_msg(moved > 1e-4, "%s: the reference barely moved (%g) by step %ld",
                              xc->model, moved, done);

                if (pb.noise && cp == 1) {
                    /* The noise must matter, else this case would only repeat the quiet one. */
                    double *quiet = malloc(sizeof(double) * (size_t)(ns * n));
                    ck_assert_ptr_nonnull(quiet);
                    memcpy(quiet, pb.init, sizeof(double) * (size_t)(ns * n));
                    ck_assert_int_eq(ref_run(pb.ref, ref_integrator, n, pb.W, dt_ms(&pb),
                                             N_STEPS, pb.ref_params, quiet, NULL), 0);
                    double effect = state_error(&pb, quiet, ref, &worst);
                    report(&pb, "noise effect (ref vs quiet ref)", effect, worst);
                    ck_assert_msg(effect > 1e-6, "%s: noise changed the states by only %.3g",
                                  xc->model, effect);
                    free(quiet);
                }
                if (prec == 0) {
                    double e = state_error(&pb, dev, ref, &worst);
                    snprintf(what, sizeof what, "step %5ld double kernel vs ref", done);
                    report(&pb, what, e, worst);
                    ck_assert_msg(e <= 1e-9, "%s N=%d %s: %s rel %.3g", xc->model, n, what,
                                  pb.ref->states[worst].name, e);
                    ck_assert_msg(bnm_interp_run(ctx, ip, (uint64_t)(done - steps),
                                                 (uint64_t)steps) == BNM_OK, "%s",
                                  bnm_context_message(ctx));
                    bnm_interp_read_states(ip, hst);
                    e = state_error(&pb, hst, ref, &worst);
                    snprintf(what, sizeof what, "step %5ld interpreter vs ref", done);
                    report(&pb, what, e, worst);
                    ck_assert_msg(e <= 1e-9, "%s N=%d %s: %s rel %.3g", xc->model, n, what,
                                  pb.ref->states[worst].name, e);
                    e = state_error(&pb, dev, hst, &worst);
                    snprintf(what, sizeof what, "step %5ld kernel vs interpreter", done);
                    report(&pb, what, e, worst);
                    ck_assert_msg(e <= 1e-9, "%s N=%d %s: %s rel %.3g", xc->model, n, what,
                                  pb.ref->states[worst].name, e);
                } else {
                    double e = state_error(&pb, dev, ref, &worst);
                    snprintf(what, sizeof what, "step %5ld float kernel vs ref", done);
                    report(&pb, what, e, worst);
                    ck_assert_msg(e <= xc->float_tol, "%s N=%d %s: %s rel %.3g > %.1g",
                                  xc->model, n, what, pb.ref->states[worst].name, e,
                                  xc->float_tol);
                }
            }
            free(node_params);
            free(ref);
            free(dev);
            free(hst);
            problem_free(&pb);
        }
        bnm_interp_destroy(ip);
        bnm_model_kernel_destroy(k);
        problem_free(&proto);
    }
    bnm_program_cache_destroy(cache);
    bnm_cl_destroy(cl);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int ref_integ_of(const char *model)
{
    return ref_model_find(model)->integrator;
}

/* Every shipped model with its own integrator, double and float, N = 2 and 10. */
START_TEST(kernel_interp_reference_agree)
{
    const xcase *xc = &cases[_i];
    run_case(xc, BNM_INTEGRATOR_MODEL, ref_integ_of(xc->model), 3, false);
}
END_TEST

/* The integrators the shipped files do not use by default, overridden by the run
 * (nmm-format.md 10.3-10.4), in double. */
START_TEST(integrator_overrides_agree)
{
    static const struct { int xcase_index, integ, ref_integ; } over[] = {
        {4, BNM_INTEG_RK4, REF_RK4},   /* wilson_cowan: clamped states through every stage */
        {5, BNM_INTEG_HEUN, REF_HEUN}, /* hopf: two transmitted values, time_unit s */
        {3, BNM_INTEG_RK4, REF_RK4},   /* jansen_rit: a transmitted let */
        {0, BNM_INTEG_HEUN, REF_HEUN}, /* rww */
    };
    run_case(&cases[over[_i].xcase_index], over[_i].integ, over[_i].ref_integ, 1, false);
}
END_TEST

/* Noise on, double, each model's own integrator: the reference is fed the engine RNG's
 * draws, so kernel, interpreter and reference must still agree to 1e-9. This checks the
 * sqrt(dt) factor (in the model's time unit: hopf's is in s), which state takes which
 * stream, that Heun's two stages share z, and the step/node addressing of the draws.
 * The 1e-9 argument of the noise-off case holds: the draws are the same doubles (up to
 * libm ulps in Box-Muller), and the regimes stay contracting or locked with additive
 * noise at these amplitudes, so rounding differences are not amplified. */
START_TEST(noise_on_agrees)
{
    const xcase *xc = &cases[_i];
    run_case(xc, BNM_INTEGRATOR_MODEL, ref_integ_of(xc->model), 1, true);
}
END_TEST

void tm_add_xcheck_tests(Suite *s)
{
    TCase *tc = tcase_create("kernel_xcheck");
    tcase_set_timeout(tc, 900);
    tcase_add_loop_test(tc, kernel_interp_reference_agree, 0, N_CASES);
    tcase_add_loop_test(tc, integrator_overrides_agree, 0, 4);
    tcase_add_loop_test(tc, noise_on_agrees, 0, N_CASES);
    suite_add_tcase(s, tc);
}
