/* Diagnostics of the .nmm front end, rendered as nmm-format.md section 13:
 *   FILE:LINE:COL: SEVERITY: MESSAGE
 *      29 | source line
 *         |     ^~~ ---
 *         = help: ...
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmm.h"
#include "nmm_internal.h"

#define NMM_MAX_ERRORS 50
#define NMM_MAX_WARNINGS 100
#define NMM_MAX_RENDER (4 << 20) /* bytes: very long lines times many diagnostics */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        sb_putn(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)n);
    free(big);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static int utf8_len(const unsigned char *s, int n)
{
    unsigned c = s[0];
    int k;
    unsigned min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        k = 2;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        k = 3;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        k = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (k > n)
        return 0;
    unsigned cp = c & (0x7F >> k);
    for (int i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

int nmm_utf8_len(const char *s, int n) { return utf8_len((const unsigned char *)s, n); }

/* A column span on the shown line: 1-based code-point column, width in code points. */
typedef struct colspan {
    int col, len;
} colspan;

/* Renders one diagnostic. line_text/line_len: the source line without its newline. */
static void render_one(sbuf *b, const char *file_name, int line_no, const char *line_text,
                       int line_len, colspan primary, const colspan *sec, int nsec,
                       const char *severity, const char *msg, const char *const *extra,
                       int nextra)
{
    if (line_no <= 0) {
        sb_printf(b, "%s: %s: %s\n", file_name, severity, msg);
        for (int i = 0; i < nextra; i++)
            sb_printf(b, "      = %s\n", extra[i]);
        return;
    }
    sb_printf(b, "%s:%d:%d: %s: %s\n", file_name, line_no, primary.col, severity, msg);
    if (line_text) {
        /* the source line: invalid UTF-8 and control bytes other than tab become '?' */
        sb_printf(b, "%5d | ", line_no);
        int ncols = 0;
        for (int i = 0; i < line_len;) {
            int k = utf8_len((const unsigned char *)line_text + i, line_len - i);
            unsigned char c = (unsigned char)line_text[i];
            if (k == 0 || (c < 0x20 && c != '\t') || c == 0x7F) {
                sb_putn(b, "?", 1);
                k = 1;
            } else {
                sb_putn(b, line_text + i, (size_t)k);
            }
            i += k;
            ncols++;
        }
        sb_puts(b, "\n");
        /* marker line */
        int last = primary.col + (primary.len > 0 ? primary.len : 1) - 1;
        for (int s = 0; s < nsec; s++)
            if (sec[s].len > 0 && sec[s].col + sec[s].len - 1 > last)
                last = sec[s].col + sec[s].len - 1;
        sb_puts(b, "      | ");
        int pos = 0; /* byte position in line_text */
        for (int col = 1; col <= last; col++) {
            char m = ' ';
            for (int s = 0; s < nsec; s++)
                if (col >= sec[s].col && col < sec[s].col + sec[s].len)
                    m = '-';
            if (col == primary.col)
                m = '^';
            else if (col > primary.col && col < primary.col + primary.len)
                m = '~';
            bool tab = pos < line_len && line_text[pos] == '\t';
            if (m == ' ' && tab)
                sb_putn(b, "\t", 1);
            else
                sb_putn(b, &m, 1);
            if (pos < line_len) {
                int k = utf8_len((const unsigned char *)line_text + pos, line_len - pos);
                pos += k ? k : 1;
            }
        }
        (void)ncols;
        sb_puts(b, "\n");
    }
    for (int i = 0; i < nextra; i++)
        sb_printf(b, "      = %s\n", extra[i]);
}

/* ---- positions ---------------------------------------------------------------------- */

static int line_index(const nmm_file *f, int off)
{
    int lo = 0, hi = f->nlines - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (f->line_start[mid] <= off)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int nmm_line_of(const nmm_file *f, int off)
{
    if (off < 0)
        return 0;
    return line_index(f, off) + 1;
}

static int cols_between(const char *s, int from, int to)
{
    int c = 0;
    for (int i = from; i < to; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

int nmm_col_of(const nmm_file *f, int off)
{
    if (off < 0)
        return 0;
    int li = line_index(f, off);
    return cols_between(f->src, f->line_start[li], off) + 1;
}

/* End of line li's text (excludes "\n" and a "\r" before it). */
static int line_end(const nmm_file *f, int li)
{
    int e = li + 1 < f->nlines ? f->line_start[li + 1] - 1 : f->len;
    if (e > f->line_start[li] && f->src[e - 1] == '\r')
        e--;
    return e;
}

/* ---- collection ---------------------------------------------------------------------- */

nmm_diag *nmm_diag_add(nmm_file *f, nmm_sev sev, int off, int len, const char *fmt, ...)
{
    if (f->diags.n >= 2000) { /* beyond the cap diagnostics are counted, not kept */
        if (sev == NMM_ERROR)
            f->nerrors++;
        return nmm_alloc(&f->arena, sizeof(nmm_diag)); /* msg NULL: extras are ignored */
    }
    nmm_diag *d = nmm_alloc(&f->arena, sizeof *d);
    d->sev = sev;
    d->off = off;
    d->len = len;
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    d->msg = nmm_strndup(&f->arena, tmp, strlen(tmp));
    d->seq = f->diags.n;
    nmm_vec_push(&f->arena, &f->diags, d);
    if (sev == NMM_ERROR)
        f->nerrors++;
    return d;
}

void nmm_diag_sec(nmm_diag *d, int off, int len)
{
    if (d->nsec < 4) {
        d->sec[d->nsec].off = off;
        d->sec[d->nsec].len = len;
        d->nsec++;
    }
}

void nmm_diag_extra(nmm_file *f, nmm_diag *d, const char *fmt, ...)
{
    if (d->nextra >= 6 || d->msg == NULL)
        return;
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    d->extra[d->nextra++] = nmm_strndup(&f->arena, tmp, strlen(tmp));
}

static int diag_cmp(const void *pa, const void *pb)
{
    const nmm_diag *a = *(nmm_diag *const *)pa, *b = *(nmm_diag *const *)pb;
    if (a->off != b->off)
        return a->off < b->off ? -1 : 1;
    return a->seq - b->seq;
}

static const char *sev_name(nmm_sev s)
{
    return s == NMM_ERROR ? "error" : s == NMM_WARNING ? "warning" : "note";
}

/* Byte span [off, off+len) clipped to line li, as columns. */
static colspan to_cols(const nmm_file *f, int li, int off, int len)
{
    colspan c = {0, 0};
    int ls = f->line_start[li], le = line_end(f, li);
    if (off < ls || off > le)
        return c;
    int end = off + (len > 0 ? len : 0);
    if (end > le)
        end = le;
    c.col = cols_between(f->src, ls, off) + 1;
    c.len = cols_between(f->src, off, end);
    return c;
}

char *nmm_render_all(nmm_file *f)
{
    sbuf b = {0};
    sb_puts(&b, "");
    int n = f->diags.n;
    nmm_diag **v = (nmm_diag **)f->diags.v;
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, diag_cmp);
    int shown_errors = 0, shown_warnings = 0, shown = 0;
    for (int i = 0; i < n; i++) {
        nmm_diag *d = v[i];
        /* unused-name warnings are mostly noise while the file has errors */
        if (d->is_unused && f->nerrors > 0)
            continue;
        if (i > 0 && v[i - 1]->off == d->off && strcmp(v[i - 1]->msg, d->msg) == 0)
            continue; /* the same finding twice (a func body checked per call) */
        if (d->sev == NMM_ERROR && shown_errors == NMM_MAX_ERRORS) {
            sb_printf(&b, "%s: error: too many errors, stopping after %d\n", f->file_name,
                      NMM_MAX_ERRORS);
            break;
        }
        if (d->sev != NMM_ERROR && shown_warnings == NMM_MAX_WARNINGS) {
            shown_warnings++;
            sb_printf(&b, "%s: note: more than %d warnings; the rest are not shown\n", f->file_name,
                      NMM_MAX_WARNINGS);
            continue;
        }
        if (d->sev != NMM_ERROR && shown_warnings > NMM_MAX_WARNINGS)
            continue;
        if (b.n > NMM_MAX_RENDER) {
            sb_printf(&b, "%s: note: further diagnostics omitted\n", f->file_name);
            break;
        }
        if (d->sev != NMM_ERROR)
            shown_warnings++;
        if (shown++ > 0)
            sb_puts(&b, "\n");
        if (d->sev == NMM_ERROR)
            shown_errors++;
        colspan prim = {0, 0};
        colspan sec[4];
        int nsec = 0, line_no = 0;
        const char *text = NULL;
        int tlen = 0;
        if (d->off >= 0 && f->nlines > 0) {
            int li = line_index(f, d->off);
            line_no = li + 1;
            text = f->src + f->line_start[li];
            tlen = line_end(f, li) - f->line_start[li];
            prim = to_cols(f, li, d->off, d->len);
            for (int s = 0; s < d->nsec; s++) {
                colspan c = to_cols(f, li, d->sec[s].off, d->sec[s].len);
                if (c.col > 0 && c.len > 0)
                    sec[nsec++] = c;
            }
        }
        render_one(&b, f->file_name, line_no, text, tlen, prim, sec, nsec, sev_name(d->sev),
                   d->msg, d->extra, d->nextra);
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

char *bnm_nmm_render_diag(const char *file_name, const char *source, int line, int col, int len,
                          const char *severity, const char *message)
{
    sbuf b = {0};
    sb_puts(&b, "");
    if (!file_name)
        file_name = "<model>";
    if (!severity)
        severity = "error";
    if (!message)
        message = "";
    const char *text = NULL;
    int tlen = 0;
    if (source && line > 0) {
        const char *p = source;
        if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
            (unsigned char)p[2] == 0xBF)
            p += 3;
        for (int l = 1; l < line && p; l++) {
            p = strchr(p, '\n');
            if (p)
                p++;
        }
        if (p) {
            const char *e = strchr(p, '\n');
            tlen = e ? (int)(e - p) : (int)strlen(p);
            if (tlen > 0 && p[tlen - 1] == '\r')
                tlen--;
            text = p;
        }
    }
    if (line <= 0)
        line = 0;
    colspan prim = {col > 0 ? col : 1, len > 0 ? len : 0};
    render_one(&b, file_name, line, text, tlen, prim, NULL, 0, severity, message, NULL, 0);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
