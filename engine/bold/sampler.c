/* Streaming host sampler: BW integration, volumes at t = (v+1) TR and time-averaged
 * states (analysis.md 2.4, 4.1-4.3). The engine's own checks and the tests use it; the
 * batch kernels do the same work on the device. */
#include <inttypes.h>
#include <stdlib.h>

#include "clbnm/bold.h"

struct bnm_bold_sampler {
    bnm_bold_schedule sch;
    bnm_bold_sampler_config cfg;
    int64_t k;      /* BW steps done */
    int64_t v;      /* volumes emitted */
    int64_t n_sum;  /* samples added to sums */
    bnm_bw_state *bw; /* [n_nodes] */
    double *bold;     /* [n_vol][n_nodes] */
    double *sums;     /* [n_nodes][n_quant] */
};

void bnm_bold_sampler_config_init_defaults(bnm_bold_sampler_config *cfg)
{
    cfg->mode = BNM_BOLD_BALLOON;
    (void)bnm_bold_coeffs_lookup(NULL, NULL, &cfg->coeffs);
    cfg->n_nodes = 0;
    cfg->n_quant = 0;
}

bnm_status bnm_bold_sampler_create(bnm_context *ctx, const bnm_bold_schedule *sch,
                                   const bnm_bold_sampler_config *cfg,
                                   bnm_bold_sampler **out)
{
    *out = NULL;
    if (cfg->n_nodes == 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "BOLD sampler: no nodes");
    if (sch->n_bw <= 0 || sch->bw_per_vol <= 0 || sch->bw_per_samp <= 0 || sch->n_vol < 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "BOLD sampler: schedule not from bnm_bold_schedule_compute");
    if ((uint64_t)sch->n_vol > SIZE_MAX / sizeof(double) / cfg->n_nodes
        || (cfg->n_quant && cfg->n_quant > SIZE_MAX / sizeof(double) / cfg->n_nodes))
        return bnm_fail(ctx, BNM_ERR_NOMEM, "BOLD sampler: %" PRId64 " volumes of %zu nodes overflow",
                        sch->n_vol, cfg->n_nodes);
    bnm_bold_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "BOLD sampler: out of memory");
    s->sch = *sch;
    s->cfg = *cfg;
    s->bw = calloc(cfg->n_nodes, sizeof *s->bw);
    /* One extra element keeps calloc's argument nonzero when n_vol or n_quant is 0. */
    s->bold = calloc((size_t)sch->n_vol * cfg->n_nodes + 1, sizeof *s->bold);
    s->sums = calloc(cfg->n_quant * cfg->n_nodes + 1, sizeof *s->sums);
    if (!s->bw || !s->bold || !s->sums) {
        bnm_bold_sampler_destroy(s);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "BOLD sampler: out of memory for %" PRId64
                        " volumes of %zu nodes", sch->n_vol, cfg->n_nodes);
    }
    bnm_bold_sampler_reset(s);
    *out = s;
    return BNM_OK;
}

void bnm_bold_sampler_destroy(bnm_bold_sampler *s)
{
    if (!s)
        return;
    free(s->bw);
    free(s->bold);
    free(s->sums);
    free(s);
}

void bnm_bold_sampler_reset(bnm_bold_sampler *s)
{
    for (size_t i = 0; i < s->cfg.n_nodes; i++)
        bnm_bw_init(&s->bw[i]);
    for (size_t j = 0; j < s->cfg.n_quant * s->cfg.n_nodes; j++)
        s->sums[j] = 0.0;
    s->k = 0;
    s->v = 0;
    s->n_sum = 0;
}

bnm_status bnm_bold_sampler_push(bnm_context *ctx, bnm_bold_sampler *s, const double *z,
                                 const double *states)
{
    const size_t n = s->cfg.n_nodes;
    if (s->k >= s->sch.n_bw)
        return bnm_fail(ctx, BNM_ERR_INTERNAL, "BOLD sampler: step %" PRId64 " past the end (%" PRId64
                        " BW steps)", s->k + 1, s->sch.n_bw);
    if (s->cfg.mode == BNM_BOLD_BALLOON) {
        for (size_t i = 0; i < n; i++)
            bnm_bw_step(&s->bw[i], z[i], s->sch.h);
    }
    s->k++;
    /* The BW step just done ends at t = k bw_dt: a volume is due when t is a multiple
     * of TR, so the first one is at TR, never at 0, and a trailing partial TR (k past
     * n_vol TRs) makes none. */
    if (s->k % s->sch.bw_per_vol == 0 && s->v < s->sch.n_vol) {
        double *row = s->bold + (size_t)s->v * n;
        for (size_t i = 0; i < n; i++)
            row[i] = s->cfg.mode == BNM_BOLD_BALLOON ? bnm_bw_observe(&s->bw[i], &s->cfg.coeffs)
                                                     : z[i];
        s->v++;
    }
    if (s->cfg.n_quant && s->k % s->sch.bw_per_samp == 0) {
        int64_t samp = s->k / s->sch.bw_per_samp - 1;
        if (samp >= s->sch.n_rm_s && samp < s->sch.n_samp) {
            if (!states)
                return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                                "BOLD sampler: state sample %" PRId64 " due but no states given",
                                samp);
            for (size_t j = 0; j < s->cfg.n_quant * n; j++)
                s->sums[j] += states[j];
            s->n_sum++;
        }
    }
    return BNM_OK;
}

int64_t bnm_bold_sampler_steps_done(const bnm_bold_sampler *s)
{
    return s->k;
}

int64_t bnm_bold_sampler_volumes_done(const bnm_bold_sampler *s)
{
    return s->v;
}

const double *bnm_bold_sampler_volumes(const bnm_bold_sampler *s)
{
    return s->bold;
}

const bnm_bw_state *bnm_bold_sampler_bw(const bnm_bold_sampler *s, size_t i)
{
    return i < s->cfg.n_nodes ? &s->bw[i] : NULL;
}

bnm_status bnm_bold_sampler_states_mean(bnm_context *ctx, const bnm_bold_sampler *s,
                                        double *out)
{
    if (s->k != s->sch.n_bw)
        return bnm_fail(ctx, BNM_ERR_INTERNAL, "BOLD sampler: states mean asked after %" PRId64
                        " of %" PRId64 " BW steps", s->k, s->sch.n_bw);
    if (s->sch.n_samp <= s->sch.n_rm_s)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "bold_remove removes all %" PRId64 " state samples: nothing to average "
                        "(shorten bold_remove or lengthen duration)", s->sch.n_samp);
    for (size_t j = 0; j < s->cfg.n_quant * s->cfg.n_nodes; j++)
        out[j] = s->sums[j] / (double)s->n_sum;
    return BNM_OK;
}

bnm_status bnm_bold_sample_series(bnm_context *ctx, const bnm_bold_schedule *sch,
                                  bnm_bold_mode mode, const bnm_bold_coeffs *coeffs,
                                  size_t n_nodes, const double *z, double *bold)
{
    bnm_bold_sampler_config cfg;
    bnm_bold_sampler_config_init_defaults(&cfg);
    cfg.mode = mode;
    cfg.coeffs = *coeffs;
    cfg.n_nodes = n_nodes;
    bnm_bold_sampler *s;
    bnm_status st = bnm_bold_sampler_create(ctx, sch, &cfg, &s);
    if (st != BNM_OK)
        return st;
    for (int64_t k = 0; k < sch->n_bw && st == BNM_OK; k++)
        st = bnm_bold_sampler_push(ctx, s, z + (size_t)k * n_nodes, NULL);
    if (st == BNM_OK) {
        for (size_t j = 0; j < (size_t)sch->n_vol * n_nodes; j++)
            bold[j] = s->bold[j];
    }
    bnm_bold_sampler_destroy(s);
    return st;
}
