/* Internal: double-precision evaluation of IR expressions with exactly the semantics of
 * the generated OpenCL helpers (NaN-propagating min/max/clamp, integer powers by repeated
 * multiplication, ...). Used by the interpreter and by the generator's constant folding. */
#ifndef CLBNM_INTERP_EVAL_H
#define CLBNM_INTERP_EVAL_H

#include "ir.h"

typedef struct bnm_ip_env bnm_ip_env;
struct bnm_ip_env {
    const bnm_model_ir *ir;
    const double *param;    /* [n_params]: the target node's values */
    const double *state;    /* [n_states]: the target's stage state */
    const double *let;      /* [n_lets] computed so far; NULL: evaluate let trees */
    const double *coupling; /* [n_couplings] */
    double t, dt;
    int n_nodes;
    /* sum_j: called for BNM_IR_SUM_J with its body; it sets source/weight per j. */
    double (*sum)(const bnm_ip_env *env, const bnm_ir_expr *body);
    void *user;
    const double *source;   /* [n_transmit] source j's T values */
    double weight;          /* W[i,j] */
};

double bnm_ip_eval(const bnm_ip_env *env, const bnm_ir_expr *e);
/* acc + one sum_j term at env's weight and sources, fused (fma) for W * source terms as
 * the kernels do (bnm_cg_term_fma). */
double bnm_ip_sum_add(const bnm_ip_env *env, const bnm_ir_expr *term, double acc);

/* Shared scalar helpers (same operation order as the OpenCL ones). */
double bnm_ip_min(double a, double b);
double bnm_ip_max(double a, double b);
double bnm_ip_powi(double x, int n);
double bnm_ip_wrap(double x, double lo, double hi);

#endif
