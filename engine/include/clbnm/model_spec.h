/* Run specialisation of a model (nmm-format.md section 8) and the data a network run
 * needs. Shared by the OpenCL code generator / launcher (codegen.h, model_kernel.h) and
 * the host interpreter (interp.h), so both run exactly the same thing. */
#ifndef CLBNM_MODEL_SPEC_H
#define CLBNM_MODEL_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "clbnm/context.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bnm_model_ir;

typedef enum bnm_param_level {
    BNM_PARAM_FIXED,    /* one value for the run, compiled in as a literal */
    BNM_PARAM_PER_SIM,  /* data: one value per simulation */
    BNM_PARAM_PER_NODE  /* data: one value per (simulation, node); regional params only */
} bnm_param_level;

typedef enum bnm_precision { BNM_PRECISION_DOUBLE, BNM_PRECISION_FLOAT } bnm_precision;

/* nmm-format.md 9.4 */
typedef enum bnm_delay_rounding { BNM_DELAY_NEAREST, BNM_DELAY_CUBNM } bnm_delay_rounding;

/* How the run treats one param. Params the run does not list are fixed at their default. */
typedef struct bnm_param_setting {
    const char *name;      /* the param's name (aliases are accepted too) */
    bnm_param_level level;
    bool has_value;        /* FIXED only: use value instead of the default */
    double value;
} bnm_param_setting;

#define BNM_INTEGRATOR_MODEL (-1)

typedef struct bnm_model_spec {
    const bnm_param_setting *params; /* borrowed; n_params entries, may be NULL when 0 */
    int n_params;
    bnm_precision precision;         /* default double */
    int integrator;                  /* BNM_INTEGRATOR_MODEL (default) or a bnm_ir_integrator */
    bool noise;                      /* default true; rk4 with noise on is rejected */
    bool delays;                     /* default false */
    bnm_delay_rounding delay_rounding; /* default nearest */
    int n_nodes;                     /* > 0: N compiled in (LIT); 0 (default): N is data */
    int lanes;                       /* simulations per work-item, the vector width of the
                                        kernel: 1, 2, 4, 8 or 16; 0 (default): the
                                        launcher picks it for the device (codegen.h) */
} bnm_model_spec;

void bnm_model_spec_init_defaults(bnm_model_spec *spec);

/* The data of one batch of simulations, in the host's natural layout. Everything is
 * borrowed for the duration of the set_data call only. Param slots come from the
 * ABI descriptor (bnm_model_abi: sim_slot / node_slot of each param). */
typedef struct bnm_model_data {
    int n_sims;
    int n_nodes;            /* must equal spec.n_nodes when that is compiled in */
    double dt;              /* model step in the model's time_unit */
    double t0;              /* time of step 0 */
    int n_connectomes;
    const double *weights;  /* [n_connectomes][N target i][N source j]: W[i,j], weight j -> i */
    const int *conn_index;  /* [n_sims] connectome of each simulation; NULL: all 0 */
    int n_delay_mats;       /* delays on only */
    const double *delays;   /* [n_delay_mats][N target i][N source j]: D[i,j] in time_unit, j -> i */
    const int *delay_index; /* [n_sims]; NULL: all 0 */
    const uint64_t *seeds;  /* [n_sims]; NULL: all 0 (noise on only) */
    const uint32_t *noise_ids; /* [n_sims]; NULL: all 0 */
    const double *sim_params;  /* [n_sims][abi.n_sim_params]; NULL when n_sim_params is 0 */
    const double *node_params; /* [n_sims][abi.n_node_params][N]; NULL when 0 */
    const double *states;      /* [n_sims][n_states][N], states in declaration order */
} bnm_model_data;

/* Health of one simulation after a run (nmm-format.md 10.8). */
typedef struct bnm_sim_status {
    bool nonfinite;          /* a state became NaN or infinite; states froze there */
    uint64_t first_bad_step; /* the step index k whose state x_k was first non-finite */
} bnm_sim_status;

/* ---- ABI descriptor (nmm-format.md 14.1): where every name lives ---- */

typedef enum bnm_abi_kind {
    BNM_ABI_PARAM, BNM_ABI_STATE, BNM_ABI_LET, BNM_ABI_COUPLING, BNM_ABI_INPUT
} bnm_abi_kind;

typedef enum bnm_abi_level { BNM_LEVEL_LIT, BNM_LEVEL_SIM, BNM_LEVEL_NODE, BNM_LEVEL_STEP } bnm_abi_level;

typedef struct bnm_abi_entry {
    const char *name;    /* model name (borrowed from the descriptor) */
    const char *mangled; /* identifier in the generated source (p_G, s_S_E, ...) */
    bnm_abi_kind kind;
    bnm_abi_level level; /* IR level after specialisation (section 8.2) */
    /* params: */
    bnm_param_level param_level;
    double value;        /* FIXED: the compiled-in value */
    int sim_slot;        /* PER_SIM: column in sim_params, else -1 */
    int node_slot;       /* PER_NODE: plane in node_params, else -1 */
    /* states: plane in states; transmitted states/lets: plane in the history (-1 if not in T) */
    int state_slot;
    int transmit_slot;
    int noise_stream;    /* noisy states with noise on: RNG stream, else -1 */
} bnm_abi_entry;

typedef struct bnm_model_abi {
    char *model_name;
    char *kernel_name;       /* "nmm_MODEL_integrate" */
    bnm_abi_entry *entries;  /* params, states, lets, couplings, inputs in declaration order */
    int n_entries;
    int n_sim_params, n_node_params, n_states, n_transmit;
    int *transmit;           /* [n_transmit]: entry index of each T member, history order */
    bnm_precision precision;
    int integrator;          /* bnm_ir_integrator actually used */
    bool noise, delays;
    bnm_delay_rounding delay_rounding;
    int n_nodes;             /* compiled-in N, 0 when data */
    const char *weights_layout; /* device layout, e.g. "[conn][source j][target i]" */
    const char *rng;         /* the RNG bit mapping (BNM_RNG_LAYOUT of engine/rng/RNG.md) */
    char **docs, **cites;    /* the model's `doc` and `cite` strings */
    int n_docs, n_cites;
    char *file_name;         /* the model file name as given (the #line name) */
    uint64_t source_hash;    /* FNV-1a 64 of the model file's bytes (also in the source) */
} bnm_model_abi;

/* Resolves the spec against the model and describes the resulting ABI. Errors
 * (BNM_ERR_RUN): unknown param, per_node on a non-regional param, a level other than fixed
 * or a value on a const param, a required param left unset (message names its line),
 * rk4 with noise on, bad integrator/precision. The caller owns *out. */
bnm_status bnm_model_abi_create(bnm_context *ctx, const struct bnm_model_ir *ir,
                                const bnm_model_spec *spec, bnm_model_abi **out);
/* NULL is accepted. */
void bnm_model_abi_destroy(bnm_model_abi *abi);
/* Entry of a name of the given kind, NULL when none. Borrowed from abi. */
const bnm_abi_entry *bnm_model_abi_find(const bnm_model_abi *abi, bnm_abi_kind kind,
                                        const char *name);
/* Machine-readable JSON rendering of the descriptor. Caller frees; NULL on no memory. */
char *bnm_model_abi_to_json(const bnm_model_abi *abi);

#ifdef __cplusplus
}
#endif
#endif
