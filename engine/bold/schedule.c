/* Iteration counts of the BOLD and state sampling (analysis.md 2.2-2.3, 4.1-4.3), all in
 * integer nanoseconds so that no ratio is truncated the way cuBNM's float ones are. */
#include <inttypes.h>

#include "clbnm/bold.h"

void bnm_bold_times_init_defaults(bnm_bold_times *t)
{
    t->duration_ns = 0;
    t->bw_dt_ns = 0;
    t->tr_ns = 0;
    t->states_sampling_ns = 0;
    t->bold_remove_ns = INT64_C(30000000000);
}

bnm_status bnm_bold_schedule_compute(bnm_context *ctx, const bnm_bold_times *t,
                                     bnm_bold_schedule *out)
{
    int64_t samp = t->states_sampling_ns ? t->states_sampling_ns : t->tr_ns;
    if (t->duration_ns <= 0 || t->bw_dt_ns <= 0 || t->tr_ns <= 0 || samp <= 0)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "duration, bw_dt, tr and states_sampling must be positive (got %" PRId64
                        ", %" PRId64 ", %" PRId64 ", %" PRId64 " ns)",
                        t->duration_ns, t->bw_dt_ns, t->tr_ns, samp);
    if (t->bold_remove_ns < 0)
        return bnm_fail(ctx, BNM_ERR_RUN, "bold_remove must not be negative (got %" PRId64 " ns)",
                        t->bold_remove_ns);
    if (t->duration_ns % t->bw_dt_ns != 0)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "duration (%" PRId64 " ns) is not a multiple of bw_dt (%" PRId64 " ns)",
                        t->duration_ns, t->bw_dt_ns);
    if (t->tr_ns % t->bw_dt_ns != 0)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "tr (%" PRId64 " ns) is not a multiple of bw_dt (%" PRId64 " ns)",
                        t->tr_ns, t->bw_dt_ns);
    if (samp % t->bw_dt_ns != 0)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "states_sampling (%" PRId64 " ns) is not a multiple of bw_dt (%" PRId64
                        " ns)",
                        samp, t->bw_dt_ns);
    bnm_bold_schedule s;
    s.n_bw = t->duration_ns / t->bw_dt_ns;
    s.bw_per_vol = t->tr_ns / t->bw_dt_ns;
    s.n_vol = t->duration_ns / t->tr_ns;
    s.n_rm = t->bold_remove_ns / t->tr_ns;
    s.n_corr = s.n_vol - s.n_rm;
    s.bw_per_samp = samp / t->bw_dt_ns;
    s.n_samp = t->duration_ns / samp;
    s.n_rm_s = t->bold_remove_ns / samp;
    /* Both integers are exact in double, so this is bw_dt in seconds correctly rounded
     * (0.001 for 1 ms, the same double as 1.0 / 1000). */
    s.h = (double)t->bw_dt_ns / 1e9;
    *out = s;
    return BNM_OK;
}
