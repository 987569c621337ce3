/* Status table, error context and logging: the conventions every module relies on. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/clbnm.h"

START_TEST(status_table_is_complete)
{
    for (int i = 0; i < (int)BNM_STATUS_COUNT_; i++) {
        bnm_status st = (bnm_status)i;
        ck_assert_msg(strncmp(bnm_status_name(st), "BNM_", 4) == 0, "status %d has no name", i);
        ck_assert_msg(strlen(bnm_status_message(st)) > 3, "status %d has no message", i);
        int code = bnm_status_exit_code(st);
        ck_assert_msg(code >= 0 && code <= 3, "status %d exit code %d", i, code);
        ck_assert_int_eq(code == 0, st == BNM_OK);
    }
    ck_assert_str_eq(bnm_status_name(BNM_OK), "BNM_OK");
    ck_assert_str_eq(bnm_status_name(BNM_ERR_BUILD), "BNM_ERR_BUILD");
    ck_assert_str_eq(bnm_status_name((bnm_status)9999), "BNM_STATUS_UNKNOWN");
}
END_TEST

START_TEST(exit_codes_follow_interface)
{
    /* interface.md section 1: 1 user error, 2 usage error, 3 device/OpenCL failure. */
    ck_assert_int_eq(bnm_status_exit_code(BNM_ERR_MODEL), 1);
    ck_assert_int_eq(bnm_status_exit_code(BNM_ERR_RUN), 1);
    ck_assert_int_eq(bnm_status_exit_code(BNM_ERR_DATA), 1);
    ck_assert_int_eq(bnm_status_exit_code(BNM_ERR_DEVICE_SELECT), 1);
    ck_assert_int_eq(bnm_status_exit_code(BNM_ERR_USAGE), 2);
    ck_assert_int_eq(bnm_status_exit_code(BNM_ERR_OPENCL), 3);
    ck_assert_int_eq(bnm_status_exit_code(BNM_ERR_BUILD), 3);
    ck_assert_int_eq(bnm_status_exit_code(BNM_ERR_NO_DEVICE), 3);
    ck_assert_int_eq(bnm_status_exit_code((bnm_status)-5), 3);
}
END_TEST

START_TEST(context_records_failures)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    ck_assert_int_eq(bnm_context_status(ctx), BNM_OK);
    ck_assert_str_eq(bnm_context_message(ctx), "");
    bnm_status st = bnm_fail(ctx, BNM_ERR_DATA, "file %s: row %d has %d columns", "sc.txt", 3, 7);
    ck_assert_int_eq(st, BNM_ERR_DATA);
    ck_assert_int_eq(bnm_context_status(ctx), BNM_ERR_DATA);
    ck_assert_str_eq(bnm_context_message(ctx), "file sc.txt: row 3 has 7 columns");
    bnm_context_append(ctx, "; expected %d", 5);
    ck_assert_str_eq(bnm_context_message(ctx), "file sc.txt: row 3 has 7 columns; expected 5");
    bnm_fail(ctx, BNM_ERR_IO, "second");
    ck_assert_str_eq(bnm_context_message(ctx), "second");
    bnm_context_clear(ctx);
    ck_assert_int_eq(bnm_context_status(ctx), BNM_OK);
    ck_assert_str_eq(bnm_context_message(ctx), "");
    ck_assert_int_eq(bnm_fail(NULL, BNM_ERR_RUN, "no context"), BNM_ERR_RUN);
    bnm_context_destroy(ctx);
    bnm_context_destroy(NULL);
}
END_TEST

typedef struct captured {
    int count;
    bnm_log_level last_level;
    char last[256];
} captured;

static void capture_sink(bnm_log_level level, const char *msg, void *user)
{
    captured *c = user;
    c->count++;
    c->last_level = level;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

START_TEST(log_filters_by_level)
{
    captured c = {0};
    bnm_log_set_sink(capture_sink, &c);
    bnm_log_set_level(BNM_LOG_WARN);
    bnm_log_info("hidden %d", 1);
    ck_assert_int_eq(c.count, 0);
    bnm_log_warn("shown %d", 2);
    ck_assert_int_eq(c.count, 1);
    ck_assert_str_eq(c.last, "shown 2");
    ck_assert_int_eq(c.last_level, BNM_LOG_WARN);
    bnm_log_set_level(BNM_LOG_OFF);
    bnm_log_error("nothing");
    ck_assert_int_eq(c.count, 1);
    bnm_log_set_level(BNM_LOG_TRACE);
    bnm_log_debug("debug");
    ck_assert_int_eq(c.count, 2);
    bnm_log_set_sink(NULL, NULL);
}
END_TEST

START_TEST(log_level_from_environment)
{
    /* Each Check test runs in a fresh child, so the level has not been set by the API. */
    setenv("CLBNM_LOG", "debug", 1);
    ck_assert_int_eq(bnm_log_get_level(), BNM_LOG_DEBUG);
}
END_TEST

START_TEST(log_api_overrides_environment)
{
    setenv("CLBNM_LOG", "trace", 1);
    bnm_log_set_level(BNM_LOG_ERROR);
    ck_assert_int_eq(bnm_log_get_level(), BNM_LOG_ERROR);
}
END_TEST

START_TEST(log_level_names_parse)
{
    bnm_log_level l = BNM_LOG_OFF;
    ck_assert(bnm_log_level_parse("INFO", &l));
    ck_assert_int_eq(l, BNM_LOG_INFO);
    ck_assert(bnm_log_level_parse("warning", &l));
    ck_assert_int_eq(l, BNM_LOG_WARN);
    ck_assert(bnm_log_level_parse("off", &l));
    ck_assert_int_eq(l, BNM_LOG_OFF);
    ck_assert(!bnm_log_level_parse("loud", &l));
    ck_assert_int_eq(l, BNM_LOG_OFF);
    ck_assert(!bnm_log_level_parse(NULL, &l));
    ck_assert_str_eq(bnm_log_level_name(BNM_LOG_TRACE), "trace");
}
END_TEST

START_TEST(cl_error_names)
{
    ck_assert_str_eq(bnm_cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    ck_assert_str_eq(bnm_cl_error_name(CL_BUILD_PROGRAM_FAILURE), "CL_BUILD_PROGRAM_FAILURE");
    ck_assert_str_eq(bnm_cl_error_name(CL_INVALID_KERNEL_ARGS), "CL_INVALID_KERNEL_ARGS");
    ck_assert_str_eq(bnm_cl_error_name(CL_SUCCESS), "CL_SUCCESS");
    ck_assert_str_eq(bnm_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    ck_assert_str_eq(bnm_cl_error_name(-777), "CL_UNKNOWN_ERROR(-777)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("conventions");
    tcase_add_test(tc, status_table_is_complete);
    tcase_add_test(tc, exit_codes_follow_interface);
    tcase_add_test(tc, context_records_failures);
    tcase_add_test(tc, log_filters_by_level);
    tcase_add_test(tc, log_level_from_environment);
    tcase_add_test(tc, log_api_overrides_environment);
    tcase_add_test(tc, log_level_names_parse);
    tcase_add_test(tc, cl_error_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
