/* CMA-ES state blob: one field list (cmaes_fields) drives counting, writing and reading,
 * so save and restore cannot drift apart. Native byte order, detected on restore. */
#include <math.h>
#include <string.h>

#include "cmaes_internal.h"

#define BLOB_VERSION UINT64_C(1)
#define BLOB_ORDER UINT64_C(0x0102030405060708)
static const char blob_magic[8] = {'B', 'N', 'M', 'C', 'M', 'A', 'E', 'S'};

typedef enum { BLOB_COUNT, BLOB_WRITE, BLOB_READ } blob_mode;

typedef struct blob {
    blob_mode mode;
    unsigned char *p;
    size_t pos, size;
    int short_; /* a read ran past the end */
} blob;

static void blob_bytes(blob *b, void *v, size_t len)
{
    if (b->mode == BLOB_WRITE)
        memcpy(b->p + b->pos, v, len);
    else if (b->mode == BLOB_READ) {
        if (b->pos + len > b->size) {
            b->short_ = 1;
            return;
        }
        memcpy(v, b->p + b->pos, len);
    }
    b->pos += len;
}

static void blob_u64(blob *b, uint64_t *v) { blob_bytes(b, v, sizeof *v); }
static void blob_f64(blob *b, double *v) { blob_bytes(b, v, sizeof *v); }
static void blob_arr(blob *b, double *v, uint64_t k) { blob_bytes(b, v, (size_t)k * sizeof *v); }

/* Fields that size the arrays; read before anything is allocated. */
static void header_fields(blob *b, uint64_t *version, uint64_t *order, uint64_t *n,
                          uint64_t *lambda)
{
    char magic[8];
    memcpy(magic, blob_magic, sizeof magic);
    blob_bytes(b, magic, sizeof magic);
    if (b->mode == BLOB_READ && memcmp(magic, blob_magic, sizeof magic) != 0)
        b->short_ = 2;
    blob_u64(b, version);
    blob_u64(b, order);
    blob_u64(b, n);
    blob_u64(b, lambda);
}

static void body_fields(blob *b, bnm_cmaes *es)
{
    uint64_t n = es->n;
    blob_u64(b, &es->seed);
    blob_u64(b, &es->max_gen);
    blob_u64(b, &es->bounded);
    blob_f64(b, &es->sigma0);
    blob_f64(b, &es->tolfun);
    blob_f64(b, &es->tolx);
    blob_f64(b, &es->max_cond);
    blob_f64(b, &es->ftarget);
    blob_u64(b, &es->gen);
    blob_u64(b, &es->evals);
    blob_u64(b, &es->eigen_evals);
    blob_u64(b, &es->hist_len);
    blob_u64(b, &es->hist_pos);
    blob_u64(b, &es->stop);
    blob_u64(b, &es->asked);
    blob_f64(b, &es->sigma);
    blob_f64(b, &es->cond);
    blob_f64(b, &es->best_f);
    blob_arr(b, es->m, n);
    blob_arr(b, es->ps, n);
    blob_arr(b, es->pc, n);
    blob_arr(b, es->C, n * n);
    blob_arr(b, es->B, n * n);
    blob_arr(b, es->D, n);
    blob_arr(b, es->best_x, n);
    blob_arr(b, es->hist, es->hist_cap);
    blob_bytes(b, es->stop_text, sizeof es->stop_text);
}

static size_t blob_run(blob *b, bnm_cmaes *es)
{
    uint64_t version = BLOB_VERSION, order = BLOB_ORDER, n = es->n, lambda = es->lambda;
    header_fields(b, &version, &order, &n, &lambda);
    body_fields(b, es);
    return b->pos;
}

size_t bnm_cmaes_state_size(const bnm_cmaes *es)
{
    blob b = {BLOB_COUNT, NULL, 0, 0, 0};
    return blob_run(&b, (bnm_cmaes *)es); /* counting reads nothing and writes nothing */
}

bnm_status bnm_cmaes_state_save(bnm_context *ctx, const bnm_cmaes *es, void *buf, size_t size)
{
    size_t need = bnm_cmaes_state_size(es);
    if (size < need)
        return bnm_fail(ctx, BNM_ERR_INVALID_ARG,
                        "CMA-ES state needs %zu bytes, buffer holds %zu", need, size);
    blob b = {BLOB_WRITE, buf, 0, size, 0};
    blob_run(&b, (bnm_cmaes *)es); /* writing only reads es */
    return BNM_OK;
}

bnm_status bnm_cmaes_state_restore(bnm_context *ctx, const void *buf, size_t size,
                                   bnm_cmaes **out)
{
    *out = NULL;
    blob b = {BLOB_READ, (unsigned char *)buf, 0, size, 0}; /* reading only reads buf */
    uint64_t version = 0, order = 0, n = 0, lambda = 0;
    header_fields(&b, &version, &order, &n, &lambda);
    if (b.short_ == 2)
        return bnm_fail(ctx, BNM_ERR_DATA, "not a CMA-ES state (wrong magic)");
    if (b.short_)
        return bnm_fail(ctx, BNM_ERR_DATA, "CMA-ES state truncated (%zu bytes)", size);
    if (order != BLOB_ORDER)
        return bnm_fail(ctx, BNM_ERR_DATA,
                        "CMA-ES state was written on a machine of another byte order");
    if (version != BLOB_VERSION)
        return bnm_fail(ctx, BNM_ERR_DATA, "CMA-ES state version %llu, expected %llu",
                        (unsigned long long)version, (unsigned long long)BLOB_VERSION);
    if (n < 1 || n > 100000 || lambda < 2 || lambda > UINT32_MAX)
        return bnm_fail(ctx, BNM_ERR_DATA, "CMA-ES state has n = %llu, popsize = %llu",
                        (unsigned long long)n, (unsigned long long)lambda);
    bnm_cmaes *es = bnm_cmaes_alloc_state(n, lambda);
    if (!es)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory restoring a CMA-ES optimizer");
    body_fields(&b, es);
    es->stop_text[sizeof es->stop_text - 1] = '\0';
    const char *why = NULL;
    if (b.short_ || b.pos != size)
        why = "its size does not match its dimensions";
    else if (es->hist_len > es->hist_cap || es->hist_pos >= es->hist_cap)
        why = "the cost history is out of range";
    else if (es->stop > BNM_CMAES_STOP_NUMERICS || es->asked > 1 || es->bounded > 1)
        why = "a flag is out of range";
    else if (!(es->sigma > 0.0) || !isfinite(es->sigma) || es->gen >= UINT32_MAX)
        why = "sigma or the generation is out of range";
    if (why) {
        bnm_cmaes_destroy(es);
        return bnm_fail(ctx, BNM_ERR_DATA, "invalid CMA-ES state: %s", why);
    }
    if (es->asked)
        bnm_cmaes_sample(es); /* saved between ask and tell: redraw the same points */
    *out = es;
    return BNM_OK;
}
