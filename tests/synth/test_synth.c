/* Synthetic demo data (synth.h): the layout, the connectome rule, the tract lengths and
 * the writers. The rule is recomputed here from the header's text (the reference); the
 * statistical properties are checked over several subjects so that no single draw can
 * make a test pass by luck. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clbnm/clbnm.h"
#include "clbnm/synth.h"

static char tmpdir[64];
static bnm_context *ctx;

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/clbnm-synth-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    bnm_context_destroy(ctx);
}

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void make_layout(size_t n, uint64_t seed, bnm_synth_layout *out)
{
    bnm_synth_layout_config cfg;
    bnm_synth_layout_config_init_defaults(&cfg);
    cfg.n = n;
    cfg.seed = seed;
    ck_assert_msg(bnm_synth_layout_create(ctx, &cfg, out) == BNM_OK, "%s",
                  bnm_context_message(ctx));
}

static void make_subject(const bnm_synth_layout *l, const bnm_synth_sc_config *cfg,
                         uint64_t seed, bnm_synth_subject *out)
{
    ck_assert_msg(bnm_synth_subject_create(ctx, l, cfg, seed, out) == BNM_OK, "%s",
                  bnm_context_message(ctx));
}

static double dist(const bnm_synth_layout *l, size_t i, size_t j)
{
    const double *p = &l->centres.data[3 * i], *q = &l->centres.data[3 * j];
    return sqrt((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) +
                (p[2] - q[2]) * (p[2] - q[2]));
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)sz + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    buf[sz] = 0;
    *len = (size_t)sz;
    return buf;
}

static bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    bool same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static bool same_matrix(const bnm_matrix *a, const bnm_matrix *b)
{
    return a->rows == b->rows && a->cols == b->cols &&
           memcmp(a->data, b->data, a->rows * a->cols * sizeof(double)) == 0;
}

/* ---- Layout ------------------------------------------------------------------------ */

START_TEST(layout_deterministic)
{
    bnm_synth_layout a, b, c;
    make_layout(100, 7, &a);
    make_layout(100, 7, &b);
    make_layout(100, 8, &c);
    ck_assert(same_matrix(&a.centres, &b.centres));
    for (size_t i = 0; i < a.n; i++)
        ck_assert_str_eq(a.labels[i], b.labels[i]);
    /* Another seed moves every node: no coordinate of node 0 survives by chance. */
    ck_assert(!same_matrix(&a.centres, &c.centres));
    ck_assert(a.centres.data[1] != c.centres.data[1]);
    bnm_synth_layout_free(&a);
    bnm_synth_layout_free(&b);
    bnm_synth_layout_free(&c);
}
END_TEST

START_TEST(layout_geometry)
{
    static const size_t sizes[] = {4, 68, 100, 200};
    size_t n = sizes[_i];
    bnm_synth_layout_config cfg;
    bnm_synth_layout_config_init_defaults(&cfg);
    bnm_synth_layout l;
    make_layout(n, 3, &l);
    size_t half = n / 2;
    ck_assert_uint_eq(l.n, n);
    ck_assert_uint_eq(l.centres.rows, n);
    ck_assert_uint_eq(l.centres.cols, 3);
    const double *a = cfg.semi_axes_mm;
    for (size_t i = 0; i < n; i++) {
        const double *p = &l.centres.data[3 * i];
        char want[32];
        snprintf(want, sizeof want, "%c_%zu", i < half ? 'L' : 'R', i % half + 1);
        ck_assert_str_eq(l.labels[i], want);
        /* Left is x < 0 beyond the midline gap; the right node is the exact mirror. */
        if (i < half) {
            ck_assert(p[0] <= -cfg.midline_gap_mm);
            const double *m = &l.centres.data[3 * (i + half)];
            ck_assert(m[0] == -p[0] && m[1] == p[1] && m[2] == p[2]);
            if (i > 0)
                ck_assert(p[1] <= l.centres.data[3 * (i - 1) + 1]); /* anterior first */
        }
        /* In the cortical shell: the ellipsoidal radius is the drawn fraction (to
         * rounding, 1e-12 relative). */
        double r = sqrt(p[0] * p[0] / (a[0] * a[0]) + p[1] * p[1] / (a[1] * a[1]) +
                        p[2] * p[2] / (a[2] * a[2]));
        ck_assert(r >= cfg.shell_inner * (1 - 1e-12) && r <= cfg.shell_outer * (1 + 1e-12));
    }
    /* Spread, not clumped: the closest two nodes of a hemisphere are at least 40 % of
     * the rule's initial spacing 0.7 sqrt(A / (n/2)) apart (half-area of the default
     * ellipsoid 3.33e4 mm^2), i.e. at most a few shrink steps happened. */
    double dmin = INFINITY;
    for (size_t i = 0; i < half; i++)
        for (size_t j = i + 1; j < half; j++)
            dmin = fmin(dmin, dist(&l, i, j));
    double spacing = 0.7 * sqrt(3.33e4 / (double)half);
    ck_assert_msg(dmin >= 0.4 * spacing, "closest pair %g mm, spacing %g mm", dmin, spacing);
    bnm_synth_layout_free(&l);
}
END_TEST

START_TEST(layout_rejects_bad_config)
{
    bnm_synth_layout_config cfg;
    bnm_synth_layout l;
    size_t bad_n[] = {0, 2, 3, 101, BNM_SYNTH_MAX_NODES + 2};
    for (size_t k = 0; k < sizeof bad_n / sizeof *bad_n; k++) {
        bnm_synth_layout_config_init_defaults(&cfg);
        cfg.n = bad_n[k];
        ck_assert_int_eq(bnm_synth_layout_create(ctx, &cfg, &l), BNM_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "even"));
        ck_assert_ptr_null(l.labels);
    }
    bnm_synth_layout_config_init_defaults(&cfg);
    cfg.shell_inner = 0.9;
    cfg.shell_outer = 0.8;
    ck_assert_int_eq(bnm_synth_layout_create(ctx, &cfg, &l), BNM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "shell"));
    bnm_synth_layout_config_init_defaults(&cfg);
    cfg.midline_gap_mm = 60;
    ck_assert_int_eq(bnm_synth_layout_create(ctx, &cfg, &l), BNM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "midline gap"));
    bnm_synth_layout_free(NULL);
    bnm_synth_subject_free(NULL);
}
END_TEST

/* ---- Connectome -------------------------------------------------------------------- */

START_TEST(subject_deterministic)
{
    bnm_synth_layout l;
    make_layout(100, 1, &l);
    bnm_synth_subject a, b, c;
    make_subject(&l, NULL, 11, &a);
    make_subject(&l, NULL, 11, &b);
    make_subject(&l, NULL, 12, &c);
    ck_assert(same_matrix(&a.sc, &b.sc));
    ck_assert(same_matrix(&a.lengths, &b.lengths));
    ck_assert(!same_matrix(&a.sc, &c.sc));
    ck_assert(!same_matrix(&a.lengths, &c.lengths));
    /* The same bytes on disk, in both formats. */
    ck_assert_int_eq(bnm_synth_write_text(ctx, path_of("a"), &l, &a), BNM_OK);
    ck_assert_int_eq(bnm_synth_write_text(ctx, path_of("b"), &l, &b), BNM_OK);
    ck_assert_int_eq(bnm_synth_write_text(ctx, path_of("c"), &l, &c), BNM_OK);
    ck_assert_int_eq(bnm_synth_write_npy(ctx, path_of("a.npy"), &a.sc), BNM_OK);
    ck_assert_int_eq(bnm_synth_write_npy(ctx, path_of("b.npy"), &b.sc), BNM_OK);
    ck_assert(same_file(path_of("a/sc.txt"), path_of("b/sc.txt")));
    ck_assert(same_file(path_of("a/lengths.txt"), path_of("b/lengths.txt")));
    ck_assert(same_file(path_of("a.npy"), path_of("b.npy")));
    ck_assert(!same_file(path_of("a/sc.txt"), path_of("c/sc.txt")));
    /* Same atlas for every subject. */
    ck_assert(same_file(path_of("a/centres.txt"), path_of("c/centres.txt")));
    bnm_synth_subject_free(&a);
    bnm_synth_subject_free(&b);
    bnm_synth_subject_free(&c);
    bnm_synth_layout_free(&l);
}
END_TEST

START_TEST(subject_structure)
{
    static const size_t sizes[] = {4, 68, 100, 200};
    size_t n = sizes[_i], half = n / 2, n_pairs = n * (n - 1) / 2;
    bnm_synth_sc_config cfg;
    bnm_synth_sc_config_init_defaults(&cfg);
    bnm_synth_layout l;
    make_layout(n, 5, &l);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        bnm_synth_subject s;
        make_subject(&l, NULL, seed, &s);
        const double *w = s.sc.data;
        size_t kept = 0;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            ck_assert(w[i * n + i] == 0.0);
            bool connected = false;
            for (size_t j = 0; j < n; j++) {
                ck_assert(isfinite(w[i * n + j]) && w[i * n + j] >= 0.0);
                ck_assert(w[i * n + j] == w[j * n + i]);
                connected |= w[i * n + j] > 0;
                kept += j > i && w[i * n + j] > 0;
                sum += w[i * n + j];
            }
            ck_assert_msg(connected, "node %zu is isolated", i);
            if (i < half)
                ck_assert(w[i * n + i + half] > 0); /* homotopic pairs are always kept */
        }
        /* Density is exactly round(0.2 P) / P (the homotopic minimum applies at n = 4,
         * where 0.2 P < n/2), and in the realistic 10-30 % band from 68 nodes up. */
        size_t want = (size_t)llround(cfg.density * (double)n_pairs);
        ck_assert_uint_eq(kept, want < half ? half : want);
        if (n >= 68) {
            double density = (double)kept / (double)n_pairs;
            ck_assert(density >= 0.10 && density <= 0.30);
        }
        /* models.md 0.2.5: mean of all n^2 entries is 0.01. The sum of n^2 terms is
         * exact to ~n^2 ulp; 1e-12 relative is generous. */
        ck_assert_msg(fabs(sum / (double)(n * n) - 0.01) < 1e-12 * 0.01, "mean %.17g",
                      sum / (double)(n * n));
        bnm_synth_subject_free(&s);
    }
    bnm_synth_layout_free(&l);
}
END_TEST

/* The exact rule with the noise switched off and nothing thresholded: every weight is
 * the header's formula times one common scale. */
START_TEST(subject_matches_rule)
{
    size_t n = 100, half = 50;
    bnm_synth_layout l;
    make_layout(n, 2, &l);
    bnm_synth_sc_config cfg;
    bnm_synth_sc_config_init_defaults(&cfg);
    cfg.noise_sigma = 0;
    cfg.density = 1;
    bnm_synth_subject s;
    make_subject(&l, &cfg, 9, &s);
    double *ref = calloc(n * n, sizeof *ref), sum = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            double v = exp(-dist(&l, i, j) / 15.0);
            if ((i < half) != (j < half))
                v *= 0.5;
            if (j == i + half || i == j + half)
                v += 0.1;
            ref[i * n + j] = v;
            sum += v;
        }
    double scale = 0.01 * (double)(n * n) / sum;
    for (size_t q = 0; q < n * n; q++)
        ck_assert_msg(fabs(s.sc.data[q] - scale * ref[q]) <= 1e-12 * scale * ref[q] + 1e-300,
                      "entry %zu: %.17g vs %.17g", q, s.sc.data[q], scale * ref[q]);
    free(ref);
    bnm_synth_subject_free(&s);
    bnm_synth_layout_free(&l);
}
END_TEST

/* With the noise on and no threshold, log(w / rule) is normal with sd sigma (plus one
 * constant, the scale); subjects' noises are independent. */
START_TEST(subject_noise_lognormal)
{
    size_t n = 100;
    bnm_synth_layout l;
    make_layout(n, 2, &l);
    bnm_synth_sc_config cfg;
    bnm_synth_sc_config_init_defaults(&cfg);
    cfg.density = 1;
    bnm_synth_subject s0, s1, s2;
    cfg.noise_sigma = 0;
    make_subject(&l, &cfg, 1, &s0);
    cfg.noise_sigma = 0.4;
    make_subject(&l, &cfg, 1, &s1);
    make_subject(&l, &cfg, 2, &s2);
    size_t m = 0;
    double sx = 0, sxx = 0, sy = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double x = log(s1.sc.data[i * n + j] / s0.sc.data[i * n + j]);
            double y = log(s2.sc.data[i * n + j] / s0.sc.data[i * n + j]);
            sx += x, sxx += x * x, sy += y, syy += y * y, sxy += x * y, m++;
        }
    double vx = sxx / m - (sx / m) * (sx / m), vy = syy / m - (sy / m) * (sy / m);
    double r = (sxy / m - sx / m * sy / m) / sqrt(vx * vy);
    /* 4950 pairs: the sd estimate has relative standard error 1/sqrt(2m) = 1 %, so 5 %
     * is 5 sigma; the correlation of independent draws has sd 1/sqrt(m) = 0.014. */
    ck_assert_msg(fabs(sqrt(vx) / 0.4 - 1) < 0.05, "sd %g", sqrt(vx));
    ck_assert_msg(fabs(sqrt(vy) / 0.4 - 1) < 0.05, "sd %g", sqrt(vy));
    ck_assert_msg(fabs(r) < 0.07, "subjects' noises correlate: r = %g", r);
    bnm_synth_subject_free(&s0);
    bnm_synth_subject_free(&s1);
    bnm_synth_subject_free(&s2);
    bnm_synth_layout_free(&l);
}
END_TEST

/* The threshold keeps the homotopic pairs and then the strongest of the others. */
START_TEST(subject_threshold_keeps_strongest)
{
    size_t n = 100, half = 50;
    bnm_synth_layout l;
    make_layout(n, 4, &l);
    bnm_synth_sc_config cfg;
    bnm_synth_sc_config_init_defaults(&cfg);
    bnm_synth_subject full, thr;
    make_subject(&l, NULL, 21, &thr);
    cfg.density = 1;
    make_subject(&l, &cfg, 21, &full);
    double min_kept = INFINITY, max_dropped = 0, ratio = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double f = full.sc.data[i * n + j], t = thr.sc.data[i * n + j];
            ck_assert(f > 0);
            if (j == i + half)
                continue;
            if (t > 0) {
                min_kept = fmin(min_kept, f);
                /* Kept weights are the unthresholded ones up to one common scale. */
                if (ratio == 0)
                    ratio = t / f;
                ck_assert(fabs(t / f - ratio) <= 1e-12 * ratio);
            } else {
                max_dropped = fmax(max_dropped, f);
            }
        }
    ck_assert_msg(min_kept > max_dropped, "kept %g < dropped %g", min_kept, max_dropped);
    bnm_synth_subject_free(&full);
    bnm_synth_subject_free(&thr);
    bnm_synth_layout_free(&l);
}
END_TEST

START_TEST(subject_homotopic_stronger)
{
    size_t n = 100, half = 50;
    bnm_synth_layout l;
    make_layout(n, 1, &l);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        bnm_synth_subject s;
        make_subject(&l, NULL, seed, &s);
        double homo = 0, inter = 0, inter_nz = 0;
        size_t n_inter = 0, n_nz = 0;
        for (size_t i = 0; i < half; i++) {
            homo += s.sc.data[i * n + i + half];
            for (size_t j = half; j < n; j++) {
                double v = s.sc.data[i * n + j];
                inter += v;
                n_inter++;
                if (j != i + half && v > 0)
                    inter_nz += v, n_nz++;
            }
        }
        homo /= half;
        inter /= n_inter;
        /* Homotopic pairs are far stronger than the average interhemispheric pair (which
         * is mostly zero) and still stronger than the average surviving one. */
        ck_assert_msg(homo > 5 * inter, "homotopic %g, interhemispheric mean %g", homo, inter);
        ck_assert_msg(n_nz == 0 || homo > inter_nz / n_nz, "homotopic %g, kept inter %g",
                      homo, inter_nz / n_nz);
        bnm_synth_subject_free(&s);
    }
    bnm_synth_layout_free(&l);
}
END_TEST

/* Ranks with ties averaged. */
typedef struct ranked {
    double v;
    size_t k;
} ranked;

static int by_value(const void *a, const void *b)
{
    double x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
    return (x > y) - (x < y);
}

static void ranks(const double *v, size_t m, double *r)
{
    ranked *idx = malloc(m * sizeof *idx);
    for (size_t k = 0; k < m; k++)
        idx[k] = (ranked){v[k], k};
    qsort(idx, m, sizeof *idx, by_value);
    for (size_t k = 0; k < m;) {
        size_t e = k;
        while (e + 1 < m && idx[e + 1].v == idx[k].v)
            e++;
        for (size_t q = k; q <= e; q++)
            r[idx[q].k] = 0.5 * (double)(k + e) + 1;
        k = e + 1;
    }
    free(idx);
}

static double spearman(const double *x, const double *y, size_t m)
{
    double *rx = malloc(m * sizeof *rx), *ry = malloc(m * sizeof *ry);
    ranks(x, m, rx);
    ranks(y, m, ry);
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (size_t k = 0; k < m; k++)
        mx += rx[k] / m, my += ry[k] / m;
    for (size_t k = 0; k < m; k++) {
        sxy += (rx[k] - mx) * (ry[k] - my);
        sxx += (rx[k] - mx) * (rx[k] - mx);
        syy += (ry[k] - my) * (ry[k] - my);
    }
    free(rx);
    free(ry);
    return sxy / sqrt(sxx * syy);
}

START_TEST(subject_distance_dependence)
{
    size_t n = 100, half = 50, n_pairs = n * (n - 1) / 2;
    bnm_synth_layout l;
    make_layout(n, 1, &l);
    double *d = malloc(n_pairs * sizeof *d), *w = malloc(n_pairs * sizeof *w);
    double *dk = malloc(n_pairs * sizeof *dk), *wk = malloc(n_pairs * sizeof *wk);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        bnm_synth_subject s;
        make_subject(&l, NULL, seed, &s);
        size_t m = 0, mk = 0;
        double dmax = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++) {
                d[m] = dist(&l, i, j);
                w[m] = s.sc.data[i * n + j];
                dmax = fmax(dmax, d[m]);
                if (w[m] > 0 && j != i + half)
                    dk[mk] = d[m], wk[mk] = w[m], mk++;
                m++;
            }
        /* Over all pairs and over the kept non-homotopic edges, weight falls with
         * distance. Observed about -0.6 and -0.7; -0.4 leaves room for other seeds. */
        double rho_all = spearman(d, w, m), rho_kept = spearman(dk, wk, mk);
        ck_assert_msg(rho_all < -0.4, "Spearman over all pairs %g", rho_all);
        ck_assert_msg(rho_kept < -0.4, "Spearman over kept edges %g", rho_kept);
        /* Binned means (5 equal-width distance bins up to 100 mm; few pairs lie
         * farther) decrease strictly. */
        double bsum[5] = {0}, bcnt[5] = {0};
        for (size_t k = 0; k < m; k++) {
            int b = (int)(d[k] / 20.0);
            if (b < 5)
                bsum[b] += w[k], bcnt[b]++;
        }
        for (int b = 1; b < 5; b++) {
            ck_assert(bcnt[b] > 0 && bcnt[b - 1] > 0);
            ck_assert_msg(bsum[b] / bcnt[b] < bsum[b - 1] / bcnt[b - 1],
                          "bin %d mean %g >= bin %d mean %g", b, bsum[b] / bcnt[b], b - 1,
                          bsum[b - 1] / bcnt[b - 1]);
        }
        bnm_synth_subject_free(&s);
    }
    free(d);
    free(w);
    free(dk);
    free(wk);
    bnm_synth_layout_free(&l);
}
END_TEST

START_TEST(subject_lengths)
{
    size_t n = 100, half = 50;
    bnm_synth_layout l;
    make_layout(n, 1, &l);
    bnm_synth_subject s;
    make_subject(&l, NULL, 3, &s);
    double intra = 0, inter = 0, ki = 0, ke = 0;
    size_t ni = 0, ne = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(s.lengths.data[i * n + i] == 0.0);
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            double L = s.lengths.data[i * n + j], d = dist(&l, i, j);
            bool across = (i < half) != (j < half);
            ck_assert(L == s.lengths.data[j * n + i]);
            /* Curvature factor in its documented range (1e-12 for rounding). */
            double lo = across ? 1.25 : 1.10, hi = across ? 1.40 : 1.25;
            ck_assert_msg(L >= d && L >= lo * d * (1 - 1e-12) && L <= hi * d * (1 + 1e-12),
                          "pair %zu %zu: length %g, distance %g", i, j, L, d);
            if (across)
                inter += L, ke += L / d, ne++;
            else
                intra += L, ki += L / d, ni++;
        }
    }
    ck_assert_msg(inter / ne > intra / ni, "inter %g intra %g", inter / ne, intra / ni);
    /* Factors are uniform: means near 1.175 and 1.325 (sd of a mean of 2450 draws
     * ~ 0.001). */
    ck_assert(fabs(ki / ni - 1.175) < 0.01 && fabs(ke / ne - 1.325) < 0.01);
    bnm_synth_subject_free(&s);
    bnm_synth_layout_free(&l);
}
END_TEST

START_TEST(subject_rejects_bad_config)
{
    bnm_synth_layout l;
    make_layout(20, 1, &l);
    bnm_synth_subject s;
    bnm_synth_sc_config cfg;
    bnm_synth_sc_config_init_defaults(&cfg);
    cfg.density = 0;
    ck_assert_int_eq(bnm_synth_subject_create(ctx, &l, &cfg, 1, &s), BNM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "density"));
    ck_assert_ptr_null(s.sc.data);
    bnm_synth_sc_config_init_defaults(&cfg);
    cfg.curv_inter[0] = 0.9;
    ck_assert_int_eq(bnm_synth_subject_create(ctx, &l, &cfg, 1, &s), BNM_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "curvature"));
    bnm_synth_layout empty = {0};
    ck_assert_int_eq(bnm_synth_subject_create(ctx, &empty, NULL, 1, &s), BNM_ERR_INVALID_ARG);
    bnm_synth_layout_free(&l);
}
END_TEST

/* ---- Writers and the project's readers ---------------------------------------------- */

START_TEST(roundtrip_text)
{
    bnm_synth_layout l;
    make_layout(68, 1, &l);
    bnm_synth_subject s;
    make_subject(&l, NULL, 1, &s);
    ck_assert_int_eq(bnm_synth_write_text(ctx, path_of("sub-01"), &l, &s), BNM_OK);
    bnm_matrix sc, len, cen;
    ck_assert_int_eq(bnm_matrix_read(ctx, path_of("sub-01/sc.txt"), &sc), BNM_OK);
    ck_assert_int_eq(bnm_matrix_read(ctx, path_of("sub-01/lengths.txt"), &len), BNM_OK);
    ck_assert_int_eq(bnm_matrix_read(ctx, path_of("sub-01/centres.txt"), &cen), BNM_OK);
    ck_assert(same_matrix(&sc, &s.sc));
    ck_assert(same_matrix(&len, &s.lengths));
    ck_assert(same_matrix(&cen, &l.centres));
    /* A symmetric SC needs no orientation; it is left as it is. */
    ck_assert_msg(bnm_sc_prepare(ctx, "sc.txt", &sc, BNM_SC_UNSPECIFIED) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    ck_assert_msg(bnm_lengths_prepare(ctx, "lengths.txt", &len, 68, BNM_SC_UNSPECIFIED) ==
                      BNM_OK,
                  "%s", bnm_context_message(ctx));
    ck_assert(same_matrix(&sc, &s.sc));
    ck_assert(same_matrix(&len, &s.lengths));
    size_t n;
    char *labels = (char *)slurp(path_of("sub-01/labels.txt"), &n);
    char *line = labels;
    for (size_t i = 0; i < 68; i++) {
        char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = 0;
        ck_assert_str_eq(line, l.labels[i]);
        line = nl + 1;
    }
    ck_assert_str_eq(line, "");
    free(labels);
    bnm_matrix_free(&sc);
    bnm_matrix_free(&len);
    bnm_matrix_free(&cen);
    bnm_synth_subject_free(&s);
    bnm_synth_layout_free(&l);
}
END_TEST

START_TEST(roundtrip_tvb)
{
    bnm_synth_layout l;
    make_layout(100, 1, &l);
    bnm_synth_subject s;
    make_subject(&l, NULL, 2, &s);
    ck_assert_int_eq(bnm_synth_write_tvb(ctx, path_of("tvb"), &l, &s), BNM_OK);
    bnm_tvb_connectivity c;
    ck_assert_msg(bnm_tvb_read(ctx, path_of("tvb"), &c) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    ck_assert_uint_eq(c.n, 100);
    ck_assert(same_matrix(&c.weights, &s.sc));
    ck_assert(same_matrix(&c.tract_lengths, &s.lengths));
    ck_assert(same_matrix(&c.centres, &l.centres));
    for (size_t i = 0; i < 100; i++)
        ck_assert_str_eq(c.labels[i], l.labels[i]);
    ck_assert_int_eq(bnm_sc_prepare(ctx, "weights.txt", &c.weights, BNM_SC_UNSPECIFIED),
                     BNM_OK);
    ck_assert(same_matrix(&c.weights, &s.sc));
    bnm_tvb_free(&c);
    /* Writing over an existing folder replaces its files. */
    bnm_synth_subject t;
    make_subject(&l, NULL, 3, &t);
    ck_assert_int_eq(bnm_synth_write_tvb(ctx, path_of("tvb"), &l, &t), BNM_OK);
    ck_assert_int_eq(bnm_tvb_read(ctx, path_of("tvb"), &c), BNM_OK);
    ck_assert(same_matrix(&c.weights, &t.sc));
    bnm_tvb_free(&c);
    bnm_synth_subject_free(&t);
    bnm_synth_subject_free(&s);
    bnm_synth_layout_free(&l);
}
END_TEST

START_TEST(roundtrip_npy)
{
    /* Awkward values: signs, subnormal, huge, tiny, non-square (BOLD-like 7 x 13). */
    bnm_matrix m = {7, 13, malloc(7 * 13 * sizeof(double))};
    for (size_t k = 0; k < 91; k++)
        m.data[k] = (k % 2 ? -1.0 : 1.0) * pow(10.0, (double)k * 0.37 - 15.0) / 3.0;
    m.data[5] = 4.9e-324;
    m.data[6] = -0.0;
    m.data[7] = 1.7976931348623157e308;
    ck_assert_int_eq(bnm_synth_write_npy(ctx, path_of("bold.npy"), &m), BNM_OK);
    size_t len;
    unsigned char *raw = slurp(path_of("bold.npy"), &len);
    /* Format 1.0 header: magic, version, length; data 64-byte aligned. */
    ck_assert(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hlen = raw[8] | (size_t)raw[9] << 8;
    ck_assert_uint_eq((10 + hlen) % 64, 0);
    ck_assert_uint_eq(len, 10 + hlen + 91 * 8);
    ck_assert_int_eq(raw[10 + hlen - 1], '\n');
    ck_assert_ptr_nonnull(strstr((char *)raw + 10, "'shape': (7, 13)"));
    ck_assert_ptr_nonnull(strstr((char *)raw + 10, "'descr': '<f8'"));
    free(raw);
    bnm_matrix back;
    ck_assert_msg(bnm_matrix_read(ctx, path_of("bold.npy"), &back) == BNM_OK, "%s",
                  bnm_context_message(ctx));
    ck_assert(same_matrix(&back, &m));
    bnm_matrix_free(&back);
    /* One column (a per-node map). */
    bnm_matrix col = {5, 1, m.data};
    ck_assert_int_eq(bnm_synth_write_npy(ctx, path_of("map.npy"), &col), BNM_OK);
    ck_assert_int_eq(bnm_matrix_read(ctx, path_of("map.npy"), &back), BNM_OK);
    ck_assert(same_matrix(&back, &col));
    bnm_matrix_free(&back);
    bnm_matrix_free(&m);
}
END_TEST

START_TEST(write_errors)
{
    bnm_matrix m = {2, 2, (double[]){1, 2, 3, 4}};
    const char *bad = path_of("no/such/dir/x.npy");
    ck_assert_int_eq(bnm_synth_write_npy(ctx, bad, &m), BNM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), bad));
    ck_assert_int_eq(bnm_synth_write_matrix_text(ctx, bad, &m), BNM_ERR_IO);
    bnm_matrix empty = {0, 0, NULL};
    ck_assert_int_eq(bnm_synth_write_npy(ctx, path_of("e.npy"), &empty), BNM_ERR_INVALID_ARG);
    /* A file where the folder should be. */
    bnm_synth_layout l;
    make_layout(4, 1, &l);
    bnm_synth_subject s;
    make_subject(&l, NULL, 1, &s);
    ck_assert_int_eq(bnm_synth_write_matrix_text(ctx, path_of("plain"), &m), BNM_OK);
    ck_assert_int_eq(bnm_synth_write_tvb(ctx, path_of("plain"), &l, &s), BNM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "a file of that name exists"));
    ck_assert_int_eq(bnm_synth_write_text(ctx, path_of("no/such"), &l, &s), BNM_ERR_IO);
    bnm_synth_subject_free(&s);
    bnm_synth_layout_free(&l);
}
END_TEST

static Suite *synth_suite(void)
{
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("synth");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, layout_deterministic);
    tcase_add_loop_test(tc, layout_geometry, 0, 4);
    tcase_add_test(tc, layout_rejects_bad_config);
    tcase_add_test(tc, subject_deterministic);
    tcase_add_loop_test(tc, subject_structure, 0, 4);
    tcase_add_test(tc, subject_matches_rule);
    tcase_add_test(tc, subject_noise_lognormal);
    tcase_add_test(tc, subject_threshold_keeps_strongest);
    tcase_add_test(tc, subject_homotopic_stronger);
    tcase_add_test(tc, subject_distance_dependence);
    tcase_add_test(tc, subject_lengths);
    tcase_add_test(tc, subject_rejects_bad_config);
    tcase_add_test(tc, roundtrip_text);
    tcase_add_test(tc, roundtrip_tvb);
    tcase_add_test(tc, roundtrip_npy);
    tcase_add_test(tc, write_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(synth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
