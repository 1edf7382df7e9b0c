/* libFuzzer target for what the canary reads from outside: JSON-RPC
 * replies (any HTTP status), its INI file, and the values of its
 * --endpoint, --call and --transfer-amount settings. The first byte picks
 * which. Invariants: a reply gives a result exactly when it says 0, and
 * its every message is one NUL-terminated line (whatever the server sent); a file's problems are
 * "FILE:LINE: ..." lines, at most NU_SETTINGS_MAX_ERRORS of them; an
 * accepted setting leaves a config whose checks hold (an endpoint with a
 * URL and a name, a call with a valid contract id). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cn_config.h"
#include "jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 65536

static void one_line(const char *s, size_t max)
{
    const char *end = memchr(s, '\0', max);
    if (end == NULL || memchr(s, '\n', (size_t)(end - s)) != NULL)
        abort();
}

static void reply(const char *body, size_t len, int status)
{
    char err[NU_ERRMSG_MAX];
    json_t *r = (json_t *)1;
    char name[NU_JSONRPC_NAME_MAX];
    int rc = nu_jsonrpc_result("http://h:1", status, body, len, &r, name, err);
    if ((rc == 0) != (r != NULL))
        abort();
    if (rc != 0) {
        one_line(err, sizeof(err));
        one_line(name, sizeof(name));
    }
    json_decref(r);
}

static void file(const char *text, size_t len)
{
    static struct cn_config c;
    char msg[NU_ERRMSG_MAX];
    struct nu_buf errs;
    nu_buf_init(&errs, 1 << 20);
    memset(&c, 0, sizeof(c));
    if (nu_settings_defaults(cn_settings, cn_nsettings, &c, msg, sizeof(msg)) != 0)
        abort();
    struct nu_settings_load l = {
        .t = cn_settings, .n = cn_nsettings, .obj = &c, .file = "f", .errs = &errs};
    nu_settings_parse_ini(&l, text, len);
    size_t lines = 0;
    for (const char *p = errs.data ? errs.data : ""; *p; p++)
        lines += *p == '\n';
    if (lines > NU_SETTINGS_MAX_ERRORS || lines > l.nerr || (l.nerr > 0) != (lines > 0))
        abort();
    if (errs.len > 0 && strncmp(errs.data, "f:", 2) != 0)
        abort();
    (void)cn_config_check(&c, msg);
    nu_buf_release(&errs);
}

static void setting(const char *name, const char *value)
{
    static struct cn_config c;
    char msg[NU_ERRMSG_MAX];
    memset(&c, 0, sizeof(c));
    const struct nu_setting *s = nu_setting_find(cn_settings, cn_nsettings, name, strlen(name));
    if (s == NULL)
        abort();
    if (nu_setting_set(s, &c, value, msg, sizeof(msg)) != 0) {
        if (memchr(msg, '\0', sizeof(msg)) == NULL)
            abort(); /* it may quote the value, newlines and all: the user's own */
        return;
    }
    if (c.endpoints.n > 1 || (c.endpoints.n == 1 && (c.endpoints.v[0].url[0] == '\0' ||
                                                     c.endpoints.v[0].name[0] == '\0')))
        abort();
    if (c.call.text[0] && !nu_account_id_valid(c.call.contract, strlen(c.call.contract)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[FUZZ_MAX + 1];
    static const char *const names[] = {"endpoint", "call", "transfer_amount"};
    if (size < 1 || size > FUZZ_MAX)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 6) {
    case 0:
        reply(text, size - 1, 200);
        break;
    case 1:
        reply(text, size - 1, 400 + data[0] % 100);
        break;
    case 2:
        file(text, size - 1);
        break;
    default:
        setting(names[data[0] % 6 - 3], text);
        break;
    }
    return 0;
}
