/* The ABI descriptor (nmm-format.md 14.1): where each name of a specialised model lives,
 * so host code binds data by name rather than by position. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen_internal.h"
#include "rng.h"

static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *mangle(const char *prefix, const char *name)
{
    size_t n = strlen(prefix) + strlen(name) + 1;
    char *d = malloc(n);
    if (d)
        snprintf(d, n, "%s%s", prefix, name);
    return d;
}

void bnm_model_abi_destroy(bnm_model_abi *abi)
{
    if (!abi)
        return;
    for (int k = 0; k < abi->n_entries; k++) {
        free((char *)abi->entries[k].name);
        free((char *)abi->entries[k].mangled);
    }
    free(abi->entries);
    free(abi->transmit);
    for (int k = 0; k < abi->n_docs; k++)
        free(abi->docs[k]);
    for (int k = 0; k < abi->n_cites; k++)
        free(abi->cites[k]);
    free(abi->docs);
    free(abi->cites);
    free(abi->file_name);
    free(abi->model_name);
    free(abi->kernel_name);
    free(abi);
}

/* Copies n strings; false on no memory (the copies made so far are counted in *n_out). */
static bool copy_strings(char *const *src, int n, char ***out, int *n_out)
{
    *out = calloc((size_t)n + 1, sizeof **out);
    if (!*out)
        return false;
    for (int k = 0; k < n; k++) {
        if (!((*out)[k] = dup_str(src[k])))
            return false;
        *n_out = k + 1;
    }
    return true;
}

static bnm_abi_entry *add(bnm_model_abi *abi, bnm_abi_kind kind, const char *prefix,
                          const char *name, bnm_abi_level level)
{
    bnm_abi_entry *e = &abi->entries[abi->n_entries++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->level = level;
    e->name = dup_str(name);
    e->mangled = mangle(prefix, name);
    e->param_level = BNM_PARAM_FIXED;
    e->sim_slot = e->node_slot = e->state_slot = e->transmit_slot = e->noise_stream = -1;
    return (e->name && e->mangled) ? e : NULL;
}

bnm_status bnm_model_abi_create(bnm_context *ctx, const struct bnm_model_ir *ir,
                                const bnm_model_spec *spec, bnm_model_abi **out)
{
    *out = NULL;
    bnm_cg_spec *rs = NULL;
    bnm_status st = bnm_cg_spec_resolve(ctx, ir, spec, &rs);
    if (st != BNM_OK)
        return st;
    bnm_model_abi *abi = calloc(1, sizeof *abi);
    if (!abi)
        goto nomem;
    int total = ir->n_params + ir->n_states + ir->n_lets + ir->n_couplings + ir->n_inputs;
    abi->entries = calloc((size_t)total + 1, sizeof *abi->entries);
    abi->transmit = calloc((size_t)ir->n_transmit + 1, sizeof *abi->transmit);
    abi->model_name = dup_str(ir->name);
    abi->kernel_name = mangle("nmm_", ir->name);
    if (abi->kernel_name) {
        char *full = mangle(abi->kernel_name, "_integrate");
        free(abi->kernel_name);
        abi->kernel_name = full;
    }
    if (!abi->entries || !abi->transmit || !abi->model_name || !abi->kernel_name)
        goto nomem;
    for (int p = 0; p < ir->n_params; p++) {
        static const bnm_abi_level lv[] = {BNM_LEVEL_LIT, BNM_LEVEL_SIM, BNM_LEVEL_NODE};
        bnm_abi_entry *e = add(abi, BNM_ABI_PARAM, "p_", ir->params[p].name, lv[rs->plevel[p]]);
        if (!e)
            goto nomem;
        e->param_level = rs->plevel[p];
        e->value = rs->pvalue[p];
        e->sim_slot = rs->sim_slot[p];
        e->node_slot = rs->node_slot[p];
    }
    int first_state = abi->n_entries;
    for (int s = 0; s < ir->n_states; s++) {
        bnm_abi_entry *e = add(abi, BNM_ABI_STATE, "s_", ir->states[s].name, BNM_LEVEL_STEP);
        if (!e)
            goto nomem;
        e->state_slot = s;
        e->transmit_slot = rs->state_transmit[s];
        if (rs->noise && ir->states[s].noise && rs->integrator != BNM_INTEG_RK4)
            e->noise_stream = (int)bnm_rng_stream_noise(ir->states[s].noise_slot);
    }
    int first_let = abi->n_entries;
    for (int l = 0; l < ir->n_lets; l++) {
        bnm_abi_entry *e = add(abi, BNM_ABI_LET, "l_", ir->lets[l].name, rs->let_level[l]);
        if (!e)
            goto nomem;
        e->transmit_slot = rs->let_transmit[l];
    }
    for (int c = 0; c < ir->n_couplings; c++)
        if (!add(abi, BNM_ABI_COUPLING, "c_", ir->couplings[c].name, BNM_LEVEL_STEP))
            goto nomem;
    for (int i = 0; i < ir->n_inputs; i++)
        if (!add(abi, BNM_ABI_INPUT, "u_", ir->inputs[i].name, rs->input_level[i]))
            goto nomem;
    for (int t = 0; t < ir->n_transmit; t++)
        abi->transmit[t] = (ir->transmit[t].kind == BNM_REF_STATE ? first_state : first_let) +
                           ir->transmit[t].index;
    abi->n_transmit = ir->n_transmit;
    abi->n_sim_params = rs->n_sim_params;
    abi->n_node_params = rs->n_node_params;
    abi->n_states = ir->n_states;
    abi->precision = rs->precision;
    abi->integrator = (int)rs->integrator;
    abi->noise = rs->noise;
    abi->delays = rs->delays;
    abi->delay_rounding = rs->delay_rounding;
    abi->n_nodes = rs->n_nodes;
    abi->weights_layout = "[connectome][source j][target i]";
    abi->rng = BNM_RNG_LAYOUT;
    abi->source_hash = bnm_cg_source_hash(ir);
    if (!copy_strings(ir->docs, ir->n_docs, &abi->docs, &abi->n_docs) ||
        !copy_strings(ir->cites, ir->n_cites, &abi->cites, &abi->n_cites) ||
        (ir->file_name && !(abi->file_name = dup_str(ir->file_name))))
        goto nomem;
    bnm_cg_spec_destroy(rs);
    *out = abi;
    return BNM_OK;
nomem:
    bnm_cg_spec_destroy(rs);
    bnm_model_abi_destroy(abi);
    return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory building the ABI descriptor");
}

const bnm_abi_entry *bnm_model_abi_find(const bnm_model_abi *abi, bnm_abi_kind kind,
                                        const char *name)
{
    for (int k = 0; k < abi->n_entries; k++)
        if (abi->entries[k].kind == kind && strcmp(abi->entries[k].name, name) == 0)
            return &abi->entries[k];
    return NULL;
}

static const char *kind_name(bnm_abi_kind k)
{
    static const char *const names[] = {"param", "state", "let", "coupling", "input"};
    return names[k];
}

static const char *level_name(bnm_abi_level l)
{
    static const char *const names[] = {"lit", "sim", "node", "step"};
    return names[l];
}

static void json_str(bnm_cg_buf *b, const char *s)
{
    bnm_cg_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            bnm_cg_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            bnm_cg_buf_printf(b, "\\u%04x", *p);
        else
            bnm_cg_buf_printf(b, "%c", *p);
    }
    bnm_cg_buf_puts(b, "\"");
}

static void json_strings(bnm_cg_buf *b, const char *key, char *const *v, int n)
{
    bnm_cg_buf_printf(b, "  \"%s\": [", key);
    for (int k = 0; k < n; k++) {
        if (k)
            bnm_cg_buf_puts(b, ", ");
        json_str(b, v[k]);
    }
    bnm_cg_buf_puts(b, "],\n");
}

char *bnm_model_abi_to_json(const bnm_model_abi *abi)
{
    static const char *const integ[] = {"euler", "heun", "rk4"};
    bnm_cg_buf b = {0};
    bnm_cg_buf_printf(&b,
        "{\n  \"model\": \"%s\",\n  \"kernel\": \"%s\",\n  \"precision\": \"%s\",\n"
        "  \"integrator\": \"%s\",\n  \"noise\": %s,\n  \"delays\": %s,\n"
        "  \"delay_rounding\": \"%s\",\n  \"n_nodes\": %d,\n  \"n_sim_params\": %d,\n"
        "  \"n_node_params\": %d,\n  \"n_states\": %d,\n  \"weights_layout\": \"%s\",\n"
        "  \"rng\": \"%s\",\n  \"transmit\": [",
        abi->model_name, abi->kernel_name,
        abi->precision == BNM_PRECISION_DOUBLE ? "double" : "float",
        integ[abi->integrator], abi->noise ? "true" : "false", abi->delays ? "true" : "false",
        abi->delay_rounding == BNM_DELAY_NEAREST ? "nearest" : "cubnm", abi->n_nodes,
        abi->n_sim_params, abi->n_node_params, abi->n_states, abi->weights_layout, abi->rng);
    for (int t = 0; t < abi->n_transmit; t++)
        bnm_cg_buf_printf(&b, "%s\"%s\"", t ? ", " : "", abi->entries[abi->transmit[t]].name);
    bnm_cg_buf_puts(&b, "],\n  \"file\": ");
    json_str(&b, abi->file_name);
    bnm_cg_buf_printf(&b, ",\n  \"model_fnv1a64\": \"%016llx\",\n",
                      (unsigned long long)abi->source_hash);
    json_strings(&b, "docs", abi->docs, abi->n_docs);
    json_strings(&b, "cites", abi->cites, abi->n_cites);
    bnm_cg_buf_puts(&b, "  \"names\": [\n");
    for (int k = 0; k < abi->n_entries; k++) {
        const bnm_abi_entry *e = &abi->entries[k];
        bnm_cg_buf_printf(&b, "    {\"name\": \"%s\", \"mangled\": \"%s\", \"kind\": \"%s\", "
                          "\"level\": \"%s\"",
                          e->name, e->mangled, kind_name(e->kind), level_name(e->level));
        if (e->kind == BNM_ABI_PARAM) {
            if (e->param_level == BNM_PARAM_FIXED)
                bnm_cg_buf_printf(&b, ", \"buffer\": \"literal\", \"value\": %.17g", e->value);
            else if (e->param_level == BNM_PARAM_PER_SIM)
                bnm_cg_buf_printf(&b, ", \"buffer\": \"sim_params\", \"slot\": %d", e->sim_slot);
            else
                bnm_cg_buf_printf(&b, ", \"buffer\": \"node_params\", \"slot\": %d", e->node_slot);
        }
        if (e->kind == BNM_ABI_STATE)
            bnm_cg_buf_printf(&b, ", \"buffer\": \"states\", \"slot\": %d", e->state_slot);
        if (e->transmit_slot >= 0)
            bnm_cg_buf_printf(&b, ", \"history_slot\": %d", e->transmit_slot);
        if (e->noise_stream >= 0)
            bnm_cg_buf_printf(&b, ", \"noise_stream\": %d", e->noise_stream);
        bnm_cg_buf_printf(&b, "}%s\n", k + 1 < abi->n_entries ? "," : "");
    }
    bnm_cg_buf_puts(&b, "  ]\n}\n");
    if (b.failed) {
        bnm_cg_buf_free(&b);
        return NULL;
    }
    return b.s;
}
