/* CMA-ES after Hansen, "The CMA Evolution Strategy: A Tutorial" (2016): sampling,
 * recombination, cumulation, step-size and covariance updates of its Appendix A. */
#include <Random123/philox.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmaes_internal.h"

/* Counter word 3 of every draw: keeps the optimizer's stream apart from the simulation
 * noise and the sweep draws that the same seed may key. */
#define CMAES_RNG_TAG UINT32_C(0x434d4145) /* "CMAE" */

unsigned bnm_cmaes_default_popsize(size_t n)
{
    return 4u + (unsigned)floor(3.0 * log((double)n));
}

void bnm_cmaes_config_init_defaults(bnm_cmaes_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sigma0 = 0.5;
    cfg->bounded = true;
    cfg->tolfun = 1e-11;
    cfg->tolx = 1e-11;
    cfg->max_condition = 1e14;
    cfg->ftarget = -INFINITY;
}

/* Default strategy parameters (tutorial, appendix A, table 1), positive weights only:
 * the standard (mu/mu_w, lambda) strategy without active covariance update. */
static void cmaes_constants(bnm_cmaes *es)
{
    double n = (double)es->n, lam = (double)es->lambda;
    es->mu = es->lambda / 2;
    double sw = 0.0, sw2 = 0.0;
    for (uint64_t i = 0; i < es->mu; i++) {
        es->w[i] = log((lam + 1.0) / 2.0) - log((double)(i + 1));
        sw += es->w[i];
    }
    for (uint64_t i = 0; i < es->mu; i++) {
        es->w[i] /= sw;
        sw2 += es->w[i] * es->w[i];
    }
    es->mueff = 1.0 / sw2;
    es->cs = (es->mueff + 2.0) / (n + es->mueff + 5.0);
    es->ds = 1.0 + 2.0 * fmax(0.0, sqrt((es->mueff - 1.0) / (n + 1.0)) - 1.0) + es->cs;
    es->cc = (4.0 + es->mueff / n) / (n + 4.0 + 2.0 * es->mueff / n);
    es->c1 = 2.0 / ((n + 1.3) * (n + 1.3) + es->mueff);
    es->cmu = fmin(1.0 - es->c1, 2.0 * (es->mueff - 2.0 + 1.0 / es->mueff) /
                                     ((n + 2.0) * (n + 2.0) + es->mueff));
    es->chin = sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
    /* Lazy eigendecomposition: C is decomposed again once this many evaluations have
     * passed (tutorial B.2: O(n^2) amortised cost per sample). */
    es->eigen_gap = lam / (es->c1 + es->cmu) / n / 10.0;
    es->hist_cap = 10 + (uint64_t)ceil(30.0 * n / lam);
}

bnm_cmaes *bnm_cmaes_alloc_state(uint64_t n, uint64_t lambda)
{
    bnm_cmaes *es = calloc(1, sizeof *es);
    if (!es)
        return NULL;
    es->n = n;
    es->lambda = lambda;
    es->mu = lambda / 2;
    es->hist_cap = 10 + (uint64_t)ceil(30.0 * (double)n / (double)lambda);
    size_t nn = (size_t)(n * n), ln = (size_t)(lambda * n);
    es->w = calloc(es->mu, sizeof *es->w);
    es->m = calloc(n, sizeof(double));
    es->ps = calloc(n, sizeof(double));
    es->pc = calloc(n, sizeof(double));
    es->C = calloc(nn, sizeof(double));
    es->B = calloc(nn, sizeof(double));
    es->D = calloc(n, sizeof(double));
    es->best_x = calloc(n, sizeof(double));
    es->hist = calloc(es->hist_cap, sizeof(double));
    es->z = calloc(ln, sizeof(double));
    es->y = calloc(ln, sizeof(double));
    es->xf = calloc(ln, sizeof(double));
    es->tmp = calloc(nn + 2 * n, sizeof(double)); /* eigen: matrix + values */
    es->rank = calloc(lambda, sizeof *es->rank);
    es->rank_tmp = calloc(lambda, sizeof *es->rank_tmp);
    if (!es->w || !es->m || !es->ps || !es->pc || !es->C || !es->B || !es->D || !es->best_x ||
        !es->hist || !es->z || !es->y || !es->xf || !es->tmp || !es->rank ||
        !es->rank_tmp) {
        bnm_cmaes_destroy(es);
        return NULL;
    }
    cmaes_constants(es);
    return es;
}

void bnm_cmaes_destroy(bnm_cmaes *es)
{
    if (!es)
        return;
    free(es->w);
    free(es->m);
    free(es->ps);
    free(es->pc);
    free(es->C);
    free(es->B);
    free(es->D);
    free(es->best_x);
    free(es->hist);
    free(es->z);
    free(es->y);
    free(es->xf);
    free(es->tmp);
    free(es->rank);
    free(es->rank_tmp);
    free(es);
}

bnm_status bnm_cmaes_create(bnm_context *ctx, const bnm_cmaes_config *cfg, bnm_cmaes **out)
{
    *out = NULL;
    if (cfg->n < 1 || cfg->n > 100000)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "CMA-ES needs between 1 and 100000 free parameters, got %zu", cfg->n);
    unsigned lambda = cfg->popsize ? cfg->popsize : bnm_cmaes_default_popsize(cfg->n);
    if (lambda < 2)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "CMA-ES popsize must be at least 2, got %u", cfg->popsize);
    if (!(cfg->sigma0 > 0.0) || !isfinite(cfg->sigma0))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "CMA-ES sigma0 must be positive, got %g",
                        cfg->sigma0);
    if (cfg->max_generations >= UINT32_MAX)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "CMA-ES max_generations must be below 2^32 - 1, got %u",
                        cfg->max_generations);
    for (size_t i = 0; cfg->x0 && i < cfg->n; i++) {
        double v = cfg->x0[i];
        if (!isfinite(v) || (cfg->bounded && (v < 0.0 || v > 1.0)))
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                            "CMA-ES x0[%zu] = %g is not %s", i, v,
                            cfg->bounded ? "inside the normalised box [0, 1]" : "finite");
    }
    bnm_cmaes *es = bnm_cmaes_alloc_state(cfg->n, lambda);
    if (!es)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating a CMA-ES optimizer");
    size_t n = cfg->n;
    es->seed = cfg->seed;
    es->bounded = cfg->bounded;
    es->sigma0 = cfg->sigma0;
    es->tolfun = cfg->tolfun;
    es->tolx = cfg->tolx;
    es->max_cond = cfg->max_condition;
    es->ftarget = cfg->ftarget;
    es->max_gen = cfg->max_generations;
    if (!es->max_gen) {
        double g = 100.0 + 150.0 * ((double)n + 3.0) * ((double)n + 3.0) / sqrt((double)lambda);
        es->max_gen = g < 4e9 ? (uint64_t)g : UINT64_C(4000000000);
    }
    es->sigma = cfg->sigma0;
    es->cond = 1.0;
    es->best_f = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = cfg->x0 ? cfg->x0[i] : (cfg->bounded ? 0.5 : 0.0);
        es->m[i] = cfg->bounded ? bnm_cmaes_from_feasible(v) : v;
        es->best_x[i] = cfg->bounded ? bnm_cmaes_to_feasible(es->m[i]) : v;
        es->C[i * n + i] = 1.0;
        es->B[i * n + i] = 1.0;
        es->D[i] = 1.0;
    }
    *out = es;
    return BNM_OK;
}

/* Philox4x32-10 keyed by the seed, counter (generation, particle, pair, tag): four words
 * make two 53-bit uniforms in (0, 1), Box-Muller makes two normals. */
static void normal_pair(uint64_t seed, uint64_t gen, uint64_t particle, uint64_t pair,
                        double *z0, double *z1)
{
    philox4x32_ctr_t c = {{(uint32_t)gen, (uint32_t)particle, (uint32_t)pair, CMAES_RNG_TAG}};
    philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32_R(10, c, k);
    uint64_t a = ((uint64_t)r.v[0] << 32 | r.v[1]) >> 11;
    uint64_t b = ((uint64_t)r.v[2] << 32 | r.v[3]) >> 11;
    double u1 = ((double)a + 0.5) * 0x1p-53, u2 = ((double)b + 0.5) * 0x1p-53;
    double rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;
    *z0 = rad * cos(ang);
    *z1 = rad * sin(ang);
}

void bnm_cmaes_sample(bnm_cmaes *es)
{
    size_t n = (size_t)es->n;
    for (size_t k = 0; k < es->lambda; k++) {
        double *z = es->z + k * n, *y = es->y + k * n, *x = es->xf + k * n;
        for (size_t p = 0; 2 * p < n; p++) {
            double a, b;
            normal_pair(es->seed, es->gen, k, p, &a, &b);
            z[2 * p] = a;
            if (2 * p + 1 < n)
                z[2 * p + 1] = b;
        }
        for (size_t j = 0; j < n; j++)
            es->tmp[j] = es->D[j] * z[j];
        for (size_t i = 0; i < n; i++) { /* y = B D z */
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += es->B[i * n + j] * es->tmp[j];
            y[i] = s;
            x[i] = es->m[i] + es->sigma * s;
            if (es->bounded)
                x[i] = bnm_cmaes_to_feasible(x[i]);
        }
    }
}

void bnm_cmaes_ask(bnm_cmaes *es, double *X)
{
    if (!es->asked) {
        bnm_cmaes_sample(es);
        es->asked = 1;
    }
    memcpy(X, es->xf, (size_t)(es->lambda * es->n) * sizeof *X);
}

/* Ascending cost, NaN last, ties by particle index: a total order, so the ranking (and
 * the trajectory) does not depend on the sorting algorithm. */
static int ranks_before(const double *f, uint32_t a, uint32_t b)
{
    int na = isnan(f[a]), nb = isnan(f[b]);
    if (na != nb)
        return nb;
    if (!na && f[a] != f[b])
        return f[a] < f[b];
    return a < b;
}

/* Bottom-up merge sort of es->rank (reentrant, O(lambda log lambda)). */
static void rank_population(bnm_cmaes *es, const double *fitness)
{
    size_t len = (size_t)es->lambda;
    uint32_t *src = es->rank, *dst = es->rank_tmp;
    for (uint32_t k = 0; k < len; k++)
        src[k] = k;
    for (size_t width = 1; width < len; width *= 2) {
        for (size_t lo = 0; lo < len; lo += 2 * width) {
            size_t mid = lo + width < len ? lo + width : len;
            size_t hi = lo + 2 * width < len ? lo + 2 * width : len;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                dst[o++] = ranks_before(fitness, src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != es->rank)
        memcpy(es->rank, src, len * sizeof *src);
}

/* Eigendecomposition C = B diag(D^2) B^T (LAPACK dsyevd on the upper triangle). */
static void eigen_update(bnm_cmaes *es)
{
    size_t n = (size_t)es->n;
    double *A = es->tmp, *ev = es->tmp + n * n;
    es->eigen_evals = es->evals;
    memcpy(A, es->C, n * n * sizeof(double));
    lapack_int info =
        LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, A, (lapack_int)n, ev);
    if (info != 0 || !(ev[0] > 0.0) || !isfinite(ev[n - 1])) {
        es->stop = BNM_CMAES_STOP_NUMERICS;
        snprintf(es->stop_text, sizeof es->stop_text,
                 "numerics: covariance matrix not positive definite (dsyevd info %d, "
                 "eigenvalues in [%g, %g]) at generation %llu",
                 (int)info, ev[0], ev[n - 1], (unsigned long long)es->gen);
        return; /* B and D stay the last good basis, so asking still gives usable points */
    }
    memcpy(es->B, A, n * n * sizeof(double));
    es->cond = ev[n - 1] / ev[0];
    for (size_t i = 0; i < n; i++)
        es->D[i] = sqrt(ev[i]);
}

static void check_stop(bnm_cmaes *es, const double *fitness)
{
    size_t n = (size_t)es->n;
    char *t = es->stop_text;
    size_t tl = sizeof es->stop_text;
    unsigned long long g = (unsigned long long)es->gen;
    if (es->stop)
        return;
    if (es->best_f <= es->ftarget) {
        es->stop = BNM_CMAES_STOP_FTARGET;
        snprintf(t, tl, "ftarget: best cost %.6g <= %.6g at generation %llu", es->best_f,
                 es->ftarget, g);
        return;
    }
    if (es->gen >= es->max_gen) {
        es->stop = BNM_CMAES_STOP_MAXITER;
        snprintf(t, tl, "maxiter: %llu generations reached", g);
        return;
    }
    if (es->tolfun > 0.0 && es->hist_len >= es->hist_cap) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < es->hist_cap; i++) {
            lo = fmin(lo, es->hist[i]);
            hi = fmax(hi, es->hist[i]);
        }
        for (size_t k = 0; k < es->lambda; k++) {
            lo = fmin(lo, fitness[k]);
            hi = fmax(hi, fitness[k]);
        }
        /* fmin/fmax skip NaN costs; an infinite cost keeps the run going. */
        if (hi - lo < es->tolfun) {
            es->stop = BNM_CMAES_STOP_TOLFUN;
            snprintf(t, tl,
                     "tolfun: cost range %.3g over the last %llu generations < %.3g at "
                     "generation %llu",
                     hi - lo, (unsigned long long)es->hist_cap, es->tolfun, g);
            return;
        }
    }
    if (es->tolx > 0.0) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s = fmax(s, fmax(sqrt(es->C[i * n + i]), fabs(es->pc[i])));
        if (es->sigma * s < es->tolx) {
            es->stop = BNM_CMAES_STOP_TOLX;
            snprintf(t, tl,
                     "tolx: sigma * max(sqrt(diag C), |p_c|) = %.3g < %.3g at generation %llu",
                     es->sigma * s, es->tolx, g);
            return;
        }
    }
    if (es->cond > es->max_cond) {
        es->stop = BNM_CMAES_STOP_CONDITION;
        snprintf(t, tl, "condition: cond(C) = %.3g > %.3g at generation %llu", es->cond,
                 es->max_cond, g);
    }
}

bnm_status bnm_cmaes_tell(bnm_context *ctx, bnm_cmaes *es, const double *fitness)
{
    if (!es->asked)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "CMA-ES tell without ask at generation %llu",
                        (unsigned long long)es->gen);
    size_t n = (size_t)es->n, mu = (size_t)es->mu;
    rank_population(es, fitness);

    uint32_t b = es->rank[0];
    if (fitness[b] < es->best_f) {
        es->best_f = fitness[b];
        memcpy(es->best_x, es->xf + (size_t)b * n, n * sizeof(double));
    }

    /* y_w and z_w: weighted means of the mu best steps and normals. */
    double *yw = es->tmp, *zw = es->tmp + n;
    for (size_t i = 0; i < n; i++)
        yw[i] = zw[i] = 0.0;
    for (size_t r = 0; r < mu; r++) {
        const double *y = es->y + (size_t)es->rank[r] * n, *z = es->z + (size_t)es->rank[r] * n;
        for (size_t i = 0; i < n; i++) {
            yw[i] += es->w[r] * y[i];
            zw[i] += es->w[r] * z[i];
        }
    }
    for (size_t i = 0; i < n; i++)
        es->m[i] += es->sigma * yw[i]; /* c_m = 1 */

    /* p_sigma: C^{-1/2} y_w = B D^{-1} B^T B D z_w = B z_w with the basis that
     * sampled this generation. */
    double a = sqrt(es->cs * (2.0 - es->cs) * es->mueff), psn = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++)
            s += es->B[i * n + j] * zw[j];
        es->ps[i] = (1.0 - es->cs) * es->ps[i] + a * s;
        psn += es->ps[i] * es->ps[i];
    }
    psn = sqrt(psn);

    /* h_sigma stalls p_c when ||p_sigma|| is large (tutorial, Appendix A). */
    double corr = sqrt(1.0 - pow(1.0 - es->cs, 2.0 * (double)(es->gen + 1)));
    int hs = psn / corr < (1.4 + 2.0 / ((double)n + 1.0)) * es->chin;
    double ac = sqrt(es->cc * (2.0 - es->cc) * es->mueff);
    for (size_t i = 0; i < n; i++)
        es->pc[i] = (1.0 - es->cc) * es->pc[i] + (hs ? ac * yw[i] : 0.0);

    /* C update with sum(w) = 1 and delta(h_sigma) = (1 - h_sigma) c_c (2 - c_c). */
    double dh = hs ? 0.0 : es->cc * (2.0 - es->cc);
    double keep = 1.0 + es->c1 * dh - es->c1 - es->cmu;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i; j < n; j++) {
            double rmu = 0.0;
            for (size_t r = 0; r < mu; r++) {
                const double *y = es->y + (size_t)es->rank[r] * n;
                rmu += es->w[r] * y[i] * y[j];
            }
            double v = keep * es->C[i * n + j] + es->c1 * es->pc[i] * es->pc[j] + es->cmu * rmu;
            es->C[i * n + j] = v;
            es->C[j * n + i] = v;
        }
    }

    es->sigma *= exp(es->cs / es->ds * (psn / es->chin - 1.0));

    es->hist[es->hist_pos] = fitness[b];
    es->hist_pos = (es->hist_pos + 1) % es->hist_cap;
    if (es->hist_len < es->hist_cap)
        es->hist_len++;
    es->gen++;
    es->evals += es->lambda;
    es->asked = 0;
    if ((double)(es->evals - es->eigen_evals) > es->eigen_gap)
        eigen_update(es);
    check_stop(es, fitness);
    return BNM_OK;
}

bnm_cmaes_stop bnm_cmaes_stopped(const bnm_cmaes *es) { return (bnm_cmaes_stop)es->stop; }

const char *bnm_cmaes_stop_name(bnm_cmaes_stop reason)
{
    static const char *const names[] = {"running", "maxiter", "tolfun", "tolx",
                                        "condition", "ftarget", "numerics"};
    return (unsigned)reason < sizeof names / sizeof names[0] ? names[reason] : "unknown";
}

const char *bnm_cmaes_stop_text(const bnm_cmaes *es) { return es->stop ? es->stop_text : ""; }
size_t bnm_cmaes_dim(const bnm_cmaes *es) { return (size_t)es->n; }
unsigned bnm_cmaes_popsize(const bnm_cmaes *es) { return (unsigned)es->lambda; }
uint64_t bnm_cmaes_generation(const bnm_cmaes *es) { return es->gen; }
uint64_t bnm_cmaes_evaluations(const bnm_cmaes *es) { return es->evals; }
double bnm_cmaes_sigma(const bnm_cmaes *es) { return es->sigma; }
double bnm_cmaes_condition(const bnm_cmaes *es) { return es->cond; }

double bnm_cmaes_best(const bnm_cmaes *es, double *x)
{
    if (x)
        memcpy(x, es->best_x, (size_t)es->n * sizeof *x);
    return es->best_f;
}

void bnm_cmaes_mean(const bnm_cmaes *es, double *x)
{
    for (size_t i = 0; i < es->n; i++)
        x[i] = es->bounded ? bnm_cmaes_to_feasible(es->m[i]) : es->m[i];
}
