/* Reference driver of the iterative FIC method (nmm-format.md 11.3) on the kernel
 * launcher. The measure is averaged on the host from states read back every `sample`,
 * which is correct but slow; an in-kernel accumulator can replace it later without
 * changing bnm_fic_iterative_adjust. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clbnm/log.h"
#include "fic_internal.h"
#include "ir.h"

/* Whole number of steps in a duration, or -1 when it is not a multiple of dt. */
static long steps_of(double t, double dt)
{
    double q = t / dt;
    double r = nearbyint(q);
    if (!(r >= 0.0) || fabs(q - r) > 1e-9 * fmax(1.0, fabs(q)))
        return -1;
    return (long)r;
}

typedef struct batch_buf {
    int *conn;
    uint64_t *seeds;
    uint32_t *nids;
    double *sp, *np, *x;
} batch_buf;

static void batch_buf_free(batch_buf *b)
{
    free(b->conn);
    free(b->seeds);
    free(b->nids);
    free(b->sp);
    free(b->np);
    free(b->x);
}

/* The sub-batch of the simulations act[0..na-1] of full. */
static void slice(const bnm_model_data *full, const bnm_model_abi *abi, int ns,
                  const int *act, int na, batch_buf *b, bnm_model_data *out)
{
    size_t N = (size_t)full->n_nodes, nsp = (size_t)abi->n_sim_params,
           nnp = (size_t)abi->n_node_params, nsn = (size_t)ns * N;
    *out = *full;
    out->n_sims = na;
    for (int a = 0; a < na; a++) {
        size_t s = (size_t)act[a];
        b->conn[a] = full->conn_index ? full->conn_index[s] : 0;
        b->seeds[a] = full->seeds ? full->seeds[s] : 0;
        b->nids[a] = full->noise_ids ? full->noise_ids[s] : 0;
        if (nsp)
            memcpy(b->sp + (size_t)a * nsp, full->sim_params + s * nsp, nsp * sizeof(double));
        if (nnp)
            memcpy(b->np + (size_t)a * nnp * N, full->node_params + s * nnp * N,
                   nnp * N * sizeof(double));
        memcpy(b->x + (size_t)a * nsn, full->states + s * nsn, nsn * sizeof(double));
    }
    out->conn_index = b->conn;
    out->seeds = b->seeds;
    out->noise_ids = b->nids;
    out->sim_params = nsp ? b->sp : NULL;
    out->node_params = nnp ? b->np : NULL;
    out->states = b->x;
    out->delay_index = NULL;
}

bnm_status bnm_fic_iterative_run(bnm_context *ctx, bnm_model_kernel *k,
                                 const struct bnm_model_ir *ir, const bnm_model_data *data,
                                 const bnm_fic_config *cfg, double *p, int *ntrials_out,
                                 bool *failed_out, double *means_out)
{
    if (!k || !ir || !data || !cfg || !p || !ntrials_out || !failed_out || !data->states)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "iterative FIC: missing argument");
    if (!ir->fic || !ir->fic->iterative.present)
        return bnm_fail(ctx, BNM_ERR_RUN, "model '%s' has no fic iterative record", ir->name);
    const bnm_model_abi *abi = bnm_model_kernel_abi(k);
    if (abi->delays)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "iterative FIC driver: delays are not supported yet (the host "
                        "measure would read undelayed sources)");
    long ka = steps_of(cfg->window_lo, data->dt), kb = steps_of(cfg->window_hi, data->dt);
    long ks = steps_of(cfg->sample, data->dt);
    if (ka < 0 || kb < ka || ks < 1)
        return bnm_fail(ctx, BNM_ERR_RUN,
                        "iterative FIC: window [%g, %g] and sample %g must be multiples of dt = "
                        "%g with 0 <= ta <= tb and sample > 0",
                        cfg->window_lo, cfg->window_hi, cfg->sample, data->dt);
    long n_samples = (kb - ka) / ks + 1;

    bnm_status st;
    int S = data->n_sims, n = data->n_nodes, ns = ir->n_states;
    size_t N = (size_t)n, nnp = (size_t)abi->n_node_params;
    batch_buf b;
    memset(&b, 0, sizeof b);
    bnm_fic_net net;
    memset(&net, 0, sizeof net);
    double *npf = NULL, *steps = NULL, *sum = NULL, *xs = NULL, *xi = NULL;
    int *act = NULL, *trial = NULL;
    bool *done = NULL;

    npf = malloc(sizeof(double) * (size_t)S * nnp * N + 1);
    steps = malloc(sizeof(double) * (size_t)S * N);
    sum = malloc(sizeof(double) * (size_t)S * N);
    xs = malloc(sizeof(double) * (size_t)S * (size_t)ns * N);
    xi = malloc(sizeof(double) * (size_t)ns + 1);
    act = malloc(sizeof(int) * (size_t)S);
    trial = calloc((size_t)S, sizeof(int));
    done = calloc((size_t)S, sizeof(bool));
    b.conn = malloc(sizeof(int) * (size_t)S);
    b.seeds = malloc(sizeof(uint64_t) * (size_t)S);
    b.nids = malloc(sizeof(uint32_t) * (size_t)S);
    b.sp = malloc(sizeof(double) * (size_t)S * (size_t)abi->n_sim_params + 1);
    b.np = malloc(sizeof(double) * (size_t)S * nnp * N + 1);
    b.x = malloc(sizeof(double) * (size_t)S * (size_t)ns * N);
    if (!npf || !steps || !sum || !xs || !xi || !act || !trial || !done || !b.conn ||
        !b.seeds || !b.nids || !b.sp || !b.np || !b.x) {
        st = bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory for the iterative FIC driver");
        goto fail;
    }
    if (nnp)
        memcpy(npf, data->node_params, sizeof(double) * (size_t)S * nnp * N);
    bnm_model_data full = *data;
    full.node_params = nnp ? npf : NULL;
    if ((st = bnm_fic_write_param(ctx, ir, abi, S, n, p, npf)) != BNM_OK)
        goto fail;
    if ((st = bnm_fic_net_init(ctx, &net, ir, abi, &full)) != BNM_OK)
        goto fail;
    for (int s = 0; s < S; s++) {
        bnm_fic_iterative_init_steps(cfg, n, steps + (size_t)s * N);
        failed_out[s] = false;
    }
    const bnm_ir_expr *measure = ir->fic->iterative.measure;

    for (;;) {
        int na = 0;
        for (int s = 0; s < S; s++)
            if (!done[s])
                act[na++] = s;
        if (na == 0)
            break;
        bnm_fic_write_param(ctx, ir, abi, S, n, p, npf);
        bnm_model_data sub;
        slice(&full, abi, ns, act, na, &b, &sub);
        if ((st = bnm_model_kernel_set_data(ctx, k, &sub)) != BNM_OK)
            goto fail;
        memset(sum, 0, sizeof(double) * (size_t)S * N);
        uint64_t at = 0;
        for (long q = 0; q < n_samples; q++) {
            uint64_t to = (uint64_t)(ka + q * ks);
            if (to > at && (st = bnm_model_kernel_run(ctx, k, at, to - at)) != BNM_OK)
                goto fail;
            at = to;
            if ((st = bnm_model_kernel_read_states(ctx, k, xs)) != BNM_OK)
                goto fail;
            for (int a = 0; a < na; a++) {
                const double *xa = xs + (size_t)a * (size_t)ns * N;
                bnm_fic_net_load_sim(&net, act[a]);
                bnm_fic_net_couplings(&net, xa);
                for (int i = 0; i < n; i++) {
                    bnm_fic_net_gather(&net, xa, i, xi);
                    sum[(size_t)act[a] * N + (size_t)i] += bnm_fic_net_node(&net, i, xi, measure, NULL);
                }
            }
        }
        for (int a = 0; a < na; a++) {
            int s = act[a];
            double *m = sum + (size_t)s * N;
            for (size_t i = 0; i < N; i++)
                m[i] /= (double)n_samples;
            if (means_out)
                memcpy(means_out + (size_t)s * N, m, sizeof(double) * N);
            bnm_fic_decision dec = bnm_fic_iterative_adjust(cfg, n, m, p + (size_t)s * N,
                                                            steps + (size_t)s * N, &trial[s]);
            if (dec != BNM_FIC_RESTART) {
                done[s] = true;
                failed_out[s] = dec == BNM_FIC_EXHAUSTED;
                if (failed_out[s])
                    bnm_log_warn("iterative FIC: simulation %d still out of band after %d trials",
                                 s, trial[s]);
            }
        }
    }
    for (int s = 0; s < S; s++)
        ntrials_out[s] = trial[s];
    st = BNM_OK;
fail:
    batch_buf_free(&b);
    bnm_fic_net_free(&net);
    free(npf);
    free(steps);
    free(sum);
    free(xs);
    free(xi);
    free(act);
    free(trial);
    free(done);
    return st;
}
