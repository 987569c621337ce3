/* A plain network integrator for the reference models: nmm-format.md 9.1, 9.3 (no
 * delays) and 10.2-10.6, in double, written for clarity rather than speed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

const ref_model *ref_model_find(const char *name)
{
    for (int k = 0; ref_models[k]; k++)
        if (strcmp(ref_models[k]->name, name) == 0)
            return ref_models[k];
    return NULL;
}

int ref_param_index(const ref_model *m, const char *name)
{
    for (int p = 0; p < m->n_params; p++)
        if (strcmp(m->params[p].name, name) == 0)
            return p;
    return -1;
}

int ref_state_index(const ref_model *m, const char *name)
{
    for (int s = 0; s < m->n_states; s++)
        if (strcmp(m->states[s].name, name) == 0)
            return s;
    return -1;
}

int ref_n_noisy(const ref_model *m)
{
    int n = 0;
    for (int s = 0; s < m->n_states; s++)
        n += m->states[s].noise_param >= 0;
    return n;
}

void ref_params_defaults(const ref_model *m, int n_nodes, double *params)
{
    for (int p = 0; p < m->n_params; p++)
        for (int i = 0; i < n_nodes; i++)
            params[p * n_nodes + i] = m->params[p].has_default ? m->params[p].def : NAN;
}

void ref_states_init(const ref_model *m, int n_nodes, double *states)
{
    for (int s = 0; s < m->n_states; s++) {
        const ref_state *st = &m->states[s];
        double v = st->init_kind == REF_INIT_VALUE ? st->init : 0.5 * (st->init_a + st->init_b);
        for (int i = 0; i < n_nodes; i++)
            states[s * n_nodes + i] = v;
    }
}

/* min/max that keep NaN, as nmm-format.md 6.2 and 10.5 require (C fmin/fmax drop it). */
static double clamp_keep_nan(double x, double lo, double hi)
{
    if (isnan(x))
        return x;
    return x < lo ? lo : (x > hi ? hi : x);
}

double ref_bound_apply(const ref_state *s, double x)
{
    switch (s->bound) {
    case REF_BOUND_CLAMP:
        return clamp_keep_nan(x, s->lo, s->hi);
    case REF_BOUND_WRAP: {
        double w = s->hi - s->lo, u = x - s->lo;
        return s->lo + (u - w * floor(u / w)); /* mod(x - lo, hi - lo), into [lo, hi) */
    }
    case REF_BOUND_NONE:
    default:
        return x;
    }
}

static void node_params(const ref_model *m, int n_nodes, const double *params, int i, double *p)
{
    for (int k = 0; k < m->n_params; k++)
        p[k] = params[k * n_nodes + i];
}

static void node_states(const ref_model *m, int n_nodes, const double *states, int i, double *x)
{
    for (int s = 0; s < m->n_states; s++)
        x[s] = states[s * n_nodes + i];
}

void ref_couplings(const ref_model *m, int n_nodes, const double *W, const double *params,
                   const double *states, double *c)
{
    double *T = malloc(sizeof *T * (size_t)n_nodes * (size_t)m->n_transmit);
    if (!T)
        abort();
    double x[REF_MAX_STATES], p[REF_MAX_PARAMS], t[REF_MAX_COUPLINGS];
    for (int i = 0; i < n_nodes; i++) {
        node_states(m, n_nodes, states, i, x);
        node_params(m, n_nodes, params, i, p);
        m->transmit(x, p, t);
        for (int k = 0; k < m->n_transmit; k++)
            T[k * n_nodes + i] = t[k];
    }
    for (int k = 0; k < m->n_couplings; k++) {
        const double *Tk = T + (size_t)m->couplings[k].transmit * (size_t)n_nodes;
        for (int i = 0; i < n_nodes; i++) {
            double sum = 0;
            for (int j = 0; j < n_nodes; j++) {
                double w = W[(size_t)i * (size_t)n_nodes + (size_t)j];
                switch (m->couplings[k].kind) {
                case REF_CPL_LINEAR: sum += w * Tk[j]; break;
                case REF_CPL_SIN_DIFF: sum += w * sin(Tk[j] - Tk[i]); break;
                case REF_CPL_DIFF: sum += w * (Tk[j] - Tk[i]); break;
                }
            }
            c[k * n_nodes + i] = sum;
        }
    }
    free(T);
}

void ref_node_lets(const ref_model *m, int n_nodes, const double *W, const double *params,
                   const double *states, int node, double *out)
{
    double *c = malloc(sizeof *c * (size_t)n_nodes * (size_t)(m->n_couplings + 1));
    if (!c)
        abort();
    ref_couplings(m, n_nodes, W, params, states, c);
    double x[REF_MAX_STATES], p[REF_MAX_PARAMS], ci[REF_MAX_COUPLINGS];
    node_states(m, n_nodes, states, node, x);
    node_params(m, n_nodes, params, node, p);
    for (int k = 0; k < m->n_couplings; k++)
        ci[k] = c[k * n_nodes + node];
    m->lets(x, ci, p, out);
    free(c);
}

/* One step of one node. x: step-start states (bounded); c: couplings held through all
 * stages (nmm-format.md 9.3); noise: sqrt(dt)*g*z per state (0 where no noise). */
static void step_node(const ref_model *m, int integrator, double dt, const double *c,
                      const double *p, const double *noise, double *x)
{
    int ns = m->n_states;
    double k1[REF_MAX_STATES], k2[REF_MAX_STATES], k3[REF_MAX_STATES], k4[REF_MAX_STATES];
    double xs[REF_MAX_STATES];

    m->rhs(x, c, p, k1);
    switch (integrator) {
    case REF_EULER:
        for (int s = 0; s < ns; s++)
            x[s] = ref_bound_apply(&m->states[s], x[s] + dt * k1[s] + noise[s]);
        break;
    case REF_HEUN: /* 10.3: the predictor is bounded; both stages use the same z */
        for (int s = 0; s < ns; s++)
            xs[s] = ref_bound_apply(&m->states[s], x[s] + dt * k1[s] + noise[s]);
        m->rhs(xs, c, p, k2);
        for (int s = 0; s < ns; s++)
            x[s] = ref_bound_apply(&m->states[s], x[s] + dt / 2 * (k1[s] + k2[s]) + noise[s]);
        break;
    case REF_RK4: /* 10.4: every stage state is bounded */
        for (int s = 0; s < ns; s++)
            xs[s] = ref_bound_apply(&m->states[s], x[s] + dt / 2 * k1[s]);
        m->rhs(xs, c, p, k2);
        for (int s = 0; s < ns; s++)
            xs[s] = ref_bound_apply(&m->states[s], x[s] + dt / 2 * k2[s]);
        m->rhs(xs, c, p, k3);
        for (int s = 0; s < ns; s++)
            xs[s] = ref_bound_apply(&m->states[s], x[s] + dt * k3[s]);
        m->rhs(xs, c, p, k4);
        for (int s = 0; s < ns; s++)
            x[s] = ref_bound_apply(&m->states[s],
                                   x[s] + dt / 6 * (k1[s] + 2 * k2[s] + 2 * k3[s] + k4[s]));
        break;
    }
}

int ref_run(const ref_model *m, int integrator, int n_nodes, const double *W, double dt,
            long n_steps, const double *params, double *states, const double *z)
{
    if (n_nodes < 1 || n_steps < 0 || (integrator == REF_RK4 && z))
        return -1;
    if (integrator != REF_EULER && integrator != REF_HEUN && integrator != REF_RK4)
        return -1;
    double dtm = dt * m->time_per_ms, sqdt = sqrt(dtm);
    int n_noisy = ref_n_noisy(m);
    double *c = malloc(sizeof *c * (size_t)n_nodes * (size_t)m->n_couplings);
    if (!c)
        return -1;

    double x[REF_MAX_STATES], p[REF_MAX_PARAMS], ci[REF_MAX_COUPLINGS], noise[REF_MAX_STATES];
    for (long k = 0; k < n_steps; k++) {
        /* Couplings of step k read every node's step-start value (no delays). */
        ref_couplings(m, n_nodes, W, params, states, c);
        for (int i = 0; i < n_nodes; i++) {
            node_states(m, n_nodes, states, i, x);
            node_params(m, n_nodes, params, i, p);
            for (int q = 0; q < m->n_couplings; q++)
                ci[q] = c[q * n_nodes + i];
            int slot = 0;
            for (int s = 0; s < m->n_states; s++) {
                noise[s] = 0;
                int g = m->states[s].noise_param;
                if (g < 0)
                    continue;
                if (z)
                    noise[s] = sqdt * p[g] * z[((size_t)k * (size_t)n_nodes + (size_t)i)
                                                   * (size_t)n_noisy + (size_t)slot];
                slot++;
            }
            step_node(m, integrator, dtm, ci, p, noise, x);
            /* Writing node i back is safe: the couplings of this step are already held. */
            for (int s = 0; s < m->n_states; s++)
                states[s * n_nodes + i] = x[s];
        }
    }
    free(c);
    return 0;
}
