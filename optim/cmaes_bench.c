/* Benchmark problems (sphere, ellipsoid, Rosenbrock, rotated ellipsoid) and the runner
 * the benchmark table and its test share. */
#include <Random123/philox.h>
#include <math.h>
#include <stdlib.h>

#include "cmaes_bench.h"

#define BENCH_TAG_X0 UINT32_C(0x42583030)  /* "BX00" */
#define BENCH_TAG_ROT UINT32_C(0x42524f54) /* "BROT" */

const char *bnm_cmaes_bench_name(bnm_cmaes_bench_fn fn)
{
    static const char *const names[] = {"sphere", "ellipsoid", "rosenbrock", "rot-ellipsoid"};
    return (unsigned)fn < BNM_CMAES_BENCH_COUNT_ ? names[fn] : "unknown";
}

static double uniform(uint64_t seed, uint32_t i, uint32_t tag)
{
    philox4x32_ctr_t c = {{i, 0, 0, tag}};
    philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32_R(10, c, k);
    uint64_t a = ((uint64_t)r.v[0] << 32 | r.v[1]) >> 11;
    return ((double)a + 0.5) * 0x1p-53;
}

static double ellipsoid(size_t n, const double *x)
{
    double f = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = n > 1 ? 6.0 * (double)i / (double)(n - 1) : 0.0;
        f += pow(10.0, e) * x[i] * x[i];
    }
    return f;
}

double bnm_cmaes_bench_eval(bnm_cmaes_bench_fn fn, size_t n, const double *x, const double *R,
                            double *tmp)
{
    double f = 0.0;
    switch (fn) {
    case BNM_CMAES_BENCH_SPHERE:
        for (size_t i = 0; i < n; i++)
            f += x[i] * x[i];
        return f;
    case BNM_CMAES_BENCH_ELLIPSOID:
        return ellipsoid(n, x);
    case BNM_CMAES_BENCH_ROSENBROCK:
        for (size_t i = 0; i + 1 < n; i++) {
            double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
            f += 100.0 * a * a + b * b;
        }
        return f;
    case BNM_CMAES_BENCH_ROT_ELLIPSOID:
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += R[i * n + j] * x[j];
            tmp[i] = s;
        }
        return ellipsoid(n, tmp);
    default:
        return NAN;
    }
}

void bnm_cmaes_bench_rotation(size_t n, uint64_t seed, double *R)
{
    /* Box-Muller normals in the columns, then modified Gram-Schmidt. */
    for (size_t k = 0; k < n * n; k++) {
        double u1 = uniform(seed, (uint32_t)(2 * k), BENCH_TAG_ROT);
        double u2 = uniform(seed, (uint32_t)(2 * k + 1), BENCH_TAG_ROT);
        R[k] = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    }
    for (size_t j = 0; j < n; j++) {
        for (size_t p = 0; p < j; p++) {
            double d = 0.0;
            for (size_t i = 0; i < n; i++)
                d += R[i * n + j] * R[i * n + p];
            for (size_t i = 0; i < n; i++)
                R[i * n + j] -= d * R[i * n + p];
        }
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += R[i * n + j] * R[i * n + j];
        s = sqrt(s);
        for (size_t i = 0; i < n; i++)
            R[i * n + j] /= s;
    }
}

bnm_status bnm_cmaes_bench_run(bnm_context *ctx, bnm_cmaes_bench_fn fn, size_t n,
                               uint64_t seed, bnm_cmaes_bench_result *res)
{
    bnm_status st = BNM_OK;
    bnm_cmaes *es = NULL;
    double *x0 = calloc(n, sizeof *x0), *R = calloc(n * n, sizeof *R);
    double *tmp = calloc(n, sizeof *tmp), *X = NULL, *f = NULL;
    if (!x0 || !R || !tmp) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory in a CMA-ES benchmark");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        x0[i] = BNM_CMAES_BENCH_X0_LO + (BNM_CMAES_BENCH_X0_HI - BNM_CMAES_BENCH_X0_LO) *
                                            uniform(seed, (uint32_t)i, BENCH_TAG_X0);
    if (fn == BNM_CMAES_BENCH_ROT_ELLIPSOID)
        bnm_cmaes_bench_rotation(n, seed, R);
    bnm_cmaes_config cfg;
    bnm_cmaes_config_init_defaults(&cfg);
    cfg.n = n;
    cfg.bounded = false;
    cfg.x0 = x0;
    cfg.sigma0 = BNM_CMAES_BENCH_SIGMA0;
    cfg.seed = seed;
    cfg.ftarget = BNM_CMAES_BENCH_TARGET;
    st = bnm_cmaes_create(ctx, &cfg, &es);
    if (st != BNM_OK)
        goto fail;
    unsigned lambda = bnm_cmaes_popsize(es);
    X = calloc((size_t)lambda * n, sizeof *X);
    f = calloc(lambda, sizeof *f);
    if (!X || !f) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory in a CMA-ES benchmark");
        goto fail;
    }
    while (!bnm_cmaes_stopped(es)) {
        bnm_cmaes_ask(es, X);
        for (unsigned k = 0; k < lambda; k++)
            f[k] = bnm_cmaes_bench_eval(fn, n, X + (size_t)k * n, R, tmp);
        st = bnm_cmaes_tell(ctx, es, f);
        if (st != BNM_OK)
            goto fail;
    }
    res->evaluations = bnm_cmaes_evaluations(es);
    res->best = bnm_cmaes_best(es, NULL);
    res->success = res->best < BNM_CMAES_BENCH_TARGET;
    res->stop = bnm_cmaes_stopped(es);
fail:
    bnm_cmaes_destroy(es);
    free(x0);
    free(R);
    free(tmp);
    free(X);
    free(f);
    return st;
}
