/* Standard CMA-ES benchmark problems and a runner, shared by tests/optim and
 * tools/cmaes_table. All run in unbounded mode. */
#ifndef CLBNM_OPTIM_CMAES_BENCH_H
#define CLBNM_OPTIM_CMAES_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "clbnm/cmaes.h"

typedef enum bnm_cmaes_bench_fn {
    BNM_CMAES_BENCH_SPHERE,        /* sum x_i^2 */
    BNM_CMAES_BENCH_ELLIPSOID,     /* sum 10^(6 (i-1)/(n-1)) x_i^2 */
    BNM_CMAES_BENCH_ROSENBROCK,    /* sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 */
    BNM_CMAES_BENCH_ROT_ELLIPSOID, /* ellipsoid of R x, R a random orthogonal matrix */
    BNM_CMAES_BENCH_COUNT_
} bnm_cmaes_bench_fn;

/* "sphere", "ellipsoid", "rosenbrock", "rot-ellipsoid". */
const char *bnm_cmaes_bench_name(bnm_cmaes_bench_fn fn);

/* The benchmark setup (one place, so the tool and the test agree): x0 drawn uniformly
 * from [X0_LO, X0_HI]^n from the run's seed, sigma0 = SIGMA0, default popsize, target
 * f < TARGET, every other setting at its default. */
#define BNM_CMAES_BENCH_X0_LO (-1.0)
#define BNM_CMAES_BENCH_X0_HI 1.0
#define BNM_CMAES_BENCH_SIGMA0 0.5
#define BNM_CMAES_BENCH_TARGET 1e-8

typedef struct bnm_cmaes_bench_result {
    uint64_t evaluations;   /* at the end of the generation that stopped the run */
    int success;            /* best cost < target */
    double best;            /* best cost */
    bnm_cmaes_stop stop;
} bnm_cmaes_bench_result;

/* Evaluates fn at x[n]. R is the n x n rotation (row-major) for the rotated ellipsoid,
 * NULL otherwise; tmp holds n doubles. */
double bnm_cmaes_bench_eval(bnm_cmaes_bench_fn fn, size_t n, const double *x, const double *R,
                            double *tmp);

/* A random orthogonal matrix (Gram-Schmidt of Gaussian columns) from seed, into R[n*n]. */
void bnm_cmaes_bench_rotation(size_t n, uint64_t seed, double *R);

/* One run of fn in dimension n from seed. */
bnm_status bnm_cmaes_bench_run(bnm_context *ctx, bnm_cmaes_bench_fn fn, size_t n,
                               uint64_t seed, bnm_cmaes_bench_result *res);

#endif
