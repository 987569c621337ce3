/* Independent double-precision references of the shipped models (models.md sections 1-7)
 * and a plain network integrator (nmm-format.md section 10).
 *
 * Written by hand from the equations of models.md, not from the .nmm text or the IR, so
 * that the front end, the code generator and the host interpreter can be checked against
 * something that shares none of their code. Everything here is deliberately simple:
 * one loop per step, couplings from the step-start states, no hoisting.
 *
 * Conventions:
 *  - states are [state][node] (row s holds state s of every node), in the .nmm
 *    declaration order; params are [param][node] in the .nmm declaration order;
 *  - W[i*n + j] is the weight from source node j to target node i (row = target);
 *  - dt is given in ms (the engine clock) and converted to the model's time unit
 *    (hopf: seconds) inside ref_run;
 *  - noise: z[(step*n_nodes + node)*n_noisy + slot] is the N(0,1) draw of noisy state
 *    number `slot` (noisy states counted in declaration order), as nmm-format.md 10.7.
 */
#ifndef CLBNM_TESTS_MODELS_REFERENCE_H
#define CLBNM_TESTS_MODELS_REFERENCE_H

#include <stdbool.h>

enum { REF_MAX_STATES = 8, REF_MAX_PARAMS = 32, REF_MAX_COUPLINGS = 4, REF_MAX_LETS = 8 };

enum ref_integrator { REF_EULER, REF_HEUN, REF_RK4 };
enum ref_bound { REF_BOUND_NONE, REF_BOUND_CLAMP, REF_BOUND_WRAP };
enum ref_init { REF_INIT_VALUE, REF_INIT_UNIFORM };
/* How a coupling combines the source value T_j with the target's own T_i (models.md 0.2). */
enum ref_coupling_kind {
    REF_CPL_LINEAR,   /* sum_j W[i,j] * T_j */
    REF_CPL_SIN_DIFF, /* sum_j W[i,j] * sin(T_j - T_i)   (Kuramoto) */
    REF_CPL_DIFF      /* sum_j W[i,j] * (T_j - T_i)      (Hopf, diffusive) */
};

typedef struct ref_param {
    const char *name;
    bool has_default; /* false: required (G) */
    double def;
    bool has_bounds;
    double lo, hi;
    bool regional, is_const;
} ref_param;

typedef struct ref_state {
    const char *name;
    enum ref_init init_kind;
    double init;           /* REF_INIT_VALUE */
    double init_a, init_b; /* REF_INIT_UNIFORM, evaluated at the params' defaults */
    enum ref_bound bound;
    double lo, hi;         /* clamp or wrap bounds (may be +-INFINITY for clamp) */
    int noise_param;       /* index of the noise amplitude param; -1: no noise */
} ref_state;

typedef struct ref_coupling {
    const char *name;
    int transmit; /* index into the model's transmitted values */
    enum ref_coupling_kind kind;
} ref_coupling;

typedef struct ref_model {
    const char *name; /* model name; the file is models/<name>.nmm */
    int n_states;
    const ref_state *states;
    int n_params;
    const ref_param *params;
    enum ref_integrator integrator; /* the file's default */
    double time_per_ms;             /* model time units per ms: 1 (ms) or 1e-3 (s) */
    int n_transmit;
    const char *const *transmit_names; /* the transmitted set T (state or let names) */
    int n_couplings;
    const ref_coupling *couplings;
    int n_lets;
    const char *const *let_names; /* derived quantities the file declares, in any order */
    const char *bold;             /* the BOLD driver's name */
    /* T values of one node from its (bounded) states x and params p. */
    void (*transmit)(const double *x, const double *p, double *T);
    /* d/dt of every state of one node, per model time unit. c: the node's couplings. */
    void (*rhs)(const double *x, const double *c, const double *p, double *dx);
    /* The lets of one node at (x, c), in let_names order. */
    void (*lets)(const double *x, const double *c, const double *p, double *out);
} ref_model;

/* NULL-terminated table of every shipped model. Static storage. */
extern const ref_model *const ref_models[];

/* The model called name, NULL if none. Borrowed, static. */
const ref_model *ref_model_find(const char *name);
/* Index of a param or state by name, -1 if none. */
int ref_param_index(const ref_model *m, const char *name);
int ref_state_index(const ref_model *m, const char *name);
/* Number of states with noise; they take noise slots 0.. in declaration order. */
int ref_n_noisy(const ref_model *m);

/* Fills params[p*n_nodes + i] with each param's default; required params get NaN, so a
 * forgotten G poisons the result instead of silently being 0. */
void ref_params_defaults(const ref_model *m, int n_nodes, double *params);
/* Fills states[s*n_nodes + i] with fixed initial values; uniform-initialised states get
 * the midpoint of their range (callers that need draws set them). */
void ref_states_init(const ref_model *m, int n_nodes, double *states);

/* Applies a state's clamp or wrap (nmm-format.md 10.5). */
double ref_bound_apply(const ref_state *s, double x);

/* The couplings of every node from the states: c[k*n_nodes + i]. */
void ref_couplings(const ref_model *m, int n_nodes, const double *W, const double *params,
                   const double *states, double *c);

/* Runs n_steps from states_inout (updated in place). integrator: enum ref_integrator.
 * z: NULL for noise off, else n_steps*n_nodes*ref_n_noisy(m) draws (layout above).
 * Returns 0, or -1 for bad arguments (rk4 with noise, n_nodes < 1, allocation). */
int ref_run(const ref_model *m, int integrator, int n_nodes, const double *W, double dt,
            long n_steps, const double *params, double *states_inout, const double *z);

/* The lets of node i at the given states (couplings computed from them), in let_names
 * order, the way nmm-format.md 10.1 records them. out holds m->n_lets values. */
void ref_node_lets(const ref_model *m, int n_nodes, const double *W, const double *params,
                   const double *states, int node, double *out);

#endif
