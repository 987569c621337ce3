/* The iterative method's tb decision (nmm-format.md 11.3, models.md 1.7). */
#include <math.h>

#include "clbnm/fic.h"

void bnm_fic_iterative_init_steps(const bnm_fic_config *cfg, int n_nodes, double *steps)
{
    for (int i = 0; i < n_nodes; i++)
        steps[i] = cfg->step;
}

bnm_fic_decision bnm_fic_iterative_adjust(const bnm_fic_config *cfg, int n_nodes,
                                          const double *means, double *p, double *steps,
                                          int *trial)
{
    bool all_in = true;
    for (int i = 0; i < n_nodes; i++)
        if (!(fabs(means[i] - cfg->target) <= cfg->tol)) /* NaN is out of band */
            all_in = false;
    if (all_in)
        return BNM_FIC_CONVERGED;
    if (*trial >= cfg->max_trials)
        return BNM_FIC_EXHAUSTED;
    for (int i = 0; i < n_nodes; i++) {
        double e = means[i] - cfg->target;
        if (fabs(e) <= cfg->tol)
            continue; /* in band: keeps its P and step */
        if (e < -cfg->tol) {
            /* the measure must rise */
            p[i] += cfg->increasing ? steps[i] : -steps[i];
            steps[i] = fmax(steps[i] - cfg->shrink, cfg->step_min);
        } else {
            /* above the band, or NaN (cuBNM's `else` branch) */
            p[i] += cfg->increasing ? -steps[i] : steps[i];
        }
    }
    *trial += 1;
    return BNM_FIC_RESTART;
}
