/* Internal interface of the .nmm front end for other engine modules (code generator,
 * CLI): rendering a diagnostic at a model line for errors found after parsing, such as
 * an OpenCL build error mapped back through #line. */
#ifndef CLBNM_NMM_H
#define CLBNM_NMM_H

#ifdef __cplusplus
extern "C" {
#endif

/* Renders one diagnostic in the format of nmm-format.md section 13:
 *   FILE:LINE:COL: SEVERITY: MESSAGE, the source line behind a five-wide gutter and a
 *   marker line with '^' at COL and '~' under the next len-1 code points.
 * source: the whole model text (NUL-terminated, may be NULL: no source lines shown);
 * line, col: 1-based (col in code points); line <= 0 renders "FILE: SEVERITY: MESSAGE".
 * severity: "error", "warning" or "note". Returns a malloc'd string ending in '\n'
 * that the caller frees, or NULL when out of memory. */
char *bnm_nmm_render_diag(const char *file_name, const char *source, int line, int col, int len,
                          const char *severity, const char *message);

/* Length in bytes of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
int nmm_utf8_len(const char *s, int n);

#ifdef __cplusplus
}
#endif
#endif
