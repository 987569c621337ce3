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
    int lanes;    /* simulations per work-item: 1, 2, 4, 8 or 16 */
    int *state_transmit; /* [n_states] slot in T or -1 */
    int *let_transmit;   /* [n_lets] slot in T or -1 */
} bnm_cg_spec;

/* Sums (sum_j instances) the coupling pass can precompute; more are summed in place. */
#define BNM_CG_MAX_SUMS 32

/* What a generated kernel needs beyond the ABI: planes of its scratch buffers. */
typedef struct bnm_cg_layout {
    int n_node_cache; /* NODE-level values per (simulation, node) */
    int n_noisy;      /* noisy states: planes of the shared-noise buffer */
    int n_cpl;        /* precomputed sums: planes of the coupling buffer */
} bnm_cg_layout;

/* bnm_codegen_emit_full with the layout (abi_out may be NULL). */
bnm_status bnm_cg_emit(bnm_context *ctx, const bnm_model_ir *ir, const bnm_model_spec *spec,
                       char **source_out, bnm_model_abi **abi_out, bnm_cg_layout *layout_out);

/* Rows of the per-group index buffer ([group][row][lane] uint): seed bits 0-31, seed
 * bits 32-63, noise id, connectome, delay matrix, flags (lane 0; BNM_CG_FLAG_*). */
#define BNM_CG_GIDX_ROWS 6
/* Every lane has the same connectome and (with delays) the same delay matrix. */
#define BNM_CG_FLAG_UNIFORM_CONN 1u
/* Every lane has the same seed and noise id (common random numbers). */
#define BNM_CG_FLAG_SHARED_NOISE 2u
/* One lane: the whole work-group shares the connectome, which fits in local memory. */
#define BNM_CG_FLAG_LOCAL_W 4u
/* Work-group size of the one-lane (GPU) layout. */
#define BNM_CG_GPU_GROUP 64

bnm_status bnm_cg_spec_resolve(bnm_context *ctx, const bnm_model_ir *ir,
                               const bnm_model_spec *spec, bnm_cg_spec **out);
void bnm_cg_spec_destroy(bnm_cg_spec *rs);

/* True when a sum_j term is W * source or source * W (source index in *t): every back
 * end then accumulates it with one fused multiply-add, acc = fma(w, x_j, acc), which is
 * correctly rounded in C and OpenCL alike, so the back ends still agree bit for bit on
 * it, and a vectorised sum costs one instruction per term instead of two. */
bool bnm_cg_term_fma(const bnm_ir_expr *term, int *t);

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

/* ---- A batch's device buffers in the kernel's lane layout (kernel_data.c) ------------
 * Kernel arguments 7.. in this order (codegen.h). */
#include "clbnm/program.h"
#include "clbnm/runtime.h"

enum { BNM_KD_GIDX, BNM_KD_W, BNM_KD_DELAYS, BNM_KD_HIST, BNM_KD_SIMP, BNM_KD_NODEP,
       BNM_KD_NCACHE, BNM_KD_STATES, BNM_KD_STATUS, BNM_KD_ZBUF, BNM_KD_CPL, BNM_KD_COUNT };
/* Argument 18 is __local (the work-group's weights), sized by bnm_kdata_bind. */

typedef struct bnm_kdata {
    bnm_cl *cl;             /* borrowed */
    const bnm_cg_spec *rs;  /* borrowed */
    size_t rsize;           /* sizeof(nmm_sreal) */
    int lanes;
    bnm_cg_layout lay;
    cl_mem buf[BNM_KD_COUNT];
    int *slot;              /* [n_groups * lanes]: simulation in each lane, -1 padding */
    size_t wg;              /* work-group size: 1 with lanes, BNM_CG_GPU_GROUP without */
    bool local_w;           /* the weights of a uniform work-group go to local memory */
    int n_sims, n_groups, n;
    double dt, t0;
    uint32_t hl;
    uint64_t bytes;         /* device bytes allocated through bnm_kdata_make_buf */
} bnm_kdata;

void bnm_kdata_init(bnm_kdata *kd, bnm_cl *cl, const bnm_cg_spec *rs, const bnm_cg_layout *lay);
/* Checks the batch (bnm_cg_check_data, bnm_cg_check_states), places the simulations in
 * lanes and creates every buffer of kernel arguments 7..17, replacing earlier ones. */
bnm_status bnm_kdata_upload(bnm_context *ctx, bnm_kdata *kd, const bnm_model_data *d);
void bnm_kdata_release(bnm_kdata *kd);
/* A device buffer counted in kd->bytes; host (may be NULL) is copied in. */
bnm_status bnm_kdata_make_buf(bnm_context *ctx, bnm_kdata *kd, cl_mem *out, size_t bytes,
                              const void *host);
/* [n_sims][m] doubles to the device layout [groups][m][lanes] in the device precision
 * (padding lanes copy their group's lane 0). Caller frees; NULL on no memory. */
void *bnm_kdata_pack(const bnm_kdata *kd, const double *src, size_t m);
/* Device layout [groups][m_dev][lanes] to [n_sims][m_out] doubles (the first m_out of
 * each simulation's m_dev values). */
void bnm_kdata_unpack(const bnm_kdata *kd, const void *dev, size_t m_dev, size_t m_out,
                      double *dst);
/* Reads buffer `which` ([groups][m_dev][lanes]) into [n_sims][m_out] doubles. */
bnm_status bnm_kdata_read(bnm_context *ctx, const bnm_kdata *kd, int which, size_t m_dev,
                          size_t m_out, double *dst);
bnm_status bnm_kdata_read_status(bnm_context *ctx, const bnm_kdata *kd,
                                 bnm_sim_status *status_out);
/* Sets kernel arguments 0, 1, 4..17; bnm_kdata_launch sets 2 and 3 and enqueues. */
bnm_status bnm_kdata_bind(bnm_context *ctx, const bnm_kdata *kd, cl_kernel kn);
bnm_status bnm_kdata_launch(bnm_context *ctx, const bnm_kdata *kd, cl_kernel kn,
                            uint64_t first_step, uint32_t n_steps);
/* Lanes for a device: its preferred vector width on a CPU (PoCL vectorises nothing
 * across work-items as well as explicit vectors), 1 on GPUs; $CLBNM_LANES overrides. */
int bnm_cg_lanes_for_device(const bnm_device_info *dev, bnm_precision precision);

/* Double precision on a device without cl_khr_fp64 is a clear refusal (naming the
 * device and what to do), never a build error or silent float. */
bnm_status bnm_cg_check_precision(bnm_context *ctx, const bnm_device_info *dev,
                                  const char *model, bnm_precision precision);
/* Resolves spec for cl's device (lanes 0 become the device's choice; double precision
 * on a device without fp64 is BNM_ERR_UNSUPPORTED). *resolved gets the spec used. */
bnm_status bnm_cg_resolve_for_device(bnm_context *ctx, bnm_cl *cl, const bnm_model_ir *ir,
                                     const bnm_model_spec *spec, bnm_model_spec *resolved,
                                     bnm_cg_spec **rs_out);
/* Builds source through the cache and creates its kernel; a build error names the
 * model line (build_diag.c). what: "generated OpenCL C", "batch kernel", ... */
bnm_status bnm_cg_build_kernel(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                               const bnm_model_ir *ir, const char *source, const char *what,
                               const char *kernel_name, cl_program *program_out,
                               cl_kernel *kernel_out);

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
