/* Between the program builder and the on-disk cache; not public. */
#ifndef CLBNM_PROGRAM_CACHE_INTERNAL_H
#define CLBNM_PROGRAM_CACHE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "clbnm/program.h"

typedef enum bnm_cache_lookup {
    BNM_CACHE_ABSENT,  /* no entry */
    BNM_CACHE_VALID,   /* entry read and its checksum matches */
    BNM_CACHE_DAMAGED  /* entry present but truncated, corrupt or for another key */
} bnm_cache_lookup;

bool bnm_program_cache_usable(const bnm_program_cache *cache);
/* On BNM_CACHE_VALID, *binary (malloc'd, caller frees) holds *size bytes. */
bnm_cache_lookup bnm_program_cache_load(bnm_program_cache *cache, const char *key,
                                        unsigned char **binary, size_t *size);
/* Writes KEY.bin atomically and KEY.cl beside it; failures warn once, never fail. */
void bnm_program_cache_store(bnm_program_cache *cache, const char *key, const char *source,
                             const unsigned char *binary, size_t size);
void bnm_program_cache_count(bnm_program_cache *cache, bnm_cache_lookup outcome,
                             bool binary_accepted);

#endif
