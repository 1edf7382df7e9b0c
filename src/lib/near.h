/* NEAR's small value types: account ids and yoctoNEAR amounts (u128, as
 * the RPC writes them: decimal text). Pure code. */
#ifndef NU_NEAR_H
#define NU_NEAR_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define NU_ACCOUNT_ID_MIN 2
#define NU_ACCOUNT_ID_MAX 64
#define NU_U128_TEXT_MAX 40 /* 2^128 - 1 has 39 digits */

typedef unsigned __int128 nu_u128;

/* True when id (len bytes) is 2 to 64 characters of [a-z0-9._-]. */
bool nu_account_id_valid(const char *id, size_t len);

/* Decimal text (digits only, no sign) up to 2^128 - 1; NU_EINVAL otherwise. */
NU_WUR int nu_u128_parse(const char *s, nu_u128 *out);
void nu_u128_text(nu_u128 v, char out[NU_U128_TEXT_MAX]);

#endif
