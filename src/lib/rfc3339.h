/* RFC 3339 timestamps: neard's block times ("2025-02-12T22:10:10.530341781Z")
 * for the health judge, S3's LastModified for the snapshot stores. */
#ifndef NU_RFC3339_H
#define NU_RFC3339_H

#include <stdint.h>
#include "error.h"

/* "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)" ('t' and 'z' too) to
 * ms since the epoch; fraction digits past milliseconds are dropped.
 * Every field is range-checked (the day within its month, leap years); a
 * second of 60 (a leap second) is accepted. NU_EPARSE otherwise, and *ms
 * is left as it was. */
NU_WUR int nu_parse_rfc3339_ms(const char *s, int64_t *ms);

#endif
