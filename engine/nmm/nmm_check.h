/* Shared state of the checker passes (check.c, fic.c, unitcheck.c). */
#ifndef CLBNM_NMM_NMM_CHECK_H
#define CLBNM_NMM_NMM_CHECK_H

#include "nmm_internal.h"

/* What an expression may read (closure over lets and funcs). */
enum { DEP_STATE = 1, DEP_COUPLING = 2, DEP_INPUT = 4, DEP_T = 8, DEP_PARAM = 16 };

/* Where an expression stands. */
enum {
    W_CONST,    /* param default, input default, fic value: numbers, pi, built-ins */
    W_RANGE,    /* `in`/fic range: constant, inf allowed */
    W_BOUND,    /* state clamp/wrap bound: may read params, inf allowed */
    W_INIT,     /* state init */
    W_EXPR,     /* let, d/dt, func body */
    W_COUPLING, /* coupling: sum_j allowed */
    W_NOISE,    /* noise amplitude */
    W_FIC       /* fic measure */
};

typedef struct wctx {
    int where;
    nmm_decl *owner;  /* collects refs; NULL: none */
    nmm_decl *func;   /* func whose body this is */
    const nmm_expr *top_init;
    const char *what; /* for constant-expression errors */
    bool in_sum, has_sum, saw_t;
    nmm_expr *anc[NMM_MAX_TREE + 16];
    int nanc;
} wctx;

/* One method record of the fic block with block keys merged in (nmm-format.md 11.2). */
typedef struct nmm_fic_rec {
    bool present;
    nmm_expr *measure;
    double target, range_lo, range_hi, fallback;
    double tol, window_lo, window_hi, sample, step, step_min, shrink, solve_tol;
    int max_trials, max_iter;
} nmm_fic_rec;

typedef struct nmm_fic_plan {
    int param; /* decl index */
    bool increasing;
    int method; /* 0 steady_state, 1 iterative */
    nmm_fic_rec rec[2];
    int line;
} nmm_fic_plan;

typedef struct checker {
    nmm_file *f;
    nmm_decl stmt_owner; /* collects refs of d/dt, noise and fic expressions */
    nmm_vec sources;     /* E_INDEX X[j] nodes inside couplings */
    int *let_order;      /* decl indices of lets, dependencies first */
    int nlet_order;
    bool recursive;
    nmm_decl **cstack; /* closure(): explicit DFS stack */
    int *cpos;
    long path_steps; /* bounds the search for a D7 note */
    long unit_steps; /* bounds unit inference, which inlines funcs */
    nmm_fic_plan *fic; /* NULL when the model has no (valid) fic block */
} checker;

int nmm_lookup(nmm_file *f, const char *s, int n);
const char *nmm_kind_name(nmm_dkind k);
int nmm_closure(checker *C, nmm_decl *d);
bool nmm_fold_report(checker *C, const nmm_expr *e, double *out);
bool nmm_is_constant(const nmm_expr *e);
/* Resolves and type-checks an expression that must be a number. */
void nmm_walk_expr(checker *C, nmm_expr *e, int where, const char *what);
void nmm_check_fic(checker *C);
void nmm_check_units(checker *C);

#endif
