/* libFuzzer target for the gateway's request path and config parser.
 *
 * The first byte picks the mode:
 *   even: the bytes are a POST / body: validation (gw_json_check), batch
 *         split, call peeks, the gateway's own error envelope with the
 *         peeked id, and the bytes again as an upstream reply;
 *   odd:  the bytes are an INI config file (gw_config_load_string); an
 *         accepted config must dump to a file that loads back to the same
 *         dump. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_config.h"
#include "gw_reply.h"
#include "gw_rpcpeek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_call(const char *body, size_t len, const struct gw_span *elem)
{
    struct gw_call_peek pk;
    char err[200];
    if (gw_rpcpeek_call(body, *elem, &pk, err, sizeof(err)) != 0) {
        if (!strstr(err, "duplicate field `") || !strstr(err, " at line "))
            abort();
        return;
    }
    if (pk.method < 0 || pk.method >= GW_NMETHODS || pk.height < -1)
        abort();
    if ((uint64_t)pk.id.off + pk.id.len > elem->len)
        abort();
    /* the error envelope carries the raw id and must itself be valid JSON */
    struct nu_buf out;
    nu_buf_init(&out, 1u << 20);
    const char *id = pk.id.len ? body + elem->off + pk.id.off : NULL;
    if (gw_reply_error(&out, id, pk.id.len, GW_LE_DENIED, "fuzz \"detail\"\n",
                       gw_method_name(pk.method), 0) == 0) {
        size_t n;
        if (gw_json_check(out.data, out.len, &n, NULL, 0) != GW_BODY_OBJECT)
            abort();
    }
    nu_buf_release(&out);
}

static void fuzz_body(const char *body, size_t len)
{
    size_t n = 0;
    char err[200];
    enum gw_body_kind k = gw_json_check(body, len, &n, err, sizeof(err));
    struct gw_reply_peek rp;
    gw_rpcpeek_reply(body, len, &rp);
    if (k == GW_BODY_INVALID) {
        if (!memchr(err, '\0', sizeof(err)) || !strstr(err, " at line "))
            abort();
        return;
    }
    if (k != GW_BODY_ARRAY) {
        struct gw_span all = {0, (uint32_t)len};
        check_call(body, len, &all);
        return;
    }
    size_t cursor = 0, seen = 0;
    struct gw_span e;
    while (gw_json_array_next(body, len, &cursor, &e)) {
        if ((uint64_t)e.off + e.len > len || e.len == 0)
            abort();
        check_call(body, len, &e);
        seen++;
    }
    if (seen != n)
        abort();
}

static void fuzz_config(const char *text)
{
    struct nu_buf errs, d1, d2;
    nu_buf_init(&errs, 1u << 16);
    nu_buf_init(&d1, 1u << 20);
    nu_buf_init(&d2, 1u << 20);
    struct gw_config *c = NULL, *c2 = NULL;
    if (gw_config_load_string(text, "fuzz.ini", NULL, 0, &c, &errs) == 0) {
        if (gw_config_dump(c, &d1) != 0)
            abort();
        if (gw_config_load_string(d1.data, "dump.ini", NULL, 0, &c2, &errs) != 0)
            abort();
        if (gw_config_dump(c2, &d2) != 0 || d1.len != d2.len ||
            memcmp(d1.data, d2.data, d1.len) != 0)
            abort();
    } else if (errs.len == 0) {
        abort(); /* a refusal always says why */
    }
    gw_config_unref(c);
    gw_config_unref(c2);
    nu_buf_release(&errs);
    nu_buf_release(&d1);
    nu_buf_release(&d2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    char *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    if (data[0] % 2 == 0)
        fuzz_body(copy, size - 1);
    else
        fuzz_config(copy);
    free(copy);
    return 0;
}
