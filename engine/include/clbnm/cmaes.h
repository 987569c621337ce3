/* CMA-ES: the standard (mu/mu_w, lambda) evolution strategy with cumulative step-size
 * adaptation and rank-one plus rank-mu covariance updates, with the default constants of
 * Hansen, "The CMA Evolution Strategy: A Tutorial" (2016), section "Default parameters".
 *
 * Ask/tell. bnm_cmaes_ask fills a whole generation (popsize x n points, row-major), the
 * caller evaluates them in one batch (on the device) and hands the costs back with
 * bnm_cmaes_tell. Lower is better.
 *
 * Randomness. A run draws its normals from its own counter-based stream: Philox4x32-10
 * keyed by the run's 64-bit seed, counter (generation, particle, coordinate pair, tag),
 * Box-Muller. So a run's trajectory depends only on its seed and its costs, never on
 * other runs advancing in the same batch or on how calls are interleaved.
 *
 * Bounds. In bounded mode (the default) every free parameter is normalised to [0, 1]
 * (the caller maps x to lo + x (hi - lo) of its own bounds).
 * The strategy itself works in an unbounded space y; a point is shown to the caller as
 * x = T(y) where T is, per coordinate, periodic reflection of y onto [-a, 1 + a] followed
 * by a quadratic smoothing of the two margins (a = BNM_CMAES_BOUND_MARGIN):
 *     T(y) = (y + a)^2 / (4a)          for y in [-a, a)
 *          = y                         for y in [a, 1 - a]
 *          = 1 - (y - 1 - a)^2 / (4a)  for y in (1 - a, 1 + a]
 * T is continuous with a continuous first derivative, maps every real number into
 * [0, 1], is the identity in the interior [a, 1 - a] and is periodic with period
 * 2 (1 + 2a). This is the transform of Hansen's cma package (BoundTransform) with
 * symmetric margins. In unbounded mode T is the identity (benchmarks, unit tests).
 *
 * State. bnm_cmaes_state_save writes the complete state as a byte blob (native byte
 * order, checked on restore); bnm_cmaes_state_restore rebuilds an optimizer that
 * continues with bitwise identical results, also when saved between ask and tell. */
#ifndef CLBNM_CMAES_H
#define CLBNM_CMAES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BNM_CMAES_BOUND_MARGIN 0.05

typedef struct bnm_cmaes bnm_cmaes;

typedef struct bnm_cmaes_config {
    size_t n;                  /* number of free parameters, >= 1 (no default) */
    unsigned popsize;          /* lambda; 0 = 4 + floor(3 ln n); 1 is an error */
    double sigma0;             /* initial step size in the optimizer's space, > 0; 0.5 */
    const double *x0;          /* n initial mean values (feasible space, [0, 1] when
                                  bounded), borrowed during create only; NULL = 0.5 each
                                  when bounded, 0 each when unbounded */
    bool bounded;              /* true: [0, 1] box through the transform above; true */
    uint64_t seed;             /* keys the run's random stream; 0 */
    unsigned max_generations;  /* 0 = 100 + 150 (n + 3)^2 / sqrt(lambda) */
    double tolfun;             /* 1e-11; <= 0 disables */
    double tolx;               /* 1e-11; <= 0 disables */
    double max_condition;      /* stop when cond(C) exceeds it; 1e14 */
    double ftarget;            /* stop when the best cost is <= ftarget; -inf (off) */
} bnm_cmaes_config;

/* Why a run stopped. BNM_CMAES_RUNNING (0) while it has not. */
typedef enum bnm_cmaes_stop {
    BNM_CMAES_RUNNING = 0,
    BNM_CMAES_STOP_MAXITER,   /* max_generations reached */
    BNM_CMAES_STOP_TOLFUN,    /* range of recent best costs and of this generation < tolfun */
    BNM_CMAES_STOP_TOLX,      /* sigma * max(sqrt(diag C), |p_c|) < tolx */
    BNM_CMAES_STOP_CONDITION, /* cond(C) > max_condition */
    BNM_CMAES_STOP_FTARGET,   /* best cost <= ftarget */
    BNM_CMAES_STOP_NUMERICS   /* C lost positive definiteness or the solver failed */
} bnm_cmaes_stop;

void bnm_cmaes_config_init_defaults(bnm_cmaes_config *cfg);

/* Default population size for n parameters: 4 + floor(3 ln n). */
unsigned bnm_cmaes_default_popsize(size_t n);

/* Validates cfg (n >= 1, popsize != 1, sigma0 > 0 and finite, x0 finite and inside
 * [0, 1] when bounded) and creates an optimizer at generation 0. The caller owns *out
 * (bnm_cmaes_destroy). ctx may be NULL. */
bnm_status bnm_cmaes_create(bnm_context *ctx, const bnm_cmaes_config *cfg, bnm_cmaes **out);
/* Releases the optimizer; NULL is accepted. */
void bnm_cmaes_destroy(bnm_cmaes *es);

size_t bnm_cmaes_dim(const bnm_cmaes *es);
unsigned bnm_cmaes_popsize(const bnm_cmaes *es);

/* Fills X[popsize * n] (row k = particle k) with this generation's points in the
 * feasible space (inside [0, 1] when bounded). Asking again before tell returns the
 * same points. Asking a stopped
 * optimizer is allowed (it keeps sampling); callers normally check bnm_cmaes_stopped. */
void bnm_cmaes_ask(bnm_cmaes *es, double *X);
/* Hands back the costs of the points of the last ask (fitness[popsize], borrowed) and
 * advances one generation, then checks the stop criteria. Ranking is by cost, ties by
 * particle index; NaN costs rank last and never become the best. tell without a preceding ask is BNM_ERR_INVALID_ARG (recorded
 * in ctx, which may be NULL). */
bnm_status bnm_cmaes_tell(bnm_context *ctx, bnm_cmaes *es, const double *fitness);

/* Stop reason (BNM_CMAES_RUNNING while running). */
bnm_cmaes_stop bnm_cmaes_stopped(const bnm_cmaes *es);
/* "running", "maxiter", "tolfun", ... Static string. */
const char *bnm_cmaes_stop_name(bnm_cmaes_stop reason);
/* One line describing why the run stopped, with the values that triggered it ("" while
 * running). Borrowed: valid until the next tell or destroy. */
const char *bnm_cmaes_stop_text(const bnm_cmaes *es);

/* Completed generations (tells) and evaluations (popsize per tell). */
uint64_t bnm_cmaes_generation(const bnm_cmaes *es);
uint64_t bnm_cmaes_evaluations(const bnm_cmaes *es);
double bnm_cmaes_sigma(const bnm_cmaes *es);
/* Best-ever cost (+inf before any finite cost) and, when x is not NULL, its point in the
 * feasible space (x[n]). */
double bnm_cmaes_best(const bnm_cmaes *es, double *x);
/* The current mean, mapped to the feasible space, into x[n]. */
void bnm_cmaes_mean(const bnm_cmaes *es, double *x);
/* Condition number of C at the last eigendecomposition (1 before the first). */
double bnm_cmaes_condition(const bnm_cmaes *es);

/* Boundary transform T above for one coordinate, and its inverse on [0, 1] (the
 * preimage in [-a, 1 + a]). Exposed for tests and for reporting. */
double bnm_cmaes_to_feasible(double y);
double bnm_cmaes_from_feasible(double x);

/* Size in bytes of the state blob of es. */
size_t bnm_cmaes_state_size(const bnm_cmaes *es);
/* Writes the state into buf[size]; size must be at least bnm_cmaes_state_size. */
bnm_status bnm_cmaes_state_save(bnm_context *ctx, const bnm_cmaes *es, void *buf,
                                size_t size);
/* Builds a new optimizer from a blob written by bnm_cmaes_state_save (buf borrowed).
 * A wrong magic, version, byte order, size or inconsistent content is BNM_ERR_DATA.
 * The caller owns *out. */
bnm_status bnm_cmaes_state_restore(bnm_context *ctx, const void *buf, size_t size,
                                   bnm_cmaes **out);

#ifdef __cplusplus
}
#endif
#endif
