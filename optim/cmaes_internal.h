/* The CMA-ES state shared by the algorithm (cmaes.c) and its serialisation
 * (cmaes_state.c). Every field below "state" is saved; "scratch" is rebuilt. */
#ifndef CLBNM_OPTIM_CMAES_INTERNAL_H
#define CLBNM_OPTIM_CMAES_INTERNAL_H

#include <stdint.h>

#include "clbnm/cmaes.h"

#define BNM_CMAES_STOP_TEXT_LEN 192

struct bnm_cmaes {
    /* configuration */
    uint64_t n, lambda, seed, max_gen, bounded;
    double sigma0, tolfun, tolx, max_cond, ftarget;

    /* constants derived from n and lambda (cmaes_constants) */
    uint64_t mu, hist_cap;
    double *w; /* mu positive recombination weights summing to 1 */
    double mueff, cs, ds, cc, c1, cmu, chin, eigen_gap;

    /* state */
    uint64_t gen, evals, eigen_evals, hist_len, hist_pos, stop, asked;
    double sigma, cond, best_f;
    double *m, *ps, *pc, *C, *B, *D, *best_x, *hist;
    char stop_text[BNM_CMAES_STOP_TEXT_LEN];

    /* scratch: this generation's normals z, steps y = B D z and feasible points */
    double *z, *y, *xf, *tmp;
    uint32_t *rank, *rank_tmp; /* particles by ascending cost */
};

/* Allocates es with every array for n and lambda and fills the derived constants;
 * NULL when out of memory. */
bnm_cmaes *bnm_cmaes_alloc_state(uint64_t n, uint64_t lambda);
/* Draws z, y and xf of the current generation from the run's stream. */
void bnm_cmaes_sample(bnm_cmaes *es);

#endif
