/* Goodness-of-fit terms, NaN rule, gof and cost (analysis.md 8). */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "fit_internal.h"

static const char *const term_names[BNM_FIT_N_TERMS] = {"+fc_corr", "-fc_diff",
                                                        "-fc_normec", "-fcd_ks"};
static const double term_worst[BNM_FIT_N_TERMS] = {-1.0, -2.0, -1.0, -1.0};

const char *bnm_fit_term_name(unsigned index)
{
    return index < BNM_FIT_N_TERMS ? term_names[index] : NULL;
}

int bnm_fit_term_index(const char *name)
{
    for (int k = 0; k < BNM_FIT_N_TERMS; k++)
        if (name && strcmp(name, term_names[k]) == 0)
            return k;
    return -1;
}

double bnm_fit_term_worst(unsigned index)
{
    return index < BNM_FIT_N_TERMS ? term_worst[index] : NAN;
}

/* NaN rule 2: a non-finite computed term takes its worst value. */
static double or_worst(double v, unsigned index)
{
    return isfinite(v) ? v : term_worst[index];
}

static void score_fc(const double *s, const double *e, size_t n, double *scores)
{
    double ms = 0, me = 0;
    for (size_t k = 0; k < n; k++) {
        ms += s[k];
        me += e[k];
    }
    ms /= (double)n;
    me /= (double)n;
    /* Constant vectors are detected exactly (their rounded means can leave an ulp of
     * spurious variance): r is 0/0 then, hence worst. */
    bool s_varies = false, e_varies = false;
    for (size_t k = 1; k < n; k++) {
        s_varies = s_varies || s[k] != s[0];
        e_varies = e_varies || e[k] != e[0];
    }
    double sse = 0, sss = 0, see = 0, d2 = 0;
    for (size_t k = 0; k < n; k++) {
        double a = s[k] - ms, b = e[k] - me, d = s[k] - e[k];
        sse += a * b;
        sss += a * a;
        see += b * b;
        d2 += d * d;
    }
    double r = (s_varies && e_varies) ? sse / (sqrt(sss) * sqrt(see)) : NAN;
    scores[BNM_FIT_IDX_FC_CORR] = or_worst(r, BNM_FIT_IDX_FC_CORR);
    scores[BNM_FIT_IDX_FC_DIFF] = or_worst(-fabs(ms - me), BNM_FIT_IDX_FC_DIFF);
    scores[BNM_FIT_IDX_FC_NORMEC] =
        or_worst(-sqrt(d2) / (2.0 * sqrt((double)n)), BNM_FIT_IDX_FC_NORMEC);
}

void bnm_fit_score(const bnm_fit_emp *emp, const double *fc, size_t n_pairs, double ks_d,
                   bool diverged, double scores[BNM_FIT_N_TERMS])
{
    size_t n_efc = 0, n_efcd = 0;
    const double *efc = emp ? bnm_fit_emp_fc(emp, &n_efc) : NULL;
    if (emp)
        bnm_fit_emp_fcd(emp, &n_efcd);
    bool fc_ok = efc && n_efc == n_pairs && n_pairs > 0;
    for (unsigned k = 0; k < BNM_FIT_N_TERMS; k++)
        scores[k] = diverged ? term_worst[k] : NAN;
    if (diverged)
        return;
    if (fc_ok) {
        bool finite = fc != NULL;
        for (size_t k = 0; finite && k < n_pairs; k++)
            finite = isfinite(fc[k]);
        if (finite) {
            score_fc(fc, efc, n_pairs, scores);
        } else {
            /* NaN rule 1: a non-finite simulated input. */
            for (unsigned k = BNM_FIT_IDX_FC_CORR; k <= BNM_FIT_IDX_FC_NORMEC; k++)
                scores[k] = term_worst[k];
        }
    }
    if (n_efcd > 0)
        scores[BNM_FIT_IDX_FCD_KS] = or_worst(-ks_d, BNM_FIT_IDX_FCD_KS);
}

double bnm_fit_gof(const double scores[BNM_FIT_N_TERMS], unsigned terms)
{
    double g = 0;
    for (unsigned k = 0; k < BNM_FIT_N_TERMS; k++)
        if (terms & (1u << k))
            g += scores[k];
    return g;
}

double bnm_fit_cost(double gof, double fic_penalty)
{
    return -gof - fic_penalty;
}
