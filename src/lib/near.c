/* NEAR account ids and u128 amounts (see near.h). */
#include "near.h"

bool nu_account_id_valid(const char *id, size_t len)
{
    if (len < NU_ACCOUNT_ID_MIN || len > NU_ACCOUNT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int nu_u128_parse(const char *s, nu_u128 *out)
{
    nu_u128 v = 0, max = ~(nu_u128)0;
    if (!s || !*s)
        return NU_EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return NU_EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return NU_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

void nu_u128_text(nu_u128 v, char out[NU_U128_TEXT_MAX])
{
    char tmp[NU_U128_TEXT_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (unsigned)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}
