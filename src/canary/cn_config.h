/* The canary's settings: one table (cn_settings) read from flags and from
 * an INI file's [canary] section, as every component's (settings.h), and
 * the checks between settings once all are read. */
#ifndef CN_CONFIG_H
#define CN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "near.h"
#include "settings.h"

#define CN_MAX_ENDPOINTS 32
#define CN_URL_MAX 512
#define CN_NAME_MAX 65 /* an endpoint's name (a metric label) */
#define CN_HOST_MAX 64
#define CN_PATH_MAX 1024
#define CN_METHOD_MAX 256
#define CN_ARGS_MAX 4096 /* a call's ARGS_JSON */
#define CN_CALL_MAX (NU_ACCOUNT_ID_MAX + CN_METHOD_MAX + CN_ARGS_MAX + 3)

struct cn_endpoint_spec {
    char url[CN_URL_MAX];
    char name[CN_NAME_MAX]; /* given, or the URL without its userinfo */
};

struct cn_endpoints {
    struct cn_endpoint_spec v[CN_MAX_ENDPOINTS];
    size_t n;
};

/* --call CONTRACT:METHOD:ARGS_JSON (each of these structs starts with the
 * text as given, what the table's formatting shows) */
struct cn_call {
    char text[CN_CALL_MAX]; /* "" when not given */
    char contract[NU_ACCOUNT_ID_MAX + 1];
    char method[CN_METHOD_MAX];
    char args[CN_ARGS_MAX]; /* the JSON as given ("" for none) */
};

struct cn_amount {
    char text[NU_U128_TEXT_MAX]; /* "" when not given */
    nu_u128 yocto;
};

struct cn_listen {
    char host[CN_HOST_MAX]; /* "" for no listener */
    int port;
};

struct cn_config {
    struct cn_endpoints endpoints;
    char reference[CN_URL_MAX]; /* "" for none: the lag is against the endpoints' highest */
    unsigned interval_ms, timeout_ms, max_block_age_ms, max_lag;
    char account_id[NU_ACCOUNT_ID_MAX + 1]; /* "" for no view_account check */
    struct cn_call call;
    char transfer_key[CN_PATH_MAX]; /* "" for no transfer check */
    char transfer_to[NU_ACCOUNT_ID_MAX + 1];
    struct cn_amount transfer_amount;
    struct cn_listen listen;
    int log_level; /* enum nu_log_level */
};

extern const struct nu_setting cn_settings[];
extern const size_t cn_nsettings;
extern const struct nu_settings_table cn_settings_table;

/* Defaults, then the file (when given), then NEARUP_CANARY_<SETTING>
 * variables into *c. Problems are lines in errs ("FILE:LINE: what");
 * returns NU_EINVAL when there were any, NU_ENOENT or NU_EIO when the file
 * cannot be read. */
NU_WUR int cn_config_load(const char *file, struct cn_config *c, struct nu_buf *errs);
/* What must hold once every source is read: an endpoint, the three
 * transfer settings together, endpoint names unique. 0, or NU_EINVAL with
 * one line in errbuf naming the flag. */
NU_WUR int cn_config_check(const struct cn_config *c, char *errbuf);

/* A bit per enum cn_check (canary.h) that c configures: status and
 * final_lag always, the others when their settings are given. */
unsigned cn_config_checks(const struct cn_config *c);

/* The URL without its userinfo (an endpoint's default name). */
void cn_url_without_userinfo(const char *url, char *out, size_t outsz);

#endif
