/* The OpenCL layer on PoCL: enumeration, selection, build logs, the binary cache, and
 * the `clbnm devices` command's behaviour on good and bad selectors. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clbnm/clbnm.h"
#include "program_cache_internal.h"
#include "run_cmd.h"

static const char good_source[] =
    "__kernel void twice(__global float *x)\n"
    "{\n"
    "    x[get_global_id(0)] *= 2.0f;\n"
    "}\n";

/* The error is on line 3: the build log must say so. */
static const char bad_source[] =
    "__kernel void broken(__global float *x)\n"
    "{\n"
    "    x[0] = undeclared_name_xyz + 1.0f;\n"
    "}\n";

static char *make_temp_dir(void)
{
    char *dir = strdup("/tmp/clbnm-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static bnm_cl *open_default(bnm_context *ctx)
{
    bnm_cl *cl = NULL;
    bnm_status st = bnm_cl_create_selected(ctx, NULL, &cl);
    ck_assert_msg(st == BNM_OK, "no OpenCL device: %s", bnm_context_message(ctx));
    return cl;
}

/* Runs `twice` on 64 floats and checks every result, so a program served from the
 * cache is proven to work and not only to load. */
static void run_twice(bnm_cl *cl, cl_program program)
{
    float x[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)i + 0.5f;
    cl_int err;
    cl_kernel k = clCreateKernel(program, "twice", &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_mem buf = clCreateBuffer(bnm_cl_context(cl), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                sizeof x, x, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
    size_t global = 64;
    ck_assert_int_eq(clEnqueueNDRangeKernel(bnm_cl_queue(cl), k, 1, NULL, &global, NULL, 0,
                                            NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(bnm_cl_queue(cl), buf, CL_TRUE, 0, sizeof x, x, 0,
                                         NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < 64; i++)
        ck_assert_float_eq(x[i], 2.0f * ((float)i + 0.5f));
    clReleaseMemObject(buf);
    clReleaseKernel(k);
}

/* Builds good_source through a fresh cache object on dir, as a new process would. */
static bnm_cache_stats build_through_cache(bnm_context *ctx, bnm_cl *cl, const char *dir)
{
    bnm_cache_config cfg;
    bnm_cache_config_init_defaults(&cfg);
    cfg.dir = dir;
    bnm_program_cache *cache = NULL;
    ck_assert_int_eq(bnm_program_cache_create(ctx, &cfg, &cache), BNM_OK);
    ck_assert_str_eq(bnm_program_cache_dir(cache), dir);
    cl_program program = NULL;
    bnm_status st = bnm_program_build(ctx, cl, cache, good_source, "-cl-std=CL1.2", &program, NULL);
    ck_assert_msg(st == BNM_OK, "%s", bnm_context_message(ctx));
    run_twice(cl, program);
    clReleaseProgram(program);
    bnm_cache_stats stats = bnm_program_cache_stats(cache);
    bnm_program_cache_destroy(cache);
    return stats;
}

static void entry_file(const bnm_cl *cl, const char *dir, char *path, size_t size)
{
    char key[65];
    bnm_program_cache_key(bnm_cl_device(cl), good_source, "-cl-std=CL1.2", key);
    snprintf(path, size, "%s/%s.bin", dir, key);
}

/* ---- enumeration and selection ---- */

START_TEST(devices_enumerate_on_pocl)
{
    bnm_context *ctx = NULL;
    bnm_device_list *list = NULL;
    bnm_context_create(&ctx);
    ck_assert_msg(bnm_device_list_create(ctx, &list) == BNM_OK, "%s", bnm_context_message(ctx));
    ck_assert_uint_ge(bnm_device_list_count(list), 1);
    bool found_pocl = false;
    for (size_t i = 0; i < bnm_device_list_count(list); i++) {
        const bnm_device_info *d = bnm_device_list_get(list, i);
        ck_assert(strlen(d->name) > 0);
        ck_assert_uint_gt(d->global_mem_bytes, 0);
        ck_assert_uint_gt(d->local_mem_bytes, 0);
        ck_assert_uint_gt(d->compute_units, 0);
        ck_assert_uint_gt(d->max_work_group_size, 0);
        ck_assert(strstr(d->opencl_c_version, "OpenCL C") != NULL);
        if (strstr(d->platform_name, "Portable Computing Language")) {
            found_pocl = true;
            ck_assert_int_eq(d->kind, BNM_DEVICE_CPU);
            ck_assert(d->fp64); /* PoCL's CPU device supports cl_khr_fp64 */
            ck_assert_uint_ge(d->pref_vector_width_float, 1);
        }
    }
    ck_assert_msg(found_pocl, "the PoCL CPU device was not enumerated");
    ck_assert_ptr_null(bnm_device_list_get(list, bnm_device_list_count(list)));
    bnm_device_list_destroy(list);
    bnm_device_list_destroy(NULL);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(select_by_index_name_and_environment)
{
    bnm_context *ctx = NULL;
    bnm_device_list *list = NULL;
    size_t idx = 99;
    bnm_context_create(&ctx);
    ck_assert_int_eq(bnm_device_list_create(ctx, &list), BNM_OK);
    size_t last = bnm_device_list_count(list) - 1;
    const bnm_device_info *d = bnm_device_list_get(list, last);

    char sel[32];
    snprintf(sel, sizeof sel, "%u:%u", d->platform_index, d->device_index);
    ck_assert_int_eq(bnm_device_list_select(list, ctx, sel, &idx), BNM_OK);
    ck_assert_uint_eq(idx, last);

    /* A part of the name, in another case, selects too. */
    char part[8] = {0};
    size_t len = strlen(d->name);
    size_t take = len < 5 ? len : 5;
    for (size_t i = 0; i < take; i++)
        part[i] = (char)toupper((unsigned char)d->name[len - take + i]);
    idx = 99;
    ck_assert_int_eq(bnm_device_list_select(list, ctx, part, &idx), BNM_OK);
    ck_assert(strstr(bnm_device_list_get(list, idx)->name, d->name + len - take) != NULL);

    setenv("CLBNM_DEVICE", sel, 1);
    idx = 99;
    ck_assert_int_eq(bnm_device_list_select(list, ctx, NULL, &idx), BNM_OK);
    ck_assert_uint_eq(idx, last);

    /* An explicit selector wins over the environment. */
    setenv("CLBNM_DEVICE", "no-such-device-anywhere", 1);
    ck_assert_int_eq(bnm_device_list_select(list, ctx, sel, &idx), BNM_OK);
    ck_assert_int_eq(bnm_device_list_select(list, ctx, NULL, &idx), BNM_ERR_DEVICE_SELECT);
    ck_assert(strstr(bnm_context_message(ctx), "CLBNM_DEVICE") != NULL);

    unsetenv("CLBNM_DEVICE");
    ck_assert_int_eq(bnm_device_list_select(list, ctx, "", &idx), BNM_OK);
    ck_assert_uint_eq(idx, bnm_device_list_default(list));
    bnm_device_list_destroy(list);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(bad_selectors_list_devices)
{
    bnm_context *ctx = NULL;
    bnm_device_list *list = NULL;
    size_t idx = 0;
    bnm_context_create(&ctx);
    ck_assert_int_eq(bnm_device_list_create(ctx, &list), BNM_OK);
    const bnm_device_info *d0 = bnm_device_list_get(list, 0);
    const char *bad[] = {"7:7", "no-such-device-anywhere", "1:", ":1"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        ck_assert_int_eq(bnm_device_list_select(list, ctx, bad[b], &idx), BNM_ERR_DEVICE_SELECT);
        const char *msg = bnm_context_message(ctx);
        ck_assert_msg(strstr(msg, bad[b]) != NULL, "message does not quote the selector: %s", msg);
        ck_assert_msg(strstr(msg, d0->name) != NULL, "message does not list devices: %s", msg);
        ck_assert(strstr(msg, "available devices") != NULL);
    }
    bnm_device_list_destroy(list);
    bnm_context_destroy(ctx);
}
END_TEST

/* ---- program build ---- */

START_TEST(build_error_returns_log_with_line)
{
    bnm_context *ctx = NULL;
    bnm_context_create(&ctx);
    bnm_cl *cl = open_default(ctx);
    cl_program program = (cl_program)1;
    char *log = NULL;
    bnm_status st = bnm_program_build(ctx, cl, NULL, bad_source, NULL, &program, &log);
    ck_assert_int_eq(st, BNM_ERR_BUILD);
    ck_assert_ptr_null(program);
    ck_assert_ptr_nonnull(log);
    ck_assert_msg(strstr(log, ":3:") != NULL, "build log lacks the line number:\n%s", log);
    ck_assert(strstr(log, "undeclared_name_xyz") != NULL);
    const char *msg = bnm_context_message(ctx);
    ck_assert(strstr(msg, "CL_BUILD_PROGRAM_FAILURE") != NULL);
    ck_assert(strstr(msg, bnm_cl_device(cl)->name) != NULL);
    ck_assert(strstr(msg, ":3:") != NULL); /* the full log travels with the error too */
    free(log);
    bnm_cl_destroy(cl);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(cache_key_covers_source_and_options)
{
    bnm_context *ctx = NULL;
    bnm_device_list *list = NULL;
    bnm_context_create(&ctx);
    ck_assert_int_eq(bnm_device_list_create(ctx, &list), BNM_OK);
    bnm_device_info dev = *bnm_device_list_get(list, 0);
    char a[65], b[65], c[65], d[65], e[65];
    bnm_program_cache_key(&dev, good_source, "", a);
    bnm_program_cache_key(&dev, good_source, "", b);
    bnm_program_cache_key(&dev, good_source, "-DX=1", c);
    bnm_program_cache_key(&dev, bad_source, "", d);
    snprintf(dev.driver_version, sizeof dev.driver_version, "another-driver");
    bnm_program_cache_key(&dev, good_source, "", e);
    ck_assert_int_eq(strlen(a), 64);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_str_ne(a, d);
    ck_assert_str_ne(a, e); /* a driver update makes old entries stale, never reused */
    bnm_device_list_destroy(list);
    bnm_context_destroy(ctx);
}
END_TEST

START_TEST(second_build_comes_from_cache)
{
    bnm_context *ctx = NULL;
    bnm_context_create(&ctx);
    bnm_cl *cl = open_default(ctx);
    char *dir = make_temp_dir();
    bnm_cache_stats first = build_through_cache(ctx, cl, dir);
    ck_assert_uint_eq(first.misses, 1);
    ck_assert_uint_eq(first.hits, 0);
    ck_assert_uint_eq(first.stores, 1);
    char path[4200];
    entry_file(cl, dir, path, sizeof path);
    ck_assert_int_eq(access(path, R_OK), 0);
    path[strlen(path) - 3] = '\0';
    strcat(path, "cl"); /* the source is kept beside the binary */
    ck_assert_int_eq(access(path, R_OK), 0);

    bnm_cache_stats second = build_through_cache(ctx, cl, dir);
    ck_assert_uint_eq(second.hits, 1);
    ck_assert_uint_eq(second.misses, 0);
    ck_assert_uint_eq(second.rebuilt, 0);
    ck_assert_uint_eq(second.stores, 0);
    remove_tree(dir);
    free(dir);
    bnm_cl_destroy(cl);
    bnm_context_destroy(ctx);
}
END_TEST

static void damage_and_check(void (*damage)(const char *path, bnm_cl *cl, const char *dir))
{
    bnm_context *ctx = NULL;
    bnm_context_create(&ctx);
    bnm_cl *cl = open_default(ctx);
    char *dir = make_temp_dir();
    ck_assert_uint_eq(build_through_cache(ctx, cl, dir).stores, 1);
    char path[4200];
    entry_file(cl, dir, path, sizeof path);
    damage(path, cl, dir);

    bnm_cache_stats again = build_through_cache(ctx, cl, dir);
    ck_assert_uint_eq(again.hits, 0);
    ck_assert_uint_eq(again.rebuilt, 1);
    ck_assert_uint_eq(again.stores, 1); /* the bad entry was replaced */

    bnm_cache_stats healed = build_through_cache(ctx, cl, dir);
    ck_assert_uint_eq(healed.hits, 1);
    ck_assert_uint_eq(healed.rebuilt, 0);
    remove_tree(dir);
    free(dir);
    bnm_cl_destroy(cl);
    bnm_context_destroy(ctx);
}

static void flip_payload_bytes(const char *path, bnm_cl *cl, const char *dir)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, -16, SEEK_END);
    for (int i = 0; i < 8; i++)
        fputc(0xA5 ^ i, f);
    fclose(f);
}

static void truncate_entry(const char *path, bnm_cl *cl, const char *dir)
{
    ck_assert_int_eq(truncate(path, 40), 0);
}

static void empty_entry(const char *path, bnm_cl *cl, const char *dir)
{
    ck_assert_int_eq(truncate(path, 0), 0);
}

/* A well-formed entry whose payload is not a program: only the driver can tell. */
static void store_garbage_binary(const char *path, bnm_cl *cl, const char *dir)
{
    bnm_cache_config cfg;
    bnm_cache_config_init_defaults(&cfg);
    cfg.dir = dir;
    bnm_program_cache *cache = NULL;
    ck_assert_int_eq(bnm_program_cache_create(NULL, &cfg, &cache), BNM_OK);
    char key[65];
    bnm_program_cache_key(bnm_cl_device(cl), good_source, "-cl-std=CL1.2", key);
    const unsigned char junk[] = "this is not a device binary at all";
    bnm_program_cache_store(cache, key, good_source, junk, sizeof junk);
    ck_assert_uint_eq(bnm_program_cache_stats(cache).stores, 1);
    bnm_program_cache_destroy(cache);
}

START_TEST(corrupt_cache_entry_is_rebuilt)
{
    damage_and_check(flip_payload_bytes);
}
END_TEST

START_TEST(truncated_cache_entry_is_rebuilt)
{
    damage_and_check(truncate_entry);
    damage_and_check(empty_entry);
}
END_TEST

START_TEST(rejected_cache_binary_is_rebuilt)
{
    damage_and_check(store_garbage_binary);
}
END_TEST

typedef struct warn_capture {
    int warnings;
    char text[512];
} warn_capture;

static void warn_sink(bnm_log_level level, const char *msg, void *user)
{
    warn_capture *w = user;
    if (level == BNM_LOG_WARN) {
        w->warnings++;
        snprintf(w->text, sizeof w->text, "%s", msg);
    }
}

START_TEST(unwritable_cache_dir_runs_uncached)
{
    /* Root ignores permission bits, so make the directory impossible instead: its
     * parent is a regular file. */
    char *dir = make_temp_dir();
    char blocker[4200], cache_dir[4300];
    snprintf(blocker, sizeof blocker, "%s/not-a-directory", dir);
    FILE *f = fopen(blocker, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", blocker);
    setenv("CLBNM_CACHE_DIR", cache_dir, 1);

    warn_capture w = {0};
    bnm_log_set_sink(warn_sink, &w);
    bnm_log_set_level(BNM_LOG_WARN);
    bnm_context *ctx = NULL;
    bnm_context_create(&ctx);
    bnm_cl *cl = open_default(ctx);
    bnm_program_cache *cache = NULL;
    ck_assert_int_eq(bnm_program_cache_create(ctx, NULL, &cache), BNM_OK);
    ck_assert_ptr_null(bnm_program_cache_dir(cache));
    ck_assert_int_eq(w.warnings, 1);
    ck_assert_msg(strstr(w.text, cache_dir) != NULL, "warning does not name the dir: %s", w.text);

    for (int i = 0; i < 2; i++) {
        cl_program program = NULL;
        ck_assert_int_eq(bnm_program_build(ctx, cl, cache, good_source, NULL, &program, NULL),
                         BNM_OK);
        run_twice(cl, program);
        clReleaseProgram(program);
    }
    ck_assert_int_eq(w.warnings, 1); /* one warning, not one per build */
    bnm_cache_stats stats = bnm_program_cache_stats(cache);
    ck_assert_uint_eq(stats.hits, 0);
    ck_assert_uint_eq(stats.stores, 0);
    bnm_program_cache_destroy(cache);
    bnm_log_set_sink(NULL, NULL);
    bnm_cl_destroy(cl);
    bnm_context_destroy(ctx);
    remove_tree(dir);
    free(dir);
}
END_TEST

START_TEST(cache_dir_from_environment)
{
    char *dir = make_temp_dir();
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/nested/deeper", dir);
    setenv("CLBNM_CACHE_DIR", sub, 1);
    bnm_program_cache *cache = NULL;
    ck_assert_int_eq(bnm_program_cache_create(NULL, NULL, &cache), BNM_OK);
    ck_assert_str_eq(bnm_program_cache_dir(cache), sub);
    struct stat sb;
    ck_assert_int_eq(stat(sub, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    bnm_program_cache_destroy(cache);

    bnm_cache_config off;
    bnm_cache_config_init_defaults(&off);
    off.enabled = false;
    ck_assert_int_eq(bnm_program_cache_create(NULL, &off, &cache), BNM_OK);
    ck_assert_ptr_null(bnm_program_cache_dir(cache));
    bnm_program_cache_destroy(cache);
    bnm_program_cache_destroy(NULL);
    remove_tree(dir);
    free(dir);
}
END_TEST

/* ---- the command line ---- */

static void assert_contains(const char *hay, const char *needle, const char *what)
{
    ck_assert_msg(strstr(hay, needle) != NULL, "%s lacks '%s':\n%s", what, needle, hay);
}

START_TEST(cli_devices_lists_the_device)
{
    const char *args[] = {"devices", NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_int_eq(r.exit_code, 0);
    assert_contains(r.out, "0:0", "stdout");
    assert_contains(r.out, "fp64", "stdout");
    assert_contains(r.out, "global memory", "stdout");
    assert_contains(r.out, "compute units", "stdout");
    assert_contains(r.out, "driver", "stdout");
    assert_contains(r.out, "* 0:0", "stdout"); /* the default is marked */
    run_result_free(&r);
}
END_TEST

START_TEST(cli_bad_device_index_lists_devices)
{
    const char *args[] = {"devices", "--device", "7:7", NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    assert_contains(r.err, "'7:7' names no device", "stderr");
    assert_contains(r.err, "available devices", "stderr");
    assert_contains(r.err, "  0:0  ", "stderr");
    run_result_free(&r);
}
END_TEST

START_TEST(cli_unknown_device_name_lists_devices)
{
    const char *args[] = {"selftest", "--device=quantum-gpu", NULL};
    run_result r = run_clbnm(args, NULL);
    ck_assert_int_eq(r.exit_code, 1);
    assert_contains(r.err, "'quantum-gpu' matches no device name", "stderr");
    assert_contains(r.err, "  0:0  ", "stderr");
    run_result_free(&r);

    const char *env[] = {"CLBNM_DEVICE=3:9", NULL};
    const char *args2[] = {"devices", NULL};
    r = run_clbnm(args2, env);
    ck_assert_int_eq(r.exit_code, 1);
    assert_contains(r.err, "CLBNM_DEVICE '3:9'", "stderr");
    run_result_free(&r);
}
END_TEST

START_TEST(cli_usage_errors_exit_2)
{
    const char *a1[] = {"frobnicate", NULL};
    const char *a2[] = {"devices", "--bogus", NULL};
    const char *a3[] = {"devices", "--device", NULL};
    const char *a4[] = {"selftest", "--precision", "quad", NULL};
    const char *a5[] = {"devices", "--log-level", "loud", NULL};
    const char *const *cases[] = {a1, a2, a3, a4, a5};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r = run_clbnm(cases[i], NULL);
        ck_assert_msg(r.exit_code == 2, "case %zu exited %d: %s", i, r.exit_code, r.err);
        assert_contains(r.err, "error", "stderr");
        ck_assert_str_eq(r.out, "");
        run_result_free(&r);
    }
    const char *none[] = {NULL};
    run_result r = run_clbnm(none, NULL);
    ck_assert_int_eq(r.exit_code, 2);
    assert_contains(r.err, "usage: clbnm", "stderr");
    run_result_free(&r);
}
END_TEST

START_TEST(cli_help_and_version)
{
    const char *h[] = {"--help", NULL};
    run_result r = run_clbnm(h, NULL);
    ck_assert_int_eq(r.exit_code, 0);
    assert_contains(r.out, "devices", "help");
    assert_contains(r.out, "Exit codes", "help");
    run_result_free(&r);

    const char *v[] = {"--version", NULL};
    r = run_clbnm(v, NULL);
    ck_assert_int_eq(r.exit_code, 0);
    char expect[64];
    snprintf(expect, sizeof expect, "clbnm %s\n", bnm_version());
    ck_assert_str_eq(r.out, expect);
    run_result_free(&r);

    const char *dh[] = {"devices", "--help", NULL};
    r = run_clbnm(dh, NULL);
    ck_assert_int_eq(r.exit_code, 0);
    assert_contains(r.out, "usage: clbnm devices", "devices --help");
    assert_contains(r.out, "--device", "devices --help");
    run_result_free(&r);
}
END_TEST

START_TEST(cli_selftest_passes)
{
    char *dir = make_temp_dir();
    char env_cache[4200];
    snprintf(env_cache, sizeof env_cache, "CLBNM_CACHE_DIR=%s", dir);
    const char *env[] = {env_cache, NULL};
    const char *args[] = {"selftest", "--device", "0:0", NULL};
    run_result r = run_clbnm(args, env);
    ck_assert_msg(r.exit_code == 0, "selftest failed: %s", r.err);
    assert_contains(r.out, "kernel compiled", "first run");
    assert_contains(r.out, "selftest: passed", "first run");
    run_result_free(&r);
    r = run_clbnm(args, env);
    ck_assert_int_eq(r.exit_code, 0);
    assert_contains(r.out, "kernel loaded from the cache", "second run");
    run_result_free(&r);
    remove_tree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("opencl");
    TCase *dev = tcase_create("devices");
    tcase_add_test(dev, devices_enumerate_on_pocl);
    tcase_add_test(dev, select_by_index_name_and_environment);
    tcase_add_test(dev, bad_selectors_list_devices);
    suite_add_tcase(s, dev);

    TCase *build = tcase_create("build-and-cache");
    tcase_set_timeout(build, 600);
    tcase_add_test(build, build_error_returns_log_with_line);
    tcase_add_test(build, cache_key_covers_source_and_options);
    tcase_add_test(build, second_build_comes_from_cache);
    tcase_add_test(build, corrupt_cache_entry_is_rebuilt);
    tcase_add_test(build, truncated_cache_entry_is_rebuilt);
    tcase_add_test(build, rejected_cache_binary_is_rebuilt);
    tcase_add_test(build, unwritable_cache_dir_runs_uncached);
    tcase_add_test(build, cache_dir_from_environment);
    suite_add_tcase(s, build);

    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 600);
    tcase_add_test(cli, cli_devices_lists_the_device);
    tcase_add_test(cli, cli_bad_device_index_lists_devices);
    tcase_add_test(cli, cli_unknown_device_name_lists_devices);
    tcase_add_test(cli, cli_usage_errors_exit_2);
    tcase_add_test(cli, cli_help_and_version);
    tcase_add_test(cli, cli_selftest_passes);
    suite_add_tcase(s, cli);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
