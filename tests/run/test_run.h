/* Shared helpers of the run-file tests (tests/run). */
#ifndef TEST_RUN_H
#define TEST_RUN_H

#include <check.h>

#include "clbnm/clbnm.h"

/* Parses text as "run.yaml" with base folder base (NULL: none). On success returns the
 * run (caller destroys); on failure returns NULL and copies the message into msg. */
bnm_run *tr_parse(const char *text, const char *base, bnm_run_mode mode, bnm_status *st,
                  char *msg, size_t msg_size);
/* Parses text and asserts it fails with status st and exactly the message want. */
void tr_expect_error(const char *text, bnm_run_mode mode, bnm_status st, const char *want);
/* Parses text, asserting success. */
bnm_run *tr_ok(const char *text, bnm_run_mode mode);

/* A fresh temporary folder (removed by tr_rmdir with its files). */
void tr_mkdtemp(char *buf, size_t size);
void tr_write(const char *dir, const char *name, const char *text);
void tr_rmdir(const char *dir);

/* Captures warnings logged while active. */
void tr_capture_logs(char *buf, size_t size);
void tr_stop_capture(void);

TCase *tr_case_parse(void);
TCase *tr_case_errors(void);
TCase *tr_case_time(void);
TCase *tr_case_sweep(void);
TCase *tr_case_sobol(void);
TCase *tr_case_derive(void);

#endif
