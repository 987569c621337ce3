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

#endif
