/* Internal to the model back ends (codegen/, interp/): the resolved run specialisation,
 * IR levels, and a small growable string. */
#ifndef CLBNM_CODEGEN_INTERNAL_H
#define CLBNM_CODEGEN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/context.h"
#include "clbnm/model_spec.h"
#include "ir.h"

/* A spec resolved against one model: indices instead of names, levels computed. */
typedef struct bnm_cg_spec {
    const bnm_model_ir *ir;
    bnm_param_level *plevel; /* [n_params] */
    double *pvalue;          /* [n_params]: the fixed value (default when not fixed) */
    int *sim_slot;           /* [n_params], -1 unless per_sim */
    int *node_slot;          /* [n_params], -1 unless per_node */
    int n_sim_params, n_node_params;
    bnm_abi_level *let_level;   /* [n_lets] */
    bnm_abi_level *input_level; /* [n_inputs] */
    bnm_precision precision;
    bnm_ir_integrator integrator;
    bool noise;   /* noise on and at least one amplitude not folding to 0 */
    bool delays;
    bnm_delay_rounding delay_rounding;
    int n_nodes;  /* compiled-in N or 0 */
    int *state_transmit; /* [n_states] slot in T or -1 */
    int *let_transmit;   /* [n_lets] slot in T or -1 */
} bnm_cg_spec;

bnm_status bnm_cg_spec_resolve(bnm_context *ctx, const bnm_model_ir *ir,
                               const bnm_model_spec *spec, bnm_cg_spec **out);
void bnm_cg_spec_destroy(bnm_cg_spec *rs);

/* Level of an expression under the spec (nmm-format.md 8.2). */
bnm_abi_level bnm_cg_level(const bnm_cg_spec *rs, const bnm_ir_expr *e);
/* True for comparisons, and, or, not. */
bool bnm_cg_is_bool(const bnm_ir_expr *e);
/* Folds a LIT-level expression in double (fixed params take their values). */
double bnm_cg_fold(const bnm_cg_spec *rs, const bnm_ir_expr *e);

/* Synthesised expressions the integrators share between the kernel and the interpreter:
 * sqrt(dt)*g for a state's noise amplitude (NULL when none). Caller frees. */
bnm_ir_expr *bnm_cg_noise_scale(const bnm_ir_expr *g);

/* Checks every batch field against the model; fills the rounded delay steps
 * (malloc'd [n_delay_mats][N][N] target-major, NULL when delays off) and the history
 * length (max delay + 1). */
bnm_status bnm_cg_check_data(bnm_context *ctx, const bnm_cg_spec *rs, const bnm_model_data *d,
                             int **delay_steps_out, uint32_t *hist_len_out);

/* FNV-1a 64 of the model file's bytes: in the source (so a changed file, comments
 * included, changes the kernel cache key, nmm-format.md 15.3) and in the ABI. */
uint64_t bnm_cg_source_hash(const bnm_model_ir *ir);

/* Initial states must be finite (a NaN start would be reported at step 1, not 0). */
bnm_status bnm_cg_check_states(bnm_context *ctx, const bnm_model_ir *ir, const bnm_model_data *d);

/* From an OpenCL build log: the first compiler line at a model line ("FILE:L:C: error:
 * ...") and that error rendered with the model's source line (section 13 format). Either
 * is NULL when the log names no model line. The caller frees both. */
void bnm_cg_build_diag(const bnm_model_ir *ir, const char *log, char **line_out,
                       char **render_out);

/* Growable string; on allocation failure it sets failed and ignores further text. */
typedef struct bnm_cg_buf {
    char *s;
    size_t len, cap;
    bool failed;
    int line; /* newlines written so far */
} bnm_cg_buf;

void bnm_cg_buf_puts(bnm_cg_buf *b, const char *text);
void bnm_cg_buf_printf(bnm_cg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bnm_cg_buf_free(bnm_cg_buf *b);

#endif
