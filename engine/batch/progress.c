/* Progress reporting of long runs (interface.md 1): one rewritten line on a terminal,
 * plain periodic lines otherwise. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

double bnm_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void bnm_progress_init(bnm_progress *p, bool enabled, double total, const char *what)
{
    p->enabled = enabled;
    p->tty = enabled && isatty(fileno(stderr));
    p->total = total;
    p->start = bnm_now_s();
    p->last = p->start;
    p->what = what;
    p->printed = false;
}

static void fmt_time(char *buf, size_t cap, double s)
{
    if (s < 0 || s > 1e7)
        snprintf(buf, cap, "?");
    else if (s < 120)
        snprintf(buf, cap, "%.0f s", s);
    else if (s < 7200)
        snprintf(buf, cap, "%.0f min", s / 60);
    else
        snprintf(buf, cap, "%.1f h", s / 3600);
}

void bnm_progress_update(bnm_progress *p, double done, double sims_done, double sims_total)
{
    if (!p->enabled)
        return;
    double now = bnm_now_s();
    double interval = p->tty ? 0.25 : 10.0;
    if (now - p->last < interval && done < p->total)
        return;
    p->last = now;
    double el = now - p->start;
    double rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (p->total - done) / rate : -1;
    char e[32];
    fmt_time(e, sizeof e, eta);
    double pct = p->total > 0 ? 100.0 * done / p->total : 100.0;
    if (p->tty)
        fprintf(stderr, "\r%s: %5.1f%%  %.0f/%.0f simulations  %.3g node-steps/s  ETA %s   ",
                p->what, pct, sims_done, sims_total, rate, e);
    else
        fprintf(stderr, "%s: %.1f%% (%.0f/%.0f simulations), %.3g node-steps/s, ETA %s\n",
                p->what, pct, sims_done, sims_total, rate, e);
    p->printed = true;
}

void bnm_progress_end(bnm_progress *p)
{
    if (p->enabled && p->tty && p->printed)
        fputc('\n', stderr);
}
