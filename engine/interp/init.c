/* Initial states from the model's declarations, evaluated on the host in double. */
#include <stdlib.h>
#include <string.h>

#include "clbnm/interp.h"
#include "codegen_internal.h"
#include "interp_eval.h"
#include "rng.h"

bnm_status bnm_model_initial_states(bnm_context *ctx, const struct bnm_model_ir *ir,
                                    const bnm_model_spec *spec, const bnm_model_data *data,
                                    double *states_out)
{
    if (!data || !states_out)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "initial states: data and output are required");
    bnm_cg_spec *rs = NULL;
    bnm_status st = bnm_cg_spec_resolve(ctx, ir, spec, &rs);
    if (st != BNM_OK)
        return st;
    bnm_model_data d = *data;
    d.states = states_out; /* only checked for presence */
    int *dsteps = NULL;
    uint32_t hl = 1;
    st = bnm_cg_check_data(ctx, rs, &d, &dsteps, &hl);
    free(dsteps);
    double *param = calloc((size_t)ir->n_params + 1, sizeof *param);
    if (st == BNM_OK && !param)
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory evaluating initial states");
    if (st != BNM_OK) {
        free(param);
        bnm_cg_spec_destroy(rs);
        return st;
    }
    size_t N = (size_t)d.n_nodes, ns = (size_t)ir->n_states;
    bnm_ip_env env;
    memset(&env, 0, sizeof env);
    env.ir = ir;
    env.param = param;
    env.dt = d.dt;
    env.t = d.t0;
    env.n_nodes = d.n_nodes;
    for (size_t s = 0; s < (size_t)d.n_sims; s++) {
        uint64_t seed = d.seeds ? d.seeds[s] : 0;
        uint32_t nid = d.noise_ids ? d.noise_ids[s] : 0;
        for (size_t i = 0; i < N; i++) {
            for (int p = 0; p < ir->n_params; p++) {
                param[p] = rs->pvalue[p];
                if (rs->sim_slot[p] >= 0)
                    param[p] = d.sim_params[s * (size_t)rs->n_sim_params + (size_t)rs->sim_slot[p]];
                else if (rs->node_slot[p] >= 0)
                    param[p] = d.node_params[(s * (size_t)rs->n_node_params +
                                              (size_t)rs->node_slot[p]) * N + i];
            }
            for (size_t v = 0; v < ns; v++) {
                const bnm_ir_state *sv = &ir->states[v];
                double x;
                uint32_t stream = bnm_rng_stream_init((int)v);
                if (sv->init_kind == BNM_INIT_UNIFORM) {
                    double a = bnm_ip_eval(&env, sv->init_a), b = bnm_ip_eval(&env, sv->init_b);
                    x = a + (b - a) * bnm_rng_uniform(seed, nid, (uint32_t)i, 0, stream);
                } else if (sv->init_kind == BNM_INIT_NORMAL) {
                    double m = bnm_ip_eval(&env, sv->init_a), sd = bnm_ip_eval(&env, sv->init_b);
                    x = m + sd * bnm_rng_normal(seed, nid, (uint32_t)i, 0, stream);
                } else {
                    x = bnm_ip_eval(&env, sv->init);
                }
                states_out[(s * ns + v) * N + i] = x;
            }
        }
    }
    free(param);
    bnm_cg_spec_destroy(rs);
    return BNM_OK;
}
