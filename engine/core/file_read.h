/* Reading a whole file into memory: one loop for every module that loads a file at once
 * (model files, run files, sweep tables, data files, kernel-cache entries). Callers word
 * their own messages, so this reports what failed rather than recording it. */
#ifndef CLBNM_CORE_FILE_READ_H
#define CLBNM_CORE_FILE_READ_H

#include <stddef.h>

typedef enum bnm_file_read_result {
    BNM_FILE_READ_OK,
    BNM_FILE_READ_OPEN_FAILED, /* *err_out holds errno from fopen */
    BNM_FILE_READ_FAILED,      /* *err_out holds errno from the failed read (or EIO) */
    BNM_FILE_READ_NOMEM
} bnm_file_read_result;

/* On BNM_FILE_READ_OK, *data (malloc'd; the caller frees it) holds the *len bytes of the
 * file followed by a NUL that *len does not count. Otherwise *data is NULL. err_out may
 * be NULL. */
bnm_file_read_result bnm_file_read_all(const char *path, char **data, size_t *len,
                                       int *err_out);

#endif
