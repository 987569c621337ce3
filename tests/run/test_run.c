/* Run files (engine/run): parsing the interface.md examples, located error messages,
 * exact time arithmetic, sweep expansion and the Sobol sequence. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_run.h"

bnm_run *tr_parse(const char *text, const char *base, bnm_run_mode mode, bnm_status *st,
                  char *msg, size_t msg_size)
{
    bnm_context *ctx = NULL;
    ck_assert_int_eq(bnm_context_create(&ctx), BNM_OK);
    bnm_run *run = NULL;
    *st = bnm_run_parse_string(ctx, text, strlen(text), "run.yaml", base, mode, &run);
    snprintf(msg, msg_size, "%s", bnm_context_message(ctx));
    bnm_context_destroy(ctx);
    if (*st == BNM_OK)
        ck_assert_ptr_nonnull(run);
    else
        ck_assert_ptr_null(run);
    return run;
}

void tr_expect_error(const char *text, bnm_run_mode mode, bnm_status st, const char *want)
{
    bnm_status got;
    char msg[2048];
    bnm_run *run = tr_parse(text, NULL, mode, &got, msg, sizeof msg);
    bnm_run_destroy(run);
    ck_assert_msg(got == st, "status %s, expected %s (message: %s)", bnm_status_name(got),
                  bnm_status_name(st), msg);
    ck_assert_str_eq(msg, want);
}

bnm_run *tr_ok(const char *text, bnm_run_mode mode)
{
    bnm_status st;
    char msg[2048];
    bnm_run *run = tr_parse(text, NULL, mode, &st, msg, sizeof msg);
    ck_assert_msg(st == BNM_OK, "unexpected failure: %s", msg);
    return run;
}

void tr_mkdtemp(char *buf, size_t size)
{
    snprintf(buf, size, "/tmp/clbnm_run_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

void tr_write(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

void tr_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static char *cap_buf;
static size_t cap_size;

static void capture(bnm_log_level level, const char *msg, void *user)
{
    (void)user;
    size_t len = strlen(cap_buf);
    snprintf(cap_buf + len, cap_size - len, "%s: %s\n", bnm_log_level_name(level), msg);
}

void tr_capture_logs(char *buf, size_t size)
{
    buf[0] = '\0';
    cap_buf = buf;
    cap_size = size;
    bnm_log_set_level(BNM_LOG_WARN);
    bnm_log_set_sink(capture, NULL);
}

void tr_stop_capture(void)
{
    bnm_log_set_sink(NULL, NULL);
}

int main(void)
{
    Suite *s = suite_create("run");
    suite_add_tcase(s, tr_case_parse());
    suite_add_tcase(s, tr_case_errors());
    suite_add_tcase(s, tr_case_time());
    suite_add_tcase(s, tr_case_sweep());
    suite_add_tcase(s, tr_case_sobol());
    suite_add_tcase(s, tr_case_derive());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
