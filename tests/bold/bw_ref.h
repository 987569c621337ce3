/* Independent double-precision reference of the Balloon-Windkessel model, written from
 * analysis.md 3.1-3.4 alone (it shares no code or constant with engine/bold). */
#ifndef TESTS_BOLD_BW_REF_H
#define TESTS_BOLD_BW_REF_H

typedef struct ref_bw {
    double x, f, nu, q;
} ref_bw;

void ref_bw_rest(ref_bw *s);
/* One step of analysis.md 3.3 with input z and h = bw_dt_ms / 1000 seconds. */
void ref_bw_step(ref_bw *s, double z, double h);
double ref_bw_bold(const ref_bw *s, double k1, double k2, double k3);

/* The same lines in long double, to tell the errors of a double implementation from
 * those of the double reference itself (whose states near 1 ignore increments below
 * half an ulp). Constants are the double ones, widened. */
typedef struct ref_bw_ld {
    long double x, f, nu, q;
} ref_bw_ld;

void ref_bw_rest_ld(ref_bw_ld *s);
void ref_bw_step_ld(ref_bw_ld *s, long double z, long double h);
long double ref_bw_bold_ld(const ref_bw_ld *s, long double k1, long double k2, long double k3);

#endif
