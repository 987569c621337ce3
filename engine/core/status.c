#include "clbnm/status.h"

static const char *const status_names[] = {
#define BNM_STATUS_NAME_(name, code, msg) "BNM_" #name,
    BNM_STATUS_TABLE(BNM_STATUS_NAME_)
#undef BNM_STATUS_NAME_
};

static const char *const status_messages[] = {
#define BNM_STATUS_MSG_(name, code, msg) msg,
    BNM_STATUS_TABLE(BNM_STATUS_MSG_)
#undef BNM_STATUS_MSG_
};

static const int status_exit_codes[] = {
#define BNM_STATUS_EXIT_(name, code, msg) code,
    BNM_STATUS_TABLE(BNM_STATUS_EXIT_)
#undef BNM_STATUS_EXIT_
};

static int in_range(bnm_status st)
{
    return (int)st >= 0 && (int)st < (int)BNM_STATUS_COUNT_;
}

const char *bnm_status_name(bnm_status st)
{
    return in_range(st) ? status_names[st] : "BNM_STATUS_UNKNOWN";
}

const char *bnm_status_message(bnm_status st)
{
    return in_range(st) ? status_messages[st] : "unknown status";
}

int bnm_status_exit_code(bnm_status st)
{
    /* An unknown status is a library bug, reported like an internal failure. */
    return in_range(st) ? status_exit_codes[st] : 3;
}
