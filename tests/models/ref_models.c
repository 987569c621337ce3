/* The seven shipped models, written out by hand from the equations and tables of
 * models.md (sections 0.5, 1.2-1.3, 2, 3, 4, 5, 6, 7 and Appendix A), in double. */
#include <math.h>
#include <stddef.h>

#include "reference.h"

#define PI 3.14159265358979323846
#define REQ false, 0.0
#define DEF(v) true, (v)
#define NOB false, 0.0, 0.0
#define BND(lo, hi) true, (lo), (hi)
#define REG true, false
#define GLOB false, false
#define CONST false, true

/* models.md 0.5: H(y, d) = y / (1 - exp(-d*y)), with the series limit near y = 0. */
static double H(double y, double d)
{
    if (fabs(d * y) < 1e-6)
        return 1.0 / d + y / 2.0;
    return y / -expm1(-d * y);
}

/* ---------------------------------------------------------------- rww (models.md 1) */

enum { RWW_G, RWW_w_p, RWW_J_N, RWW_wIE, RWW_sigma, RWW_a_E, RWW_b_E, RWW_d_E, RWW_a_I,
       RWW_b_I, RWW_d_I, RWW_gamma_E, RWW_gamma_I, RWW_tau_E, RWW_tau_I, RWW_I_0, RWW_w_E,
       RWW_w_I, RWW_w_II, RWW_NP };

static const ref_param rww_params[RWW_NP] = {
    {"G", REQ, BND(0.001, 10), GLOB},
    {"w_p", DEF(1.4), BND(0, 2), REG},
    {"J_N", DEF(0.15), BND(0.001, 0.5), REG},
    {"wIE", DEF(1.0), BND(0.001, 5), REG},
    {"sigma", DEF(0.01), BND(0.001, 0.05), REG},
    {"a_E", DEF(310), NOB, CONST},
    {"b_E", DEF(125), NOB, CONST},
    {"d_E", DEF(0.16), NOB, CONST},
    {"a_I", DEF(615), NOB, CONST},
    {"b_I", DEF(177), NOB, CONST},
    {"d_I", DEF(0.087), NOB, CONST},
    {"gamma_E", DEF(0.641 / 1000), NOB, CONST},
    {"gamma_I", DEF(1.0 / 1000), NOB, CONST},
    {"tau_E", DEF(100), NOB, CONST},
    {"tau_I", DEF(10), NOB, CONST},
    {"I_0", DEF(0.382), NOB, CONST},
    {"w_E", DEF(1.0), NOB, CONST},
    {"w_I", DEF(0.7), NOB, CONST},
    {"w_II", DEF(1.0), NOB, CONST},
};
static const ref_state rww_states[] = {
    {"S_E", REF_INIT_VALUE, 0.001, 0, 0, REF_BOUND_CLAMP, 0, 1, RWW_sigma},
    {"S_I", REF_INIT_VALUE, 0.001, 0, 0, REF_BOUND_CLAMP, 0, 1, RWW_sigma},
};
static const char *const rww_T[] = {"S_E"};
static const ref_coupling rww_cpl[] = {{"c", 0, REF_CPL_LINEAR}};
static const char *const rww_lets[] = {"I_E", "I_I", "r_E", "r_I"};

static void rww_currents(const double *x, double c, const double *p, double *I_E, double *I_I)
{
    double S_E = x[0], S_I = x[1];
    *I_E = p[RWW_w_E] * p[RWW_I_0] + p[RWW_w_p] * p[RWW_J_N] * S_E
           + p[RWW_G] * p[RWW_J_N] * c - p[RWW_wIE] * S_I;
    *I_I = p[RWW_w_I] * p[RWW_I_0] + p[RWW_J_N] * S_E - p[RWW_w_II] * S_I;
}

static void rww_lets_fn(const double *x, const double *c, const double *p, double *out)
{
    double I_E, I_I;
    rww_currents(x, c[0], p, &I_E, &I_I);
    out[0] = I_E;
    out[1] = I_I;
    out[2] = H(p[RWW_a_E] * I_E - p[RWW_b_E], p[RWW_d_E]);
    out[3] = H(p[RWW_a_I] * I_I - p[RWW_b_I], p[RWW_d_I]);
}

static void rww_rhs(const double *x, const double *c, const double *p, double *dx)
{
    double l[4];
    rww_lets_fn(x, c, p, l);
    dx[0] = (1 - x[0]) * p[RWW_gamma_E] * l[2] - x[0] / p[RWW_tau_E];
    dx[1] = p[RWW_gamma_I] * l[3] - x[1] / p[RWW_tau_I];
}

static void transmit_state0(const double *x, const double *p, double *T)
{
    (void)p;
    T[0] = x[0];
}

static const ref_model rww_model = {
    "rww", 2, rww_states, RWW_NP, rww_params, REF_EULER, 1.0,
    1, rww_T, 1, rww_cpl, 4, rww_lets, "S_E",
    transmit_state0, rww_rhs, rww_lets_fn,
};

/* -------------------------------------------------------------- rwwex (models.md 2) */

enum { EX_G, EX_w, EX_I0, EX_sigma, EX_J_N, EX_a, EX_b, EX_d, EX_gamma, EX_tau, EX_NP };

static const ref_param rwwex_params[EX_NP] = {
    {"G", REQ, BND(0.001, 10), GLOB},
    {"w", DEF(0.9), BND(0.05, 1.5), REG},
    {"I0", DEF(0.3), BND(0.05, 1.5), REG},
    {"sigma", DEF(0.001), BND(0.0005, 0.01), REG},
    {"J_N", DEF(0.2609), NOB, CONST},
    {"a", DEF(270), NOB, CONST},
    {"b", DEF(108), NOB, CONST},
    {"d", DEF(0.154), NOB, CONST},
    {"gamma", DEF(0.641 / 1000), NOB, CONST},
    {"tau", DEF(100), NOB, CONST},
};
static const ref_state rwwex_states[] = {
    {"S", REF_INIT_VALUE, 0.001, 0, 0, REF_BOUND_CLAMP, 0, 1, EX_sigma},
};
static const char *const rwwex_T[] = {"S"};
static const char *const rwwex_lets[] = {"x", "r"};

static void rwwex_lets_fn(const double *x, const double *c, const double *p, double *out)
{
    double cur = p[EX_w] * p[EX_J_N] * x[0] + p[EX_G] * p[EX_J_N] * c[0] + p[EX_I0];
    out[0] = cur;
    out[1] = H(p[EX_a] * cur - p[EX_b], p[EX_d]);
}

static void rwwex_rhs(const double *x, const double *c, const double *p, double *dx)
{
    double l[2];
    rwwex_lets_fn(x, c, p, l);
    dx[0] = (1 - x[0]) * p[EX_gamma] * l[1] - x[0] / p[EX_tau];
}

static const ref_model rwwex_model = {
    "rwwex", 1, rwwex_states, EX_NP, rwwex_params, REF_EULER, 1.0,
    1, rwwex_T, 1, rww_cpl, 2, rwwex_lets, "S",
    transmit_state0, rwwex_rhs, rwwex_lets_fn,
};

/* ----------------------------------------------------------- kuramoto (models.md 3) */

enum { KU_G, KU_omega, KU_sigma, KU_NP };

static const ref_param kuramoto_params[KU_NP] = {
    {"G", REQ, BND(0, 10), GLOB},
    {"omega", DEF(PI), NOB, REG},
    {"sigma", DEF(0.17), BND(0, 0.5), REG},
};
static const ref_state kuramoto_states[] = {
    {"theta", REF_INIT_UNIFORM, 0, 0, 2 * PI, REF_BOUND_WRAP, 0, 2 * PI, KU_sigma},
};
static const char *const kuramoto_T[] = {"theta"};
static const ref_coupling kuramoto_cpl[] = {{"c", 0, REF_CPL_SIN_DIFF}};

static void kuramoto_rhs(const double *x, const double *c, const double *p, double *dx)
{
    (void)x;
    dx[0] = p[KU_omega] + p[KU_G] * c[0];
}

static void no_lets(const double *x, const double *c, const double *p, double *out)
{
    (void)x, (void)c, (void)p, (void)out;
}

static const ref_model kuramoto_model = {
    "kuramoto", 1, kuramoto_states, KU_NP, kuramoto_params, REF_EULER, 1.0,
    1, kuramoto_T, 1, kuramoto_cpl, 0, NULL, "theta",
    transmit_state0, kuramoto_rhs, no_lets,
};

/* --------------------------------------------------------- jansen_rit (models.md 4) */

enum { JR_G, JR_J, JR_a_1, JR_a_2, JR_a_3, JR_a_4, JR_sigma, JR_A, JR_B, JR_a, JR_b, JR_v0,
       JR_nu_max, JR_r, JR_mu, JR_cmin, JR_cmax, JR_midpoint, JR_NP };

static const ref_param jr_params[JR_NP] = {
    {"G", REQ, BND(0, 100), GLOB},
    {"J", DEF(135), BND(100, 200), REG},
    {"a_1", DEF(1.0), NOB, REG},
    {"a_2", DEF(0.8), NOB, REG},
    {"a_3", DEF(0.25), NOB, REG},
    {"a_4", DEF(0.25), NOB, REG},
    {"sigma", DEF(1e-4), BND(0, 0.01), REG},
    {"A", DEF(3.25), NOB, CONST},
    {"B", DEF(22), NOB, CONST},
    {"a", DEF(0.1), NOB, CONST},
    {"b", DEF(0.05), NOB, CONST},
    {"v0", DEF(6.0), NOB, CONST},
    {"nu_max", DEF(0.0025), NOB, CONST},
    {"r", DEF(0.56), NOB, CONST},
    {"mu", DEF(0.22), NOB, CONST},
    {"cmin", DEF(0), NOB, CONST},
    {"cmax", DEF(0.005), NOB, CONST},
    {"midpoint", DEF(6), NOB, CONST},
};
static const ref_state jr_states[] = {
    {"y0", REF_INIT_VALUE, 0, 0, 0, REF_BOUND_NONE, 0, 0, -1},
    {"y1", REF_INIT_VALUE, 0, 0, 0, REF_BOUND_NONE, 0, 0, -1},
    {"y2", REF_INIT_VALUE, 0, 0, 0, REF_BOUND_NONE, 0, 0, -1},
    {"y3", REF_INIT_VALUE, 0, 0, 0, REF_BOUND_NONE, 0, 0, JR_sigma},
    {"y4", REF_INIT_VALUE, 0, 0, 0, REF_BOUND_NONE, 0, 0, -1},
    {"y5", REF_INIT_VALUE, 0, 0, 0, REF_BOUND_NONE, 0, 0, -1},
};
static const char *const jr_T[] = {"out"};
static const char *const jr_lets[] = {"v_pyr", "out"};

/* The pyramidal sigmoid S(v) = 2 nu_max / (1 + exp(r (v0 - v))). */
static double jr_S(double v, const double *p)
{
    return 2 * p[JR_nu_max] / (1 + exp(p[JR_r] * (p[JR_v0] - v)));
}

static void jr_lets_fn(const double *x, const double *c, const double *p, double *out)
{
    (void)c;
    double v = x[1] - x[2];
    out[0] = v;
    out[1] = p[JR_cmin] + (p[JR_cmax] - p[JR_cmin]) / (1 + exp(p[JR_r] * (p[JR_midpoint] - v)));
}

static void jr_transmit(const double *x, const double *p, double *T)
{
    double l[2];
    jr_lets_fn(x, NULL, p, l);
    T[0] = l[1];
}

static void jr_rhs(const double *x, const double *c, const double *p, double *dx)
{
    double A = p[JR_A], B = p[JR_B], a = p[JR_a], b = p[JR_b], J = p[JR_J];
    dx[0] = x[3];
    dx[1] = x[4];
    dx[2] = x[5];
    dx[3] = A * a * jr_S(x[1] - x[2], p) - 2 * a * x[3] - a * a * x[0];
    dx[4] = A * a * (p[JR_mu] + p[JR_a_2] * J * jr_S(p[JR_a_1] * J * x[0], p) + p[JR_G] * c[0])
            - 2 * a * x[4] - a * a * x[1];
    dx[5] = B * b * (p[JR_a_4] * J * jr_S(p[JR_a_3] * J * x[0], p)) - 2 * b * x[5] - b * b * x[2];
}

static const ref_model jr_model = {
    "jansen_rit", 6, jr_states, JR_NP, jr_params, REF_EULER, 1.0,
    1, jr_T, 1, rww_cpl, 2, jr_lets, "v_pyr",
    jr_transmit, jr_rhs, jr_lets_fn,
};

/* ------------------------------------------------------- wilson_cowan (models.md 5) */

enum { WC_G, WC_c_EE, WC_c_IE, WC_c_EI, WC_c_II, WC_P_E, WC_P_I, WC_sigma_E, WC_sigma_I,
       WC_tau_E, WC_tau_I, WC_a_E, WC_a_I, WC_mu_E, WC_mu_I, WC_NP };

static const ref_param wc_params[WC_NP] = {
    {"G", REQ, BND(0, 10), GLOB},
    {"c_EE", DEF(16), BND(10, 20), REG},
    {"c_IE", DEF(12), BND(8, 16), REG},
    {"c_EI", DEF(15), NOB, REG},
    {"c_II", DEF(3), NOB, REG},
    {"P_E", DEF(0.5), BND(0, 3), REG},
    {"P_I", DEF(0), NOB, REG},
    {"sigma_E", DEF(5e-5), BND(0, 0.01), REG},
    {"sigma_I", DEF(5e-5), BND(0, 0.01), REG},
    {"tau_E", DEF(2.5), NOB, CONST},
    {"tau_I", DEF(3.75), NOB, CONST},
    {"a_E", DEF(1.5), NOB, CONST},
    {"a_I", DEF(1.5), NOB, CONST},
    {"mu_E", DEF(3.0), NOB, CONST},
    {"mu_I", DEF(3.0), NOB, CONST},
};
static const ref_state wc_states[] = {
    {"E", REF_INIT_VALUE, 0.001, 0, 0, REF_BOUND_CLAMP, 0, 1, WC_sigma_E},
    {"I", REF_INIT_VALUE, 0.001, 0, 0, REF_BOUND_CLAMP, 0, 1, WC_sigma_I},
};
static const char *const wc_T[] = {"E"};

static double wc_F(double x, double a, double mu)
{
    return 1 / (1 + exp(-a * (x - mu)));
}

static void wc_rhs(const double *x, const double *c, const double *p, double *dx)
{
    double E = x[0], I = x[1];
    double uE = p[WC_c_EE] * E - p[WC_c_IE] * I + p[WC_G] * c[0] + p[WC_P_E];
    double uI = p[WC_c_EI] * E - p[WC_c_II] * I + p[WC_P_I];
    dx[0] = (-E + (1 - E) * wc_F(uE, p[WC_a_E], p[WC_mu_E])) / p[WC_tau_E];
    dx[1] = (-I + (1 - I) * wc_F(uI, p[WC_a_I], p[WC_mu_I])) / p[WC_tau_I];
}

static const ref_model wc_model = {
    "wilson_cowan", 2, wc_states, WC_NP, wc_params, REF_EULER, 1.0,
    1, wc_T, 1, rww_cpl, 0, NULL, "E",
    transmit_state0, wc_rhs, no_lets,
};

/* --------------------------------------------------------------- hopf (models.md 6) */

enum { HO_G, HO_a, HO_omega, HO_sigma, HO_NP };

static const ref_param hopf_params[HO_NP] = {
    {"G", REQ, BND(0, 5), GLOB},
    {"a", DEF(-0.02), BND(-0.2, 0.2), REG},
    {"omega", DEF(0.3142), NOB, REG},
    {"sigma", DEF(0.02), BND(0.005, 0.1), REG},
};
static const ref_state hopf_states[] = {
    {"x", REF_INIT_VALUE, 0.1, 0, 0, REF_BOUND_NONE, 0, 0, HO_sigma},
    {"y", REF_INIT_VALUE, 0.1, 0, 0, REF_BOUND_NONE, 0, 0, HO_sigma},
};
static const char *const hopf_T[] = {"x", "y"};
static const ref_coupling hopf_cpl[] = {{"cx", 0, REF_CPL_DIFF}, {"cy", 1, REF_CPL_DIFF}};

static void transmit_states01(const double *x, const double *p, double *T)
{
    (void)p;
    T[0] = x[0];
    T[1] = x[1];
}

static void hopf_rhs(const double *x, const double *c, const double *p, double *dx)
{
    double X = x[0], Y = x[1], rad = p[HO_a] - X * X - Y * Y;
    dx[0] = rad * X - p[HO_omega] * Y + p[HO_G] * c[0];
    dx[1] = rad * Y + p[HO_omega] * X + p[HO_G] * c[1];
}

static const ref_model hopf_model = {
    "hopf", 2, hopf_states, HO_NP, hopf_params, REF_EULER, 1e-3,
    2, hopf_T, 2, hopf_cpl, 0, NULL, "x",
    transmit_states01, hopf_rhs, no_lets,
};

/* ---------------------------------------------------------------- mpr (models.md 7) */

enum { MP_G, MP_tau, MP_Delta, MP_eta, MP_J, MP_I, MP_sigma_r, MP_sigma_V, MP_cr, MP_cv,
       MP_NP };

static const ref_param mpr_params[MP_NP] = {
    {"G", REQ, BND(0, 5), GLOB},
    {"tau", DEF(1.0), NOB, GLOB},
    {"Delta", DEF(1.0), BND(0.1, 5), REG},
    {"eta", DEF(-5.0), BND(-10, 0), REG},
    {"J", DEF(15.0), BND(0, 25), REG},
    {"I", DEF(0.0), BND(-5, 5), REG},
    {"sigma_r", DEF(0), BND(0, 0.5), REG},
    {"sigma_V", DEF(0), BND(0, 0.5), REG},
    {"cr", DEF(1.0), NOB, CONST},
    {"cv", DEF(0.0), NOB, CONST},
};
static const ref_state mpr_states[] = {
    /* r ~ U(0, 2/tau): 2 at the default tau = 1 ms */
    {"r", REF_INIT_UNIFORM, 0, 0, 2.0, REF_BOUND_CLAMP, 0, INFINITY, MP_sigma_r},
    {"V", REF_INIT_UNIFORM, 0, -2.0, 1.5, REF_BOUND_NONE, 0, 0, MP_sigma_V},
};
static const char *const mpr_T[] = {"r", "V"};
static const ref_coupling mpr_cpl[] = {{"c_r", 0, REF_CPL_LINEAR}, {"c_V", 1, REF_CPL_LINEAR}};
static const char *const mpr_lets[] = {"rate"};

static void mpr_rhs(const double *x, const double *c, const double *p, double *dx)
{
    double r = x[0], V = x[1], tau = p[MP_tau], G = p[MP_G];
    dx[0] = (p[MP_Delta] / (PI * tau) + 2 * r * V) / tau;
    dx[1] = (V * V + p[MP_eta] + p[MP_I] + tau * (p[MP_J] * r + p[MP_cr] * G * c[0])
             + p[MP_cv] * G * c[1] - (PI * tau * r) * (PI * tau * r)) / tau;
}

static void mpr_lets_fn(const double *x, const double *c, const double *p, double *out)
{
    (void)c;
    out[0] = p[MP_tau] * x[0];
}

static const ref_model mpr_model = {
    "mpr", 2, mpr_states, MP_NP, mpr_params, REF_HEUN, 1.0,
    2, mpr_T, 2, mpr_cpl, 1, mpr_lets, "rate",
    transmit_states01, mpr_rhs, mpr_lets_fn,
};

const ref_model *const ref_models[] = {
    &rww_model, &rwwex_model, &kuramoto_model, &jr_model, &wc_model, &hopf_model, &mpr_model,
    NULL,
};
