/* Private helpers of the run-file module (engine/run). */
#ifndef CLBNM_RUN_INTERNAL_H
#define CLBNM_RUN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"
#include "clbnm/run.h"

/* Records "FILE:LINE:COL: error: MESSAGE" (and, when hint is not NULL, a second line
 * "  hint: HINT") as a BNM_ERR_RUN failure. A loc with line 0 prints "FILE: error:". */
bnm_status run_error(bnm_context *ctx, const char *file, bnm_run_loc loc, const char *hint,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The candidate closest to word by edit distance (transpositions count as one), or NULL
 * when none is close enough to be a plausible typo. */
const char *run_did_you_mean(const char *word, const char *const *candidates, size_t n);
/* Writes "a, b, c" of the candidates into buf (truncated with "..."). */
void run_join(char *buf, size_t size, const char *const *names, size_t n);

/* Formats ns as a decimal number of unit_ns without trailing zeros ("0.72", "1", "1.05"). */
void run_format_time(char *buf, size_t size, int64_t ns, int64_t unit_ns);

/* Round-half-to-even of num/den (den > 0, num >= 0). */
int64_t run_div_round_he(int64_t num, int64_t den);

/* Time validation and iteration counts (analysis.md 2.2, 2.3, 4, 6); fills run->counts. */
bnm_status run_validate_times(bnm_context *ctx, bnm_run *run);

/* Sweep support: reads the table CSV (run->sweep.table_path) into run->table_values_
 * and the sweep's params; sweep_loc cites the run file's table key. */
bnm_status run_read_table(bnm_context *ctx, bnm_run *run, bnm_run_loc sweep_loc);
/* Checks the sweep's shape (zip lengths, overflow) after parsing. */
bnm_status run_validate_sweep(bnm_context *ctx, bnm_run *run);

/* Direction numbers v_1..v_32 (as 32-bit fractions) of Sobol dimension dim (1-based). */
bool run_sobol_directions(unsigned dim, uint32_t v[32]);

char *run_strdup(const char *s);
char *run_strndup(const char *s, size_t n);

#endif
