/* Model back ends: run specialisation, OpenCL C generation (on PoCL) and the host
 * interpreter, each kernel checked against the interpreter as the independent
 * double-precision reference.
 *
 * Tolerance in double precision (1e-9 relative): with FP contraction off, the kernel
 * and the interpreter perform the same IEEE operations in the same order (same
 * association, same helper formulas), so + - * / sqrt agree bit for bit; only the
 * transcendental functions (exp, sin, ...) may differ by a few ulp between PoCL's math
 * library and glibc (OpenCL allows up to 4 ulp in double). The test models are
 * contracting (relaxation to fixed points / phase locking), so per-step differences of
 * ~1e-16 relative do not grow exponentially: after 10,000 steps they stay many orders
 * of magnitude below 1e-9, while any ordering, stage, delay or coupling mistake shows
 * up at 1e-3 or more. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clbnm/clbnm.h"
#include "clbnm/codegen.h"
#include "clbnm/interp.h"
#include "clbnm/model.h"
#include "clbnm/model_kernel.h"
#include "codegen_internal.h"
#include "ir_builder.h"
#include "rng.h"

#define STEPS 10000
#define DT 0.1

/* ---- test models ------------------------------------------------------------------ */

/* Wilson-Cowan-like E/I pair. E's clamp bites (the drive pushes E above 0.35); `drive`
 * holds a SIM subtree (G*tau)/10 and a NODE subtree (k*P) for the hoisting test. Line
 * numbers are the .nmm lines of the statements (x.nmm). */
static bnm_model_ir *wc_model(bnm_ir_integrator integ)
{
    bnm_model_ir *m = tb_model("wc", "x.nmm", integ);
    tb_param(m, "G", NAN, false, false); /* line 2, required */
    tb_param(m, "k", 1.5, true, false);
    tb_param(m, "P", 0.4, true, false);
    tb_param(m, "tau", 10, false, true);
    tb_param(m, "a", 4, false, true);
    tb_param(m, "sigma", 0.02, true, false); /* line 7 */
    tb_state(m, "E", "0.1", BNM_BOUND_CLAMP, "0", "0.35", 8);
    tb_state(m, "I", "0.05", BNM_BOUND_CLAMP, "0", "inf", 9);
    tb_coupling(m, "c", "sum_j(W[i,j] * E[j])", 10);
    tb_let(m, "drive", "k*E - 1.2*I + ((G*tau)/10)*c + (k*P)", 11);
    tb_let(m, "inh", "sigmoid(a*(E - 0.3)) * (1 - 0.25)", 12);
    tb_deriv(m, "E", "(-E + sigmoid(a*(drive - 0.5)) * (1 - E)) / tau", 13);
    tb_deriv(m, "I", "(-I + inh) / (tau * 2)", 14);
    tb_noise(m, "E", "sigma", 15);
    tb_noise(m, "I", "sigma / 2", 16);
    return m;
}

/* Kuramoto oscillators: wrapped phase, sin coupling, delays. */
static bnm_model_ir *kur_model(bnm_ir_integrator integ)
{
    bnm_model_ir *m = tb_model("kur", "kur.nmm", integ);
    tb_param(m, "G", 0.8, false, false);
    tb_param(m, "omega", 0.3, true, false);
    tb_param(m, "sigma", 0.05, true, false);
    tb_state(m, "theta", "0", BNM_BOUND_WRAP, "0", "2*pi", 5);
    tb_coupling(m, "c", "sum_j(W[i,j] * sin(theta[j] - theta))", 6);
    tb_deriv(m, "theta", "omega + G*c/N", 7);
    tb_noise(m, "theta", "sigma", 8);
    return m;
}

/* dx/dt = a x^2 blows up in finite time for a > 0 (t = 1/(a x0)). */
static bnm_model_ir *blow_model(void)
{
    bnm_model_ir *m = tb_model("blow", "blow.nmm", BNM_INTEG_EULER);
    tb_param(m, "a", 1, false, false);
    tb_state(m, "x", "1", BNM_BOUND_NONE, NULL, NULL, 3);
    tb_coupling(m, "c", "sum_j(W[i,j] * x[j])", 4);
    tb_deriv(m, "x", "a*x^2 + 0.001*c", 5);
    return m;
}

/* Every built-in, comparison and boolean operator, a SIM/NODE-level condition (hoisted
 * as a 1/0 value), t, and both bound kinds, in a non-chaotic system. Discontinuous
 * functions see arguments that stay away from their jumps (or cross them transversally):
 * a state settling on a jump would chatter, and 1-ulp differences between two correct
 * implementations would then flip branches. */
static bnm_model_ir *fx_model(bnm_ir_integrator integ)
{
    bnm_model_ir *m = tb_model("fx", "fx.nmm", integ);
    tb_param(m, "G", NAN, false, false);
    tb_param(m, "q", 0.6, true, false);
    tb_state(m, "a", "0.2", BNM_BOUND_CLAMP, "-1", "1", 4);
    tb_state(m, "b", "0.5", BNM_BOUND_NONE, NULL, NULL, 5);
    tb_state(m, "c", "0.1", BNM_BOUND_WRAP, "-1", "1", 6);
    tb_coupling(m, "ca", "sum_j(W[i,j] * if(a[j] > -5 and not (b[j] < -1), relu(a[j]), -abs(b[j])))", 7);
    tb_let(m, "u", "min(a, b) + max(a, c) - clamp(b, 0, 0.5) + mod(c + 3, 1.5)", 8);
    tb_let(m, "v", "sign(a + 3) * heaviside(b + 0.3) * 0.1 + relu(c) + floor(b + 10)/100 + ceil(0.1*a + 5.5)/100 + sign(a - 3)/10 + heaviside(b - 3)", 9);
    tb_let(m, "w", "atan2(a, 1 + b^2) + log1p(b^2) + expm1(-abs(a)) + log10(2 + c) + tanh(a)"
                   " + erf(b) + sqrt(1 + c^2) + b^-2 * 0.01 + (1 + b^2)^0.3 + sinh(0.1*a)"
                   " + cosh(0.1*b) + asin(0.5*tanh(a)) + acos(0.5*tanh(b)) + atan(c)"
                   " + tan(0.1*a) + cos(b) + exp(-b) + log(2 + a) + sin(c)", 10);
    tb_deriv(m, "a", "(-a + 0.1*tanh(u) + G*ca + if(G > 0.4 or q < 0.5, 0.01*a, -0.01)) / 5", 11);
    tb_deriv(m, "b", "(-b + sigmoid(v) + 0.01*w) / 7", 12);
    /* c is a clock (wrapped phase) that drives a and b but does not feel them, so the
     * system is a contracting one under periodic forcing: not chaotic. */
    tb_deriv(m, "c", "(0.3 + q*t/1000) / 3", 13);
    return m;
}

/* A small model in real .nmm text: an input, a transmitted let, SIM- and NODE-level
 * lets, N, t and dt in expressions, NODE-level noise amplitude, heun. */
static const char mix_nmm[] =
    "model mix\n"
    "time_unit ms\n"
    "integrator heun\n"
    "param G = 0.3 in [0, 1]\n"
    "param k = 1.2 regional\n"
    "param s = 0.02 regional\n"
    "param w0 = 0.05\n"
    "param tau = 8 const\n"
    "input I_ext = 0.1\n"
    "state x = 0.2 clamp [-2, 2]\n"
    "state y = 0\n"
    "let gain = G * tau / 8\n"
    "let kk = k * k + gain\n"
    "let out = tanh(x) + 0.1 * y\n"
    "coupling c = sum_j(W[i,j] * out[j]) / N\n"
    "d/dt x = (-x + kk * c + I_ext + 0.01 * sin(w0 * t)) / tau\n"
    "d/dt y = (x - y) / (2 * tau) + 0.001 * dt * y\n"
    "noise x ~ s * 2\n"
    "output x, y\n";

/* ---- batches ---------------------------------------------------------------------- */

static double urand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

typedef struct batch {
    bnm_model_data d;
    double *w, *D, *sp, *np, *x;
    int *ci, *di;
    uint64_t *seeds;
    uint32_t *nids;
} batch;

/* n_sims simulations of N nodes: 2 asymmetric connectomes and 2 delay matrices used
 * alternately, params varying per simulation and per node around their defaults. */
static void batch_make(batch *b, const bnm_model_abi *abi, int n_sims, int N, uint64_t seed,
                       double x_lo, double x_hi)
{
    memset(b, 0, sizeof *b);
    uint64_t r = seed;
    size_t S = (size_t)n_sims, NN = (size_t)N * (size_t)N;
    b->w = malloc(2 * NN * sizeof *b->w);
    b->D = malloc(2 * NN * sizeof *b->D);
    b->sp = calloc(S * (size_t)abi->n_sim_params + 1, sizeof *b->sp);
    b->np = calloc(S * (size_t)abi->n_node_params * (size_t)N + 1, sizeof *b->np);
    b->x = malloc(S * (size_t)abi->n_states * (size_t)N * sizeof *b->x);
    b->ci = malloc(S * sizeof *b->ci);
    b->di = malloc(S * sizeof *b->di);
    b->seeds = malloc(S * sizeof *b->seeds);
    b->nids = malloc(S * sizeof *b->nids);
    ck_assert(b->w && b->D && b->sp && b->np && b->x && b->ci && b->di && b->seeds && b->nids);
    for (size_t e = 0; e < 2 * NN; e++) {
        size_t i = (e % NN) / (size_t)N, j = e % (size_t)N;
        b->w[e] = (i == j ? 0.5 : 1.0) * urand(&r) / N;
        b->D[e] = i == j ? 0.0 : 2.5 * urand(&r);
    }
    for (int k = 0; k < abi->n_entries; k++) {
        const bnm_abi_entry *e = &abi->entries[k];
        if (e->kind != BNM_ABI_PARAM || e->param_level == BNM_PARAM_FIXED)
            continue;
        double base = isnan(e->value) ? 0.5 : e->value;
        for (size_t s = 0; s < S; s++) {
            if (e->sim_slot >= 0)
                b->sp[s * (size_t)abi->n_sim_params + (size_t)e->sim_slot] =
                    base * (0.8 + 0.4 * urand(&r));
            for (size_t i = 0; e->node_slot >= 0 && i < (size_t)N; i++)
                b->np[(s * (size_t)abi->n_node_params + (size_t)e->node_slot) * (size_t)N + i] =
                    base * (0.8 + 0.4 * urand(&r));
        }
    }
    for (size_t v = 0; v < S * (size_t)abi->n_states * (size_t)N; v++)
        b->x[v] = x_lo + (x_hi - x_lo) * urand(&r);
    for (size_t s = 0; s < S; s++) {
        b->ci[s] = (int)(s % 2);
        b->di[s] = (int)((s / 2) % 2);
        b->seeds[s] = 12345;
        b->nids[s] = (uint32_t)(s % 3);
    }
    b->d.n_sims = n_sims;
    b->d.n_nodes = N;
    b->d.dt = DT;
    b->d.t0 = 0;
    b->d.n_connectomes = 2;
    b->d.weights = b->w;
    b->d.conn_index = b->ci;
    b->d.n_delay_mats = 2;
    b->d.delays = b->D;
    b->d.delay_index = b->di;
    b->d.seeds = b->seeds;
    b->d.noise_ids = b->nids;
    b->d.sim_params = abi->n_sim_params ? b->sp : NULL;
    b->d.node_params = abi->n_node_params ? b->np : NULL;
    b->d.states = b->x;
}

static void batch_free(batch *b)
{
    free(b->w);
    free(b->D);
    free(b->sp);
    free(b->np);
    free(b->x);
    free(b->ci);
    free(b->di);
    free(b->seeds);
    free(b->nids);
}

/* Copies simulation `from` of a into slot `to` of b (same model and N). */
static void batch_copy_sim(batch *b, int to, const batch *a, int from, const bnm_model_abi *abi)
{
    size_t N = (size_t)a->d.n_nodes;
    size_t nsp = (size_t)abi->n_sim_params, nnp = (size_t)abi->n_node_params * N;
    size_t nx = (size_t)abi->n_states * N;
    memcpy(b->sp + (size_t)to * nsp, a->sp + (size_t)from * nsp, nsp * sizeof *b->sp);
    memcpy(b->np + (size_t)to * nnp, a->np + (size_t)from * nnp, nnp * sizeof *b->np);
    memcpy(b->x + (size_t)to * nx, a->x + (size_t)from * nx, nx * sizeof *b->x);
    memcpy(b->w, a->w, 2 * N * N * sizeof *b->w); /* same connectome and delay sets */
    memcpy(b->D, a->D, 2 * N * N * sizeof *b->D);
    b->ci[to] = a->ci[from];
    b->di[to] = a->di[from];
    b->seeds[to] = a->seeds[from];
    b->nids[to] = a->nids[from];
}

/* ---- OpenCL helpers --------------------------------------------------------------- */

typedef struct env {
    bnm_context *ctx;
    bnm_cl *cl;
    bnm_program_cache *cache;
} env;

static void env_open(env *e)
{
    ck_assert_int_eq(bnm_context_create(&e->ctx), BNM_OK);
    bnm_status st = bnm_cl_create_selected(e->ctx, NULL, &e->cl);
    ck_assert_msg(st == BNM_OK, "no OpenCL device: %s", bnm_context_message(e->ctx));
    bnm_cache_config cfg;
    bnm_cache_config_init_defaults(&cfg);
    ck_assert_int_eq(bnm_program_cache_create(e->ctx, &cfg, &e->cache), BNM_OK);
}

static void env_close(env *e)
{
    bnm_program_cache_destroy(e->cache);
    bnm_cl_destroy(e->cl);
    bnm_context_destroy(e->ctx);
}

static bnm_model_kernel *kernel_make(env *e, const bnm_model_ir *ir, const bnm_model_spec *spec)
{
    bnm_model_kernel *k = NULL;
    bnm_status st = bnm_model_kernel_create(e->ctx, e->cl, e->cache, ir, spec, &k);
    ck_assert_msg(st == BNM_OK, "kernel create: %s", bnm_context_message(e->ctx));
    return k;
}

static bnm_interp *interp_make(env *e, const bnm_model_ir *ir, const bnm_model_spec *spec)
{
    bnm_interp *ip = NULL;
    bnm_status st = bnm_interp_create(e->ctx, ir, spec, &ip);
    ck_assert_msg(st == BNM_OK, "interp create: %s", bnm_context_message(e->ctx));
    return ip;
}

/* Runs the batch for n steps on the kernel (in `launches` equal-ish pieces) and returns
 * the states (caller frees). */
static double *kernel_run(env *e, bnm_model_kernel *k, const batch *b, int launches,
                          uint64_t n)
{
    ck_assert_msg(bnm_model_kernel_set_data(e->ctx, k, &b->d) == BNM_OK, "%s",
                  bnm_context_message(e->ctx));
    uint64_t done = 0;
    for (int l = 0; l < launches; l++) {
        uint64_t part = l + 1 == launches ? n - done : n / (uint64_t)launches + (uint64_t)l * 3;
        ck_assert_msg(bnm_model_kernel_run(e->ctx, k, done, part) == BNM_OK, "%s",
                      bnm_context_message(e->ctx));
        done += part;
    }
    ck_assert(done == n);
    size_t cnt = (size_t)b->d.n_sims * (size_t)bnm_model_kernel_abi(k)->n_states *
                 (size_t)b->d.n_nodes;
    double *out = malloc(cnt * sizeof *out);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(bnm_model_kernel_read_states(e->ctx, k, out), BNM_OK);
    return out;
}

static double *interp_run(env *e, bnm_interp *ip, const batch *b, uint64_t n)
{
    ck_assert_msg(bnm_interp_set_data(e->ctx, ip, &b->d) == BNM_OK, "%s",
                  bnm_context_message(e->ctx));
    ck_assert_int_eq(bnm_interp_run(e->ctx, ip, 0, n), BNM_OK);
    size_t cnt = (size_t)b->d.n_sims * (size_t)bnm_interp_abi(ip)->n_states * (size_t)b->d.n_nodes;
    double *out = malloc(cnt * sizeof *out);
    ck_assert_ptr_nonnull(out);
    bnm_interp_read_states(ip, out);
    return out;
}

/* Largest |a-b| / max(|b|, floor) over n values; asserts all finite. */
static double max_rel(const double *a, const double *b, size_t n, double floor_)
{
    double worst = 0;
    for (size_t v = 0; v < n; v++) {
        ck_assert_msg(isfinite(a[v]) && isfinite(b[v]), "value %zu not finite: %g %g", v, a[v], b[v]);
        double r = fabs(a[v] - b[v]) / fmax(fabs(b[v]), floor_);
        if (r > worst)
            worst = r;
    }
    return worst;
}

/* Kernel vs interpreter for one model/spec on a 2-node and a 10-node batch. Returns
 * how many kernel state values sit exactly on `probe` (to prove a bound acted). */
static int compare_case(const bnm_model_ir *ir, const bnm_model_spec *spec, double x_lo,
                        double x_hi, double tol, double floor_, double probe, double lo,
                        double hi)
{
    env e;
    env_open(&e);
    bnm_model_kernel *k = kernel_make(&e, ir, spec);
    bnm_interp *ip = interp_make(&e, ir, spec);
    int hits = 0;
    const int sizes[2] = {2, 10};
    for (int c = 0; c < 2; c++) {
        batch b;
        batch_make(&b, bnm_model_kernel_abi(k), 3, sizes[c], 99 + (uint64_t)c, x_lo, x_hi);
        double *ks = kernel_run(&e, k, &b, 1, STEPS);
        double *is = interp_run(&e, ip, &b, STEPS);
        size_t n = (size_t)3 * (size_t)ir->n_states * (size_t)sizes[c];
        double r = max_rel(ks, is, n, floor_);
        fprintf(stderr, "  %s %s %s N=%d: max relative difference %.3g (tolerance %g)\n",
                ir->name, spec->precision == BNM_PRECISION_DOUBLE ? "double" : "float",
                (const char *[]){"euler", "heun", "rk4"}[bnm_model_kernel_abi(k)->integrator],
                sizes[c], r, tol);
        ck_assert_msg(r <= tol, "kernel vs interpreter: %g > %g", r, tol);
        for (size_t v = 0; v < n; v++) {
            hits += ks[v] == probe;
            ck_assert_msg(ks[v] >= lo && ks[v] <= hi, "state %g outside [%g, %g]", ks[v], lo, hi);
        }
        bnm_sim_status st[3];
        ck_assert_int_eq(bnm_model_kernel_read_status(e.ctx, k, st), BNM_OK);
        for (int s = 0; s < 3; s++)
            ck_assert(!st[s].nonfinite);
        free(ks);
        free(is);
        batch_free(&b);
    }
    bnm_interp_destroy(ip);
    bnm_model_kernel_destroy(k);
    env_close(&e);
    return hits;
}

static const bnm_param_setting wc_levels[] = {
    {"G", BNM_PARAM_PER_SIM, false, 0},
    {"k", BNM_PARAM_PER_NODE, false, 0},
    {"P", BNM_PARAM_PER_NODE, false, 0},
};

static void wc_spec(bnm_model_spec *spec, int integ, bool noise)
{
    bnm_model_spec_init_defaults(spec);
    spec->params = wc_levels;
    spec->n_params = 3;
    spec->integrator = integ;
    spec->noise = noise;
}

/* ---- tests: kernel vs interpreter ------------------------------------------------- */

static void wc_case(int integ)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_HEUN);
    bnm_model_spec spec;
    wc_spec(&spec, integ, false);
    int hits = compare_case(ir, &spec, 0.05, 0.3, 1e-9, 1e-6, 0.35, 0, 1);
    /* E saturates at its clamp bound for strongly driven nodes: the clamp was applied. */
    ck_assert_msg(hits > 0, "no state sits on the clamp bound 0.35");
    bnm_model_ir_destroy(ir);
}

START_TEST(wc_euler_matches_interp) { wc_case(BNM_INTEG_EULER); }
END_TEST
START_TEST(wc_heun_matches_interp) { wc_case(BNM_INTEG_HEUN); }
END_TEST
START_TEST(wc_rk4_matches_interp) { wc_case(BNM_INTEG_RK4); }
END_TEST

static void kur_case(int integ)
{
    bnm_model_ir *ir = kur_model(BNM_INTEG_EULER);
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    const bnm_param_setting lv[] = {{"G", BNM_PARAM_PER_SIM, false, 0},
                                    {"omega", BNM_PARAM_PER_NODE, false, 0}};
    spec.params = lv;
    spec.n_params = 2;
    spec.integrator = integ;
    spec.noise = false;
    spec.delays = true;
    /* Phases live in [0, 2 pi): floor the relative error at 1 rad. */
    compare_case(ir, &spec, 0.0, 6.0, 1e-9, 1.0, -1.0, 0, 2 * M_PI);
    bnm_model_ir_destroy(ir);
}

START_TEST(kur_delays_euler_matches_interp) { kur_case(BNM_INTEG_EULER); }
END_TEST
START_TEST(kur_delays_heun_matches_interp) { kur_case(BNM_INTEG_HEUN); }
END_TEST
START_TEST(kur_delays_rk4_matches_interp) { kur_case(BNM_INTEG_RK4); }
END_TEST

static void fx_case(int integ)
{
    bnm_model_ir *ir = fx_model(BNM_INTEG_EULER);
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    const bnm_param_setting lv[] = {{"G", BNM_PARAM_PER_SIM, false, 0},
                                    {"q", BNM_PARAM_PER_NODE, false, 0}};
    spec.params = lv;
    spec.n_params = 2;
    spec.integrator = integ;
    /* the NODE-level condition is hoisted as a 1/0 value, only tested in the loop */
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    char *src = NULL;
    ck_assert_int_eq(bnm_codegen_emit(ctx, ir, &spec, &src), BNM_OK);
    const char *loop = strstr(src, "for (uint nmm_m = 0;");
    const char *cond = strstr(src, "(((p_G > 0.40000000000000002) || (p_q < 0.5)) ? NMM_ONE : NMM_ZERO)");
    ck_assert_msg(loop && cond && cond < loop, "condition not hoisted:\n%s", src);
    ck_assert_ptr_nonnull(strstr(loop, " != NMM_ZERO) ? "));
    free(src);
    bnm_context_destroy(ctx);
    compare_case(ir, &spec, 0.05, 0.3, 1e-9, 1e-3, NAN, -1, 1);
    bnm_model_ir_destroy(ir);
}

START_TEST(builtins_heun_match_interp) { fx_case(BNM_INTEG_HEUN); }
END_TEST
START_TEST(builtins_rk4_match_interp) { fx_case(BNM_INTEG_RK4); }
END_TEST

/* Noise on: same z on both sides (device and host RNG implement one mapping). */
START_TEST(noise_matches_interp)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_EULER);
    bnm_model_spec spec;
    wc_spec(&spec, BNM_INTEGRATOR_MODEL, true);
    compare_case(ir, &spec, 0.05, 0.3, 1e-9, 1e-6, 0.35, 0, 1);
    /* heun with noise and delays, on the phase model */
    bnm_model_ir *kir = kur_model(BNM_INTEG_HEUN);
    bnm_model_spec ks;
    bnm_model_spec_init_defaults(&ks);
    ks.delays = true;
    compare_case(kir, &ks, 0.0, 6.0, 1e-9, 1.0, -1.0, 0, 2 * M_PI);
    bnm_model_ir_destroy(kir);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* Noise must matter: the same batch with noise on and off differs. */
START_TEST(noise_changes_result)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_EULER);
    env e;
    env_open(&e);
    bnm_model_spec on, off;
    wc_spec(&on, BNM_INTEGRATOR_MODEL, true);
    wc_spec(&off, BNM_INTEGRATOR_MODEL, false);
    bnm_interp *a = interp_make(&e, ir, &on), *b = interp_make(&e, ir, &off);
    batch bt;
    batch_make(&bt, bnm_interp_abi(a), 2, 4, 5, 0.05, 0.3);
    double *xa = interp_run(&e, a, &bt, 200), *xb = interp_run(&e, b, &bt, 200);
    ck_assert(max_rel(xa, xb, 2 * 2 * 4, 1e-6) > 1e-4);
    /* a non-finite initial state is refused, naming the simulation, state and node */
    bt.x[1 * 2 * 4 + 1 * 4 + 2] = NAN;
    ck_assert_int_eq(bnm_interp_set_data(e.ctx, a, &bt.d), BNM_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(e.ctx), "simulation 1: initial I at node 2"));
    free(xa);
    free(xb);
    batch_free(&bt);
    bnm_interp_destroy(a);
    bnm_interp_destroy(b);
    env_close(&e);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* Float kernel vs double interpreter. Each float operation errs by up to 6e-8
 * relative; WC relaxes with time constants of 10-20 ms (100-200 steps), so errors are
 * damped and stay near a few hundred float ulps of the O(0.1-1) states; the clamp and
 * the sigmoid saturations keep them bounded. 2e-4 absolute (relative to max(|x|, 1))
 * is ~1e3 float ulps: far above rounding noise, far below a modelling error (>1e-2). */
START_TEST(float_matches_interp)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_HEUN);
    bnm_model_spec spec;
    wc_spec(&spec, BNM_INTEGRATOR_MODEL, false);
    spec.precision = BNM_PRECISION_FLOAT;
    compare_case(ir, &spec, 0.05, 0.3, 2e-4, 1.0, 0.35f, 0, 1);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* The shipped models (nmm-format.md 16) through the real front end, noise on, G per
 * simulation and one regional param per node: kernel vs interpreter in double. */
static void library_case(const char *name, const char *per_node, double x_lo, double x_hi,
                         double floor_)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "CLBNM_SOURCE_ROOT is not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s.nmm", root, name);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    struct bnm_model_ir *ir = NULL;
    bnm_status st = bnm_nmm_load(ctx, path, &ir, NULL);
    ck_assert_msg(st == BNM_OK, "%s: %s", path, bnm_context_message(ctx));
    bnm_context_destroy(ctx);
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    const bnm_param_setting lv[] = {{"G", BNM_PARAM_PER_SIM, false, 0},
                                    {per_node, BNM_PARAM_PER_NODE, false, 0}};
    spec.params = lv;
    spec.n_params = 2;
    compare_case(ir, &spec, x_lo, x_hi, 1e-9, floor_, NAN, -INFINITY, INFINITY);
    bnm_model_ir_destroy(ir);
}

START_TEST(library_rww) { library_case("rww", "w_p", 0.001, 0.2, 1e-6); }
END_TEST
START_TEST(library_kuramoto) { library_case("kuramoto", "omega", 0.0, 6.0, 1.0); }
END_TEST
START_TEST(library_jansen_rit) { library_case("jansen_rit", "J", 0.0, 0.1, 1e-3); }
END_TEST
START_TEST(library_wilson_cowan) { library_case("wilson_cowan", "P_E", 0.0, 0.3, 1e-6); }
END_TEST

/* N compiled in: a literal in the source, data of another size refused. */
START_TEST(compiled_in_node_count)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_EULER);
    bnm_model_spec spec;
    wc_spec(&spec, BNM_INTEGRATOR_MODEL, true);
    spec.n_nodes = 10;
    env e;
    env_open(&e);
    bnm_model_kernel *k = kernel_make(&e, ir, &spec);
    ck_assert_ptr_nonnull(strstr(bnm_model_kernel_source(k), "const ulong nmm_nn = 10ul;"));
    bnm_interp *ip = interp_make(&e, ir, &spec);
    batch small, b;
    batch_make(&small, bnm_model_kernel_abi(k), 2, 2, 1, 0.05, 0.3);
    ck_assert_int_eq(bnm_model_kernel_set_data(e.ctx, k, &small.d), BNM_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(e.ctx), "N = 10"));
    batch_make(&b, bnm_model_kernel_abi(k), 2, 10, 2, 0.05, 0.3);
    double *ks = kernel_run(&e, k, &b, 1, 2000);
    double *is = interp_run(&e, ip, &b, 2000);
    ck_assert(max_rel(ks, is, 2 * 2 * 10, 1e-6) <= 1e-9);
    free(ks);
    free(is);
    batch_free(&small);
    batch_free(&b);
    bnm_interp_destroy(ip);
    bnm_model_kernel_destroy(k);
    env_close(&e);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* Section 9.4: d = rint(D/dt) half to even; cubnm: max(0, rint(D/dt) - 1). */
START_TEST(delay_rounding_rules)
{
    bnm_model_ir *ir = kur_model(BNM_INTEG_EULER);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    spec.delays = true;
    /* 2 nodes, dt = 0.5: D/dt = 0, 5 (2.5 -> 2), 7 (3.5 -> 4), 2.4 -> 2 */
    const double D[4] = {0.0, 1.25, 1.75, 1.2};
    const double W[4] = {0, 1, 1, 0};
    const double x[2] = {0, 0};
    bnm_model_data d = {0};
    d.n_sims = 1;
    d.n_nodes = 2;
    d.dt = 0.5;
    d.n_connectomes = 1;
    d.weights = W;
    d.n_delay_mats = 1;
    d.delays = D;
    d.states = x;
    const int nearest[4] = {0, 2, 4, 2}, cubnm[4] = {0, 1, 3, 1};
    for (int r = 0; r < 2; r++) {
        spec.delay_rounding = r ? BNM_DELAY_CUBNM : BNM_DELAY_NEAREST;
        bnm_cg_spec *rs = NULL;
        ck_assert_int_eq(bnm_cg_spec_resolve(ctx, ir, &spec, &rs), BNM_OK);
        int *steps = NULL;
        uint32_t hl = 0;
        ck_assert_int_eq(bnm_cg_check_data(ctx, rs, &d, &steps, &hl), BNM_OK);
        for (int k = 0; k < 4; k++)
            ck_assert_int_eq(steps[k], r ? cubnm[k] : nearest[k]);
        ck_assert_uint_eq(hl, r ? 4u : 5u);
        free(steps);
        /* a negative delay is a data error naming the entry */
        const double bad[4] = {0, -1, 0, 0};
        d.delays = bad;
        ck_assert_int_eq(bnm_cg_check_data(ctx, rs, &d, &steps, &hl), BNM_ERR_DATA);
        ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "negative"));
        d.delays = D;
        /* other batch errors name what is wrong */
        const double nanw[4] = {0, NAN, 1, 0};
        d.weights = nanw;
        ck_assert_int_eq(bnm_cg_check_data(ctx, rs, &d, &steps, &hl), BNM_ERR_DATA);
        ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "from node 1 to node 0"));
        d.weights = W;
        const int ci = 3;
        d.conn_index = &ci;
        ck_assert_int_eq(bnm_cg_check_data(ctx, rs, &d, &steps, &hl), BNM_ERR_DATA);
        ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "connectome index 3"));
        d.conn_index = NULL;
        d.dt = 0;
        ck_assert_int_eq(bnm_cg_check_data(ctx, rs, &d, &steps, &hl), BNM_ERR_DATA);
        d.dt = 0.5;
        bnm_cg_spec_destroy(rs);
    }
    bnm_context_destroy(ctx);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* Every engine `#line n "<clbnm>"` names the physical line that follows it, so errors
 * in engine code point into the dumped source. */
START_TEST(engine_line_directives_are_exact)
{
    bnm_model_ir *ir = kur_model(BNM_INTEG_HEUN);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    spec.delays = true;
    char *src = NULL;
    ck_assert_int_eq(bnm_codegen_emit(ctx, ir, &spec, &src), BNM_OK);
    int line = 1, seen = 0;
    for (const char *p = src; *p; p++) {
        int n, used = 0;
        if ((p == src || p[-1] == '\n') && sscanf(p, "#line %d \"<clbnm>\"%n", &n, &used) == 1 &&
            used > 0) {
            ck_assert_int_eq(n, line + 1);
            seen++;
        }
        if (*p == '\n')
            line++;
    }
    ck_assert_int_gt(seen, 5);
    free(src);
    bnm_context_destroy(ctx);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* uniform(0, 2*pi) initial phases of kuramoto.nmm: RNG.md section 3 addressing. */
START_TEST(initial_states_from_declarations)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    char path[1024];
    snprintf(path, sizeof path, "%s/models/kuramoto.nmm", root);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    struct bnm_model_ir *ir = NULL;
    ck_assert_msg(bnm_nmm_load(ctx, path, &ir, NULL) == BNM_OK, "%s", bnm_context_message(ctx));
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    const bnm_param_setting g = {"G", BNM_PARAM_FIXED, true, 1.0};
    spec.params = &g;
    spec.n_params = 1;
    const double W[9] = {0};
    const uint64_t seeds[3] = {7, 7, 7};
    const uint32_t nids[3] = {0, 0, 1};
    double x[3 * 3];
    bnm_model_data d = {0};
    d.n_sims = 3;
    d.n_nodes = 3;
    d.dt = 0.1;
    d.n_connectomes = 1;
    d.weights = W;
    d.seeds = seeds;
    d.noise_ids = nids;
    ck_assert_int_eq(bnm_model_initial_states(ctx, ir, &spec, &d, x), BNM_OK);
    for (int i = 0; i < 3; i++) {
        double u = bnm_rng_uniform(7, 0, (uint32_t)i, 0, bnm_rng_stream_init(0));
        ck_assert_double_eq(x[i], 0 + (2 * M_PI - 0) * u);
        ck_assert(x[i] >= 0 && x[i] < 2 * M_PI);
        ck_assert_double_eq(x[3 + i], x[i]); /* same seed and noise id: shared */
        ck_assert(x[6 + i] != x[i]);         /* another noise id: its own draw */
    }
    ck_assert(x[0] != x[1] && x[1] != x[2]);
    /* the descriptor carries the file's cites and hash */
    bnm_model_abi *abi = NULL;
    ck_assert_int_eq(bnm_model_abi_create(ctx, ir, &spec, &abi), BNM_OK);
    char *json = bnm_model_abi_to_json(abi);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"cites\": [\"Kuramoto 1984; Cabral et al. 2011 NeuroImage 57:130\"]"),
                  "%s", json);
    char hash[64];
    snprintf(hash, sizeof hash, "\"model_fnv1a64\": \"%016llx\"",
             (unsigned long long)abi->source_hash);
    ck_assert_ptr_nonnull(strstr(json, hash));
    ck_assert_str_eq(abi->kernel_name, "nmm_kuramoto_integrate");
    free(json);
    bnm_model_abi_destroy(abi);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(inline_nmm_matches_interp)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    struct bnm_model_ir *ir = NULL;
    char *diag = NULL;
    bnm_status st = bnm_nmm_parse(ctx, "mix.nmm", mix_nmm, strlen(mix_nmm), &ir, &diag);
    ck_assert_msg(st == BNM_OK, "%s", diag ? diag : bnm_context_message(ctx));
    free(diag);
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    const bnm_param_setting lv[] = {{"G", BNM_PARAM_PER_SIM, false, 0},
                                    {"k", BNM_PARAM_PER_NODE, false, 0},
                                    {"s", BNM_PARAM_PER_NODE, false, 0}};
    spec.params = lv;
    spec.n_params = 3;
    char *src = NULL;
    ck_assert_int_eq(bnm_codegen_emit(ctx, ir, &spec, &src), BNM_OK);
    const char *loop = strstr(src, "for (uint nmm_m = 0;");
    const char *gain = strstr(src, "const nmm_real l_gain = ((p_G * 8.0) / 8.0);");
    const char *kk = strstr(src, "const nmm_real l_kk = ((p_k * p_k) + l_gain);");
    ck_assert_msg(loop && gain && kk && gain < kk && kk < loop, "lets not hoisted:\n%s", src);
    ck_assert_ptr_null(strstr(loop, "(p_k * p_k)")); /* only loaded from the node cache */
    ck_assert_ptr_nonnull(strstr(loop, "const nmm_real l_out = "));
    ck_assert_ptr_nonnull(strstr(src, "#line 16 \"mix.nmm\""));
    free(src);
    bnm_context_destroy(ctx);
    compare_case(ir, &spec, -0.5, 0.5, 1e-9, 1e-6, 2.0, -2, 2);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* ---- tests: launch splitting, batch independence, health -------------------------- */

START_TEST(launch_split_and_batch_position_are_bitwise)
{
    bnm_model_ir *ir = kur_model(BNM_INTEG_HEUN);
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    const bnm_param_setting lv[] = {{"G", BNM_PARAM_PER_SIM, false, 0},
                                    {"omega", BNM_PARAM_PER_NODE, false, 0}};
    spec.params = lv;
    spec.n_params = 2;
    spec.delays = true; /* noise on, heun */
    env e;
    env_open(&e);
    bnm_model_kernel *k = kernel_make(&e, ir, &spec);
    const bnm_model_abi *abi = bnm_model_kernel_abi(k);
    batch b;
    batch_make(&b, abi, 4, 6, 7, 0.0, 6.0);
    size_t n = (size_t)4 * 6;
    double *one = kernel_run(&e, k, &b, 1, STEPS);
    double *seven = kernel_run(&e, k, &b, 7, STEPS);
    ck_assert_msg(memcmp(one, seven, n * sizeof *one) == 0, "7 launches differ from 1");
    /* A split run that skips ahead is refused while a delay history is live. */
    ck_assert_int_eq(bnm_model_kernel_run(e.ctx, k, 5, 10), BNM_ERR_INVALID_ARG);

    /* Simulation 2 alone, then inside a batch of 5 at slot 3 among different ones. */
    batch alone, big;
    batch_make(&alone, abi, 1, 6, 8, 0.0, 6.0);
    batch_copy_sim(&alone, 0, &b, 2, abi);
    batch_make(&big, abi, 5, 6, 9, 0.0, 6.0);
    batch_copy_sim(&big, 3, &b, 2, abi);
    double *xa = kernel_run(&e, k, &alone, 3, STEPS);
    double *xb = kernel_run(&e, k, &big, 1, STEPS);
    ck_assert_msg(memcmp(xa, one + 2 * 6, 6 * sizeof *xa) == 0, "alone differs from slot 2");
    ck_assert_msg(memcmp(xb + 3 * 6, one + 2 * 6, 6 * sizeof *xa) == 0,
                  "slot 3 of a batch of 5 differs from slot 2 of a batch of 4");
    /* and the others really were different simulations */
    ck_assert(memcmp(xb, one + 2 * 6, 6 * sizeof *xb) != 0);
    free(xa);
    free(xb);
    free(one);
    free(seven);
    batch_free(&alone);
    batch_free(&big);
    batch_free(&b);
    bnm_model_kernel_destroy(k);
    env_close(&e);
    bnm_model_ir_destroy(ir);
}
END_TEST

START_TEST(nonfinite_freezes_and_reports_step)
{
    bnm_model_ir *ir = blow_model();
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    const bnm_param_setting lv[] = {{"a", BNM_PARAM_PER_SIM, false, 0}};
    spec.params = lv;
    spec.n_params = 1;
    env e;
    env_open(&e);
    bnm_model_kernel *k = kernel_make(&e, ir, &spec);
    bnm_interp *ip = interp_make(&e, ir, &spec);
    batch b;
    batch_make(&b, bnm_model_kernel_abi(k), 2, 2, 3, 1.0, 1.0);
    b.sp[0] = 1.0;  /* blows up near t = 1 (step ~10) */
    b.sp[1] = -1.0; /* decays */
    double *ks = kernel_run(&e, k, &b, 2, 100);
    double *is = interp_run(&e, ip, &b, 100);
    bnm_sim_status kst[2], ist[2];
    ck_assert_int_eq(bnm_model_kernel_read_status(e.ctx, k, kst), BNM_OK);
    bnm_interp_read_status(ip, ist);
    ck_assert(kst[0].nonfinite && ist[0].nonfinite);
    ck_assert(!kst[1].nonfinite && !ist[1].nonfinite);
    ck_assert_uint_eq(kst[0].first_bad_step, ist[0].first_bad_step);
    ck_assert(kst[0].first_bad_step > 5 && kst[0].first_bad_step < 40);
    /* frozen at the bad step, not overwritten by later steps: both sides agree */
    for (int v = 0; v < 2; v++)
        ck_assert(!isfinite(ks[v]) && !isfinite(is[v]));
    ck_assert(max_rel(ks + 2, is + 2, 2, 1e-6) < 1e-9);
    free(ks);
    free(is);
    batch_free(&b);
    bnm_interp_destroy(ip);
    bnm_model_kernel_destroy(k);
    env_close(&e);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* ---- tests: generated text, spec errors, ABI, build-error mapping ----------------- */

START_TEST(hoisting_in_source)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_EULER);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_spec spec;
    wc_spec(&spec, BNM_INTEGRATOR_MODEL, true);
    char *src = NULL;
    ck_assert_msg(bnm_codegen_emit(ctx, ir, &spec, &src) == BNM_OK, "%s", bnm_context_message(ctx));
    const char *loop = strstr(src, "for (uint nmm_m = 0;");
    ck_assert_ptr_nonnull(loop);
    /* SIM subtree (G*tau)/10 with tau folded: computed once, before the loop */
    const char *hs = strstr(src, "((p_G * 10.0) / 10.0)");
    ck_assert_msg(hs && hs < loop, "SIM subtree not hoisted:\n%s", src);
    ck_assert_ptr_null(strstr(loop, "p_G"));
    /* NODE subtree k*P: into the node cache before the loop, only loaded inside it */
    const char *hn = strstr(src, "(p_k * p_P)");
    ck_assert_msg(hn && hn < loop, "NODE subtree not hoisted");
    ck_assert_ptr_null(strstr(loop, "(p_k * p_P)"));
    ck_assert_ptr_nonnull(strstr(loop, "nmm_hn0"));
    /* LIT subtree (1 - 0.25) folded; tau/a folded into literals */
    ck_assert_ptr_nonnull(strstr(src, "0.75"));
    ck_assert_ptr_null(strstr(src, "p_tau"));
    /* round-trip literal of a non-representable constant */
    ck_assert_ptr_nonnull(strstr(src, "1.2 *") ? strstr(src, "1.2 *") : strstr(src, "1.2"));
    /* no contraction, #line mapping, mangled names */
    ck_assert_ptr_nonnull(strstr(src, "#pragma OPENCL FP_CONTRACT OFF"));
    ck_assert_ptr_nonnull(strstr(src, "__kernel void nmm_wc_integrate("));
    ck_assert_ptr_nonnull(strstr(src, "#line 13 \"x.nmm\""));
    ck_assert_ptr_nonnull(strstr(src, "#line 11 \"x.nmm\"\nconst nmm_real l_drive"));
    ck_assert_ptr_nonnull(strstr(src, "\"<clbnm>\""));
    ck_assert_ptr_nonnull(strstr(src, "s_E"));
    ck_assert_ptr_nonnull(strstr(src, "c_c = "));
    free(src);

    /* float: literals carry the f suffix and 9 significant digits */
    spec.precision = BNM_PRECISION_FLOAT;
    ck_assert_int_eq(bnm_codegen_emit(ctx, ir, &spec, &src), BNM_OK);
    ck_assert_ptr_nonnull(strstr(src, "typedef float nmm_real;"));
    ck_assert_ptr_nonnull(strstr(src, "1.20000005f"));
    ck_assert_ptr_null(strstr(src, "cl_khr_fp64"));
    free(src);
    bnm_context_destroy(ctx);
    bnm_model_ir_destroy(ir);
}
END_TEST

static bnm_status try_spec(bnm_context *ctx, const bnm_model_ir *ir, const bnm_param_setting *ps,
                           int n, int integ, bool noise)
{
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    spec.params = ps;
    spec.n_params = n;
    spec.integrator = integ;
    spec.noise = noise;
    char *src = NULL;
    bnm_status st = bnm_codegen_emit(ctx, ir, &spec, &src);
    free(src);
    return st;
}

START_TEST(spec_errors_are_clear)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_EULER);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    /* required G unset: names its declaration line */
    ck_assert_int_eq(try_spec(ctx, ir, NULL, 0, -1, true), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "x.nmm:2"));
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "'G'"));
    /* fixed value given: fine */
    bnm_param_setting g = {"G", BNM_PARAM_FIXED, true, 0.3};
    ck_assert_int_eq(try_spec(ctx, ir, &g, 1, -1, true), BNM_OK);
    /* per_node on a non-regional param */
    bnm_param_setting gn = {"G", BNM_PARAM_PER_NODE, false, 0};
    ck_assert_int_eq(try_spec(ctx, ir, &gn, 1, -1, true), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "regional"));
    /* const param varied */
    bnm_param_setting two[] = {{"G", BNM_PARAM_PER_SIM, false, 0}, {"tau", BNM_PARAM_PER_SIM, false, 0}};
    ck_assert_int_eq(try_spec(ctx, ir, two, 2, -1, true), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "const"));
    /* unknown name */
    bnm_param_setting bad[] = {{"G", BNM_PARAM_PER_SIM, false, 0}, {"nope", BNM_PARAM_PER_SIM, false, 0}};
    ck_assert_int_eq(try_spec(ctx, ir, bad, 2, -1, true), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "nope"));
    /* rk4 with noise is rejected, without noise accepted */
    ck_assert_int_eq(try_spec(ctx, ir, &g, 1, BNM_INTEG_RK4, true), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "rk4"));
    ck_assert_int_eq(try_spec(ctx, ir, &g, 1, BNM_INTEG_RK4, false), BNM_OK);
    /* rk4 accepted when every noise amplitude folds to 0 */
    bnm_param_setting z[] = {{"G", BNM_PARAM_FIXED, true, 0.3}, {"sigma", BNM_PARAM_FIXED, true, 0}};
    ck_assert_int_eq(try_spec(ctx, ir, z, 2, BNM_INTEG_RK4, true), BNM_OK);
    bnm_context_destroy(ctx);
    bnm_model_ir_destroy(ir);
}
END_TEST

START_TEST(abi_descriptor_binds_by_name)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_HEUN);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_model_spec spec;
    wc_spec(&spec, BNM_INTEGRATOR_MODEL, true);
    bnm_model_abi *abi = NULL;
    ck_assert_int_eq(bnm_model_abi_create(ctx, ir, &spec, &abi), BNM_OK);
    ck_assert_int_eq(abi->n_sim_params, 1);
    ck_assert_int_eq(abi->n_node_params, 2);
    const bnm_abi_entry *G = bnm_model_abi_find(abi, BNM_ABI_PARAM, "G");
    const bnm_abi_entry *P = bnm_model_abi_find(abi, BNM_ABI_PARAM, "P");
    const bnm_abi_entry *tau = bnm_model_abi_find(abi, BNM_ABI_PARAM, "tau");
    const bnm_abi_entry *E = bnm_model_abi_find(abi, BNM_ABI_STATE, "E");
    const bnm_abi_entry *I = bnm_model_abi_find(abi, BNM_ABI_STATE, "I");
    const bnm_abi_entry *drive = bnm_model_abi_find(abi, BNM_ABI_LET, "drive");
    ck_assert(G && P && tau && E && I && drive);
    ck_assert_int_eq(G->sim_slot, 0);
    ck_assert_int_eq(P->node_slot, 1);
    ck_assert_int_eq(tau->param_level, BNM_PARAM_FIXED);
    ck_assert(tau->value == 10.0);
    ck_assert_int_eq(E->state_slot, 0);
    ck_assert_int_eq(E->transmit_slot, 0);
    ck_assert_int_eq(I->transmit_slot, -1);
    ck_assert_int_eq(drive->level, BNM_LEVEL_STEP);
    ck_assert_str_eq(E->mangled, "s_E");
    ck_assert(E->noise_stream >= 0 && I->noise_stream >= 0 && E->noise_stream != I->noise_stream);
    ck_assert_int_eq(abi->n_transmit, 1);
    ck_assert_int_eq(abi->integrator, BNM_INTEG_HEUN);
    ck_assert_str_eq(abi->kernel_name, "nmm_wc_integrate");
    char *json = bnm_model_abi_to_json(abi);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"name\": \"G\", \"mangled\": \"p_G\", \"kind\": \"param\", "
                                       "\"level\": \"sim\", \"buffer\": \"sim_params\", \"slot\": 0"));
    ck_assert_ptr_nonnull(strstr(json, "\"transmit\": [\"E\"]"));
    free(json);
    bnm_model_abi_destroy(abi);
    bnm_context_destroy(ctx);
    bnm_model_ir_destroy(ir);
}
END_TEST

START_TEST(build_error_maps_to_model_line)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_EULER);
    env e;
    env_open(&e);
    bnm_model_spec spec;
    wc_spec(&spec, BNM_INTEGRATOR_MODEL, false);
    char *src = NULL;
    ck_assert_int_eq(bnm_codegen_emit(e.ctx, ir, &spec, &src), BNM_OK);
    const char *dir = "#line 12 \"x.nmm\"\n";
    char *at = strstr(src, dir);
    ck_assert_ptr_nonnull(at);
    size_t pre = (size_t)(at - src) + strlen(dir);
    const char *inject = "nmm_no_such_identifier + ";
    char *bad = malloc(strlen(src) + strlen(inject) + 1);
    ck_assert_ptr_nonnull(bad);
    memcpy(bad, src, pre);
    strcpy(bad + pre, inject);
    strcat(bad, src + pre);
    cl_program prog = NULL;
    char *log = NULL;
    bnm_status st = bnm_program_build(e.ctx, e.cl, NULL, bad, NULL, &prog, &log);
    ck_assert_int_eq(st, BNM_ERR_BUILD);
    ck_assert_msg(log && strstr(log, "x.nmm:12"), "log does not point at x.nmm:12:\n%s",
                  log ? log : "(none)");
    ck_assert_ptr_nonnull(strstr(bnm_context_message(e.ctx), "x.nmm:12"));
    /* the launcher's summary picks that error line */
    char *first = NULL, *shown = NULL;
    bnm_cg_build_diag(ir, log, &first, &shown);
    ck_assert_msg(first && strncmp(first, "x.nmm:12:", 9) == 0, "summary: %s",
                  first ? first : "(none)");
    ck_assert_ptr_nonnull(strstr(first, "nmm_no_such_identifier"));
    free(first);
    free(shown);
    free(log);
    free(bad);
    free(src);
    env_close(&e);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* With the model's text at hand the error is rendered at its source line (section 13). */
START_TEST(build_diag_renders_model_line)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    struct bnm_model_ir *ir = NULL;
    ck_assert_int_eq(bnm_nmm_parse(ctx, "mix.nmm", mix_nmm, strlen(mix_nmm), &ir, NULL), BNM_OK);
    const char *log = "<clbnm>:40:3: warning: unused variable\n"
                      "mix.nmm:16:30: warning: something harmless\n"
                      "mix.nmm:16:44: error: use of undeclared identifier 'oops'\n"
                      "1 error generated.\n";
    char *first = NULL, *shown = NULL;
    bnm_cg_build_diag(ir, log, &first, &shown);
    ck_assert_str_eq(first, "mix.nmm:16:44: error: use of undeclared identifier 'oops'");
    ck_assert_msg(shown && strstr(shown, "mix.nmm:16:") && strstr(shown, "undeclared identifier") &&
                      strstr(shown, "d/dt x = (-x + kk * c"),
                  "rendered: %s", shown ? shown : "(none)");
    free(first);
    free(shown);
    /* PoCL's order, and the file(line) form of other compilers */
    bnm_cg_build_diag(ir, "error: mix.nmm:16:8: use of undeclared identifier 'oops'\n", &first,
                      &shown);
    ck_assert_str_eq(first, "mix.nmm:16:8: use of undeclared identifier 'oops'");
    ck_assert_ptr_nonnull(shown);
    ck_assert_ptr_nonnull(strstr(shown, "d/dt x = (-x + kk * c"));
    free(first);
    free(shown);
    bnm_cg_build_diag(ir, "mix.nmm(17): error: bad thing\n", &first, &shown);
    ck_assert_str_eq(first, "mix.nmm(17): error: bad thing");
    ck_assert_msg(shown && strstr(shown, "mix.nmm:17:1: error: bad thing") &&
                      strstr(shown, "d/dt y = (x - y)"),
                  "rendered: %s", shown ? shown : "(none)");
    free(first);
    free(shown);
    bnm_cg_build_diag(ir, "no model line here\n", &first, &shown);
    ck_assert_ptr_null(first);
    ck_assert_ptr_null(shown);
    bnm_model_ir_destroy(ir);
    bnm_context_destroy(ctx);
}
END_TEST

/* bnm_interp_eval against hand computation on a 2-node network. */
START_TEST(interp_eval_lets_and_couplings)
{
    bnm_model_ir *ir = wc_model(BNM_INTEG_EULER);
    env e;
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(bnm_context_create(&e.ctx), BNM_OK);
    bnm_model_spec spec;
    wc_spec(&spec, BNM_INTEGRATOR_MODEL, false);
    bnm_interp *ip = interp_make(&e, ir, &spec);
    batch b;
    batch_make(&b, bnm_interp_abi(ip), 1, 2, 1, 0.1, 0.2);
    b.sp[0] = 0.7;                     /* G */
    b.np[0] = 1.1, b.np[1] = 1.3;      /* k at nodes 0, 1 */
    b.np[2] = 0.2, b.np[3] = 0.6;      /* P */
    ck_assert_int_eq(bnm_interp_set_data(e.ctx, ip, &b.d), BNM_OK);
    const double x[4] = {0.1, 0.3, 0.05, 0.02}; /* E0 E1 I0 I1 */
    double c[2], l[4];
    ck_assert_int_eq(bnm_interp_eval(e.ctx, ip, 0, x, 0.0, c, l), BNM_OK);
    const double *W = b.w; /* connectome 0, [target][source] */
    for (int i = 0; i < 2; i++) {
        double ci = W[i * 2 + 0] * x[0] + W[i * 2 + 1] * x[1];
        ck_assert_double_eq_tol(c[i], ci, 1e-15);
        double k = b.np[i], P = b.np[2 + i];
        double drive = k * x[i] - 1.2 * x[2 + i] + ((0.7 * 10) / 10) * ci + k * P;
        ck_assert_double_eq_tol(l[i], drive, 1e-14);
        ck_assert_double_eq_tol(l[2 + i], 0.75 / (1 + exp(-4 * (x[i] - 0.3))), 1e-14);
    }
    batch_free(&b);
    bnm_interp_destroy(ip);
    bnm_context_destroy(e.ctx);
    bnm_model_ir_destroy(ir);
}
END_TEST

/* A device without cl_khr_fp64 (PoCL's has it, so the device is described by hand):
 * double is refused with the device's name and the way out; float passes. */
START_TEST(double_refused_without_fp64)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_device_info dev;
    memset(&dev, 0, sizeof dev);
    snprintf(dev.name, sizeof dev.name, "Imaginary GPU 9000");
    dev.kind = BNM_DEVICE_GPU;
    dev.fp64 = false;
    ck_assert_int_eq(bnm_cg_check_precision(ctx, &dev, "rww", BNM_PRECISION_DOUBLE),
                     BNM_ERR_UNSUPPORTED);
    const char *msg = bnm_context_message(ctx);
    ck_assert_msg(strstr(msg, "Imaginary GPU 9000") && strstr(msg, "cl_khr_fp64") &&
                      strstr(msg, "--precision float"),
                  "message: %s", msg);
    ck_assert_int_eq(bnm_cg_check_precision(ctx, &dev, "rww", BNM_PRECISION_FLOAT), BNM_OK);
    dev.fp64 = true;
    ck_assert_int_eq(bnm_cg_check_precision(ctx, &dev, "rww", BNM_PRECISION_DOUBLE), BNM_OK);
    bnm_context_destroy(ctx);
}
END_TEST

static Suite *codegen_suite(void)
{
    Suite *s = suite_create("codegen");
    TCase *text = tcase_create("text");
    tcase_add_test(text, hoisting_in_source);
    tcase_add_test(text, spec_errors_are_clear);
    tcase_add_test(text, abi_descriptor_binds_by_name);
    tcase_add_test(text, interp_eval_lets_and_couplings);
    tcase_add_test(text, noise_changes_result);
    tcase_add_test(text, delay_rounding_rules);
    tcase_add_test(text, engine_line_directives_are_exact);
    tcase_add_test(text, initial_states_from_declarations);
    tcase_add_test(text, build_diag_renders_model_line);
    tcase_add_test(text, double_refused_without_fp64);
    suite_add_tcase(s, text);
    TCase *dev = tcase_create("device");
    tcase_set_timeout(dev, 600);
    tcase_add_test(dev, wc_euler_matches_interp);
    tcase_add_test(dev, wc_heun_matches_interp);
    tcase_add_test(dev, wc_rk4_matches_interp);
    tcase_add_test(dev, kur_delays_euler_matches_interp);
    tcase_add_test(dev, kur_delays_heun_matches_interp);
    tcase_add_test(dev, kur_delays_rk4_matches_interp);
    tcase_add_test(dev, builtins_heun_match_interp);
    tcase_add_test(dev, builtins_rk4_match_interp);
    tcase_add_test(dev, noise_matches_interp);
    tcase_add_test(dev, float_matches_interp);
    tcase_add_test(dev, launch_split_and_batch_position_are_bitwise);
    tcase_add_test(dev, nonfinite_freezes_and_reports_step);
    tcase_add_test(dev, build_error_maps_to_model_line);
    tcase_add_test(dev, compiled_in_node_count);
    tcase_add_test(dev, inline_nmm_matches_interp);
    tcase_add_test(dev, library_rww);
    tcase_add_test(dev, library_kuramoto);
    tcase_add_test(dev, library_jansen_rit);
    tcase_add_test(dev, library_wilson_cowan);
    suite_add_tcase(s, dev);
    return s;
}

/* Under LeakSanitizer, PoCL's dlopen'ed kernel libraries leave the main thread's dynamic
 * TLS table with stale ranges that crash LSan's tracer at exit ("Tracer caught signal
 * 11", seen after some kernel builds). TLS is not where clBNM keeps heap pointers, so
 * the leak check skips it for this runner. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "use_tls=0";
}

int main(void)
{
    /* A private kernel cache: repeated builds of one kernel in the suite are hits. */
    char dir[] = "/tmp/clbnm-codegen-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    setenv("CLBNM_CACHE_DIR", dir, 1);
    SRunner *sr = srunner_create(codegen_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return failed ? 1 : 0;
}
