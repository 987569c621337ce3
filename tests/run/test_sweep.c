/* Sweep expansion against independently computed values: grid (product, zip, n = 1),
 * random uniform (Philox called here directly with the documented counter layout),
 * Sobol, table CSV; subject x set indexing and huge sweeps computed on demand. */
#include <Random123/philox.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_run.h"

#define HEAD "model: rww\nduration: 600\ntr: 1\n"
#define ONE_SUBJECT "subjects: [{id: a, sc: s}]\n"

START_TEST(grid_product)
{
    bnm_run *r = tr_ok(HEAD ONE_SUBJECT "sweep: {grid: {G: [0.5, 3.0, 11], w_p: [1.0, 1.6, 4]}}\n",
                       BNM_RUN_MODE_SIMULATE);
    ck_assert_uint_eq(bnm_run_n_sets(r), 44);
    double v[2];
    /* Last parameter fastest: set = i*4 + j, G = 0.5 + 0.25 i, w_p = 1.0 + 0.2 j. The
     * tolerance covers the rounding of lo + i*step (a few ulps). */
    for (uint64_t s = 0; s < 44; s++) {
        ck_assert(bnm_run_set_params(r, s, v));
        ck_assert_double_eq_tol(v[0], 0.5 + 0.25 * (double)(s / 4), 1e-14);
        ck_assert_double_eq_tol(v[1], 1.0 + 0.2 * (double)(s % 4), 1e-14);
    }
    /* End points are exact. */
    ck_assert(bnm_run_set_params(r, 43, v));
    ck_assert_double_eq(v[0], 3.0);
    ck_assert_double_eq(v[1], 1.6);
    ck_assert(bnm_run_set_params(r, 0, v));
    ck_assert_double_eq(v[0], 0.5);
    ck_assert_double_eq(v[1], 1.0);
    ck_assert(!bnm_run_set_params(r, 44, v));
    bnm_run_destroy(r);
}
END_TEST

START_TEST(grid_zip_and_single_value)
{
    bnm_run *r = tr_ok(HEAD ONE_SUBJECT
                       "sweep: {grid: {G: [0, 2, 3], w_p: [10, 20, 3]}, combine: zip}\n",
                       BNM_RUN_MODE_SIMULATE);
    ck_assert_int_eq(r->sweep.combine, BNM_SWEEP_ZIP);
    ck_assert_uint_eq(bnm_run_n_sets(r), 3);
    static const double g[] = {0, 1, 2}, w[] = {10, 15, 20};
    double v[2];
    for (uint64_t s = 0; s < 3; s++) {
        ck_assert(bnm_run_set_params(r, s, v));
        ck_assert_double_eq(v[0], g[s]);
        ck_assert_double_eq(v[1], w[s]);
    }
    bnm_run_destroy(r);
    /* n = 1 gives lo (hi unused, even when below lo). */
    r = tr_ok(HEAD ONE_SUBJECT "sweep: {grid: {G: [1.25, 0, 1], w_p: [0, 1, 2]}}\n",
              BNM_RUN_MODE_SIMULATE);
    ck_assert_uint_eq(bnm_run_n_sets(r), 2);
    ck_assert(bnm_run_set_params(r, 1, v));
    ck_assert_double_eq(v[0], 1.25);
    ck_assert_double_eq(v[1], 1.0);
    bnm_run_destroy(r);
}
END_TEST

/* The documented mapping, written here from Random123 directly. */
static double expected_uniform(uint64_t seed, uint64_t set, uint32_t dim)
{
    philox4x32_ctr_t c = {{(uint32_t)set, (uint32_t)(set >> 32), dim, 0x53574550u}};
    philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t o = philox4x32(c, k); /* 10 rounds by default */
    uint64_t top53 = ((uint64_t)o.v[0] << 21) | (o.v[1] >> 11);
    return ldexp((double)top53, -53);
}

START_TEST(random_uniform)
{
    const char *text = HEAD ONE_SUBJECT "seed: 77\n"
                                        "sweep: {random: {n: 4000, G: [0.5, 3.0], w_p: [-1, 1]}}\n";
    bnm_run *r = tr_ok(text, BNM_RUN_MODE_SIMULATE);
    bnm_run *again = tr_ok(text, BNM_RUN_MODE_SIMULATE);
    ck_assert_uint_eq(bnm_run_n_sets(r), 4000);
    double v[2], w[2], sum0 = 0, sum1 = 0;
    for (uint64_t s = 0; s < 4000; s++) {
        ck_assert(bnm_run_set_params(r, s, v));
        ck_assert(bnm_run_set_params(again, s, w));
        ck_assert_double_eq(v[0], w[0]); /* reproducible */
        ck_assert_double_eq(v[1], w[1]);
        ck_assert_double_eq_tol(v[0], 0.5 + 2.5 * expected_uniform(77, s, 0), 1e-15);
        ck_assert_double_eq_tol(v[1], -1 + 2 * expected_uniform(77, s, 1), 1e-15);
        ck_assert(v[0] >= 0.5 && v[0] < 3.0);
        ck_assert(v[1] >= -1 && v[1] < 1);
        sum0 += v[0];
        sum1 += v[1];
    }
    /* Means within 5 standard errors (sd of U(a,b) is (b-a)/sqrt(12)). */
    ck_assert_double_eq_tol(sum0 / 4000, 1.75, 5 * 2.5 / sqrt(12.0 * 4000));
    ck_assert_double_eq_tol(sum1 / 4000, 0.0, 5 * 2.0 / sqrt(12.0 * 4000));
    ck_assert_double_eq(bnm_run_uniform(77, 5, 1), expected_uniform(77, 5, 1));
    bnm_run_destroy(again);
    bnm_run_destroy(r);
    /* Another seed gives other values. */
    r = tr_ok(HEAD ONE_SUBJECT "seed: 78\nsweep: {random: {n: 10, G: [0.5, 3.0]}}\n",
              BNM_RUN_MODE_SIMULATE);
    ck_assert(bnm_run_set_params(r, 0, v));
    ck_assert_double_eq_tol(v[0], 0.5 + 2.5 * expected_uniform(78, 0, 0), 1e-15);
    ck_assert_double_ne(v[0], 0.5 + 2.5 * expected_uniform(77, 0, 0));
    bnm_run_destroy(r);
}
END_TEST

START_TEST(random_sobol)
{
    bnm_run *r = tr_ok(HEAD ONE_SUBJECT
                       "sweep: {random: {n: 8, method: sobol, G: [0, 4], w_p: [1, 2]}}\n",
                       BNM_RUN_MODE_SIMULATE);
    ck_assert_int_eq(r->sweep.method, BNM_SWEEP_SOBOL);
    /* Published points of dimensions 1 and 2 (test_sobol.c), scaled. */
    static const double d1[] = {0, .5, .75, .25, .375, .875, .625, .125};
    static const double d2[] = {0, .5, .25, .75, .375, .875, .125, .625};
    double v[2];
    for (uint64_t s = 0; s < 8; s++) {
        ck_assert(bnm_run_set_params(r, s, v));
        ck_assert_double_eq(v[0], 4 * d1[s]);
        ck_assert_double_eq(v[1], 1 + d2[s]);
    }
    bnm_run_destroy(r);
}
END_TEST

START_TEST(table_csv)
{
    char dir[64];
    tr_mkdtemp(dir, sizeof dir);
    tr_write(dir, "params.csv", "# a comment\nG, \"w_p\"\n0.5,1.0\n\n 1.5e0 , 2\n-3,4.25\n");
    tr_write(dir, "params.tsv", "G\tw_p\n1\t2\n3 4\n");
    bnm_status st;
    char msg[1024];
    bnm_run *r = tr_parse(HEAD ONE_SUBJECT "sweep: {table: params.csv}\n", dir,
                          BNM_RUN_MODE_SIMULATE, &st, msg, sizeof msg);
    ck_assert_msg(st == BNM_OK, "%s", msg);
    ck_assert_int_eq(r->sweep.kind, BNM_SWEEP_TABLE);
    ck_assert_uint_eq(bnm_run_n_sets(r), 3);
    ck_assert_str_eq(bnm_run_swept_name(r, 0), "G");
    ck_assert_str_eq(bnm_run_swept_name(r, 1), "w_p");
    static const double want[3][2] = {{0.5, 1.0}, {1.5, 2}, {-3, 4.25}};
    double v[2];
    for (uint64_t s = 0; s < 3; s++) {
        ck_assert(bnm_run_set_params(r, s, v));
        ck_assert_double_eq(v[0], want[s][0]);
        ck_assert_double_eq(v[1], want[s][1]);
    }
    bnm_run_destroy(r);
    r = tr_parse(HEAD ONE_SUBJECT "sweep: {table: params.tsv}\n", dir, BNM_RUN_MODE_SIMULATE, &st,
                 msg, sizeof msg);
    ck_assert_msg(st == BNM_OK, "%s", msg);
    ck_assert_uint_eq(bnm_run_n_sets(r), 2);
    ck_assert(bnm_run_set_params(r, 1, v));
    ck_assert_double_eq(v[0], 3);
    ck_assert_double_eq(v[1], 4);
    bnm_run_destroy(r);
    tr_rmdir(dir);
}
END_TEST

START_TEST(table_errors)
{
    char dir[64], want[1024], msg[1024];
    bnm_status st;
    tr_mkdtemp(dir, sizeof dir);
    tr_write(dir, "bad.csv", "G,w_p\n0.5,1\n0.7,x1\n");
    tr_write(dir, "ragged.csv", "G,w_p\n0.5,1\n0.7\n");
    tr_write(dir, "empty.csv", "G,w_p\n");
    tr_parse(HEAD ONE_SUBJECT "sweep: {table: bad.csv}\n", dir, BNM_RUN_MODE_SIMULATE, &st, msg,
             sizeof msg);
    snprintf(want, sizeof want,
             "%s/bad.csv:3:5: error: 'x1' is not a finite number\n"
             "  hint: table values must be finite numbers",
             dir);
    ck_assert_int_eq(st, BNM_ERR_RUN);
    ck_assert_str_eq(msg, want);
    tr_parse(HEAD ONE_SUBJECT "sweep: {table: ragged.csv}\n", dir, BNM_RUN_MODE_SIMULATE, &st, msg,
             sizeof msg);
    snprintf(want, sizeof want,
             "%s/ragged.csv:3:1: error: row has 1 value, the header has 2\n"
             "  hint: every row needs one value per header column",
             dir);
    ck_assert_str_eq(msg, want);
    tr_parse(HEAD ONE_SUBJECT "sweep: {table: empty.csv}\n", dir, BNM_RUN_MODE_SIMULATE, &st, msg,
             sizeof msg);
    snprintf(want, sizeof want,
             "run.yaml:5:16: error: sweep table '%s/empty.csv' has no rows\n"
             "  hint: the table needs a header row of parameter names and at least one row",
             dir);
    ck_assert_str_eq(msg, want);
    tr_parse(HEAD ONE_SUBJECT "sweep: {table: none.csv}\n", dir, BNM_RUN_MODE_SIMULATE, &st, msg,
             sizeof msg);
    snprintf(want, sizeof want,
             "run.yaml:5:16: error: cannot read sweep table '%s/none.csv': No such file or "
             "directory\n"
             "  hint: the path is relative to the run file's folder",
             dir);
    ck_assert_str_eq(msg, want);
    /* More columns than the reader takes. */
    char wide[4096] = "";
    for (int i = 0; i < 300; i++)
        snprintf(wide + strlen(wide), sizeof wide - strlen(wide), "%sp%d", i ? "," : "", i);
    strcat(wide, "\n");
    tr_write(dir, "wide.csv", wide);
    tr_parse(HEAD ONE_SUBJECT "sweep: {table: wide.csv}\n", dir, BNM_RUN_MODE_SIMULATE, &st, msg,
             sizeof msg);
    snprintf(want, sizeof want,
             "%s/wide.csv:1:1: error: the header has more than 256 columns\n"
             "  hint: sweep fewer parameters at once",
             dir);
    ck_assert_str_eq(msg, want);
    tr_rmdir(dir);
}
END_TEST

START_TEST(subjects_times_sets)
{
    bnm_run *r = tr_ok(HEAD "subjects: [{id: a, sc: s}, {id: b, sc: t}]\nseed: 9\n"
                            "sweep: {grid: {G: [0.5, 3.0, 11], w_p: [1.0, 1.6, 4]}}\n",
                       BNM_RUN_MODE_SIMULATE);
    ck_assert_uint_eq(bnm_run_n_sims(r), 88);
    size_t subj;
    uint64_t seed;
    double v[2];
    /* Subject-major: sim 50 = subject 1, set 6 = (G index 1, w_p index 2). */
    ck_assert(bnm_run_sim_params(r, 50, &subj, &seed, v));
    ck_assert_uint_eq(subj, 1);
    ck_assert_uint_eq(seed, 9);
    ck_assert_double_eq_tol(v[0], 0.75, 1e-15);
    ck_assert_double_eq_tol(v[1], 1.4, 1e-14);
    ck_assert(!bnm_run_sim_params(r, 88, &subj, &seed, v));
    /* Chunks give the same as one call per simulation, and stop at the end. */
    size_t subjects[32];
    double values[32][2];
    ck_assert_uint_eq(bnm_run_sims_chunk(r, 70, 32, subjects, &values[0][0]), 18);
    for (unsigned i = 0; i < 18; i++) {
        ck_assert(bnm_run_sim_params(r, 70 + i, &subj, NULL, v));
        ck_assert_uint_eq(subjects[i], subj);
        ck_assert_double_eq(values[i][0], v[0]);
        ck_assert_double_eq(values[i][1], v[1]);
    }
    ck_assert_uint_eq(bnm_run_sims_chunk(r, 88, 4, subjects, NULL), 0);
    bnm_run_destroy(r);
}
END_TEST

START_TEST(huge_sweep_is_computed_on_demand)
{
    /* 10^6 sets x 3 subjects: nothing per set is stored, every set is computed. */
    bnm_run *r = tr_ok(HEAD "subjects: [{id: a, sc: s}, {id: b, sc: t}, {id: c, sc: u}]\n"
                            "sweep: {grid: {G: [0, 999, 1000], w_p: [0, 0.999, 1000]}}\n",
                       BNM_RUN_MODE_SIMULATE);
    ck_assert_uint_eq(bnm_run_n_sets(r), 1000000);
    ck_assert_uint_eq(bnm_run_n_sims(r), 3000000);
    ck_assert_ptr_null(r->table_values_);
    size_t subj;
    double v[2];
    ck_assert(bnm_run_sim_params(r, 2999999, &subj, NULL, v));
    ck_assert_uint_eq(subj, 2);
    ck_assert_double_eq(v[0], 999);
    ck_assert_double_eq(v[1], 0.999);
    ck_assert(bnm_run_sim_params(r, 1000000 + 123456, &subj, NULL, v));
    ck_assert_uint_eq(subj, 1);
    ck_assert_double_eq_tol(v[0], 123, 1e-12);
    ck_assert_double_eq_tol(v[1], 0.456, 1e-15);
    bnm_run_destroy(r);
    /* A sweep too large to count is rejected. */
    tr_expect_error(HEAD ONE_SUBJECT
                    "sweep: {grid: {G: [0, 1, 4294967296], w_p: [0, 1, 4294967296]}}\n",
                    BNM_RUN_MODE_SIMULATE, BNM_ERR_RUN,
                    "run.yaml:5:9: error: the sweep has more than 2^64 parameter sets\n"
                    "  hint: use a smaller grid");
}
END_TEST

TCase *tr_case_sweep(void)
{
    TCase *tc = tcase_create("sweep");
    tcase_add_test(tc, grid_product);
    tcase_add_test(tc, grid_zip_and_single_value);
    tcase_add_test(tc, random_uniform);
    tcase_add_test(tc, random_sobol);
    tcase_add_test(tc, table_csv);
    tcase_add_test(tc, table_errors);
    tcase_add_test(tc, subjects_times_sets);
    tcase_add_test(tc, huge_sweep_is_computed_on_demand);
    return tc;
}
