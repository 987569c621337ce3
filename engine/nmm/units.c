/* Unit annotations (nmm-format.md section 7): parsing, algebra and printing. A unit is
 * a vector of integer SI exponents (s, m, kg, A, mol) and a scale; the symbols as
 * written are kept alongside so messages say [Hz] rather than [s^-1]. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nmm_internal.h"

enum { D_S, D_M, D_KG, D_A, D_MOL };

static const struct {
    const char *sym;
    signed char dim[NMM_NDIM];
    double scale;
} bases[] = {
    {"s", {1, 0, 0, 0, 0}, 1},     {"Hz", {-1, 0, 0, 0, 0}, 1},   {"m", {0, 1, 0, 0, 0}, 1},
    {"g", {0, 0, 1, 0, 0}, 1e-3},  {"V", {-3, 2, 1, -1, 0}, 1},   {"A", {0, 0, 0, 1, 0}, 1},
    {"C", {1, 0, 0, 1, 0}, 1},     {"S", {3, -2, -1, 2, 0}, 1},   {"F", {4, -2, -1, 2, 0}, 1},
    {"Ohm", {-3, 2, 1, -2, 0}, 1}, {"mol", {0, 0, 0, 0, 1}, 1},   {"rad", {0, 0, 0, 0, 0}, 1},
};

static const struct {
    char c;
    double f;
} prefixes[] = {{'p', 1e-12}, {'n', 1e-9}, {'u', 1e-6}, {'m', 1e-3}, {'k', 1e3}, {'M', 1e6}};

nmm_unit nmm_unit_one(void)
{
    nmm_unit u;
    memset(&u, 0, sizeof u);
    u.known = true;
    u.scale = 1;
    return u;
}

static void sym_add(nmm_unit *u, const char *sym, int exp)
{
    if (u->nsym < 0 || exp == 0)
        return;
    for (int i = 0; i < u->nsym; i++) {
        if (strcmp(u->syms[i].sym, sym) == 0) {
            u->syms[i].exp += exp;
            if (u->syms[i].exp == 0) {
                memmove(&u->syms[i], &u->syms[i + 1], sizeof u->syms[0] * (size_t)(u->nsym - i - 1));
                u->nsym--;
            }
            return;
        }
    }
    if (u->nsym == NMM_NSYM) {
        u->nsym = -1;
        return;
    }
    snprintf(u->syms[u->nsym].sym, sizeof u->syms[0].sym, "%s", sym);
    u->syms[u->nsym].exp = exp;
    u->nsym++;
}

/* Looks up one symbol such as "ms", "kHz", "Ohm". */
static bool symbol(const char *s, int n, nmm_unit *out)
{
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        if ((int)strlen(bases[b].sym) == n && memcmp(bases[b].sym, s, (size_t)n) == 0) {
            *out = nmm_unit_one();
            memcpy(out->dim, bases[b].dim, sizeof out->dim);
            out->scale = bases[b].scale;
            return true;
        }
    }
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        if (n < 2 || s[0] != prefixes[p].c)
            continue;
        for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
            if ((int)strlen(bases[b].sym) == n - 1 && memcmp(bases[b].sym, s + 1, (size_t)n - 1) == 0) {
                *out = nmm_unit_one();
                memcpy(out->dim, bases[b].dim, sizeof out->dim);
                out->scale = bases[b].scale * prefixes[p].f;
                return true;
            }
        }
    }
    return false;
}

typedef struct uparser {
    const char *s;
    int n, i, depth;
    char *err;
    size_t errlen;
    bool bad;
} uparser;

static void skip_ws(uparser *U)
{
    while (U->i < U->n && (U->s[U->i] == ' ' || U->s[U->i] == '\t'))
        U->i++;
}

static void uerr(uparser *U, const char *msg)
{
    if (!U->bad)
        snprintf(U->err, U->errlen, "%s", msg);
    U->bad = true;
}

static nmm_unit uprod(uparser *U);

static nmm_unit upow(uparser *U)
{
    nmm_unit u = nmm_unit_one();
    skip_ws(U);
    if (U->i < U->n && U->s[U->i] == '(') {
        if (++U->depth > 20) {
            uerr(U, "nested too deeply");
            return u;
        }
        U->i++;
        u = uprod(U);
        skip_ws(U);
        if (U->i >= U->n || U->s[U->i] != ')') {
            uerr(U, "expected ')'");
            return u;
        }
        U->i++;
        U->depth--;
    } else if (U->i < U->n && U->s[U->i] == '1' &&
               (U->i + 1 >= U->n || !isalnum((unsigned char)U->s[U->i + 1]))) {
        U->i++;
    } else if (U->i < U->n && isalpha((unsigned char)U->s[U->i])) {
        int st = U->i;
        while (U->i < U->n && isalpha((unsigned char)U->s[U->i]))
            U->i++;
        if (!symbol(U->s + st, U->i - st, &u)) {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown unit symbol '%.*s'", U->i - st > 40 ? 40 : U->i - st,
                     U->s + st);
            uerr(U, msg);
            return u;
        }
        char sym[8];
        snprintf(sym, sizeof sym, "%.*s", U->i - st, U->s + st);
        sym_add(&u, sym, 1);
    } else {
        uerr(U, U->i < U->n ? "expected a unit symbol, '1' or '('" : "expected a unit");
        return u;
    }
    skip_ws(U);
    if (U->i < U->n && U->s[U->i] == '^') {
        U->i++;
        skip_ws(U);
        int sign = 1;
        if (U->i < U->n && U->s[U->i] == '-') {
            sign = -1;
            U->i++;
            skip_ws(U);
        }
        if (U->i >= U->n || !isdigit((unsigned char)U->s[U->i])) {
            uerr(U, "expected an integer exponent after '^'");
            return u;
        }
        int e = 0;
        while (U->i < U->n && isdigit((unsigned char)U->s[U->i])) {
            e = e * 10 + (U->s[U->i] - '0');
            if (e > 12) {
                uerr(U, "exponent too large");
                return u;
            }
            U->i++;
        }
        u = nmm_unit_pow(&u, sign * e, 1);
    }
    return u;
}

static nmm_unit uprod(uparser *U)
{
    nmm_unit u = upow(U);
    for (;;) {
        if (U->bad)
            return u;
        skip_ws(U);
        if (U->i < U->n && (U->s[U->i] == '*' || U->s[U->i] == '/')) {
            int sign = U->s[U->i] == '*' ? 1 : -1;
            U->i++;
            nmm_unit v = upow(U);
            u = nmm_unit_mul(&u, &v, sign);
            continue;
        }
        return u;
    }
}

bool nmm_unit_parse(const char *text, int len, nmm_unit *out, char *err, size_t errlen)
{
    uparser U = {.s = text, .n = len, .err = err, .errlen = errlen};
    *out = uprod(&U);
    skip_ws(&U);
    if (!U.bad && U.i < U.n)
        uerr(&U, "unexpected text in the unit");
    out->known = !U.bad;
    return !U.bad;
}

nmm_unit nmm_unit_mul(const nmm_unit *a, const nmm_unit *b, int sign)
{
    nmm_unit u = *a;
    for (int d = 0; d < NMM_NDIM; d++)
        u.dim[d] = (signed char)(u.dim[d] + sign * b->dim[d]);
    u.scale = sign > 0 ? a->scale * b->scale : a->scale / b->scale;
    if (b->nsym < 0)
        u.nsym = -1;
    for (int i = 0; i < b->nsym && u.nsym >= 0; i++)
        sym_add(&u, b->syms[i].sym, sign * b->syms[i].exp);
    u.known = a->known && b->known;
    return u;
}

nmm_unit nmm_unit_pow(const nmm_unit *a, int num, int den)
{
    nmm_unit u = *a;
    for (int d = 0; d < NMM_NDIM; d++)
        u.dim[d] = (signed char)(a->dim[d] * num / den);
    u.scale = pow(a->scale, (double)num / den);
    for (int i = 0; i < u.nsym; i++) {
        if ((u.syms[i].exp * num) % den != 0) {
            u.nsym = -1;
            break;
        }
        u.syms[i].exp = u.syms[i].exp * num / den;
    }
    if (num == 0)
        u.nsym = 0;
    return u;
}

bool nmm_unit_same_dim(const nmm_unit *a, const nmm_unit *b)
{
    return memcmp(a->dim, b->dim, sizeof a->dim) == 0;
}

bool nmm_unit_equal(const nmm_unit *a, const nmm_unit *b)
{
    if (!nmm_unit_same_dim(a, b))
        return false;
    return fabs(a->scale - b->scale) <= 1e-12 * fmax(fabs(a->scale), fabs(b->scale));
}

bool nmm_unit_is_one(const nmm_unit *a)
{
    nmm_unit one = nmm_unit_one();
    return nmm_unit_equal(a, &one);
}

static void put(char *buf, size_t n, size_t *pos, const char *s)
{
    size_t l = strlen(s);
    if (*pos + l + 1 > n)
        l = *pos + 1 < n ? n - *pos - 1 : 0;
    memcpy(buf + *pos, s, l);
    *pos += l;
    buf[*pos] = '\0';
}

void nmm_unit_str(const nmm_unit *u, char *buf, size_t n)
{
    size_t pos = 0;
    buf[0] = '\0';
    char tmp[48];
    if (u->nsym >= 0) {
        int nnum = 0, nden = 0;
        for (int i = 0; i < u->nsym; i++)
            u->syms[i].exp > 0 ? nnum++ : nden++;
        if (nnum == 0)
            put(buf, n, &pos, "1");
        int k = 0;
        for (int i = 0; i < u->nsym; i++) {
            if (u->syms[i].exp <= 0)
                continue;
            if (k++)
                put(buf, n, &pos, "*");
            put(buf, n, &pos, u->syms[i].sym);
            if (u->syms[i].exp != 1) {
                snprintf(tmp, sizeof tmp, "^%d", u->syms[i].exp);
                put(buf, n, &pos, tmp);
            }
        }
        if (nden) {
            put(buf, n, &pos, nden > 1 ? "/(" : "/");
            k = 0;
            for (int i = 0; i < u->nsym; i++) {
                if (u->syms[i].exp >= 0)
                    continue;
                if (k++)
                    put(buf, n, &pos, "*");
                put(buf, n, &pos, u->syms[i].sym);
                if (u->syms[i].exp != -1) {
                    snprintf(tmp, sizeof tmp, "^%d", -u->syms[i].exp);
                    put(buf, n, &pos, tmp);
                }
            }
            if (nden > 1)
                put(buf, n, &pos, ")");
        }
        return;
    }
    static const char *names[NMM_NDIM] = {"s", "m", "kg", "A", "mol"};
    /* kg carries a scale of 1000 relative to g; the printed scale is relative to SI */
    if (u->scale != 1) {
        snprintf(tmp, sizeof tmp, "%g ", u->scale);
        put(buf, n, &pos, tmp);
    }
    int k = 0;
    for (int d = 0; d < NMM_NDIM; d++) {
        if (u->dim[d] == 0)
            continue;
        if (k++)
            put(buf, n, &pos, "*");
        put(buf, n, &pos, names[d]);
        if (u->dim[d] != 1) {
            snprintf(tmp, sizeof tmp, "^%d", u->dim[d]);
            put(buf, n, &pos, tmp);
        }
    }
    if (k == 0)
        put(buf, n, &pos, "1");
}

nmm_unit nmm_unit_time(bnm_ir_time_unit tu)
{
    nmm_unit u;
    const char *sym = tu == BNM_TIME_S ? "s" : tu == BNM_TIME_MS ? "ms" : "us";
    symbol(sym, (int)strlen(sym), &u);
    sym_add(&u, sym, 1);
    return u;
}
