#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "clbnm/log.h"
#include "core/file_read.h"
#include "program_cache_internal.h"

/* Bump when the entry layout or the key recipe changes: old entries then simply miss. */
#define CACHE_FORMAT_VERSION 1u
static const char entry_magic[8] = {'C', 'L', 'B', 'N', 'M', 'P', 'B', '\0'};
enum { HEADER_SIZE = 8 + 4 + 64 + 8 + SHA256_DIGEST_SIZE };

struct bnm_program_cache {
    char *dir; /* NULL: uncached */
    bnm_cache_stats stats;
    bool store_warned;
};

void bnm_cache_config_init_defaults(bnm_cache_config *cfg)
{
    cfg->enabled = true;
    cfg->dir = NULL;
}

static char *default_dir(void)
{
    const char *env = getenv("CLBNM_CACHE_DIR");
    char buf[4096];
    if (env && *env)
        return strdup(env);
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) {
        snprintf(buf, sizeof buf, "%s/clbnm", xdg);
        return strdup(buf);
    }
    const char *home = getenv("HOME");
    if (home && *home) {
        snprintf(buf, sizeof buf, "%s/.cache/clbnm", home);
        return strdup(buf);
    }
    return NULL;
}

/* mkdir -p; returns 0 or an errno value. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return ENAMETOOLONG;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return errno;
    struct stat sb;
    if (stat(buf, &sb) != 0)
        return errno;
    return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
}

/* Root ignores permission bits, so the only honest test of writability is a write. */
static int probe_writable(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.probe-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return errno;
    close(fd);
    unlink(path);
    return 0;
}

bnm_status bnm_program_cache_create(bnm_context *ctx, const bnm_cache_config *cfg,
                                    bnm_program_cache **out)
{
    bnm_program_cache *cache = calloc(1, sizeof *cache);
    *out = NULL;
    if (!cache)
        return bnm_fail(ctx, BNM_ERR_NOMEM, "out of memory creating the kernel cache");
    bnm_cache_config defaults;
    if (!cfg) {
        bnm_cache_config_init_defaults(&defaults);
        cfg = &defaults;
    }
    if (cfg->enabled) {
        char *dir = cfg->dir ? strdup(cfg->dir) : default_dir();
        int err = dir ? make_dirs(dir) : ENOENT;
        if (err == 0)
            err = probe_writable(dir);
        if (err == 0) {
            cache->dir = dir;
            bnm_log_debug("kernel cache: %s", dir);
        } else {
            bnm_log_warn("kernel cache directory '%s' is not usable (%s); continuing without "
                         "a kernel cache (set CLBNM_CACHE_DIR to a writable directory)",
                         dir ? dir : "(no HOME)", strerror(err));
            free(dir);
        }
    }
    *out = cache;
    return BNM_OK;
}

void bnm_program_cache_destroy(bnm_program_cache *cache)
{
    if (!cache)
        return;
    free(cache->dir);
    free(cache);
}

const char *bnm_program_cache_dir(const bnm_program_cache *cache)
{
    return cache ? cache->dir : NULL;
}

bnm_cache_stats bnm_program_cache_stats(const bnm_program_cache *cache)
{
    bnm_cache_stats none = {0};
    return cache ? cache->stats : none;
}

bool bnm_program_cache_usable(const bnm_program_cache *cache)
{
    return cache && cache->dir;
}

static void hash_field(struct sha256_ctx *h, const char *text)
{
    /* Length-prefixed so that no two field sequences hash alike by concatenation. */
    uint64_t n = text ? strlen(text) : 0;
    sha256_update(h, sizeof n, (const uint8_t *)&n);
    if (n)
        sha256_update(h, n, (const uint8_t *)text);
}

static void to_hex(const uint8_t *digest, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

void bnm_program_cache_key(const bnm_device_info *dev, const char *source, const char *options,
                           char key_out[65])
{
    struct sha256_ctx h;
    uint8_t digest[SHA256_DIGEST_SIZE];
    char version[16];
    snprintf(version, sizeof version, "%u", CACHE_FORMAT_VERSION);
    sha256_init(&h);
    hash_field(&h, version);
    hash_field(&h, source);
    hash_field(&h, options);
    hash_field(&h, dev->platform_name);
    hash_field(&h, dev->platform_version);
    hash_field(&h, dev->name);
    hash_field(&h, dev->vendor);
    hash_field(&h, dev->device_version);
    hash_field(&h, dev->driver_version);
    sha256_digest(&h, SHA256_DIGEST_SIZE, digest);
    to_hex(digest, key_out);
}

static void entry_path(const bnm_program_cache *cache, const char *key, const char *ext,
                       char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s.%s", cache->dir, key, ext);
}

static unsigned char *read_whole(const char *path, size_t *size)
{
    char *data = NULL;
    return bnm_file_read_all(path, &data, size, NULL) == BNM_FILE_READ_OK
               ? (unsigned char *)data
               : NULL;
}

bnm_cache_lookup bnm_program_cache_load(bnm_program_cache *cache, const char *key,
                                        unsigned char **binary, size_t *size)
{
    char path[4200];
    size_t n = 0;
    entry_path(cache, key, "bin", path, sizeof path);
    *binary = NULL;
    if (access(path, F_OK) != 0)
        return BNM_CACHE_ABSENT;
    unsigned char *raw = read_whole(path, &n);
    if (!raw)
        return BNM_CACHE_DAMAGED;

    bnm_cache_lookup result = BNM_CACHE_DAMAGED;
    uint32_t version;
    uint64_t payload;
    uint8_t digest[SHA256_DIGEST_SIZE];
    if (n < HEADER_SIZE || memcmp(raw, entry_magic, 8) != 0)
        goto done;
    memcpy(&version, raw + 8, 4);
    memcpy(&payload, raw + 8 + 4 + 64, 8);
    if (version != CACHE_FORMAT_VERSION || memcmp(raw + 12, key, 64) != 0 ||
        payload != n - HEADER_SIZE || payload == 0)
        goto done;
    struct sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, payload, raw + HEADER_SIZE);
    sha256_digest(&h, SHA256_DIGEST_SIZE, digest);
    if (memcmp(digest, raw + HEADER_SIZE - SHA256_DIGEST_SIZE, SHA256_DIGEST_SIZE) != 0)
        goto done;
    *binary = malloc(payload);
    if (!*binary)
        goto done;
    memcpy(*binary, raw + HEADER_SIZE, payload);
    *size = payload;
    result = BNM_CACHE_VALID;
done:
    if (result == BNM_CACHE_DAMAGED)
        bnm_log_info("kernel cache entry %s is damaged; rebuilding it", path);
    free(raw);
    return result;
}

/* Writes to a unique temporary name and renames, so readers never see half an entry. */
static int write_atomically(const char *path, const void *head, size_t head_size,
                            const void *body, size_t body_size)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return errno;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return e;
    }
    int err = 0;
    if ((head_size && fwrite(head, 1, head_size, f) != head_size) ||
        (body_size && fwrite(body, 1, body_size, f) != body_size))
        err = errno ? errno : EIO;
    if (fclose(f) != 0 && !err)
        err = errno ? errno : EIO;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    return err;
}

void bnm_program_cache_store(bnm_program_cache *cache, const char *key, const char *source,
                             const unsigned char *binary, size_t size)
{
    unsigned char header[HEADER_SIZE];
    uint32_t version = CACHE_FORMAT_VERSION;
    uint64_t payload = size;
    struct sha256_ctx h;
    memcpy(header, entry_magic, 8);
    memcpy(header + 8, &version, 4);
    memcpy(header + 12, key, 64);
    memcpy(header + 76, &payload, 8);
    sha256_init(&h);
    sha256_update(&h, size, binary);
    sha256_digest(&h, SHA256_DIGEST_SIZE, header + 84);

    char path[4200];
    entry_path(cache, key, "cl", path, sizeof path);
    int err = write_atomically(path, NULL, 0, source, strlen(source));
    if (!err) {
        entry_path(cache, key, "bin", path, sizeof path);
        err = write_atomically(path, header, sizeof header, binary, size);
    }
    if (err) {
        cache->stats.store_failures++;
        if (!cache->store_warned)
            bnm_log_warn("could not write kernel cache entry in '%s' (%s); kernels will be "
                         "rebuilt next time", cache->dir, strerror(err));
        cache->store_warned = true;
        return;
    }
    cache->stats.stores++;
}

void bnm_program_cache_count(bnm_program_cache *cache, bnm_cache_lookup outcome,
                             bool binary_accepted)
{
    if (!cache)
        return;
    if (outcome == BNM_CACHE_VALID && binary_accepted)
        cache->stats.hits++;
    else if (outcome == BNM_CACHE_ABSENT)
        cache->stats.misses++;
    else
        cache->stats.rebuilt++;
}
