/* A growable string for the code generator; it tracks the line count so engine code
 * can carry correct `#line n "<clbnm>"` directives. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen_internal.h"

static void append(bnm_cg_buf *b, const char *text, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
    for (size_t k = 0; k < n; k++)
        if (text[k] == '\n')
            b->line++;
}

void bnm_cg_buf_puts(bnm_cg_buf *b, const char *text)
{
    append(b, text, strlen(text));
}

void bnm_cg_buf_printf(bnm_cg_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        append(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    append(b, big, (size_t)n);
    free(big);
}

void bnm_cg_buf_free(bnm_cg_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
