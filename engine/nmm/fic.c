/* The `fic` block (nmm-format.md section 11): keys, records, required keys and the
 * defaults of the table in 11.2, merged into one plan per method. */
#include <math.h>
#include <string.h>

#include "nmm_check.h"

enum {
    KEY_MEASURE, KEY_TARGET, KEY_EFFECT, KEY_METHOD, KEY_RANGE, KEY_FALLBACK, KEY_TOL, KEY_WINDOW,
    KEY_SAMPLE, KEY_STEP, KEY_STEP_MIN, KEY_SHRINK, KEY_MAX_TRIALS, KEY_SOLVE_TOL, KEY_MAX_ITER,
    KEY_STEADY, KEY_ITER, KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
    "measure", "target", "effect", "method", "range", "fallback", "tol", "window", "sample",
    "step", "step_min", "shrink", "max_trials", "solve_tol", "max_iter", "steady_state", "iterative"};

/* value kind each key takes: 0 expression, 1 range, 2 record, 3 word */
static const int key_kind[KEY_COUNT] = {0, 0, 3, 3, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 2};

static int key_of(nmm_file *f, const nmm_fic_item *it)
{
    for (int k = 0; k < KEY_COUNT; k++)
        if (nmm_tok_is(f, it->key_off, it->key_len, key_names[k]))
            return k;
    return -1;
}

typedef struct scope {
    const nmm_fic_item *items[KEY_COUNT];
} scope;

static void unknown_key(checker *C, const nmm_fic_item *it)
{
    nmm_file *f = C->f;
    nmm_diag *d = nmm_diag_add(f, NMM_ERROR, it->key_off, it->key_len, "unknown fic key '%.*s'",
                               it->key_len, f->src + it->key_off);
    int best = -1, bd = 99;
    for (int k = 0; k < KEY_COUNT; k++) {
        int dd = nmm_damerau(f->src + it->key_off, it->key_len, key_names[k], (int)strlen(key_names[k]));
        if (dd < bd) {
            bd = dd;
            best = k;
        }
    }
    if (bd <= 2)
        nmm_diag_extra(f, d, "help: did you mean '%s'?", key_names[best]);
    else
        nmm_diag_extra(f, d, "help: fic keys are measure, target, effect, method, range, fallback, "
                       "tol, window, sample, step, step_min, shrink, max_trials, solve_tol, "
                       "max_iter, steady_state and iterative");
}

static bool fill_scope(checker *C, scope *s, nmm_fic_item **items, int n, bool record)
{
    nmm_file *f = C->f;
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const nmm_fic_item *it = items[i];
        int k = key_of(f, it);
        if (k < 0) {
            unknown_key(C, it);
            ok = false;
            continue;
        }
        if (record && (k == KEY_EFFECT || k == KEY_METHOD || k == KEY_STEADY || k == KEY_ITER)) {
            nmm_diag_add(f, NMM_ERROR, it->key_off, it->key_len,
                         "'%s' belongs to the fic block, not to a method record", key_names[k]);
            ok = false;
            continue;
        }
        if (s->items[k]) {
            nmm_diag *d = nmm_diag_add(f, NMM_ERROR, it->key_off, it->key_len,
                                       "fic key '%s' given twice", key_names[k]);
            nmm_diag_extra(f, d, "note: first given at line %d", s->items[k]->line);
            ok = false;
            continue;
        }
        int want = key_kind[k];
        int have = it->vkind == 0 && it->e && it->e->kind == E_NAME && want == 3 ? 3 : it->vkind;
        if (have != want) {
            static const char *forms[] = {"a value", "a range '[lo, hi]'", "a record '(key = value, ...)'",
                                          "a word"};
            nmm_diag *d = nmm_diag_add(f, NMM_ERROR, it->val_off, it->val_end - it->val_off,
                                       "fic key '%s' takes %s", key_names[k], forms[want]);
            if (k == KEY_EFFECT)
                nmm_diag_extra(f, d, "help: write 'effect = increasing' or 'effect = decreasing'");
            else if (k == KEY_METHOD)
                nmm_diag_extra(f, d, "help: write 'method = steady_state' or 'method = iterative'");
            ok = false;
            continue;
        }
        s->items[k] = it;
    }
    return ok;
}

static bool const_value(checker *C, const nmm_fic_item *it, double *out, const char *what)
{
    nmm_walk_expr(C, it->e, W_CONST, what);
    if (!nmm_is_constant(it->e))
        return false;
    return nmm_fold_report(C, it->e, out);
}

static bool range_value(checker *C, const nmm_fic_item *it, double *lo, double *hi, bool allow_inf)
{
    nmm_walk_expr(C, it->lo, allow_inf ? W_RANGE : W_CONST, "a fic range");
    nmm_walk_expr(C, it->hi, allow_inf ? W_RANGE : W_CONST, "a fic range");
    if (!nmm_is_constant(it->lo) || !nmm_is_constant(it->hi) || !nmm_fold_report(C, it->lo, lo) ||
        !nmm_fold_report(C, it->hi, hi))
        return false;
    if (!(*lo < *hi)) {
        nmm_diag_add(C->f, NMM_ERROR, it->val_off, it->val_end - it->val_off,
                     "empty range: the lower bound %g is not below the upper bound %g", *lo, *hi);
        return false;
    }
    return true;
}

static const nmm_fic_item *pick(const scope *blk, const scope *rec, int k)
{
    return rec->items[k] ? rec->items[k] : blk->items[k];
}

static void build_rec(checker *C, const nmm_fic *fic, const scope *blk, const nmm_fic_item *rit,
                      int method, nmm_decl *P, nmm_fic_rec *out)
{
    nmm_file *f = C->f;
    scope rec;
    memset(&rec, 0, sizeof rec);
    fill_scope(C, &rec, rit->items, rit->nitems, true);
    out->present = true;
    const char *mname = key_names[method == 0 ? KEY_STEADY : KEY_ITER];
    const nmm_fic_item *it;
    /* measure and target are required for each available method */
    if ((it = pick(blk, &rec, KEY_MEASURE))) {
        nmm_walk_expr(C, it->e, W_FIC, "a fic measure");
        out->measure = it->e;
    } else {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, rit->key_off, rit->key_len,
                                   "fic method '%s' has no 'measure'", mname);
        nmm_diag_extra(f, d, "help: set 'measure = <per-node expression>' in the block or the record");
    }
    if ((it = pick(blk, &rec, KEY_TARGET)))
        const_value(C, it, &out->target, "a fic target");
    else
        nmm_diag_add(f, NMM_ERROR, rit->key_off, rit->key_len, "fic method '%s' has no 'target'", mname);
    /* range and fallback default to P's range and default */
    out->range_lo = -INFINITY;
    out->range_hi = INFINITY;
    if ((it = pick(blk, &rec, KEY_RANGE)))
        range_value(C, it, &out->range_lo, &out->range_hi, true);
    else if (P->lo && P->hi && nmm_is_constant(P->lo) && nmm_is_constant(P->hi)) {
        double a, b;
        if (nmm_fold_report(C, P->lo, &a) && nmm_fold_report(C, P->hi, &b)) {
            out->range_lo = a;
            out->range_hi = b;
        }
    }
    if ((it = pick(blk, &rec, KEY_FALLBACK)))
        const_value(C, it, &out->fallback, "a fic fallback");
    else if (P->def && nmm_is_constant(P->def))
        nmm_fold_report(C, P->def, &out->fallback);
    else if (method == 0) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, fic->name_off, fic->name_len,
                                   "fic needs 'fallback': param '%s' has no default", P->name);
        nmm_diag_extra(f, d, "help: add 'fallback = <value>' to the fic block");
    }
    /* method-specific keys with the table's defaults */
    out->sample = 0; /* 0: every step (dt) */
    out->step_min = 0;
    out->shrink = 0;
    out->max_trials = 10;
    out->solve_tol = 1e-10;
    out->max_iter = 100;
    static const int req_iter[] = {KEY_TOL, KEY_WINDOW, KEY_STEP};
    if (method == 1)
        for (size_t q = 0; q < 3; q++)
            if (!pick(blk, &rec, req_iter[q])) {
                nmm_diag *d = nmm_diag_add(f, NMM_ERROR, rit->key_off, rit->key_len,
                                           "fic method 'iterative' has no '%s'", key_names[req_iter[q]]);
                nmm_diag_extra(f, d, "help: the iterative method needs 'tol', 'window' and 'step'");
            }
    if ((it = pick(blk, &rec, KEY_TOL)) && const_value(C, it, &out->tol, "a fic tol") && out->tol <= 0)
        nmm_diag_add(f, NMM_ERROR, it->val_off, it->val_end - it->val_off, "'tol' must be > 0");
    if ((it = pick(blk, &rec, KEY_WINDOW)))
        range_value(C, it, &out->window_lo, &out->window_hi, false);
    if ((it = pick(blk, &rec, KEY_SAMPLE)) && const_value(C, it, &out->sample, "a fic sample") &&
        out->sample <= 0)
        nmm_diag_add(f, NMM_ERROR, it->val_off, it->val_end - it->val_off, "'sample' must be > 0");
    if ((it = pick(blk, &rec, KEY_STEP)))
        const_value(C, it, &out->step, "a fic step");
    if ((it = pick(blk, &rec, KEY_STEP_MIN)))
        const_value(C, it, &out->step_min, "a fic step_min");
    if ((it = pick(blk, &rec, KEY_SHRINK)))
        const_value(C, it, &out->shrink, "a fic shrink");
    if ((it = pick(blk, &rec, KEY_SOLVE_TOL)) &&
        const_value(C, it, &out->solve_tol, "a fic solve_tol") && out->solve_tol <= 0)
        nmm_diag_add(f, NMM_ERROR, it->val_off, it->val_end - it->val_off, "'solve_tol' must be > 0");
    static const int ints[] = {KEY_MAX_TRIALS, KEY_MAX_ITER};
    for (size_t q = 0; q < 2; q++) {
        double v;
        if ((it = pick(blk, &rec, ints[q])) && const_value(C, it, &v, "a fic count")) {
            if (v != floor(v) || v < (ints[q] == KEY_MAX_ITER ? 1 : 0) || v > 1e9)
                nmm_diag_add(f, NMM_ERROR, it->val_off, it->val_end - it->val_off,
                             "'%s' must be a whole number %s", key_names[ints[q]],
                             ints[q] == KEY_MAX_ITER ? ">= 1" : ">= 0");
            else if (ints[q] == KEY_MAX_TRIALS)
                out->max_trials = (int)v;
            else
                out->max_iter = (int)v;
        }
    }
}

void nmm_check_fic(checker *C)
{
    nmm_file *f = C->f;
    if (f->fics.n == 0)
        return;
    for (int i = 1; i < f->fics.n; i++) {
        nmm_fic *x = f->fics.v[i];
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, x->off, 3, "a second 'fic' block");
        nmm_diag_extra(f, d, "note: version 1 allows one fic block; the first is at line %d",
                       ((nmm_fic *)f->fics.v[0])->line);
    }
    nmm_fic *fic = f->fics.v[0];
    int nerr = f->nerrors;
    int pi = nmm_lookup(f, f->src + fic->name_off, fic->name_len);
    nmm_decl *P = pi >= 0 ? f->decls.v[pi] : NULL;
    if (!P || P->kind != K_PARAM) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, fic->name_off, fic->name_len,
                                   "fic controls a param, but '%.*s' is %s", fic->name_len,
                                   f->src + fic->name_off, P ? nmm_kind_name(P->kind) : "not declared");
        nmm_diag_extra(f, d, "help: write 'fic P { ... }' with P a regional, non-const param");
        return;
    }
    P->used = true;
    if (!P->regional || P->is_const) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, fic->name_off, fic->name_len,
                                   "fic sets '%s' per node, so it must be 'regional' and not 'const'",
                                   P->name);
        nmm_diag_extra(f, d, "note: '%s' is declared at line %d", P->name, P->line);
    }
    scope blk;
    memset(&blk, 0, sizeof blk);
    fill_scope(C, &blk, fic->items, fic->nitems, false);
    nmm_fic_plan *plan = nmm_alloc(&f->arena, sizeof *plan);
    plan->param = pi;
    plan->line = fic->line;
    const nmm_fic_item *it = blk.items[KEY_EFFECT];
    if (!it) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, fic->off, 3, "the fic block has no 'effect'");
        nmm_diag_extra(f, d, "help: add 'effect = increasing' or 'effect = decreasing' (the sign of "
                       "d measure / d %s)", P->name);
    } else if (nmm_tok_is(f, it->e->name_off, it->e->name_len, "increasing")) {
        plan->increasing = true;
    } else if (!nmm_tok_is(f, it->e->name_off, it->e->name_len, "decreasing")) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, it->e->off, it->e->end - it->e->off,
                                   "unknown effect '%.*s'", it->e->name_len, f->src + it->e->name_off);
        nmm_diag_extra(f, d, "help: write 'increasing' or 'decreasing'");
    }
    const nmm_fic_item *recs[2] = {blk.items[KEY_STEADY], blk.items[KEY_ITER]};
    if (!recs[0] && !recs[1]) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, fic->off, 3, "the fic block has no method record");
        nmm_diag_extra(f, d, "help: add 'steady_state = (...)' or 'iterative = (...)'; '()' takes "
                       "the block's keys");
    }
    it = blk.items[KEY_METHOD];
    if (it) {
        if (nmm_tok_is(f, it->e->name_off, it->e->name_len, "steady_state"))
            plan->method = 0;
        else if (nmm_tok_is(f, it->e->name_off, it->e->name_len, "iterative"))
            plan->method = 1;
        else {
            nmm_diag *d = nmm_diag_add(f, NMM_ERROR, it->e->off, it->e->end - it->e->off,
                                       "unknown fic method '%.*s'", it->e->name_len,
                                       f->src + it->e->name_off);
            nmm_diag_extra(f, d, "help: write 'steady_state' or 'iterative'");
        }
        if (!recs[plan->method] && (recs[0] || recs[1])) {
            nmm_diag *d = nmm_diag_add(f, NMM_ERROR, it->e->off, it->e->end - it->e->off,
                                       "the default method '%s' has no record",
                                       key_names[plan->method ? KEY_ITER : KEY_STEADY]);
            nmm_diag_extra(f, d, "help: add '%s = (...)' to the block",
                           key_names[plan->method ? KEY_ITER : KEY_STEADY]);
        }
    } else if (recs[0] && recs[1]) {
        nmm_diag *d = nmm_diag_add(f, NMM_ERROR, fic->off, 3, "the fic block has no 'method'");
        nmm_diag_extra(f, d, "help: with two method records, say which applies by default: "
                       "'method = steady_state' or 'method = iterative'");
    } else {
        plan->method = recs[1] ? 1 : 0;
    }
    for (int m = 0; m < 2; m++)
        if (recs[m])
            build_rec(C, fic, &blk, recs[m], m, P, &plan->rec[m]);
    /* block-level keys without any record still get resolved, for their errors */
    if (!recs[0] && !recs[1] && blk.items[KEY_MEASURE])
        nmm_walk_expr(C, blk.items[KEY_MEASURE]->e, W_FIC, "a fic measure");
    if (f->nerrors == nerr)
        C->fic = plan;
}
