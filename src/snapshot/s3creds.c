/* Credentials and region for S3 requests, found where the AWS tools look:
 * the environment first (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION), then the shared
 * files ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE,
 * AWS_CONFIG_FILE, profile AWS_PROFILE or "default"). The signing itself
 * is libcurl's CURLOPT_AWS_SIGV4 (store_s3.c, through httpc.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "store.h"

#define DEFAULT_REGION "us-east-1"

struct ini_ctx {
    struct snap_store_spec *spec;
    const char *profile;
    bool config_file; /* ~/.aws/config names sections "profile X" (but "default") */
};

static bool section_is(const struct ini_ctx *c, const char *section)
{
    if (!c->config_file || strcmp(c->profile, "default") == 0)
        return strcmp(section, c->profile) == 0;
    return strncmp(section, "profile ", 8) == 0 && strcmp(section + 8, c->profile) == 0;
}

static int on_ini(void *ud, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = ud;
    struct snap_store_spec *s = c->spec;
    if (!section_is(c, section))
        return 1;
    if (!c->config_file && strcmp(name, "aws_access_key_id") == 0)
        snprintf(s->access_key, sizeof(s->access_key), "%s", value);
    else if (!c->config_file && strcmp(name, "aws_secret_access_key") == 0)
        snprintf(s->secret_key, sizeof(s->secret_key), "%s", value);
    else if (!c->config_file && strcmp(name, "aws_session_token") == 0)
        snprintf(s->session_token, sizeof(s->session_token), "%s", value);
    else if (c->config_file && strcmp(name, "region") == 0 && s->region[0] == '\0')
        snprintf(s->region, sizeof(s->region), "%s", value);
    return 1;
}

static void shared_file(struct snap_store_spec *spec, const char *env, const char *name,
                        bool config_file, const char *profile)
{
    char path[PATH_MAX];
    const char *p = getenv(env), *home = getenv("HOME");
    if (p == NULL || *p == '\0') {
        if (home == NULL || *home == '\0')
            return;
        snprintf(path, sizeof(path), "%s/.aws/%s", home, name);
        p = path;
    }
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return;
    struct ini_ctx c = {spec, profile, config_file};
    (void)ini_parse_file(f, on_ini, &c); /* a line it cannot read is skipped, as the AWS CLI does */
    fclose(f);
}

static void copy_env(char *out, size_t outsz, const char *name)
{
    const char *v = getenv(name);
    if (v != NULL && *v != '\0')
        snprintf(out, outsz, "%s", v);
}

int snap_s3_credentials(struct snap_store_spec *spec, char *errbuf)
{
    const char *profile = getenv("AWS_PROFILE");
    if (profile == NULL || *profile == '\0')
        profile = "default";
    copy_env(spec->access_key, sizeof(spec->access_key), "AWS_ACCESS_KEY_ID");
    copy_env(spec->secret_key, sizeof(spec->secret_key), "AWS_SECRET_ACCESS_KEY");
    copy_env(spec->session_token, sizeof(spec->session_token), "AWS_SESSION_TOKEN");
    copy_env(spec->region, sizeof(spec->region), "AWS_DEFAULT_REGION");
    copy_env(spec->region, sizeof(spec->region), "AWS_REGION");
    if (spec->access_key[0] == '\0') {
        spec->secret_key[0] = spec->session_token[0] = '\0';
        shared_file(spec, "AWS_SHARED_CREDENTIALS_FILE", "credentials", false, profile);
    }
    if (spec->region[0] == '\0')
        shared_file(spec, "AWS_CONFIG_FILE", "config", true, profile);
    if (spec->region[0] == '\0')
        snprintf(spec->region, sizeof(spec->region), DEFAULT_REGION);
    if (spec->access_key[0] != '\0' && spec->secret_key[0] == '\0')
        return nu_err_set(errbuf, NU_EINVAL, "AWS access key %s has no secret key",
                          spec->access_key);
    for (const char *p = spec->region; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return nu_err_set(errbuf, NU_EINVAL, "AWS region '%s' is not valid", spec->region);
    }
    return 0;
}
