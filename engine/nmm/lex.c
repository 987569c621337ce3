/* Lexer of the .nmm format (nmm-format.md section 2): tokens, logical lines and the
 * helpful errors for spellings borrowed from other languages. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmm.h"
#include "nmm_internal.h"

static const struct {
    unsigned cp;
    const char *name;
} greek[] = {
    {0x3B1, "alpha"}, {0x3B2, "beta"}, {0x3B3, "gamma"}, {0x3B4, "delta"}, {0x3B5, "epsilon"},
    {0x3B6, "zeta"}, {0x3B7, "eta"}, {0x3B8, "theta"}, {0x3B9, "iota"}, {0x3BA, "kappa"},
    {0x3BB, "lambda"}, {0x3BC, "mu"}, {0x3BD, "nu"}, {0x3BE, "xi"}, {0x3BF, "omicron"},
    {0x3C0, "pi"}, {0x3C1, "rho"}, {0x3C2, "sigma"}, {0x3C3, "sigma"}, {0x3C4, "tau"},
    {0x3C5, "upsilon"}, {0x3C6, "phi"}, {0x3C7, "chi"}, {0x3C8, "psi"}, {0x3C9, "omega"},
    {0x391, "Alpha"}, {0x392, "Beta"}, {0x393, "Gamma"}, {0x394, "Delta"}, {0x395, "Epsilon"},
    {0x396, "Zeta"}, {0x397, "Eta"}, {0x398, "Theta"}, {0x399, "Iota"}, {0x39A, "Kappa"},
    {0x39B, "Lambda"}, {0x39C, "Mu"}, {0x39D, "Nu"}, {0x39E, "Xi"}, {0x39F, "Omicron"},
    {0x3A0, "Pi"}, {0x3A1, "Rho"}, {0x3A3, "Sigma"}, {0x3A4, "Tau"}, {0x3A5, "Upsilon"},
    {0x3A6, "Phi"}, {0x3A7, "Chi"}, {0x3A8, "Psi"}, {0x3A9, "Omega"}, {0x3D5, "phi"},
    {0xB5, "mu"},
};

static const char *greek_name(unsigned cp)
{
    for (size_t i = 0; i < sizeof greek / sizeof greek[0]; i++)
        if (greek[i].cp == cp)
            return greek[i].name;
    return NULL;
}

static unsigned decode(const char *s, int k)
{
    const unsigned char *u = (const unsigned char *)s;
    if (k == 1)
        return u[0];
    unsigned cp = u[0] & (0x7F >> k);
    for (int i = 1; i < k; i++)
        cp = (cp << 6) | (u[i] & 0x3F);
    return cp;
}

static bool is_ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

typedef struct lexer {
    nmm_file *f;
    nmm_vec toks; /* nmm_tok* in arena; copied to an array at the end */
    int depth;
    bool stmt_start;
} lexer;

static nmm_tok *emit(lexer *L, nmm_tok_kind k, int off, int len)
{
    nmm_tok *t = nmm_alloc(&L->f->arena, sizeof *t);
    t->kind = k;
    t->off = off;
    t->len = len;
    nmm_vec_push(&L->f->arena, &L->toks, t);
    L->stmt_start = k == T_NL;
    return t;
}

static bool continues(nmm_tok_kind k)
{
    switch (k) {
    case T_PLUS: case T_MINUS: case T_STAR: case T_SLASH: case T_CARET:
    case T_LT: case T_LE: case T_GT: case T_GE: case T_EQEQ: case T_NE:
    case T_AND: case T_OR: case T_NOT: case T_COMMA: case T_EQ: case T_TILDE:
        return true;
    default:
        return false;
    }
}

static nmm_tok_kind last_kind(const lexer *L)
{
    return L->toks.n ? ((nmm_tok *)L->toks.v[L->toks.n - 1])->kind : T_NL;
}

static void lex_error(lexer *L, int off, int len, const char *help, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void lex_error(lexer *L, int off, int len, const char *help, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nmm_diag *d = nmm_diag_add(L->f, NMM_ERROR, off, len, "%s", msg);
    if (help)
        nmm_diag_extra(L->f, d, "help: %s", help);
    emit(L, T_ERROR, off, len);
}

/* Splits the text into lines and records each line's comment. */
static void build_lines(nmm_file *f)
{
    int n = 1;
    for (int i = 0; i < f->len; i++)
        if (f->src[i] == '\n')
            n++;
    f->line_start = nmm_alloc(&f->arena, sizeof(int) * (size_t)n);
    f->line_comment = nmm_alloc(&f->arena, sizeof(char *) * (size_t)n);
    f->nlines = n;
    int li = 0;
    f->line_start[0] = 0;
    for (int i = 0; i < f->len; i++)
        if (f->src[i] == '\n')
            f->line_start[++li] = i + 1;
}

static void lex_number(lexer *L, int *pi)
{
    nmm_file *f = L->f;
    const char *s = f->src;
    int i = *pi, start = i;
    bool int_lit = true;
    while (i < f->len && isdigit((unsigned char)s[i]))
        i++;
    if (i < f->len && s[i] == '.') {
        int_lit = false;
        i++;
        while (i < f->len && isdigit((unsigned char)s[i]))
            i++;
    }
    if (i < f->len && (s[i] == 'e' || s[i] == 'E')) {
        int j = i + 1;
        if (j < f->len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < f->len && isdigit((unsigned char)s[j])) {
            int_lit = false;
            while (j < f->len && isdigit((unsigned char)s[j]))
                j++;
            i = j;
        }
    }
    if (i < f->len && (is_ident_char(s[i]) || s[i] == '.')) {
        int j = i;
        while (j < f->len && (is_ident_char(s[j]) || s[j] == '.'))
            j++;
        char *txt = nmm_strndup(&f->arena, s + start, (size_t)(j - start));
        const char *help = isalpha((unsigned char)s[i]) && s[i] != 'e' && s[i] != 'E'
                               ? "there is no implicit multiplication: write the '*'; for a "
                                 "value with a unit, declare a param with a unit annotation"
                               : NULL;
        lex_error(L, start, j - start, help, "malformed number '%s'", txt);
        *pi = j;
        return;
    }
    char buf[128];
    int n = i - start;
    if (n >= (int)sizeof buf) {
        lex_error(L, start, n, NULL, "number '%s' has too many digits",
                  nmm_strndup(&f->arena, s + start, (size_t)n));
        *pi = i;
        return;
    }
    memcpy(buf, s + start, (size_t)n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v)) {
        lex_error(L, start, n, NULL, "number '%s' is too large for a double", buf);
        *pi = i;
        return;
    }
    nmm_tok *t = emit(L, T_NUM, start, n);
    t->num = v;
    t->int_lit = int_lit;
    *pi = i;
}

static void lex_string(lexer *L, int *pi)
{
    nmm_file *f = L->f;
    const char *s = f->src;
    int start = *pi, i = start + 1;
    char *out = nmm_alloc(&f->arena, (size_t)(f->len - start) + 1);
    int n = 0;
    for (;;) {
        if (i >= f->len || s[i] == '\n' || (s[i] == '\r' && i + 1 < f->len && s[i + 1] == '\n')) {
            lex_error(L, start, 1, "strings end on the line they start on", "%sunterminated string",
                      "");
            *pi = i;
            return;
        }
        if (s[i] == '"')
            break;
        if (s[i] == '\\') {
            if (i + 1 < f->len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
                out[n++] = s[i + 1];
                i += 2;
                continue;
            }
            lex_error(L, i, 2, "only \\\" and \\\\ are escapes in strings",
                      "unknown escape in string%s", "");
            /* skip to the end of the string so it is reported once */
            while (i < f->len && s[i] != '"' && s[i] != '\n')
                i++;
            *pi = i < f->len && s[i] == '"' ? i + 1 : i;
            return;
        }
        int k = nmm_utf8_len(s + i, f->len - i);
        if (k == 0) {
            lex_error(L, i, 1, NULL, "invalid UTF-8 in string%s", "");
            while (i < f->len && s[i] != '"' && s[i] != '\n')
                i++;
            *pi = i < f->len && s[i] == '"' ? i + 1 : i;
            return;
        }
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
            lex_error(L, i, 1, NULL, "control character in string%s", "");
            while (i < f->len && s[i] != '"' && s[i] != '\n')
                i++;
            *pi = i < f->len && s[i] == '"' ? i + 1 : i;
            return;
        }
        memcpy(out + n, s + i, (size_t)k);
        n += k;
        i += k;
    }
    out[n] = '\0';
    nmm_tok *t = emit(L, T_STRING, start, i + 1 - start);
    t->str = out;
    *pi = i + 1;
}

static void lex_non_ascii(lexer *L, int *pi)
{
    nmm_file *f = L->f;
    const char *s = f->src;
    int i = *pi;
    int k = nmm_utf8_len(s + i, f->len - i);
    if (k == 0) {
        char hex[8];
        static const char digits[] = "0123456789ABCDEF";
        unsigned char c = (unsigned char)s[i];
        hex[0] = '0';
        hex[1] = 'x';
        hex[2] = digits[c >> 4];
        hex[3] = digits[c & 15];
        hex[4] = '\0';
        lex_error(L, i, 1, NULL, "invalid UTF-8 byte %s", nmm_strndup(&f->arena, hex, 4));
        *pi = i + 1;
        return;
    }
    /* gather the whole word so the hint can spell it in ASCII */
    int start = i;
    while (start > 0 && is_ident_char(s[start - 1]) && L->toks.n &&
           ((nmm_tok *)L->toks.v[L->toks.n - 1])->off + ((nmm_tok *)L->toks.v[L->toks.n - 1])->len ==
               start &&
           ((nmm_tok *)L->toks.v[L->toks.n - 1])->kind == T_IDENT) {
        /* a word like `tau_α` was lexed as IDENT up to the letter: take it back */
        nmm_tok *prev = L->toks.v[L->toks.n - 1];
        start = prev->off;
        L->toks.n--;
        break;
    }
    char word[256];
    int wn = 0, j = start;
    bool all_greek = true;
    while (j < f->len && wn < 200) {
        if (is_ident_char(s[j])) {
            word[wn++] = s[j++];
            continue;
        }
        int kk = nmm_utf8_len(s + j, f->len - j);
        if (kk <= 1)
            break;
        const char *g = greek_name(decode(s + j, kk));
        if (!g) {
            all_greek = false;
            if (j == i)
                j += kk;
            break;
        }
        size_t gl = strlen(g);
        if (wn + (int)gl >= 200)
            break;
        /* separate a Greek letter from a following letter: `τE` -> `tau_E` */
        memcpy(word + wn, g, gl);
        wn += (int)gl;
        j += kk;
        if (j < f->len && isalnum((unsigned char)s[j]))
            word[wn++] = '_';
    }
    word[wn] = '\0';
    char *ch = nmm_strndup(&f->arena, s + i, (size_t)k);
    if (all_greek && greek_name(decode(s + i, k))) {
        char *help = nmm_printf(&f->arena, "identifiers are ASCII; write '%s'", word);
        lex_error(L, i, 1, help, "non-ASCII character '%s' outside a string or comment", ch);
    } else {
        lex_error(L, i, 1, "non-ASCII characters are allowed only in strings and comments",
                  "non-ASCII character '%s' outside a string or comment", ch);
    }
    *pi = j > i ? j : i + k;
}

void nmm_lex(nmm_file *f)
{
    build_lines(f);
    lexer L = {.f = f, .stmt_start = true};
    const char *s = f->src;
    int i = 0, line = 0;
    while (i < f->len) {
        char c = s[i];
        if (c == '\n') {
            if (L.depth == 0 && !continues(last_kind(&L)) && last_kind(&L) != T_NL)
                emit(&L, T_NL, i, 1);
            line++;
            i++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            i++;
            continue;
        }
        if (c == '#') {
            int j = i + 1;
            while (j < f->len && s[j] != '\n')
                j++;
            /* comments may hold any valid UTF-8 */
            for (int q = i + 1; q < j;) {
                int k = nmm_utf8_len(s + q, j - q);
                if (k == 0) {
                    nmm_diag_add(f, NMM_ERROR, q, 1, "invalid UTF-8 in comment");
                    break;
                }
                q += k;
            }
            int a = i + 1, b = j;
            while (a < b && (s[a] == ' ' || s[a] == '\t'))
                a++;
            while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
                b--;
            if (line < f->nlines)
                f->line_comment[line] = nmm_strndup(&f->arena, s + a, (size_t)(b - a));
            i = j;
            continue;
        }
        if (isdigit((unsigned char)c) || (c == '.' && i + 1 < f->len && isdigit((unsigned char)s[i + 1]))) {
            lex_number(&L, &i);
            continue;
        }
        if (isalpha((unsigned char)c) || c == '_') {
            int j = i;
            while (j < f->len && is_ident_char(s[j]))
                j++;
            int n = j - i;
            if (j < f->len && ((unsigned char)s[j] & 0x80) && nmm_utf8_len(s + j, f->len - j) > 1) {
                /* a Greek letter inside a word: report the whole word */
                emit(&L, T_IDENT, i, n);
                i = j;
                continue;
            }
            if (c == '_') {
                lex_error(&L, i, n, "names start with a letter", "invalid name '%s'",
                          nmm_strndup(&f->arena, s + i, (size_t)n));
                i = j;
                continue;
            }
            bool at_start = L.stmt_start;
            if (at_start && n == 1 && c == 'd' && j + 2 < f->len && s[j] == '/' && s[j + 1] == 'd' &&
                s[j + 2] == 't' && (j + 3 >= f->len || !is_ident_char(s[j + 3]))) {
                emit(&L, T_DDT, i, 4);
                i = j + 3;
                continue;
            }
            if (at_start && n >= 2 && c == 'd' && j + 2 < f->len && s[j] == '/' && s[j + 1] == 'd' &&
                s[j + 2] == 't' && (j + 3 >= f->len || !is_ident_char(s[j + 3]))) {
                char *var = nmm_strndup(&f->arena, s + i + 1, (size_t)(n - 1));
                char *help = nmm_printf(&f->arena, "write 'd/dt %s = ...'", var);
                lex_error(&L, i, n + 3, help, "'%s' is not a statement",
                          nmm_strndup(&f->arena, s + i, (size_t)(n + 3)));
                i = j + 3;
                continue;
            }
            if (j < f->len && s[j] == '\'') {
                char *var = nmm_strndup(&f->arena, s + i, (size_t)n);
                char *help = nmm_printf(&f->arena, "write 'd/dt %s = ...' for a derivative", var);
                lex_error(&L, i, n + 1, help, "'%s'' is not supported", var);
                i = j + 1;
                continue;
            }
            if (n > 63) {
                lex_error(&L, i, n, "names have at most 63 characters", "name '%s' is too long",
                          nmm_strndup(&f->arena, s + i, 20));
                i = j;
                continue;
            }
            nmm_tok_kind k = T_IDENT;
            if (nmm_tok_is(f, i, n, "and"))
                k = T_AND;
            else if (nmm_tok_is(f, i, n, "or"))
                k = T_OR;
            else if (nmm_tok_is(f, i, n, "not"))
                k = T_NOT;
            emit(&L, k, i, n);
            i = j;
            continue;
        }
        if ((unsigned char)c & 0x80) {
            lex_non_ascii(&L, &i);
            continue;
        }
        char c2 = i + 1 < f->len ? s[i + 1] : '\0';
        nmm_tok_kind k;
        int n = 1;
        switch (c) {
        case '"': lex_string(&L, &i); continue;
        case '+': k = T_PLUS; break;
        case '-': k = T_MINUS; break;
        case '*':
            if (c2 == '*') {
                lex_error(&L, i, 2, "write 'x^y' for a power", "'%s' is not an operator", "**");
                i += 2;
                continue;
            }
            k = T_STAR;
            break;
        case '/': k = T_SLASH; break;
        case '^': k = T_CARET; break;
        case '<': if (c2 == '=') { k = T_LE; n = 2; } else k = T_LT; break;
        case '>': if (c2 == '=') { k = T_GE; n = 2; } else k = T_GT; break;
        case '=': if (c2 == '=') { k = T_EQEQ; n = 2; } else k = T_EQ; break;
        case '!':
            if (c2 == '=') {
                k = T_NE;
                n = 2;
                break;
            }
            lex_error(&L, i, 1, "write 'not' for a negation", "'%s' is not an operator", "!");
            i++;
            continue;
        case '%':
            lex_error(&L, i, 1, "write 'mod(x, m)' for a remainder", "'%s' is not an operator", "%");
            i++;
            continue;
        case '&':
            lex_error(&L, i, c2 == '&' ? 2 : 1, "write 'and'", "'%s' is not an operator",
                      c2 == '&' ? "&&" : "&");
            i += c2 == '&' ? 2 : 1;
            continue;
        case '|':
            lex_error(&L, i, c2 == '|' ? 2 : 1, "write 'or'", "'%s' is not an operator",
                      c2 == '|' ? "||" : "|");
            i += c2 == '|' ? 2 : 1;
            continue;
        case '~': k = T_TILDE; break;
        case '(': k = T_LPAREN; L.depth++; break;
        case '[': k = T_LBRACK; L.depth++; break;
        case ')': k = T_RPAREN; if (L.depth > 0) L.depth--; break;
        case ']': k = T_RBRACK; if (L.depth > 0) L.depth--; break;
        case '{': k = T_LBRACE; break;
        case '}': k = T_RBRACE; break;
        case ',': k = T_COMMA; break;
        default: {
            char tmp[8];
            if ((unsigned char)c < 0x20 || c == 0x7F)
                lex_error(&L, i, 1, NULL, "unexpected control character%s", "");
            else {
                tmp[0] = c;
                tmp[1] = '\0';
                lex_error(&L, i, 1, NULL, "unexpected character '%s'", nmm_strndup(&f->arena, tmp, 1));
            }
            i++;
            continue;
        }
        }
        emit(&L, k, i, n);
        i += n;
    }
    if (last_kind(&L) != T_NL)
        emit(&L, T_NL, f->len, 0);
    emit(&L, T_EOF, f->len, 0);
    f->toks = nmm_alloc(&f->arena, sizeof(nmm_tok) * (size_t)L.toks.n);
    for (int t = 0; t < L.toks.n; t++)
        f->toks[t] = *(nmm_tok *)L.toks.v[t];
    f->ntoks = L.toks.n;
}
