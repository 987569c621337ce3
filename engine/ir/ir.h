/* The model IR: what the .nmm front end produces and every back end consumes
 * (OpenCL code generator, host interpreter, steady-state FIC solver, ABI descriptor).
 *
 * Contract (nmm-format.md sections 3-11):
 *  - Names are resolved: references are (kind, index) into the model's tables.
 *  - funcs are inlined; func parameters never appear. Aliases never appear.
 *  - Every expression node has exactly one parent (no sharing), so a tree can be freed,
 *    rewritten or hoisted on its own.
 *  - lets are in dependency order: a let reads only lets before it.
 *  - The model has already passed every check of section 12; back ends may assume it.
 *  - Constant expressions in value slots (param default/bounds, state bounds, fic values)
 *    are folded to doubles by the front end; expressions that may depend on params
 *    (state init, state bounds given by params, noise amplitude) stay trees.
 *  - Source positions are 1-based line and column of the token an expression starts at,
 *    so code generators can emit #line and errors can point at the .nmm file.
 */
#ifndef CLBNM_IR_H
#define CLBNM_IR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum bnm_ir_op {
    /* leaves */
    BNM_IR_NUM,      /* value */
    BNM_IR_PARAM,    /* index into params; the target node's value */
    BNM_IR_STATE,    /* index into states; the target node's value at the stage */
    BNM_IR_LET,      /* index into lets; the target node's value */
    BNM_IR_COUPLING, /* index into couplings */
    BNM_IR_INPUT,    /* index into inputs */
    BNM_IR_SOURCE,   /* X[j] inside sum_j: index into transmit */
    BNM_IR_WEIGHT,   /* W[i,j] inside sum_j: weight from source j to target i */
    BNM_IR_TIME,     /* t of the stage being evaluated, in the model's time_unit */
    BNM_IR_DT,       /* dt, in the model's time_unit */
    BNM_IR_NNODES,   /* N */
    /* unary: a */
    BNM_IR_NEG,
    BNM_IR_NOT,
    /* binary: a, b */
    BNM_IR_ADD,
    BNM_IR_SUB,
    BNM_IR_MUL,
    BNM_IR_DIV,
    BNM_IR_POW,  /* a ^ b, b any real expression */
    BNM_IR_POWN, /* a ^ ival, ival an integer literal exponent (may be negative) */
    BNM_IR_LT,
    BNM_IR_LE,
    BNM_IR_GT,
    BNM_IR_GE,
    BNM_IR_EQ,
    BNM_IR_NE,
    BNM_IR_AND,
    BNM_IR_OR,
    /* if(a, b, c): a is bool */
    BNM_IR_IF,
    /* built-in call: fn, arguments a [, b [, c]] */
    BNM_IR_CALL,
    /* sum over source nodes j of a (only inside a coupling expression, never nested) */
    BNM_IR_SUM_J
} bnm_ir_op;

typedef enum bnm_ir_builtin {
    /* one argument */
    BNM_FN_EXP, BNM_FN_EXPM1, BNM_FN_LOG, BNM_FN_LOG1P, BNM_FN_LOG10, BNM_FN_SQRT,
    BNM_FN_SIN, BNM_FN_COS, BNM_FN_TAN, BNM_FN_ASIN, BNM_FN_ACOS, BNM_FN_ATAN,
    BNM_FN_SINH, BNM_FN_COSH, BNM_FN_TANH, BNM_FN_ERF, BNM_FN_ABS, BNM_FN_FLOOR,
    BNM_FN_CEIL, BNM_FN_SIGN, BNM_FN_SIGMOID, BNM_FN_HEAVISIDE, BNM_FN_RELU,
    /* two arguments */
    BNM_FN_ATAN2, BNM_FN_MOD, BNM_FN_MIN, BNM_FN_MAX,
    /* three arguments */
    BNM_FN_CLAMP,
    BNM_FN_COUNT_
} bnm_ir_builtin;

typedef struct bnm_ir_expr {
    bnm_ir_op op;
    bnm_ir_builtin fn; /* BNM_IR_CALL */
    int index;         /* leaves that reference a table */
    int ival;          /* BNM_IR_POWN exponent */
    double value;      /* BNM_IR_NUM */
    struct bnm_ir_expr *a, *b, *c;
    int line, col;     /* source position (0 when synthesised) */
} bnm_ir_expr;

typedef enum bnm_ir_ref_kind {
    BNM_REF_STATE,
    BNM_REF_LET,
    BNM_REF_COUPLING,
    BNM_REF_INPUT,
    BNM_REF_PARAM
} bnm_ir_ref_kind;

typedef struct bnm_ir_ref {
    bnm_ir_ref_kind kind;
    int index;
} bnm_ir_ref;

typedef struct bnm_ir_param {
    char *name;
    char *alias;      /* NULL when none */
    char *unit;       /* annotation text as written, NULL when none */
    char *doc;        /* trailing comment, NULL when none */
    int line, col;    /* of the name */
    bool has_default; /* false: required, the run must set it */
    double def;
    bool has_bounds;
    double lo, hi;    /* from `in [lo, hi]` */
    bool regional, is_const, log_scale;
} bnm_ir_param;

typedef enum bnm_ir_init_kind { BNM_INIT_EXPR, BNM_INIT_UNIFORM, BNM_INIT_NORMAL } bnm_ir_init_kind;
typedef enum bnm_ir_bound_kind { BNM_BOUND_NONE, BNM_BOUND_CLAMP, BNM_BOUND_WRAP } bnm_ir_bound_kind;

typedef struct bnm_ir_state {
    char *name, *unit, *doc;
    int line, col;
    bnm_ir_init_kind init_kind;
    bnm_ir_expr *init;           /* BNM_INIT_EXPR: level <= NODE */
    bnm_ir_expr *init_a, *init_b; /* uniform(a, b) / normal(mean, sd) */
    bnm_ir_bound_kind bound;
    bnm_ir_expr *lo, *hi;        /* bounds; a NUM may be +-INFINITY for clamp */
    bnm_ir_expr *deriv;          /* right-hand side of d/dt (never NULL) */
    int deriv_line;
    bnm_ir_expr *noise;          /* amplitude g, NULL when the state has no noise */
    int noise_line;
    int noise_slot;              /* 0.. among noisy states in declaration order, -1 if none;
                                    selects the RNG stream (nmm-format.md 10.7) */
} bnm_ir_state;

typedef struct bnm_ir_let {
    char *name, *unit, *doc;
    int line, col;
    bnm_ir_expr *expr;
    bool uses_coupling; /* depends on a coupling, even transitively */
} bnm_ir_let;

typedef struct bnm_ir_coupling {
    char *name, *unit, *doc;
    int line, col;
    bnm_ir_expr *expr; /* contains at least one BNM_IR_SUM_J */
} bnm_ir_coupling;

typedef struct bnm_ir_input {
    char *name, *unit, *doc;
    int line, col;
    bnm_ir_expr *def; /* default value when the run binds nothing */
} bnm_ir_input;

typedef enum bnm_ir_time_unit { BNM_TIME_S, BNM_TIME_MS, BNM_TIME_US } bnm_ir_time_unit;
typedef enum bnm_ir_integrator { BNM_INTEG_EULER, BNM_INTEG_HEUN, BNM_INTEG_RK4 } bnm_ir_integrator;
typedef enum bnm_ir_fic_method { BNM_FIC_STEADY_STATE, BNM_FIC_ITERATIVE } bnm_ir_fic_method;

/* One method record of a fic block, block-level keys already merged in. */
typedef struct bnm_ir_fic_method_rec {
    bool present;
    bnm_ir_expr *measure; /* per-node expression of states, lets, couplings, params */
    double target;
    double range_lo, range_hi; /* acceptable solved P (default: P's `in`) */
    double fallback;           /* default: P's default */
    /* iterative */
    double tol, window_lo, window_hi, sample, step, step_min, shrink;
    int max_trials;
    /* steady_state */
    double solve_tol;
    int max_iter;
} bnm_ir_fic_method_rec;

typedef struct bnm_ir_fic {
    int param;           /* index of the controlled param (regional, not const) */
    bool increasing;     /* effect: sign of d measure / d P */
    bnm_ir_fic_method method; /* the default method */
    bnm_ir_fic_method_rec steady_state, iterative;
    int line;
} bnm_ir_fic;

typedef struct bnm_model_ir {
    char *name;       /* `model NAME` */
    char *file_name;  /* as given to the loader; used in #line and diagnostics */
    char *source;     /* the file's exact bytes (NUL-terminated) */
    size_t source_len;
    char **docs;
    int n_docs;
    char **cites;
    int n_cites;
    bnm_ir_time_unit time_unit;
    bnm_ir_integrator integrator;

    bnm_ir_param *params;
    int n_params;
    bnm_ir_state *states;
    int n_states;
    bnm_ir_let *lets; /* dependency order */
    int n_lets;
    bnm_ir_coupling *couplings;
    int n_couplings;
    bnm_ir_input *inputs;
    int n_inputs;

    bnm_ir_ref *transmit; /* the transmitted set T: states and lets read as X[j] */
    int n_transmit;
    bnm_ir_ref *outputs;  /* default recordings */
    int n_outputs;
    bool has_bold;
    bnm_ir_ref bold;      /* default BOLD driver (state or let) */
    bnm_ir_fic *fic;      /* NULL when the model has no fic block */
} bnm_model_ir;

/* Frees the model and every expression it owns; NULL is accepted. */
void bnm_model_ir_destroy(bnm_model_ir *m);
/* Frees one expression tree; NULL is accepted. */
void bnm_ir_expr_free(bnm_ir_expr *e);
/* Deep copy; NULL on allocation failure or NULL input. Caller owns the result. */
bnm_ir_expr *bnm_ir_expr_clone(const bnm_ir_expr *e);
/* Index of a param/state/let/coupling/input by name (aliases not accepted), -1 if none. */
int bnm_model_ir_find(const bnm_model_ir *m, bnm_ir_ref_kind kind, const char *name);
/* Name of a built-in as written in .nmm files ("expm1", "clamp", ...). */
const char *bnm_ir_builtin_name(bnm_ir_builtin fn);
/* Number of arguments of a built-in. */
int bnm_ir_builtin_arity(bnm_ir_builtin fn);

#endif
