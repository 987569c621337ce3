/* Shared by the test_bold runner's files. */
#ifndef TESTS_BOLD_BOLD_TESTS_H
#define TESTS_BOLD_BOLD_TESTS_H

#include <check.h>
#include <stdint.h>

/* Synthetic S_E-like driver of node i at the end of BW step k (t = (k+1) ms): node 0
 * is 0 (rest), node 1 a pure step 0 -> 0.2 at t = 100 s, the others a baseline near
 * 0.15 with slow and fast sinusoids of per-node periods and amplitudes plus a step
 * of per-node size and time. */
double test_driver(int i, int64_t k);

/* Device test cases (test_bold_dev.c). */
TCase *bold_device_tcase(void);

#endif
