/* Helpers shared by the model subcommands (models, check): options and how a model's
 * parameters are shown. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ir.h"

int cli_option_value(int argc, char **argv, int *i, const char *opt, const char **value)
{
    size_t n = strlen(opt);
    const char *arg = argv[*i];
    if (strncmp(arg, opt, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "clbnm: error: option %s needs a value (see --help)\n", opt);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

/* Shortest text that reads back as the same double, with inf spelled as in .nmm. */
static void fmt_num(char *buf, size_t n, double v)
{
    if (isinf(v)) {
        snprintf(buf, n, "%sinf", v < 0 ? "-" : "");
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

typedef struct param_cells {
    char def[40], bounds[80];
} param_cells;

static void param_cells_of(const bnm_ir_param *p, param_cells *c)
{
    char lo[32], hi[32];
    snprintf(c->def, sizeof c->def, "required");
    snprintf(c->bounds, sizeof c->bounds, "-");
    if (p->has_default)
        fmt_num(c->def, sizeof c->def, p->def);
    if (p->has_bounds) {
        fmt_num(lo, sizeof lo, p->lo);
        fmt_num(hi, sizeof hi, p->hi);
        snprintf(c->bounds, sizeof c->bounds, "[%s, %s]%s", lo, hi, p->log_scale ? " log" : "");
    }
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

void cli_print_params(FILE *out, const bnm_model_ir *m, const char *indent,
                      const char *const *levels)
{
    int wn = 4, wd = 7, wb = 6;
    for (int i = 0; i < m->n_params; i++) {
        param_cells c;
        param_cells_of(&m->params[i], &c);
        wn = max_int(wn, (int)strlen(m->params[i].name));
        wd = max_int(wd, (int)strlen(c.def));
        wb = max_int(wb, (int)strlen(c.bounds));
    }
    fprintf(out, "%s%-*s  %-*s  %-*s  %-8s  %s\n", indent, wn, "name", wd, "default", wb,
            "bounds", "kind", levels ? "level" : "unit");
    for (int i = 0; i < m->n_params; i++) {
        const bnm_ir_param *p = &m->params[i];
        param_cells c;
        param_cells_of(p, &c);
        const char *kind = p->is_const ? "const" : p->regional ? "regional" : "global";
        bool more = levels || p->unit || p->alias;
        fprintf(out, "%s%-*s  %-*s  %-*s  %-*s", indent, wn, p->name, wd, c.def, wb, c.bounds,
                more ? 8 : 0, kind);
        if (levels)
            fprintf(out, "  %s", levels[i]);
        else if (p->unit)
            fprintf(out, "  [%s]", p->unit);
        if (p->alias)
            fprintf(out, "  (alias %s)", p->alias);
        fputc('\n', out);
    }
}
