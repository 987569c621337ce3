/* The `clbnm optimize` end-to-end case of the optimize runner. */
#ifndef TEST_OPTIMIZE_CLI_H
#define TEST_OPTIMIZE_CLI_H

#include <check.h>

TCase *optimize_cli_tcase(void);
/* bnm_opt_engine_eval on PoCL (test_optimize_engine.c). */
TCase *optimize_engine_tcase(void);

#endif
