/* Feedback inhibition control (engine/fic): the steady-state solver against an
 * independent double-precision closed form of models.md 1.6 and the numbers printed
 * there; failure flags and fallback; a generic (non-rWW) model with a known answer; the
 * iterative adjustment rules (nmm-format.md 11.3); the FIC penalty (models.md 1.8) on
 * hand-computed cases; and, on the OpenCL device, analytic FIC on a 100-node distance-rule
 * connectome with noise on, and the iterative driver correcting a perturbed start. */
#define _GNU_SOURCE /* nftw, mkdtemp */
#include <check.h>
#include <lapacke.h>
#undef I /* <complex.h>, from lapacke.h: this file names currents I */
#include <ftw.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "clbnm/context.h"
#include "clbnm/engine.h"
#include "clbnm/run.h"
#include "clbnm/fic.h"
#include "clbnm/interp.h"
#include "clbnm/model.h"
#include "clbnm/model_kernel.h"
#include "clbnm/program.h"
#include "clbnm/runtime.h"
#include "ir.h"

static char g_cache_dir[64];

/* ---- rWW constants (models.md 1.2) and the independent reference ---- */

#define A_E 310.0
#define B_E 125.0
#define D_E 0.16
#define A_I 615.0
#define B_I 177.0
#define D_I 0.087
#define GAMMA_E (0.641 / 1000.0)
#define TAU_E 100.0
#define I0 0.382
#define W_E 1.0
#define W_I 0.7
#define W_II 1.0
#define W_P 1.4
#define I_E_SS 0.3773805650

static double H(double y, double d)
{
    return fabs(d * y) < 1e-6 ? 1.0 / d + y / 2.0 : y / (-expm1(-d * y));
}

static double phi_I(double I) { return H(A_I * I - B_I, D_I); }

/* S_E at I_E = I_E_SS from dS_E/dt = 0: (1 - S)*gamma*r = S/tau. */
static double ref_S_E_ss(void)
{
    double gr = GAMMA_E * H(A_E * I_E_SS - B_E, D_E) * TAU_E;
    return gr / (1.0 + gr);
}

/* models.md 1.6 steps 1-2: I_I by bisection on [0, 2] to the last bit (F is decreasing
 * there: d/dI of -0.01*phi_I(I) - I is negative), then S_I. */
static double ref_S_I(double J_N, double *I_I_out)
{
    double lo = 0.0, hi = 2.0, se = ref_S_E_ss();
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        double F = W_I * I0 + J_N * se - W_II * 1.0 * 0.01 * phi_I(mid) - mid;
        if (F > 0)
            lo = mid;
        else
            hi = mid;
    }
    double I = 0.5 * (lo + hi);
    if (I_I_out)
        *I_I_out = I;
    return 0.01 * phi_I(I);
}

/* models.md 1.6 step 4. */
static double ref_wIE(double J_N, double G, double s)
{
    double se = ref_S_E_ss();
    return (W_E * I0 + se * J_N * (W_P + G * s) - I_E_SS) / ref_S_I(J_N, NULL);
}

/* ---- model and batch helpers ---- */

static bnm_model_ir *load_model(bnm_context *ctx, const char *rel)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
    bnm_model_ir *ir = NULL;
    ck_assert_msg(bnm_nmm_load(ctx, path, &ir, NULL) == BNM_OK, "%s", bnm_context_message(ctx));
    return ir;
}

static bnm_model_ir *parse_model(bnm_context *ctx, const char *text)
{
    bnm_model_ir *ir = NULL;
    ck_assert_msg(bnm_nmm_parse(ctx, "t.nmm", text, strlen(text), &ir, NULL) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    return ir;
}

/* One spec for every rWW case (so the device tests share one kernel build): G and sigma
 * per simulation (sigma = 0 gives deterministic runs in the same kernel), J_N and wIE
 * per node. */
static const bnm_param_setting rww_set[] = {
    {"G", BNM_PARAM_PER_SIM, false, 0},
    {"sigma", BNM_PARAM_PER_SIM, false, 0},
    {"J_N", BNM_PARAM_PER_NODE, false, 0},
    {"wIE", BNM_PARAM_PER_NODE, false, 0},
};

static void rww_spec(bnm_model_spec *spec, bool noise)
{
    bnm_model_spec_init_defaults(spec);
    spec->params = rww_set;
    spec->n_params = 4;
    spec->noise = noise;
}

typedef struct batch {
    bnm_model_data d;
    double *sp, *np, *x, *W;
    uint64_t *seeds;
} batch;

/* S simulations of N nodes on one connectome W (copied), G[s], sigma at every sim,
 * J_N[i] at every sim, wIE = 1, initial states from the model. */
static void rww_batch_sigma(bnm_context *ctx, const bnm_model_ir *ir, const bnm_model_spec *spec,
                            int S, int N, const double *W, const double *G, double sigma,
                            const double *J_N, batch *b)
{
    bnm_model_abi *abi = NULL;
    ck_assert_int_eq(bnm_model_abi_create(ctx, ir, spec, &abi), BNM_OK);
    memset(b, 0, sizeof *b);
    size_t n = (size_t)N;
    b->W = malloc(sizeof(double) * n * n);
    b->sp = calloc((size_t)S * (size_t)abi->n_sim_params + 1, sizeof(double));
    b->np = calloc((size_t)S * (size_t)abi->n_node_params * n + 1, sizeof(double));
    b->x = calloc((size_t)S * (size_t)ir->n_states * n, sizeof(double));
    b->seeds = calloc((size_t)S, sizeof(uint64_t));
    ck_assert(b->W && b->sp && b->np && b->x && b->seeds);
    memcpy(b->W, W, sizeof(double) * n * n);
    const bnm_abi_entry *eg = bnm_model_abi_find(abi, BNM_ABI_PARAM, "G");
    const bnm_abi_entry *ej = bnm_model_abi_find(abi, BNM_ABI_PARAM, "J_N");
    const bnm_abi_entry *es = bnm_model_abi_find(abi, BNM_ABI_PARAM, "sigma");
    ck_assert(es && es->sim_slot >= 0);
    const bnm_abi_entry *ew = bnm_model_abi_find(abi, BNM_ABI_PARAM, "wIE");
    ck_assert(eg && ej && ew && eg->sim_slot >= 0 && ej->node_slot >= 0 && ew->node_slot >= 0);
    for (int s = 0; s < S; s++) {
        b->sp[(size_t)s * (size_t)abi->n_sim_params + (size_t)eg->sim_slot] = G[s];
        b->sp[(size_t)s * (size_t)abi->n_sim_params + (size_t)es->sim_slot] = sigma;
        for (size_t i = 0; i < n; i++) {
            b->np[((size_t)s * (size_t)abi->n_node_params + (size_t)ej->node_slot) * n + i] = J_N[i];
            b->np[((size_t)s * (size_t)abi->n_node_params + (size_t)ew->node_slot) * n + i] = 1.0;
        }
        b->seeds[s] = 1000 + (uint64_t)s;
    }
    b->d.n_sims = S;
    b->d.n_nodes = N;
    b->d.dt = 0.1;
    b->d.n_connectomes = 1;
    b->d.weights = b->W;
    b->d.seeds = b->seeds;
    b->d.sim_params = b->sp;
    b->d.node_params = b->np;
    ck_assert_int_eq(bnm_model_initial_states(ctx, ir, spec, &b->d, b->x), BNM_OK);
    b->d.states = b->x;
    bnm_model_abi_destroy(abi);
}

/* The default sigma (models.md 1.2). */
static void rww_batch(bnm_context *ctx, const bnm_model_ir *ir, const bnm_model_spec *spec,
                      int S, int N, const double *W, const double *G, const double *J_N,
                      batch *b)
{
    rww_batch_sigma(ctx, ir, spec, S, N, W, G, 0.01, J_N, b);
}

static void batch_free(batch *b)
{
    free(b->W);
    free(b->sp);
    free(b->np);
    free(b->x);
    free(b->seeds);
}

/* Small reproducible generator (xorshift64*), uniform in [0, 1). */
static double urand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * UINT64_C(2685821657736338717)) >> 11) * 0x1.0p-53;
}

/* A distance-rule connectome: N random points in two hemispheres (x < 0 and x > 0 boxes
 * 1 apart), W = exp(-d/lambda), interhemispheric weights scaled by 0.2 (sparser callosal
 * links), symmetric, zero diagonal, then divided by 100*mean(W) so the mean is 0.01 and
 * the mean in-strength N*0.01 (models.md 0.2.5: cuBNM's scaling, which the G bounds
 * assume). W is [target][source]. */
static void make_connectome(int N, uint64_t seed, double *W)
{
    double *p = malloc(sizeof(double) * 3 * (size_t)N);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < N; i++) {
        double side = i < N / 2 ? -1.0 : 1.0;
        p[3 * i] = side * (0.5 + 4.0 * urand(&seed));
        p[3 * i + 1] = 6.0 * urand(&seed);
        p[3 * i + 2] = 5.0 * urand(&seed);
    }
    const double lambda = 2.0;
    double sum = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double w = 0.0;
            if (j < i) {
                w = W[j * N + i];
            } else if (j > i) {
                double dx = p[3 * i] - p[3 * j], dy = p[3 * i + 1] - p[3 * j + 1],
                       dz = p[3 * i + 2] - p[3 * j + 2];
                w = exp(-sqrt(dx * dx + dy * dy + dz * dz) / lambda);
                if ((i < N / 2) != (j < N / 2))
                    w *= 0.2;
            }
            W[i * N + j] = w;
            sum += w;
        }
    double scale = 1.0 / (100.0 * sum / ((double)N * N));
    for (int q = 0; q < N * N; q++)
        W[q] *= scale;
    free(p);
}

static double strength(const double *W, int N, int i)
{
    double s = 0.0;
    for (int j = 0; j < N; j++)
        s += W[i * N + j];
    return s;
}

/* I_E at node i of a state set [2][N] (S_E, S_I), coupling from the same state. */
static double ref_I_E(const double *W, int N, const double *x, int i, double G, double J_N,
                      double wIE)
{
    double c = 0.0;
    for (int j = 0; j < N; j++)
        c += W[i * N + j] * x[j];
    return W_E * I0 + W_P * J_N * x[i] + G * J_N * c - wIE * x[N + i];
}

/* ---- steady state ---- */

/* The reference itself against the numbers printed in models.md 1.6, so that both the
 * solver and the reference are tied to the spec. Tolerances: half a unit of the last
 * printed digit. */
START_TEST(reference_matches_spec_numbers)
{
    double I_I;
    double S_I = ref_S_I(0.15, &I_I);
    /* S_E from I_E_ss is 0.16475720774: the two printed constants agree to 2.4e-10
     * (they are rounded independently), which moves wIE by < 1e-8 */
    ck_assert_double_eq_tol(ref_S_E_ss(), 0.1647572075, 5e-10);
    ck_assert_double_eq_tol(H(A_E * I_E_SS - B_E, D_E), 3.0773, 5e-5);
    ck_assert_double_eq_tol(I_I, 0.2528951, 5e-8);
    ck_assert_double_eq_tol(phi_I(I_I), 3.921845, 5e-7);
    ck_assert_double_eq_tol(S_I, 0.03921845, 5e-9);
    ck_assert_double_eq_tol(ref_wIE(0.15, 0.0, 1.0), 1.000000, 5e-7);
    ck_assert_double_eq_tol(ref_wIE(0.15, 1.0, 1.0) - ref_wIE(0.15, 0.0, 1.0), 0.630152, 5e-7);
}
END_TEST

/* Isolated node (W = 0): the solver lands on models.md's steady state. The solver stops
 * when a Newton step is < solve_tol = 1e-10; Newton converges quadratically, so the
 * remaining error is far below that; 1e-9 leaves room for the finite-difference
 * Jacobian, which changes only the convergence rate, not the root. */
START_TEST(isolated_node_steady_state)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = load_model(ctx, "models/rww.nmm");
    bnm_model_spec spec;
    rww_spec(&spec, false);
    double W = 0.0, G = 1.7, J = 0.15;
    batch b;
    rww_batch(ctx, ir, &spec, 1, 1, &W, &G, &J, &b);
    bnm_fic_config cfg;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg), BNM_OK);
    ck_assert_double_eq(cfg.target, I_E_SS);
    double p, x[2];
    bool unstable = true;
    ck_assert_msg(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &cfg, &p, &unstable, x) == BNM_OK,
                  "%s", bnm_context_message(ctx));
    ck_assert(!unstable);
    ck_assert_double_eq_tol(x[0], 0.1647572075, 1e-9);
    ck_assert_double_eq_tol(x[1], 0.03921845, 5e-9);
    ck_assert_double_eq_tol(x[1], ref_S_I(0.15, NULL), 1e-10);
    ck_assert_double_eq_tol(p, 1.000000, 1e-9);
    ck_assert_double_eq_tol(p, ref_wIE(0.15, G, 0.0), 1e-9);
    /* the measure at the solution, by the test's own formula */
    ck_assert_double_eq_tol(ref_I_E(&W, 1, x, 0, G, J, p), I_E_SS, 1e-11);
    batch_free(&b);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* A coupled network with heterogeneous J_N and two G values: per node
 * wIE_j = ref(J_N,j, G, s_j) (models.md 1.6 steps 1-4). */
START_TEST(network_matches_closed_form)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = load_model(ctx, "models/rww.nmm");
    bnm_model_spec spec;
    rww_spec(&spec, false);
    enum { N = 12 };
    double W[N * N], J[N], G[2] = {0.8, 2.5};
    make_connectome(N, 7, W);
    for (int q = 0; q < N * N; q++)
        W[q] *= 100.0 / N; /* in-strength ~1, as for 100 nodes */
    W[3 * N + 5] *= 3.0; /* asymmetric: row (target) sums must be used */
    for (int i = 0; i < N; i++)
        J[i] = 0.1 + 0.02 * i;
    batch b;
    rww_batch(ctx, ir, &spec, 2, N, W, G, J, &b);
    bnm_fic_config cfg;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg), BNM_OK);
    double p[2 * N], x[2 * 2 * N];
    bool unstable[2] = {true, true};
    ck_assert_msg(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &cfg, p, unstable, x) == BNM_OK,
                  "%s", bnm_context_message(ctx));
    for (int s = 0; s < 2; s++) {
        /* no assertion on unstable[s]: both fixed points are unstable here (flagged, see
         * fixed_point_check_matches_reference) and a flagged-unstable solution is kept */
        for (int i = 0; i < N; i++) {
            double want = ref_wIE(J[i], G[s], strength(W, N, i));
            ck_assert_msg(fabs(p[s * N + i] - want) <= 1e-9 * want, "sim %d node %d: %.12g vs %.12g",
                          s, i, p[s * N + i], want);
            ck_assert_double_eq_tol(x[s * 2 * N + i], ref_S_E_ss(), 1e-10);
            ck_assert_double_eq_tol(x[s * 2 * N + N + i], ref_S_I(J[i], NULL), 1e-10);
            ck_assert_double_eq_tol(ref_I_E(W, N, x + s * 2 * N, i, G[s], J[i], p[s * N + i]),
                                    I_E_SS, 1e-11);
        }
    }
    batch_free(&b);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* Failures are per simulation: negative wIE (G < 0) and wIE above an overridden range
 * fall back to 1 at every node while the good simulation is solved; max_iter = 1 cannot
 * show convergence. */
START_TEST(failures_fall_back)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = load_model(ctx, "models/rww.nmm");
    bnm_model_spec spec;
    rww_spec(&spec, false);
    enum { N = 10 };
    double W[N * N], J[N], G[3] = {1.0, -5.0, 3.0};
    make_connectome(N, 11, W);
    for (int q = 0; q < N * N; q++)
        W[q] *= 100.0 / N; /* in-strength ~1, as for 100 nodes */
    for (int i = 0; i < N; i++)
        J[i] = 0.15;
    batch b;
    rww_batch(ctx, ir, &spec, 3, N, W, G, J, &b);
    bnm_fic_config cfg;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg), BNM_OK);
    ck_assert_double_eq(cfg.fallback, 1.0);
    ck_assert_double_eq(cfg.range_lo, 0.0);
    /* a run override: with G = 3 and s ~ 1, wIE ~ 2.9 exceeds it; G = 1 gives ~1.6 */
    cfg.range_hi = 2.0;
    double p[3 * N];
    bool unstable[3];
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &cfg, p, unstable, NULL), BNM_OK);
    ck_assert(!unstable[0]);
    ck_assert(unstable[1]);
    ck_assert(unstable[2]);
    for (int i = 0; i < N; i++) {
        ck_assert_double_eq_tol(p[i], ref_wIE(0.15, 1.0, strength(W, N, i)), 1e-9);
        ck_assert_double_eq(p[N + i], 1.0);
        ck_assert_double_eq(p[2 * N + i], 1.0);
    }
    /* G = 3 fails only because of the override */
    ck_assert(ref_wIE(0.15, 3.0, strength(W, N, 0)) > 2.0);

    cfg.range_hi = INFINITY;
    cfg.max_iter = 1;
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &cfg, p, unstable, NULL), BNM_OK);
    ck_assert(unstable[0] && unstable[1] && unstable[2]);

    /* P must be per node */
    bnm_param_setting fixed[1] = {{"G", BNM_PARAM_PER_SIM, false, 0}};
    bnm_model_spec s2;
    bnm_model_spec_init_defaults(&s2);
    s2.params = fixed;
    s2.n_params = 1;
    bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg);
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &s2, &b.d, &cfg, p, unstable, NULL), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "per_node"));
    batch_free(&b);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* A generic linear model, not rWW: dx/dt = -x + P + G*c, measure x. The steady state
 * with x = target at every node is P_i = target*(1 - G*s_i) exactly. A target outside
 * x's clamp bounds is unstable; f depending on t is rejected. */
static const char *lin_model =
    "model lin\nparam G in [0, 10]\nparam P = 0.25 in [-10, 10] regional\n"
    "state x = uniform(0, 0.4) clamp [0, 1]\nstate y = 0.3\n"
    "coupling c = sum_j(W[i,j]*x[j])\n"
    "let drive = P + G*c\n"
    "d/dt x = -x + drive + 0.1*(y - x)\nd/dt y = (x - y)/5\n"
    "fic P {\n  effect = increasing\n  measure = x\n  target = 0.5\n  steady_state = ()\n}\n";

START_TEST(generic_model_and_failures)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = parse_model(ctx, lin_model);
    bnm_param_setting set[2] = {{"G", BNM_PARAM_PER_SIM, false, 0}, {"P", BNM_PARAM_PER_NODE, false, 0}};
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    spec.params = set;
    spec.n_params = 2;
    spec.noise = false;
    enum { N = 8 };
    double W[N * N], sp[1] = {0.7}, np[N] = {0}, x0[2 * N];
    make_connectome(N, 3, W);
    bnm_model_data d;
    memset(&d, 0, sizeof d);
    d.n_sims = 1;
    d.n_nodes = N;
    d.dt = 0.1;
    d.n_connectomes = 1;
    d.weights = W;
    d.sim_params = sp;
    d.node_params = np;
    d.states = x0;
    bnm_fic_config cfg;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg), BNM_OK);
    ck_assert(cfg.increasing);
    double p[N], x[2 * N];
    bool unstable = true;
    ck_assert_msg(bnm_fic_steady_state(ctx, ir, &spec, &d, &cfg, p, &unstable, x) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    ck_assert(!unstable);
    for (int i = 0; i < N; i++) {
        ck_assert_double_eq_tol(p[i], 0.5 * (1.0 - 0.7 * strength(W, N, i)), 1e-10);
        ck_assert_double_eq_tol(x[i], 0.5, 1e-10);
        ck_assert_double_eq_tol(x[N + i], 0.5, 1e-10);
    }
    /* x* = 2 lies outside clamp [0, 1]: unstable, P = fallback (P's default 0.25) */
    cfg.target = 2.0;
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &d, &cfg, p, &unstable, NULL), BNM_OK);
    ck_assert(unstable);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq(p[i], 0.25);
    /* P outside its range [-10, 10] (from P's `in`): target 0.5 with G = 1000 and
     * s ~ N*0.01 = 0.08 needs P = 0.5*(1 - 1000*s) ~ -40 */
    cfg.target = 0.5;
    sp[0] = 1000.0;
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &d, &cfg, p, &unstable, NULL), BNM_OK);
    ck_assert(unstable);
    bnm_model_ir_destroy(ir);

    ir = parse_model(ctx, "model tt\nparam P = 0 regional\nstate x = 0\n"
                          "coupling c = sum_j(W[i,j]*x[j])\nd/dt x = -x + P + c + 0.001*t\n"
                          "fic P {\n  effect = increasing\n  measure = x\n  target = 0.5\n"
                          "  steady_state = ()\n}\n");
    bnm_param_setting set1[1] = {{"P", BNM_PARAM_PER_NODE, false, 0}};
    spec.params = set1;
    spec.n_params = 1;
    d.sim_params = NULL;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg), BNM_OK);
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &d, &cfg, p, &unstable, NULL), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "depends on t"));
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_ITERATIVE, &cfg), BNM_ERR_RUN);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* The closed-form rWW path (fic.root_tol): at full precision it agrees with the generic
 * solver (both solve the same equations; 1e-8 relative covers the 2.4e-10 between the
 * printed S_E_ss and the one implied by I_E_ss); with cuBNM's root_tol = 1e-3 the
 * interval test stops Brent early, which models.md 1.6 puts at up to ~3e-4 relative. */
START_TEST(rww_closed_form_path)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = load_model(ctx, "models/rww.nmm");
    bnm_model_spec spec;
    rww_spec(&spec, false);
    enum { N = 12 };
    double W[N * N], J[N], G[3] = {0.8, 2.5, -50.0};
    make_connectome(N, 7, W);
    for (int q = 0; q < N * N; q++)
        W[q] *= 100.0 / N;
    for (int i = 0; i < N; i++)
        J[i] = 0.1 + 0.02 * i;
    batch b;
    rww_batch(ctx, ir, &spec, 3, N, W, G, J, &b);
    bnm_fic_config cfg;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg), BNM_OK);
    double pg[3 * N], pf[3 * N], pc[3 * N];
    bool ug[3], uf[3], uc[3];
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &cfg, pg, ug, NULL), BNM_OK);
    ck_assert_int_eq(bnm_fic_rww_analytic(ctx, ir, &spec, &b.d, 0.0, pf, uf), BNM_OK);
    ck_assert_int_eq(bnm_fic_rww_analytic(ctx, ir, &spec, &b.d, 1e-3, pc, uc), BNM_OK);
    double worst = 0.0;
    for (int s = 0; s < 3; s++) {
        ck_assert(ug[s] == uf[s] && uf[s] == uc[s]);
        ck_assert(uf[s]); /* G = 0.8, 2.5: unstable fixed points; G = -50: negative wIE */
        for (int i = 0; i < N; i++) {
            int q = s * N + i;
            if (s == 2) { /* a solver failure falls back; an unstable solution is kept */
                ck_assert_double_eq(pf[q], 1.0);
                ck_assert_double_eq(pc[q], 1.0);
                continue;
            }
            ck_assert_msg(fabs(pf[q] - pg[q]) <= 1e-8 * pg[q], "%d: %.12g vs %.12g", q, pf[q], pg[q]);
            ck_assert_double_le(fabs(pc[q] - pf[q]), 5e-4 * pf[q]);
            worst = fmax(worst, fabs(pc[q] - pf[q]) / pf[q]);
        }
    }
    fprintf(stderr, "fic: root_tol 1e-3 moves wIE by up to %.3g (relative)\n", worst);
    ck_assert_double_gt(worst, 0.0); /* the loose tolerance shows */
    bnm_model_ir_destroy(ir);
    ir = parse_model(ctx, lin_model);
    ck_assert_int_eq(bnm_fic_rww_analytic(ctx, ir, &spec, &b.d, 0.0, pf, uf), BNM_ERR_RUN);
    batch_free(&b);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- iterative adjustment rules ---- */

START_TEST(adjust_rules)
{
    bnm_fic_config c;
    memset(&c, 0, sizeof c);
    c.increasing = false; /* rWW: raising wIE lowers I_E */
    c.target = -0.026;
    c.tol = 0.005;
    c.step = 0.02;
    c.step_min = 0.001;
    c.shrink = 0.001;
    c.max_trials = 2;
    double steps[4], p[4] = {1, 1, 1, 1};
    bnm_fic_iterative_init_steps(&c, 4, steps);
    ck_assert_double_eq(steps[3], 0.02);
    int trial = 0;
    /* in band (edges included), too low, too high, NaN */
    double m[4] = {-0.0305, -0.04, -0.02, NAN};
    ck_assert_int_eq(bnm_fic_iterative_adjust(&c, 4, m, p, steps, &trial), BNM_FIC_RESTART);
    ck_assert_int_eq(trial, 1);
    ck_assert_double_eq(p[0], 1.0);
    ck_assert_double_eq(steps[0], 0.02);
    ck_assert_double_eq_tol(p[1], 0.98, 1e-15); /* measure too low: less inhibition */
    ck_assert_double_eq_tol(steps[1], 0.019, 1e-15);
    ck_assert_double_eq_tol(p[2], 1.02, 1e-15); /* too high: more, step kept */
    ck_assert_double_eq(steps[2], 0.02);
    ck_assert_double_eq_tol(p[3], 1.02, 1e-15); /* NaN: as too high */
    /* step floor */
    steps[1] = 0.0015;
    ck_assert_int_eq(bnm_fic_iterative_adjust(&c, 4, m, p, steps, &trial), BNM_FIC_RESTART);
    ck_assert_int_eq(trial, 2);
    ck_assert_double_eq_tol(p[1], 0.9785, 1e-15);
    ck_assert_double_eq(steps[1], 0.001);
    /* trial == max_trials: exhausted, nothing changes */
    double p_before = p[1];
    ck_assert_int_eq(bnm_fic_iterative_adjust(&c, 4, m, p, steps, &trial), BNM_FIC_EXHAUSTED);
    ck_assert_int_eq(trial, 2);
    ck_assert_double_eq(p[1], p_before);
    /* all in band: converged, nothing changes */
    double in[4] = {-0.026, -0.0215, -0.0305, -0.03};
    ck_assert_int_eq(bnm_fic_iterative_adjust(&c, 4, in, p, steps, &trial), BNM_FIC_CONVERGED);
    ck_assert_double_eq(p[1], p_before);
    /* increasing effect moves the other way */
    c.increasing = true;
    trial = 0;
    double q[2] = {0, 0}, st2[2] = {0.1, 0.1}, m2[2] = {-1, 1};
    ck_assert_int_eq(bnm_fic_iterative_adjust(&c, 2, m2, q, st2, &trial), BNM_FIC_RESTART);
    ck_assert_double_eq(q[0], 0.1);
    ck_assert_double_eq(q[1], -0.1);
    ck_assert_double_eq_tol(st2[0], 0.099, 1e-15);
    ck_assert_double_eq(st2[1], 0.1);
}
END_TEST

/* ---- penalty ---- */

START_TEST(penalty_values)
{
    double in_band[4] = {3.0, 2.5, 3.9, 2.0};
    ck_assert_double_eq(bnm_fic_penalty(in_band, 4, 0.5), 0.0); /* d = 1 is not > 1 */
    double m[100];
    for (int i = 0; i < 100; i++)
        m[i] = 3.0;
    m[17] = 5.5; /* models.md 1.8's example */
    double want = -0.005 * (1.0 - exp(-0.075));
    ck_assert_double_eq_tol(bnm_fic_penalty(m, 100, 0.5), want, 1e-18);
    ck_assert_double_eq_tol(bnm_fic_penalty(m, 100, 0.5), -3.61e-4, 5e-7);
    double two[4] = {1.0, 7.0, 3.2, 3.0}; /* d = 2 and 4 */
    ck_assert_double_eq_tol(bnm_fic_penalty(two, 4, 1.0),
                            -0.25 * ((1.0 - exp(-0.05)) + (1.0 - exp(-0.15))), 1e-16);
    double bad[2] = {NAN, 3.0};
    ck_assert_double_eq(bnm_fic_penalty(bad, 2, 0.5), -0.25);
    ck_assert_double_eq(bnm_fic_penalty(two, 4, 0.0), 0.0);
    double far[3] = {1e6, -1e6, 500};
    double pf = bnm_fic_penalty(far, 3, 0.5);
    ck_assert(pf > -0.5 && pf < -0.49);
}
END_TEST

/* ---- the fixed-point check (engine/fic/check.c) against an independent reference ----
 *
 * The reference builds the rWW network Jacobian J at the closed-form fixed point from the
 * test's own formulas (rate derivatives by central differences of H), and decides
 *  - stability by Lyapunov's theorem instead of eigenvalues: J is Hurwitz iff the solution
 *    P of J P + P J' = -I is positive definite (Cholesky), the equation solved as one
 *    (n^2 x n^2) Kronecker system instead of Bartels-Stewart;
 *  - the linear-noise estimate of the time-averaged r_E and its standard error, against
 *    the penalty band 3 +- 1 Hz (models.md 1.8): P from J P + P J' = -sigma^2 I (Kronecker
 *    again), the mean shift delta = -J^-1 b with b the drift's second-order term written
 *    out for rWW, r_E's own curvature r''/2 Var(I_E), and the long-run covariance
 *    -(J^-1 P + P J^-T) for the error of an average.
 * The check's verdict must match the reference wherever the reference is clear of the
 * band edge by 20 % of tol (every case below is: the margins are printed). */

#define SIG 0.01
#define TOL_IT 1.0 /* Hz: the penalty band's half-width */
#define AVG 600000.0 /* ms: averages over 10 min (the run's duration - bold_remove) */

static double rate_E(double I) { return H(A_E * I - B_E, D_E); }

/* d/dI and d2/dI2 of f at I, central differences (h = 1e-5 nA: truncation ~1e-10 of
 * the derivative, rounding ~1e-11 / 1e-10 for these rates of a few Hz). */
static void d12(double (*f)(double), double I, double *d1, double *d2)
{
    const double h = 1e-5;
    double p = f(I + h), m = f(I - h), c = f(I);
    *d1 = (p - m) / (2.0 * h);
    *d2 = (p - 2.0 * c + m) / (h * h);
}

/* z of the check: P(|Z| > z) = 0.05/N, all N nodes together at the 5 % level
 * (Bonferroni); by bisection on the normal tail 1 - Phi, written with erf. */
static double ref_z(int N)
{
    double lo = 0.0, hi = 20.0, a = 0.05 / N;
    for (int k = 0; k < 100; k++) {
        double mid = 0.5 * (lo + hi);
        if (1.0 - erf(mid / sqrt(2.0)) > a)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Solves J P + P J' = -Q (row-major n x n) by the Kronecker system; false if singular. */
static bool ref_lyap(int n, const double *J, const double *Q, double *P)
{
    int n4 = n * n;
    double *M = calloc((size_t)n4 * (size_t)n4, sizeof(double));
    lapack_int *piv = malloc(sizeof(lapack_int) * (size_t)n4);
    ck_assert(M && piv);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            int r = a * n + b;
            for (int k = 0; k < n; k++) {
                M[(size_t)r * (size_t)n4 + (size_t)(k * n + b)] += J[a * n + k];
                M[(size_t)r * (size_t)n4 + (size_t)(a * n + k)] += J[b * n + k];
            }
            P[r] = -Q[r];
        }
    bool ok = LAPACKE_dgesv(LAPACK_ROW_MAJOR, n4, 1, M, n4, piv, P, 1) == 0;
    free(M);
    free(piv);
    return ok;
}

/* Reference verdict for rWW at (W, N, G, J_N uniform): *stable, and the largest
 * |estimate - 3 Hz| + z standard errors of the average over avg_time (ms) of r_E over
 * nodes (noise sigma SIG). */
static void ref_check(const double *W, int N, double G, double J_N, double avg_time, bool *stable,
                      double *worst)
{
    int n = 2 * N;
    double *J = calloc((size_t)n * (size_t)n, sizeof(double));
    double *P = malloc(sizeof(double) * (size_t)n * (size_t)n);
    double *Q = calloc((size_t)n * (size_t)n, sizeof(double));
    double *A = malloc(sizeof(double) * (size_t)n * (size_t)n);
    double *b = malloc(sizeof(double) * (size_t)n);
    lapack_int *piv = malloc(sizeof(lapack_int) * (size_t)n);
    ck_assert(J && P && Q && A && b && piv);
    double se = ref_S_E_ss(), I_I, wie[64];
    ref_S_I(J_N, &I_I);
    double r1, r2, q1, q2;
    d12(rate_E, I_E_SS, &r1, &r2);
    d12(phi_I, I_I, &q1, &q2);
    const double gI = 1.0 / 1000.0, tI = 10.0;
    for (int i = 0; i < N; i++) {
        wie[i] = ref_wIE(J_N, G, strength(W, N, i));
        for (int j = 0; j < N; j++) {
            double dI = G * J_N * W[i * N + j] + (i == j ? W_P * J_N : 0.0);
            J[i * n + j] = (1.0 - se) * GAMMA_E * r1 * dI -
                           (i == j ? GAMMA_E * rate_E(I_E_SS) + 1.0 / TAU_E : 0.0);
        }
        J[i * n + N + i] = -(1.0 - se) * GAMMA_E * r1 * wie[i];
        J[(N + i) * n + i] = gI * q1 * J_N;
        J[(N + i) * n + N + i] = -gI * q1 * W_II - 1.0 / tI;
    }
    for (int k = 0; k < n; k++)
        Q[k * n + k] = 1.0;
    ck_assert(ref_lyap(n, J, Q, P));
    memcpy(A, P, sizeof(double) * (size_t)n * (size_t)n);
    *stable = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', n, A, n) == 0;
    *worst = INFINITY;
    if (*stable) {
        for (int k = 0; k < n; k++)
            Q[k * n + k] = SIG * SIG;
        ck_assert(ref_lyap(n, J, Q, P));
        /* b: (1/2) sum_ab d2f/dx_a dx_b P_ab; I_E and I_I are linear in the states */
        double g[128];
        for (int i = 0; i < N; i++) {
            for (int a = 0; a < n; a++)
                g[a] = 0.0;
            for (int j = 0; j < N; j++)
                g[j] = G * J_N * W[i * N + j];
            g[i] += W_P * J_N;
            g[N + i] = -wie[i];
            double vI = 0.0, cI = 0.0;
            for (int a = 0; a < n; a++) {
                for (int c = 0; c < n; c++)
                    vI += g[a] * g[c] * P[a * n + c];
                cI += g[a] * P[a * n + i];
            }
            /* f_E = (1 - S_E) gamma r(I_E) - S_E/tau: d2 = (1-S_E) gamma r'' g g' - gamma r'
             * (e_i g' + g e_i') */
            b[i] = -0.5 * ((1.0 - se) * GAMMA_E * r2 * vI - 2.0 * GAMMA_E * r1 * cI);
            double vII = J_N * J_N * P[i * n + i] - 2.0 * J_N * W_II * P[i * n + N + i] +
                         W_II * W_II * P[(N + i) * n + N + i];
            b[N + i] = -0.5 * gI * q2 * vII;
        }
        memcpy(A, J, sizeof(double) * (size_t)n * (size_t)n);
        ck_assert_int_eq(LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, 1, A, n, piv, b, 1), 0);
        /* long-run covariance K = -(J^-1 P + P J^-T) (= J^-1 Q J^-T, from the Lyapunov
         * equation), so the time average over avg_time has variance g' K g / avg_time */
        double *X = malloc(sizeof(double) * (size_t)n * (size_t)n);
        ck_assert(X);
        memcpy(X, P, sizeof(double) * (size_t)n * (size_t)n);
        memcpy(A, J, sizeof(double) * (size_t)n * (size_t)n);
        ck_assert_int_eq(LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, n, A, n, piv, X, n), 0);
        *worst = 0.0;
        for (int i = 0; i < N; i++) {
            double dI = W_P * J_N * b[i] - wie[i] * b[N + i];
            for (int j = 0; j < N; j++)
                dI += G * J_N * W[i * N + j] * b[j];
            double gm[128], v = 0.0, vI = 0.0; /* I_E's gradient */
            for (int a = 0; a < n; a++)
                gm[a] = 0.0;
            for (int j = 0; j < N; j++)
                gm[j] = G * J_N * W[i * N + j];
            gm[i] += W_P * J_N;
            gm[N + i] = -wie[i];
            for (int a = 0; a < n; a++)
                for (int c = 0; c < n; c++) {
                    v -= gm[a] * (X[a * n + c] + X[c * n + a]) * gm[c];
                    vI += gm[a] * P[a * n + c] * gm[c];
                }
            /* r_E = r(I_E): its mean to second order, and its standard error r' SE(I_E) */
            double est = rate_E(I_E_SS) + r1 * dI + 0.5 * r2 * vI;
            *worst = fmax(*worst, fabs(est - 3.0) + ref_z(N) * fabs(r1) * sqrt(v / avg_time));
        }
        free(X);
    }
    free(J);
    free(P);
    free(Q);
    free(A);
    free(b);
    free(piv);
}

START_TEST(fixed_point_check_matches_reference)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = load_model(ctx, "models/rww.nmm");
    enum { N = 6, S = 4 };
    double W[N * N], J[N], G[S] = {0.1, 0.6, 1.5, 0.9};
    make_connectome(N, 5, W);
    for (int q = 0; q < N * N; q++)
        W[q] *= 100.0 / N;
    for (int i = 0; i < N; i++)
        J[i] = 0.15;
    bnm_fic_config cfg;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg), BNM_OK);
    for (int noise = 0; noise <= 1; noise++) {
        bnm_model_spec spec;
        rww_spec(&spec, noise);
        batch b;
        rww_batch_sigma(ctx, ir, &spec, S, N, W, G, SIG, J, &b);
        double p[S * N];
        bool un[S];
        cfg.avg_time = AVG;
        ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &cfg, p, un, NULL), BNM_OK);
        for (int s = 0; s < S; s++) {
            bool stable;
            double worst;
            ref_check(W, N, G[s], 0.15, AVG, &stable, &worst);
            bool want = !stable || (noise && worst > TOL_IT);
            fprintf(stderr, "fic: check G = %.1f noise %d: reference %s, worst |estimate - "
                    "target| %.4g (tol %.3g); flagged %d\n", G[s], noise,
                    stable ? "stable" : "unstable", worst, TOL_IT, un[s]);
            if (noise && stable) /* clear of the band edge, so rounding cannot decide */
                ck_assert_double_ge(fabs(worst - TOL_IT), 0.2 * TOL_IT);
            ck_assert_msg(un[s] == want, "G = %g noise %d: flagged %d, reference %d", G[s],
                          noise, un[s], want);
            for (int i = 0; i < N; i++) /* kept as solved, flagged or not */
                ck_assert_double_eq_tol(p[s * N + i], ref_wIE(0.15, G[s], strength(W, N, i)),
                                        1e-9);
        }
        batch_free(&b);
    }
    /* the cases cover each verdict: in band, flagged by the noise only, unstable; and a
     * shorter average (the check must widen its margin by the standard error) */
    {
        bnm_model_spec spec;
        rww_spec(&spec, true);
        batch b;
        rww_batch_sigma(ctx, ir, &spec, S, N, W, G, SIG, J, &b);
        double p[S * N];
        bool un[S], st9;
        double w9;
        cfg.avg_time = 1000.0;
        ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &cfg, p, un, NULL), BNM_OK);
        ref_check(W, N, 0.1, 0.15, 1000.0, &st9, &w9);
        fprintf(stderr, "fic: check G = 0.1 over 1 s: reference %.4g; flagged %d\n", w9, un[0]);
        ck_assert(st9 && w9 >= 1.2 * TOL_IT); /* flagged by the standard error alone */
        ck_assert(un[0]);
        batch_free(&b);
    }
    bool st;
    double w;
    ref_check(W, N, 0.1, 0.15, AVG, &st, &w);
    ck_assert(st && w < TOL_IT);
    ref_check(W, N, 0.6, 0.15, AVG, &st, &w);
    ck_assert(st && w > TOL_IT);
    ref_check(W, N, 1.5, 0.15, AVG, &st, &w);
    ck_assert(!st);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- on the device ---- */

typedef struct dev {
    bnm_context *ctx;
    bnm_cl *cl;
    bnm_program_cache *cache;
    bnm_model_kernel *k;
} dev;

static void dev_open(dev *e, const bnm_model_ir *ir, const bnm_model_spec *spec)
{
    memset(e, 0, sizeof *e);
    ck_assert_int_eq(bnm_context_create(&e->ctx), BNM_OK);
    ck_assert_msg(bnm_cl_create_selected(e->ctx, NULL, &e->cl) == BNM_OK, "%s",
                  bnm_context_message(e->ctx));
    bnm_cache_config cfg;
    bnm_cache_config_init_defaults(&cfg);
    cfg.dir = getenv("CLBNM_CACHE_DIR") ? getenv("CLBNM_CACHE_DIR") : g_cache_dir;
    ck_assert_int_eq(bnm_program_cache_create(e->ctx, &cfg, &e->cache), BNM_OK);
    ck_assert_msg(bnm_model_kernel_create(e->ctx, e->cl, e->cache, ir, spec, &e->k) == BNM_OK,
                  "%s", bnm_context_message(e->ctx));
}

static void dev_close(dev *e)
{
    bnm_model_kernel_destroy(e->k);
    bnm_program_cache_destroy(e->cache);
    bnm_cl_destroy(e->cl);
    bnm_context_destroy(e->ctx);
}

/* Time averages over [t_a, t_b] (inclusive, every `every` steps) of r_E (rate = true) or
 * I_E - b_E/a_E per node, computed by the test from the states the kernel returns, with
 * the test's own rWW formulas. G, J_N per sim/node as in the batch; wIE from p.
 * out: [S][N]. */
static void window_means(dev *e, batch *b, const double *G, const double *J, const double *p,
                         long ka, long kb, long every, bool rate, double *out)
{
    int S = b->d.n_sims, N = b->d.n_nodes;
    size_t n = (size_t)N;
    double *x = malloc(sizeof(double) * (size_t)S * 2 * n);
    ck_assert_ptr_nonnull(x);
    ck_assert_msg(bnm_model_kernel_set_data(e->ctx, e->k, &b->d) == BNM_OK, "%s",
                  bnm_context_message(e->ctx));
    memset(out, 0, sizeof(double) * (size_t)S * n);
    long at = 0, count = 0;
    for (long k = ka; k <= kb; k += every) {
        if (k > at)
            ck_assert_msg(bnm_model_kernel_run(e->ctx, e->k, (uint64_t)at, (uint64_t)(k - at)) ==
                              BNM_OK, "%s", bnm_context_message(e->ctx));
        at = k;
        ck_assert_int_eq(bnm_model_kernel_read_states(e->ctx, e->k, x), BNM_OK);
        for (int s = 0; s < S; s++)
            for (int i = 0; i < N; i++) {
                double IE = ref_I_E(b->W, N, x + (size_t)s * 2 * n, i, G[s], J[i],
                                    p[(size_t)s * n + (size_t)i]);
                out[(size_t)s * n + (size_t)i] += rate ? H(A_E * IE - B_E, D_E) : IE - B_E / A_E;
            }
        count++;
    }
    for (size_t q = 0; q < (size_t)S * n; q++)
        out[q] /= (double)count;
    free(x);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Simulated time of the noise test, in ms. The issue asks for 60 s averaged after a 10 s
 * transient; CI averages 20 s after 5 s (100 nodes x 5 simulations x 250,000 steps: 12.8 s
 * on PoCL here, 2 shared CPU cores, double), and tools/fic_table runs the full length
 * through `simulate` (its table is in the issue report). The fixed-point check is told
 * the averaging time (cfg.avg_time), so the flags match the length chosen.
 * Build with -DFIC_TRANSIENT_MS=10000 -DFIC_AVERAGE_MS=60000 for the full length. */
#ifndef FIC_TRANSIENT_MS
#define FIC_TRANSIENT_MS 5000
#endif
#ifndef FIC_AVERAGE_MS
#define FIC_AVERAGE_MS 20000
#endif
/* Noise-off settling time before r_E is compared with the fixed point's 3.0773 Hz. */
#define FIC_SETTLE_MS 5000

/* Analytic FIC on a 100-node distance-rule connectome at G = 0.2, 0.5, 1, 2, 3, one batch,
 * double precision (the precision the compatibility statements assume, models.md 0.1.5;
 * on PoCL's CPU device it costs about the same as float).
 *
 * 1. Noise off (sigma = 0 in the same kernel): the solved fixed point must be what the
 *    kernel integrates. At G = 0.5 the network settles on it (every node at 3.0773 Hz,
 *    measured 6e-8 Hz off after 5 s); at G = 1 it settles slowly (measured 0.008 Hz off).
 *    At G = 2 and 3 the fixed point exists (the solve matches the closed form) but is not
 *    stable (network Jacobian eigenvalues 0.0040 and 0.0092 per ms; measured 2.4 and
 *    2.9 Hz off): the fixed-point check flags both.
 * 2. Noise on (sigma = 0.01, the default): every node within 3 +- 1 Hz wherever FIC
 *    reports success. Without the fixed-point check FIC reported success everywhere while
 *    the rates were 3.19..4.17 Hz at G = 0.5 (60 s after 10 s, seed 7 via fic_table),
 *    7.5..15 at G = 1, 25..53 at G = 2, 40..84 at G = 3. The check's linear-noise estimate
 *    of r_E with its standard error over this average (20 s: every node inside 3 +- 1 Hz
 *    at the 5 % level) passes G = 0.2 (estimate 3.40..3.47 Hz, worst margin 0.10 Hz) and
 *    flags G = 0.5 (worst 0.28 Hz over the band) and G = 1; G = 2, 3 are unstable. The
 *    test asserts the flags and the criterion for every unflagged simulation.
 * r_E is sampled every 10 ms: its correlation time is ~tau_E = 100 ms, so 10 ms samples
 * lose nothing of the average. */
START_TEST(analytic_fic_keeps_rates_near_3hz)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = load_model(ctx, "models/rww.nmm");
    bnm_model_spec spec;
    rww_spec(&spec, true);
    enum { N = 100, S = 5 };
    double *W = malloc(sizeof(double) * N * N);
    ck_assert_ptr_nonnull(W);
    make_connectome(N, 2026, W);
    double J[N], G[S] = {0.2, 0.5, 1.0, 2.0, 3.0};
    for (int i = 0; i < N; i++)
        J[i] = 0.15;
    batch b;
    rww_batch(ctx, ir, &spec, S, N, W, G, J, &b);
    bnm_fic_config cfg;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &cfg), BNM_OK);
    cfg.avg_time = FIC_AVERAGE_MS; /* the average below, as simulate passes its own */
    double p[S * N];
    bool unstable[S];
    double ts = now_s();
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &cfg, p, unstable, NULL), BNM_OK);
    fprintf(stderr, "fic: steady-state solve and check of %d simulations x %d nodes: %.2f s\n", S,
            N, now_s() - ts);
    bnm_model_abi *abi = NULL;
    ck_assert_int_eq(bnm_model_abi_create(ctx, ir, &spec, &abi), BNM_OK);
    ck_assert_int_eq(bnm_fic_write_param(ctx, ir, abi, S, N, p, b.np), BNM_OK);
    bnm_model_abi_destroy(abi);

    dev e;
    dev_open(&e, ir, &spec);
    double *m = malloc(sizeof(double) * S * N);
    ck_assert_ptr_nonnull(m);

    /* Noise off (sigma = 0, same kernel): from the initial state the network must settle
     * on the solved fixed point, where every node fires at r_E(I_E_ss) = 3.0773 Hz. */
    batch bq;
    rww_batch_sigma(ctx, ir, &spec, S, N, W, G, 0.0, J, &bq);
    ck_assert_int_eq(bnm_model_abi_create(ctx, ir, &spec, &abi), BNM_OK);
    ck_assert_int_eq(bnm_fic_write_param(ctx, ir, abi, S, N, p, bq.np), BNM_OK);
    bnm_model_abi_destroy(abi);
    window_means(&e, &bq, G, J, p, FIC_SETTLE_MS * 10, FIC_SETTLE_MS * 10, 1, true, m);
    for (int s = 0; s < S; s++) {
        ck_assert_msg(unstable[s] == (G[s] > 0.2), "G = %g: flagged %d", G[s], unstable[s]);
        double dev_max = 0.0;
        for (int i = 0; i < N; i++)
            dev_max = fmax(dev_max, fabs(m[s * N + i] - H(A_E * I_E_SS - B_E, D_E)));
        fprintf(stderr, "fic: G = %.1f noise off: max |r_E - 3.0773| = %.3g Hz at %d ms\n", G[s],
                dev_max, FIC_SETTLE_MS);
        /* G = 0.5 contracts fast (bound: 1e-4 Hz, 1000x the measured 6e-8); G = 1 slowly
         * (0.05 Hz, 6x the measured 0.008, deterministic) */
        if (G[s] <= 0.5)
            ck_assert_double_le(dev_max, 1e-4);
        else if (G[s] <= 1.0)
            ck_assert_double_le(dev_max, 0.05);
    }
    batch_free(&bq);

    double t0 = now_s();
    window_means(&e, &b, G, J, p, (long)FIC_TRANSIENT_MS * 10, (long)(FIC_TRANSIENT_MS + FIC_AVERAGE_MS) * 10,
                 100, true, m);
    double el = now_s() - t0;
    fprintf(stderr, "fic: %d nodes x %d sims x %d steps in %.1f s\n", N, S,
            (FIC_TRANSIENT_MS + FIC_AVERAGE_MS) * 10, el);
    int n_ok = 0;
    for (int s = 0; s < S; s++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < N; i++) {
            lo = fmin(lo, m[s * N + i]);
            hi = fmax(hi, m[s * N + i]);
        }
        fprintf(stderr, "fic: G = %.1f %s, r_E over nodes in [%.3f, %.3f] Hz\n", G[s],
                unstable[s] ? "unstable" : "ok", lo, hi);
        if (unstable[s])
            continue; /* flagged: no promise */
        n_ok++;
        for (int i = 0; i < N; i++)
            ck_assert_msg(fabs(m[s * N + i] - 3.0) <= 1.0, "G = %g node %d: r_E = %g Hz", G[s], i,
                          m[s * N + i]);
    }
    ck_assert_int_ge(n_ok, 1); /* the check above must have run */
    free(m);
    dev_close(&e);
    batch_free(&b);
    free(W);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* The iterative driver brings a simulation that starts off target into the band within
 * max_trials, with the model's own keys (window [1000, 10000] ms, sample 1 ms, step 0.02,
 * tol 0.005 nA), on a small network; a second simulation starting in band finishes at
 * trial 0 without waiting for the first. The window means are recomputed independently
 * (test formulas on kernel states) before and after. */
#ifndef FIC_PERTURB
#define FIC_PERTURB 0.1
#endif
START_TEST(iterative_driver_corrects_perturbed_start)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_ir *ir = load_model(ctx, "models/rww.nmm");
    bnm_model_spec spec;
    rww_spec(&spec, true);
    enum { N = 6, S = 2 };
    double W[N * N], J[N], G[S] = {0.3, 0.3};
    double perturb = FIC_PERTURB;
    make_connectome(N, 5, W);
    for (int i = 0; i < N * N; i++)
        W[i] *= 100.0 / N; /* mean in-strength ~1, as for 100 nodes */
    for (int i = 0; i < N; i++)
        J[i] = 0.15;
    batch b;
    rww_batch(ctx, ir, &spec, S, N, W, G, J, &b);
    bnm_fic_config ss, it;
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_STEADY_STATE, &ss), BNM_OK);
    ck_assert_int_eq(bnm_fic_config_from_model(ctx, ir, BNM_FIC_METHOD_ITERATIVE, &it), BNM_OK);
    ck_assert_double_eq_tol(it.target, -0.026, 1e-15);
    ck_assert_int_eq(it.max_trials, 10);
    double p[S * N], p0[S * N];
    bool unstable[S];
    ck_assert_int_eq(bnm_fic_steady_state(ctx, ir, &spec, &b.d, &ss, p, unstable, NULL), BNM_OK);
    /* unstable[] is not asserted: over the default 9 s average the check flags G = 0.3 on
     * this network (fixed_point_check_matches_reference); the solved wIE is kept and
     * is all this test needs */
    for (int i = 0; i < N; i++) /* too much inhibition at even nodes, too little at odd */
        p[i] += i % 2 ? -perturb : perturb;
    memcpy(p0, p, sizeof p);

    dev e;
    dev_open(&e, ir, &spec);
    bnm_model_abi *abi = NULL;
    ck_assert_int_eq(bnm_model_abi_create(ctx, ir, &spec, &abi), BNM_OK);
    long ka = 10000, kb = 100000, every = 10; /* the model's window and sample, dt = 0.1 */
    double before[S * N], after[S * N], drv[S * N];
    ck_assert_int_eq(bnm_fic_write_param(ctx, ir, abi, S, N, p, b.np), BNM_OK);
    window_means(&e, &b, G, J, p, ka, kb, every, false, before);
    int out0 = 0, out1 = 0;
    for (int i = 0; i < N; i++) {
        out0 += fabs(before[i] - it.target) > it.tol;
        out1 += fabs(before[N + i] - it.target) > it.tol;
        fprintf(stderr, "fic: node %d start e = %+.4f (perturbed) %+.4f\n", i,
                before[i] - it.target, before[N + i] - it.target);
    }
    ck_assert_msg(out0 >= 2, "the perturbation must put nodes out of band (%d)", out0);
    ck_assert_int_eq(out1, 0);

    int ntrials[S];
    bool failed[S];
    /* keys a run may override: a window off the dt grid is an error; one trial only
     * leaves the perturbed simulation flagged fic_failed after one adjustment */
    bnm_fic_config one = it;
    one.window_lo = 1000.05;
    double pc[S * N];
    memcpy(pc, p, sizeof p);
    ck_assert_int_eq(bnm_fic_iterative_run(e.ctx, e.k, ir, &b.d, &one, pc, ntrials, failed, NULL),
                     BNM_ERR_RUN);
    one = it;
    one.max_trials = 1;
    ck_assert_msg(bnm_fic_iterative_run(e.ctx, e.k, ir, &b.d, &one, pc, ntrials, failed, drv) == BNM_OK,
                  "%s", bnm_context_message(e.ctx));
    ck_assert(failed[0] && !failed[1]);
    ck_assert_int_eq(ntrials[0], 1);
    ck_assert_int_eq(ntrials[1], 0);
    for (int i = 0; i < N; i++) {
        /* the last trial's means are those of the adjusted P: one step of 0.02 moved
         * each node that started out of band, the others kept their P */
        bool moved = fabs(before[i] - it.target) > it.tol;
        ck_assert_double_eq_tol(fabs(pc[i] - p0[i]), moved ? it.step : 0.0, 1e-15);
        ck_assert_double_eq(pc[N + i], p0[N + i]);
    }
    double t0 = now_s();
    ck_assert_msg(bnm_fic_iterative_run(e.ctx, e.k, ir, &b.d, &it, p, ntrials, failed, drv) == BNM_OK,
                  "%s", bnm_context_message(e.ctx));
    fprintf(stderr, "fic: driver %d + %d trials in %.1f s\n", ntrials[0], ntrials[1], now_s() - t0);
    ck_assert(!failed[0] && !failed[1]);
    ck_assert_int_ge(ntrials[0], 1);
    ck_assert_int_le(ntrials[0], it.max_trials);
    ck_assert_int_eq(ntrials[1], 0);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq(p[N + i], p0[N + i]); /* in band from the start: untouched */

    ck_assert_int_eq(bnm_fic_write_param(ctx, ir, abi, S, N, p, b.np), BNM_OK);
    window_means(&e, &b, G, J, p, ka, kb, every, false, after);
    for (int q = 0; q < S * N; q++) {
        /* same kernel, noise and samples; only the host formulas differ (rounding) */
        ck_assert_msg(fabs(after[q] - drv[q]) <= 1e-12, "%d: %.15g vs driver %.15g", q, after[q],
                      drv[q]);
        ck_assert_msg(fabs(after[q] - it.target) <= it.tol, "%d: e = %g", q, after[q] - it.target);
    }
    bnm_model_abi_destroy(abi);
    dev_close(&e);
    batch_free(&b);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* `simulate`'s FIC path end to end (engine/batch): a run file with a 6-node network at
 * G = 0.1 (the analytic fixed point holds) and G = 0.6 (it exists and is stable, but the
 * noise lifts r_E off target: flagged, see fixed_point_check_matches_reference), through
 * bnm_engine_simulate and its HDF5 file:
 *  - fic.max_trials 0: fic/failed = {0, 1}, fic/trials = {0, 0}, params/wIE the closed
 *    form (a flagged but solved fixed point keeps its wIE);
 *  - fic.max_trials 10: the iterative trials bring G = 0.6 into its band (fic/failed 0,
 *    1 <= trials <= 10), G = 0.1 needs none (trials 0, wIE unchanged). The window means
 *    with the final wIE are recomputed independently (test formulas on the states of the
 *    test's own kernel, the run's seed and shared noise) and must lie in the band. */
static void h5_read(const char *file, const char *name, hid_t type, void *out)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "%s", file);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s: no %s", file, name);
    ck_assert(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
    H5Fclose(f);
}

START_TEST(simulate_runs_iterative_fic)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    enum { N = 6, S = 2 };
    double W[N * N], G[S] = {0.1, 0.6}, J[N];
    make_connectome(N, 5, W);
    for (int q = 0; q < N * N; q++)
        W[q] *= 100.0 / N;
    for (int i = 0; i < N; i++)
        J[i] = 0.15;
    char dir[] = "/tmp/clbnm_fic_sim_XXXXXX", path[600], out[600];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sc.txt", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int q = 0; q < N * N; q++)
        fprintf(f, "%.17g%c", W[q], q % N == N - 1 ? '\n' : ' ');
    fclose(f);
    snprintf(path, sizeof path, "%s/g.csv", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "G\n%g\n%g\n", G[0], G[1]);
    fclose(f);
    uint8_t failed[2][S];
    int32_t trials[2][S];
    double wie[2][S * N];
    for (int k = 0; k < 2; k++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "model: rww\nduration: 40\ndt: 0.1\nbw_dt: 1.0\ntr: 0.72\nbold_remove: 10\n"
                 "precision: double\nseed: 7\nsubjects:\n  - id: net\n    sc: sc.txt\n"
                 "sweep:\n  table: g.csv\nfic: {max_trials: %d}\n"
                 "outputs: {bold: false, fc: false, fcd: false, states_mean: [r_E]}\n",
                 k ? 10 : 0);
        snprintf(out, sizeof out, "%s/out%d.h5", dir, k);
        bnm_run *run = NULL;
        ck_assert_msg(bnm_run_parse_string(ctx, text, strlen(text), "fic.yaml", dir,
                                           BNM_RUN_MODE_SIMULATE, &run) == BNM_OK,
                      "%s", bnm_context_message(ctx));
        bnm_engine_options o;
        bnm_engine_options_init_defaults(&o);
        o.cache_dir = getenv("CLBNM_CACHE_DIR") ? getenv("CLBNM_CACHE_DIR") : g_cache_dir;
        bnm_engine_stats st;
        ck_assert_msg(bnm_engine_simulate(ctx, run, out, &o, &st) == BNM_OK, "%s",
                      bnm_context_message(ctx));
        bnm_run_destroy(run);
        h5_read(out, "fic/failed", H5T_NATIVE_UINT8, failed[k]);
        h5_read(out, "fic/trials", H5T_NATIVE_INT32, trials[k]);
        h5_read(out, "params/wIE", H5T_NATIVE_DOUBLE, wie[k]);
        remove(out);
        fprintf(stderr, "fic: simulate max_trials %d: failed %d %d, trials %d %d\n",
                k ? 10 : 0, failed[k][0], failed[k][1], trials[k][0], trials[k][1]);
    }
    ck_assert(!failed[0][0] && failed[0][1]);
    ck_assert(trials[0][0] == 0 && trials[0][1] == 0);
    for (int s = 0; s < S; s++)
        for (int i = 0; i < N; i++)
            ck_assert_double_eq_tol(wie[0][s * N + i], ref_wIE(0.15, G[s], strength(W, N, i)),
                                    1e-9);
    ck_assert(!failed[1][0] && !failed[1][1]);
    ck_assert_int_eq(trials[1][0], 0);
    ck_assert(trials[1][1] >= 1 && trials[1][1] <= 10);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq(wie[1][i], wie[0][i]);

    /* independent window means with the final wIE: same seed, shared noise (id 0) */
    bnm_model_ir *ir = load_model(ctx, "models/rww.nmm");
    bnm_model_spec spec;
    rww_spec(&spec, true);
    batch b;
    rww_batch(ctx, ir, &spec, S, N, W, G, J, &b);
    for (int s = 0; s < S; s++)
        b.seeds[s] = 7;
    bnm_model_abi *abi = NULL;
    ck_assert_int_eq(bnm_model_abi_create(ctx, ir, &spec, &abi), BNM_OK);
    ck_assert_int_eq(bnm_fic_write_param(ctx, ir, abi, S, N, wie[1], b.np), BNM_OK);
    bnm_model_abi_destroy(abi);
    dev e;
    dev_open(&e, ir, &spec);
    double m[S * N];
    window_means(&e, &b, G, J, wie[1], 10000, 100000, 10, false, m);
    for (int q = 0; q < S * N; q++) {
        fprintf(stderr, "fic: sim %d node %d: e = %+.5f\n", q / N, q % N, m[q] + 0.026);
        /* another kernel (other param levels) rounds differently: 1e-6 of the band */
        ck_assert_msg(fabs(m[q] + 0.026) <= 0.005 * (1 + 1e-6), "%d: e = %g", q, m[q] + 0.026);
    }
    dev_close(&e);
    batch_free(&b);
    bnm_model_ir_destroy(ir);
    snprintf(path, sizeof path, "%s/sc.txt", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/g.csv", dir);
    remove(path);
    rmdir(dir);
    bnm_context_destroy(ctx);
}
END_TEST

static Suite *fic_suite(void)
{
    Suite *s = suite_create("fic");
    TCase *host = tcase_create("host");
    tcase_add_test(host, reference_matches_spec_numbers);
    tcase_add_test(host, isolated_node_steady_state);
    tcase_add_test(host, network_matches_closed_form);
    tcase_add_test(host, failures_fall_back);
    tcase_add_test(host, generic_model_and_failures);
    tcase_add_test(host, rww_closed_form_path);
    tcase_add_test(host, adjust_rules);
    tcase_add_test(host, penalty_values);
    tcase_add_test(host, fixed_point_check_matches_reference);
    suite_add_tcase(s, host);
    TCase *analytic = tcase_create("device_analytic");
    tcase_set_timeout(analytic, 600);
    tcase_add_test(analytic, analytic_fic_keeps_rates_near_3hz);
    suite_add_tcase(s, analytic);
    TCase *iterative = tcase_create("device_iterative");
    tcase_set_timeout(iterative, 600);
    tcase_add_test(iterative, iterative_driver_corrects_perturbed_start);
    tcase_add_test(iterative, simulate_runs_iterative_fic);
    suite_add_tcase(s, iterative);
    return s;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    snprintf(g_cache_dir, sizeof g_cache_dir, "/tmp/clbnm-fic-cache-XXXXXX");
    if (!mkdtemp(g_cache_dir))
        return 1;
    SRunner *sr = srunner_create(fic_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(g_cache_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return failed ? 1 : 0;
}
