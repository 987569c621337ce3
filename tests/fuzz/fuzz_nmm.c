/* Fuzz target for the .nmm front end: any bytes must give a model or diagnostics, never
 * a crash, a hang, a leak or undefined behaviour. Built as a libFuzzer target with
 * -Dfuzzing=true (clang), and always as a replay driver over the corpus (replay_main.c),
 * registered as the test fuzz_corpus. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "clbnm/clbnm.h"
#include "clbnm/model.h"
#include "ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bnm_context *ctx = NULL;
    if (bnm_context_create(&ctx) != BNM_OK)
        return 0;
    bnm_model_ir *ir = NULL;
    char *diag = NULL;
    /* data is not NUL-terminated: the parser must respect len. */
    bnm_status st = bnm_nmm_parse(ctx, "fuzz.nmm", (const char *)data, size, &ir, &diag);
    /* A failed parse must not hand out a model. */
    if (st != BNM_OK && ir != NULL)
        abort();
    bnm_model_ir_destroy(ir);
    free(diag);
    bnm_context_destroy(ctx);
    return 0;
}
