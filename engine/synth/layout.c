/* The synthetic atlas: mirrored cortical-shell nodes in a brain-sized ellipsoid
 * (synth.h, rule 1). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_internal.h"

/* Rejections in a row before d_min shrinks, and by how much: dart throwing jams once
 * the shell is about half covered, so the spacing must be allowed to give way. */
#define SYNTH_REJECT_RUN 500
#define SYNTH_SHRINK 0.9
/* Spacing as a fraction of sqrt(area per node): disks of diameter 0.7 s cover about
 * 38 % of the surface, below the 55 % jamming limit of random sequential adsorption,
 * so the shrink rule rarely fires at the defaults. */
#define SYNTH_SPACING 0.7

void bnm_synth_layout_config_init_defaults(bnm_synth_layout_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n = 100;
    cfg->seed = 1;
    cfg->semi_axes_mm[0] = 70.0;
    cfg->semi_axes_mm[1] = 87.0;
    cfg->semi_axes_mm[2] = 62.0;
    cfg->shell_inner = 0.80;
    cfg->shell_outer = 0.95;
    cfg->midline_gap_mm = 5.0;
}

void bnm_synth_layout_free(bnm_synth_layout *layout)
{
    if (!layout)
        return;
    if (layout->labels)
        for (size_t i = 0; i < layout->n; i++)
            free(layout->labels[i]);
    free(layout->labels);
    bnm_matrix_free(&layout->centres);
    memset(layout, 0, sizeof *layout);
}

/* Thomsen's approximation of an ellipsoid's surface area (relative error < 1.1 %). */
static double ellipsoid_area(const double ax[3])
{
    const double p = 1.6075;
    double ab = pow(ax[0] * ax[1], p), ac = pow(ax[0] * ax[2], p), bc = pow(ax[1] * ax[2], p);
    return 4.0 * M_PI * pow((ab + ac + bc) / 3.0, 1.0 / p);
}

static bnm_status check_config(bnm_context *ctx, const bnm_synth_layout_config *cfg)
{
    if (cfg->n < BNM_SYNTH_MIN_NODES || cfg->n > BNM_SYNTH_MAX_NODES || cfg->n % 2 != 0)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "synthetic layout: %zu nodes; the number of nodes must be even and "
                        "in [%d, %d] (two mirrored hemispheres)",
                        cfg->n, BNM_SYNTH_MIN_NODES, BNM_SYNTH_MAX_NODES);
    for (int k = 0; k < 3; k++)
        if (!(cfg->semi_axes_mm[k] > 0.0) || !isfinite(cfg->semi_axes_mm[k]))
            return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                            "synthetic layout: semi-axis %d is %g mm; semi-axes must be "
                            "positive and finite",
                            k, cfg->semi_axes_mm[k]);
    if (!(cfg->shell_inner > 0.0 && cfg->shell_inner <= cfg->shell_outer &&
          cfg->shell_outer <= 1.0))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "synthetic layout: shell [%g, %g]; need 0 < inner <= outer <= 1",
                        cfg->shell_inner, cfg->shell_outer);
    /* The gap must leave room: a point needs |x| >= gap with |x| <= a * outer. */
    if (!(cfg->midline_gap_mm >= 0.0) ||
        cfg->midline_gap_mm > 0.5 * cfg->semi_axes_mm[0] * cfg->shell_outer)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "synthetic layout: midline gap %g mm; it must be in [0, %g] mm (half "
                        "the hemisphere's width)",
                        cfg->midline_gap_mm, 0.5 * cfg->semi_axes_mm[0] * cfg->shell_outer);
    return BNM_OK;
}

/* The candidate of attempt number `attempt`: block (attempt, 0) gives the direction,
 * block (attempt, 1) the depth. */
static void candidate(const bnm_synth_layout_config *cfg, uint32_t attempt, double p[3])
{
    uint32_t w[4], w2[4];
    bnm_synth_block(cfg->seed, SYNTH_STREAM_LAYOUT, attempt, 0, w);
    double uz = 2.0 * bnm_synth_unit(w[0], w[1]) - 1.0;
    double phi = 2.0 * M_PI * bnm_synth_unit(w[2], w[3]);
    double s = sqrt(1.0 - uz * uz);
    double ux = -fabs(s * cos(phi)), uy = s * sin(phi);
    /* The depth needs a third uniform: a second block (b = 1) keeps it independent. */
    bnm_synth_block(cfg->seed, SYNTH_STREAM_LAYOUT, attempt, 1, w2);
    double r = cfg->shell_inner + (cfg->shell_outer - cfg->shell_inner) *
                                      bnm_synth_unit(w2[0], w2[1]);
    p[0] = cfg->semi_axes_mm[0] * r * ux;
    p[1] = cfg->semi_axes_mm[1] * r * uy;
    p[2] = cfg->semi_axes_mm[2] * r * uz;
}

static int by_y_descending(const void *pa, const void *pb)
{
    const double *a = pa, *b = pb;
    if (a[1] != b[1])
        return a[1] > b[1] ? -1 : 1;
    if (a[2] != b[2])
        return a[2] > b[2] ? -1 : 1;
    return (a[0] > b[0]) - (a[0] < b[0]);
}

bnm_status bnm_synth_layout_create(bnm_context *ctx, const bnm_synth_layout_config *cfg,
                                   bnm_synth_layout *out)
{
    memset(out, 0, sizeof *out);
    bnm_status st = check_config(ctx, cfg);
    if (st != BNM_OK)
        return st;
    size_t n = cfg->n, half = n / 2;
    double *xyz = malloc(n * 3 * sizeof *xyz);
    char **labels = calloc(n, sizeof *labels);
    if (!xyz || !labels) {
        free(xyz);
        free(labels);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "synthetic layout: out of memory");
    }
    out->n = n;
    out->labels = labels;
    out->centres.rows = n;
    out->centres.cols = 3;
    out->centres.data = xyz;

    double d_min = SYNTH_SPACING * sqrt(0.5 * ellipsoid_area(cfg->semi_axes_mm) / (double)half);
    size_t placed = 0;
    int run = 0;
    for (uint32_t attempt = 0; placed < half; attempt++) {
        double p[3];
        candidate(cfg, attempt, p);
        bool ok = fabs(p[0]) >= cfg->midline_gap_mm;
        for (size_t k = 0; ok && k < placed; k++) {
            double dx = p[0] - xyz[3 * k], dy = p[1] - xyz[3 * k + 1], dz = p[2] - xyz[3 * k + 2];
            ok = dx * dx + dy * dy + dz * dz >= d_min * d_min;
        }
        if (!ok) {
            /* The gap test alone rejects a bounded fraction, so the spacing always
             * shrinks eventually and the loop ends. */
            if (++run >= SYNTH_REJECT_RUN) {
                d_min *= SYNTH_SHRINK;
                run = 0;
            }
            continue;
        }
        memcpy(&xyz[3 * placed], p, sizeof p);
        placed++;
        run = 0;
    }
    qsort(xyz, half, 3 * sizeof *xyz, by_y_descending);
    for (size_t i = 0; i < half; i++) {
        xyz[3 * (i + half)] = -xyz[3 * i];
        xyz[3 * (i + half) + 1] = xyz[3 * i + 1];
        xyz[3 * (i + half) + 2] = xyz[3 * i + 2];
    }
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%c_%zu", i < half ? 'L' : 'R', (i % half) + 1);
        if (!(labels[i] = strdup(buf))) {
            bnm_synth_layout_free(out);
            return bnm_fail(ctx, BNM_ERR_NOMEM, "synthetic layout: out of memory");
        }
    }
    return BNM_OK;
}
