/* One synthetic subject: EDR connectome and curved tract lengths (synth.h, rules 2-3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth_internal.h"

void bnm_synth_sc_config_init_defaults(bnm_synth_sc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->lambda_mm = 15.0;
    cfg->inter_factor = 0.5;
    cfg->homotopic_boost = 0.1;
    cfg->noise_sigma = 0.4;
    cfg->density = 0.20;
    cfg->mean_weight = 0.01;
    cfg->curv_intra[0] = 1.10;
    cfg->curv_intra[1] = 1.25;
    cfg->curv_inter[0] = 1.25;
    cfg->curv_inter[1] = 1.40;
}

void bnm_synth_subject_free(bnm_synth_subject *s)
{
    if (!s)
        return;
    bnm_matrix_free(&s->sc);
    bnm_matrix_free(&s->lengths);
    memset(s, 0, sizeof *s);
}

static bool finite_pos(double v)
{
    return isfinite(v) && v > 0.0;
}

static bnm_status check_config(bnm_context *ctx, const bnm_synth_sc_config *c)
{
    const char *bad = NULL;
    if (!finite_pos(c->lambda_mm))
        bad = "lambda_mm must be positive";
    else if (!(c->inter_factor > 0.0 && c->inter_factor <= 1.0))
        bad = "inter_factor must be in (0, 1]";
    else if (!(c->homotopic_boost >= 0.0) || !isfinite(c->homotopic_boost))
        bad = "homotopic_boost must be non-negative";
    else if (!(c->noise_sigma >= 0.0) || !(c->noise_sigma <= 5.0))
        bad = "noise_sigma must be in [0, 5]";
    else if (!(c->density > 0.0 && c->density <= 1.0))
        bad = "density must be in (0, 1]";
    else if (!finite_pos(c->mean_weight))
        bad = "mean_weight must be positive";
    else if (!(c->curv_intra[0] >= 1.0 && c->curv_intra[0] <= c->curv_intra[1] &&
               isfinite(c->curv_intra[1])) ||
             !(c->curv_inter[0] >= 1.0 && c->curv_inter[0] <= c->curv_inter[1] &&
               isfinite(c->curv_inter[1])))
        bad = "curvature ranges must satisfy 1 <= min <= max (a path is never shorter "
              "than the straight line)";
    if (bad)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "synthetic connectome: %s", bad);
    return BNM_OK;
}

/* A pair (i < j) and its pre-threshold weight, for ranking. */
typedef struct pair {
    double w;
    uint32_t i, j;
} pair;

static int by_weight_descending(const void *pa, const void *pb)
{
    const pair *a = pa, *b = pb;
    if (a->w != b->w)
        return a->w > b->w ? -1 : 1;
    if (a->i != b->i)
        return a->i < b->i ? -1 : 1;
    return (a->j > b->j) - (a->j < b->j);
}

static double distance(const bnm_matrix *c, size_t i, size_t j)
{
    const double *p = &c->data[3 * i], *q = &c->data[3 * j];
    double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
    return sqrt(dx * dx + dy * dy + dz * dz);
}

bnm_status bnm_synth_subject_create(bnm_context *ctx, const bnm_synth_layout *layout,
                                    const bnm_synth_sc_config *cfg, uint64_t subject_seed,
                                    bnm_synth_subject *out)
{
    memset(out, 0, sizeof *out);
    bnm_synth_sc_config defaults;
    if (!cfg) {
        bnm_synth_sc_config_init_defaults(&defaults);
        cfg = &defaults;
    }
    bnm_status st = check_config(ctx, cfg);
    if (st != BNM_OK)
        return st;
    size_t n = layout ? layout->n : 0;
    if (n < BNM_SYNTH_MIN_NODES || n > BNM_SYNTH_MAX_NODES || n % 2 != 0 ||
        layout->centres.rows != n || layout->centres.cols != 3)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "synthetic connectome: the layout is empty or malformed; build it "
                        "with bnm_synth_layout_create");
    size_t half = n / 2, n_pairs = n * (n - 1) / 2;
    double *w = calloc(n * n, sizeof *w);
    double *len = calloc(n * n, sizeof *len);
    pair *pairs = malloc(n_pairs * sizeof *pairs);
    if (!w || !len || !pairs) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "synthetic connectome: out of memory (%zu nodes)", n);
        goto fail;
    }

    /* Homotopic pairs go first in the ranking whatever their weight: they are kept by
     * rule, and the density budget counts them. */
    const double sigma = cfg->noise_sigma;
    size_t p = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            double d = distance(&layout->centres, i, j);
            bool inter = (i < half) != (j < half), homotopic = j == i + half;
            double v = exp(-d / cfg->lambda_mm);
            if (inter)
                v *= cfg->inter_factor;
            if (homotopic)
                v += cfg->homotopic_boost;
            uint32_t blk[4];
            bnm_synth_block(subject_seed, SYNTH_STREAM_NOISE, (uint32_t)i, (uint32_t)j, blk);
            v *= exp(sigma * bnm_synth_normal(blk) - 0.5 * sigma * sigma);
            pairs[p++] = (pair){homotopic ? INFINITY : v, (uint32_t)i, (uint32_t)j};
            w[i * n + j] = w[j * n + i] = v;

            const double *k = inter ? cfg->curv_inter : cfg->curv_intra;
            bnm_synth_block(subject_seed, SYNTH_STREAM_CURVATURE, (uint32_t)i, (uint32_t)j, blk);
            double l = d * (k[0] + (k[1] - k[0]) * bnm_synth_unit(blk[0], blk[1]));
            len[i * n + j] = len[j * n + i] = l;
        }
    }
    qsort(pairs, n_pairs, sizeof *pairs, by_weight_descending);
    size_t keep = (size_t)llround(cfg->density * (double)n_pairs);
    if (keep < half)
        keep = half;
    for (size_t q = keep; q < n_pairs; q++)
        w[pairs[q].i * n + pairs[q].j] = w[pairs[q].j * n + pairs[q].i] = 0.0;

    /* models.md 0.2.5: mean of all n^2 entries (zeros and diagonal included). */
    double sum = 0.0;
    for (size_t q = 0; q < n * n; q++)
        sum += w[q];
    if (!(sum > 0.0) || !isfinite(sum)) {
        st = bnm_fail(ctx, BNM_ERR_INTERNAL, "synthetic connectome: total weight %g", sum);
        goto fail;
    }
    double scale = cfg->mean_weight * (double)(n * n) / sum;
    for (size_t q = 0; q < n * n; q++)
        w[q] *= scale;

    free(pairs);
    out->n = n;
    out->sc = (bnm_matrix){n, n, w};
    out->lengths = (bnm_matrix){n, n, len};
    return BNM_OK;
fail:
    free(w);
    free(len);
    free(pairs);
    return st;
}
