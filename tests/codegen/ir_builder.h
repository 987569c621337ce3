/* Builds model IR by hand for the back-end tests, with a small expression parser so test
 * models read like .nmm text. Names resolve against what was declared before. */
#ifndef CLBNM_TEST_IR_BUILDER_H
#define CLBNM_TEST_IR_BUILDER_H

#include <stdbool.h>

#include "ir.h"

bnm_model_ir *tb_model(const char *name, const char *file_name, bnm_ir_integrator integ);
/* Returns the index. NAN def: required. */
int tb_param(bnm_model_ir *m, const char *name, double def, bool regional, bool is_const);
int tb_state(bnm_model_ir *m, const char *name, const char *init, bnm_ir_bound_kind bound,
             const char *lo, const char *hi, int line);
int tb_let(bnm_model_ir *m, const char *name, const char *expr, int line);
int tb_coupling(bnm_model_ir *m, const char *name, const char *expr, int line);
void tb_deriv(bnm_model_ir *m, const char *state, const char *expr, int line);
void tb_noise(bnm_model_ir *m, const char *state, const char *expr, int line);
/* Parses one expression against m's names; aborts the test on a syntax error. */
bnm_ir_expr *tb_expr(bnm_model_ir *m, const char *text, int line);

#endif
