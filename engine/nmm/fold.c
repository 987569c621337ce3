/* Constant folding in double (nmm-format.md section 6.1) and the built-ins' meaning,
 * shared with anything that evaluates IR on the host. */
#include <math.h>

#include "nmm_internal.h"

static double nan_min(double a, double b) { return isnan(a) || isnan(b) ? NAN : (a < b ? a : b); }
static double nan_max(double a, double b) { return isnan(a) || isnan(b) ? NAN : (a > b ? a : b); }

double nmm_builtin_eval(bnm_ir_builtin fn, const double *x)
{
    switch (fn) {
    case BNM_FN_EXP: return exp(x[0]);
    case BNM_FN_EXPM1: return expm1(x[0]);
    case BNM_FN_LOG: return log(x[0]);
    case BNM_FN_LOG1P: return log1p(x[0]);
    case BNM_FN_LOG10: return log10(x[0]);
    case BNM_FN_SQRT: return sqrt(x[0]);
    case BNM_FN_SIN: return sin(x[0]);
    case BNM_FN_COS: return cos(x[0]);
    case BNM_FN_TAN: return tan(x[0]);
    case BNM_FN_ASIN: return asin(x[0]);
    case BNM_FN_ACOS: return acos(x[0]);
    case BNM_FN_ATAN: return atan(x[0]);
    case BNM_FN_SINH: return sinh(x[0]);
    case BNM_FN_COSH: return cosh(x[0]);
    case BNM_FN_TANH: return tanh(x[0]);
    case BNM_FN_ERF: return erf(x[0]);
    case BNM_FN_ABS: return fabs(x[0]);
    case BNM_FN_FLOOR: return floor(x[0]);
    case BNM_FN_CEIL: return ceil(x[0]);
    case BNM_FN_SIGN: return isnan(x[0]) ? NAN : (x[0] > 0) - (x[0] < 0);
    case BNM_FN_SIGMOID: return 1.0 / (1.0 + exp(-x[0]));
    case BNM_FN_HEAVISIDE: return isnan(x[0]) ? NAN : (x[0] > 0 ? 1.0 : 0.0);
    case BNM_FN_RELU: return isnan(x[0]) ? NAN : (x[0] > 0 ? x[0] : 0.0);
    case BNM_FN_ATAN2: return atan2(x[0], x[1]);
    case BNM_FN_MOD: return x[0] - x[1] * floor(x[0] / x[1]);
    case BNM_FN_MIN: return nan_min(x[0], x[1]);
    case BNM_FN_MAX: return nan_max(x[0], x[1]);
    case BNM_FN_CLAMP: return nan_min(nan_max(x[0], x[1]), x[2]);
    case BNM_FN_COUNT_: break;
    }
    return NAN;
}

static bool fail(const nmm_expr *e, const nmm_expr **bad, const char **why, const char *msg)
{
    *bad = e;
    *why = msg;
    return false;
}

/* Bool results are 1/0. inf is allowed as a value (ranges); other non-finite results
 * are folding errors. */
static bool fold(const nmm_expr *e, double *out, const nmm_expr **bad, const char **why)
{
    double a = 0, b = 0;
    switch (e->kind) {
    case E_NUM:
        *out = e->num;
        return true;
    case E_NAME:
        if (e->rk == R_PI) {
            *out = M_PI;
            return true;
        }
        if (e->rk == R_INF) {
            *out = INFINITY;
            return true;
        }
        return fail(e, bad, why, "not a constant");
    case E_NEG:
    case E_POS:
    case E_NOT:
        if (!fold(e->args[0], &a, bad, why))
            return false;
        *out = e->kind == E_NEG ? -a : e->kind == E_POS ? a : (a == 0 ? 1 : 0);
        return true;
    case E_BIN:
        if (!fold(e->args[0], &a, bad, why) || !fold(e->args[1], &b, bad, why))
            return false;
        switch (e->op) {
        case T_PLUS: *out = a + b; break;
        case T_MINUS: *out = a - b; break;
        case T_STAR: *out = a * b; break;
        case T_SLASH:
            if (b == 0)
                return fail(e, bad, why, "division by zero");
            *out = a / b;
            break;
        case T_CARET:
            if (a == 0 && b < 0)
                return fail(e, bad, why, "zero raised to a negative power");
            if (a < 0 && b != floor(b))
                return fail(e, bad, why, "negative number raised to a non-integer power");
            *out = pow(a, b);
            break;
        case T_LT: *out = a < b; break;
        case T_LE: *out = a <= b; break;
        case T_GT: *out = a > b; break;
        case T_GE: *out = a >= b; break;
        case T_EQEQ: *out = a == b; break;
        case T_NE: *out = a != b; break;
        case T_AND: *out = a != 0 && b != 0; break;
        case T_OR: *out = a != 0 || b != 0; break;
        default: return fail(e, bad, why, "not a constant");
        }
        if (isnan(*out) || (isinf(*out) && !isinf(a) && !isinf(b)))
            return fail(e, bad, why, "the result is not a finite number");
        return true;
    case E_CALL: {
        if (e->rk == R_IF && e->nargs == 3) {
            double c;
            if (!fold(e->args[0], &c, bad, why))
                return false;
            return fold(e->args[c != 0 ? 1 : 2], out, bad, why);
        }
        if (e->rk != R_BUILTIN || e->nargs > 3)
            return fail(e, bad, why, "not a constant");
        double x[3] = {0, 0, 0};
        for (int i = 0; i < e->nargs; i++)
            if (!fold(e->args[i], &x[i], bad, why))
                return false;
        bnm_ir_builtin fn = (bnm_ir_builtin)e->ref;
        if ((fn == BNM_FN_LOG || fn == BNM_FN_LOG10) && x[0] <= 0)
            return fail(e, bad, why, "logarithm of a number that is not positive");
        if (fn == BNM_FN_LOG1P && x[0] <= -1)
            return fail(e, bad, why, "log1p of a number <= -1");
        if (fn == BNM_FN_SQRT && x[0] < 0)
            return fail(e, bad, why, "square root of a negative number");
        if ((fn == BNM_FN_ASIN || fn == BNM_FN_ACOS) && fabs(x[0]) > 1)
            return fail(e, bad, why, "argument outside [-1, 1]");
        if (fn == BNM_FN_MOD && x[1] == 0)
            return fail(e, bad, why, "mod by zero");
        *out = nmm_builtin_eval(fn, x);
        if (!isfinite(*out))
            return fail(e, bad, why, "the result is not a finite number");
        return true;
    }
    case E_INDEX:
        break;
    }
    return fail(e, bad, why, "not a constant");
}

bool nmm_fold(const nmm_expr *e, double *out, const nmm_expr **bad, const char **why)
{
    return fold(e, out, bad, why);
}
