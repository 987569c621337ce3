/* Checker of the .nmm front end (nmm-format.md section 12): name resolution, types,
 * structure rules, dependency analysis (let cycles, recursive funcs, transmitted set,
 * levels) and value checks. Units are checked in unitcheck.c. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmm_check.h"

/* ---- symbol table ------------------------------------------------------------------- */

static unsigned hash_name(const char *s, int n)
{
    unsigned h = 2166136261u;
    for (int i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int nmm_lookup(nmm_file *f, const char *s, int n)
{
    if (!f->hash_cap)
        return -1;
    unsigned h = hash_name(s, n) & (unsigned)(f->hash_cap - 1);
    for (;;) {
        int di = f->hash[h];
        if (di < 0)
            return -1;
        nmm_decl *d = f->decls.v[di];
        if (d->name_len == n && memcmp(d->name, s, (size_t)n) == 0)
            return di;
        h = (h + 1) & (unsigned)(f->hash_cap - 1);
    }
}

static void hash_insert(nmm_file *f, int di)
{
    nmm_decl *d = f->decls.v[di];
    unsigned h = hash_name(d->name, d->name_len) & (unsigned)(f->hash_cap - 1);
    while (f->hash[h] >= 0)
        h = (h + 1) & (unsigned)(f->hash_cap - 1);
    f->hash[h] = di;
}

const char *nmm_kind_name(nmm_dkind k)
{
    static const char *names[] = {"param", "state", "let", "func", "coupling", "input", "alias"};
    return names[k];
}

static const char *kind_article(nmm_dkind k)
{
    static const char *names[] = {"a parameter", "a state", "a let", "a func", "a coupling",
                                  "an input", "an alias"};
    return names[k];
}

static const char *const reserved[] = {
    "model", "doc", "cite", "time_unit", "integrator", "param", "state", "let", "func", "coupling",
    "noise", "input", "output", "bold", "fic", "in", "regional", "const", "log", "aka", "clamp",
    "wrap", "and", "or", "not", "if", "sum_j", "uniform", "normal", "t", "dt", "N", "i", "j", "W",
    "D", "pi", "inf"};

static bool is_reserved(const char *s, int n)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if ((int)strlen(reserved[i]) == n && memcmp(reserved[i], s, (size_t)n) == 0)
            return true;
    return nmm_builtin_lookup(s, n) >= 0;
}

static void declare_all(checker *C)
{
    nmm_file *f = C->f;
    int cap = 16;
    while (cap < f->decls.n * 2 + 2)
        cap *= 2;
    f->hash_cap = cap;
    f->hash = nmm_alloc(&f->arena, sizeof(int) * (size_t)cap);
    for (int i = 0; i < cap; i++)
        f->hash[i] = -1;
    for (int i = 0; i < f->decls.n; i++) {
        nmm_decl *d = f->decls.v[i];
        if (is_reserved(d->name, d->name_len)) {
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->name_off, d->name_len,
                                        "'%s' is a reserved name", d->name);
            nmm_diag_extra(f, dg, "help: keywords, built-in functions and 't dt N i j W D pi "
                           "inf' cannot name model items; choose another name");
            d->bad = true;
            continue;
        }
        int prev = nmm_lookup(f, d->name, d->name_len);
        if (prev >= 0) {
            nmm_decl *p = f->decls.v[prev];
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->name_off, d->name_len,
                                        "redefinition of '%s'", d->name);
            nmm_diag_extra(f, dg, "note: first declared at %s:%d:%d (%s)", f->file_name,
                           nmm_line_of(f, p->name_off), nmm_col_of(f, p->name_off),
                           nmm_kind_name(p->kind));
            d->bad = true;
            continue;
        }
        hash_insert(f, i);
        if (d->kind == K_FUNC) {
            for (int a = 0; a < d->nfparams; a++) {
                const char *pn = d->fparams[a];
                int pl = (int)strlen(pn);
                if (is_reserved(pn, pl))
                    nmm_diag_add(f, NMM_ERROR, d->fparam_off[a], pl,
                                 "'%s' is a reserved name and cannot be a func parameter", pn);
                for (int b = 0; b < a; b++)
                    if (strcmp(d->fparams[b], pn) == 0)
                        nmm_diag_add(f, NMM_ERROR, d->fparam_off[a], pl,
                                     "func parameter '%s' given twice", pn);
            }
        }
    }
}

/* ---- suggestions ---------------------------------------------------------------------- */

typedef struct cand {
    const char *name;
    const char *kind;
    int line, score;
} cand;

#define KM(k) (1 << (k))
#define KM_VALUES (KM(K_PARAM) | KM(K_STATE) | KM(K_LET) | KM(K_COUPLING) | KM(K_INPUT))

/* Adds "did you mean" with up to three names of the kinds in `mask` (K_FUNC adds the
 * built-ins) within Damerau-Levenshtein distance max(1, len/3), case-only first. */
static void suggest(checker *C, nmm_diag *dg, const char *s, int n, int mask)
{
    nmm_file *f = C->f;
    if (f->nerrors > 60)
        return; /* only the first 50 errors are shown */
    int maxd = n / 3 > 1 ? n / 3 : 1;
    cand best[3];
    int nb = 0;
    bool functions = (mask & KM(K_FUNC)) != 0;
    int total = f->decls.n + (functions ? BNM_FN_COUNT_ : 0);
    for (int i = 0; i < total; i++) {
        cand c;
        if (i < f->decls.n) {
            nmm_decl *d = f->decls.v[i];
            if (d->bad || !(mask & KM(d->kind)))
                continue;
            c.name = d->name;
            c.kind = nmm_kind_name(d->kind);
            c.line = d->line;
        } else {
            c.name = bnm_ir_builtin_name((bnm_ir_builtin)(i - f->decls.n));
            c.kind = "built-in";
            c.line = 0;
        }
        int cl = (int)strlen(c.name);
        if (cl - n > maxd || n - cl > maxd)
            continue;
        int dist = nmm_damerau(s, n, c.name, cl);
        if (dist > maxd)
            continue;
        bool case_only = cl == n; /* differs from the name only in letter case */
        for (int k = 0; case_only && k < n; k++)
            if (tolower((unsigned char)s[k]) != tolower((unsigned char)c.name[k]))
                case_only = false;
        c.score = (case_only ? 0 : 1000) + dist * 10;
        /* insertion into the best three, stable in declaration order */
        int pos = nb;
        while (pos > 0 && best[pos - 1].score > c.score)
            pos--;
        if (pos >= 3)
            continue;
        if (nb < 3)
            nb++;
        for (int k = nb - 1; k > pos; k--)
            best[k] = best[k - 1];
        best[pos] = c;
    }
    if (nb == 0)
        return;
    char buf[512];
    size_t len = 0;
    len += (size_t)snprintf(buf + len, sizeof buf - len, "help: did you mean ");
    for (int k = 0; k < nb; k++) {
        if (k > 0)
            len += (size_t)snprintf(buf + len, sizeof buf - len, k == nb - 1 ? " or " : ", ");
        if (best[k].line)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "'%s' (%s, line %d)", best[k].name,
                                    best[k].kind, best[k].line);
        else
            len += (size_t)snprintf(buf + len, sizeof buf - len, "'%s' (%s)", best[k].name,
                                    best[k].kind);
        if (len >= sizeof buf)
            break;
    }
    nmm_diag_extra(f, dg, "%s?", buf);
}

/* ---- expression walk ------------------------------------------------------------------- */

enum { TY_ERR = -1, TY_REAL = 0, TY_BOOL = 1 };

static void add_ref(checker *C, wctx *W, int di)
{
    if (W->owner)
        nmm_vec_push(&C->f->arena, &W->owner->refs, (void *)(intptr_t)di);
}

static bool is_const_ctx(const wctx *W) { return W->where == W_CONST || W->where == W_RANGE; }

static void const_error(checker *C, wctx *W, const nmm_expr *e, const char *what)
{
    nmm_diag *d = nmm_diag_add(C->f, NMM_ERROR, e->off, e->end - e->off,
                               "%s must be a constant expression, but uses %s", W->what, what);
    nmm_diag_extra(C->f, d, "help: constant expressions contain only numbers, pi, operators and "
                   "built-in functions");
}

static int walk(checker *C, wctx *W, nmm_expr *e);

static int expect_real(checker *C, wctx *W, nmm_expr *e)
{
    int t = walk(C, W, e);
    if (t == TY_BOOL) {
        nmm_diag *d = nmm_diag_add(C->f, NMM_ERROR, e->off, e->end - e->off,
                                   "expected a number, found a condition");
        nmm_diag_extra(C->f, d, "help: choose a value with 'if(condition, a, b)'");
        return TY_ERR;
    }
    return t;
}

static int expect_bool(checker *C, wctx *W, nmm_expr *e)
{
    int t = walk(C, W, e);
    if (t == TY_REAL) {
        nmm_diag *d = nmm_diag_add(C->f, NMM_ERROR, e->off, e->end - e->off,
                                   "expected a condition, found a number");
        nmm_diag_extra(C->f, d, "help: compare it, e.g. 'x > 0'");
        return TY_ERR;
    }
    return t;
}

static bool predefined_name(checker *C, const nmm_expr *e, const char **what)
{
    static const struct {
        const char *n, *what;
    } pre[] = {{"t", "the time"}, {"dt", "the time step"}, {"N", "the number of nodes"},
               {"pi", "a constant"}, {"inf", "a constant"}, {"W", "the connectome"},
               {"i", "an index"}, {"j", "an index"}, {"D", "reserved for delays"}};
    for (size_t k = 0; k < sizeof pre / sizeof pre[0]; k++)
        if (nmm_tok_is(C->f, e->name_off, e->name_len, pre[k].n)) {
            *what = pre[k].what;
            return true;
        }
    return false;
}

/* True when e reads only states, lets, numbers and source values: the part of an
 * expression that could move into a coupling as is (for the D6 hint). */
static bool movable(checker *C, const nmm_expr *e)
{
    if (e->kind == E_NAME || e->kind == E_INDEX) {
        int di = nmm_lookup(C->f, C->f->src + e->name_off, e->name_len);
        if (di < 0)
            return false;
        nmm_dkind k = ((nmm_decl *)C->f->decls.v[di])->kind;
        return k == K_STATE || k == K_LET;
    }
    if (e->kind == E_CALL && nmm_builtin_lookup(C->f->src + e->name_off, e->name_len) < 0)
        return false;
    for (int i = 0; i < e->nargs; i++)
        if (!movable(C, e->args[i]))
            return false;
    return true;
}

static void source_outside_sum(checker *C, wctx *W, nmm_expr *e, nmm_decl *d)
{
    nmm_file *f = C->f;
    nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off,
                                "source value '%s[j]' used outside sum_j(...)", d->name);
    if (W->func) {
        nmm_diag_extra(f, dg, "note: func bodies cannot read other nodes");
        return;
    }
    const nmm_expr *m = e;
    for (int k = W->nanc - 1; k >= 0; k--) {
        if (!movable(C, W->anc[k]))
            break;
        m = W->anc[k];
    }
    const char *cname = "c";
    int di = nmm_lookup(f, "c", 1);
    if (di >= 0 && ((nmm_decl *)f->decls.v[di])->kind != K_COUPLING)
        cname = "c_net";
    nmm_diag_extra(f, dg, "help: declare 'coupling %s = sum_j(W[i,j]*%.*s)' and use '%s'", cname,
                   m->end - m->off, f->src + m->off, cname);
}

static int walk_name(checker *C, wctx *W, nmm_expr *e)
{
    nmm_file *f = C->f;
    const char *s = f->src + e->name_off;
    int n = e->name_len;
    if (W->func) {
        for (int a = 0; a < W->func->nfparams; a++)
            if ((int)strlen(W->func->fparams[a]) == n && memcmp(W->func->fparams[a], s, (size_t)n) == 0) {
                e->rk = R_FPARAM;
                e->ref = a;
                return TY_REAL;
            }
    }
    const char *what;
    if (predefined_name(C, e, &what)) {
        if (nmm_tok_is(f, e->name_off, n, "pi")) {
            e->rk = R_PI;
            return TY_REAL;
        }
        if (nmm_tok_is(f, e->name_off, n, "inf")) {
            if (W->where != W_RANGE && W->where != W_BOUND) {
                nmm_diag *d = nmm_diag_add(f, NMM_ERROR, e->off, n, "'inf' is allowed only in ranges");
                nmm_diag_extra(f, d, "help: use it in 'in [lo, hi]', 'clamp [lo, hi]' or a fic range");
                return TY_ERR;
            }
            e->rk = R_INF;
            return TY_REAL;
        }
        if (nmm_tok_is(f, e->name_off, n, "t") || nmm_tok_is(f, e->name_off, n, "dt") ||
            nmm_tok_is(f, e->name_off, n, "N")) {
            if (is_const_ctx(W)) {
                const_error(C, W, e, nmm_printf(&f->arena, "'%.*s'", n, s));
                return TY_ERR;
            }
            e->rk = s[0] == 't' ? R_T : s[0] == 'd' ? R_DT : R_N;
            if (e->rk == R_T) {
                if (W->owner)
                    W->owner->dflags |= DEP_T;
                W->saw_t = true;
            }
            return TY_REAL;
        }
        nmm_diag *d;
        if (nmm_tok_is(f, e->name_off, n, "W")) {
            d = nmm_diag_add(f, NMM_ERROR, e->off, n, "'W' needs its indices");
            nmm_diag_extra(f, d, "help: write 'W[i,j]' inside sum_j(...)");
        } else if (nmm_tok_is(f, e->name_off, n, "D")) {
            d = nmm_diag_add(f, NMM_ERROR, e->off, n,
                             "'D' (delays) cannot be used in expressions in version 1");
        } else {
            d = nmm_diag_add(f, NMM_ERROR, e->off, n, "'%.*s' is an index, not a value", n, s);
            nmm_diag_extra(f, d, "help: indices appear only in 'X[j]', 'X[i]' and 'W[i,j]'");
        }
        return TY_ERR;
    }
    int fn = nmm_builtin_lookup(s, n);
    if (fn >= 0 || nmm_tok_is(f, e->name_off, n, "if") || nmm_tok_is(f, e->name_off, n, "sum_j") ||
        nmm_tok_is(f, e->name_off, n, "uniform") || nmm_tok_is(f, e->name_off, n, "normal")) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, e->off, n, "'%.*s' is a function", n, s);
        nmm_diag_extra(f, d, "help: call it with its arguments, e.g. '%.*s(x)'", n, s);
        return TY_ERR;
    }
    int di = nmm_lookup(f, s, n);
    if (di < 0) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, e->off, n, "unknown name '%.*s'", n, s);
        suggest(C, d, s, n, is_const_ctx(W) ? 0 : KM_VALUES);
        return TY_ERR;
    }
    nmm_decl *d = f->decls.v[di];
    d->used = true;
    if (d->kind == K_ALIAS) {
        nmm_decl *p = f->decls.v[d->alias];
        nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, e->off, n,
                                    "'%s' is an alias of param '%s'; aliases are not usable in the file",
                                    d->name, p->name);
        nmm_diag_extra(f, dg, "help: write '%s'", p->name);
        return TY_ERR;
    }
    if (d->kind == K_FUNC) {
        nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, e->off, n, "'%s' is a func", d->name);
        nmm_diag_extra(f, dg, "help: call it with its %d argument%s", d->nfparams,
                       d->nfparams == 1 ? "" : "s");
        return TY_ERR;
    }
    if (is_const_ctx(W)) {
        const_error(C, W, e, nmm_printf(&f->arena, "%s '%s'", nmm_kind_name(d->kind), d->name));
        return TY_ERR;
    }
    if (W->where == W_FIC && d->kind == K_INPUT) {
        nmm_diag_add(f, NMM_ERROR, e->off, n, "a fic measure cannot use input '%s'", d->name);
        return TY_ERR;
    }
    e->rk = R_DECL;
    e->ref = di;
    add_ref(C, W, di);
    return TY_REAL;
}

static int walk_index(checker *C, wctx *W, nmm_expr *e)
{
    nmm_file *f = C->f;
    const char *s = f->src + e->name_off;
    int n = e->name_len;
    nmm_diag *dg;
    if (nmm_tok_is(f, e->name_off, n, "W")) {
        if (e->idx != IDX_IJ) {
            dg = nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off, "'W' is indexed as 'W[i,j]'");
            return TY_ERR;
        }
        if (W->func) {
            nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off, "func bodies cannot use 'W[i,j]'");
            return TY_ERR;
        }
        if (!W->in_sum) {
            dg = nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off, "'W[i,j]' used outside sum_j(...)");
            nmm_diag_extra(f, dg, "help: weights exist only inside a coupling's sum_j(...)");
            return TY_ERR;
        }
        e->rk = R_W;
        return TY_REAL;
    }
    if (e->idx == IDX_IJ) {
        nmm_diag_add(f, NMM_ERROR, e->op_off, e->op_len, "only 'W' takes two indices");
        return TY_ERR;
    }
    int di = nmm_lookup(f, s, n);
    if (di < 0) {
        const char *what;
        bool fparam = false;
        for (int a = 0; W->func && a < W->func->nfparams; a++)
            if ((int)strlen(W->func->fparams[a]) == n && memcmp(W->func->fparams[a], s, (size_t)n) == 0)
                fparam = true;
        if (predefined_name(C, e, &what) || fparam) {
            nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off, "'%.*s' cannot be indexed", n, s);
            return TY_ERR;
        }
        dg = nmm_diag_add(f, NMM_ERROR, e->off, n, "unknown name '%.*s'", n, s);
        suggest(C, dg, s, n, KM(K_STATE) | KM(K_LET));
        return TY_ERR;
    }
    nmm_decl *d = f->decls.v[di];
    d->used = true;
    if (d->kind != K_STATE && d->kind != K_LET) {
        if (d->kind == K_PARAM && e->idx == IDX_J) {
            dg = nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off,
                              "param '%s' cannot be read from other nodes", d->name);
            nmm_diag_extra(f, dg, "help: inside sum_j(...) params take the target node's value; "
                           "write '%s'", d->name);
        } else {
            dg = nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off, "%s '%s' cannot be indexed",
                              nmm_kind_name(d->kind), d->name);
            nmm_diag_extra(f, dg, "help: only states and lets have source values 'X[j]'");
        }
        return TY_ERR;
    }
    if (is_const_ctx(W)) {
        const_error(C, W, e, nmm_printf(&f->arena, "%s '%s'", nmm_kind_name(d->kind), d->name));
        return TY_ERR;
    }
    if (e->idx == IDX_J) {
        if (!W->in_sum || W->func) {
            source_outside_sum(C, W, e, d);
            return TY_ERR;
        }
        nmm_vec_push(&f->arena, &C->sources, e);
        e->rk = R_DECL;
        e->ref = di;
        /* a source value is not a dependency of the coupling on the target's let */
        return TY_REAL;
    }
    e->rk = R_DECL;
    e->ref = di;
    add_ref(C, W, di);
    return TY_REAL;
}

static void implicit_mul_help(checker *C, nmm_diag *dg, const nmm_expr *e)
{
    nmm_file *f = C->f;
    nmm_diag_sec(dg, e->op_off, e->op_len);
    nmm_diag_extra(f, dg, "help: there is no implicit multiplication; write '%.*s*%.*s'",
                   e->name_len, f->src + e->name_off, e->op_len, f->src + e->op_off);
}

static int arity_error(checker *C, nmm_expr *e, const char *name, int want)
{
    nmm_diag_add(C->f, NMM_ERROR, e->name_off, e->end - e->name_off,
                 "'%s' takes %d argument%s, but %d %s given", name, want, want == 1 ? "" : "s",
                 e->nargs, e->nargs == 1 ? "is" : "are");
    return TY_ERR;
}

static int walk_args(checker *C, wctx *W, nmm_expr *e, int from)
{
    int t = TY_REAL;
    for (int i = from; i < e->nargs; i++)
        if (expect_real(C, W, e->args[i]) == TY_ERR)
            t = TY_ERR;
    return t;
}

static int walk_call(checker *C, wctx *W, nmm_expr *e)
{
    nmm_file *f = C->f;
    const char *s = f->src + e->name_off;
    int n = e->name_len;
    nmm_diag *dg;
    if (W->func) {
        for (int a = 0; a < W->func->nfparams; a++)
            if ((int)strlen(W->func->fparams[a]) == n && memcmp(W->func->fparams[a], s, (size_t)n) == 0) {
                dg = nmm_diag_add(f, NMM_ERROR, e->name_off, n,
                                  "'%.*s' is a func parameter, not a function", n, s);
                implicit_mul_help(C, dg, e);
                return TY_ERR;
            }
    }
    if (nmm_tok_is(f, e->name_off, n, "if")) {
        e->rk = R_IF;
        if (e->nargs != 3) {
            walk_args(C, W, e, 0);
            return arity_error(C, e, "if", 3);
        }
        int t0 = expect_bool(C, W, e->args[0]);
        int t1 = walk_args(C, W, e, 1);
        return t0 == TY_ERR || t1 == TY_ERR ? TY_ERR : TY_REAL;
    }
    if (nmm_tok_is(f, e->name_off, n, "sum_j")) {
        e->rk = R_SUMJ;
        if (W->func) {
            nmm_diag_add(f, NMM_ERROR, e->name_off, n, "func bodies cannot use sum_j(...)");
            return TY_ERR;
        }
        if (W->in_sum) {
            nmm_diag_add(f, NMM_ERROR, e->name_off, n, "sum_j(...) cannot be nested");
            return TY_ERR;
        }
        if (W->where != W_COUPLING) {
            dg = nmm_diag_add(f, NMM_ERROR, e->name_off, n, "sum_j(...) is allowed only in a coupling");
            nmm_diag_extra(f, dg, "help: declare 'coupling c = %.*s' and use 'c'", e->end - e->off,
                           f->src + e->off);
            return TY_ERR;
        }
        if (e->nargs != 1) {
            walk_args(C, W, e, 0);
            return arity_error(C, e, "sum_j", 1);
        }
        W->has_sum = true;
        W->in_sum = true;
        int t = expect_real(C, W, e->args[0]);
        W->in_sum = false;
        return t;
    }
    bool is_uni = nmm_tok_is(f, e->name_off, n, "uniform"), is_norm = nmm_tok_is(f, e->name_off, n, "normal");
    if (is_uni || is_norm) {
        e->rk = is_uni ? R_UNIFORM : R_NORMAL;
        if (W->top_init != e || W->func) {
            dg = nmm_diag_add(f, NMM_ERROR, e->name_off, n, "'%.*s(...)' is allowed only as a "
                              "state's whole initial value", n, s);
            nmm_diag_extra(f, dg, "help: write 'state X = %.*s(a, b)'", n, s);
            return TY_ERR;
        }
        if (e->nargs != 2) {
            walk_args(C, W, e, 0);
            return arity_error(C, e, is_uni ? "uniform" : "normal", 2);
        }
        return walk_args(C, W, e, 0);
    }
    int fn = nmm_builtin_lookup(s, n);
    if (fn >= 0) {
        e->rk = R_BUILTIN;
        e->ref = fn;
        int t = walk_args(C, W, e, 0);
        if (e->nargs != bnm_ir_builtin_arity((bnm_ir_builtin)fn))
            return arity_error(C, e, bnm_ir_builtin_name((bnm_ir_builtin)fn),
                               bnm_ir_builtin_arity((bnm_ir_builtin)fn));
        return t;
    }
    const char *what;
    if (predefined_name(C, e, &what)) {
        dg = nmm_diag_add(f, NMM_ERROR, e->name_off, n, "'%.*s' is not a function", n, s);
        implicit_mul_help(C, dg, e);
        return TY_ERR;
    }
    int di = nmm_lookup(f, s, n);
    if (di < 0) {
        dg = nmm_diag_add(f, NMM_ERROR, e->name_off, n, "unknown function '%.*s'", n, s);
        suggest(C, dg, s, n, KM(K_FUNC));
        walk_args(C, W, e, 0);
        return TY_ERR;
    }
    nmm_decl *d = f->decls.v[di];
    d->used = true;
    if (d->kind != K_FUNC) {
        dg = nmm_diag_add(f, NMM_ERROR, e->name_off, n, "'%s' is %s, not a function", d->name,
                          kind_article(d->kind));
        implicit_mul_help(C, dg, e);
        return TY_ERR;
    }
    if (is_const_ctx(W)) {
        const_error(C, W, e, nmm_printf(&f->arena, "func '%s'", d->name));
        return TY_ERR;
    }
    e->rk = R_DECL;
    e->ref = di;
    add_ref(C, W, di);
    int t = walk_args(C, W, e, 0);
    if (e->nargs != d->nfparams)
        return arity_error(C, e, d->name, d->nfparams);
    return t;
}

static int walk(checker *C, wctx *W, nmm_expr *e)
{
    if (W->nanc >= (int)(sizeof W->anc / sizeof W->anc[0]))
        return TY_ERR; /* the parser bounds depth; this is a second guard */
    int t = TY_REAL;
    switch (e->kind) {
    case E_NUM:
        return TY_REAL;
    case E_NAME:
        return walk_name(C, W, e);
    case E_INDEX:
        return walk_index(C, W, e);
    default:
        break;
    }
    W->anc[W->nanc++] = e;
    switch (e->kind) {
    case E_CALL:
        t = walk_call(C, W, e);
        break;
    case E_NEG:
    case E_POS:
        t = expect_real(C, W, e->args[0]);
        break;
    case E_NOT:
        t = expect_bool(C, W, e->args[0]) == TY_ERR ? TY_ERR : TY_BOOL;
        break;
    case E_BIN:
        switch (e->op) {
        case T_AND:
        case T_OR: {
            int a = expect_bool(C, W, e->args[0]), b = expect_bool(C, W, e->args[1]);
            t = a == TY_ERR || b == TY_ERR ? TY_ERR : TY_BOOL;
            break;
        }
        case T_LT: case T_LE: case T_GT: case T_GE: case T_EQEQ: case T_NE: {
            int a = expect_real(C, W, e->args[0]), b = expect_real(C, W, e->args[1]);
            t = a == TY_ERR || b == TY_ERR ? TY_ERR : TY_BOOL;
            if ((e->op == T_EQEQ || e->op == T_NE) && !is_const_ctx(W)) {
                nmm_diag *d = nmm_diag_add(C->f, NMM_WARNING, e->op_off, e->op_len,
                                           "'%s' compares real numbers exactly",
                                           e->op == T_EQEQ ? "==" : "!=");
                nmm_diag_extra(C->f, d, "help: rounding makes exact comparisons fragile; compare "
                               "with a tolerance, e.g. 'abs(a - b) < 1e-9'");
            }
            break;
        }
        default: {
            int a = expect_real(C, W, e->args[0]), b = expect_real(C, W, e->args[1]);
            t = a == TY_ERR || b == TY_ERR ? TY_ERR : TY_REAL;
        }
        }
        break;
    default:
        break;
    }
    W->nanc--;
    return t;
}

/* Walks a statement's top expression, which must be a number. */
static int walk_top(checker *C, wctx *W, nmm_expr *e)
{
    if (!e)
        return TY_ERR;
    W->nanc = 0;
    return expect_real(C, W, e);
}

static void walk_const(checker *C, nmm_decl *owner, nmm_expr *e, int where, const char *what)
{
    if (!e)
        return;
    wctx W;
    memset(&W, 0, sizeof W);
    W.where = where;
    W.owner = owner;
    W.what = what;
    walk_top(C, &W, e);
}

void nmm_walk_expr(checker *C, nmm_expr *e, int where, const char *what)
{
    wctx W;
    memset(&W, 0, sizeof W);
    W.where = where;
    W.owner = &C->stmt_owner;
    W.what = what;
    walk_top(C, &W, e);
}

static void walk_decl(checker *C, nmm_decl *d)
{
    nmm_file *f = C->f;
    wctx W;
    memset(&W, 0, sizeof W);
    W.owner = d;
    switch (d->kind) {
    case K_PARAM:
        walk_const(C, NULL, d->def, W_CONST, "a param's default");
        walk_const(C, NULL, d->lo, W_RANGE, "a param's range");
        walk_const(C, NULL, d->hi, W_RANGE, "a param's range");
        break;
    case K_STATE:
        W.where = W_INIT;
        W.top_init = d->init;
        walk_top(C, &W, d->init);
        if (d->bound) {
            wctx B;
            memset(&B, 0, sizeof B);
            B.where = W_RANGE;
            B.owner = d;
            B.what = "a state bound";
            /* bounds may read params: walk them as ordinary expressions with inf allowed */
            B.where = W_BOUND;
            walk_top(C, &B, d->blo);
            walk_top(C, &B, d->bhi);
        }
        break;
    case K_LET:
        W.where = W_EXPR;
        walk_top(C, &W, d->expr);
        break;
    case K_COUPLING:
        W.where = W_COUPLING;
        walk_top(C, &W, d->expr);
        if (!W.has_sum && d->expr) {
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->expr->off, d->expr->end - d->expr->off,
                                        "coupling '%s' has no sum_j(...)", d->name);
            nmm_diag_extra(f, dg, "help: a coupling sums over source nodes, e.g. "
                           "'sum_j(W[i,j]*X[j])'; for a local quantity use 'let'");
        }
        break;
    case K_INPUT:
        walk_const(C, NULL, d->expr, W_CONST, "an input's default");
        break;
    case K_FUNC:
        W.where = W_EXPR;
        W.func = d;
        walk_top(C, &W, d->expr);
        break;
    case K_ALIAS:
        break;
    }
}

/* ---- dependencies ---------------------------------------------------------------------- */

/* What d reads, through lets, funcs and couplings. Iterative: let chains can be as long
 * as the file, far deeper than the C stack allows for recursion. */
static int closure(checker *C, nmm_decl *d0)
{
    if (d0->flags_done)
        return d0->flags;
    nmm_file *f = C->f;
    if (!C->cstack) {
        C->cstack = nmm_alloc(&f->arena, sizeof(nmm_decl *) * (size_t)(f->decls.n + 1));
        C->cpos = nmm_alloc(&f->arena, sizeof(int) * (size_t)(f->decls.n + 1));
    }
    nmm_decl **st = C->cstack;
    int *pos = C->cpos;
    int sp = 0;
    st[0] = d0;
    pos[0] = 0;
    d0->visit = 3;
    d0->flags = d0->dflags;
    while (sp >= 0) {
        nmm_decl *d = st[sp];
        if (pos[sp] >= d->refs.n) {
            d->visit = 0;
            d->flags_done = true;
            sp--;
            if (sp >= 0)
                st[sp]->flags |= d->flags | (d->kind == K_COUPLING ? DEP_COUPLING : 0);
            continue;
        }
        nmm_decl *r = f->decls.v[(intptr_t)d->refs.v[pos[sp]++]];
        int own = r->kind == K_COUPLING ? DEP_COUPLING : 0;
        switch (r->kind) {
        case K_STATE: d->flags |= DEP_STATE; break;
        case K_INPUT: d->flags |= DEP_INPUT; break;
        case K_PARAM: d->flags |= DEP_PARAM; break;
        case K_COUPLING:
        case K_LET:
        case K_FUNC:
            if (r->flags_done)
                d->flags |= r->flags | own;
            else if (r->visit == 3)
                d->flags |= r->dflags | own; /* a cycle, reported elsewhere */
            else {
                r->visit = 3;
                r->flags = r->dflags;
                sp++;
                st[sp] = r;
                pos[sp] = 0;
            }
            break;
        default:
            break;
        }
    }
    return d0->flags;
}

int nmm_closure(checker *C, nmm_decl *d) { return closure(C, d); }

static void check_recursion(checker *C)
{
    nmm_file *f = C->f;
    int n = f->decls.n;
    int *stack = nmm_alloc(&f->arena, sizeof(int) * (size_t)(n + 1));
    int *pos = nmm_alloc(&f->arena, sizeof(int) * (size_t)(n + 1));
    char *color = nmm_alloc(&f->arena, (size_t)n + 1);
    for (int s0 = 0; s0 < n; s0++) {
        nmm_decl *d0 = f->decls.v[s0];
        if (d0->kind != K_FUNC || color[s0])
            continue;
        /* iterative DFS over func -> func edges */
        int sp = 0;
        stack[sp] = s0;
        pos[sp] = 0;
        color[s0] = 1;
        while (sp >= 0) {
            nmm_decl *d = f->decls.v[stack[sp]];
            if (pos[sp] >= d->refs.n) {
                color[stack[sp]] = 2;
                sp--;
                continue;
            }
            int r = (int)(intptr_t)d->refs.v[pos[sp]++];
            nmm_decl *rd = f->decls.v[r];
            if (rd->kind != K_FUNC)
                continue;
            if (color[r] == 1) {
                int k = sp;
                while (k > 0 && stack[k] != r)
                    k--;
                char path[1024];
                size_t len = 0;
                for (int q = k; q <= sp && len < sizeof path - 80; q++)
                    len += (size_t)snprintf(path + len, sizeof path - len, "%s -> ",
                                            ((nmm_decl *)f->decls.v[stack[q]])->name);
                snprintf(path + len, sizeof path - len, "%s", rd->name);
                nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, rd->name_off, rd->name_len,
                                            "func '%s' is recursive: %s", rd->name, path);
                nmm_diag_extra(f, dg, "help: funcs are inlined and cannot call themselves; a "
                               "quantity that evolves needs a state and a 'd/dt'");
                for (int q = k; q <= sp; q++)
                    ((nmm_decl *)f->decls.v[stack[q]])->bad = true;
                C->recursive = true;
                continue;
            }
            if (color[r] == 0) {
                color[r] = 1;
                sp++;
                stack[sp] = r;
                pos[sp] = 0;
            }
        }
    }
}

static bool let_or_func(const nmm_decl *d)
{
    return d->kind == K_LET || (d->kind == K_FUNC && !d->bad);
}

/* Depth-first search over lets and funcs (funcs are acyclic here, so every cycle has a
 * let): reports each let cycle with its path and records the lets in post-order, which
 * is dependency order. Iterative: chains may be as long as the file. */
static void check_let_cycles(checker *C)
{
    nmm_file *f = C->f;
    int n = f->decls.n;
    int *stack = nmm_alloc(&f->arena, sizeof(int) * (size_t)(n + 1));
    int *pos = nmm_alloc(&f->arena, sizeof(int) * (size_t)(n + 1));
    char *color = nmm_alloc(&f->arena, (size_t)n + 1);
    C->let_order = nmm_alloc(&f->arena, sizeof(int) * (size_t)(n + 1));
    C->nlet_order = 0;
    for (int s0 = 0; s0 < n; s0++) {
        nmm_decl *d0 = f->decls.v[s0];
        if (d0->kind != K_LET || color[s0])
            continue;
        int sp = 0;
        stack[0] = s0;
        pos[0] = 0;
        color[s0] = 1;
        while (sp >= 0) {
            int cur = stack[sp];
            nmm_decl *cd = f->decls.v[cur];
            if (pos[sp] >= cd->refs.n) {
                color[cur] = 2;
                if (cd->kind == K_LET)
                    C->let_order[C->nlet_order++] = cur;
                sp--;
                continue;
            }
            int r = (int)(intptr_t)cd->refs.v[pos[sp]++];
            nmm_decl *rd = f->decls.v[r];
            if (!let_or_func(rd))
                continue;
            if (color[r] == 1) {
                int k = sp;
                while (k > 0 && stack[k] != r)
                    k--;
                /* the lets of the cycle, starting at the first one in the file */
                int cyc[64], nc = 0, first = 0;
                bool seen = false;
                for (int q = k; q <= sp && nc < 63; q++) {
                    nmm_decl *qd = f->decls.v[stack[q]];
                    if (qd->kind != K_LET)
                        continue;
                    seen |= qd->in_cycle;
                    cyc[nc++] = stack[q];
                }
                if (nc == 0 || seen)
                    continue;
                for (int q = 1; q < nc; q++)
                    if (cyc[q] < cyc[first])
                        first = q;
                int rot[64];
                for (int q = 0; q < nc; q++)
                    rot[q] = cyc[(first + q) % nc];
                char path[1200];
                size_t len = 0;
                for (int q = 0; q < nc && len < sizeof path - 80; q++)
                    len += (size_t)snprintf(path + len, sizeof path - len, "%s -> ",
                                            ((nmm_decl *)f->decls.v[rot[q]])->name);
                snprintf(path + len, sizeof path - len, "%s", ((nmm_decl *)f->decls.v[rot[0]])->name);
                nmm_decl *h = f->decls.v[rot[0]];
                nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, h->name_off, h->name_len,
                                            "lets form a cycle: %s", path);
                for (int q = 0; q < nc; q++) {
                    nmm_decl *a = f->decls.v[rot[q]], *b = f->decls.v[rot[(q + 1) % nc]];
                    bool direct = false;
                    for (int e = 0; e < a->refs.n && !direct; e++)
                        direct = f->decls.v[(intptr_t)a->refs.v[e]] == b;
                    if (!direct)
                        nmm_diag_extra(f, dg, "note: '%s' (line %d) reads '%s' through a func", a->name,
                                       a->line, b->name);
                    else if (q > 0) /* the first edge is on the line shown */
                        nmm_diag_extra(f, dg, "note: '%s' (line %d) is computed from '%s'", a->name,
                                       a->line, b->name);
                }
                nmm_diag_extra(f, dg, "help: a quantity that depends on itself needs a state and "
                               "a 'd/dt'");
                for (int q = 0; q < nc; q++)
                    ((nmm_decl *)f->decls.v[rot[q]])->in_cycle = true;
                continue;
            }
            if (color[r] == 0) {
                color[r] = 1;
                sp++;
                stack[sp] = r;
                pos[sp] = 0;
            }
        }
    }
}

/* Path from let d to a coupling through lets and funcs, as "a (line 3) -> b (line 2) -> c". */
static bool coupling_path(checker *C, nmm_decl *d, char *buf, size_t n, size_t *len, int depth)
{
    if (depth > 64 || ++C->path_steps > 100000)
        return false;
    if (d->kind == K_COUPLING) {
        *len += (size_t)snprintf(buf + *len, n - *len, "%s", d->name);
        return true;
    }
    size_t save = *len;
    *len += (size_t)snprintf(buf + *len, n - *len, "%s (line %d) -> ", d->name, d->line);
    if (*len >= n - 1) {
        *len = save;
        return false;
    }
    for (int i = 0; i < d->refs.n; i++) {
        nmm_decl *r = C->f->decls.v[(intptr_t)d->refs.v[i]];
        if (r->kind == K_COUPLING || ((r->kind == K_LET || r->kind == K_FUNC) &&
                                      (closure(C, r) & DEP_COUPLING)))
            if (coupling_path(C, r, buf, n, len, depth + 1))
                return true;
    }
    *len = save;
    buf[save] = '\0';
    return false;
}

static void check_sources(checker *C)
{
    nmm_file *f = C->f;
    for (int i = 0; i < C->sources.n; i++) {
        nmm_expr *e = C->sources.v[i];
        nmm_decl *d = f->decls.v[e->ref];
        if (d->kind != K_LET || !(closure(C, d) & DEP_COUPLING))
            continue;
        char path[1024];
        size_t len = 0;
        path[0] = '\0';
        coupling_path(C, d, path, sizeof path, &len, 0);
        /* name the coupling at the end of the path */
        const char *cname = strrchr(path, ' ');
        cname = cname ? cname + 1 : path;
        nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off,
                                    "'%s' cannot be sent to other nodes: it depends on coupling '%s'",
                                    d->name, cname);
        nmm_diag_extra(f, dg, "note: %s", path);
        const char *st = NULL;
        for (int k = 0; k < f->decls.n && !st; k++)
            if (((nmm_decl *)f->decls.v[k])->kind == K_STATE)
                st = ((nmm_decl *)f->decls.v[k])->name;
        if (st)
            nmm_diag_extra(f, dg, "help: send a state, or a let computed without coupling, e.g. "
                           "'%s[j]'", st);
        else
            nmm_diag_extra(f, dg, "help: send a state, or a let computed without coupling");
    }
}

/* Finds names in e (not descending into funcs) whose closure hits `mask`; reports each
 * with `fmt` ("... cannot use %s '%s'"). */
static void forbid(checker *C, const nmm_expr *e, int mask, const char *ctx_what, const char *help)
{
    nmm_file *f = C->f;
    if (e->kind == E_INDEX && e->idx == IDX_J)
        return; /* source values: check_sources */
    if (e->kind == E_NAME || e->kind == E_INDEX || e->kind == E_CALL) {
        int hit = 0;
        const char *name = NULL, *kind = NULL;
        if (e->rk == R_T && (mask & DEP_T)) {
            hit = 1;
            name = "t";
            kind = "time";
        } else if (e->rk == R_DECL) {
            nmm_decl *d = f->decls.v[e->ref];
            int fl = d->kind == K_STATE ? DEP_STATE : d->kind == K_COUPLING ? DEP_COUPLING
                     : d->kind == K_INPUT ? DEP_INPUT : 0;
            if (d->kind == K_LET || d->kind == K_FUNC)
                fl = closure(C, d);
            if (fl & mask) {
                hit = 1;
                name = d->name;
                kind = nmm_kind_name(d->kind);
            }
        }
        if (hit) {
            int len = e->kind == E_CALL ? e->name_len : e->end - e->off;
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, e->off, len, "%s cannot depend on %s '%s'%s",
                                        ctx_what, kind, name,
                                        (!strcmp(kind, "let") || !strcmp(kind, "func"))
                                            ? " (it reads states, couplings, inputs or t)"
                                            : "");
            if (help)
                nmm_diag_extra(f, dg, "help: %s", help);
            return;
        }
    }
    for (int i = 0; i < e->nargs; i++)
        forbid(C, e->args[i], mask, ctx_what, help);
}

/* ---- statements ----------------------------------------------------------------------- */

static nmm_decl *lookup_ref(checker *C, int off, int len, int report)
{
    nmm_file *f = C->f;
    int di = nmm_lookup(f, f->src + off, len);
    if (di < 0) {
        if (report) {
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, off, len, "unknown name '%.*s'", len, f->src + off);
            suggest(C, dg, f->src + off, len, report);
        }
        return NULL;
    }
    nmm_decl *d = f->decls.v[di];
    if (d->kind == K_ALIAS) {
        nmm_decl *p = f->decls.v[d->alias];
        nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, off, len,
                                    "'%s' is an alias of param '%s'; aliases are not usable in the file",
                                    d->name, p->name);
        nmm_diag_extra(f, dg, "help: write '%s'", p->name);
        return NULL;
    }
    return d;
}

static void check_ddts(checker *C)
{
    nmm_file *f = C->f;
    for (int i = 0; i < f->ddts.n; i++) {
        nmm_ddt *dd = f->ddts.v[i];
        nmm_decl *d = lookup_ref(C, dd->name_off, dd->name_len, KM(K_STATE));
        wctx W;
        memset(&W, 0, sizeof W);
        W.where = W_EXPR;
        W.owner = &C->stmt_owner;
        walk_top(C, &W, dd->expr);
        if (!d)
            continue;
        if (d->kind != K_STATE) {
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, dd->name_off, dd->name_len,
                                        "'d/dt' applies to states, but '%s' is %s", d->name,
                                        kind_article(d->kind));
            if (d->kind == K_LET)
                nmm_diag_extra(f, dg, "help: to make it evolve, declare 'state %s = <initial value>'",
                               d->name);
            continue;
        }
        if (d->ddt >= 0) {
            nmm_ddt *first = f->ddts.v[d->ddt];
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, dd->off, dd->name_off + dd->name_len - dd->off,
                                        "second 'd/dt %s'", d->name);
            nmm_diag_extra(f, dg, "note: first given at line %d; each state has exactly one", first->line);
            continue;
        }
        d->ddt = i;
        d->used = true;
        dd->decl = (int)(intptr_t)0;
        dd->decl = nmm_lookup(f, d->name, d->name_len);
    }
    for (int i = 0; i < f->decls.n; i++) {
        nmm_decl *d = f->decls.v[i];
        /* after a syntax error the missing d/dt is most likely the line that failed */
        if (d->kind == K_STATE && d->ddt < 0 && !d->bad && f->syntax_errors == 0) {
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->name_off, d->name_len,
                                        "state '%s' has no 'd/dt %s = ...'", d->name, d->name);
            nmm_diag_extra(f, dg, "help: every state needs exactly one 'd/dt'; a quantity without "
                           "dynamics is a 'let' or a 'param'");
        }
    }
}

static void check_noises(checker *C)
{
    nmm_file *f = C->f;
    for (int i = 0; i < f->noises.n; i++) {
        nmm_noise *nz = f->noises.v[i];
        for (int k = 0; k < nz->nnames; k++) {
            nmm_decl *d = lookup_ref(C, nz->name_off[k], nz->name_len[k], KM(K_STATE));
            if (!d)
                continue;
            if (d->kind != K_STATE) {
                nmm_diag_add(f, NMM_ERROR, nz->name_off[k], nz->name_len[k],
                             "noise applies to states, but '%s' is %s", d->name, kind_article(d->kind));
                continue;
            }
            if (d->noise >= 0) {
                nmm_noise *first = f->noises.v[d->noise];
                nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, nz->name_off[k], nz->name_len[k],
                                            "state '%s' already has noise", d->name);
                nmm_diag_extra(f, dg, "note: its noise is given at line %d; a state appears in at "
                               "most one 'noise'", first->line);
                continue;
            }
            d->noise = i;
            d->used = true;
        }
        wctx W;
        memset(&W, 0, sizeof W);
        W.where = W_NOISE;
        W.owner = &C->stmt_owner;
        walk_top(C, &W, nz->expr);
    }
}

static void check_outputs(checker *C)
{
    nmm_file *f = C->f;
    for (int i = 0; i < f->outputs.n; i++) {
        nmm_nameref *r = f->outputs.v[i];
        nmm_decl *d = lookup_ref(C, r->off, r->len,
                                  KM(K_STATE) | KM(K_LET) | KM(K_COUPLING) | KM(K_INPUT));
        if (!d)
            continue;
        d->used = true;
        if (d->kind == K_PARAM || d->kind == K_FUNC) {
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, r->off, r->len,
                                        "'%s' is %s and cannot be recorded", d->name, kind_article(d->kind));
            nmm_diag_extra(f, dg, "help: record states, lets, couplings or inputs");
            continue;
        }
        if (d->out_line) {
            nmm_diag *dg = nmm_diag_add(f, NMM_WARNING, r->off, r->len,
                                        "'%s' is listed twice in 'output'", d->name);
            nmm_diag_extra(f, dg, "note: first listed at line %d", d->out_line);
        } else {
            d->out_line = r->line;
        }
    }
    for (int i = 0; i < f->bolds.n; i++) {
        nmm_nameref *r = f->bolds.v[i];
        if (i > 0) {
            nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, r->off, r->len, "a second BOLD driver");
            nmm_diag_extra(f, dg, "note: 'bold' names one state or let, at most once");
            continue;
        }
        nmm_decl *d = lookup_ref(C, r->off, r->len, KM(K_STATE) | KM(K_LET));
        if (!d)
            continue;
        d->used = true;
        if (d->kind != K_STATE && d->kind != K_LET)
            nmm_diag_add(f, NMM_ERROR, r->off, r->len, "the BOLD driver must be a state or a let, "
                         "but '%s' is %s", d->name, kind_article(d->kind));
    }
}

/* ---- value checks ----------------------------------------------------------------------- */

bool nmm_fold_report(checker *C, const nmm_expr *e, double *out)
{
    const nmm_expr *bad = NULL;
    const char *why = NULL;
    if (nmm_fold(e, out, &bad, &why))
        return true;
    if (bad && strcmp(why, "not a constant") != 0)
        nmm_diag_add(C->f, NMM_ERROR, bad->off, bad->end - bad->off,
                     "cannot fold the constant expression: %s", why);
    return false;
}

static bool is_constant(const nmm_expr *e)
{
    switch (e->kind) {
    case E_NUM: return true;
    case E_NAME: return e->rk == R_PI || e->rk == R_INF;
    case E_INDEX: return false;
    case E_CALL:
        if (e->rk != R_BUILTIN && e->rk != R_IF)
            return false;
        break;
    default: break;
    }
    for (int i = 0; i < e->nargs; i++)
        if (!is_constant(e->args[i]))
            return false;
    return true;
}

bool nmm_is_constant(const nmm_expr *e) { return is_constant(e); }

static void check_range(checker *C, nmm_expr *lo, nmm_expr *hi, double *plo, double *phi, bool *ok,
                        bool finite, const char *what)
{
    *ok = false;
    if (!lo || !hi || !is_constant(lo) || !is_constant(hi))
        return;
    double a, b;
    if (!nmm_fold_report(C, lo, &a) || !nmm_fold_report(C, hi, &b))
        return;
    if (finite && (isinf(a) || isinf(b))) {
        nmm_expr *e = isinf(a) ? lo : hi;
        nmm_diag_add(C->f, NMM_ERROR, e->off, e->end - e->off, "%s bounds must be finite", what);
        return;
    }
    if (!(a < b)) {
        nmm_diag *dg = nmm_diag_add(C->f, NMM_ERROR, lo->off, hi->end - lo->off,
                                    "empty range: the lower bound %g is not below the upper bound %g",
                                    a, b);
        nmm_diag_extra(C->f, dg, "help: write '[lo, hi]' with lo < hi");
        return;
    }
    *plo = a;
    *phi = b;
    *ok = true;
}

static void check_values(checker *C)
{
    nmm_file *f = C->f;
    for (int i = 0; i < f->decls.n; i++) {
        nmm_decl *d = f->decls.v[i];
        if (d->incomplete || d->bad)
            continue;
        if (d->kind == K_PARAM) {
            double v = 0, lo = 0, hi = 0;
            bool has_v = d->def && is_constant(d->def) && nmm_fold_report(C, d->def, &v);
            bool rng;
            check_range(C, d->lo, d->hi, &lo, &hi, &rng, false, "range");
            if (has_v && rng && (v < lo || v > hi)) {
                nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->def->off, d->def->end - d->def->off,
                                            "the default %g of '%s' is outside its range [%g, %g]",
                                            v, d->name, lo, hi);
                nmm_diag_sec(dg, d->in_off, d->hi->end + 1 - d->in_off);
            }
            if (d->log_scale) {
                if (!d->lo) {
                    nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->name_off, d->name_len,
                                                "'log' param '%s' needs a range 'in [lo, hi]' with lo > 0",
                                                d->name);
                    nmm_diag_extra(f, dg, "help: the optimiser searches log(%s) between log(lo) and "
                                   "log(hi)", d->name);
                } else if (rng && lo <= 0) {
                    nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->lo->off, d->lo->end - d->lo->off,
                                                "'log' param '%s' needs a lower bound > 0, found %g",
                                                d->name, lo);
                    nmm_diag_extra(f, dg, "help: the optimiser searches in log space");
                }
            }
            if (d->is_const && !d->def) {
                nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->name_off, d->name_len,
                                            "const param '%s' needs a default value", d->name);
                nmm_diag_extra(f, dg, "help: a const param is never set by the run: write '= value'");
            }
            if (d->is_const && d->regional) {
                nmm_diag_add(f, NMM_ERROR, d->name_off, d->name_len,
                             "param '%s' cannot be both 'const' and 'regional'", d->name);
            }
        } else if (d->kind == K_STATE) {
            double lo = 0, hi = 0, v;
            bool rng = false;
            if (d->bound)
                check_range(C, d->blo, d->bhi, &lo, &hi, &rng, d->bound == 2,
                            d->bound == 2 ? "wrap" : "clamp");
            if (d->bound == 2) {
                /* non-constant wrap bounds: nothing to fold, but inf is still not allowed */
                if (d->blo && d->blo->kind == E_NAME && d->blo->rk == R_INF)
                    nmm_diag_add(f, NMM_ERROR, d->blo->off, d->blo->end - d->blo->off,
                                 "wrap bounds must be finite");
            }
            if (d->init_kind == 0 && d->init && is_constant(d->init) &&
                nmm_fold_report(C, d->init, &v) && rng && d->bound == 1 && (v < lo || v > hi)) {
                nmm_diag *dg = nmm_diag_add(f, NMM_ERROR, d->init->off, d->init->end - d->init->off,
                                            "the initial value %g of '%s' is outside its clamp "
                                            "bounds [%g, %g]", v, d->name, lo, hi);
                nmm_diag_sec(dg, d->bound_off, d->bhi->end + 1 - d->bound_off);
            }
            if (d->init_kind && d->init && d->init->nargs == 2 && is_constant(d->init->args[0]) &&
                is_constant(d->init->args[1])) {
                double a, b;
                if (nmm_fold_report(C, d->init->args[0], &a) && nmm_fold_report(C, d->init->args[1], &b)) {
                    if (d->init_kind == 1 && !(a < b))
                        nmm_diag_add(f, NMM_ERROR, d->init->off, d->init->end - d->init->off,
                                     "uniform(a, b) needs a < b, found a = %g, b = %g", a, b);
                    if (d->init_kind == 2 && b < 0)
                        nmm_diag_add(f, NMM_ERROR, d->init->args[1]->off,
                                     d->init->args[1]->end - d->init->args[1]->off,
                                     "normal(mean, sd) needs sd >= 0, found %g", b);
                }
            }
        } else if (d->kind == K_INPUT) {
            double v;
            if (d->expr && is_constant(d->expr))
                nmm_fold_report(C, d->expr, &v);
        }
    }
}

/* ---- warnings ----------------------------------------------------------------------------- */

static void warn_unused(checker *C)
{
    nmm_file *f = C->f;
    for (int i = 0; i < f->decls.n; i++) {
        nmm_decl *d = f->decls.v[i];
        if (d->used || d->bad || d->incomplete || d->kind == K_STATE || d->kind == K_ALIAS)
            continue;
        if (d->kind == K_PARAM && d->alias >= 0 && ((nmm_decl *)f->decls.v[d->alias])->used)
            continue;
        nmm_diag *dg = nmm_diag_add(f, NMM_WARNING, d->name_off, d->name_len, "unused %s '%s'",
                                    nmm_kind_name(d->kind), d->name);
        dg->is_unused = true;
    }
}

/* ---- driver --------------------------------------------------------------------------------- */

void nmm_check(nmm_file *f)
{
    checker *C = nmm_alloc(&f->arena, sizeof *C);
    C->f = f;
    C->stmt_owner.kind = K_LET;
    C->stmt_owner.name = "";
    if (f->model_count == 0)
        nmm_diag_add(f, NMM_ERROR, -1, 0, "the file has no 'model NAME' statement");
    declare_all(C);
    for (int i = 0; i < f->decls.n; i++) {
        nmm_decl *d = f->decls.v[i];
        if (!d->bad && !d->incomplete)
            walk_decl(C, d);
    }
    check_ddts(C);
    check_noises(C);
    check_outputs(C);
    nmm_check_fic(C);
    check_recursion(C);
    check_let_cycles(C);
    check_sources(C);
    /* levels: initial values and noise amplitudes are computed before the step loop */
    for (int i = 0; i < f->decls.n; i++) {
        nmm_decl *d = f->decls.v[i];
        if (d->incomplete || d->bad)
            continue;
        if (d->kind == K_STATE && d->init)
            forbid(C, d->init, DEP_STATE | DEP_COUPLING | DEP_INPUT | DEP_T,
                   "an initial value", "initial values are computed per node before the first step "
                   "from params only");
        if (d->kind == K_STATE && d->bound && d->blo && d->bhi) {
            forbid(C, d->blo, DEP_STATE | DEP_COUPLING | DEP_INPUT | DEP_T, "a state bound", NULL);
            forbid(C, d->bhi, DEP_STATE | DEP_COUPLING | DEP_INPUT | DEP_T, "a state bound", NULL);
        }
    }
    for (int i = 0; i < f->noises.n; i++) {
        nmm_noise *nz = f->noises.v[i];
        if (nz->expr)
            forbid(C, nz->expr, DEP_STATE | DEP_COUPLING | DEP_INPUT | DEP_T, "a noise amplitude",
                   "multiplicative noise is not supported in version 1; the amplitude may use "
                   "params only");
    }
    /* couplings read states and lets of the sources, never another coupling */
    for (int i = 0; i < f->decls.n; i++) {
        nmm_decl *d = f->decls.v[i];
        if (d->kind == K_COUPLING && d->expr && !d->bad && !d->incomplete)
            forbid(C, d->expr, DEP_COUPLING, "a coupling",
                   "couplings are computed from states and lets without coupling; combine couplings "
                   "in a let");
    }
    if (C->fic)
        for (int m = 0; m < 2; m++)
            if (C->fic->rec[m].measure)
                forbid(C, C->fic->rec[m].measure, DEP_T | DEP_INPUT, "a fic measure",
                       "the measure is a per-node function of states, lets, couplings and params");
    check_values(C);
    if (f->nerrors == 0 && !C->recursive)
        nmm_check_units(C);
    warn_unused(C);
    f->checker = C;
}
