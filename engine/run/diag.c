/* Run-file diagnostics: located messages, did-you-mean, number formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

char *run_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *run_strdup(const char *s)
{
    return s ? run_strndup(s, strlen(s)) : NULL;
}

bnm_status run_error(bnm_context *ctx, const char *file, bnm_run_loc loc, const char *hint,
                     const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char where[600];
    if (loc.line > 0)
        snprintf(where, sizeof where, "%s:%d:%d", file, loc.line, loc.col);
    else
        snprintf(where, sizeof where, "%s", file);
    if (hint)
        return bnm_fail(ctx, BNM_ERR_RUN, "%s: error: %s\n  hint: %s", where, msg, hint);
    return bnm_fail(ctx, BNM_ERR_RUN, "%s: error: %s", where, msg);
}

/* Optimal-string-alignment distance, capped at 64 characters per word (longer words
 * are never typos of our short key names). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

const char *run_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    if (!best)
        return NULL;
    /* About a third of the longer word may differ; at least one edit always counts. */
    size_t lw = strlen(word), lc = strlen(best);
    size_t limit = ((lw > lc ? lw : lc) + 2) / 3;
    if (limit < 1)
        limit = 1;
    return best_d <= limit ? best : NULL;
}

void run_join(char *buf, size_t size, const char *const *names, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= size - len) {
            if (size > 4)
                strcpy(buf + size - 4, "...");
            return;
        }
        len += (size_t)w;
    }
}

void run_format_time(char *buf, size_t size, int64_t ns, int64_t unit_ns)
{
    const char *sign = ns < 0 ? "-" : "";
    uint64_t v = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t u = (uint64_t)unit_ns;
    uint64_t whole = v / u, frac = v % u;
    if (!frac) {
        snprintf(buf, size, "%s%llu", sign, (unsigned long long)whole);
        return;
    }
    int digits = 0;
    for (uint64_t t = u; t > 1; t /= 10)
        digits++;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    snprintf(buf, size, "%s%llu.%0*llu", sign, (unsigned long long)whole, digits,
             (unsigned long long)frac);
}

int64_t run_div_round_he(int64_t num, int64_t den)
{
    int64_t q = num / den, r = num % den;
    /* Compare 2r with den without overflow: r < den. */
    if (r > den - r || (r == den - r && (q & 1)))
        q++;
    return q;
}
