/* Arena, vectors and small name helpers of the .nmm front end. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmm_internal.h"

struct nmm_arena_block {
    nmm_arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

#define NMM_BLOCK (64 * 1024)

void *nmm_alloc(nmm_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n == 0)
        n = sizeof(max_align_t);
    nmm_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > NMM_BLOCK ? n : NMM_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b)
            longjmp(*a->oom, 1);
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *nmm_strndup(nmm_arena *a, const char *s, size_t n)
{
    char *p = nmm_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *nmm_printf(nmm_arena *a, const char *fmt, ...)
{
    /* Format into a stack buffer first: most messages fit, and gcc's sanitizer builds
     * reject the vsnprintf(NULL, 0, ...) sizing idiom under -Werror. */
    char small[256];
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
        small[0] = '\0';
    }
    char *p = nmm_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof small)
        memcpy(p, small, (size_t)n + 1);
    else
        vsnprintf(p, (size_t)n + 1, fmt, again);
    va_end(again);
    return p;
}

void nmm_arena_free(nmm_arena *a)
{
    nmm_arena_block *b = a->head;
    while (b) {
        nmm_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void nmm_vec_push(nmm_arena *a, nmm_vec *vec, void *p)
{
    if (vec->n == vec->cap) {
        int cap = vec->cap ? vec->cap * 2 : 8;
        void **v = nmm_alloc(a, sizeof(void *) * (size_t)cap);
        if (vec->n)
            memcpy(v, vec->v, sizeof(void *) * (size_t)vec->n);
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = p;
}

bool nmm_tok_is(const nmm_file *f, int off, int len, const char *word)
{
    size_t n = strlen(word);
    return (size_t)len == n && memcmp(f->src + off, word, n) == 0;
}

int nmm_builtin_lookup(const char *s, int len)
{
    for (int fn = 0; fn < BNM_FN_COUNT_; fn++) {
        const char *name = bnm_ir_builtin_name((bnm_ir_builtin)fn);
        if ((int)strlen(name) == len && memcmp(name, s, (size_t)len) == 0)
            return fn;
    }
    return -1;
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions);
 * names are at most 63 characters, longer inputs are truncated. */
int nmm_damerau(const char *a, int la, const char *b, int lb)
{
    enum { M = 64 };
    int d[M + 1][M + 1];
    if (la > M)
        la = M;
    if (lb > M)
        lb = M;
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++) {
        for (int j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}
