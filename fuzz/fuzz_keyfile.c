/* libFuzzer target for key files (nu_key_parse_json) and, on the same
 * bytes, the comment-stripping JSON parser used for neard's config.json. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever parses must be a usable, self-consistent key. */
static void check_key(const struct nu_keypair *kp)
{
    static const uint8_t msg[] = "fuzz";
    uint8_t sig[NU_KEY_SIG_LEN], pub[NU_KEY_PUB_LEN];
    char text[NU_KEY_TEXT_MAX];
    if (nu_key_sign(kp, msg, sizeof(msg), sig) != 0 ||
        nu_key_verify(kp->pub, msg, sizeof(msg), sig) != 0)
        abort();
    nu_key_pub_text(kp, text, sizeof(text));
    if (nu_key_parse_pub(text, pub, NULL) != 0 || memcmp(pub, kp->pub, sizeof(pub)) != 0)
        abort();
    if (strlen(kp->account_id) > NU_ACCOUNT_ID_MAX)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[NU_ERRMSG_MAX];
    struct nu_keypair kp;
    if (nu_key_parse_json((const char *)data, size, "fuzz", &kp, "node", err) == 0)
        check_key(&kp);
    json_t *v = NULL;
    if (nu_json_parse("fuzz", (const char *)data, size, true, &v, err) == 0)
        json_decref(v);
    return 0;
}
