/* Public entry points of the .nmm front end (clbnm/model.h). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/model.h"
#include "core/file_read.h"
#include "nmm_internal.h"

/* Runs the passes; kept apart from the setjmp frame so no local is live across longjmp. */
static bnm_model_ir *run_passes(nmm_file *f)
{
    nmm_lex(f);
    nmm_parse(f);
    f->syntax_errors = f->nerrors;
    nmm_check(f);
    if (f->nerrors > 0)
        return NULL;
    return nmm_lower(f, f->orig, f->orig_len);
}

bnm_status bnm_nmm_parse(bnm_context *ctx, const char *file_name, const char *text, size_t len,
                         struct bnm_model_ir **out, char **diagnostics_out)
{
    if (out)
        *out = NULL;
    if (diagnostics_out)
        *diagnostics_out = NULL;
    if (!out || (!text && len > 0))
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_nmm_parse: out and text are required");
    if (len > (size_t)INT_MAX / 4)
        return bnm_fail(ctx, BNM_ERR_MODEL, "%s: model file too large (%zu bytes)",
                        file_name ? file_name : "<model>", len);
    if (!text)
        text = "";
    nmm_file *f = calloc(1, sizeof *f);
    jmp_buf *jb = malloc(sizeof *jb);
    if (!f || !jb) {
        free(f);
        free(jb);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory parsing a model file");
    }
    f->arena.oom = jb;
    f->file_name = file_name ? file_name : "<model>";
    const char *src = text;
    size_t slen = len;
    if (slen >= 3 && (unsigned char)src[0] == 0xEF && (unsigned char)src[1] == 0xBB &&
        (unsigned char)src[2] == 0xBF) {
        src += 3;
        slen -= 3;
    }
    f->time_unit = BNM_TIME_MS; /* defaults of nmm-format.md section 3 */
    f->integrator = BNM_INTEG_HEUN;
    f->orig = text;
    f->orig_len = len;
    f->src = src;
    f->len = (int)slen;
    bnm_model_ir *m = NULL;
    if (setjmp(*jb)) {
        nmm_arena_free(&f->arena);
        free(f);
        free(jb);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory parsing a model file");
    }
    m = run_passes(f);
    bool lower_failed = !m && f->nerrors == 0;
    char *diag = nmm_render_all(f);
    int nerrors = f->nerrors;
    nmm_arena_free(&f->arena);
    free(f);
    free(jb);
    if (!diag || lower_failed) {
        free(diag);
        bnm_model_ir_destroy(m);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory parsing a model file");
    }
    bnm_status st = BNM_OK;
    if (nerrors > 0 || !m) {
        bnm_model_ir_destroy(m);
        m = NULL;
        st = bnm_fail(ctx, BNM_ERR_MODEL, "%s", diag);
    }
    *out = m;
    if (diagnostics_out)
        *diagnostics_out = diag;
    else
        free(diag);
    return st;
}

bnm_status bnm_nmm_load(bnm_context *ctx, const char *path, struct bnm_model_ir **out,
                        char **diagnostics_out)
{
    if (out)
        *out = NULL;
    if (diagnostics_out)
        *diagnostics_out = NULL;
    if (!path || !out)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "bnm_nmm_load: path and out are required");
    char *buf = NULL;
    size_t n = 0;
    int e = 0;
    switch (bnm_file_read_all(path, &buf, &n, &e)) {
    case BNM_FILE_READ_OK:
        break;
    case BNM_FILE_READ_OPEN_FAILED:
        return bnm_fail(ctx, BNM_ERR_IO, "cannot open model file '%s': %s", path, strerror(e));
    case BNM_FILE_READ_FAILED:
        return bnm_fail(ctx, BNM_ERR_IO, "cannot read model file '%s': %s", path, strerror(e));
    case BNM_FILE_READ_NOMEM:
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    bnm_status st = bnm_nmm_parse(ctx, path, buf, n, out, diagnostics_out);
    free(buf);
    return st;
}
