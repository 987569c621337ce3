/* Unit inference and checks (nmm-format.md section 7.2-7.4). Units are checked where
 * both sides are known and never converted; messages name both units and, for equal
 * dimensions, the factor and a concrete fix. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nmm_check.h"

typedef struct ucx {
    checker *C;
    nmm_decl *owner; /* the let/coupling being inferred, for hints */
    const nmm_unit *env;
    int nenv;
    int depth;
} ucx;

static nmm_unit unknown(void)
{
    nmm_unit u;
    memset(&u, 0, sizeof u);
    u.known = false;
    u.scale = 1;
    return u;
}

static nmm_unit infer(ucx *X, const nmm_expr *e);

static const char *ustr(checker *C, const nmm_unit *u)
{
    char buf[160];
    nmm_unit_str(u, buf, sizeof buf);
    return nmm_printf(&C->f->arena, "%s", buf);
}

/* The unit as a reciprocal-friendly string: Hz^-n becomes s^n (kHz -> ms). */
static nmm_unit invert_hz(const nmm_unit *u)
{
    nmm_unit r = *u;
    if (r.nsym < 0)
        return r;
    for (int i = 0; i < r.nsym; i++) {
        const char *s = r.syms[i].sym;
        size_t n = strlen(s);
        if (r.syms[i].exp < 0 && n >= 2 && strcmp(s + n - 2, "Hz") == 0) {
            const char *rep = NULL;
            if (n == 2)
                rep = "s";
            else if (n == 3 && s[0] == 'k')
                rep = "ms";
            else if (n == 3 && s[0] == 'M')
                rep = "us";
            if (rep) {
                snprintf(r.syms[i].sym, sizeof r.syms[i].sym, "%s", rep);
                r.syms[i].exp = -r.syms[i].exp;
            }
        }
    }
    /* merge duplicates produced by the rename */
    for (int i = 0; i < r.nsym; i++)
        for (int j = i + 1; j < r.nsym; j++)
            if (strcmp(r.syms[i].sym, r.syms[j].sym) == 0) {
                r.syms[i].exp += r.syms[j].exp;
                memmove(&r.syms[j], &r.syms[j + 1], sizeof r.syms[0] * (size_t)(r.nsym - j - 1));
                r.nsym--;
                j--;
            }
    for (int i = 0; i < r.nsym; i++)
        if (r.syms[i].exp == 0) {
            memmove(&r.syms[i], &r.syms[i + 1], sizeof r.syms[0] * (size_t)(r.nsym - i - 1));
            r.nsym--;
            i--;
        }
    return r;
}

/* A param with an explicit [1] annotation and a default, reached through * and / only. */
static nmm_decl *dimensionless_param(checker *C, const nmm_expr *e)
{
    if (e->kind == E_NAME && e->rk == R_DECL) {
        nmm_decl *d = C->f->decls.v[e->ref];
        if (d->kind == K_PARAM && d->has_unit && nmm_unit_is_one(&d->unit) && d->def)
            return d;
        return NULL;
    }
    if (e->kind == E_NEG || (e->kind == E_BIN && (e->op == T_STAR || e->op == T_SLASH))) {
        for (int i = 0; i < e->nargs && (e->kind != E_BIN || e->op == T_STAR || i == 0); i++) {
            nmm_decl *d = dimensionless_param(C, e->args[i]);
            if (d)
                return d;
        }
    }
    return NULL;
}

static const char *suffix(const char *name)
{
    const char *u = strrchr(name, '_');
    return u && u[1] ? u + 1 : name;
}

/* Explains a mismatch between units a (of ea) and b (of eb) on diagnostic d. */
static void explain(ucx *X, nmm_diag *d, const nmm_unit *a, const nmm_unit *b, const nmm_expr *ea,
                    const nmm_expr *eb)
{
    checker *C = X->C;
    nmm_file *f = C->f;
    if (nmm_unit_same_dim(a, b)) {
        double r = b->scale / a->scale; /* how many b-units... a*r has b's scale */
        double factor = r >= 1 ? r : 1 / r;
        const char *bs = ustr(C, b);
        char eq[200];
        if (strncmp(bs, "1/", 2) == 0)
            snprintf(eq, sizeof eq, "1 %s = %g/%s", ustr(C, a), a->scale / b->scale, bs + 2);
        else
            snprintf(eq, sizeof eq, "1 %s = %g %s", ustr(C, a), a->scale / b->scale, bs);
        nmm_diag_extra(f, d, "note: same dimension, scales differ by %g (%s); units are never "
                       "converted", factor, eq);
        /* a [1] param in one operand can absorb the factor */
        for (int side = 0; side < 2; side++) {
            const nmm_expr *ex = side == 0 ? ea : eb;
            if (!ex)
                continue;
            nmm_decl *p = dimensionless_param(C, ex);
            if (!p)
                continue;
            const nmm_unit *from = side == 0 ? a : b, *to = side == 0 ? b : a;
            nmm_unit nu = nmm_unit_mul(&p->unit, to, 1);
            nu = nmm_unit_mul(&nu, from, -1);
            nu = invert_hz(&nu);
            double k = to->scale / from->scale;
            char val[160];
            if (k >= 1)
                snprintf(val, sizeof val, "%.*s/%g", p->def->end - p->def->off, f->src + p->def->off, k);
            else
                snprintf(val, sizeof val, "%.*s*%g", p->def->end - p->def->off, f->src + p->def->off,
                         1 / k);
            nmm_diag_extra(f, d, "help: put the factor in the value: 'param %s [%s] = %s%s%s%s'", p->name,
                           ustr(C, &nu), val, p->regional ? " regional" : "", p->is_const ? " const" : "",
                           p->log_scale ? " log" : "");
            return;
        }
        nmm_diag_extra(f, d, "help: fix an annotation, or multiply by a conversion param such as "
                       "'param per_ms [s/ms] = 1/1000 const'");
        return;
    }
    /* a bare [1] state or let added to a quantity with a unit: a weight is missing */
    for (int side = 0; side < 2; side++) {
        const nmm_expr *ex = side == 0 ? ea : eb;
        const nmm_unit *mine = side == 0 ? a : b, *other = side == 0 ? b : a;
        if (!ex || ex->kind != E_NAME || ex->rk != R_DECL || !X->owner || !nmm_unit_is_one(mine) ||
            nmm_unit_is_one(other))
            continue;
        nmm_decl *v = f->decls.v[ex->ref];
        if (v->kind != K_STATE && v->kind != K_LET)
            continue;
        const char *w = nmm_printf(&f->arena, "w_%s%s", suffix(X->owner->name), suffix(v->name));
        nmm_diag_extra(f, d, "help: a weight is missing: declare 'param %s [%s] = 1' and write '%s*%s'",
                       w, ustr(C, other), w, v->name);
        return;
    }
    nmm_diag_extra(f, d, "help: check the unit annotations; units are checked, never converted");
}

static void mismatch_bin(ucx *X, const nmm_expr *e, const nmm_unit *a, const nmm_unit *b)
{
    nmm_file *f = X->C->f;
    const char *op = nmm_printf(&f->arena, "%.*s", e->op_len, f->src + e->op_off);
    nmm_diag *d = nmm_diag_add(f, NMM_ERROR, e->op_off, e->op_len, "operands of '%s' have units [%s] and [%s]",
                               op, ustr(X->C, a), ustr(X->C, b));
    nmm_diag_sec(d, e->args[0]->off, e->args[0]->end - e->args[0]->off);
    nmm_diag_sec(d, e->args[1]->off, e->args[1]->end - e->args[1]->off);
    explain(X, d, a, b, e->args[0], e->args[1]);
}

static nmm_unit same(ucx *X, const nmm_expr *call, const nmm_unit *u, const nmm_expr **args, int n,
                     const char *what)
{
    /* the first known unit wins; later known ones must match it */
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (!u[i].known)
            continue;
        if (first < 0) {
            first = i;
            continue;
        }
        if (!nmm_unit_equal(&u[first], &u[i])) {
            nmm_file *f = X->C->f;
            nmm_diag *d = nmm_diag_add(f, NMM_ERROR, args[i]->off, args[i]->end - args[i]->off,
                                       "%s of '%.*s' have units [%s] and [%s]", what, call->name_len,
                                       f->src + call->name_off, ustr(X->C, &u[first]), ustr(X->C, &u[i]));
            nmm_diag_sec(d, args[first]->off, args[first]->end - args[first]->off);
            explain(X, d, &u[first], &u[i], args[first], args[i]);
            return unknown();
        }
    }
    return first >= 0 ? u[first] : unknown();
}

static nmm_unit decl_unit(ucx *X, nmm_decl *d);

static bool is_int_exponent(const nmm_expr *e, int *n)
{
    if (e->kind == E_NUM && e->is_int_literal && e->num <= 1e6) {
        *n = (int)e->num;
        return true;
    }
    if (e->kind == E_NEG && e->args[0]->kind == E_NUM && e->args[0]->is_int_literal &&
        e->args[0]->num <= 1e6) {
        *n = -(int)e->args[0]->num;
        return true;
    }
    return false;
}

static nmm_unit infer_call(ucx *X, const nmm_expr *e)
{
    checker *C = X->C;
    nmm_file *f = C->f;
    nmm_unit u[3] = {unknown(), unknown(), unknown()};
    int n = e->nargs < 3 ? e->nargs : 3;
    for (int i = 0; i < n; i++)
        u[i] = infer(X, e->args[i]);
    const nmm_expr *args[3] = {n > 0 ? e->args[0] : NULL, n > 1 ? e->args[1] : NULL,
                               n > 2 ? e->args[2] : NULL};
    switch (e->rk) {
    case R_IF:
        if (n == 3)
            return same(X, e, u + 1, args + 1, 2, "branches");
        return unknown();
    case R_SUMJ:
        return u[0];
    case R_BUILTIN:
        break;
    case R_DECL: {
        nmm_decl *fd = f->decls.v[e->ref];
        if (fd->kind != K_FUNC || X->depth > 64 || e->nargs != fd->nfparams)
            return unknown();
        nmm_unit env[16];
        if (fd->nfparams > 16)
            return unknown();
        for (int i = 0; i < fd->nfparams; i++)
            env[i] = i < 3 ? u[i] : infer(X, e->args[i]);
        ucx Y = *X;
        Y.env = env;
        Y.nenv = fd->nfparams;
        Y.depth++;
        return infer(&Y, fd->expr);
    }
    default:
        return unknown();
    }
    bnm_ir_builtin fn = (bnm_ir_builtin)e->ref;
    switch (fn) {
    case BNM_FN_EXP: case BNM_FN_EXPM1: case BNM_FN_LOG: case BNM_FN_LOG1P: case BNM_FN_LOG10:
    case BNM_FN_SIN: case BNM_FN_COS: case BNM_FN_TAN: case BNM_FN_ASIN: case BNM_FN_ACOS:
    case BNM_FN_ATAN: case BNM_FN_SINH: case BNM_FN_COSH: case BNM_FN_TANH: case BNM_FN_ERF:
    case BNM_FN_SIGMOID:
        if (u[0].known && !nmm_unit_is_one(&u[0])) {
            nmm_diag *d = nmm_diag_add(f, NMM_ERROR, e->args[0]->off, e->args[0]->end - e->args[0]->off,
                                       "the argument of '%s' must be dimensionless, but has unit [%s]",
                                       bnm_ir_builtin_name(fn), ustr(C, &u[0]));
            nmm_diag_extra(f, d, "help: divide it by a quantity of the same unit");
        }
        return nmm_unit_one();
    case BNM_FN_SQRT:
        if (!u[0].known)
            return unknown();
        for (int k = 0; k < NMM_NDIM; k++)
            if (u[0].dim[k] % 2) {
                nmm_diag_add(f, NMM_ERROR, e->args[0]->off, e->args[0]->end - e->args[0]->off,
                             "the square root of [%s] has no unit: an exponent is odd", ustr(C, &u[0]));
                return unknown();
            }
        return nmm_unit_pow(&u[0], 1, 2);
    case BNM_FN_ABS: case BNM_FN_FLOOR: case BNM_FN_CEIL: case BNM_FN_RELU:
        return u[0];
    case BNM_FN_SIGN: case BNM_FN_HEAVISIDE:
        return nmm_unit_one();
    case BNM_FN_ATAN2:
        same(X, e, u, args, 2, "arguments");
        return nmm_unit_one();
    case BNM_FN_MOD: case BNM_FN_MIN: case BNM_FN_MAX:
        return same(X, e, u, args, 2, "arguments");
    case BNM_FN_CLAMP:
        return same(X, e, u, args, 3, "arguments");
    case BNM_FN_COUNT_:
        break;
    }
    return unknown();
}

static nmm_unit infer(ucx *X, const nmm_expr *e)
{
    checker *C = X->C;
    nmm_file *f = C->f;
    if (++C->unit_steps > 2000000)
        return unknown(); /* pathological func nesting: stop checking, never hang */
    switch (e->kind) {
    case E_NUM:
        return e->num == 0 ? unknown() : nmm_unit_one(); /* 0 fits any unit */
    case E_NAME:
    case E_INDEX:
        switch (e->rk) {
        case R_DECL: return decl_unit(X, f->decls.v[e->ref]);
        case R_FPARAM: return e->ref < X->nenv ? X->env[e->ref] : unknown();
        case R_T: case R_DT: return nmm_unit_time(f->time_unit);
        case R_N: case R_PI: case R_W: return nmm_unit_one();
        default: return unknown();
        }
    case E_NEG:
    case E_POS:
        return infer(X, e->args[0]);
    case E_NOT:
        infer(X, e->args[0]);
        return unknown();
    case E_CALL:
        return infer_call(X, e);
    case E_BIN:
        break;
    }
    nmm_unit a = infer(X, e->args[0]);
    if (e->op == T_CARET) {
        nmm_unit b = infer(X, e->args[1]);
        int n;
        if (b.known && !nmm_unit_is_one(&b))
            nmm_diag_add(f, NMM_ERROR, e->args[1]->off, e->args[1]->end - e->args[1]->off,
                         "an exponent must be dimensionless, but has unit [%s]", ustr(C, &b));
        if (!a.known)
            return unknown();
        if (is_int_exponent(e->args[1], &n))
            return nmm_unit_pow(&a, n, 1);
        if (!nmm_unit_is_one(&a)) {
            nmm_diag *d = nmm_diag_add(f, NMM_ERROR, e->op_off, e->op_len,
                                       "a base with unit [%s] needs an integer literal exponent", ustr(C, &a));
            nmm_diag_sec(d, e->args[1]->off, e->args[1]->end - e->args[1]->off);
            return unknown();
        }
        return nmm_unit_one();
    }
    nmm_unit b = infer(X, e->args[1]);
    switch (e->op) {
    case T_STAR:
    case T_SLASH:
        if (!a.known || !b.known)
            return unknown();
        return nmm_unit_mul(&a, &b, e->op == T_STAR ? 1 : -1);
    case T_AND:
    case T_OR:
        return unknown();
    default: /* + - and comparisons */
        if (a.known && b.known && !nmm_unit_equal(&a, &b)) {
            mismatch_bin(X, e, &a, &b);
            return unknown();
        }
        if (e->op != T_PLUS && e->op != T_MINUS)
            return unknown();
        return a.known ? a : b;
    }
}

static nmm_unit decl_unit(ucx *X, nmm_decl *d)
{
    if (d->has_unit)
        return d->unit;
    if ((d->kind == K_LET || d->kind == K_COUPLING) && d->expr) {
        if (d->uvisit == 2)
            return d->inferred;
        if (d->uvisit == 1)
            return unknown();
        d->uvisit = 1;
        ucx Y = {.C = X->C, .owner = d};
        d->inferred = infer(&Y, d->expr);
        d->uvisit = 2;
        return d->inferred;
    }
    return unknown();
}

static void check_against(ucx *X, const nmm_expr *e, const nmm_unit *want, const nmm_unit *got,
                          const char *fmt_prefix, int sec_off, int sec_len)
{
    nmm_file *f = X->C->f;
    if (!want->known || !got->known || nmm_unit_equal(want, got))
        return;
    nmm_diag *d = nmm_diag_add(f, NMM_ERROR, e->off, e->end - e->off, "%s [%s], but the expression has "
                               "unit [%s]", fmt_prefix, ustr(X->C, want), ustr(X->C, got));
    if (sec_len > 0)
        nmm_diag_sec(d, sec_off, sec_len);
    explain(X, d, got, want, e, NULL);
}

static void check_let_unit(checker *C, nmm_decl *d)
{
    nmm_file *f = C->f;
    if (d->uvisit == 2 && !d->has_unit)
        return;
    ucx X = {.C = C, .owner = d};
    bool had = d->has_unit;
    d->has_unit = false; /* infer the expression itself */
    nmm_unit got = decl_unit(&X, d);
    d->has_unit = had;
    if (had)
        check_against(&X, d->expr, &d->unit, &got, nmm_printf(&f->arena, "'%s' is declared", d->name),
                      d->unit_off, d->unit_len);
}

void nmm_check_units(checker *C)
{
    nmm_file *f = C->f;
    /* lets and couplings in dependency order (lets without coupling, couplings, the other
     * lets), so inferring one never recurses down a long chain of others */
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 1) {
            for (int i = 0; i < f->decls.n; i++) {
                nmm_decl *d = f->decls.v[i];
                if (d->kind == K_COUPLING && d->expr)
                    check_let_unit(C, d);
            }
            continue;
        }
        for (int k = 0; k < C->nlet_order; k++) {
            nmm_decl *d = f->decls.v[C->let_order[k]];
            bool uses_c = (nmm_closure(C, d) & DEP_COUPLING) != 0;
            if (d->expr && uses_c == (pass == 2))
                check_let_unit(C, d);
        }
    }
    nmm_unit tu = nmm_unit_time(f->time_unit);
    char tus[8];
    nmm_unit_str(&tu, tus, sizeof tus);
    for (int i = 0; i < f->decls.n; i++) {
        nmm_decl *d = f->decls.v[i];
        ucx X = {.C = C, .owner = d};
        if (d->kind == K_FUNC && d->expr && d->nfparams <= 16) {
            /* bodies are checked per call; an uncalled func still gets its closed parts checked */
            if (!d->used) {
                nmm_unit env[16];
                for (int k = 0; k < 16; k++)
                    env[k] = unknown();
                X.env = env;
                X.nenv = d->nfparams;
                infer(&X, d->expr);
            }
        } else if (d->kind == K_STATE && d->has_unit) {
            if (d->init && d->init_kind == 0 && !nmm_is_constant(d->init)) {
                nmm_unit got = infer(&X, d->init);
                check_against(&X, d->init, &d->unit, &got,
                              nmm_printf(&f->arena, "the initial value of '%s' needs", d->name), 0, 0);
            }
            nmm_expr *bs[2] = {d->blo, d->bhi};
            for (int k = 0; k < 2; k++)
                if (bs[k] && !nmm_is_constant(bs[k])) {
                    nmm_unit got = infer(&X, bs[k]);
                    check_against(&X, bs[k], &d->unit, &got,
                                  nmm_printf(&f->arena, "a bound of '%s' needs", d->name), 0, 0);
                }
        }
    }
    for (int i = 0; i < f->ddts.n; i++) {
        nmm_ddt *dd = f->ddts.v[i];
        ucx X = {.C = C};
        nmm_unit got = infer(&X, dd->expr);
        if (dd->decl < 0)
            continue;
        nmm_decl *s = f->decls.v[dd->decl];
        if (!s->has_unit)
            continue;
        nmm_unit want = nmm_unit_mul(&s->unit, &tu, -1);
        if (got.known && !nmm_unit_equal(&want, &got)) {
            nmm_diag *d = nmm_diag_add(f, NMM_ERROR, dd->expr->off, dd->expr->end - dd->expr->off,
                                       "d/dt %s needs unit [%s] (the unit of '%s' per %s), but the "
                                       "right-hand side has unit [%s]", s->name, ustr(C, &want),
                                       s->name, tus, ustr(C, &got));
            explain(&X, d, &got, &want, dd->expr, NULL);
        }
    }
    for (int i = 0; i < f->noises.n; i++) {
        nmm_noise *nz = f->noises.v[i];
        ucx X = {.C = C};
        nmm_unit got = infer(&X, nz->expr);
        for (int k = 0; k < nz->nnames; k++) {
            int di = nmm_lookup(f, f->src + nz->name_off[k], nz->name_len[k]);
            if (di < 0)
                continue;
            nmm_decl *s = f->decls.v[di];
            if (s->kind != K_STATE || !s->has_unit)
                continue;
            check_against(&X, nz->expr, &s->unit, &got,
                          nmm_printf(&f->arena, "the noise amplitude of '%s' needs its unit", s->name), 0, 0);
            break;
        }
    }
    if (C->fic) {
        for (int m = 0; m < 2; m++)
            if (C->fic->rec[m].measure) {
                ucx X = {.C = C};
                infer(&X, C->fic->rec[m].measure);
            }
    }
}
