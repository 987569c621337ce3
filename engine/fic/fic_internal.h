/* Internal: the network evaluator the FIC solvers share. It reads a model's per-node
 * quantities (derivatives, lets, couplings, the fic measure) at a given network state
 * with the host interpreter's expression evaluator, so FIC sees exactly the equations
 * the kernels integrate. Sources are read without delay (a steady state, or a state
 * whose coupling the kernel takes from the previous step with delays off). */
#ifndef CLBNM_FIC_INTERNAL_H
#define CLBNM_FIC_INTERNAL_H

#include <stdbool.h>

#include "clbnm/fic.h"
#include "interp_eval.h"

typedef struct bnm_fic_net {
    const bnm_model_ir *ir;
    const bnm_model_data *d;
    const bnm_model_abi *abi;
    int n, ns, np, nl, nc, nt;
    int pidx;           /* the controlled param */
    int sim;            /* loaded simulation, -1 before the first load */
    const double *w;    /* its connectome, [target i][source j] */
    double *param;      /* [N][np]: the loaded simulation's params */
    double *tv;         /* [N][nt]: transmitted values of each source node */
    double *coup;       /* [N][nc] */
    double *lets;       /* [nl] scratch */
    double *xs;         /* [ns] scratch */
    int cur_i;          /* target node of the coupling being evaluated */
} bnm_fic_net;

/* abi and data are borrowed for the evaluator's lifetime. */
bnm_status bnm_fic_net_init(bnm_context *ctx, bnm_fic_net *net, const bnm_model_ir *ir,
                            const bnm_model_abi *abi, const bnm_model_data *data);
void bnm_fic_net_free(bnm_fic_net *net);
/* Loads simulation s's params and connectome. */
void bnm_fic_net_load_sim(bnm_fic_net *net, int s);
/* Evaluation environment of node i at state x (lets computed into net->lets). */
void bnm_fic_net_env(bnm_fic_net *net, int i, const double *x, bnm_ip_env *env);
/* Couplings of every node at the network state states [ns][N] (no delay). */
void bnm_fic_net_couplings(bnm_fic_net *net, const double *states);
/* At node i with its coupling fixed: lets at state x, then f (may be NULL, [ns]) and
 * the measure expression (may be NULL; returns NAN then). */
double bnm_fic_net_node(bnm_fic_net *net, int i, const double *x, const bnm_ir_expr *measure,
                        double *f);
/* Gathers node i's states from a [ns][N] plane set into x[ns]. */
void bnm_fic_net_gather(const bnm_fic_net *net, const double *states, int i, double *x);

/* The FIC penalty's band (models.md 1.8): time-averaged r_E within 3 +- 1 Hz. */
#define BNM_FIC_PENALTY_CENTRE 3.0
#define BNM_FIC_PENALTY_BAND 1.0

/* Largest network (states x nodes) the fixed-point check handles: its dense Jacobian,
 * eigenvalues and Lyapunov solve cost O((ns*N)^3) time and 6 (ns*N)^2 doubles, about
 * 0.5 s and 2 MB per simulation at 2 x 100 and minutes at 2 x 1000. */
#define BNM_FIC_CHECK_MAX 1024

/* The validity check of a solved steady state (check.c): x [ns][N] the fixed point, p [N]
 * the solved P, dt the kernel step. (a) The Euler map the kernel iterates must be
 * stable at x; (b) with noise on and a measure given, the
 * linear-noise estimate of every node's time-averaged measure, widened by z standard
 * errors of an average over avg_time (model time units; z: all N nodes together at the
 * 5 % level), must lie within target +- tol. net must have the simulation loaded. False with the reason in why.
 * Leaves net's couplings and P entries changed. */
bool bnm_fic_check_fixed_point(bnm_fic_net *net, const double *x, const double *p, double dt,
                               bool noise, const bnm_ir_expr *measure, double target, double tol,
                               double avg_time, char *why, size_t why_len);

/* The check as the steady-state solvers apply it (avg_time <= 0: the iterative record's
 * window length): skipped (true, one warning per process)
 * above BNM_FIC_CHECK_MAX; the band is the FIC penalty's on a let named r_E (rWW), else
 * the model's iterative record's when it has one; noise from spec. Reloads simulation sim into net afterwards. */
bool bnm_fic_checked_holds(bnm_fic_net *net, const bnm_model_ir *ir, const bnm_model_spec *spec,
                           double dt, double avg_time, const double *x, const double *p, int sim,
                           char *why, size_t why_len);

#endif
