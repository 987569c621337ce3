/* Runs a program for CLI tests and captures what it printed. */
#ifndef CLBNM_TESTS_RUN_CMD_H
#define CLBNM_TESTS_RUN_CMD_H

typedef struct run_result {
    int exit_code; /* -1 when the program did not exit normally */
    char *out;     /* stdout, NUL-terminated; free with run_result_free */
    char *err;     /* stderr */
} run_result;

/* Runs argv (argv[0] a path, NULL-terminated) with the extra environment entries
 * ("NAME=VALUE", NULL-terminated, may be NULL) added to the current environment. */
run_result run_cmd(const char *const *argv, const char *const *extra_env);
/* Runs $CLBNM_EXE with the given arguments (NULL-terminated). */
run_result run_clbnm(const char *const *args, const char *const *extra_env);
void run_result_free(run_result *r);

#endif
