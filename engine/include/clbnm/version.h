#ifndef CLBNM_VERSION_H
#define CLBNM_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* "MAJOR.MINOR.PATCH" of the library. Static string. */
const char *bnm_version(void);

#ifdef __cplusplus
}
#endif
#endif
