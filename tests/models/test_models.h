/* Shared pieces of the models test runner (test_models.c and its companions). */
#ifndef CLBNM_TESTS_MODELS_TEST_MODELS_H
#define CLBNM_TESTS_MODELS_TEST_MODELS_H

#include <check.h>
#include <stddef.h>

/* Whole file as a NUL-terminated string (caller frees), NULL if unreadable. */
char *tm_read_text(const char *path);
/* $CLBNM_SOURCE_ROOT/models/NAME.nmm */
void tm_model_path(const char *name, char *out, size_t cap);

/* Add the front-end checks (bnm_nmm_load against the reference tables) and the
 * kernel / interpreter / reference cross-checks to the suite. */
void tm_add_frontend_tests(Suite *s);
void tm_add_xcheck_tests(Suite *s);

#endif
