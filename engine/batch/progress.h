/* Progress line of long runs (internal). */
#ifndef CLBNM_BATCH_PROGRESS_H
#define CLBNM_BATCH_PROGRESS_H

#include <stdbool.h>

typedef struct bnm_progress {
    bool enabled, tty, printed;
    double total, start, last;
    const char *what;
} bnm_progress;

double bnm_now_s(void);
void bnm_progress_init(bnm_progress *p, bool enabled, double total, const char *what);
/* done out of total units (node-steps); prints at most every 0.25 s on a terminal,
 * every 10 s otherwise, and at completion. */
void bnm_progress_update(bnm_progress *p, double done, double sims_done, double sims_total);
void bnm_progress_end(bnm_progress *p);

#endif
