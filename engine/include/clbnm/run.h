/* Run files: the YAML description of a `clbnm simulate` or `clbnm optimize` job
 * (interface.md sections 2-3; time semantics analysis.md 2.1-2.3, 4, 6; fit terms 8).
 *
 * bnm_run_parse_file reads a run file into a bnm_run: a documented, read-only struct the
 * caller owns and releases with bnm_run_destroy. Every error the parser or a later
 * bnm_run_check_* call reports names the run file, the line and the column of the
 * offending key or value, and where it helps a hint:
 *     run.yaml:12:3: error: unknown key 'durration' (did you mean 'duration'?)
 *
 * Times are parsed from their decimal text into integer nanoseconds and every ratio is
 * an integer one (analysis.md 2.2), so bnm_run.counts holds exact iteration counts.
 *
 * Data paths (subject files, maps, groups) are resolved relative to the run file's
 * folder but NOT opened by the parser: the data readers (clbnm/data.h) open them later
 * and can cite the key's location (the *_loc fields). The sweep table is the one file
 * the parser reads, because it defines how many simulations there are.
 *
 * Simulations are the product subjects x parameter sets, subject-major: simulation s
 * uses subject s / n_sets and parameter set s % n_sets. Parameter sets are computed on
 * demand (bnm_run_sim_params) so a sweep of 10^6 sets allocates nothing per set.
 *
 * Keys and conventions beyond interface.md section 2:
 *   - params: a number (every node) or a list (one number per node, bnm_run_check_nodes).
 *     A parameter that is also swept or free keeps its swept/free values; the parser
 *     logs a located warning ("values shared by all simulations unless swept").
 *   - sweep.combine: product (default; last parameter varies fastest, like
 *     itertools.product) or zip (every grid parameter the same n). Grid values are
 *     numpy.linspace(lo, hi, n): end points exact, n = 1 gives lo.
 *   - sweep.random.method: uniform (default; bnm_run_uniform keyed by the run seed) or
 *     sobol (bnm_sobol_point, point k for set k, point 0 included; up to 40 params).
 *   - sweep.table: CSV (or whitespace-separated) file, header row of names, one row per
 *     set; '#' lines and blank lines skipped.
 *   - fic: true/false shorthand; fic.method (steady_state | iterative), fic.sampling
 *     [start, end] (ms), fic.init_delta, fic.root_tol (models.md 1.5-1.7).
 *   - outputs.fcd: false disables FCD; outputs.states_mean may be a single name.
 *   - integrator: euler | heun | rk4; precision: float | double.
 *   - optimizer: popsize and generations required; sigma0 default 0.5, tolfun 1e-3,
 *     seeds default [seed]; method cmaes.
 *   - heterogeneous.P.symmetric: true|false (default false): node i and its mirror
 *     i + N/2 share P's value (bnm_run_hetero; alone, with groups or with maps).
 *   - -fcd_ks is "requested" (n_win >= 2 enforced) when scores are computed: fit given,
 *     a subject with empirical BOLD, or an optimize run. */
#ifndef CLBNM_RUN_H
#define CLBNM_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clbnm/bold.h"       /* bnm_bold_mode */
#include "clbnm/context.h"
#include "clbnm/data.h"       /* bnm_sc_orientation, bnm_bold_layout */

#ifdef __cplusplus
extern "C" {
#endif

#define BNM_NS_PER_MS INT64_C(1000000)
#define BNM_NS_PER_S INT64_C(1000000000)

/* A position in the run file, 1-based; line 0 means "not in the file" (a default). */
typedef struct bnm_run_loc {
    int line, col;
} bnm_run_loc;

typedef enum bnm_run_mode {
    BNM_RUN_MODE_ANY,      /* accept the keys of both commands */
    BNM_RUN_MODE_SIMULATE, /* free/heterogeneous/optimizer are errors */
    BNM_RUN_MODE_OPTIMIZE  /* sweep is an error; free and optimizer are required */
} bnm_run_mode;

/* The run's own enums (clbnm/model_spec.h has the model spec's counterparts; a run
 * maps onto them one to one). */
typedef enum bnm_run_delay_rounding {
    BNM_RUN_DELAY_NEAREST,
    BNM_RUN_DELAY_CUBNM
} bnm_run_delay_rounding;
typedef enum bnm_run_precision {
    BNM_RUN_PRECISION_DEFAULT, /* not given: double */
    BNM_RUN_PRECISION_FLOAT,
    BNM_RUN_PRECISION_DOUBLE
} bnm_run_precision;
typedef enum bnm_noise_sharing { BNM_NOISE_SHARED, BNM_NOISE_PER_SIMULATION } bnm_noise_sharing;
typedef enum bnm_bold_params { BNM_BOLD_FRISTON2003, BNM_BOLD_HEINZLE2016_3T } bnm_bold_params;
typedef enum bnm_sweep_kind {
    BNM_SWEEP_NONE,
    BNM_SWEEP_GRID,
    BNM_SWEEP_RANDOM,
    BNM_SWEEP_TABLE
} bnm_sweep_kind;
typedef enum bnm_sweep_combine { BNM_SWEEP_PRODUCT, BNM_SWEEP_ZIP } bnm_sweep_combine;
typedef enum bnm_sweep_method { BNM_SWEEP_UNIFORM, BNM_SWEEP_SOBOL } bnm_sweep_method;
typedef enum bnm_run_fic_method {
    BNM_RUN_FIC_STEADY_STATE,
    BNM_RUN_FIC_ITERATIVE
} bnm_run_fic_method;

/* Fit terms of analysis.md 8.1, as bits of bnm_run_fit.terms (bit k = term index k of
 * clbnm/fit.h). */
typedef enum bnm_fit_term {
    BNM_FIT_FC_CORR = 1 << 0,   /* +fc_corr */
    BNM_FIT_FC_DIFF = 1 << 1,   /* -fc_diff */
    BNM_FIT_FC_NORMEC = 1 << 2, /* -fc_normec */
    BNM_FIT_FCD_KS = 1 << 3     /* -fcd_ks */
} bnm_fit_term;

/* One entry of `params`: a scalar shared by every node, or one value per node. */
typedef struct bnm_run_param {
    char *name;
    double *values;  /* n_values values */
    size_t n_values; /* 1 for a scalar */
    bool per_node;   /* written as a list (even a list of one) */
    bnm_run_loc loc; /* of the key */
} bnm_run_param;

/* One entry of `subjects`. Paths are resolved against the run file's folder; NULL when
 * absent. sc is required. */
typedef struct bnm_run_subject {
    char *id;
    char *sc, *lengths, *bold;
    bnm_sc_orientation sc_orientation;
    bnm_bold_layout bold_layout;
    bnm_run_loc loc, sc_loc, lengths_loc, bold_loc;
} bnm_run_subject;

/* A swept parameter: grid [lo, hi, n], random [lo, hi] (n = sweep.n), or a table column
 * (lo = hi = 0, n = rows). In `random`, the keys n and method are the sweep's own, so
 * parameters named n or method can be swept only by grid or table. */
typedef struct bnm_run_sweep_param {
    char *name;
    double lo, hi;
    uint64_t n;
    bnm_run_loc loc;
} bnm_run_sweep_param;

typedef struct bnm_run_sweep {
    bnm_sweep_kind kind;
    bnm_sweep_combine combine; /* grid only (key sweep.combine, default product) */
    bnm_sweep_method method;   /* random only */
    uint64_t n;                /* random: sweep.random.n; table: rows */
    bnm_run_sweep_param *params;
    size_t n_params;
    char *table_path; /* resolved; table only */
    bnm_run_loc loc;  /* of the grid/random/table key */
} bnm_run_sweep;

typedef struct bnm_run_fic {
    bool enabled;           /* default true */
    int64_t max_trials;     /* default 0 */
    double penalty_scale;   /* default 0.5 */
    double init_delta;      /* nA, default 0.02 */
    double root_tol;        /* 0 = full precision (default) */
    bnm_run_fic_method method; /* default steady_state */
    int64_t sampling_start_ns, sampling_end_ns; /* default 1000 .. 10000 ms */
    bnm_run_loc loc, sampling_loc;
} bnm_run_fic;

typedef struct bnm_run_outputs {
    bool bold, fc;          /* defaults true, true */
    bool fcd;               /* true unless `fcd: false` */
    int64_t fcd_window_ns;  /* default 30 s */
    int64_t fcd_step_ns;    /* default 5 s */
    bool fcd_drop_edges;    /* default true */
    char **states_mean;     /* variable names */
    size_t n_states_mean;
    char **states_ts;
    size_t n_states_ts;
    int64_t states_ts_every_ns; /* default tr */
    bnm_run_loc fcd_loc, states_mean_loc, states_ts_loc, states_ts_every_loc;
} bnm_run_outputs;

typedef struct bnm_run_fit {
    unsigned terms;          /* bnm_fit_term bits; default FC_CORR | FCD_KS */
    bool exc_interhemispheric;
    bnm_run_loc terms_loc, exc_loc;
} bnm_run_fit;

/* optimize: one `free` entry. */
typedef struct bnm_run_free {
    char *name;
    double lo, hi;
    bnm_run_loc loc;
} bnm_run_free;

/* optimize: one `heterogeneous` entry: groups (one free value per label), maps
 * (P_i = P * (1 + sum_k c_k map_k[i])), or neither with symmetric (one free value per
 * pair of mirrored nodes). symmetric (key `symmetric: true|false`, default false) ties
 * node i to its mirror, node (i + N/2) mod N: the left hemisphere is nodes 0..N/2-1 and
 * its mirror image N/2..N-1 in the same order (the convention of
 * fit.exc_interhemispheric and of clBNM's synthetic connectomes), so N must be even
 * (bnm_run_check_nodes). With groups, mirrored nodes share their labels' values; with
 * maps, each map is averaged over mirrored pairs (clbnm/optimize.h has the mapping). */
typedef struct bnm_run_hetero {
    char *name;
    char *groups;       /* resolved path, or NULL */
    char **maps;        /* resolved paths */
    size_t n_maps;
    bool coef_auto;     /* coef_range: auto (default) */
    double coef_lo, coef_hi;
    bool symmetric;
    bnm_run_loc loc, groups_loc;
    bnm_run_loc *maps_loc; /* n_maps */
    bnm_run_loc symmetric_loc; /* of the key; line 0 when absent */
} bnm_run_hetero;

typedef struct bnm_run_optimizer {
    char *method;         /* "cmaes" */
    int64_t popsize;      /* >= 2, required */
    int64_t generations;  /* >= 1, required */
    double sigma0;        /* > 0, default 0.5 */
    double tolfun;        /* >= 0, default 1e-3 */
    uint64_t *seeds;      /* default: the run seed */
    size_t n_seeds;
    bnm_run_loc loc;
} bnm_run_optimizer;

/* Exact iteration counts (analysis.md 2.3, 4.2, 4.3, 6). */
typedef struct bnm_run_counts {
    int64_t n_inner;  /* bw_dt / dt: model steps per BW step */
    int64_t n_bw;     /* duration / bw_dt */
    int64_t n_steps;  /* n_bw * n_inner */
    int64_t bw_per_vol;  /* tr / bw_dt */
    int64_t bw_per_samp; /* states_sampling / bw_dt */
    int64_t bw_per_ts;   /* states_ts.every / bw_dt */
    int64_t n_vol;    /* floor(duration / tr) */
    int64_t n_samp;   /* floor(duration / states_sampling) */
    int64_t n_ts;     /* floor(duration / states_ts.every) */
    int64_t n_rm;     /* floor(bold_remove / tr) */
    int64_t n_rm_s;   /* floor(bold_remove / states_sampling) */
    int64_t n_corr;   /* n_vol - n_rm */
    int64_t ws, st;   /* FCD window size and step in TRs (ws even) */
    int64_t n_win;    /* FCD windows of the simulated series */
} bnm_run_counts;

/* A parsed run file. Every pointer is owned by the struct; callers read, never write. */
typedef struct bnm_run {
    char *path;       /* as given to the parser (used in messages) */
    char *base_dir;   /* folder against which paths were resolved */
    char *text;       /* the YAML text, for the output file's run_file attribute */
    bnm_run_mode mode;

    char *model;      /* built-in name, or a resolved path when it names a .nmm file */
    bool model_is_path;
    bnm_run_loc model_loc;

    /* Times in integer nanoseconds. */
    int64_t duration_ns, dt_ns, bw_dt_ns, tr_ns, bold_remove_ns, states_sampling_ns;
    bnm_run_loc duration_loc, dt_loc, bw_dt_loc, tr_loc, bold_remove_loc, states_sampling_loc;

    bnm_bold_params bold_params;
    const char *bold_params_name;    /* static string, for bnm_bold_coeffs_lookup */
    bnm_bold_mode bold_mode;         /* default balloon, direct for hopf */
    uint64_t seed;                   /* default 0 */
    bnm_noise_sharing noise_sharing;
    bnm_run_delay_rounding delay_rounding;
    double velocity;                 /* m/s (= mm/ms); 0 when not given (engine default 0.5) */
    bnm_run_loc velocity_loc;
    char *integrator;                /* NULL: the model's own */
    bnm_run_precision precision;     /* BNM_RUN_PRECISION_DEFAULT when not given */

    bnm_run_subject *subjects;
    size_t n_subjects;
    bnm_run_param *params;
    size_t n_params;
    bnm_run_sweep sweep;
    bnm_run_fic fic;
    bnm_run_outputs outputs;
    bnm_run_fit fit;
    int64_t emp_remove_vols;          /* default 0 */
    double emp_outlier_threshold;     /* default 0.5 */

    /* optimize */
    bnm_run_free *free_params;
    size_t n_free;
    bnm_run_hetero *hetero;
    size_t n_hetero;
    bnm_run_optimizer optimizer;
    bool has_optimizer;

    bnm_run_counts counts;

    /* Internal: the sweep table's values (rows x n_params, row-major); not part of
     * the contract (use bnm_run_set_params). */
    double *table_values_;
} bnm_run;

/* Parses and validates the run file at path (time arithmetic included). The caller
 * owns *out (bnm_run_destroy). On failure *out is NULL and ctx holds one message
 * "FILE:LINE:COL: error: ..." (BNM_ERR_RUN; BNM_ERR_IO when the file cannot be read;
 * BNM_ERR_PARSE for YAML syntax errors). */
bnm_status bnm_run_parse_file(bnm_context *ctx, const char *path, bnm_run_mode mode,
                              bnm_run **out);
/* The same on text in memory: display_name is used in messages, base_dir resolves
 * relative paths (NULL: the current folder). text is copied. */
bnm_status bnm_run_parse_string(bnm_context *ctx, const char *text, size_t len,
                                const char *display_name, const char *base_dir,
                                bnm_run_mode mode, bnm_run **out);
/* Releases everything; NULL is accepted. */
void bnm_run_destroy(bnm_run *run);

/* Default dt and bw_dt (ns) of a model name (analysis.md 2.1): hopf 10 / 10 ms, mpr
 * 0.01 / 1 ms, everything else 0.1 / 1 ms. For a .nmm path pass the model's name. */
void bnm_run_default_steps(const char *model_name, int64_t *dt_ns, int64_t *bw_dt_ns);
/* Default bold_mode of a model name: direct for hopf, balloon otherwise. */
bnm_bold_mode bnm_run_default_bold_mode(const char *model_name);

/* Parses decimal text ("0.72", "900", "5e-3", "1.5E+2") times unit_ns (1000000 for ms,
 * 1000000000 for s) into integer nanoseconds exactly, never through binary floating
 * point. Fails (returns false) on syntax errors, negative values, values that are not a
 * whole number of nanoseconds, and overflow; *why (static string) says which. */
bool bnm_run_parse_time_ns(const char *text, int64_t unit_ns, int64_t *out, const char **why);

/* Checks every parameter name of the run (params, sweep, free, heterogeneous) against
 * the model's parameter names, with did-you-mean, and the variables of
 * outputs.states_mean / states_ts against var_names (skipped when var_names is NULL).
 * "velocity" is always a known parameter name (it is a run-level global, analysis.md
 * 2.6). Names only: the model code is not needed. */
bnm_status bnm_run_check_model(bnm_context *ctx, const bnm_run *run,
                               const char *const *param_names, size_t n_param_names,
                               const char *const *var_names, size_t n_var_names);
/* Checks what depends on the number of nodes: N even when fit.exc_interhemispheric is
 * set or a heterogeneous param is symmetric, per-node params of length N. */
bnm_status bnm_run_check_nodes(bnm_context *ctx, const bnm_run *run, size_t n_nodes);

/* One simulation of run as a simulate run of its own (`clbnm optimize` re-runs each
 * run's best particle this way, so the engine writes it in full like a simulate file):
 * subject `subject` alone, noise seed `seed`, no sweep, free, heterogeneous or
 * optimizer, mode BNM_RUN_MODE_SIMULATE, and param k of names (n_params of them; a model
 * param name or alias) set to values[k * n_nodes + i] at node i: a regional one as a
 * params list of n_nodes values, a global one (values[k * n_nodes]) as a one-point grid
 * sweep [v, v, 1]. A params entry of the same name is replaced. The one-point sweep, not
 * a params entry, keeps a global value per simulation as in the optimize batches
 * (bnm_engine_simulate_list): the engine then generates the same kernel and reproduces
 * the batches' results bit for bit, where a params entry would become a compile-time
 * constant. Everything else (times, outputs, fit, fic, paths, text, locations) is
 * copied. The caller owns *out (bnm_run_destroy). */
bnm_status bnm_run_derive_one(bnm_context *ctx, const bnm_run *run, size_t subject,
                              uint64_t seed, size_t n_params, const char *const *names,
                              const bool *regional, size_t n_nodes, const double *values,
                              bnm_run **out);

/* Sweep: parameter sets per subject (1 without a sweep), swept names in column order,
 * and total simulations (n_subjects x n_sets; 0 if it overflows uint64). */
uint64_t bnm_run_n_sets(const bnm_run *run);
size_t bnm_run_n_swept(const bnm_run *run);
const char *bnm_run_swept_name(const bnm_run *run, size_t k);
uint64_t bnm_run_n_sims(const bnm_run *run);

/* Values of the swept parameters of parameter set `set` (bnm_run_n_swept values, in
 * swept-name order) into values_out. Pure function of (run, set): cheap enough to call
 * per simulation while streaming chunks. Returns false when set is out of range. */
bool bnm_run_set_params(const bnm_run *run, uint64_t set, double *values_out);
/* Simulation sim: its subject index, its noise seed and its swept values (as above;
 * values_out may be NULL). Returns false when sim is out of range. */
bool bnm_run_sim_params(const bnm_run *run, uint64_t sim, size_t *subject_out,
                        uint64_t *seed_out, double *values_out);
/* A chunk of simulations [first, first + count): subjects_out[count] (may be NULL) and
 * values_out[count][bnm_run_n_swept] row-major (may be NULL). Returns the number filled,
 * fewer than count at the end of the job (0 past it). */
uint64_t bnm_run_sims_chunk(const bnm_run *run, uint64_t first, uint64_t count,
                            size_t *subjects_out, double *values_out);

/* Point `index` (0-based; point 0 is the origin) of the unscrambled Sobol sequence in
 * Gray-code order with Joe-Kuo 2008 direction numbers (new-joe-kuo-6.21201), for
 * dimensions 1..BNM_SOBOL_MAX_DIM, into out[dim]. Returns false when dim is out of
 * range. Exact for index < 2^32. */
#define BNM_SOBOL_MAX_DIM 40
bool bnm_sobol_point(unsigned dim, uint64_t index, double *out);

/* Uniform [0,1) of random sweep coordinate (set, dimension) under seed: Philox4x32-10
 * with key = seed (lo, hi words) and counter = (set lo, set hi, dim, 0x53574550 'SWEP'),
 * value = top 53 bits of (R0:R1) / 2^53. */
double bnm_run_uniform(uint64_t seed, uint64_t set, uint32_t dim);

#ifdef __cplusplus
}
#endif
#endif
