/* The model library (the .nmm files of models/) and its independent references (reference.h).
 *
 * Three groups of tests:
 *  - library: every reference model has its file, the file is installed (listed in
 *    models/meson.build), and its declarations agree with the reference table;
 *  - reference: checks of the hand-written equations against values and closed forms
 *    of models.md and the literature, chosen so that a transcription slip (a sign, a
 *    swapped index, a wrong constant) moves the result far outside the tolerance;
 *  - integrator: the reference integrator against closed forms (order of accuracy,
 *    noise convention, bounds).
 * Front-end and kernel cross-checks live in test_models_frontend.c / _xcheck.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "test_models.h"

#define PI 3.14159265358979323846

/* ------------------------------------------------------------------ helpers */

char *tm_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

void tm_model_path(const char *name, char *out, size_t cap)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "CLBNM_SOURCE_ROOT is not set (run through meson test)");
    snprintf(out, cap, "%s/models/%s.nmm", root, name);
}

static double rel_err(double got, double want)
{
    return fabs(got - want) / fmax(fabs(want), 1e-300);
}

#define ASSERT_REL(got, want, tol)                                                          \
    do {                                                                                   \
        double g_ = (got), w_ = (want);                                                    \
        ck_assert_msg(rel_err(g_, w_) <= (tol), "%s = %.12g, expected %.12g (rel %.2g > %.2g)", \
                      #got, g_, w_, rel_err(g_, w_), (double)(tol));                       \
    } while (0)

/* ------------------------------------------------------------------ library */

/* Statement keyword and name of one logical line; comments stripped. */
static int line_decl(const char *line, char *kw, char *name)
{
    return sscanf(line, "%15s %63[A-Za-z0-9_]", kw, name) == 2;
}

START_TEST(every_model_has_an_installed_file)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    char path[4096];
    snprintf(path, sizeof path, "%s/models/meson.build", root);
    char *build = tm_read_text(path);
    ck_assert_msg(build != NULL, "cannot read %s", path);
    int n = 0;
    for (int k = 0; ref_models[k]; k++, n++) {
        const ref_model *m = ref_models[k];
        tm_model_path(m->name, path, sizeof path);
        char *text = tm_read_text(path);
        ck_assert_msg(text != NULL, "models/%s.nmm is missing", m->name);
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'%s.nmm'", m->name);
        ck_assert_msg(strstr(build, quoted) != NULL,
                      "models/meson.build does not list %s, so it is not installed", quoted);
        free(text);
    }
    ck_assert_int_eq(n, 7); /* models.md: the seven shipped models */
    free(build);
}
END_TEST

/* Without the front end: the declarations, read line by line, name the same params and
 * states in the same order with the same flags as the reference table. The front-end
 * test repeats this through bnm_nmm_load with values and bounds. */
START_TEST(files_declare_the_reference_names)
{
    const ref_model *m = ref_models[_i];
    char path[4096];
    tm_model_path(m->name, path, sizeof path);
    char *text = tm_read_text(path);
    ck_assert_ptr_nonnull(text);
    int np = 0, ns = 0, saw_model = 0, saw_doc = 0, saw_cite = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char kw[16], name[64];
        if (strncmp(line, "doc ", 4) == 0)
            saw_doc = 1;
        if (strncmp(line, "cite ", 5) == 0)
            saw_cite = 1;
        if (!line_decl(line, kw, name))
            continue;
        if (strcmp(kw, "model") == 0) {
            ck_assert_str_eq(name, m->name);
            saw_model = 1;
        } else if (strcmp(kw, "param") == 0) {
            ck_assert_msg(np < m->n_params, "%s: extra param %s", m->name, name);
            const ref_param *p = &m->params[np++];
            ck_assert_msg(strcmp(name, p->name) == 0, "%s: param %d is %s, reference %s",
                          m->name, np, name, p->name);
            ck_assert_int_eq(strstr(line, " regional") != NULL, p->regional);
            ck_assert_int_eq(strstr(line, " const") != NULL, p->is_const);
            ck_assert_int_eq(strstr(line, " in [") != NULL, p->has_bounds);
            ck_assert_int_eq(strchr(line, '=') != NULL, p->has_default);
        } else if (strcmp(kw, "state") == 0) {
            ck_assert_msg(ns < m->n_states, "%s: extra state %s", m->name, name);
            ck_assert_str_eq(name, m->states[ns].name);
            ck_assert_int_eq(strstr(line, " clamp [") != NULL,
                             m->states[ns].bound == REF_BOUND_CLAMP);
            ck_assert_int_eq(strstr(line, " wrap [") != NULL,
                             m->states[ns].bound == REF_BOUND_WRAP);
            ns++;
        }
    }
    ck_assert_msg(saw_model && saw_doc && saw_cite, "%s: model, doc and cite are required",
                  m->name);
    ck_assert_int_eq(np, m->n_params);
    ck_assert_int_eq(ns, m->n_states);
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ reference: rww */

/* models.md 1.6: the isolated node at wIE = 1 (the analytic FIC result at G = 0) sits at
 * S_E_ss = 0.1647572075, I_E_ss = 0.3773805650 nA, r_E ~ 3.0773 Hz, and its inhibitory
 * side at I_I = 0.2528951 nA, r_I = 3.921845 Hz, S_I = 0.03921845. Euler's fixed point is
 * exactly the ODE's (x = x + dt f(x) iff f(x) = 0), so after 20 s (200 time constants
 * tau_E) only the digits printed in models.md limit the comparison: 10 significant digits
 * for S_E_ss and I_E_ss (tol 1e-8 covers wIE = 1.000000 being itself rounded), 7 for the
 * I-side values (tol 2e-6). A wrong constant (e.g. d_E = 0.087) moves r_E by > 10%. */
START_TEST(rww_isolated_node_reaches_fic_steady_state)
{
    const ref_model *m = ref_model_find("rww");
    double W[1] = {0}, p[REF_MAX_PARAMS], x[2], l[4];
    ref_params_defaults(m, 1, p);
    p[ref_param_index(m, "G")] = 2.0; /* irrelevant with W = 0, but must not be NaN */
    ref_states_init(m, 1, x);
    ck_assert_int_eq(ref_run(m, REF_EULER, 1, W, 0.1, 200000, p, x, NULL), 0);
    ref_node_lets(m, 1, W, p, x, 0, l);
    ASSERT_REL(x[0], 0.1647572075, 1e-8);
    ASSERT_REL(l[0], 0.3773805650, 1e-8);
    ASSERT_REL(l[1], 0.2528951, 2e-6);
    ASSERT_REL(l[3], 3.921845, 2e-6);
    ASSERT_REL(x[1], 0.03921845, 2e-6);
    ASSERT_REL(l[2], 3.0773, 2e-5); /* "r_E ~ 3.0773 Hz" */
}
END_TEST

/* models.md 1.6 check values: with wIE_j = 1 + 0.630152*G*s_j (s_j = sum_k W[j,k], the
 * in-strength) every node of a coupled network has I_E = I_E_ss and S_E = S_E_ss.
 * The SC is asymmetric with different row and column sums, so reading W transposed
 * (source rows) gives in-strengths 0.35/0.95 instead of 0.85/0.45 and misses S_E_ss by
 * percents. 0.630152 has 6 digits: wIE errors ~5e-7*G*s give S_E errors well below the
 * 1e-5 tolerance. */
START_TEST(rww_fic_formula_balances_an_asymmetric_network)
{
    const ref_model *m = ref_model_find("rww");
    const int n = 2;
    const double W[4] = {0.05, 0.80,  /* target 0: from 0, from 1 */
                         0.30, 0.15}; /* target 1 */
    double p[REF_MAX_PARAMS * 2], x[4], l[4];
    ref_params_defaults(m, n, p);
    const double G = 1.5;
    int iG = ref_param_index(m, "G"), iw = ref_param_index(m, "wIE");
    for (int i = 0; i < n; i++) {
        double s = W[i * n + 0] + W[i * n + 1];
        p[iG * n + i] = G;
        p[iw * n + i] = 1.0 + 0.630152 * G * s;
    }
    ref_states_init(m, n, x);
    ck_assert_int_eq(ref_run(m, REF_EULER, n, W, 0.1, 200000, p, x, NULL), 0);
    for (int i = 0; i < n; i++) {
        ref_node_lets(m, n, W, p, x, i, l);
        ASSERT_REL(x[0 * n + i], 0.1647572075, 1e-5);
        ASSERT_REL(l[0], 0.3773805650, 1e-5);
    }
}
END_TEST

/* models.md 0.5: the guard of H gives 1/d + y/2 near y = 0 (no 0/0), and the exact
 * branch just outside it continues the series (next term d*y^2/12, relative ~1e-11). */
START_TEST(rww_transfer_function_guard)
{
    const ref_model *m = ref_model_find("rww");
    double p[REF_MAX_PARAMS], x[2] = {0, 0}, c[1] = {0}, l[4];
    ref_params_defaults(m, 1, p);
    p[0] = 0;
    /* S_E such that I_E = w_E*I_0 + w_p*J_N*S_E = b_E/a_E (S_I = 0): y = 0. */
    const double S0 = (125.0 / 310.0 - 0.382) / (1.4 * 0.15);
    const double scale[2] = {1.0, 1.0 + 1e-5}; /* inside the guard, then |d*y| ~ 1e-5 */
    for (int k = 0; k < 2; k++) {
        x[0] = S0 * scale[k];
        m->lets(x, c, p, l);
        double y = 310 * l[0] - 125;
        ck_assert(k == 0 ? fabs(0.16 * y) < 1e-6 : fabs(0.16 * y) > 1e-6);
        ck_assert(isfinite(l[2]));
        ASSERT_REL(l[2], 1 / 0.16 + y / 2, 1e-9);
    }
}
END_TEST

/* ------------------------------------------------------------------ reference: rwwex */

/* The fixed point written independently: S = g*tau*r / (1 + g*tau*r) with
 * r = H(a*x - b, d), x = w*J_N*S + I0 (G*c = 0), found by bisection on the low branch,
 * must be where the integrated node settles. */
static double rwwex_fp_residual(double S)
{
    double x = 0.9 * 0.2609 * S + 0.3, y = 270 * x - 108, d = 0.154;
    double r = y / (1 - exp(-d * y));
    double k = 0.641 / 1000 * 100 * r;
    return S - k / (1 + k);
}

START_TEST(rwwex_settles_on_the_algebraic_fixed_point)
{
    double lo = 0.0, hi = 0.1; /* residual < 0 at 0, > 0 at 0.1: the low branch */
    ck_assert(rwwex_fp_residual(lo) < 0 && rwwex_fp_residual(hi) > 0);
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        *(rwwex_fp_residual(mid) < 0 ? &lo : &hi) = mid;
    }
    const ref_model *m = ref_model_find("rwwex");
    double W[1] = {0}, p[REF_MAX_PARAMS], x[1];
    ref_params_defaults(m, 1, p);
    p[0] = 1.0;
    ref_states_init(m, 1, x);
    ck_assert_int_eq(ref_run(m, REF_EULER, 1, W, 0.1, 200000, p, x, NULL), 0);
    /* Euler's fixed point is the ODE's; 20 s = 200 tau. */
    ASSERT_REL(x[0], 0.5 * (lo + hi), 1e-9);
    ck_assert(x[0] > 0.03 && x[0] < 0.04); /* low-activity state, r ~ 0.56 Hz */
}
END_TEST

/* ------------------------------------------------------------------ reference: kuramoto */

/* G = 0: theta_k = wrap(theta_0 + k*dt*omega), exactly for Euler; per-node omega. */
START_TEST(kuramoto_uncoupled_drifts_at_omega)
{
    const ref_model *m = ref_model_find("kuramoto");
    const int n = 3;
    double W[9] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    double p[3 * 3], x[3] = {0.3, 2.0, 6.0};
    const double om[3] = {PI, 0.25, 1.0};
    ref_params_defaults(m, n, p);
    for (int i = 0; i < n; i++) {
        p[0 * n + i] = 0.0; /* G */
        p[1 * n + i] = om[i];
    }
    double x0[3];
    memcpy(x0, x, sizeof x);
    const long steps = 1000;
    const double dt = 0.1;
    ck_assert_int_eq(ref_run(m, REF_EULER, n, W, dt, steps, p, x, NULL), 0);
    for (int i = 0; i < n; i++) {
        double want = fmod(x0[i] + steps * dt * om[i], 2 * PI);
        ck_assert(x[i] >= 0 && x[i] < 2 * PI);
        /* 1000 wrapped additions: rounding ~1e-13 absolute */
        ck_assert_msg(fabs(x[i] - want) < 1e-10, "node %d: %.15g vs %.15g", i, x[i], want);
    }
}
END_TEST

/* Two coupled oscillators lock at sin(phi) = d_omega / (G*(W01 + W10)), phi = theta0 -
 * theta1, on the stable branch cos(phi) > 0, and rotate at the common frequency
 * Omega = (W10*omega0 + W01*omega1) / (W01 + W10). A flipped sine argument picks the
 * other branch (cos < 0); a transposed W gives Omega = pi + 0.0125 instead of
 * pi + 0.0375. Euler's locked state is the ODE's, so only rounding limits the checks. */
START_TEST(kuramoto_two_node_locking)
{
    const ref_model *m = ref_model_find("kuramoto");
    const int n = 2;
    const double W01 = 0.6, W10 = 0.2, G = 0.5;
    const double W[4] = {0.0, W01, W10, 0.0};
    const double om0 = PI, om1 = PI + 0.05;
    double p[3 * 2], x[2] = {0.1, 3.0};
    ref_params_defaults(m, n, p);
    p[0] = p[1] = G;
    p[2] = om0;
    p[3] = om1;
    ck_assert_int_eq(ref_run(m, REF_EULER, n, W, 0.1, 50000, p, x, NULL), 0);
    double phi = remainder(x[0] - x[1], 2 * PI);
    double want = asin((om0 - om1) / (G * (W01 + W10)));
    ck_assert_msg(fabs(phi - want) < 1e-9, "phi %.12g, expected %.12g", phi, want);
    double before = x[0];
    ck_assert_int_eq(ref_run(m, REF_EULER, n, W, 0.1, 1, p, x, NULL), 0);
    double adv = remainder(x[0] - before, 2 * PI);
    double Omega = (W10 * om0 + W01 * om1) / (W01 + W10);
    ck_assert_msg(fabs(adv / 0.1 - Omega) < 1e-8, "Omega %.12g, expected %.12g", adv / 0.1,
                  Omega);
}
END_TEST

/* ------------------------------------------------------------------ reference: JR */

/* The equilibrium written independently from models.md 4: y3 = y4 = y5 = 0,
 * y0 = (A/a) S(v), y1 = (A/a)(mu + a_2 J S(a_1 J y0)), y2 = (B/b) a_4 J S(a_3 J y0),
 * v = y1 - y2 (G*c = 0). Solved by bisection in v; the reference rhs must vanish there. */
static double jr_sig(double v)
{
    return 2 * 0.0025 / (1 + exp(0.56 * (6.0 - v)));
}

static void jr_eq(double v, double *y)
{
    y[0] = 3.25 / 0.1 * jr_sig(v);
    y[1] = 3.25 / 0.1 * (0.22 + 0.8 * 135 * jr_sig(1.0 * 135 * y[0]));
    y[2] = 22 / 0.05 * 0.25 * 135 * jr_sig(0.25 * 135 * y[0]);
    y[3] = y[4] = y[5] = 0;
}

START_TEST(jansen_rit_equilibrium_and_alpha_rhythm)
{
    const ref_model *m = ref_model_find("jansen_rit");
    double lo = -20, hi = 40, y[6];
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        jr_eq(mid, y);
        *((y[1] - y[2]) - mid > 0 ? &lo : &hi) = mid;
    }
    jr_eq(0.5 * (lo + hi), y);
    double p[REF_MAX_PARAMS], c[1] = {0}, dx[6];
    ref_params_defaults(m, 1, p);
    p[0] = 0.0;
    m->rhs(y, c, p, dx);
    /* Scales: y ~ 10 mV, a^2*y ~ 0.1 mV/ms^2; 1e-12 is rounding. */
    for (int s = 0; s < 6; s++)
        ck_assert_msg(fabs(dx[s]) < 1e-12, "d%s/dt = %g at the equilibrium", m->states[s].name,
                      dx[s]);

    /* Jansen & Rit 1995: at p = 220 Hz (mu = 0.22/ms) the column produces an alpha-band
     * (8-13 Hz) oscillation. Count upward crossings of the mean of v_pyr over 2 s after
     * a 1 s transient, from the resting initial state. Measured: 11 Hz. */
    double x[6] = {0}, W[1] = {0};
    p[0] = 0.0;
    ck_assert_int_eq(ref_run(m, REF_EULER, 1, W, 0.1, 10000, p, x, NULL), 0);
    enum { NS = 20000 };
    double *v = malloc(sizeof *v * NS), mean = 0;
    ck_assert_ptr_nonnull(v);
    for (int k = 0; k < NS; k++) {
        ref_run(m, REF_EULER, 1, W, 0.1, 1, p, x, NULL);
        v[k] = x[1] - x[2];
        mean += v[k] / NS;
    }
    int up = 0;
    double vmin = v[0], vmax = v[0];
    for (int k = 1; k < NS; k++) {
        up += v[k - 1] < mean && v[k] >= mean;
        vmin = fmin(vmin, v[k]);
        vmax = fmax(vmax, v[k]);
    }
    free(v);
    double hz = up / 2.0;
    ck_assert_msg(hz >= 8 && hz <= 13, "JR rhythm %.1f Hz, expected alpha", hz);
    ck_assert_msg(vmax - vmin > 1.0, "JR oscillation amplitude %.3g mV", vmax - vmin);
}
END_TEST

/* ------------------------------------------------------------------ reference: WC */

/* Newton on the reference rhs (finite-difference Jacobian) finds the fixed point of the
 * default node; it is then checked with the inverse-sigmoid form of models.md 5, written
 * independently: E/(1-E) = F(u_E) <=> u_E = mu - log((1-E)/E - 1)/a (and likewise I), and
 * the integrated node must settle there (it is a stable node at the defaults). */
START_TEST(wilson_cowan_fixed_point)
{
    const ref_model *m = ref_model_find("wilson_cowan");
    double p[REF_MAX_PARAMS], c[1] = {0}, x[2] = {0.05, 0.05}, f[2], fh[2];
    ref_params_defaults(m, 1, p);
    p[0] = 0.0;
    for (int it = 0; it < 50; it++) {
        double Jm[2][2], h = 1e-7;
        m->rhs(x, c, p, f);
        for (int k = 0; k < 2; k++) {
            double xh[2] = {x[0], x[1]};
            xh[k] += h;
            m->rhs(xh, c, p, fh);
            Jm[0][k] = (fh[0] - f[0]) / h;
            Jm[1][k] = (fh[1] - f[1]) / h;
        }
        double det = Jm[0][0] * Jm[1][1] - Jm[0][1] * Jm[1][0];
        x[0] -= (Jm[1][1] * f[0] - Jm[0][1] * f[1]) / det;
        x[1] -= (-Jm[1][0] * f[0] + Jm[0][0] * f[1]) / det;
    }
    m->rhs(x, c, p, f);
    ck_assert(fabs(f[0]) < 1e-14 && fabs(f[1]) < 1e-14);
    double E = x[0], I = x[1];
    double uE = 16 * E - 12 * I + 0.5, uI = 15 * E - 3 * I + 0;
    ASSERT_REL(uE, 3.0 - log((1 - E) / E - 1) / 1.5, 1e-10);
    ASSERT_REL(uI, 3.0 - log((1 - I) / I - 1) / 1.5, 1e-10);

    double y[2] = {0.001, 0.001}, W[1] = {0};
    ck_assert_int_eq(ref_run(m, REF_EULER, 1, W, 0.1, 20000, p, y, NULL), 0);
    ASSERT_REL(y[0], E, 1e-10);
    ASSERT_REL(y[1], I, 1e-10);
}
END_TEST

/* ------------------------------------------------------------------ reference: hopf */

/* Single Stuart-Landau node: u = x^2 + y^2 follows du/dt = 2a*u - 2u^2, so
 * u(t) = a*u0*e^(2at) / (a + u0*(e^(2at) - 1)), and the phase turns at +omega. RK4 at
 * dt = 1 ms (1e-3 s, time_unit s) over 10 s: truncation ~(dt)^4 ~ 1e-12, so 1e-9 holds
 * for both a < 0 (decay) and a > 0 (growth to the sqrt(a) cycle). The run's dt is in ms
 * and converted: a missing conversion would integrate 10000 s instead. */
START_TEST(hopf_amplitude_and_phase_closed_form)
{
    const ref_model *m = ref_model_find("hopf");
    const double as[3] = {-0.02, 0.04, 0.15};
    for (int t = 0; t < 3; t++) {
        double p[4], x[2] = {0.1, 0.1}, W[1] = {0};
        ref_params_defaults(m, 1, p);
        p[0] = 0.0;
        p[1] = as[t];
        const double T = 10.0, u0 = 0.02, a = as[t], om = p[2];
        ck_assert_int_eq(ref_run(m, REF_RK4, 1, W, 1.0, 10000, p, x, NULL), 0);
        double e = exp(2 * a * T), u = a * u0 * e / (a + u0 * (e - 1));
        ASSERT_REL(x[0] * x[0] + x[1] * x[1], u, 1e-9);
        double ph = remainder(atan2(x[1], x[0]) - (PI / 4 + om * T), 2 * PI);
        ck_assert_msg(fabs(ph) < 1e-9, "phase off by %g", ph);
    }
    /* a > 0, long run: the limit cycle has radius sqrt(a) (1000 s = 80 relaxation times) */
    double p[4], x[2] = {0.1, 0.1}, W[1] = {0};
    ref_params_defaults(m, 1, p);
    p[0] = 0.0;
    p[1] = 0.04;
    ck_assert_int_eq(ref_run(m, REF_RK4, 1, W, 10.0, 100000, p, x, NULL), 0);
    ASSERT_REL(sqrt(x[0] * x[0] + x[1] * x[1]), 0.2, 1e-9);
}
END_TEST

/* ------------------------------------------------------------------ reference: mpr */

/* Fixed points of the isolated node (G*c = 0, tau = 1): dr = 0 gives V = -Delta/(2 pi r);
 * dV = 0 then reads q(r) = Delta^2/(4 pi^2 r^2) + eta + J r - pi^2 r^2 = 0. At the
 * defaults (Delta 1, eta -5, J 15) the node is bistable (Montbrio et al. 2015, Fig. 1):
 * q has three positive roots, the outer two stable foci. Heun runs started near each must
 * settle on the corresponding root; Heun's fixed points are the ODE's. */
static double mpr_q(double r)
{
    return 1.0 / (4 * PI * PI * r * r) - 5.0 + 15.0 * r - PI * PI * r * r;
}

static double mpr_root(double lo, double hi)
{
    ck_assert(mpr_q(lo) * mpr_q(hi) < 0);
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        *(mpr_q(mid) * mpr_q(lo) > 0 ? &lo : &hi) = mid;
    }
    return 0.5 * (lo + hi);
}

START_TEST(mpr_bistable_fixed_points)
{
    const ref_model *m = ref_model_find("mpr");
    /* Bracket the roots on a grid: q > 0 near 0, then sign changes. */
    double roots[4];
    int nr = 0;
    for (double r = 0.01; r < 3.0 && nr < 4; r += 0.001)
        if (mpr_q(r) * mpr_q(r + 0.001) < 0)
            roots[nr++] = mpr_root(r, r + 0.001);
    ck_assert_int_eq(nr, 3);
    const double start[2][2] = {{0.1, -2.0}, {1.5, 0.0}};
    const double root_of[2] = {roots[0], roots[2]};
    for (int k = 0; k < 2; k++) {
        double p[REF_MAX_PARAMS], x[2] = {start[k][0], start[k][1]}, W[1] = {0};
        ref_params_defaults(m, 1, p);
        p[0] = 0.0;
        ck_assert_int_eq(ref_run(m, REF_HEUN, 1, W, 0.01, 100000, p, x, NULL), 0);
        ASSERT_REL(x[0], root_of[k], 1e-9);
        ASSERT_REL(x[1], -1.0 / (2 * PI * root_of[k]), 1e-9);
    }
    ck_assert(roots[0] > 0.07 && roots[0] < 0.09 && roots[2] > 1.0 && roots[2] < 1.1);
}
END_TEST

/* ------------------------------------------------------------------ spot values */

/* A second, independent transcription of each right-hand side, with the constants typed
 * from models.md's tables as literals, evaluated at an arbitrary interior point with an
 * arbitrary coupling and G. Agreement to 1e-13 means the two transcriptions agree term by
 * term; terms that fixed points cannot see (time constants, tau of mpr) are covered. */
static double spot_H(double y, double d)
{
    return y / (1 - exp(-d * y));
}

static void spot_check(const char *name, const double *x, const double *c,
                       const char *const *pname, const double *pval, int np,
                       const double *want)
{
    const ref_model *m = ref_model_find(name);
    double p[REF_MAX_PARAMS], dx[REF_MAX_STATES];
    ref_params_defaults(m, 1, p);
    for (int k = 0; k < np; k++) {
        int idx = ref_param_index(m, pname[k]);
        ck_assert_msg(idx >= 0, "%s has no param %s", name, pname[k]);
        p[idx] = pval[k];
    }
    m->rhs(x, c, p, dx);
    for (int s = 0; s < m->n_states; s++)
        ck_assert_msg(fabs(dx[s] - want[s]) <= 1e-13 * fmax(fabs(want[s]), 1e-12),
                      "%s: d%s/dt = %.15g, second transcription %.15g", name,
                      m->states[s].name, dx[s], want[s]);
}

START_TEST(rhs_spot_values)
{
    static const char *const G[] = {"G"};
    {   /* rww, models.md 1.3 */
        double x[2] = {0.3, 0.05}, c[1] = {0.7}, g = 1.3;
        double IE = 1.0 * 0.382 + 1.4 * 0.15 * 0.3 + g * 0.15 * 0.7 - 1.0 * 0.05;
        double II = 0.7 * 0.382 + 0.15 * 0.3 - 1.0 * 0.05;
        double rE = spot_H(310 * IE - 125, 0.16), rI = spot_H(615 * II - 177, 0.087);
        double want[2] = {(1 - 0.3) * 0.000641 * rE - 0.3 / 100, 0.001 * rI - 0.05 / 10};
        spot_check("rww", x, c, G, &g, 1, want);
    }
    {   /* rwwex, models.md 2 */
        double x[1] = {0.2}, c[1] = {0.4}, g = 2.1;
        double cur = 0.9 * 0.2609 * 0.2 + g * 0.2609 * 0.4 + 0.3;
        double r = spot_H(270 * cur - 108, 0.154);
        double want[1] = {(1 - 0.2) * 0.000641 * r - 0.2 / 100};
        spot_check("rwwex", x, c, G, &g, 1, want);
    }
    {   /* kuramoto, models.md 3 */
        double x[1] = {1.0}, c[1] = {-0.3}, g = 0.8, want[1] = {PI + 0.8 * -0.3};
        spot_check("kuramoto", x, c, G, &g, 1, want);
    }
    {   /* jansen_rit, models.md 4 */
        double x[6] = {0.12, 8.5, 11.0, 0.3, -0.2, 0.05}, c[1] = {0.004}, g = 3.0;
#define SJ(v) (2 * 0.0025 / (1 + exp(0.56 * (6.0 - (v)))))
        double want[6] = {
            0.3, -0.2, 0.05,
            3.25 * 0.1 * SJ(8.5 - 11.0) - 2 * 0.1 * 0.3 - 0.01 * 0.12,
            3.25 * 0.1 * (0.22 + 0.8 * 135 * SJ(1.0 * 135 * 0.12) + 3.0 * 0.004)
                - 2 * 0.1 * -0.2 - 0.01 * 8.5,
            22 * 0.05 * (0.25 * 135 * SJ(0.25 * 135 * 0.12)) - 2 * 0.05 * 0.05 - 0.0025 * 11.0,
        };
#undef SJ
        spot_check("jansen_rit", x, c, G, &g, 1, want);
    }
    {   /* wilson_cowan, models.md 5 */
        double x[2] = {0.4, 0.25}, c[1] = {0.6}, g = 1.7;
        double FE = 1 / (1 + exp(-1.5 * (16 * 0.4 - 12 * 0.25 + 1.7 * 0.6 + 0.5 - 3.0)));
        double FI = 1 / (1 + exp(-1.5 * (15 * 0.4 - 3 * 0.25 + 0 - 3.0)));
        double want[2] = {(-0.4 + 0.6 * FE) / 2.5, (-0.25 + 0.75 * FI) / 3.75};
        spot_check("wilson_cowan", x, c, G, &g, 1, want);
    }
    {   /* hopf, models.md 6 */
        double x[2] = {0.3, -0.4}, c[2] = {0.05, -0.02}, g = 0.9;
        double want[2] = {(-0.02 - 0.25) * 0.3 - 0.3142 * -0.4 + 0.9 * 0.05,
                          (-0.02 - 0.25) * -0.4 + 0.3142 * 0.3 + 0.9 * -0.02};
        spot_check("hopf", x, c, G, &g, 1, want);
    }
    {   /* mpr, models.md 7, at tau = 2 ms and cv = 0.5 so that every tau and both
         * couplings matter (cv is const in the file; the reference takes any value) */
        static const char *const pn[] = {"G", "tau", "cv", "I"};
        double pv[4] = {0.7, 2.0, 0.5, 0.3};
        double x[2] = {0.4, -0.8}, c[2] = {0.9, -1.1}, tau = 2.0;
        double want[2] = {
            (1.0 / (PI * tau) + 2 * 0.4 * -0.8) / tau,
            (0.64 - 5.0 + 0.3 + tau * (15.0 * 0.4 + 1.0 * 0.7 * 0.9) + 0.5 * 0.7 * -1.1
             - (PI * tau * 0.4) * (PI * tau * 0.4)) / tau,
        };
        spot_check("mpr", x, c, pn, pv, 4, want);
    }
}
END_TEST

/* One stochastic Heun step of mpr by hand (nmm-format.md 10.3): the predictor includes
 * the noise and is clamped (r >= 0), the corrector reuses the same z. The z of r drives
 * the predictor's r below 0, so a predictor without noise or without the clamp differs. */
START_TEST(heun_step_by_hand)
{
    const ref_model *m = ref_model_find("mpr");
    double p[REF_MAX_PARAMS], W[1] = {0};
    ref_params_defaults(m, 1, p);
    p[ref_param_index(m, "G")] = 0;
    p[ref_param_index(m, "sigma_r")] = 0.3;
    p[ref_param_index(m, "sigma_V")] = 0.2;
    const double dt = 0.04, z[2] = {-2.0, 0.7};
    double x[2] = {0.05, -1.0};
    ck_assert_int_eq(ref_run(m, REF_HEUN, 1, W, dt, 1, p, x, z), 0);
    /* by hand, tau = 1, Delta = 1, eta = -5, J = 15, I = 0, G*c = 0 */
    double r = 0.05, V = -1.0, sq = sqrt(dt);
    double fr0 = 1 / PI + 2 * r * V, fV0 = V * V - 5 + 15 * r - PI * PI * r * r;
    double rp = r + dt * fr0 + sq * 0.3 * -2.0, Vp = V + dt * fV0 + sq * 0.2 * 0.7;
    ck_assert(rp < 0); /* the case this test is about */
    rp = 0;
    double fr1 = 1 / PI + 2 * rp * Vp, fV1 = Vp * Vp - 5 + 15 * rp - PI * PI * rp * rp;
    double r1 = fmax(r + dt / 2 * (fr0 + fr1) + sq * 0.3 * -2.0, 0);
    double V1 = V + dt / 2 * (fV0 + fV1) + sq * 0.2 * 0.7;
    ck_assert_msg(fabs(x[0] - r1) < 1e-15 && fabs(x[1] - V1) < 1e-14,
                  "heun step (%.17g, %.17g), by hand (%.17g, %.17g)", x[0], x[1], r1, V1);
}
END_TEST

/* ------------------------------------------------------------------ integrator */

/* The three coupling kinds against sums worked by hand, on an asymmetric 3-node SC
 * (weight j -> i at W[i*n + j]). */
START_TEST(couplings_by_hand)
{
    const double W[9] = {0.0, 0.5, 0.25,
                         1.0, 0.1, 0.0,
                         0.0, 2.0, 0.0};
    /* hopf: diffusive cx, cy */
    const ref_model *h = ref_model_find("hopf");
    double p[4 * 3], st[2 * 3] = {1.0, 2.0, 4.0, /* x */ 0.0, -1.0, 3.0 /* y */}, c[2 * 3];
    ref_params_defaults(h, 3, p);
    ref_couplings(h, 3, W, p, st, c);
    ASSERT_REL(c[0], 0.5 * (2 - 1) + 0.25 * (4 - 1), 1e-15);
    ASSERT_REL(c[1], 1.0 * (1 - 2), 1e-15);
    ASSERT_REL(c[2], 2.0 * (2 - 4), 1e-15);
    ASSERT_REL(c[3], 0.5 * (-1 - 0) + 0.25 * (3 - 0), 1e-15);
    ASSERT_REL(c[5], 2.0 * (-1 - 3), 1e-15);
    /* kuramoto: sum_j W[i,j] sin(theta_j - theta_i) */
    const ref_model *k = ref_model_find("kuramoto");
    double th[3] = {0.0, 1.0, 2.5};
    ref_params_defaults(k, 3, p);
    ref_couplings(k, 3, W, p, th, c);
    ASSERT_REL(c[0], 0.5 * sin(1.0) + 0.25 * sin(2.5), 1e-15);
    ASSERT_REL(c[1], 1.0 * sin(-1.0), 1e-15);
    ASSERT_REL(c[2], 2.0 * sin(1.0 - 2.5), 1e-15);
    /* jansen_rit: linear in the let 'out', a sigmoid of y1 - y2 */
    const ref_model *j = ref_model_find("jansen_rit");
    double pj[REF_MAX_PARAMS * 3], y[6 * 3] = {0};
    ref_params_defaults(j, 3, pj);
    y[1 * 3 + 0] = 6.0;  /* v_pyr = 6 = midpoint: out = cmax/2 */
    y[1 * 3 + 1] = 10.0;
    y[2 * 3 + 1] = 4.0;  /* v_pyr = 6 */
    y[1 * 3 + 2] = -100; /* out ~ 0 */
    ref_couplings(j, 3, W, pj, y, c);
    ASSERT_REL(c[0], 0.5 * 0.0025 + 0.25 * 0.005 / (1 + exp(0.56 * 106)), 1e-12);
    ASSERT_REL(c[2], 2.0 * 0.0025, 1e-15);
}
END_TEST

/* Order of accuracy on a smooth nonlinear problem (single hopf node, a = 0.1): halving dt
 * divides the error at t = 20 s by 2^order. Measured against RK4 at dt/64. Ratios must be
 * within 15% of 2, 4, 16. */
START_TEST(integrators_have_their_order)
{
    const ref_model *m = ref_model_find("hopf");
    double p[4], W[1] = {0};
    ref_params_defaults(m, 1, p);
    p[0] = 0;
    p[1] = 0.1;
    p[2] = 2.0;
    const double T_ms = 20000;
    double ex[2] = {0.1, 0.1};
    ref_run(m, REF_RK4, 1, W, 10.0 / 64, (long)(T_ms / (10.0 / 64)), p, ex, NULL);
    const int order[3] = {1, 2, 4};
    for (int integ = REF_EULER; integ <= REF_RK4; integ++) {
        double err[2];
        for (int h = 0; h < 2; h++) {
            double dt = h ? 20.0 : 40.0, x[2] = {0.1, 0.1};
            ck_assert_int_eq(ref_run(m, integ, 1, W, dt, (long)(T_ms / dt), p, x, NULL), 0);
            err[h] = hypot(x[0] - ex[0], x[1] - ex[1]);
        }
        double ratio = err[0] / err[1], want = pow(2, order[integ]);
        ck_assert_msg(fabs(ratio / want - 1) < 0.15, "integrator %d: error ratio %.3f, want %g",
                      integ, ratio, want);
    }
}
END_TEST

/* Noise convention (nmm-format.md 10.2-10.3, 10.7): uncoupled Kuramoto has constant f,
 * so theta_k = wrap(theta_0 + k*dt*omega + sigma*sqrt(dt)*sum z) for Euler and for Heun
 * (both stages share z_k). z is laid out [step][node][slot]. */
START_TEST(additive_noise_convention)
{
    const ref_model *m = ref_model_find("kuramoto");
    const int n = 2;
    const long K = 200;
    double *z = malloc(sizeof *z * (size_t)(K * n));
    ck_assert_ptr_nonnull(z);
    for (long k = 0; k < K * n; k++)
        z[k] = sin(1.7 * (double)k) * 1.3; /* any fixed numbers */
    double W[4] = {0}, p[3 * 2];
    ref_params_defaults(m, n, p);
    p[0] = p[1] = 0;
    p[4] = 0.2; /* sigma node 0 */
    p[5] = 0.05;
    const double dt = 0.25;
    for (int integ = REF_EULER; integ <= REF_HEUN; integ++) {
        double x[2] = {1.0, 2.0};
        ck_assert_int_eq(ref_run(m, integ, n, W, dt, K, p, x, z), 0);
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (long k = 0; k < K; k++)
                s += z[k * n + i];
            double want = (i ? 2.0 : 1.0) + K * dt * PI + p[4 + i] * sqrt(dt) * s;
            want = want - 2 * PI * floor(want / (2 * PI));
            ck_assert_msg(fabs(x[i] - want) < 1e-10, "integrator %d node %d", integ, i);
        }
    }
    double x[2] = {1.0, 2.0};
    ck_assert_int_eq(ref_run(m, REF_RK4, n, W, dt, K, p, x, z), -1); /* rk4 + noise */
    free(z);
}
END_TEST

/* Bounds: clamp keeps rww's gating in [0, 1] under huge noise and hits both ends
 * exactly; wrap puts theta in [0, 2 pi) for negative phases too (floor-mod, not fmod). */
START_TEST(bounds_clamp_and_wrap)
{
    const ref_model *m = ref_model_find("rww");
    double W[1] = {0}, p[REF_MAX_PARAMS], x[2] = {0.5, 0.5};
    ref_params_defaults(m, 1, p);
    p[0] = 1;
    p[ref_param_index(m, "sigma")] = 10.0;
    double z[2] = {5.0, -5.0};
    ck_assert_int_eq(ref_run(m, REF_EULER, 1, W, 0.1, 1, p, x, z), 0);
    ck_assert(x[0] == 1.0 && x[1] == 0.0);
    const ref_state *th = &ref_model_find("kuramoto")->states[0];
    ck_assert(fabs(ref_bound_apply(th, -0.5) - (2 * PI - 0.5)) < 1e-15);
    ck_assert(ref_bound_apply(th, 2 * PI) == 0.0);
    ck_assert(fabs(ref_bound_apply(th, 7.0) - (7.0 - 2 * PI)) < 1e-15);
    ck_assert(isnan(ref_bound_apply(&m->states[0], NAN)));
    ck_assert(ref_bound_apply(&ref_model_find("mpr")->states[0], -1e-3) == 0.0);
    ck_assert(ref_bound_apply(&ref_model_find("mpr")->states[0], 1e300) == 1e300);
}
END_TEST

/* ------------------------------------------------------------------ runner */

static Suite *models_suite(void)
{
    Suite *s = suite_create("models");
    TCase *lib = tcase_create("library");
    tcase_add_test(lib, every_model_has_an_installed_file);
    tcase_add_loop_test(lib, files_declare_the_reference_names, 0, 7);
    suite_add_tcase(s, lib);

    TCase *ref = tcase_create("reference");
    tcase_add_test(ref, rww_isolated_node_reaches_fic_steady_state);
    tcase_add_test(ref, rww_fic_formula_balances_an_asymmetric_network);
    tcase_add_test(ref, rww_transfer_function_guard);
    tcase_add_test(ref, rwwex_settles_on_the_algebraic_fixed_point);
    tcase_add_test(ref, kuramoto_uncoupled_drifts_at_omega);
    tcase_add_test(ref, kuramoto_two_node_locking);
    tcase_add_test(ref, jansen_rit_equilibrium_and_alpha_rhythm);
    tcase_add_test(ref, wilson_cowan_fixed_point);
    tcase_add_test(ref, hopf_amplitude_and_phase_closed_form);
    tcase_add_test(ref, mpr_bistable_fixed_points);
    tcase_add_test(ref, rhs_spot_values);
    suite_add_tcase(s, ref);

    TCase *integ = tcase_create("integrator");
    tcase_add_test(integ, couplings_by_hand);
    tcase_add_test(integ, integrators_have_their_order);
    tcase_add_test(integ, additive_noise_convention);
    tcase_add_test(integ, heun_step_by_hand);
    tcase_add_test(integ, bounds_clamp_and_wrap);
    suite_add_tcase(s, integ);

    tm_add_frontend_tests(s);
    tm_add_xcheck_tests(s);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(models_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
