/* CMA-ES (optim/): the update equations against an independent evaluation of Hansen's
 * tutorial, the boundary transform, reproducibility (seeds, interleaving, save/restore),
 * every stop criterion, and convergence speed on the standard benchmarks. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/clbnm.h"
#include "clbnm/cmaes.h"
#include "cmaes_bench.h"
#include "cmaes_internal.h"

static bnm_cmaes *make(size_t n, unsigned popsize, uint64_t seed, bool bounded)
{
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = n;
    cfg.popsize = popsize;
    cfg.seed = seed;
    cfg.bounded = bounded;
    bnm_cmaes *es = NULL;
    ck_assert_int_eq(bnm_cmaes_create(NULL, &cfg, &es), BNM_OK);
    return es;
}

/* One generation on fn; the points asked go to X when X is not NULL. */
static void step(bnm_cmaes *es, bnm_cmaes_bench_fn fn, double *X)
{
    size_t n = bnm_cmaes_dim(es);
    unsigned lam = bnm_cmaes_popsize(es);
    double *x = X ? X : malloc(lam * n * sizeof *x), *f = malloc(lam * sizeof *f), tmp[64];
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(f);
    bnm_cmaes_ask(es, x);
    for (unsigned k = 0; k < lam; k++) {
        /* Rosenbrock shifted into the box when bounded, so the optimum is interior. */
        double p[64];
        for (size_t i = 0; i < n; i++)
            p[i] = es->bounded ? 4.0 * x[k * n + i] - 1.5 : x[k * n + i];
        f[k] = bnm_cmaes_bench_eval(fn, n, p, NULL, tmp);
    }
    ck_assert_int_eq(bnm_cmaes_tell(NULL, es, f), BNM_OK);
    free(f);
    if (!X)
        free(x);
}

/* ---- configuration ----------------------------------------------------------------- */

START_TEST(popsize_rules)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = 4;
    cfg.popsize = 1;
    bnm_cmaes *es = (bnm_cmaes *)&cfg; /* must be reset to NULL on failure */
    ck_assert_int_eq(bnm_cmaes_create(ctx, &cfg, &es), BNM_ERR_INVALID_ARG);
    ck_assert_ptr_null(es);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "popsize must be at least 2"));
    cfg.popsize = 2;
    ck_assert_int_eq(bnm_cmaes_create(ctx, &cfg, &es), BNM_OK);
    ck_assert_uint_eq(bnm_cmaes_popsize(es), 2);
    bnm_cmaes_destroy(es);
    /* 4 + floor(3 ln n): ln 2 = 0.69, ln 5 = 1.61, ln 10 = 2.30, ln 20 = 3.00 (2.9957). */
    ck_assert_uint_eq(bnm_cmaes_default_popsize(1), 4);
    ck_assert_uint_eq(bnm_cmaes_default_popsize(2), 6);
    ck_assert_uint_eq(bnm_cmaes_default_popsize(5), 8);
    ck_assert_uint_eq(bnm_cmaes_default_popsize(10), 10);
    ck_assert_uint_eq(bnm_cmaes_default_popsize(20), 12);
    ck_assert_uint_eq(bnm_cmaes_default_popsize(100), 17);
    cfg.popsize = 0;
    ck_assert_int_eq(bnm_cmaes_create(ctx, &cfg, &es), BNM_OK);
    ck_assert_uint_eq(bnm_cmaes_popsize(es), 8); /* 4 + floor(4.16) */
    bnm_cmaes_destroy(es);
    cfg.n = 0;
    ck_assert_int_eq(bnm_cmaes_create(ctx, &cfg, &es), BNM_ERR_INVALID_ARG);
    cfg.n = 2;
    cfg.sigma0 = 0.0;
    ck_assert_int_eq(bnm_cmaes_create(ctx, &cfg, &es), BNM_ERR_INVALID_ARG);
    cfg.sigma0 = 0.3;
    double x0[2] = {0.5, 1.5};
    cfg.x0 = x0;
    ck_assert_int_eq(bnm_cmaes_create(ctx, &cfg, &es), BNM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "x0[1]"));
    cfg.bounded = false; /* any finite x0 is fine without bounds */
    ck_assert_int_eq(bnm_cmaes_create(ctx, &cfg, &es), BNM_OK);
    bnm_cmaes_destroy(es);
    bnm_cmaes_destroy(NULL);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(tell_without_ask_is_an_error)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_cmaes *es = make(3, 0, 1, true);
    double f[16] = {0};
    ck_assert_int_eq(bnm_cmaes_tell(ctx, es, f), BNM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "tell without ask"));
    double X[64];
    bnm_cmaes_ask(es, X);
    ck_assert_int_eq(bnm_cmaes_tell(ctx, es, f), BNM_OK);
    ck_assert_int_eq(bnm_cmaes_tell(ctx, es, f), BNM_ERR_INVALID_ARG); /* one tell per ask */
    bnm_cmaes_destroy(es);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- the update equations ------------------------------------------------------------ */

/* Independent evaluation of one generation of the tutorial (long double, written from
 * the equations, not from optim/cmaes.c): given the state before and the steps y_k of
 * the generation, the expected state after. C^{-1/2} is B D^{-1} B^T of the basis that
 * sampled the generation, applied to y_w (the code under test uses B z_w instead). */
typedef struct ref_state {
    size_t n, lam;
    long double m[8], ps[8], pc[8], C[64], sigma;
} ref_state;

static int ref_generation(ref_state *s, const bnm_cmaes *es, const double *y, const double *f,
                           uint64_t gen)
{
    size_t n = s->n, lam = s->lam, mu = lam / 2;
    long double w[32], sw = 0, sw2 = 0;
    for (size_t i = 0; i < mu; i++) {
        w[i] = logl((lam + 1) / 2.0L) - logl((long double)(i + 1));
        sw += w[i];
    }
    for (size_t i = 0; i < mu; i++) {
        w[i] /= sw;
        sw2 += w[i] * w[i];
    }
    long double mueff = 1 / sw2, N = (long double)n;
    long double cs = (mueff + 2) / (N + mueff + 5);
    long double ds = 1 + 2 * fmaxl(0, sqrtl((mueff - 1) / (N + 1)) - 1) + cs;
    long double cc = (4 + mueff / N) / (N + 4 + 2 * mueff / N);
    long double c1 = 2 / ((N + 1.3L) * (N + 1.3L) + mueff);
    long double cmu = fminl(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((N + 2) * (N + 2) + mueff));
    long double chin = sqrtl(N) * (1 - 1 / (4 * N) + 1 / (21 * N * N));

    /* Ranking by selection (costs are distinct here). */
    size_t order[32];
    int used[32] = {0};
    for (size_t r = 0; r < lam; r++) {
        size_t best = 0;
        double bf = INFINITY;
        for (size_t k = 0; k < lam; k++)
            if (!used[k] && f[k] < bf) {
                bf = f[k];
                best = k;
            }
        used[best] = 1;
        order[r] = best;
    }
    long double yw[8] = {0};
    for (size_t r = 0; r < mu; r++)
        for (size_t i = 0; i < n; i++)
            yw[i] += w[r] * y[order[r] * n + i];
    for (size_t i = 0; i < n; i++)
        s->m[i] += s->sigma * yw[i];
    long double bty[8], inv[8], psn = 0;
    for (size_t j = 0; j < n; j++) {
        bty[j] = 0;
        for (size_t i = 0; i < n; i++)
            bty[j] += (long double)es->B[i * n + j] * yw[i];
        bty[j] /= es->D[j];
    }
    for (size_t i = 0; i < n; i++) {
        inv[i] = 0;
        for (size_t j = 0; j < n; j++)
            inv[i] += (long double)es->B[i * n + j] * bty[j];
        s->ps[i] = (1 - cs) * s->ps[i] + sqrtl(cs * (2 - cs) * mueff) * inv[i];
        psn += s->ps[i] * s->ps[i];
    }
    psn = sqrtl(psn);
    int hs = psn / sqrtl(1 - powl(1 - cs, 2.0L * (gen + 1))) < (1.4L + 2 / (N + 1)) * chin;
    for (size_t i = 0; i < n; i++)
        s->pc[i] = (1 - cc) * s->pc[i] + hs * sqrtl(cc * (2 - cc) * mueff) * yw[i];
    long double dh = (1 - hs) * cc * (2 - cc);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            long double rmu = 0;
            for (size_t r = 0; r < mu; r++)
                rmu += w[r] * y[order[r] * n + i] * y[order[r] * n + j];
            s->C[i * n + j] = (1 + c1 * dh - c1 - cmu) * s->C[i * n + j] +
                              c1 * s->pc[i] * s->pc[j] + cmu * rmu;
        }
    s->sigma *= expl(cs / ds * (psn / chin - 1));
    return hs;
}

/* Runs gens generations of es against the reference; a linear cost when linear, else
 * the ellipsoid. Counts the generations whose h_sigma was 0 into *stalls. */
static void check_against_reference(bnm_cmaes *es, ref_state *s, int gens, int linear,
                                    int *stalls)
{
    size_t n = s->n, lam = s->lam;
    double X[64], f[16], tmp[8];
    for (int g = 0; g < gens; g++) {
        uint64_t gen = bnm_cmaes_generation(es);
        bnm_cmaes_ask(es, X);
        /* The steps seen by the reference are recovered from the points alone. */
        double y[64];
        for (size_t k = 0; k < lam; k++) {
            for (size_t i = 0; i < n; i++)
                y[k * n + i] = (double)((X[k * n + i] - s->m[i]) / s->sigma);
            f[k] = linear ? X[k * n]
                          : bnm_cmaes_bench_eval(BNM_CMAES_BENCH_ELLIPSOID, n, X + k * n, NULL,
                                                 tmp);
        }
        *stalls += !ref_generation(s, es, y, f, gen);
        ck_assert_int_eq(bnm_cmaes_tell(NULL, es, f), BNM_OK);
        /* Tolerances relative to the size of each quantity: every step is a handful of
         * double operations, so each entry carries ~10 roundings of 1e-16 per generation;
         * 1e-11 leaves room for the growth over 25 generations. */
        for (size_t i = 0; i < n; i++) {
            ck_assert_double_eq_tol(es->m[i], (double)s->m[i], 1e-11 * (1 + fabsl(s->m[i])));
            ck_assert_double_eq_tol(es->ps[i], (double)s->ps[i], 1e-11);
            ck_assert_double_eq_tol(es->pc[i], (double)s->pc[i], 1e-11);
            for (size_t j = 0; j < n; j++)
                ck_assert_double_eq_tol(es->C[i * n + j], (double)s->C[i * n + j],
                                        1e-11 * (1 + fabsl(s->C[i * n + i])));
        }
        ck_assert_double_eq_tol(es->sigma, (double)s->sigma, 1e-11 * s->sigma);
        /* The basis reproduces C (it was decomposed in this tell): B diag(D^2) B^T = C
         * and B^T B = I, to 1e-12 relative (dsyevd is backward stable to a few ulps). */
        ck_assert_uint_eq(es->eigen_evals, es->evals);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double c = 0, o = 0;
                for (size_t k = 0; k < n; k++) {
                    c += es->B[i * n + k] * es->D[k] * es->D[k] * es->B[j * n + k];
                    o += es->B[k * n + i] * es->B[k * n + j];
                }
                ck_assert_double_eq_tol(c, es->C[i * n + j], 1e-12 * es->D[n - 1] * es->D[n - 1]);
                ck_assert_double_eq_tol(o, i == j ? 1.0 : 0.0, 1e-12);
            }
    }
}

START_TEST(generations_match_the_tutorial_equations)
{
    /* n = 3 (lambda 7, mu 3): the eigendecomposition runs after every generation (gap
     * lambda / (c1 + cmu) / n / 10 = 1.6 evaluations), so generations 2+ sample through
     * a rotated, scaled basis. 15 generations of an ellipsoid (mostly h_sigma = 1), then
     * 10 of a linear cost, where ||p_sigma|| grows and h_sigma stalls p_c. */
    const size_t n = 3;
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = n;
    cfg.bounded = false;
    cfg.sigma0 = 0.7;
    double x0[3] = {0.4, -0.2, 1.0};
    cfg.x0 = x0;
    cfg.seed = 99;
    bnm_cmaes *es = NULL;
    ck_assert_int_eq(bnm_cmaes_create(NULL, &cfg, &es), BNM_OK);
    ck_assert_uint_eq(bnm_cmaes_popsize(es), 7);
    ref_state s = {.n = n, .lam = 7, .sigma = cfg.sigma0};
    for (size_t i = 0; i < n; i++) {
        s.m[i] = x0[i];
        s.C[i * n + i] = 1;
    }
    int stalls = 0;
    check_against_reference(es, &s, 15, 0, &stalls);
    int early = stalls; /* both branches of h_sigma must have been exercised */
    ck_assert_int_lt(early, 15);
    check_against_reference(es, &s, 10, 1, &stalls);
    ck_assert_int_gt(stalls, early);
    ck_assert_uint_eq(bnm_cmaes_generation(es), 25);
    ck_assert_uint_eq(bnm_cmaes_evaluations(es), 175);
    bnm_cmaes_destroy(es);
}
END_TEST

START_TEST(normals_are_standard)
{
    /* First generation of an unbounded run: x = m + sigma z with B = I, D = 1, so the
     * steps are the raw normals. 200 x 50 = 10^4 draws: mean within 4.5 / sqrt(N) = 0.045
     * and variance within 4.5 sqrt(2 / N) = 0.064 of the standard normal (4.5 sigma). */
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = 50;
    cfg.popsize = 200;
    cfg.bounded = false;
    cfg.sigma0 = 1.0;
    cfg.seed = 12345;
    bnm_cmaes *es = NULL;
    ck_assert_int_eq(bnm_cmaes_create(NULL, &cfg, &es), BNM_OK);
    double *X = malloc(200 * 50 * sizeof *X);
    ck_assert_ptr_nonnull(X);
    bnm_cmaes_ask(es, X);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < 10000; i++) {
        s += X[i];
        s2 += X[i] * X[i];
    }
    double mean = s / 1e4, var = s2 / 1e4 - mean * mean;
    ck_assert_double_le(fabs(mean), 0.045);
    ck_assert_double_le(fabs(var - 1.0), 0.064);
    free(X);
    bnm_cmaes_destroy(es);
}
END_TEST

START_TEST(nan_costs_rank_last)
{
    bnm_cmaes *es = make(2, 6, 3, true);
    double X[12], f[6];
    bnm_cmaes_ask(es, X);
    for (int k = 0; k < 6; k++)
        f[k] = k == 4 ? 2.0 : NAN;
    ck_assert_int_eq(bnm_cmaes_tell(NULL, es, f), BNM_OK);
    double bx[2];
    ck_assert_double_eq(bnm_cmaes_best(es, bx), 2.0);
    ck_assert_double_eq(bx[0], X[8]);
    ck_assert_double_eq(bx[1], X[9]);
    /* NaN particles are ranked after particle 4 in index order and still enter the
     * recombination with the lower weights; the update stays finite. */
    double m[2];
    bnm_cmaes_mean(es, m);
    ck_assert(isfinite(m[0]) && isfinite(m[1]));
    ck_assert(isfinite(bnm_cmaes_sigma(es)));
    bnm_cmaes_destroy(es);
}
END_TEST

/* ---- boundary transform -------------------------------------------------------------- */

START_TEST(bound_transform)
{
    const double a = BNM_CMAES_BOUND_MARGIN;
    for (int i = -40000; i <= 40000; i++) {
        double y = i * 1e-3 + 1e-7;
        double x = bnm_cmaes_to_feasible(y);
        ck_assert_msg(x >= 0.0 && x <= 1.0, "T(%g) = %g", y, x);
        /* Periodic with period 2 (1 + 2a), mirror-symmetric about -a. Tolerance: the
         * shifted argument carries rounding of |y| ulp ~ 1e-14. */
        ck_assert_double_eq_tol(bnm_cmaes_to_feasible(y + 2.0 * (1.0 + 2.0 * a)), x, 1e-12);
        ck_assert_double_eq_tol(bnm_cmaes_to_feasible(-2.0 * a - y), x, 1e-12);
        if (y >= a && y <= 1.0 - a)
            ck_assert_double_eq(x, y); /* identity in the interior, exactly */
    }
    ck_assert_double_eq(bnm_cmaes_to_feasible(1e300), bnm_cmaes_to_feasible(1e300));
    ck_assert(bnm_cmaes_to_feasible(-1e300) >= 0.0 && bnm_cmaes_to_feasible(1e300) <= 1.0);
    /* Quadratic margins: T(-a) = 0, T(1 + a) = 1 with zero slope (the reflection is
     * smooth), value and slope continuous at a and 1 - a. */
    ck_assert_double_eq_tol(bnm_cmaes_to_feasible(-a), 0.0, 1e-15);
    ck_assert_double_eq_tol(bnm_cmaes_to_feasible(1.0 + a), 1.0, 1e-15);
    ck_assert_double_eq_tol(bnm_cmaes_to_feasible(0.0), a / 4.0, 1e-15);
    const double h = 1e-7;
    double pts[4] = {-a, a, 1.0 - a, 1.0 + a};
    double slope[4] = {0.0, 1.0, 1.0, 0.0};
    for (int i = 0; i < 4; i++) {
        double d = (bnm_cmaes_to_feasible(pts[i] + h) - bnm_cmaes_to_feasible(pts[i] - h)) /
                   (2 * h);
        /* The one-sided curvature 1/(2a) gives the central difference an error of
         * h / (4a) = 5e-7 at the joints; rounding adds ~1e-9. */
        ck_assert_double_eq_tol(d, slope[i], 1e-5);
    }
    /* The inverse on [0, 1]. */
    for (int i = 0; i <= 1000; i++) {
        double x = i / 1000.0;
        double y = bnm_cmaes_from_feasible(x);
        ck_assert(y >= -a && y <= 1.0 + a);
        ck_assert_double_eq_tol(bnm_cmaes_to_feasible(y), x, 1e-15);
    }
}
END_TEST

START_TEST(bounded_runs_stay_feasible_and_find_a_bound)
{
    /* Sphere centred at (0.3, -0.2, 1.4): the optimum in the box is (0.3, 0, 1). Every
     * asked point lies in [0, 1]; the best point converges to it. */
    const double c[3] = {0.3, -0.2, 1.4};
    bnm_cmaes *es = make(3, 0, 7, true);
    unsigned lam = bnm_cmaes_popsize(es);
    double X[3 * 16], f[16];
    for (int g = 0; g < 300 && !bnm_cmaes_stopped(es); g++) {
        bnm_cmaes_ask(es, X);
        for (unsigned k = 0; k < lam; k++) {
            f[k] = 0;
            for (int i = 0; i < 3; i++) {
                double x = X[k * 3 + i];
                ck_assert(x >= 0.0 && x <= 1.0);
                f[k] += (x - c[i]) * (x - c[i]);
            }
        }
        ck_assert_int_eq(bnm_cmaes_tell(NULL, es, f), BNM_OK);
    }
    double b[3];
    double fb = bnm_cmaes_best(es, b);
    /* Minimum cost 0.2^2 + 0.4^2 = 0.2; approaching a bound through the quadratic margin
     * is slower than the interior (linear convergence in y, quadratic in x), 1e-4 is
     * reached easily within 300 generations. */
    ck_assert_double_eq_tol(fb, 0.2, 1e-6);
    ck_assert_double_eq_tol(b[0], 0.3, 1e-4);
    ck_assert_double_le(b[1], 1e-4);
    ck_assert_double_ge(b[2], 1.0 - 1e-4);
    bnm_cmaes_destroy(es);
}
END_TEST

/* ---- reproducibility ----------------------------------------------------------------- */

#define HIST_GENS 40

/* Records HIST_GENS generations of points of a bounded Rosenbrock run. */
static void history(uint64_t seed, double *H, size_t n, unsigned lam)
{
    bnm_cmaes *es = make(n, lam, seed, true);
    for (int g = 0; g < HIST_GENS; g++)
        step(es, BNM_CMAES_BENCH_ROSENBROCK, H + (size_t)g * lam * n);
    bnm_cmaes_destroy(es);
}

START_TEST(seed_determines_the_trajectory)
{
    const size_t n = 5, per = 8 * 5 * HIST_GENS;
    double *a = malloc(per * sizeof *a), *b = malloc(per * sizeof *b),
           *c = malloc(per * sizeof *c);
    ck_assert(a && b && c);
    history(42, a, n, 8);
    history(42, b, n, 8);
    history(43, c, n, 8);
    ck_assert_mem_eq(a, b, per * sizeof *a);
    size_t same = 0;
    for (size_t i = 0; i < per; i++)
        same += a[i] == c[i];
    ck_assert_uint_eq(same, 0); /* seeds differ: no coordinate coincides */
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(interleaved_runs_match_solo_runs)
{
    /* Two runs of different size advance alternately (ask A, ask B, tell B, tell A) as
     * a batched caller would: each history equals its solo history bit for bit. */
    const size_t na = 5, nb = 3;
    const unsigned la = 8, lb = 10;
    double *sa = malloc(na * la * HIST_GENS * sizeof(double));
    double *sb = malloc(nb * lb * HIST_GENS * sizeof(double));
    double *ia = malloc(na * la * HIST_GENS * sizeof(double));
    double *ib = malloc(nb * lb * HIST_GENS * sizeof(double));
    ck_assert(sa && sb && ia && ib);
    history(1, sa, na, la);
    history(2, sb, nb, lb);
    bnm_cmaes *A = make(na, la, 1, true), *B = make(nb, lb, 2, true);
    double fa[8], fb[10], tmp[8];
    for (int g = 0; g < HIST_GENS; g++) {
        double *xa = ia + (size_t)g * na * la, *xb = ib + (size_t)g * nb * lb;
        bnm_cmaes_ask(A, xa);
        bnm_cmaes_ask(B, xb);
        for (unsigned k = 0; k < lb; k++) {
            double p[3];
            for (size_t i = 0; i < nb; i++)
                p[i] = 4.0 * xb[k * nb + i] - 1.5;
            fb[k] = bnm_cmaes_bench_eval(BNM_CMAES_BENCH_ROSENBROCK, nb, p, NULL, tmp);
        }
        ck_assert_int_eq(bnm_cmaes_tell(NULL, B, fb), BNM_OK);
        for (unsigned k = 0; k < la; k++) {
            double p[5];
            for (size_t i = 0; i < na; i++)
                p[i] = 4.0 * xa[k * na + i] - 1.5;
            fa[k] = bnm_cmaes_bench_eval(BNM_CMAES_BENCH_ROSENBROCK, na, p, NULL, tmp);
        }
        ck_assert_int_eq(bnm_cmaes_tell(NULL, A, fa), BNM_OK);
    }
    ck_assert_mem_eq(sa, ia, na * la * HIST_GENS * sizeof(double));
    ck_assert_mem_eq(sb, ib, nb * lb * HIST_GENS * sizeof(double));
    bnm_cmaes_destroy(A);
    bnm_cmaes_destroy(B);
    free(sa);
    free(sb);
    free(ia);
    free(ib);
}
END_TEST

/* Saves es into a fresh buffer and restores it. */
static bnm_cmaes *clone(const bnm_cmaes *es)
{
    size_t sz = bnm_cmaes_state_size(es);
    unsigned char *buf = malloc(sz);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(bnm_cmaes_state_save(NULL, es, buf, sz), BNM_OK);
    bnm_cmaes *r = NULL;
    ck_assert_int_eq(bnm_cmaes_state_restore(NULL, buf, sz, &r), BNM_OK);
    free(buf);
    return r;
}

START_TEST(restore_continues_bitwise)
{
    /* Rosenbrock n = 6 for 30 generations (lazy eigendecompositions have happened),
     * then the original and a restored copy run 60 more: identical points, state and
     * stop. Also saved between ask and tell. */
    const size_t n = 6;
    const unsigned lam = 9;
    bnm_cmaes *es = make(n, lam, 77, true);
    for (int g = 0; g < 30; g++)
        step(es, BNM_CMAES_BENCH_ROSENBROCK, NULL);
    ck_assert_uint_gt(es->eigen_evals, 0);
    bnm_cmaes *r = clone(es);
    double xa[6 * 9], xb[6 * 9];
    for (int g = 0; g < 60; g++) {
        if (g == 20) {
            /* Mid-generation: ask, save, restore, then both tell the same costs. */
            bnm_cmaes_ask(es, xa);
            bnm_cmaes *r2 = clone(es);
            bnm_cmaes_destroy(r);
            r = r2;
        }
        step(es, BNM_CMAES_BENCH_ROSENBROCK, xa);
        step(r, BNM_CMAES_BENCH_ROSENBROCK, xb);
        ck_assert_mem_eq(xa, xb, sizeof xa);
    }
    ck_assert_mem_eq(es->C, r->C, n * n * sizeof(double));
    ck_assert_mem_eq(es->m, r->m, n * sizeof(double));
    ck_assert_double_eq(es->sigma, r->sigma);
    ck_assert_uint_eq(bnm_cmaes_generation(r), 90);
    double ba[6], bb[6];
    ck_assert_double_eq(bnm_cmaes_best(es, ba), bnm_cmaes_best(r, bb));
    ck_assert_mem_eq(ba, bb, sizeof ba);
    ck_assert_uint_eq(bnm_cmaes_state_size(es), bnm_cmaes_state_size(r));
    bnm_cmaes_destroy(es);
    bnm_cmaes_destroy(r);
}
END_TEST

START_TEST(restore_rejects_bad_blobs)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_cmaes *es = make(4, 0, 5, true);
    step(es, BNM_CMAES_BENCH_SPHERE, NULL);
    size_t sz = bnm_cmaes_state_size(es);
    unsigned char *buf = malloc(sz + 8);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(bnm_cmaes_state_save(ctx, es, buf, sz - 1), BNM_ERR_INVALID_ARG);
    ck_assert_int_eq(bnm_cmaes_state_save(ctx, es, buf, sz), BNM_OK);
    bnm_cmaes *r = NULL;
    ck_assert_int_eq(bnm_cmaes_state_restore(ctx, buf, sz - 1, &r), BNM_ERR_DATA);
    ck_assert_int_eq(bnm_cmaes_state_restore(ctx, buf, sz + 8, &r), BNM_ERR_DATA);
    ck_assert_int_eq(bnm_cmaes_state_restore(ctx, buf, 12, &r), BNM_ERR_DATA);
    ck_assert_ptr_null(r);
    buf[0] = 'X';
    ck_assert_int_eq(bnm_cmaes_state_restore(ctx, buf, sz, &r), BNM_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "magic"));
    buf[0] = 'B';
    buf[16] ^= 0xff; /* byte-order word */
    ck_assert_int_eq(bnm_cmaes_state_restore(ctx, buf, sz, &r), BNM_ERR_DATA);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "byte order"));
    buf[16] ^= 0xff;
    ck_assert_int_eq(bnm_cmaes_state_restore(ctx, buf, sz, &r), BNM_OK);
    bnm_cmaes_destroy(r);
    free(buf);
    bnm_cmaes_destroy(es);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- stop criteria ------------------------------------------------------------------- */

static bnm_cmaes *make_cfg(const bnm_cmaes_config *cfg)
{
    bnm_cmaes *es = NULL;
    ck_assert_int_eq(bnm_cmaes_create(NULL, cfg, &es), BNM_OK);
    return es;
}

/* Runs fn until the optimizer stops or max_gens pass; returns the stop reason. */
static bnm_cmaes_stop run_until_stop(bnm_cmaes *es, bnm_cmaes_bench_fn fn, int max_gens)
{
    for (int g = 0; g < max_gens && !bnm_cmaes_stopped(es); g++)
        step(es, fn, NULL);
    return bnm_cmaes_stopped(es);
}

static void assert_text(const bnm_cmaes *es, const char *prefix)
{
    const char *t = bnm_cmaes_stop_text(es);
    ck_assert_msg(strncmp(t, prefix, strlen(prefix)) == 0, "stop text '%s'", t);
    ck_assert_str_eq(bnm_cmaes_stop_name(bnm_cmaes_stopped(es)), prefix);
}

START_TEST(stop_maxiter)
{
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = 3;
    cfg.max_generations = 7;
    bnm_cmaes *es = make_cfg(&cfg);
    ck_assert_str_eq(bnm_cmaes_stop_text(es), "");
    ck_assert_int_eq(run_until_stop(es, BNM_CMAES_BENCH_SPHERE, 100), BNM_CMAES_STOP_MAXITER);
    ck_assert_uint_eq(bnm_cmaes_generation(es), 7);
    assert_text(es, "maxiter");
    bnm_cmaes_destroy(es);
    /* The default is 100 + 150 (n + 3)^2 / sqrt(lambda) = 100 + 150 * 36 / sqrt(7). */
    cfg.max_generations = 0;
    es = make_cfg(&cfg);
    ck_assert_uint_eq(es->max_gen, (uint64_t)(100.0 + 150.0 * 36.0 / sqrt(7.0)));
    bnm_cmaes_destroy(es);
}
END_TEST

START_TEST(stop_tolfun)
{
    /* A constant cost: the range is 0 once the history window 10 + ceil(30 n / lambda)
     * = 10 + ceil(120 / 8) = 25 generations is full. */
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = 4;
    bnm_cmaes *es = make_cfg(&cfg);
    double X[4 * 8], f[8];
    for (int g = 0; g < 100 && !bnm_cmaes_stopped(es); g++) {
        bnm_cmaes_ask(es, X);
        for (int k = 0; k < 8; k++)
            f[k] = 3.0;
        ck_assert_int_eq(bnm_cmaes_tell(NULL, es, f), BNM_OK);
    }
    ck_assert_int_eq(bnm_cmaes_stopped(es), BNM_CMAES_STOP_TOLFUN);
    ck_assert_uint_eq(bnm_cmaes_generation(es), 25);
    assert_text(es, "tolfun");
    bnm_cmaes_destroy(es);
    /* A non-constant cost with tolfun 1e-3 on the sphere stops with the last 25 best
     * values and the last generation inside 1e-3 of each other. */
    cfg.tolfun = 1e-3;
    cfg.tolx = 0;
    es = make_cfg(&cfg);
    ck_assert_int_eq(run_until_stop(es, BNM_CMAES_BENCH_SPHERE, 1000), BNM_CMAES_STOP_TOLFUN);
    double hi = -INFINITY, lo = INFINITY;
    for (size_t i = 0; i < es->hist_cap; i++) {
        hi = fmax(hi, es->hist[i]);
        lo = fmin(lo, es->hist[i]);
    }
    ck_assert_double_lt(hi - lo, 1e-3);
    ck_assert_uint_gt(bnm_cmaes_generation(es), 25);
    bnm_cmaes_destroy(es);
}
END_TEST

START_TEST(stop_tolx)
{
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = 4;
    cfg.bounded = false;
    cfg.sigma0 = 1.0;
    cfg.tolfun = 0;
    cfg.tolx = 1e-6;
    bnm_cmaes *es = make_cfg(&cfg);
    ck_assert_int_eq(run_until_stop(es, BNM_CMAES_BENCH_SPHERE, 2000), BNM_CMAES_STOP_TOLX);
    assert_text(es, "tolx");
    double s = 0;
    for (size_t i = 0; i < 4; i++)
        s = fmax(s, fmax(sqrt(es->C[i * 4 + i]), fabs(es->pc[i])));
    ck_assert_double_lt(es->sigma * s, 1e-6);
    /* It stopped at the first generation below: the sphere converges by a factor of
     * about 0.8 per generation, so the value is not far below 1e-6. */
    ck_assert_double_gt(es->sigma * s, 1e-7);
    bnm_cmaes_destroy(es);
}
END_TEST

START_TEST(stop_condition_and_ftarget)
{
    /* Ellipsoid of condition 1e6 (cond(C) grows toward 1e6): a 1e3 limit triggers. */
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = 5;
    cfg.bounded = false;
    cfg.sigma0 = 1.0;
    cfg.tolfun = 0;
    cfg.tolx = 0;
    cfg.max_condition = 1e3;
    bnm_cmaes *es = make_cfg(&cfg);
    ck_assert_int_eq(run_until_stop(es, BNM_CMAES_BENCH_ELLIPSOID, 3000),
                     BNM_CMAES_STOP_CONDITION);
    assert_text(es, "condition");
    ck_assert_double_gt(bnm_cmaes_condition(es), 1e3);
    double dmax = 0, dmin = INFINITY;
    for (int i = 0; i < 5; i++) {
        dmax = fmax(dmax, es->D[i]);
        dmin = fmin(dmin, es->D[i]);
    }
    ck_assert_double_eq_tol(bnm_cmaes_condition(es), dmax * dmax / (dmin * dmin),
                            1e-9 * bnm_cmaes_condition(es));
    bnm_cmaes_destroy(es);

    cfg.max_condition = 1e14;
    cfg.ftarget = 1e-3;
    es = make_cfg(&cfg);
    ck_assert_int_eq(run_until_stop(es, BNM_CMAES_BENCH_SPHERE, 3000), BNM_CMAES_STOP_FTARGET);
    assert_text(es, "ftarget");
    ck_assert_double_le(bnm_cmaes_best(es, NULL), 1e-3);
    bnm_cmaes_destroy(es);
}
END_TEST

START_TEST(ranking_is_a_total_order)
{
    /* 37 particles (more than one merge pass) with ties and NaNs: the order must be
     * ascending cost, ties by index, NaNs last by index; checked against a selection
     * by exhaustive search. */
    bnm_cmaes *es = make(2, 37, 4, true);
    double X[2 * 37], f[37];
    bnm_cmaes_ask(es, X);
    for (int k = 0; k < 37; k++)
        f[k] = k % 5 == 3 ? NAN : (double)((k * 7) % 11);
    ck_assert_int_eq(bnm_cmaes_tell(NULL, es, f), BNM_OK);
    int used[37] = {0};
    for (int r = 0; r < 37; r++) {
        int pick = -1;
        for (int k = 0; k < 37 && pick < 0; k++)
            if (!used[k] && !isnan(f[k])) {
                pick = k;
                for (int j = 0; j < 37; j++)
                    if (!used[j] && !isnan(f[j]) && f[j] < f[pick])
                        pick = j;
            }
        for (int k = 0; k < 37 && pick < 0; k++)
            if (!used[k])
                pick = k;
        used[pick] = 1;
        ck_assert_uint_eq(es->rank[r], (unsigned)pick);
    }
    bnm_cmaes_destroy(es);
}
END_TEST

START_TEST(stop_numerics)
{
    /* A covariance that is not positive definite (forced through the state) makes the
     * eigendecomposition fail: the run stops with its reason and keeps sampling finite
     * points from the last good basis. */
    bnm_cmaes *es = make(3, 0, 8, true);
    step(es, BNM_CMAES_BENCH_SPHERE, NULL);
    es->C[0] = -5.0;
    double B[9], D[3];
    memcpy(B, es->B, sizeof B);
    memcpy(D, es->D, sizeof D);
    step(es, BNM_CMAES_BENCH_SPHERE, NULL);
    ck_assert_int_eq(bnm_cmaes_stopped(es), BNM_CMAES_STOP_NUMERICS);
    ck_assert_mem_eq(B, es->B, sizeof B);
    ck_assert_mem_eq(D, es->D, sizeof D);
    assert_text(es, "numerics");
    double X[3 * 16];
    bnm_cmaes_ask(es, X);
    for (unsigned i = 0; i < 3 * bnm_cmaes_popsize(es); i++)
        ck_assert(isfinite(X[i]) && X[i] >= 0.0 && X[i] <= 1.0);
    bnm_cmaes_destroy(es);
}
END_TEST

/* ---- benchmarks ---------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Median evaluations over the successful runs of seeds 1..15. */
static double bench_median(bnm_cmaes_bench_fn fn, size_t n, int *successes)
{
    uint64_t ev[15];
    int k = 0;
    for (uint64_t s = 1; s <= 15; s++) {
        bnm_cmaes_bench_result r;
        ck_assert_int_eq(bnm_cmaes_bench_run(NULL, fn, n, s, &r), BNM_OK);
        if (r.success)
            ev[k++] = r.evaluations;
    }
    *successes = k;
    ck_assert_int_gt(k, 0);
    qsort(ev, (size_t)k, sizeof ev[0], cmp_u64);
    return k % 2 ? (double)ev[k / 2] : 0.5 * (double)(ev[k / 2 - 1] + ev[k / 2]);
}

START_TEST(benchmark_medians)
{
    /* Issue "Optimisation": within 1.5x of the published medians (evaluations to
     * f < 1e-8, default popsize, 15 seeds); setup in cmaes_bench.h. */
    static const struct {
        bnm_cmaes_bench_fn fn;
        size_t n;
        double published;
    } rows[] = {
        {BNM_CMAES_BENCH_SPHERE, 2, 270},     {BNM_CMAES_BENCH_SPHERE, 5, 712},
        {BNM_CMAES_BENCH_ELLIPSOID, 2, 684},  {BNM_CMAES_BENCH_ELLIPSOID, 5, 2264},
        {BNM_CMAES_BENCH_ROSENBROCK, 2, 546},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int ok;
        double med = bench_median(rows[i].fn, rows[i].n, &ok);
        double ratio = med / rows[i].published;
        ck_assert_msg(ratio < 1.5 && ratio > 1 / 1.5, "%s n=%zu: median %g vs %g",
                      bnm_cmaes_bench_name(rows[i].fn), rows[i].n, med, rows[i].published);
        ck_assert_int_ge(ok, 13); /* these unimodal cases never fail in practice */
    }
    /* Rotation invariance: the rotated ellipsoid within 2x of the unrotated one. */
    int ok1, ok2;
    double plain = bench_median(BNM_CMAES_BENCH_ELLIPSOID, 5, &ok1);
    double rot = bench_median(BNM_CMAES_BENCH_ROT_ELLIPSOID, 5, &ok2);
    ck_assert_msg(rot / plain < 2.0 && rot / plain > 0.5, "rotated %g vs %g", rot, plain);
    ck_assert_int_eq(ok2, 15);
}
END_TEST

START_TEST(rotation_is_orthogonal)
{
    double R[100];
    bnm_cmaes_bench_rotation(10, 3, R);
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++) {
            double d = 0;
            for (int k = 0; k < 10; k++)
                d += R[k * 10 + i] * R[k * 10 + j];
            ck_assert_double_eq_tol(d, i == j ? 1.0 : 0.0, 1e-13);
        }
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *c = tcase_create("cmaes");
    tcase_set_timeout(c, 300);
    tcase_add_test(c, popsize_rules);
    tcase_add_test(c, tell_without_ask_is_an_error);
    tcase_add_test(c, generations_match_the_tutorial_equations);
    tcase_add_test(c, normals_are_standard);
    tcase_add_test(c, nan_costs_rank_last);
    tcase_add_test(c, bound_transform);
    tcase_add_test(c, bounded_runs_stay_feasible_and_find_a_bound);
    tcase_add_test(c, seed_determines_the_trajectory);
    tcase_add_test(c, interleaved_runs_match_solo_runs);
    tcase_add_test(c, restore_continues_bitwise);
    tcase_add_test(c, restore_rejects_bad_blobs);
    tcase_add_test(c, stop_maxiter);
    tcase_add_test(c, stop_tolfun);
    tcase_add_test(c, stop_tolx);
    tcase_add_test(c, stop_condition_and_ftarget);
    tcase_add_test(c, stop_numerics);
    tcase_add_test(c, ranking_is_a_total_order);
    tcase_add_test(c, rotation_is_orthogonal);
    tcase_add_test(c, benchmark_medians);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(optim_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
