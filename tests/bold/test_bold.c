/* Balloon-Windkessel model and BOLD sampling (analysis.md 3-4): coefficient sets, modes
 * and schedule rules; the engine's host model against the independent reference of
 * bw_ref.c; volume timing, removal and time averages of the host sampler; and (in
 * test_bold_dev.c) the OpenCL text on the device against the same reference. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bold_tests.h"
#include "bw_ref.h"
#include "clbnm/bold.h"
#include "clbnm/clbnm.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

static bnm_bold_schedule schedule_ok(int64_t duration_ns, int64_t bw_dt_ns, int64_t tr_ns,
                                     int64_t samp_ns, int64_t remove_ns)
{
    bnm_bold_times t;
    bnm_bold_times_init_defaults(&t);
    t.duration_ns = duration_ns;
    t.bw_dt_ns = bw_dt_ns;
    t.tr_ns = tr_ns;
    t.states_sampling_ns = samp_ns;
    t.bold_remove_ns = remove_ns;
    bnm_bold_schedule s;
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_status st = bnm_bold_schedule_compute(ctx, &t, &s);
    ck_assert_msg(st == BNM_OK, "%s", bnm_context_message(ctx));
    bnm_context_destroy(ctx);
    return s;
}

/* ---- Constants, coefficient sets, modes ---------------------------------------- */

START_TEST(constants_are_the_spec_table)
{
    /* analysis.md 3.1, typed from the table. */
    ck_assert(BNM_BW_RHO == 0.34);
    ck_assert(BNM_BW_ALPHA == 0.32);
    ck_assert(BNM_BW_TAU == 0.98);
    ck_assert(BNM_BW_V0 == 2.0);
    ck_assert(BNM_BW_GAMMA == 1 / 0.41 && fabs(BNM_BW_GAMMA - 2.439) < 1e-3);
    ck_assert(BNM_BW_KAPPA == 1 / 0.65 && fabs(BNM_BW_KAPPA - 1.538) < 1e-3);
    /* The device text relies on 1/alpha being exactly 3.125 in double. */
    ck_assert(1.0 / BNM_BW_ALPHA == 3.125);
}
END_TEST

START_TEST(coefficient_sets)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_bold_coeffs c;
    ck_assert_int_eq(bnm_bold_coeffs_lookup(ctx, "friston2003", &c), BNM_OK);
    /* 7 rho, 2, 2 rho - 0.2: the definition, 2.38 and 0.48 to rounding. */
    ck_assert(c.k1 == 7.0 * 0.34 && fabs(c.k1 - 2.38) < 1e-15);
    ck_assert(c.k2 == 2.0);
    ck_assert(c.k3 == 2.0 * 0.34 - 0.2 && fabs(c.k3 - 0.48) < 1e-15);
    bnm_bold_coeffs d;
    ck_assert_int_eq(bnm_bold_coeffs_lookup(ctx, NULL, &d), BNM_OK);
    ck_assert(memcmp(&c, &d, sizeof c) == 0);
    ck_assert_int_eq(bnm_bold_coeffs_lookup(ctx, "heinzle2016-3T", &c), BNM_OK);
    ck_assert(c.k1 == 3.72 && c.k2 == 0.527 && c.k3 == 0.53);

    const char *bad[] = {"friston", "Friston2003", "heinzle2016-3t", "", "dict"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bnm_context_clear(ctx);
        ck_assert_int_eq(bnm_bold_coeffs_lookup(ctx, bad[i], &c), BNM_ERR_RUN);
        const char *msg = bnm_context_message(ctx);
        ck_assert_msg(strstr(msg, "friston2003") && strstr(msg, "heinzle2016-3T"),
                      "message does not list the valid sets: %s", msg);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        ck_assert_msg(strstr(msg, quoted), "message does not name '%s': %s", bad[i], msg);
    }
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(modes)
{
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_bold_mode m = BNM_BOLD_DIRECT;
    ck_assert_int_eq(bnm_bold_mode_parse(ctx, "balloon", &m), BNM_OK);
    ck_assert_int_eq(m, BNM_BOLD_BALLOON);
    ck_assert_int_eq(bnm_bold_mode_parse(ctx, "direct", &m), BNM_OK);
    ck_assert_int_eq(m, BNM_BOLD_DIRECT);
    ck_assert_str_eq(bnm_bold_mode_name(BNM_BOLD_BALLOON), "balloon");
    ck_assert_str_eq(bnm_bold_mode_name(BNM_BOLD_DIRECT), "direct");
    ck_assert_int_eq(bnm_bold_mode_parse(ctx, "hrf", &m), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "balloon, direct"));
    ck_assert_int_eq(bnm_bold_mode_parse(ctx, NULL, &m), BNM_ERR_RUN);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- The model against the reference ------------------------------------------- */

/* Largest |a - b| over n values, relative to the largest |b|. */
static double scaled_err(const double *a, const double *b, size_t n, size_t stride)
{
    double e = 0, m = 0;
    for (size_t j = 0; j < n; j++) {
        e = fmax(e, fabs(a[j * stride] - b[j * stride]));
        m = fmax(m, fabs(b[j * stride]));
    }
    return m > 0 ? e / m : e;
}

START_TEST(host_model_matches_reference)
{
    /* 900 s at bw_dt = 1 ms, sampled every 720 steps (TR 0.72 s). Both sides evaluate
     * 3.3 with the same operations in the same order, so they agree to the last bit
     * unless the compiler contracts differently (FMA); 1e-14 of the series' largest
     * value leaves room for that and nothing else. */
    enum { N = 12, PER = 720, N_STEP = 900000, N_VOL = N_STEP / PER };
    bnm_bold_coeffs c;
    ck_assert_int_eq(bnm_bold_coeffs_lookup(NULL, "friston2003", &c), BNM_OK);
    double *eng = malloc(sizeof(double) * N * N_VOL * 5);
    double *ref = malloc(sizeof(double) * N * N_VOL * 5);
    ck_assert(eng && ref);
    for (int i = 0; i < N; i++) {
        bnm_bw_state s;
        ref_bw r;
        bnm_bw_init(&s);
        ref_bw_rest(&r);
        for (int64_t k = 0; k < N_STEP; k++) {
            double z = test_driver(i, k);
            bnm_bw_step(&s, z, 0.001);
            ref_bw_step(&r, z, 1.0 / 1000);
            if ((k + 1) % PER == 0) {
                size_t v = (size_t)((k + 1) / PER - 1), o = ((size_t)i * N_VOL + v) * 5;
                eng[o] = bnm_bw_observe(&s, &c);
                ref[o] = ref_bw_bold(&r, 7 * 0.34, 2, 2 * 0.34 - 0.2);
                eng[o + 1] = s.x, eng[o + 2] = s.f, eng[o + 3] = s.nu, eng[o + 4] = s.q;
                ref[o + 1] = r.x, ref[o + 2] = r.f, ref[o + 3] = r.nu, ref[o + 4] = r.q;
            }
        }
    }
    double worst = 0;
    for (int i = 0; i < N; i++) {
        for (int q = 0; q < 5; q++) {
            size_t o = (size_t)i * N_VOL * 5 + (size_t)q;
            double e = scaled_err(eng + o, ref + o, N_VOL, 5);
            ck_assert_msg(e <= 1e-14, "node %d quantity %d: scaled error %.3g", i, q, e);
            worst = fmax(worst, e);
        }
    }
    /* The drivers must actually move the model (node 0 is the rest node). */
    ck_assert(fabs(ref[(size_t)5 * N_VOL * 5 + (N_VOL - 1) * 5]) > 0.05);
    printf("host model vs reference: worst scaled error %.3g over %d nodes x %d volumes\n",
           worst, N, N_VOL);
    free(eng);
    free(ref);
}
END_TEST

START_TEST(rest_is_exact)
{
    /* z = 0 from rest: x = 0, f = nu = q = 1 and BOLD = 0 exactly, for 900 s. */
    bnm_bold_coeffs c[2];
    ck_assert_int_eq(bnm_bold_coeffs_lookup(NULL, "friston2003", &c[0]), BNM_OK);
    ck_assert_int_eq(bnm_bold_coeffs_lookup(NULL, "heinzle2016-3T", &c[1]), BNM_OK);
    bnm_bw_state s;
    bnm_bw_init(&s);
    for (int64_t k = 0; k < 900000; k++) {
        bnm_bw_step(&s, 0.0, 0.001);
        if ((k + 1) % 720 == 0) {
            ck_assert(bnm_bw_observe(&s, &c[0]) == 0.0 && bnm_bw_observe(&s, &c[1]) == 0.0);
        }
    }
    ck_assert(s.x == 0.0 && s.f == 1.0 && s.nu == 1.0 && s.q == 1.0);
}
END_TEST

START_TEST(coefficient_sets_change_bold)
{
    /* Same state, the two sets: BOLD is linear in k1..k3 with the weights (1 - q),
     * (1 - q/nu), (1 - nu), so each set's value is checked by hand. */
    bnm_bw_state s = {0.01, 1.05, 1.02, 0.97};
    bnm_bold_coeffs f, h;
    ck_assert_int_eq(bnm_bold_coeffs_lookup(NULL, "friston2003", &f), BNM_OK);
    ck_assert_int_eq(bnm_bold_coeffs_lookup(NULL, "heinzle2016-3T", &h), BNM_OK);
    double a = 1 - 0.97, b = 1 - 0.97 / 1.02, d = 1 - 1.02;
    ck_assert_double_eq_tol(bnm_bw_observe(&s, &f), 2 * (2.38 * a + 2 * b + 0.48 * d), 1e-14);
    ck_assert_double_eq_tol(bnm_bw_observe(&s, &h), 2 * (3.72 * a + 0.527 * b + 0.53 * d), 1e-14);
    ck_assert(fabs(bnm_bw_observe(&s, &f) - bnm_bw_observe(&s, &h)) > 1e-3);
}
END_TEST

/* ---- Schedule ---------------------------------------------------------------------- */

START_TEST(schedule_counts)
{
    /* TR 0.72 s at bw_dt 1 ms: 720 steps per volume (cuBNM would get 719 from
     * int(0.72*1000) ms only for other TRs; here every ratio is exact). */
    bnm_bold_schedule s = schedule_ok(900 * NS_PER_S, NS_PER_MS, 720 * NS_PER_MS, 0, 30 * NS_PER_S);
    ck_assert_int_eq(s.n_bw, 900000);
    ck_assert_int_eq(s.bw_per_vol, 720);
    ck_assert_int_eq(s.n_vol, 1250);
    ck_assert_int_eq(s.n_rm, 41); /* floor(30 / 0.72) = floor(41.67) */
    ck_assert_int_eq(s.n_corr, 1209);
    ck_assert_int_eq(s.bw_per_samp, 720); /* states_sampling defaults to tr */
    ck_assert_int_eq(s.n_samp, 1250);
    ck_assert_int_eq(s.n_rm_s, 41);
    ck_assert(s.h == 0.001);

    /* A trailing partial TR makes no volume: 900.5 s is 1250.69 TRs. */
    s = schedule_ok(900500 * NS_PER_MS, NS_PER_MS, 720 * NS_PER_MS, 0, 30 * NS_PER_S);
    ck_assert_int_eq(s.n_bw, 900500);
    ck_assert_int_eq(s.n_vol, 1250);

    /* TR 0.7 s: 700 steps (cuBNM's float truncation gives 699, analysis.md 2.2). */
    s = schedule_ok(14 * NS_PER_S, NS_PER_MS, 700 * NS_PER_MS, 0, 0);
    ck_assert_int_eq(s.bw_per_vol, 700);
    ck_assert_int_eq(s.n_vol, 20);
    ck_assert_int_eq(s.n_rm, 0);

    /* Fractional bold_remove: 7.5 s at TR 2 s removes floor(3.75) = 3 volumes, and at
     * states_sampling 1.5 s floor(5) = 5 samples (cuBNM's stoi would use 7 s). */
    s = schedule_ok(60 * NS_PER_S, NS_PER_MS, 2 * NS_PER_S, 1500 * NS_PER_MS, 7500 * NS_PER_MS);
    ck_assert_int_eq(s.n_vol, 30);
    ck_assert_int_eq(s.n_rm, 3);
    ck_assert_int_eq(s.n_corr, 27);
    ck_assert_int_eq(s.bw_per_samp, 1500);
    ck_assert_int_eq(s.n_samp, 40);
    ck_assert_int_eq(s.n_rm_s, 5);

    /* bw_dt 10 ms (hopf): h = 0.01 s. */
    s = schedule_ok(60 * NS_PER_S, 10 * NS_PER_MS, 720 * NS_PER_MS, 0, 0);
    ck_assert_int_eq(s.bw_per_vol, 72);
    ck_assert(s.h == 0.01);
}
END_TEST

static void schedule_fails(int64_t duration_ns, int64_t bw_dt_ns, int64_t tr_ns, int64_t samp_ns,
                           int64_t remove_ns, const char *word)
{
    bnm_bold_times t = {duration_ns, bw_dt_ns, tr_ns, samp_ns, remove_ns};
    bnm_bold_schedule s;
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    ck_assert_int_eq(bnm_bold_schedule_compute(ctx, &t, &s), BNM_ERR_RUN);
    ck_assert_msg(strstr(bnm_context_message(ctx), word), "'%s' not in: %s", word,
                  bnm_context_message(ctx));
    bnm_context_destroy(ctx);
}

START_TEST(schedule_errors)
{
    const int64_t ms = NS_PER_MS, sec = NS_PER_S;
    schedule_fails(900 * sec + 500000, ms, 720 * ms, 0, 0, "duration");
    schedule_fails(900 * sec, ms, 720 * ms + 500000, 0, 0, "tr (");
    schedule_fails(900 * sec, ms, 720 * ms, 1500 * ms + 1, 0, "states_sampling (");
    schedule_fails(0, ms, 720 * ms, 0, 0, "positive");
    schedule_fails(900 * sec, 0, 720 * ms, 0, 0, "positive");
    schedule_fails(900 * sec, ms, -720 * ms, 0, 0, "positive");
    schedule_fails(900 * sec, ms, 720 * ms, 0, -1, "bold_remove");
}
END_TEST

/* ---- Sampler ----------------------------------------------------------------------- */

static bnm_bold_sampler *sampler_new(const bnm_bold_schedule *sch, bnm_bold_mode mode,
                                     size_t n_nodes, size_t n_quant)
{
    bnm_bold_sampler_config cfg;
    bnm_bold_sampler_config_init_defaults(&cfg);
    cfg.mode = mode;
    cfg.n_nodes = n_nodes;
    cfg.n_quant = n_quant;
    bnm_bold_sampler *s;
    ck_assert_int_eq(bnm_bold_sampler_create(NULL, sch, &cfg, &s), BNM_OK);
    return s;
}

START_TEST(volumes_at_tr_multiples)
{
    /* Direct mode with driver = t in ms (+ 1e6 per node): each volume shows its own
     * sampling time. 3 s at TR 0.72 s: volumes at 720, 1440, 2160, 2880 ms; the last
     * 0.12 s is a partial TR and makes none. */
    enum { N = 3 };
    bnm_bold_schedule sch = schedule_ok(3 * NS_PER_S, NS_PER_MS, 720 * NS_PER_MS, 0, 0);
    ck_assert_int_eq(sch.n_vol, 4);
    bnm_bold_sampler *s = sampler_new(&sch, BNM_BOLD_DIRECT, N, 0);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    for (int64_t k = 0; k < sch.n_bw; k++) {
        double z[N];
        for (int i = 0; i < N; i++)
            z[i] = (double)(k + 1) + 1e6 * i;
        ck_assert_int_eq(bnm_bold_sampler_push(ctx, s, z, NULL), BNM_OK);
        /* Never a volume at t = 0 or before TR; one per completed TR after. */
        ck_assert_int_eq(bnm_bold_sampler_volumes_done(s), (k + 1) / 720);
    }
    ck_assert_int_eq(bnm_bold_sampler_steps_done(s), 3000);
    ck_assert_int_eq(bnm_bold_sampler_volumes_done(s), 4);
    const double *b = bnm_bold_sampler_volumes(s);
    for (int v = 0; v < 4; v++)
        for (int i = 0; i < N; i++)
            ck_assert(b[v * N + i] == 720.0 * (v + 1) + 1e6 * i);
    double z[N] = {0};
    ck_assert_int_eq(bnm_bold_sampler_push(ctx, s, z, NULL), BNM_ERR_INTERNAL);
    bnm_bold_sampler_destroy(s);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(balloon_volumes_match_reference)
{
    /* 120 s, TR 0.72 s, heinzle2016-3T: the sampler's volumes are the reference model
     * observed after the steps k + 1 = 720 (v + 1); same tolerance as above. The series
     * wrapper gives the same numbers, and a reset sampler repeats them exactly. */
    enum { N = 5 };
    bnm_bold_schedule sch = schedule_ok(120 * NS_PER_S, NS_PER_MS, 720 * NS_PER_MS, 0, 0);
    bnm_bold_sampler_config cfg;
    bnm_bold_sampler_config_init_defaults(&cfg);
    ck_assert_int_eq(bnm_bold_coeffs_lookup(NULL, "heinzle2016-3T", &cfg.coeffs), BNM_OK);
    cfg.n_nodes = N;
    bnm_bold_sampler *s;
    ck_assert_int_eq(bnm_bold_sampler_create(NULL, &sch, &cfg, &s), BNM_OK);
    double *z = malloc(sizeof(double) * N * (size_t)sch.n_bw);
    double *ref = malloc(sizeof(double) * N * (size_t)sch.n_vol);
    double *ser = malloc(sizeof(double) * N * (size_t)sch.n_vol);
    ck_assert(z && ref && ser);
    for (int64_t k = 0; k < sch.n_bw; k++)
        for (int i = 0; i < N; i++)
            z[k * N + i] = test_driver(i + 1, k);
    for (int i = 0; i < N; i++) {
        ref_bw r;
        ref_bw_rest(&r);
        for (int64_t k = 0; k < sch.n_bw; k++) {
            ref_bw_step(&r, z[k * N + i], 0.001);
            if ((k + 1) % 720 == 0)
                ref[((k + 1) / 720 - 1) * N + i] = ref_bw_bold(&r, 3.72, 0.527, 0.53);
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        /* The second pass runs after a reset that follows a partial run. */
        for (int64_t k = 0; k < sch.n_bw; k++)
            ck_assert_int_eq(bnm_bold_sampler_push(NULL, s, z + k * N, NULL), BNM_OK);
        ck_assert_int_eq(bnm_bold_sampler_volumes_done(s), sch.n_vol);
        const double *b = bnm_bold_sampler_volumes(s);
        for (int i = 0; i < N; i++) {
            double e = scaled_err(b + i, ref + i, (size_t)sch.n_vol, N);
            ck_assert_msg(e <= 1e-14, "pass %d node %d: scaled error %.3g", pass, i, e);
        }
        bnm_bold_sampler_reset(s);
        ck_assert_int_eq(bnm_bold_sampler_steps_done(s), 0);
        ck_assert_int_eq(bnm_bold_sampler_volumes_done(s), 0);
        const bnm_bw_state *w = bnm_bold_sampler_bw(s, 2);
        ck_assert(w->x == 0 && w->f == 1 && w->nu == 1 && w->q == 1);
        for (int64_t k = 0; k < 5000; k++)
            ck_assert_int_eq(bnm_bold_sampler_push(NULL, s, z + k * N, NULL), BNM_OK);
        bnm_bold_sampler_reset(s);
    }
    ck_assert_int_eq(bnm_bold_sample_series(NULL, &sch, BNM_BOLD_BALLOON, &cfg.coeffs, N, z, ser),
                     BNM_OK);
    for (int i = 0; i < N; i++)
        ck_assert(scaled_err(ser + i, ref + i, (size_t)sch.n_vol, N) <= 1e-14);
    bnm_bold_sampler_destroy(s);
    free(z);
    free(ref);
    free(ser);
}
END_TEST

START_TEST(states_mean_with_fractional_remove)
{
    /* 30 s, states_sampling 1.5 s, bold_remove 7.5 s: samples at t_s = 1.5 (s+1) s for
     * s = 0..19, of which s = 5..19 are averaged. Quantity j of node i is
     * (i+1) t_ms + j at the sample times and NaN at every other step, so the mean is
     * exactly (i+1) 1500 (6 + ... + 20)/15 + j = (i+1) 19500 + j, and reading a state
     * when no sample is due would poison it. */
    enum { N = 3, Q = 2 };
    bnm_bold_schedule sch =
        schedule_ok(30 * NS_PER_S, NS_PER_MS, 2 * NS_PER_S, 1500 * NS_PER_MS, 7500 * NS_PER_MS);
    ck_assert_int_eq(sch.n_samp, 20);
    ck_assert_int_eq(sch.n_rm_s, 5);
    bnm_bold_sampler *s = sampler_new(&sch, BNM_BOLD_BALLOON, N, Q);
    bnm_context *ctx;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    double out[N * Q];
    for (int64_t k = 0; k < sch.n_bw; k++) {
        double z[N] = {0.1, 0.2, 0.3}, x[N * Q];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < Q; j++)
                x[i * Q + j] = (k + 1) % 1500 == 0 ? (double)(i + 1) * (double)(k + 1) + j : NAN;
        ck_assert_int_eq(bnm_bold_sampler_push(ctx, s, z, x), BNM_OK);
        if (k == 100)
            ck_assert_int_eq(bnm_bold_sampler_states_mean(ctx, s, out), BNM_ERR_INTERNAL);
    }
    ck_assert_int_eq(bnm_bold_sampler_states_mean(ctx, s, out), BNM_OK);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < Q; j++)
            ck_assert_msg(out[i * Q + j] == (i + 1) * 19500.0 + j, "node %d q %d: %.17g", i, j,
                          out[i * Q + j]);
    bnm_bold_sampler_destroy(s);

    /* bold_remove covering every sample leaves nothing to average. */
    sch = schedule_ok(30 * NS_PER_S, NS_PER_MS, 2 * NS_PER_S, 1500 * NS_PER_MS, 30 * NS_PER_S);
    s = sampler_new(&sch, BNM_BOLD_BALLOON, N, Q);
    for (int64_t k = 0; k < sch.n_bw; k++) {
        double z[N] = {0}, x[N * Q] = {0};
        ck_assert_int_eq(bnm_bold_sampler_push(ctx, s, z, x), BNM_OK);
    }
    ck_assert_int_eq(bnm_bold_sampler_states_mean(ctx, s, out), BNM_ERR_RUN);
    ck_assert_ptr_nonnull(strstr(bnm_context_message(ctx), "bold_remove"));
    bnm_bold_sampler_destroy(s);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(states_mean_at_tr_uses_the_fc_volumes)
{
    /* states_sampling = tr: the averaged samples are the FC volumes [n_rm, n_vol). In
     * direct mode the volumes are the driver, so feeding the driver as the one state
     * makes the mean equal the mean of those volumes. */
    enum { N = 2 };
    bnm_bold_schedule sch = schedule_ok(20 * NS_PER_S, NS_PER_MS, 720 * NS_PER_MS, 0, 3 * NS_PER_S);
    ck_assert_int_eq(sch.n_rm, 4);
    ck_assert_int_eq(sch.n_rm_s, 4);
    bnm_bold_sampler *s = sampler_new(&sch, BNM_BOLD_DIRECT, N, 1);
    for (int64_t k = 0; k < sch.n_bw; k++) {
        double z[N] = {test_driver(2, k), test_driver(3, k)};
        ck_assert_int_eq(bnm_bold_sampler_push(NULL, s, z, z), BNM_OK);
    }
    double out[N];
    ck_assert_int_eq(bnm_bold_sampler_states_mean(NULL, s, out), BNM_OK);
    const double *b = bnm_bold_sampler_volumes(s);
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int64_t v = sch.n_rm; v < sch.n_vol; v++)
            sum += b[v * N + i];
        ck_assert(out[i] == sum / (double)sch.n_corr);
        ck_assert(b[0 * N + i] == test_driver(i + 2, 719));
    }
    bnm_bold_sampler_destroy(s);
}
END_TEST

static Suite *bold_suite(void)
{
    Suite *s = suite_create("bold");
    TCase *host = tcase_create("host");
    tcase_set_timeout(host, 600);
    tcase_add_test(host, constants_are_the_spec_table);
    tcase_add_test(host, coefficient_sets);
    tcase_add_test(host, modes);
    tcase_add_test(host, host_model_matches_reference);
    tcase_add_test(host, rest_is_exact);
    tcase_add_test(host, coefficient_sets_change_bold);
    tcase_add_test(host, schedule_counts);
    tcase_add_test(host, schedule_errors);
    tcase_add_test(host, volumes_at_tr_multiples);
    tcase_add_test(host, balloon_volumes_match_reference);
    tcase_add_test(host, states_mean_with_fractional_remove);
    tcase_add_test(host, states_mean_at_tr_uses_the_fc_volumes);
    suite_add_tcase(s, host);
    suite_add_tcase(s, bold_device_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bold_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
