/* Building OpenCL programs from source, with an on-disk binary cache.
 *
 * Cache key: SHA-256 over the source, the build options, the platform name and version,
 * the device name, vendor and version, the driver version and the cache format version.
 * Each entry is `KEY.bin` (header + checksummed binary) with `KEY.cl` (the source) beside
 * it. Entries that are truncated, corrupt, written for another key, or rejected by the
 * driver are rebuilt from source and replaced; they never crash the program. */
#ifndef CLBNM_PROGRAM_H
#define CLBNM_PROGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "clbnm/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bnm_cache_config {
    bool enabled;    /* false: every build compiles from source */
    const char *dir; /* NULL: $CLBNM_CACHE_DIR, else $XDG_CACHE_HOME/clbnm,
                        else $HOME/.cache/clbnm. Borrowed during create only. */
} bnm_cache_config;

void bnm_cache_config_init_defaults(bnm_cache_config *cfg);

typedef struct bnm_cache_stats {
    uint64_t hits;           /* programs served from a valid cache entry */
    uint64_t misses;         /* no entry: compiled from source */
    uint64_t rebuilt;        /* entry present but unusable: compiled and replaced */
    uint64_t stores;         /* entries written */
    uint64_t store_failures; /* entries that could not be written (warned once) */
} bnm_cache_stats;

typedef struct bnm_program_cache bnm_program_cache;

/* Opens (creating as needed) the cache directory. An unusable directory is not an
 * error: one warning is logged and the cache works uncached. The caller owns *out. */
bnm_status bnm_program_cache_create(bnm_context *ctx, const bnm_cache_config *cfg,
                                    bnm_program_cache **out);
/* NULL is accepted. */
void bnm_program_cache_destroy(bnm_program_cache *cache);
/* The directory in use, or NULL when caching is off or the directory was unusable. */
const char *bnm_program_cache_dir(const bnm_program_cache *cache);
bnm_cache_stats bnm_program_cache_stats(const bnm_program_cache *cache);

/* Computes the 64-hex-digit cache key (plus NUL) for this source, options and device. */
void bnm_program_cache_key(const bnm_device_info *dev, const char *source,
                           const char *options, char key_out[65]);

/* Builds source for cl's device with options (NULL = none), through cache when it is
 * non-NULL and usable. On success *out is a built program owned by the caller
 * (clReleaseProgram). On a compile failure returns BNM_ERR_BUILD, records a summary in
 * ctx and, when log_out is non-NULL, stores the device's complete build log there
 * (caller frees with free()). *log_out is NULL on success or when no log exists. */
bnm_status bnm_program_build(bnm_context *ctx, bnm_cl *cl, bnm_program_cache *cache,
                             const char *source, const char *options, cl_program *out,
                             char **log_out);

#ifdef __cplusplus
}
#endif
#endif
