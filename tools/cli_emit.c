/* clbnm check --emit-cl: the generated OpenCL C of a model (nmm-format.md 14). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clbnm/codegen.h"
#include "ir.h"

int cli_emit_cl(bnm_context *ctx, const bnm_model_ir *m, const int *level,
                const cli_common *common, int lanes)
{
    bnm_param_setting *set = calloc((size_t)m->n_params + 1, sizeof *set);
    if (!set)
        return CLI_EXIT_DEVICE;
    int n = 0;
    for (int i = 0; i < m->n_params; i++) {
        const bnm_ir_param *p = &m->params[i];
        bnm_param_level l = level[i] == 2   ? BNM_PARAM_PER_NODE
                            : level[i] == 1 ? BNM_PARAM_PER_SIM
                                            : BNM_PARAM_FIXED;
        /* A required param has no value to compile in: show it as data. */
        if (l == BNM_PARAM_FIXED && !p->has_default && !p->is_const)
            l = BNM_PARAM_PER_SIM;
        if (l != BNM_PARAM_FIXED)
            set[n++] = (bnm_param_setting){.name = p->name, .level = l};
    }
    bnm_model_spec spec;
    bnm_model_spec_init_defaults(&spec);
    spec.params = set;
    spec.n_params = n;
    spec.precision = common->precision && strcmp(common->precision, "double") == 0
                         ? BNM_PRECISION_DOUBLE
                         : BNM_PRECISION_FLOAT;
    spec.lanes = lanes;
    char *src = NULL;
    bnm_status st = bnm_codegen_emit(ctx, m, &spec, &src);
    free(set);
    if (st != BNM_OK)
        return cli_report(ctx, st);
    fputs(src, stdout);
    free(src);
    return CLI_EXIT_OK;
}
