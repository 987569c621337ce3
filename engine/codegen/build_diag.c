/* Maps an OpenCL build log back to the model file: the generated code carries #line
 * directives, so the compiler already names FILE:LINE; this picks the first such error
 * and renders it with the model's source line (nmm-format.md 13, 15.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen_internal.h"
#include "nmm.h"

/* The text from file:... (or file(...)) to the end of the first log line naming the
 * model file, preferring a line that says "error" anywhere: compilers put it before
 * (PoCL: "error: f.nmm:12:8: ...") or after ("f.nmm:12:8: error: ...") the position. */
static char *model_line(const char *log, const char *file, bool want_error)
{
    size_t fl = strlen(file);
    for (const char *p = log; *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        for (const char *q = p; q + fl < p + n; q++) {
            if (strncmp(q, file, fl) != 0 || (q[fl] != ':' && q[fl] != '('))
                continue;
            bool has_error = false;
            for (const char *r = p; r + 5 <= p + n; r++)
                has_error |= strncmp(r, "error", 5) == 0;
            if (want_error && !has_error)
                break;
            size_t m = n - (size_t)(q - p);
            char *line = malloc(m + 1);
            if (!line)
                return NULL;
            memcpy(line, q, m);
            line[m] = '\0';
            return line;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return NULL;
}

void bnm_cg_build_diag(const bnm_model_ir *ir, const char *log, char **line_out,
                       char **render_out)
{
    *line_out = *render_out = NULL;
    if (!log || !ir->file_name || !*ir->file_name)
        return;
    char *first = model_line(log, ir->file_name, true);
    if (!first)
        first = model_line(log, ir->file_name, false);
    if (!first)
        return;
    *line_out = first;
    const char *p = first + strlen(ir->file_name);
    int line = 0, col = 0, used = 0;
    if (!((sscanf(p, ":%d:%d:%n", &line, &col, &used) == 2 && used > 0) ||
          (sscanf(p, ":%d:%n", &line, &used) == 1 && used > 0) ||
          (sscanf(p, "(%d):%n", &line, &used) == 1 && used > 0)) ||
        line <= 0)
        return;
    p += used;
    while (*p == ' ')
        p++;
    if (strncmp(p, "error:", 6) == 0)
        p += 6;
    while (*p == ' ')
        p++;
    /* The compiler's column counts in the generated line, not in the .nmm one, so the
     * marker goes at the statement's start. */
    *render_out = bnm_nmm_render_diag(ir->file_name, ir->source, line, 1, 1, "error", p);
}
