/* Internals of the .nmm front end: tokens, syntax tree, diagnostics and the pass
 * entry points. One front-end run owns one arena; every tree, string and diagnostic
 * lives in it, so error paths never free piecemeal. */
#ifndef CLBNM_NMM_INTERNAL_H
#define CLBNM_NMM_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

#include "ir.h"

/* ---- arena --------------------------------------------------------------------- */
typedef struct nmm_arena_block nmm_arena_block;
typedef struct nmm_arena {
    nmm_arena_block *head;
    jmp_buf *oom; /* longjmp target when an allocation fails */
} nmm_arena;

void *nmm_alloc(nmm_arena *a, size_t n); /* zeroed */
char *nmm_strndup(nmm_arena *a, const char *s, size_t n);
char *nmm_printf(nmm_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nmm_arena_free(nmm_arena *a);

/* Growable array of pointers in the arena. */
typedef struct nmm_vec {
    void **v;
    int n, cap;
} nmm_vec;
void nmm_vec_push(nmm_arena *a, nmm_vec *vec, void *p);

/* ---- tokens --------------------------------------------------------------------- */
typedef enum nmm_tok_kind {
    T_EOF, T_NL, T_IDENT, T_NUM, T_STRING, T_DDT,
    T_PLUS, T_MINUS, T_STAR, T_SLASH, T_CARET,
    T_LT, T_LE, T_GT, T_GE, T_EQEQ, T_NE,
    T_EQ, T_TILDE, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_LBRACE, T_RBRACE, T_COMMA,
    T_AND, T_OR, T_NOT,
    T_ERROR /* already reported by the lexer; the parser skips its line silently */
} nmm_tok_kind;

typedef struct nmm_tok {
    nmm_tok_kind kind;
    int off, len; /* byte span in the (BOM-stripped) source */
    double num;
    const char *str; /* T_STRING: unescaped text */
    bool int_lit;    /* T_NUM written with digits only */
} nmm_tok;

/* ---- units ---------------------------------------------------------------------- */
#define NMM_NDIM 5 /* s, m, kg, A, mol */
#define NMM_NSYM 8
typedef struct nmm_unit {
    bool known;
    signed char dim[NMM_NDIM];
    double scale;
    int nsym;           /* symbolic form for messages, -1 when lost */
    struct {
        char sym[8];
        int exp;
    } syms[NMM_NSYM];
} nmm_unit;

/* ---- syntax tree ------------------------------------------------------------------ */
typedef enum nmm_ekind { E_NUM, E_NAME, E_CALL, E_INDEX, E_NEG, E_POS, E_NOT, E_BIN } nmm_ekind;

/* What a name resolved to (filled by the checker). */
typedef enum nmm_rkind {
    R_NONE, R_DECL, R_FPARAM, R_T, R_DT, R_N, R_PI, R_INF, R_W, R_BUILTIN, R_IF, R_SUMJ,
    R_UNIFORM, R_NORMAL
} nmm_rkind;

enum { IDX_I = 1, IDX_J = 2, IDX_IJ = 3 };

typedef struct nmm_expr {
    nmm_ekind kind;
    nmm_tok_kind op;       /* E_BIN */
    int off, end;          /* byte span [off, end) */
    int op_off, op_len;    /* E_BIN operator; E_CALL/E_INDEX: '(' or '[' and its span to the close */
    int name_off, name_len;/* E_NAME, E_CALL, E_INDEX */
    double num;            /* E_NUM */
    bool is_int_literal;   /* E_NUM written as digits only */
    int idx;               /* E_INDEX */
    struct nmm_expr **args;
    int nargs;
    int depth;             /* height of the tree below, bounded by NMM_MAX_TREE */
    nmm_rkind rk;
    int ref;               /* R_DECL: decl index; R_FPARAM: param index; R_BUILTIN: fn */
} nmm_expr;

typedef enum nmm_dkind { K_PARAM, K_STATE, K_LET, K_FUNC, K_COUPLING, K_INPUT, K_ALIAS } nmm_dkind;

typedef struct nmm_decl {
    nmm_dkind kind;
    const char *name;
    int name_off, name_len, line, stmt_off;
    const char *doc;
    bool has_unit;
    nmm_unit unit;
    const char *unit_text;
    int unit_off, unit_len;
    /* param */
    nmm_expr *def, *lo, *hi;
    int in_off;
    bool regional, is_const, log_scale;
    int alias;   /* decl index of the alias (param) or of the param (alias), -1 */
    /* state: init kind 0 expr, 1 uniform, 2 normal; bound 0 none, 1 clamp, 2 wrap */
    nmm_expr *init;
    int init_kind, bound, bound_off;
    nmm_expr *blo, *bhi;
    /* let, coupling, input (default), func (body) */
    nmm_expr *expr;
    const char **fparams;
    int *fparam_off;
    int nfparams;
    /* filled by the checker */
    int index;      /* within its kind's IR table */
    int ddt;        /* index of its d/dt statement, -1 */
    int noise;      /* index of its noise statement, -1 */
    bool used;
    int out_line;   /* line of its first listing in `output`, 0 if none */
    nmm_vec refs;   /* decl indices (as intptr) read by its expression(s) */
    int dflags;     /* DEP_* read directly (t, ...) */
    int flags;      /* DEP_* closure, valid when flags_done */
    nmm_unit inferred; /* let, coupling: unit of its expression */
    int uvisit;        /* 0 not inferred, 1 in progress, 2 done */
    int visit;      /* DFS mark */
    bool flags_done, in_cycle, bad;
    bool incomplete; /* its statement failed to parse: name known, parts missing */
} nmm_decl;

typedef struct nmm_ddt {
    int name_off, name_len, line, off;
    nmm_expr *expr;
    int decl;
} nmm_ddt;

typedef struct nmm_noise {
    int *name_off, *name_len;
    int nnames, line, off;
    nmm_expr *expr;
} nmm_noise;

typedef struct nmm_nameref {
    int off, len, line;
} nmm_nameref;

/* fic: one item `key = value`, value an expression, a range or a record of items. */
typedef struct nmm_fic_item {
    int key_off, key_len, line;
    int vkind; /* 0 expr, 1 range, 2 record */
    nmm_expr *e, *lo, *hi;
    int val_off, val_end;
    struct nmm_fic_item **items;
    int nitems;
} nmm_fic_item;

typedef struct nmm_fic {
    int name_off, name_len, line, off;
    nmm_fic_item **items;
    int nitems;
} nmm_fic;

/* ---- diagnostics ------------------------------------------------------------------ */
typedef enum { NMM_ERROR, NMM_WARNING, NMM_NOTE } nmm_sev;

typedef struct nmm_span {
    int off, len;
} nmm_span;

typedef struct nmm_diag {
    nmm_sev sev;
    int off, len;          /* primary span; off < 0: no position */
    nmm_span sec[4];
    int nsec;
    const char *msg;
    const char *extra[6];  /* "note: ..." / "help: ..." */
    int nextra;
    int seq;
    bool is_unused;        /* unused-name warnings are dropped when errors exist */
} nmm_diag;

/* ---- one front-end run ------------------------------------------------------------ */
typedef struct nmm_file {
    nmm_arena arena;
    const char *file_name;
    const char *orig; /* the text as given (BOM included) */
    size_t orig_len;
    const char *src;  /* BOM stripped; may contain NUL bytes */
    int len;
    int *line_start;
    int nlines;
    const char **line_comment; /* per line (0-based), NULL when none */

    nmm_tok *toks;
    int ntoks;

    nmm_vec diags;
    int nerrors;
    int syntax_errors; /* errors from the lexer and parser */

    /* parsed statements */
    int model_off, model_len, model_count;
    nmm_vec docs, cites; /* char* */
    int time_unit_off, integrator_off;
    bnm_ir_time_unit time_unit;
    bnm_ir_integrator integrator;
    nmm_vec decls;   /* nmm_decl*, source order */
    nmm_vec ddts;    /* nmm_ddt* */
    nmm_vec noises;  /* nmm_noise* */
    nmm_vec outputs; /* nmm_nameref* */
    nmm_vec bolds;   /* nmm_nameref* */
    nmm_vec fics;    /* nmm_fic* */

    struct checker *checker; /* results the lowering needs */

    /* symbol table: open addressing over decl indices */
    int *hash;
    int hash_cap;
} nmm_file;

/* Position helpers: 1-based line and code-point column of a byte offset. */
int nmm_line_of(const nmm_file *f, int off);
int nmm_col_of(const nmm_file *f, int off);

nmm_diag *nmm_diag_add(nmm_file *f, nmm_sev sev, int off, int len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void nmm_diag_sec(nmm_diag *d, int off, int len);
void nmm_diag_extra(nmm_file *f, nmm_diag *d, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Renders all diagnostics in source order (errors capped at 50). Malloc'd result. */
char *nmm_render_all(nmm_file *f);

void nmm_lex(nmm_file *f);
void nmm_parse(nmm_file *f);
void nmm_check(nmm_file *f);
/* NULL on allocation failure; only called on a file without errors. */
bnm_model_ir *nmm_lower(nmm_file *f, const char *orig_text, size_t orig_len);

/* Unit algebra (units.c). */
bool nmm_unit_parse(const char *text, int len, nmm_unit *out, char *err, size_t errlen);
nmm_unit nmm_unit_one(void);
nmm_unit nmm_unit_mul(const nmm_unit *a, const nmm_unit *b, int sign);
nmm_unit nmm_unit_pow(const nmm_unit *a, int num, int den);
bool nmm_unit_same_dim(const nmm_unit *a, const nmm_unit *b);
bool nmm_unit_equal(const nmm_unit *a, const nmm_unit *b);
bool nmm_unit_is_one(const nmm_unit *a);
void nmm_unit_str(const nmm_unit *u, char *buf, size_t n);
nmm_unit nmm_unit_time(bnm_ir_time_unit tu);

/* Constant folding (fold.c): evaluates a constant expression; on a folding error
 * returns false and sets *bad to the failing node and *why to a static message. */
bool nmm_fold(const nmm_expr *e, double *out, const nmm_expr **bad, const char **why);
double nmm_builtin_eval(bnm_ir_builtin fn, const double *x);

/* Name helpers. */
bool nmm_tok_is(const nmm_file *f, int off, int len, const char *word);
int nmm_builtin_lookup(const char *s, int len); /* bnm_ir_builtin or -1 */
int nmm_damerau(const char *a, int la, const char *b, int lb);

#define NMM_MAX_DEPTH 200 /* nesting of parentheses, calls and prefix operators */
#define NMM_MAX_TREE 500  /* height of one expression tree */

#endif
