/* Model path search (modellib.h). */
#include "modellib.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clbnm_modellib_config.h"

typedef struct str_list {
    char **v;
    int n, cap;
} str_list;

static bool list_push(str_list *l, char *s)
{
    if (!s)
        return false;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(s);
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return true;
}

static char *str_dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *join(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, suffix);
    return p;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Adds dir when it exists and is not already listed (compared by real path, so the
 * source tree reached two ways counts once). Returns false only when out of memory. */
static bool add_dir(str_list *l, const char *dir, size_t len)
{
    char *d = str_dup_n(dir, len);
    if (!d)
        return false;
    while (strlen(d) > 1 && d[strlen(d) - 1] == '/')
        d[strlen(d) - 1] = '\0';
    char real[PATH_MAX];
    if (!is_dir(d) || !realpath(d, real)) {
        free(d);
        return true;
    }
    for (int i = 0; i < l->n; i++) {
        char other[PATH_MAX];
        if (realpath(l->v[i], other) && strcmp(other, real) == 0) {
            free(d);
            return true;
        }
    }
    return list_push(l, d);
}

void bnm_model_path_free(char **dirs, int n)
{
    for (int i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
}

bnm_status bnm_model_path(bnm_context *ctx, const char *const *extra_dirs, int n_extra,
                          char ***dirs_out, int *n_out)
{
    *dirs_out = NULL;
    *n_out = 0;
    str_list l = {0};
    bool ok = true;
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    if (root && *root) {
        char *p = join(root, "models", "");
        ok = p && add_dir(&l, p, strlen(p));
        free(p);
    } else {
        ok = add_dir(&l, BNM_SOURCE_MODELS_DIR, strlen(BNM_SOURCE_MODELS_DIR));
    }
    ok = ok && add_dir(&l, BNM_INSTALLED_MODELS_DIR, strlen(BNM_INSTALLED_MODELS_DIR));
    const char *env = getenv("CLBNM_MODEL_PATH");
    while (ok && env && *env) {
        const char *colon = strchr(env, ':');
        size_t len = colon ? (size_t)(colon - env) : strlen(env);
        if (len > 0)
            ok = add_dir(&l, env, len);
        env = colon ? colon + 1 : NULL;
    }
    for (int i = 0; ok && i < n_extra; i++) {
        if (!extra_dirs[i] || !*extra_dirs[i])
            continue;
        if (!is_dir(extra_dirs[i])) {
            bnm_model_path_free(l.v, l.n);
            return bnm_fail(ctx, BNM_ERR_NOT_FOUND, "model directory '%s' does not exist",
                            extra_dirs[i]);
        }
        ok = add_dir(&l, extra_dirs[i], strlen(extra_dirs[i]));
    }
    if (!ok) {
        bnm_model_path_free(l.v, l.n);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory building the model path");
    }
    *dirs_out = l.v;
    *n_out = l.n;
    return BNM_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const bnm_model_entry *)a)->name, ((const bnm_model_entry *)b)->name);
}

void bnm_model_list_free(bnm_model_entry *entries, int n)
{
    for (int i = 0; i < n; i++) {
        free(entries[i].name);
        free(entries[i].path);
        free(entries[i].dir);
    }
    free(entries);
}

/* Scans one directory, appending names not seen yet. */
static bool scan_dir(const char *dir, bnm_model_entry **v, int *n, int *cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return true; /* vanished or unreadable: nothing to list from it */
    bool ok = true;
    struct dirent *de;
    while (ok && (de = readdir(d)) != NULL) {
        const char *fn = de->d_name;
        if (fn[0] == '.' || !ends_with(fn, ".nmm") || strlen(fn) == 4)
            continue;
        char *path = join(dir, fn, "");
        if (!path) {
            ok = false;
            break;
        }
        if (!is_file(path)) {
            free(path);
            continue;
        }
        char *name = str_dup_n(fn, strlen(fn) - 4);
        bool seen = false;
        for (int i = 0; name && i < *n; i++)
            seen = seen || strcmp((*v)[i].name, name) == 0;
        if (!name || seen) {
            ok = name != NULL;
            free(name);
            free(path);
            continue;
        }
        if (*n == *cap) {
            int c = *cap ? 2 * *cap : 16;
            bnm_model_entry *nv = realloc(*v, (size_t)c * sizeof *nv);
            if (!nv) {
                free(name);
                free(path);
                ok = false;
                break;
            }
            *v = nv;
            *cap = c;
        }
        char *dcopy = str_dup_n(dir, strlen(dir));
        if (!dcopy) {
            free(name);
            free(path);
            ok = false;
            break;
        }
        (*v)[(*n)++] = (bnm_model_entry){name, path, dcopy};
    }
    closedir(d);
    return ok;
}

bnm_status bnm_model_list(bnm_context *ctx, const char *const *extra_dirs, int n_extra,
                          bnm_model_entry **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    char **dirs;
    int n_dirs;
    bnm_status st = bnm_model_path(ctx, extra_dirs, n_extra, &dirs, &n_dirs);
    if (st != BNM_OK)
        return st;
    bnm_model_entry *v = NULL;
    int n = 0, cap = 0;
    bool ok = true;
    /* Directory order decides which of two same-named models wins; sort only after. */
    for (int i = 0; ok && i < n_dirs; i++)
        ok = scan_dir(dirs[i], &v, &n, &cap);
    bnm_model_path_free(dirs, n_dirs);
    if (!ok) {
        bnm_model_list_free(v, n);
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory listing models");
    }
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, entry_cmp);
    *out = v;
    *n_out = n;
    return BNM_OK;
}

bnm_status bnm_model_find(bnm_context *ctx, const char *name_or_path,
                          const char *const *extra_dirs, int n_extra, char **path_out)
{
    *path_out = NULL;
    if (!name_or_path || !*name_or_path)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG, "empty model name");
    if (strchr(name_or_path, '/') || ends_with(name_or_path, ".nmm")) {
        *path_out = str_dup_n(name_or_path, strlen(name_or_path));
        return *path_out ? BNM_OK : bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
    }
    char **dirs;
    int n_dirs;
    bnm_status st = bnm_model_path(ctx, extra_dirs, n_extra, &dirs, &n_dirs);
    if (st != BNM_OK)
        return st;
    for (int i = 0; i < n_dirs; i++) {
        char *p = join(dirs[i], name_or_path, ".nmm");
        if (!p) {
            bnm_model_path_free(dirs, n_dirs);
            return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory");
        }
        if (is_file(p)) {
            bnm_model_path_free(dirs, n_dirs);
            *path_out = p;
            return BNM_OK;
        }
        free(p);
    }
    bnm_fail(ctx, BNM_ERR_NOT_FOUND, "model '%s' not found on the model path (", name_or_path);
    for (int i = 0; i < n_dirs; i++)
        bnm_context_append(ctx, "%s%s", i ? ", " : "", dirs[i]);
    bnm_context_append(ctx, "%s)", n_dirs ? "" : "no directory exists");
    bnm_model_path_free(dirs, n_dirs);

    bnm_model_entry *models = NULL;
    int n_models = 0;
    bnm_context *quiet = NULL;
    if (bnm_context_create(&quiet) == BNM_OK &&
        bnm_model_list(quiet, extra_dirs, n_extra, &models, &n_models) == BNM_OK && n_models) {
        const char **names = malloc((size_t)n_models * sizeof *names);
        if (names) {
            for (int i = 0; i < n_models; i++)
                names[i] = models[i].name;
            const char *best = bnm_suggest_name(name_or_path, names, n_models);
            if (best)
                bnm_context_append(ctx, "; did you mean '%s'?", best);
            else {
                bnm_context_append(ctx, "; available:");
                for (int i = 0; i < n_models; i++)
                    bnm_context_append(ctx, " %s", names[i]);
            }
            free(names);
        }
    }
    bnm_model_list_free(models, n_models);
    bnm_context_destroy(quiet);
    return BNM_ERR_NOT_FOUND;
}

/* Levenshtein distance, case-insensitive, capped by cap + 1 (enough to reject). */
static int edit_distance(const char *a, const char *b, int cap)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (abs(la - lb) > cap)
        return cap + 1;
    int *prev = malloc((size_t)(lb + 1) * sizeof *prev);
    int *cur = malloc((size_t)(lb + 1) * sizeof *cur);
    int result = cap + 1;
    if (prev && cur) {
        for (int j = 0; j <= lb; j++)
            prev[j] = j;
        for (int i = 1; i <= la; i++) {
            cur[0] = i;
            for (int j = 1; j <= lb; j++) {
                int sub = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
                int d = prev[j - 1] + sub;
                if (prev[j] + 1 < d)
                    d = prev[j] + 1;
                if (cur[j - 1] + 1 < d)
                    d = cur[j - 1] + 1;
                cur[j] = d;
            }
            int *t = prev;
            prev = cur;
            cur = t;
        }
        result = prev[lb];
    }
    free(prev);
    free(cur);
    return result;
}

const char *bnm_suggest_name(const char *name, const char *const *candidates, int n)
{
    int len = (int)strlen(name);
    int cap = len / 3 > 1 ? len / 3 : 1;
    if (cap > 3)
        cap = 3;
    const char *best = NULL;
    int best_d = cap + 1;
    for (int i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        int d = edit_distance(name, candidates[i], cap);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}
