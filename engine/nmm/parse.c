/* Parser of the .nmm format (nmm-format.md sections 3-4): statements in any order and
 * expressions by precedence climbing. One error per statement; the rest of its line is
 * skipped so one mistake does not cascade. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmm_internal.h"

typedef struct parser {
    nmm_file *f;
    int p;
    bool fail;  /* the current statement already has an error */
    int depth;
} parser;

static nmm_tok *cur(parser *P) { return &P->f->toks[P->p]; }
static nmm_tok *peek_at(parser *P, int k)
{
    int i = P->p + k;
    if (i >= P->f->ntoks)
        i = P->f->ntoks - 1;
    return &P->f->toks[i];
}
static nmm_tok_kind kind(parser *P) { return cur(P)->kind; }
static void advance(parser *P)
{
    if (P->p < P->f->ntoks - 1)
        P->p++;
}
static bool is_word(parser *P, const nmm_tok *t, const char *w)
{
    return t->kind == T_IDENT && nmm_tok_is(P->f, t->off, t->len, w);
}
static int tok_end(const nmm_tok *t) { return t->off + t->len; }
static int prev_end(parser *P) { return P->p > 0 ? tok_end(&P->f->toks[P->p - 1]) : 0; }

static const char *describe(parser *P, const nmm_tok *t)
{
    switch (t->kind) {
    case T_NL: return "end of line";
    case T_EOF: return "end of file";
    case T_ERROR: return "invalid text";
    default: {
        int n = t->len > 40 ? 40 : t->len;
        return nmm_printf(&P->f->arena, "'%.*s'", n, P->f->src + t->off);
    }
    }
}

static nmm_diag *perr(parser *P, const nmm_tok *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static nmm_diag *perr(parser *P, const nmm_tok *t, const char *fmt, ...)
{
    /* a second error in one statement, or one after a lexer error, is not reported; the
     * caller still gets a diagnostic to decorate, which nobody sees */
    if (P->fail || t->kind == T_ERROR) {
        P->fail = true;
        return nmm_alloc(&P->f->arena, sizeof(nmm_diag));
    }
    P->fail = true;
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return nmm_diag_add(P->f, NMM_ERROR, t->off, t->kind == T_NL ? 0 : t->len, "%s", tmp);
}

static bool expect(parser *P, nmm_tok_kind k, const char *what)
{
    if (kind(P) == k) {
        advance(P);
        return true;
    }
    nmm_tok *t = cur(P);
    perr(P, t, "expected %s, found %s", what, describe(P, t));
    return false;
}

static nmm_expr *new_expr(parser *P, nmm_ekind k, int off, int end)
{
    nmm_expr *e = nmm_alloc(&P->f->arena, sizeof *e);
    e->kind = k;
    e->off = off;
    e->end = end;
    e->rk = R_NONE;
    e->ref = -1;
    return e;
}

static nmm_expr *parse_expr(parser *P);

/* Sets e's height from its children; long left-leaning chains such as a+b+c+... do not
 * recurse in the parser but do in every later pass, so their height is bounded too. */
static nmm_expr *height(parser *P, nmm_expr *e)
{
    int h = 0;
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i]->depth + 1 > h)
            h = e->args[i]->depth + 1;
    e->depth = h;
    if (h > NMM_MAX_TREE) {
        nmm_tok t = {.kind = T_IDENT, .off = e->off, .len = 1};
        perr(P, &t, "expression too large: more than %d nested operations", NMM_MAX_TREE);
        return NULL;
    }
    return e;
}

static bool enter(parser *P)
{
    if (++P->depth > NMM_MAX_DEPTH) {
        perr(P, cur(P), "expression nested too deeply (more than %d levels)", NMM_MAX_DEPTH);
        return false;
    }
    return true;
}

static nmm_expr *parse_post(parser *P)
{
    nmm_tok *t = cur(P);
    if (t->kind == T_NUM) {
        advance(P);
        nmm_expr *e = new_expr(P, E_NUM, t->off, tok_end(t));
        e->num = t->num;
        e->is_int_literal = t->int_lit;
        if (kind(P) == T_LBRACK) {
            nmm_diag *d = perr(P, cur(P), "quantity literals such as '%.*s[...]' are not supported",
                               t->len, P->f->src + t->off);
            nmm_diag_extra(P->f, d, "help: declare a param with the unit, e.g. 'param x [mV] = %.*s', "
                           "and use its name", t->len, P->f->src + t->off);
            return NULL;
        }
        return e;
    }
    if (t->kind == T_LPAREN) {
        advance(P);
        nmm_expr *inner = parse_expr(P);
        if (!inner)
            return NULL;
        if (!expect(P, T_RPAREN, "')'"))
            return NULL;
        /* the parenthesised span starts at '(' so markers cover it */
        nmm_expr *e = inner;
        e->off = t->off;
        e->end = prev_end(P);
        return e;
    }
    if (t->kind == T_IDENT) {
        advance(P);
        if (kind(P) == T_LPAREN) {
            nmm_tok *lp = cur(P);
            advance(P);
            nmm_expr *e = new_expr(P, E_CALL, t->off, 0);
            e->name_off = t->off;
            e->name_len = t->len;
            e->op_off = lp->off;
            nmm_vec args = {0};
            if (kind(P) != T_RPAREN) {
                for (;;) {
                    nmm_expr *a = parse_expr(P);
                    if (!a)
                        return NULL;
                    nmm_vec_push(&P->f->arena, &args, a);
                    if (kind(P) == T_COMMA) {
                        advance(P);
                        continue;
                    }
                    break;
                }
            }
            if (!expect(P, T_RPAREN, "',' or ')'"))
                return NULL;
            e->end = prev_end(P);
            e->op_len = e->end - e->op_off;
            e->args = (nmm_expr **)args.v;
            e->nargs = args.n;
            return height(P, e);
        }
        if (kind(P) == T_LBRACK) {
            nmm_tok *lb = cur(P);
            advance(P);
            int idx = 0;
            if (is_word(P, cur(P), "i")) {
                advance(P);
                idx = IDX_I;
                if (kind(P) == T_COMMA) {
                    advance(P);
                    if (!is_word(P, cur(P), "j")) {
                        perr(P, cur(P), "expected 'j' in '[i,j]', found %s", describe(P, cur(P)));
                        return NULL;
                    }
                    advance(P);
                    idx = IDX_IJ;
                }
            } else if (is_word(P, cur(P), "j")) {
                advance(P);
                idx = IDX_J;
            } else {
                nmm_diag *d = perr(P, cur(P), "expected an index 'i', 'j' or 'i,j', found %s",
                                   describe(P, cur(P)));
                nmm_diag_extra(P->f, d, "help: only 'X[j]' (a source value inside sum_j), 'X[i]' "
                               "and 'W[i,j]' are valid indices");
                return NULL;
            }
            if (!expect(P, T_RBRACK, "']'"))
                return NULL;
            nmm_expr *e = new_expr(P, E_INDEX, t->off, prev_end(P));
            e->name_off = t->off;
            e->name_len = t->len;
            e->op_off = lb->off;
            e->op_len = e->end - lb->off;
            e->idx = idx;
            return e;
        }
        nmm_expr *e = new_expr(P, E_NAME, t->off, tok_end(t));
        e->name_off = t->off;
        e->name_len = t->len;
        return e;
    }
    nmm_diag *d = perr(P, t, "expected an expression, found %s", describe(P, t));
    if (t->kind == T_NL && P->p > 0)
        nmm_diag_extra(P->f, d, "help: a statement continues on the next line only after an "
                       "operator, ',', '=' or '~', or inside '(' or '['");
    return NULL;
}

static nmm_expr *parse_unary(parser *P);

static nmm_expr *parse_pow(parser *P)
{
    nmm_expr *base = parse_post(P);
    if (!base)
        return NULL;
    if (kind(P) == T_CARET) {
        nmm_tok *op = cur(P);
        advance(P);
        if (!enter(P))
            return NULL;
        nmm_expr *ex = parse_unary(P);
        P->depth--;
        if (!ex)
            return NULL;
        nmm_expr *e = new_expr(P, E_BIN, base->off, ex->end);
        e->op = T_CARET;
        e->op_off = op->off;
        e->op_len = op->len;
        e->args = nmm_alloc(&P->f->arena, 2 * sizeof(nmm_expr *));
        e->args[0] = base;
        e->args[1] = ex;
        e->nargs = 2;
        return height(P, e);
    }
    return base;
}

static nmm_expr *parse_unary(parser *P)
{
    if (!enter(P))
        return NULL;
    nmm_expr *r;
    nmm_tok *t = cur(P);
    if (t->kind == T_MINUS || t->kind == T_PLUS) {
        advance(P);
        nmm_expr *a = parse_unary(P);
        if (!a) {
            P->depth--;
            return NULL;
        }
        r = new_expr(P, t->kind == T_MINUS ? E_NEG : E_POS, t->off, a->end);
        r->args = nmm_alloc(&P->f->arena, sizeof(nmm_expr *));
        r->args[0] = a;
        r->nargs = 1;
        r = height(P, r);
    } else {
        P->depth--; /* only prefix operators count as nesting */
        r = parse_pow(P);
        P->depth++;
    }
    P->depth--;
    return r;
}

static nmm_expr *bin(parser *P, nmm_tok *op, nmm_expr *a, nmm_expr *b)
{
    nmm_expr *e = new_expr(P, E_BIN, a->off, b->end);
    e->op = op->kind;
    e->op_off = op->off;
    e->op_len = op->len;
    e->args = nmm_alloc(&P->f->arena, 2 * sizeof(nmm_expr *));
    e->args[0] = a;
    e->args[1] = b;
    e->nargs = 2;
    return height(P, e);
}

static nmm_expr *parse_prod(parser *P)
{
    nmm_expr *a = parse_unary(P);
    while (a && (kind(P) == T_STAR || kind(P) == T_SLASH)) {
        nmm_tok *op = cur(P);
        advance(P);
        nmm_expr *b = parse_unary(P);
        if (!b)
            return NULL;
        a = bin(P, op, a, b);
    }
    return a;
}

static nmm_expr *parse_sum(parser *P)
{
    nmm_expr *a = parse_prod(P);
    while (a && (kind(P) == T_PLUS || kind(P) == T_MINUS)) {
        nmm_tok *op = cur(P);
        advance(P);
        nmm_expr *b = parse_prod(P);
        if (!b)
            return NULL;
        a = bin(P, op, a, b);
    }
    return a;
}

static bool is_cmp(nmm_tok_kind k)
{
    return k == T_LT || k == T_LE || k == T_GT || k == T_GE || k == T_EQEQ || k == T_NE;
}

static nmm_expr *parse_cmp(parser *P)
{
    nmm_expr *a = parse_sum(P);
    if (a && is_cmp(kind(P))) {
        nmm_tok *op = cur(P);
        advance(P);
        nmm_expr *b = parse_sum(P);
        if (!b)
            return NULL;
        if (is_cmp(kind(P))) {
            nmm_tok *op2 = cur(P);
            nmm_diag *d = perr(P, op2, "comparisons do not chain");
            nmm_diag_sec(d, op->off, op->len);
            nmm_diag_extra(P->f, d, "help: write 'a < b and b < c'");
            return NULL;
        }
        a = bin(P, op, a, b);
    }
    return a;
}

static nmm_expr *parse_not(parser *P)
{
    if (!enter(P))
        return NULL;
    nmm_expr *r;
    nmm_tok *t = cur(P);
    if (t->kind == T_NOT) {
        advance(P);
        nmm_expr *a = parse_not(P);
        if (!a) {
            P->depth--;
            return NULL;
        }
        r = new_expr(P, E_NOT, t->off, a->end);
        r->args = nmm_alloc(&P->f->arena, sizeof(nmm_expr *));
        r->args[0] = a;
        r->nargs = 1;
        r = height(P, r);
    } else {
        P->depth--;
        r = parse_cmp(P);
        P->depth++;
    }
    P->depth--;
    return r;
}

static nmm_expr *parse_and(parser *P)
{
    nmm_expr *a = parse_not(P);
    while (a && kind(P) == T_AND) {
        nmm_tok *op = cur(P);
        advance(P);
        nmm_expr *b = parse_not(P);
        if (!b)
            return NULL;
        a = bin(P, op, a, b);
    }
    return a;
}

static nmm_expr *parse_expr(parser *P)
{
    if (!enter(P))
        return NULL;
    nmm_expr *a = parse_and(P);
    while (a && kind(P) == T_OR) {
        nmm_tok *op = cur(P);
        advance(P);
        nmm_expr *b = parse_and(P);
        if (!b) {
            a = NULL;
            break;
        }
        a = bin(P, op, a, b);
    }
    P->depth--;
    return a;
}

/* ---- statements -------------------------------------------------------------------- */

static bool parse_name(parser *P, int *off, int *len, const char *what)
{
    nmm_tok *t = cur(P);
    if (t->kind != T_IDENT) {
        perr(P, t, "expected %s, found %s", what, describe(P, t));
        return false;
    }
    *off = t->off;
    *len = t->len;
    advance(P);
    return true;
}

static bool parse_unit(parser *P, nmm_decl *d)
{
    if (kind(P) != T_LBRACK)
        return true;
    nmm_tok *lb = cur(P);
    advance(P);
    int start = cur(P)->off;
    while (kind(P) != T_RBRACK && kind(P) != T_NL && kind(P) != T_EOF) {
        if (kind(P) == T_ERROR) {
            perr(P, cur(P), "invalid unit");
            return false;
        }
        advance(P);
    }
    if (kind(P) != T_RBRACK) {
        perr(P, lb, "unclosed unit annotation '['");
        return false;
    }
    int end = cur(P)->off;
    advance(P);
    char err[256];
    d->has_unit = true;
    d->unit_off = lb->off;
    d->unit_len = prev_end(P) - lb->off;
    while (end > start && (P->f->src[end - 1] == ' ' || P->f->src[end - 1] == '\t'))
        end--;
    d->unit_text = nmm_strndup(&P->f->arena, P->f->src + start, (size_t)(end - start));
    if (!nmm_unit_parse(P->f->src + start, end - start, &d->unit, err, sizeof err)) {
        nmm_diag *dg = nmm_diag_add(P->f, NMM_ERROR, lb->off, d->unit_len, "invalid unit [%s]: %s",
                                    d->unit_text, err);
        nmm_diag_extra(P->f, dg, "help: units are products of 1 or a base (s Hz m g V A C S F Ohm "
                       "mol rad) with an optional prefix (p n u m k M), e.g. [mV/ms], [1/s], [nA]");
        d->unit.known = false;
        d->has_unit = false;
    }
    return true;
}

static nmm_decl *new_decl(parser *P, nmm_dkind k, int name_off, int name_len, int stmt_off)
{
    nmm_decl *d = nmm_alloc(&P->f->arena, sizeof *d);
    d->kind = k;
    d->name_off = name_off;
    d->name_len = name_len;
    d->name = nmm_strndup(&P->f->arena, P->f->src + name_off, (size_t)name_len);
    d->line = nmm_line_of(P->f, stmt_off);
    d->stmt_off = stmt_off;
    d->alias = -1;
    d->ddt = -1;
    d->noise = -1;
    d->index = -1;
    const char *c = P->f->line_comment[d->line - 1];
    d->doc = c && c[0] ? c : NULL;
    /* pushed at once so later statements resolve the name even if this one fails */
    d->incomplete = k != K_ALIAS;
    nmm_vec_push(&P->f->arena, &P->f->decls, d);
    return d;
}

static bool parse_range(parser *P, nmm_expr **lo, nmm_expr **hi)
{
    if (!expect(P, T_LBRACK, "'['"))
        return false;
    *lo = parse_expr(P);
    if (!*lo || !expect(P, T_COMMA, "','"))
        return false;
    *hi = parse_expr(P);
    if (!*hi || !expect(P, T_RBRACK, "']'"))
        return false;
    return true;
}

static void stmt_param(parser *P, int stmt_off)
{
    int off, len;
    if (!parse_name(P, &off, &len, "a param name"))
        return;
    nmm_decl *d = new_decl(P, K_PARAM, off, len, stmt_off);
    int pidx = P->f->decls.n - 1;
    if (!parse_unit(P, d))
        return;
    if (kind(P) == T_EQ) {
        advance(P);
        if (!(d->def = parse_expr(P)))
            return;
    }
    if (is_word(P, cur(P), "in")) {
        d->in_off = cur(P)->off;
        advance(P);
        if (!parse_range(P, &d->lo, &d->hi))
            return;
    }
    static const char *flags[] = {"regional", "const", "log", "aka"};
    int alias_off = 0, alias_len = 0;
    while (kind(P) == T_IDENT) {
        nmm_tok *t = cur(P);
        bool *flag = NULL;
        if (is_word(P, t, "regional"))
            flag = &d->regional;
        else if (is_word(P, t, "const"))
            flag = &d->is_const;
        else if (is_word(P, t, "log"))
            flag = &d->log_scale;
        else if (is_word(P, t, "aka")) {
            advance(P);
            if (alias_len) {
                perr(P, t, "a param has at most one alias");
                return;
            }
            if (!parse_name(P, &alias_off, &alias_len, "an alias name after 'aka'"))
                return;
            continue;
        } else if (is_word(P, t, "in")) {
            nmm_diag *dg = perr(P, t, "'in' after the param's flags");
            nmm_diag_extra(P->f, dg, "help: write 'param NAME [unit] = value in [lo, hi] flags...'");
            return;
        } else {
            nmm_diag *dg = perr(P, t, "unknown param flag '%.*s'", t->len, P->f->src + t->off);
            int best = -1, bd = 99;
            for (int i = 0; i < 4; i++) {
                int dd = nmm_damerau(P->f->src + t->off, t->len, flags[i], (int)strlen(flags[i]));
                if (dd < bd) {
                    bd = dd;
                    best = i;
                }
            }
            if (bd <= 2)
                nmm_diag_extra(P->f, dg, "help: did you mean '%s'?", flags[best]);
            else
                nmm_diag_extra(P->f, dg, "help: flags are 'regional', 'const', 'log' and 'aka NAME'");
            return;
        }
        if (*flag) {
            perr(P, t, "flag '%.*s' given twice", t->len, P->f->src + t->off);
            return;
        }
        *flag = true;
        advance(P);
    }
    d->incomplete = false;
    if (alias_len) {
        nmm_decl *a = new_decl(P, K_ALIAS, alias_off, alias_len, stmt_off);
        a->doc = NULL;
        a->alias = pidx;
        d->alias = P->f->decls.n - 1;
    }
}

static void stmt_state(parser *P, int stmt_off)
{
    int off, len;
    if (!parse_name(P, &off, &len, "a state name"))
        return;
    nmm_decl *d = new_decl(P, K_STATE, off, len, stmt_off);
    if (!parse_unit(P, d) || !expect(P, T_EQ, "'=' and the initial value"))
        return;
    if (!(d->init = parse_expr(P)))
        return;
    nmm_expr *in = d->init;
    if (in->kind == E_CALL && nmm_tok_is(P->f, in->name_off, in->name_len, "uniform"))
        d->init_kind = 1;
    else if (in->kind == E_CALL && nmm_tok_is(P->f, in->name_off, in->name_len, "normal"))
        d->init_kind = 2;
    if (is_word(P, cur(P), "clamp") || is_word(P, cur(P), "wrap")) {
        d->bound = is_word(P, cur(P), "clamp") ? 1 : 2;
        d->bound_off = cur(P)->off;
        advance(P);
        if (!parse_range(P, &d->blo, &d->bhi))
            return;
    }
    d->incomplete = false;
}

static void stmt_simple(parser *P, int stmt_off, nmm_dkind k, const char *what)
{
    int off, len;
    if (!parse_name(P, &off, &len, what))
        return;
    nmm_decl *d = new_decl(P, k, off, len, stmt_off);
    if (!parse_unit(P, d) || !expect(P, T_EQ, "'='"))
        return;
    if (!(d->expr = parse_expr(P)))
        return;
    d->incomplete = false;
}

static void stmt_func(parser *P, int stmt_off)
{
    int off, len;
    if (!parse_name(P, &off, &len, "a func name"))
        return;
    nmm_decl *d = new_decl(P, K_FUNC, off, len, stmt_off);
    if (kind(P) == T_LBRACK) {
        perr(P, cur(P), "funcs take no unit annotation");
        return;
    }
    if (!expect(P, T_LPAREN, "'(' and the func's parameters"))
        return;
    nmm_vec names = {0}, offs = {0};
    for (;;) {
        int po, pl;
        if (!parse_name(P, &po, &pl, "a parameter name"))
            return;
        nmm_vec_push(&P->f->arena, &names, nmm_strndup(&P->f->arena, P->f->src + po, (size_t)pl));
        nmm_vec_push(&P->f->arena, &offs, (void *)(intptr_t)po);
        if (kind(P) == T_COMMA) {
            advance(P);
            continue;
        }
        break;
    }
    if (!expect(P, T_RPAREN, "',' or ')'") || !expect(P, T_EQ, "'='"))
        return;
    if (!(d->expr = parse_expr(P)))
        return;
    d->nfparams = names.n;
    d->fparams = (const char **)names.v;
    d->fparam_off = nmm_alloc(&P->f->arena, sizeof(int) * (size_t)names.n);
    for (int i = 0; i < names.n; i++)
        d->fparam_off[i] = (int)(intptr_t)offs.v[i];
    d->incomplete = false;
}

static void name_list(parser *P, nmm_vec *out, const char *what)
{
    for (;;) {
        int off, len;
        if (!parse_name(P, &off, &len, what))
            return;
        nmm_nameref *r = nmm_alloc(&P->f->arena, sizeof *r);
        r->off = off;
        r->len = len;
        r->line = nmm_line_of(P->f, off);
        nmm_vec_push(&P->f->arena, out, r);
        if (kind(P) != T_COMMA)
            return;
        advance(P);
    }
}

static nmm_fic_item *parse_fic_item(parser *P, bool in_record)
{
    int off, len;
    if (!parse_name(P, &off, &len, "a fic key"))
        return NULL;
    nmm_fic_item *it = nmm_alloc(&P->f->arena, sizeof *it);
    it->key_off = off;
    it->key_len = len;
    it->line = nmm_line_of(P->f, off);
    if (!expect(P, T_EQ, "'='"))
        return NULL;
    it->val_off = cur(P)->off;
    if (kind(P) == T_LBRACK) {
        it->vkind = 1;
        if (!parse_range(P, &it->lo, &it->hi))
            return NULL;
    } else if (kind(P) == T_LPAREN &&
               (peek_at(P, 1)->kind == T_RPAREN ||
                (peek_at(P, 1)->kind == T_IDENT && peek_at(P, 2)->kind == T_EQ))) {
        if (in_record) {
            perr(P, cur(P), "records do not nest");
            return NULL;
        }
        it->vkind = 2;
        advance(P);
        nmm_vec items = {0};
        if (kind(P) != T_RPAREN) {
            for (;;) {
                nmm_fic_item *sub = parse_fic_item(P, true);
                if (!sub)
                    return NULL;
                nmm_vec_push(&P->f->arena, &items, sub);
                if (kind(P) == T_COMMA) {
                    advance(P);
                    continue;
                }
                break;
            }
        }
        if (!expect(P, T_RPAREN, "',' or ')'"))
            return NULL;
        it->items = (nmm_fic_item **)items.v;
        it->nitems = items.n;
    } else {
        if (!(it->e = parse_expr(P)))
            return NULL;
    }
    it->val_end = prev_end(P);
    return it;
}

static void skip_line(parser *P)
{
    while (kind(P) != T_NL && kind(P) != T_EOF)
        advance(P);
}

static void end_stmt(parser *P)
{
    if (!P->fail && kind(P) != T_NL && kind(P) != T_EOF) {
        nmm_tok *t = cur(P);
        nmm_diag *d = perr(P, t, "unexpected %s after the end of the statement", describe(P, t));
        if (t->kind == T_IDENT || t->kind == T_NUM || t->kind == T_LPAREN)
            nmm_diag_extra(P->f, d, "help: there is no implicit multiplication; write '*'");
    }
    skip_line(P);
}

static bool is_statement_keyword(parser *P, const nmm_tok *t);

static void stmt_fic(parser *P, int stmt_off)
{
    nmm_fic *fic = nmm_alloc(&P->f->arena, sizeof *fic);
    fic->off = stmt_off;
    fic->line = nmm_line_of(P->f, stmt_off);
    if (!parse_name(P, &fic->name_off, &fic->name_len, "the name of the param that FIC sets"))
        return;
    nmm_tok *lb = cur(P);
    if (!expect(P, T_LBRACE, "'{'"))
        return;
    if (kind(P) != T_NL) {
        perr(P, cur(P), "expected the end of the line after '{', found %s", describe(P, cur(P)));
        return;
    }
    nmm_vec items = {0};
    for (;;) {
        while (kind(P) == T_NL)
            advance(P);
        if (kind(P) == T_RBRACE) {
            advance(P);
            break;
        }
        if (kind(P) == T_EOF) {
            P->fail = false;
            perr(P, lb, "unclosed fic block: '}' missing");
            return;
        }
        if (kind(P) == T_DDT || (kind(P) == T_IDENT && peek_at(P, 1)->kind != T_EQ &&
                                 is_statement_keyword(P, cur(P)))) {
            /* a statement inside the block: the '}' is missing; end the block here */
            P->fail = false;
            nmm_diag *d = perr(P, lb, "unclosed fic block: '}' missing");
            nmm_diag_extra(P->f, d, "note: line %d starts a new statement", nmm_line_of(P->f, cur(P)->off));
            P->p--; /* back to the end of the previous line, so that statement is parsed */
            break;
        }
        P->fail = false;
        nmm_fic_item *it = parse_fic_item(P, false);
        if (it)
            nmm_vec_push(&P->f->arena, &items, it);
        if (!P->fail && kind(P) != T_NL && kind(P) != T_RBRACE)
            perr(P, cur(P), "unexpected %s after a fic item", describe(P, cur(P)));
        if (kind(P) == T_RBRACE) {
            advance(P);
            break;
        }
        skip_line(P);
    }
    fic->items = (nmm_fic_item **)items.v;
    fic->nitems = items.n;
    nmm_vec_push(&P->f->arena, &P->f->fics, fic);
}

static const char *const keywords[] = {"model", "doc", "cite", "time_unit", "integrator", "param",
                                       "state", "let", "func", "coupling", "noise", "input",
                                       "output", "bold", "fic"};

static bool is_statement_keyword(parser *P, const nmm_tok *t)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (is_word(P, t, keywords[i]))
            return true;
    return false;
}

typedef struct word_choice {
    const char *word;
    int value;
} word_choice;

/* `time_unit` and `integrator`: a statement allowed once whose value is one word of a
 * fixed list. *seen_off holds the statement offset + 1 once seen. Returns true and sets
 * *value when the statement is valid. */
static bool stmt_once_choice(parser *P, const nmm_tok *kw, int so, const char *what,
                             const word_choice *choices, int n, const char *help,
                             int *seen_off, int *value)
{
    nmm_file *f = P->f;
    nmm_tok *v = cur(P);
    if (*seen_off) {
        nmm_diag *d = perr(P, kw, "'%.*s' given twice", kw->len, f->src + kw->off);
        nmm_diag_extra(f, d, "note: first given at line %d", nmm_line_of(f, *seen_off - 1));
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (is_word(P, v, choices[i].word)) {
            *value = choices[i].value;
            *seen_off = so + 1;
            advance(P);
            return true;
        }
    }
    nmm_diag *d = perr(P, v, "unknown %s %s", what, describe(P, v));
    nmm_diag_extra(f, d, "help: %s", help);
    return false;
}

static void statement(parser *P)
{
    nmm_file *f = P->f;
    nmm_tok *t = cur(P);
    int so = t->off;
    if (t->kind == T_DDT) {
        advance(P);
        nmm_ddt *dd = nmm_alloc(&f->arena, sizeof *dd);
        dd->off = so;
        dd->line = nmm_line_of(f, so);
        dd->decl = -1;
        if (!parse_name(P, &dd->name_off, &dd->name_len, "a state name after 'd/dt'"))
            return;
        nmm_vec_push(&f->arena, &f->ddts, dd);
        if (!expect(P, T_EQ, "'='"))
            return;
        dd->expr = parse_expr(P);
        return;
    }
    if (t->kind == T_ERROR) {
        P->fail = true;
        return;
    }
    if (t->kind != T_IDENT) {
        nmm_diag *d;
        switch (t->kind) {
        case T_PLUS: case T_MINUS: case T_STAR: case T_SLASH: case T_CARET: case T_LT: case T_LE:
        case T_GT: case T_GE: case T_EQEQ: case T_NE: case T_AND: case T_OR: case T_EQ: case T_TILDE:
        case T_COMMA:
            d = perr(P, t, "a line cannot start with %s", describe(P, t));
            nmm_diag_extra(f, d, "help: to continue a statement, end the previous line with the "
                           "operator");
            return;
        default:
            perr(P, t, "expected a statement, found %s", describe(P, t));
            return;
        }
    }
    advance(P);
    if (is_word(P, t, "model")) {
        int off, len;
        if (!parse_name(P, &off, &len, "the model name"))
            return;
        if (f->model_count++ > 0) {
            nmm_diag *d = perr(P, t, "a second 'model' statement");
            nmm_diag_extra(f, d, "note: the model is named at line %d", nmm_line_of(f, f->model_off));
            return;
        }
        f->model_off = off;
        f->model_len = len;
    } else if (is_word(P, t, "doc") || is_word(P, t, "cite")) {
        if (kind(P) != T_STRING) {
            perr(P, cur(P), "expected a string in double quotes, found %s", describe(P, cur(P)));
            return;
        }
        nmm_vec_push(&f->arena, is_word(P, t, "doc") ? &f->docs : &f->cites, (void *)cur(P)->str);
        advance(P);
    } else if (is_word(P, t, "time_unit")) {
        static const word_choice units[] = {
            {"s", BNM_TIME_S}, {"ms", BNM_TIME_MS}, {"us", BNM_TIME_US}};
        int v;
        if (stmt_once_choice(P, t, so, "time unit", units, 3, "write 's', 'ms' or 'us'",
                             &f->time_unit_off, &v))
            f->time_unit = (bnm_ir_time_unit)v;
    } else if (is_word(P, t, "integrator")) {
        static const word_choice integrators[] = {
            {"euler", BNM_INTEG_EULER}, {"heun", BNM_INTEG_HEUN}, {"rk4", BNM_INTEG_RK4}};
        int v;
        if (stmt_once_choice(P, t, so, "integrator", integrators, 3,
                             "write 'euler', 'heun' or 'rk4'", &f->integrator_off, &v))
            f->integrator = (bnm_ir_integrator)v;
    } else if (is_word(P, t, "param")) {
        stmt_param(P, so);
    } else if (is_word(P, t, "state")) {
        stmt_state(P, so);
    } else if (is_word(P, t, "let")) {
        stmt_simple(P, so, K_LET, "a let name");
    } else if (is_word(P, t, "coupling")) {
        stmt_simple(P, so, K_COUPLING, "a coupling name");
    } else if (is_word(P, t, "input")) {
        stmt_simple(P, so, K_INPUT, "an input name");
    } else if (is_word(P, t, "func")) {
        stmt_func(P, so);
    } else if (is_word(P, t, "noise")) {
        nmm_noise *nz = nmm_alloc(&f->arena, sizeof *nz);
        nz->off = so;
        nz->line = nmm_line_of(f, so);
        nmm_vec names = {0};
        name_list(P, &names, "a state name");
        if (P->fail)
            return;
        nz->nnames = names.n;
        nz->name_off = nmm_alloc(&f->arena, sizeof(int) * (size_t)names.n);
        nz->name_len = nmm_alloc(&f->arena, sizeof(int) * (size_t)names.n);
        for (int i = 0; i < names.n; i++) {
            nz->name_off[i] = ((nmm_nameref *)names.v[i])->off;
            nz->name_len[i] = ((nmm_nameref *)names.v[i])->len;
        }
        nmm_vec_push(&f->arena, &f->noises, nz);
        if (expect(P, T_TILDE, "'~' and the noise amplitude"))
            nz->expr = parse_expr(P);
    } else if (is_word(P, t, "output")) {
        name_list(P, &f->outputs, "a name to record");
    } else if (is_word(P, t, "bold")) {
        name_list(P, &f->bolds, "the name of the BOLD driver");
    } else if (is_word(P, t, "fic")) {
        stmt_fic(P, so);
    } else if (is_word(P, t, "extends") || is_word(P, t, "include")) {
        perr(P, t, "'%.*s' is not supported in version 1 of the format", t->len, f->src + t->off);
    } else {
        nmm_diag *d = perr(P, t, "unknown statement '%.*s'", t->len, f->src + t->off);
        int best = -1, bd = 99;
        for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
            int dd = nmm_damerau(f->src + t->off, t->len, keywords[i], (int)strlen(keywords[i]));
            if (dd < bd) {
                bd = dd;
                best = (int)i;
            }
        }
        if (kind(P) == T_EQ || kind(P) == T_LBRACK)
            nmm_diag_extra(f, d, "help: declare it with a keyword, e.g. 'let %.*s = ...'", t->len,
                           f->src + t->off);
        else if (bd <= 2 && t->len > 1)
            nmm_diag_extra(f, d, "help: did you mean '%s'?", keywords[best]);
        else
            nmm_diag_extra(f, d, "help: statements start with model, doc, cite, time_unit, "
                           "integrator, param, state, let, func, coupling, d/dt, noise, input, "
                           "output, bold or fic");
    }
}

void nmm_parse(nmm_file *f)
{
    parser P = {.f = f};
    while (kind(&P) != T_EOF) {
        if (kind(&P) == T_NL) {
            advance(&P);
            continue;
        }
        P.fail = false;
        P.depth = 0;
        statement(&P);
        end_stmt(&P);
    }
}
