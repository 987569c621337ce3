/* clbnm check --emit-cl in a build without the OpenCL code generator. */
#include <stdio.h>

#include "cli.h"

int cli_emit_cl(bnm_context *ctx, const struct bnm_model_ir *m, const int *level,
                const cli_common *common)
{
    (void)ctx;
    (void)m;
    (void)level;
    (void)common;
    fprintf(stderr, "clbnm check: error: --emit-cl is not available yet: this build has no "
                    "OpenCL code generator\n");
    return CLI_EXIT_USAGE;
}
