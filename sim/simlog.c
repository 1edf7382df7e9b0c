/* neard's log format (tracing-subscriber fmt, no ANSI):
 *   2026-11-28T23:10:07.123456Z  INFO neard: message
 * The level is right-aligned in five columns as tracing prints it, so
 * operator tools that grep neard's output work unchanged on the simulator. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../src/lib/settings.h"
#include "clock.h"
#include "core.h"

#define SIM_LOG_LINE_MAX 8192

static bool debug_enabled(void)
{
    /* neard's default filter is "info"; RUST_LOG=debug (or any directive
     * mentioning debug) turns simulator debug lines on. */
    static int cached = -1;
    if (cached < 0) {
        const char *env = getenv("RUST_LOG");
        cached = env && strstr(env, "debug") ? 1 : 0;
    }
    return cached == 1;
}

static bool log_off;

void sim_log_set_enabled(bool on)
{
    log_off = !on;
}

void sim_log_timestamp(char *out, size_t outsz)
{
    int64_t ns = nu_real_ns();
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ns % 1000000000 / 1000));
}

void sim_log(const char *level, const char *target, const char *fmt, ...)
{
    if (log_off || (strcasecmp(level, "DEBUG") == 0 && !debug_enabled()))
        return;
    char line[SIM_LOG_LINE_MAX];
    char ts[40];
    sim_log_timestamp(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s %5s %s: ", ts, level, target);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated: keep one line per event */
    line[len++] = '\n';
    /* One write per line so lines from the node and its tests never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void sim_panic(const char *fmt, ...)
{
    char msg[SIM_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Rust's panic message; neard is built with panic = 'abort'. */
    fprintf(stderr, "thread 'main' panicked at neard/src/cli.rs:1:1:\n%s\n", msg);
    fflush(stderr);
    abort();
}

void sim_err_context(char *errbuf, const char *fmt, ...)
{
    char ctx[NU_ERRMSG_MAX], old[NU_ERRMSG_MAX];
    va_list ap;
    if (errbuf == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    memcpy(old, errbuf, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    /* ctx, separator, then as much of the old chain as fits */
    size_t n = strlen(ctx);
    if (n > NU_ERRMSG_MAX - 2)
        n = NU_ERRMSG_MAX - 2;
    memcpy(errbuf, ctx, n);
    errbuf[n++] = SIM_ERR_SEP;
    size_t rest = strlen(old);
    if (rest > NU_ERRMSG_MAX - 1 - n)
        rest = NU_ERRMSG_MAX - 1 - n;
    memcpy(errbuf + n, old, rest);
    errbuf[n + rest] = '\0';
}

/* Writes msg with every line indented by four spaces (anyhow's Indented). */
static void put_indented(const char *msg, size_t len, const char *first)
{
    fputs(first, stderr);
    for (size_t i = 0; i < len; i++) {
        fputc(msg[i], stderr);
        if (msg[i] == '\n')
            fputs("    ", stderr);
    }
    fputc('\n', stderr);
}

void sim_print_error(const char *errbuf)
{
    const char *sep = strchr(errbuf, SIM_ERR_SEP);
    if (sep == NULL) {
        fprintf(stderr, "Error: %s\n", errbuf);
        return;
    }
    fprintf(stderr, "Error: %.*s\n\nCaused by:\n", (int)(sep - errbuf), errbuf);
    const char *p = sep + 1;
    bool numbered = strchr(p, SIM_ERR_SEP) != NULL;
    for (int i = 0; p != NULL; i++) {
        const char *next = strchr(p, SIM_ERR_SEP);
        size_t len = next ? (size_t)(next - p) : strlen(p);
        char num[32];
        snprintf(num, sizeof(num), "    %d: ", i);
        put_indented(p, len, numbered ? num : "    ");
        p = next ? next + 1 : NULL;
    }
}

const char *sim_release(void)
{
    static const char *cached;
    if (cached != NULL)
        return cached;
    const char *env = getenv("NEARD_SIM_RELEASE");
    size_t len = env != NULL ? strlen(env) : 0;
    bool ok = len > 0 && len <= 32;
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)env[i]) || env[i] == '.' || env[i] == '-';
    cached = ok ? env : SIM_RELEASE;
    return cached;
}

static unsigned env_protocol(void)
{
    const char *env = getenv("NEARD_SIM_PROTOCOL");
    uint64_t v = 0;
    if (env == NULL || nu_parse_uint(env, 1000, &v) != 0 || v == 0)
        return 0;
    return (unsigned)v;
}

unsigned sim_protocol(void)
{
    unsigned v = env_protocol();
    return v ? v : SIM_PROTOCOL;
}

unsigned sim_protocol_version(const struct sim_genesis *g)
{
    unsigned chain = g->protocol_version ? g->protocol_version : SIM_PROTOCOL, v = env_protocol();
    return v > chain ? v : chain;
}
