/* Exact time arithmetic (analysis.md 2.2, 2.3, 4, 6): decimal text to integer
 * nanoseconds, integer ratios, and the constraints between the times of a run. */
#include <stdio.h>
#include <string.h>

#include "run_internal.h"

void bnm_run_default_steps(const char *model_name, int64_t *dt_ns, int64_t *bw_dt_ns)
{
    int64_t dt = BNM_NS_PER_MS / 10, bw = BNM_NS_PER_MS;
    if (model_name && strcmp(model_name, "hopf") == 0) {
        dt = 10 * BNM_NS_PER_MS;
        bw = 10 * BNM_NS_PER_MS;
    } else if (model_name && strcmp(model_name, "mpr") == 0) {
        dt = BNM_NS_PER_MS / 100;
    }
    if (dt_ns)
        *dt_ns = dt;
    if (bw_dt_ns)
        *bw_dt_ns = bw;
}

bnm_bold_mode bnm_run_default_bold_mode(const char *model_name)
{
    return model_name && strcmp(model_name, "hopf") == 0 ? BNM_BOLD_DIRECT : BNM_BOLD_BALLOON;
}

/* The value is M * 10^D with M the mantissa digits (trailing zeros moved into D) and
 * D = exponent - fraction digits + log10(unit): a whole number of ns exactly when
 * D >= 0 or M == 0, since M then has no factor 10 left. */
bool bnm_run_parse_time_ns(const char *text, int64_t unit_ns, int64_t *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    int unit_exp = 0;
    for (int64_t u = unit_ns; u > 1; u /= 10) {
        if (u % 10) {
            *why = "internal: unit is not a power of ten";
            return false;
        }
        unit_exp++;
    }
    const char *p = text;
    if (*p == '+')
        p++;
    else if (*p == '-') {
        *why = "must not be negative";
        return false;
    }
    char digits[32];
    size_t nd = 0;
    int frac = 0, mant = 0;
    bool dot = false;
    for (;; p++) {
        if (*p >= '0' && *p <= '9') {
            mant++;
            if (nd == 0 && *p == '0') {
                if (dot)
                    frac++;
                continue; /* leading zeros carry no value */
            }
            if (nd >= 19) {
                *why = "has too many digits";
                return false;
            }
            digits[nd++] = *p;
            if (dot)
                frac++;
        } else if (*p == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (mant == 0) {
        *why = "is not a number";
        return false;
    }
    long exp10 = 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int sign = 1;
        if (*p == '+' || *p == '-')
            sign = *p++ == '-' ? -1 : 1;
        int ne = 0;
        while (*p >= '0' && *p <= '9') {
            if (++ne > 4) {
                *why = "has an exponent out of range";
                return false;
            }
            exp10 = exp10 * 10 + (*p++ - '0');
        }
        if (ne == 0) {
            *why = "is not a number";
            return false;
        }
        exp10 *= sign;
    }
    if (*p != '\0') {
        *why = "is not a number";
        return false;
    }
    while (nd > 0 && digits[nd - 1] == '0') {
        nd--;
        exp10++;
    }
    if (nd == 0) {
        *out = 0;
        return true;
    }
    long d = exp10 - frac + unit_exp;
    if (d < 0) {
        *why = "is not a whole number of nanoseconds";
        return false;
    }
    uint64_t m = 0;
    for (size_t i = 0; i < nd; i++)
        m = m * 10 + (uint64_t)(digits[i] - '0'); /* nd <= 19: fits */
    for (long i = 0; i < d; i++) {
        if (m > (uint64_t)INT64_MAX / 10) {
            *why = "is too large";
            return false;
        }
        m *= 10;
    }
    if (m > (uint64_t)INT64_MAX) {
        *why = "is too large";
        return false;
    }
    *out = (int64_t)m;
    return true;
}

static void fmt_s(char *b, size_t n, int64_t ns)
{
    char t[48];
    run_format_time(t, sizeof t, ns, BNM_NS_PER_S);
    snprintf(b, n, "%s s", t);
}

static void fmt_ms(char *b, size_t n, int64_t ns)
{
    char t[48];
    run_format_time(t, sizeof t, ns, BNM_NS_PER_MS);
    snprintf(b, n, "%s ms", t);
}

/* "the nearest multiples are A and B" of v by step (v not a multiple), in v's unit. */
static void nearest_hint(char *b, size_t n, int64_t v, int64_t step, int64_t unit_ns)
{
    int64_t lo = v / step * step, hi = lo + step;
    char a[48], c[48];
    const char *u = unit_ns == BNM_NS_PER_S ? "s" : "ms";
    run_format_time(c, sizeof c, hi, unit_ns);
    if (lo == 0) {
        snprintf(b, n, "the smallest multiple is %s %s", c, u);
        return;
    }
    run_format_time(a, sizeof a, lo, unit_ns);
    snprintf(b, n, "the nearest multiples are %s %s and %s %s", a, u, c, u);
}

static bnm_run_loc pick(bnm_run_loc a, bnm_run_loc b)
{
    return a.line > 0 ? a : b;
}

/* A time that must be a positive multiple of bw_dt. */
static bnm_status check_multiple(bnm_context *ctx, const bnm_run *run, const char *key,
                                 int64_t v, int64_t unit_ns, bnm_run_loc loc)
{
    char vb[64], sb[64], hint[200];
    if (v <= 0)
        return run_error(ctx, run->path, loc, "give a positive time", "%s must be greater than 0",
                         key);
    if (v % run->bw_dt_ns) {
        (unit_ns == BNM_NS_PER_S ? fmt_s : fmt_ms)(vb, sizeof vb, v);
        fmt_ms(sb, sizeof sb, run->bw_dt_ns);
        nearest_hint(hint, sizeof hint, v, run->bw_dt_ns, unit_ns);
        return run_error(ctx, run->path, loc, hint, "%s (%s) is not a multiple of bw_dt (%s)", key,
                         vb, sb);
    }
    return BNM_OK;
}

static int64_t fcd_windows(const bnm_run_counts *c, bool drop_edges)
{
    if (c->n_corr < 1 || c->st < 1)
        return 0;
    if (drop_edges)
        return c->n_corr - 1 < c->ws ? 0 : (c->n_corr - 1 - c->ws) / c->st + 1;
    return (c->n_corr - 1) / c->st + 1;
}

bnm_status run_validate_times(bnm_context *ctx, bnm_run *run)
{
    bnm_run_counts *c = &run->counts;
    char a[64], b[64], hint[256];
    bnm_status st;

    if (run->dt_ns <= 0)
        return run_error(ctx, run->path, pick(run->dt_loc, run->model_loc),
                         "dt is the integration step in ms, for example 0.1",
                         "dt must be greater than 0");
    if (run->bw_dt_ns < run->dt_ns) {
        fmt_ms(a, sizeof a, run->bw_dt_ns);
        fmt_ms(b, sizeof b, run->dt_ns);
        return run_error(ctx, run->path, pick(run->bw_dt_loc, run->dt_loc),
                         "bw_dt must be a whole multiple of dt",
                         "bw_dt (%s) is smaller than dt (%s)", a, b);
    }
    if (run->bw_dt_ns % run->dt_ns) {
        fmt_ms(a, sizeof a, run->bw_dt_ns);
        fmt_ms(b, sizeof b, run->dt_ns);
        nearest_hint(hint, sizeof hint, run->bw_dt_ns, run->dt_ns, BNM_NS_PER_MS);
        return run_error(ctx, run->path, pick(run->bw_dt_loc, run->dt_loc), hint,
                         "bw_dt (%s) is not a multiple of dt (%s)", a, b);
    }
    if ((st = check_multiple(ctx, run, "duration", run->duration_ns, BNM_NS_PER_S,
                             run->duration_loc)))
        return st;
    if ((st = check_multiple(ctx, run, "tr", run->tr_ns, BNM_NS_PER_S, run->tr_loc)))
        return st;
    if ((st = check_multiple(ctx, run, "states_sampling", run->states_sampling_ns, BNM_NS_PER_S,
                             pick(run->states_sampling_loc, run->tr_loc))))
        return st;
    const bnm_run_outputs *o = &run->outputs;
    if (o->n_states_ts &&
        (st = check_multiple(ctx, run, "outputs.states_ts.every", o->states_ts_every_ns,
                             BNM_NS_PER_S, pick(o->states_ts_every_loc, run->tr_loc))))
        return st;

    c->n_inner = run->bw_dt_ns / run->dt_ns;
    c->n_bw = run->duration_ns / run->bw_dt_ns;
    c->bw_per_vol = run->tr_ns / run->bw_dt_ns;
    c->bw_per_samp = run->states_sampling_ns / run->bw_dt_ns;
    c->bw_per_ts = o->n_states_ts ? o->states_ts_every_ns / run->bw_dt_ns : 0;
    c->n_vol = run->duration_ns / run->tr_ns;
    c->n_samp = run->duration_ns / run->states_sampling_ns;
    c->n_ts = o->n_states_ts ? run->duration_ns / o->states_ts_every_ns : 0;
    c->n_rm = run->bold_remove_ns / run->tr_ns;
    c->n_rm_s = run->bold_remove_ns / run->states_sampling_ns;
    c->n_corr = c->n_vol - c->n_rm;

    /* The noise counter holds 48 bits of step (engine/rng/rng.h). */
    if (c->n_bw > (INT64_C(1) << 48) / c->n_inner) {
        fmt_s(a, sizeof a, run->duration_ns);
        return run_error(ctx, run->path, run->duration_loc,
                         "shorten duration or raise dt",
                         "duration (%s) needs more than 2^48 model steps", a);
    }
    c->n_steps = c->n_bw * c->n_inner;

    if (c->n_corr < 2) {
        bool by_remove = c->n_rm > 0 && run->bold_remove_loc.line > 0;
        return run_error(ctx, run->path, by_remove ? run->bold_remove_loc : run->duration_loc,
                         "raise duration or lower bold_remove",
                         "only %lld BOLD volume%s remain%s after bold_remove (n_vol = %lld, "
                         "n_rm = %lld); FC needs at least 2",
                         (long long)(c->n_corr < 0 ? 0 : c->n_corr), c->n_corr == 1 ? "" : "s",
                         c->n_corr == 1 ? "s" : "", (long long)c->n_vol, (long long)c->n_rm);
    }
    if (o->n_states_mean && c->n_samp - c->n_rm_s < 1)
        return run_error(ctx, run->path, pick(run->bold_remove_loc, run->duration_loc),
                         "raise duration or lower bold_remove",
                         "no state sample remains after bold_remove for outputs.states_mean");

    /* -fcd_ks is requested when scores are computed at all: fit given, a subject with
     * empirical BOLD, or an optimisation. */
    bool scored = run->fit.terms_loc.line > 0 || run->mode == BNM_RUN_MODE_OPTIMIZE;
    for (size_t i = 0; i < run->n_subjects && !scored; i++)
        scored = run->subjects[i].bold != NULL;
    bool want_ks = scored && (run->fit.terms & BNM_FIT_FCD_KS) != 0;
    if (o->fcd || want_ks) {
        c->ws = 2 * run_div_round_he(o->fcd_window_ns, 2 * run->tr_ns);
        c->st = run_div_round_he(o->fcd_step_ns, run->tr_ns);
        fmt_s(b, sizeof b, run->tr_ns);
        if (c->ws < 2) {
            fmt_s(a, sizeof a, o->fcd_window_ns);
            return run_error(ctx, run->path, pick(o->fcd_loc, run->tr_loc),
                             "the window in TRs is 2*round(window/(2*tr)); use a window of "
                             "at least 1.5 TRs",
                             "outputs.fcd.window (%s) gives a window of %lld TRs (tr = %s); at "
                             "least 2 are needed",
                             a, (long long)c->ws, b);
        }
        if (c->st < 1) {
            fmt_s(a, sizeof a, o->fcd_step_ns);
            return run_error(ctx, run->path, pick(o->fcd_loc, run->tr_loc),
                             "the step in TRs is round(step/tr); use a step of at least "
                             "half a TR",
                             "outputs.fcd.step (%s) rounds to 0 TRs (tr = %s)", a, b);
        }
        c->n_win = fcd_windows(c, o->fcd_drop_edges);
        if (want_ks && c->n_win < 2)
            return run_error(ctx, run->path, pick(run->fit.terms_loc, run->duration_loc),
                             "raise duration, shorten outputs.fcd.window or outputs.fcd.step, "
                             "lower bold_remove, or remove -fcd_ks from fit.terms",
                             "-fcd_ks needs at least 2 FCD windows, but the simulated BOLD "
                             "gives %lld (%lld volumes after bold_remove, windows of %lld "
                             "volumes every %lld)",
                             (long long)c->n_win, (long long)c->n_corr, (long long)(c->ws + 1),
                             (long long)c->st);
    }

    const bnm_run_fic *f = &run->fic;
    if (f->enabled && f->max_trials > 0) {
        bnm_run_loc l = pick(f->sampling_loc, pick(f->loc, run->duration_loc));
        if (f->sampling_start_ns % run->bw_dt_ns || f->sampling_end_ns % run->bw_dt_ns) {
            fmt_ms(b, sizeof b, run->bw_dt_ns);
            return run_error(ctx, run->path, l, "give times in whole bw_dt steps",
                             "fic.sampling bounds must be multiples of bw_dt (%s)", b);
        }
        if (f->sampling_start_ns > f->sampling_end_ns)
            return run_error(ctx, run->path, l, "write fic.sampling as [start, end] in ms",
                             "fic.sampling starts after it ends");
        if (f->sampling_end_ns > run->duration_ns) {
            fmt_ms(a, sizeof a, f->sampling_end_ns);
            fmt_s(b, sizeof b, run->duration_ns);
            return run_error(ctx, run->path, l,
                             "raise duration or end fic.sampling earlier",
                             "the numerical FIC window ends at %s, after the end of the "
                             "simulation (duration %s)",
                             a, b);
        }
    }
    return BNM_OK;
}
