/* Typed access to libyaml nodes; every failure cites the node's line and column. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_util.h"

bnm_run_loc rp_loc(const yaml_node_t *n)
{
    bnm_run_loc l = {0, 0};
    if (n) {
        l.line = (int)n->start_mark.line + 1;
        l.col = (int)n->start_mark.column + 1;
    }
    return l;
}

bool rp_err(rp *p, const yaml_node_t *n, const char *hint, const char *fmt, ...)
{
    if (p->st != BNM_OK)
        return false;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->st = run_error(p->ctx, p->run->path, rp_loc(n), hint, "%s", msg);
    return false;
}

bool rp_nomem(rp *p)
{
    if (p->st == BNM_OK)
        p->st = bnm_fail(p->ctx, BNM_ERR_NOMEM, "out of memory while reading '%s'", p->run->path);
    return false;
}

const char *rp_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool plain(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool rp_is_null(const yaml_node_t *n)
{
    if (!plain(n))
        return false;
    const char *s = rp_scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

const char *rp_describe(const yaml_node_t *n, char *buf, size_t size)
{
    if (!n)
        return "nothing";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (rp_is_null(n))
        return "null";
    const char *s = rp_scalar(n);
    if (strlen(s) > 40)
        snprintf(buf, size, "'%.37s...'", s);
    else
        snprintf(buf, size, "'%s'", s);
    return buf;
}

size_t rp_len(const yaml_node_t *n)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (n->type == YAML_MAPPING_NODE)
        return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    return 0;
}

yaml_node_t *rp_item(rp *p, const yaml_node_t *seq, size_t i)
{
    return yaml_document_get_node(p->doc, seq->data.sequence.items.start[i]);
}

yaml_node_t *rp_pair(rp *p, const yaml_node_t *map, size_t i, yaml_node_t **key_out)
{
    yaml_node_pair_t *pr = &map->data.mapping.pairs.start[i];
    if (key_out)
        *key_out = yaml_document_get_node(p->doc, pr->key);
    return yaml_document_get_node(p->doc, pr->value);
}

bool rp_check_keys(rp *p, const yaml_node_t *map, const char *const *allowed, size_t n,
                   const char *where)
{
    char in[160] = "";
    if (where)
        snprintf(in, sizeof in, " in '%s'", where);
    size_t np = rp_len(map);
    for (size_t i = 0; i < np; i++) {
        yaml_node_t *k;
        rp_pair(p, map, i, &k);
        const char *name = rp_scalar(k);
        if (!name)
            return rp_err(p, k, "write keys as plain names", "keys must be names%s", in);
        bool ok = false;
        for (size_t j = 0; j < n && !ok; j++)
            ok = strcmp(name, allowed[j]) == 0;
        if (!ok) {
            const char *best = run_did_you_mean(name, allowed, n);
            char list[512];
            run_join(list, sizeof list, allowed, n);
            char hint[800];
            snprintf(hint, sizeof hint, "valid keys%s: %s", in, list);
            if (best)
                return rp_err(p, k, NULL, "unknown key '%s'%s (did you mean '%s'?)", name, in,
                              best);
            return rp_err(p, k, hint, "unknown key '%s'%s", name, in);
        }
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *k2;
            rp_pair(p, map, j, &k2);
            if (strcmp(rp_scalar(k2), name) == 0)
                return rp_err(p, k, "give each key once", "duplicate key '%s'%s (first at line %d)",
                              name, in, rp_loc(k2).line);
        }
    }
    return true;
}

yaml_node_t *rp_get(rp *p, const yaml_node_t *map, const char *key, yaml_node_t **key_out)
{
    if (key_out)
        *key_out = NULL;
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    size_t np = rp_len(map);
    for (size_t i = 0; i < np; i++) {
        yaml_node_t *k;
        yaml_node_t *v = rp_pair(p, map, i, &k);
        const char *name = rp_scalar(k);
        if (name && strcmp(name, key) == 0) {
            if (key_out)
                *key_out = k;
            return rp_is_null(v) ? NULL : v;
        }
    }
    return NULL;
}

static bool type_err(rp *p, const yaml_node_t *v, const char *name, const char *what)
{
    char b[64];
    return rp_err(p, v, NULL, "'%s' must be %s, got %s", name, what, rp_describe(v, b, sizeof b));
}

bool rp_mapping(rp *p, const yaml_node_t *v, const char *name)
{
    return v->type == YAML_MAPPING_NODE ? true : type_err(p, v, name, "a mapping of keys");
}

bool rp_sequence(rp *p, const yaml_node_t *v, const char *name)
{
    return v->type == YAML_SEQUENCE_NODE ? true : type_err(p, v, name, "a list");
}

bool rp_number(rp *p, const yaml_node_t *v, const char *name, double *out)
{
    if (!plain(v) || rp_is_null(v))
        return type_err(p, v, name, "a number");
    const char *s = rp_scalar(v);
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end)
        return type_err(p, v, name, "a number");
    if (!isfinite(x) || errno == ERANGE)
        return type_err(p, v, name, "a finite number");
    *out = x;
    return true;
}

bool rp_int(rp *p, const yaml_node_t *v, const char *name, int64_t *out)
{
    if (!plain(v) || rp_is_null(v))
        return type_err(p, v, name, "a whole number");
    const char *s = rp_scalar(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        return type_err(p, v, name, "a whole number");
    *out = x;
    return true;
}

bool rp_uint(rp *p, const yaml_node_t *v, const char *name, uint64_t *out)
{
    if (!plain(v) || rp_is_null(v))
        return type_err(p, v, name, "a whole number >= 0");
    const char *s = rp_scalar(v);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end || errno == ERANGE || strchr(s, '-'))
        return type_err(p, v, name, "a whole number >= 0");
    *out = x;
    return true;
}

bool rp_bool(rp *p, const yaml_node_t *v, const char *name, bool *out)
{
    const char *s = plain(v) ? rp_scalar(v) : NULL;
    if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) {
        *out = true;
        return true;
    }
    if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))) {
        *out = false;
        return true;
    }
    return type_err(p, v, name, "true or false");
}

bool rp_string(rp *p, const yaml_node_t *v, const char *name, const char **out)
{
    if (v->type != YAML_SCALAR_NODE || rp_is_null(v))
        return type_err(p, v, name, "a string");
    *out = rp_scalar(v);
    return true;
}

bool rp_time(rp *p, const yaml_node_t *v, const char *name, int64_t unit_ns, int64_t *out)
{
    const char *unit = unit_ns == BNM_NS_PER_S ? "seconds" : "milliseconds";
    char what[64];
    snprintf(what, sizeof what, "a time in %s", unit);
    if (!plain(v) || rp_is_null(v))
        return type_err(p, v, name, what);
    const char *why = NULL;
    if (!bnm_run_parse_time_ns(rp_scalar(v), unit_ns, out, &why)) {
        char hint[96];
        snprintf(hint, sizeof hint, "'%s' is a decimal number of %s", name, unit);
        return rp_err(p, v, hint, "'%s' %s: '%s'", name, why, rp_scalar(v));
    }
    return true;
}

bool rp_enum(rp *p, const yaml_node_t *v, const char *name, const char *const *names, size_t n,
             int *out)
{
    const char *s = NULL;
    if (!rp_string(p, v, name, &s))
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return true;
        }
    char list[512], hint[800];
    run_join(list, sizeof list, names, n);
    snprintf(hint, sizeof hint, "'%s' is one of: %s", name, list);
    const char *best = run_did_you_mean(s, names, n);
    if (best)
        return rp_err(p, v, hint, "unknown %s '%s' (did you mean '%s'?)", name, s, best);
    return rp_err(p, v, hint, "unknown %s '%s'", name, s);
}

bool rp_names(rp *p, const yaml_node_t *v, const char *name, char ***out, size_t *n_out)
{
    size_t n = v->type == YAML_SEQUENCE_NODE ? rp_len(v) : 1;
    if (v->type == YAML_MAPPING_NODE)
        return type_err(p, v, name, "a list of names");
    char **names = calloc(n ? n : 1, sizeof *names);
    if (!names)
        return rp_nomem(p);
    *out = names;
    *n_out = 0;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *it = v->type == YAML_SEQUENCE_NODE ? rp_item(p, v, i) : v;
        const char *s = NULL;
        if (!rp_string(p, it, name, &s))
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], s) == 0)
                return rp_err(p, it, "name each one once", "'%s' lists '%s' twice", name, s);
        if (!(names[i] = run_strdup(s)))
            return rp_nomem(p);
        *n_out = i + 1;
    }
    return true;
}

bool rp_path(rp *p, const yaml_node_t *v, const char *name, char **out)
{
    const char *s = NULL;
    if (!rp_string(p, v, name, &s))
        return false;
    if (!*s)
        return rp_err(p, v, NULL, "'%s' must not be empty", name);
    const char *base = p->run->base_dir;
    if (s[0] == '/' || !base || !*base || strcmp(base, ".") == 0) {
        *out = run_strdup(s);
    } else {
        size_t n = strlen(base) + strlen(s) + 2;
        *out = malloc(n);
        if (*out)
            snprintf(*out, n, "%s/%s", base, s);
    }
    return *out ? true : rp_nomem(p);
}
