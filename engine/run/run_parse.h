/* Section parsers shared between parse.c and parse_sweep.c. */
#ifndef CLBNM_RUN_PARSE_H
#define CLBNM_RUN_PARSE_H

#include "parse_util.h"

bool run_parse_sweep(rp *p, const yaml_node_t *m);
bool run_parse_free(rp *p, const yaml_node_t *m);
bool run_parse_hetero(rp *p, const yaml_node_t *m);
bool run_parse_optimizer(rp *p, const yaml_node_t *m, const yaml_node_t *key);
/* Names given in two roles: swept or free and also fixed (a warning: the fixed value is
 * overridden), heterogeneous but not free (an error). */
bool run_check_overlaps(rp *p);

#endif
