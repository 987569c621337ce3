/* Exact time arithmetic (analysis.md 2.2-2.3, 4.2, 6.1): decimal text to integer ns and
 * integer ratios, against values worked out by hand. */
#include <stdio.h>

#include "test_run.h"

static int64_t ns_of(const char *text, int64_t unit)
{
    int64_t v = -1;
    const char *why = NULL;
    ck_assert_msg(bnm_run_parse_time_ns(text, unit, &v, &why), "'%s': %s", text, why);
    return v;
}

static void bad_time(const char *text, int64_t unit, const char *why_want)
{
    int64_t v = 0;
    const char *why = NULL;
    ck_assert_msg(!bnm_run_parse_time_ns(text, unit, &v, &why), "'%s' accepted", text);
    ck_assert_str_eq(why, why_want);
}

START_TEST(decimal_text_to_ns)
{
    const int64_t S = BNM_NS_PER_S, MS = BNM_NS_PER_MS;
    ck_assert_int_eq(ns_of("0.72", S), 720000000);
    ck_assert_int_eq(ns_of("2.01", S), 2010000000); /* not 2009 ms (analysis.md A2) */
    ck_assert_int_eq(ns_of("0.7", S), 700000000);
    ck_assert_int_eq(ns_of("900", S), INT64_C(900000000000));
    ck_assert_int_eq(ns_of("0.1", MS), 100000);
    ck_assert_int_eq(ns_of("1.0", MS), 1000000);
    ck_assert_int_eq(ns_of("00.100", MS), 100000);
    ck_assert_int_eq(ns_of(".5", S), 500000000);
    ck_assert_int_eq(ns_of("5.", S), 5000000000);
    ck_assert_int_eq(ns_of("+3", S), 3000000000);
    ck_assert_int_eq(ns_of("0", S), 0);
    ck_assert_int_eq(ns_of("0.000", MS), 0);
    ck_assert_int_eq(ns_of("1e-3", MS), 1000);
    ck_assert_int_eq(ns_of("5e-3", S), 5000000);
    ck_assert_int_eq(ns_of("1.5E+2", S), INT64_C(150000000000));
    ck_assert_int_eq(ns_of("1e-9", S), 1);
    ck_assert_int_eq(ns_of("0.000000001", S), 1);
    ck_assert_int_eq(ns_of("7.5", S), 7500000000);
    ck_assert_int_eq(ns_of("9223372036.854775807", S), INT64_MAX);
    ck_assert_int_eq(ns_of("12000e-4", MS), 1200000);
    bad_time("0.0000000005", S, "is not a whole number of nanoseconds");
    bad_time("1e-10", S, "is not a whole number of nanoseconds");
    bad_time("-1", S, "must not be negative");
    bad_time("9223372036.854775808", S, "is too large");
    bad_time("1e30000", S, "has an exponent out of range");
    bad_time("1e300", S, "is too large");
    bad_time("1e20", S, "is too large");
    bad_time("abc", S, "is not a number");
    bad_time("", S, "is not a number");
    bad_time(".", S, "is not a number");
    bad_time("1.2.3", S, "is not a number");
    bad_time("1e", S, "is not a number");
    bad_time(".inf", S, "is not a number");
    bad_time("0x10", S, "is not a number");
}
END_TEST

static bnm_run *run_with(const char *times)
{
    char text[1024];
    snprintf(text, sizeof text, "model: rww\n%ssubjects: [{id: a, sc: s}]\n", times);
    return tr_ok(text, BNM_RUN_MODE_SIMULATE);
}

START_TEST(tr_ratios_are_exact)
{
    /* cuBNM samples a 0.7 s TR every 699 ms (float truncation); clBNM every 700 steps. */
    bnm_run *r = run_with("duration: 70\ntr: 0.7\nbw_dt: 1\n");
    ck_assert_int_eq(r->counts.bw_per_vol, 700);
    ck_assert_int_eq(r->counts.n_vol, 100);
    ck_assert_int_eq(r->counts.n_rm, 42); /* floor(30000 / 700) */
    bnm_run_destroy(r);
    static const char *const trs[] = {"0.35", "0.41", "0.57", "1.4"};
    static const int64_t steps[] = {350, 410, 570, 1400};
    for (int i = 0; i < 4; i++) {
        char t[128];
        snprintf(t, sizeof t, "duration: 700\ntr: %s\n", trs[i]);
        r = run_with(t);
        ck_assert_int_eq(r->counts.bw_per_vol, steps[i]);
        ck_assert_int_eq(r->counts.n_vol, 700000 / steps[i]);
        bnm_run_destroy(r);
    }
    /* 2.01 s is 2010 BW steps, not truncated to 2009 ms. */
    r = run_with("duration: 402\ntr: 2.01\n");
    ck_assert_int_eq(r->tr_ns, 2010000000);
    ck_assert_int_eq(r->counts.bw_per_vol, 2010);
    ck_assert_int_eq(r->counts.n_vol, 200);
    ck_assert_int_eq(r->counts.n_rm, 14); /* floor(30000 / 2010) */
    bnm_run_destroy(r);
    /* A trailing partial TR gives no volume (analysis.md 2.2.3). */
    r = run_with("duration: 100.5\ntr: 2\n");
    ck_assert_int_eq(r->counts.n_vol, 50);
    ck_assert_int_eq(r->counts.n_bw, 100500);
    bnm_run_destroy(r);
}
END_TEST

START_TEST(fractional_bold_remove)
{
    /* 7.5 s is not truncated to 7 s (analysis.md A3). */
    bnm_run *r = run_with("duration: 60\ntr: 0.5\nbold_remove: 7.5\nstates_sampling: 0.25\n");
    ck_assert_int_eq(r->bold_remove_ns, 7500000000);
    ck_assert_int_eq(r->counts.n_vol, 120);
    ck_assert_int_eq(r->counts.n_rm, 15);
    ck_assert_int_eq(r->counts.n_corr, 105);
    ck_assert_int_eq(r->counts.n_samp, 240);
    ck_assert_int_eq(r->counts.n_rm_s, 30);
    ck_assert_int_eq(r->counts.bw_per_samp, 250);
    bnm_run_destroy(r);
    r = run_with("duration: 60\ntr: 1\nbold_remove: 7.5\n");
    ck_assert_int_eq(r->counts.n_rm, 7);
    ck_assert_int_eq(r->counts.n_corr, 53);
    bnm_run_destroy(r);
}
END_TEST

START_TEST(step_counts)
{
    bnm_run *r = run_with("duration: 2\ntr: 0.5\ndt: 0.05\nbw_dt: 0.5\nbold_remove: 0\n");
    ck_assert_int_eq(r->counts.n_inner, 10);
    ck_assert_int_eq(r->counts.n_bw, 4000);
    ck_assert_int_eq(r->counts.n_steps, 40000);
    ck_assert_int_eq(r->counts.bw_per_vol, 1000);
    ck_assert_int_eq(r->counts.n_vol, 4);
    ck_assert_int_eq(r->counts.n_rm, 0);
    bnm_run_destroy(r);
    /* A dt that binary floating point cannot hold exactly: 0.3 ms / 0.1 ms = 3. */
    r = run_with("duration: 6\ntr: 0.6\ndt: 0.1\nbw_dt: 0.3\nbold_remove: 0\n");
    ck_assert_int_eq(r->counts.n_inner, 3);
    ck_assert_int_eq(r->counts.bw_per_vol, 2000);
    bnm_run_destroy(r);
}
END_TEST

START_TEST(fcd_window_counts)
{
    /* analysis.md 9, small check: 60 s, TR 1 s, window 10 s, step 2 s, 30 s removed. */
    bnm_run *r = run_with("duration: 60\ntr: 1\nbold_remove: 30\noutputs: {fcd: {window: 10, "
                          "step: 2}}\n");
    ck_assert_int_eq(r->counts.n_vol, 60);
    ck_assert_int_eq(r->counts.n_rm, 30);
    ck_assert_int_eq(r->counts.n_corr, 30);
    ck_assert_int_eq(r->counts.ws, 10);
    ck_assert_int_eq(r->counts.st, 2);
    ck_assert_int_eq(r->counts.n_win, 10);
    bnm_run_destroy(r);
    /* Without drop_edges, centres run n_rm, n_rm+st, ... <= n_vol-1: 30..58, 15 windows. */
    r = run_with("duration: 60\ntr: 1\nbold_remove: 30\noutputs: {fcd: {window: 10, step: 2, "
                 "drop_edges: false}}\n");
    ck_assert_int_eq(r->counts.n_win, 15);
    bnm_run_destroy(r);
    /* round half to even: 5/2 = 2.5 -> 2, 3/2 = 1.5 -> 2, 7/2 = 3.5 -> 4; steps 2.5 -> 2,
     * 3.5 -> 4. */
    static const char *const win[] = {"5", "3", "7", "2.5", "3.5"};
    static const int64_t ws[] = {4, 4, 8, 2, 4};
    static const int64_t st[] = {5, 3, 7, 2, 4};
    for (int i = 0; i < 5; i++) {
        char t[256];
        snprintf(t, sizeof t, "duration: 600\ntr: 1\noutputs: {fcd: {window: %s, step: %s}}\n",
                 win[i], win[i]);
        r = run_with(t);
        ck_assert_msg(r->counts.ws == ws[i], "window %s: ws %lld", win[i],
                      (long long)r->counts.ws);
        ck_assert_msg(r->counts.st == st[i], "step %s: st %lld", win[i], (long long)r->counts.st);
        bnm_run_destroy(r);
    }
}
END_TEST

TCase *tr_case_time(void)
{
    TCase *tc = tcase_create("time");
    tcase_add_test(tc, decimal_text_to_ns);
    tcase_add_test(tc, tr_ratios_are_exact);
    tcase_add_test(tc, fractional_bold_remove);
    tcase_add_test(tc, step_counts);
    tcase_add_test(tc, fcd_window_counts);
    return tc;
}
