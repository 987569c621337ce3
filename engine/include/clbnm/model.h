/* Model files (.nmm, nmm-format.md): parsing and checking into the model IR that the
 * code generator and the host interpreter consume. */
#ifndef CLBNM_MODEL_H
#define CLBNM_MODEL_H

#include <stddef.h>

#include "clbnm/context.h"
#include "clbnm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bnm_model_ir; /* defined in engine/ir/ir.h */

/* Parses and checks one .nmm text. file_name is used in diagnostics and #line. On success
   *out owns the IR (free with bnm_model_ir_destroy). On failure returns BNM_ERR_MODEL and
   *out = NULL; the context message holds the rendered diagnostics. diagnostics_out, when
   non-NULL, receives all rendered diagnostics (errors and warnings, "" when none); caller
   frees with free(). text need not be NUL-terminated; len bytes are read. */
bnm_status bnm_nmm_parse(bnm_context *ctx, const char *file_name, const char *text, size_t len,
                         struct bnm_model_ir **out, char **diagnostics_out);

/* Reads the file at path and calls bnm_nmm_parse with file_name = path as given. A missing or
   unreadable file is BNM_ERR_IO naming the path. */
bnm_status bnm_nmm_load(bnm_context *ctx, const char *path, struct bnm_model_ir **out,
                        char **diagnostics_out);

#ifdef __cplusplus
}
#endif
#endif
