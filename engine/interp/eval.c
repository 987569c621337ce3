/* IR expression evaluation in double. Every operation mirrors the OpenCL C the
 * generator emits for it (emit.c), so the interpreter is a faithful oracle. */
#include <math.h>

#include "codegen_internal.h"
#include "interp_eval.h"

double bnm_ip_min(double a, double b)
{
    if (isnan(a) || isnan(b))
        return a + b;
    return a < b ? a : b;
}

double bnm_ip_max(double a, double b)
{
    if (isnan(a) || isnan(b))
        return a + b;
    return a > b ? a : b;
}

double bnm_ip_powi(double x, int n)
{
    int m = n < 0 ? -n : n;
    double r = 1.0;
    if (m > 0) {
        r = x;
        for (int k = 1; k < m; k++)
            r = r * x;
    }
    return n < 0 ? 1.0 / r : r;
}

static double mod_(double x, double m)
{
    return x - m * floor(x / m);
}

double bnm_ip_wrap(double x, double lo, double hi)
{
    return lo + mod_(x - lo, hi - lo);
}

static double call(const bnm_ip_env *env, const bnm_ir_expr *e)
{
    double a = bnm_ip_eval(env, e->a);
    double b = e->b ? bnm_ip_eval(env, e->b) : 0.0;
    switch (e->fn) {
    case BNM_FN_EXP: return exp(a);
    case BNM_FN_EXPM1: return expm1(a);
    case BNM_FN_LOG: return log(a);
    case BNM_FN_LOG1P: return log1p(a);
    case BNM_FN_LOG10: return log10(a);
    case BNM_FN_SQRT: return sqrt(a);
    case BNM_FN_SIN: return sin(a);
    case BNM_FN_COS: return cos(a);
    case BNM_FN_TAN: return tan(a);
    case BNM_FN_ASIN: return asin(a);
    case BNM_FN_ACOS: return acos(a);
    case BNM_FN_ATAN: return atan(a);
    case BNM_FN_SINH: return sinh(a);
    case BNM_FN_COSH: return cosh(a);
    case BNM_FN_TANH: return tanh(a);
    case BNM_FN_ERF: return erf(a);
    case BNM_FN_ABS: return fabs(a);
    case BNM_FN_FLOOR: return floor(a);
    case BNM_FN_CEIL: return ceil(a);
    case BNM_FN_SIGN: return a > 0.0 ? 1.0 : (a < 0.0 ? -1.0 : a);
    case BNM_FN_SIGMOID: return 1.0 / (1.0 + exp(-a));
    case BNM_FN_HEAVISIDE: return a > 0.0 ? 1.0 : 0.0;
    case BNM_FN_RELU: return bnm_ip_max(a, 0.0);
    case BNM_FN_ATAN2: return atan2(a, b);
    case BNM_FN_MOD: return mod_(a, b);
    case BNM_FN_MIN: return bnm_ip_min(a, b);
    case BNM_FN_MAX: return bnm_ip_max(a, b);
    case BNM_FN_CLAMP: return bnm_ip_min(bnm_ip_max(a, b), bnm_ip_eval(env, e->c));
    case BNM_FN_COUNT_: break;
    }
    return NAN;
}

double bnm_ip_eval(const bnm_ip_env *env, const bnm_ir_expr *e)
{
    switch (e->op) {
    case BNM_IR_NUM: return e->value;
    case BNM_IR_PARAM: return env->param[e->index];
    case BNM_IR_STATE: return env->state[e->index];
    case BNM_IR_LET:
        return env->let ? env->let[e->index] : bnm_ip_eval(env, env->ir->lets[e->index].expr);
    case BNM_IR_COUPLING: return env->coupling[e->index];
    case BNM_IR_INPUT: return bnm_ip_eval(env, env->ir->inputs[e->index].def);
    case BNM_IR_SOURCE: return env->source[e->index];
    case BNM_IR_WEIGHT: return env->weight;
    case BNM_IR_TIME: return env->t;
    case BNM_IR_DT: return env->dt;
    case BNM_IR_NNODES: return (double)env->n_nodes;
    case BNM_IR_NEG: return -bnm_ip_eval(env, e->a);
    case BNM_IR_NOT: return bnm_ip_eval(env, e->a) != 0.0 ? 0.0 : 1.0;
    case BNM_IR_ADD: return bnm_ip_eval(env, e->a) + bnm_ip_eval(env, e->b);
    case BNM_IR_SUB: return bnm_ip_eval(env, e->a) - bnm_ip_eval(env, e->b);
    case BNM_IR_MUL: return bnm_ip_eval(env, e->a) * bnm_ip_eval(env, e->b);
    case BNM_IR_DIV: return bnm_ip_eval(env, e->a) / bnm_ip_eval(env, e->b);
    case BNM_IR_POW: return pow(bnm_ip_eval(env, e->a), bnm_ip_eval(env, e->b));
    case BNM_IR_POWN: return bnm_ip_powi(bnm_ip_eval(env, e->a), e->ival);
    case BNM_IR_LT: return bnm_ip_eval(env, e->a) < bnm_ip_eval(env, e->b);
    case BNM_IR_LE: return bnm_ip_eval(env, e->a) <= bnm_ip_eval(env, e->b);
    case BNM_IR_GT: return bnm_ip_eval(env, e->a) > bnm_ip_eval(env, e->b);
    case BNM_IR_GE: return bnm_ip_eval(env, e->a) >= bnm_ip_eval(env, e->b);
    case BNM_IR_EQ: return bnm_ip_eval(env, e->a) == bnm_ip_eval(env, e->b);
    case BNM_IR_NE: return bnm_ip_eval(env, e->a) != bnm_ip_eval(env, e->b);
    case BNM_IR_AND: return bnm_ip_eval(env, e->a) != 0.0 && bnm_ip_eval(env, e->b) != 0.0;
    case BNM_IR_OR: return bnm_ip_eval(env, e->a) != 0.0 || bnm_ip_eval(env, e->b) != 0.0;
    case BNM_IR_IF:
        return bnm_ip_eval(env, e->a) != 0.0 ? bnm_ip_eval(env, e->b) : bnm_ip_eval(env, e->c);
    case BNM_IR_CALL: return call(env, e);
    case BNM_IR_SUM_J: return env->sum ? env->sum(env, e->a) : NAN;
    }
    return NAN;
}

double bnm_ip_sum_add(const bnm_ip_env *env, const bnm_ir_expr *term, double acc)
{
    int t;
    if (bnm_cg_term_fma(term, &t))
        return fma(env->weight, env->source[t], acc);
    return acc + bnm_ip_eval(env, term);
}
