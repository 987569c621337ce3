#include "clbnm/version.h"
#include "clbnm_config.h"

const char *bnm_version(void)
{
    return BNM_VERSION_STRING;
}
