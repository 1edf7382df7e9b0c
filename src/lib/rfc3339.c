/* RFC 3339 timestamps (see rfc3339.h), parsed by hand: every field is
 * checked, and the date is turned into days without the C library's
 * time zone machinery. */
#include <stdbool.h>
#include <string.h>

#include "rfc3339.h"

/* n decimal digits at *p (advanced); -1 when any is not a digit. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return -1;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    return v;
}

/* Consumes sep at *p; false when it is not there. */
static bool expect(const char **p, const char *seps)
{
    if (**p == '\0' || strchr(seps, **p) == NULL)
        return false;
    (*p)++;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), counted in eras of
 * 400 years (146097 days) from 0000-03-01 so February ends each year. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "[.digits]" into ms (first three digits); false on a '.' without digits. */
static bool fraction_ms(const char **p, int64_t *ms)
{
    *ms = 0;
    if (**p != '.')
        return true;
    (*p)++;
    if (**p < '0' || **p > '9')
        return false;
    for (int64_t unit = 100; **p >= '0' && **p <= '9'; (*p)++, unit /= 10)
        *ms += (**p - '0') * unit;
    return true;
}

/* "Z" or "+hh:mm" / "-hh:mm" into minutes east of UTC. */
static bool utc_offset(const char **p, int64_t *minutes)
{
    *minutes = 0;
    if (expect(p, "Zz"))
        return true;
    char sign = **p;
    if (!expect(p, "+-"))
        return false;
    int oh = digits(p, 2), om = -1;
    if (oh >= 0 && expect(p, ":"))
        om = digits(p, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59)
        return false;
    *minutes = (sign == '-' ? -1 : 1) * (int64_t)(oh * 60 + om);
    return true;
}

int nu_parse_rfc3339_ms(const char *s, int64_t *ms)
{
    const char *p = s;
    int y = digits(&p, 4), mo = -1, d = -1, hh = -1, mi = -1, ss = -1;
    if (y >= 0 && expect(&p, "-"))
        mo = digits(&p, 2);
    if (mo >= 1 && mo <= 12 && expect(&p, "-"))
        d = digits(&p, 2);
    if (d >= 1 && d <= month_days(y, mo) && expect(&p, "Tt"))
        hh = digits(&p, 2);
    if (hh >= 0 && hh <= 23 && expect(&p, ":"))
        mi = digits(&p, 2);
    if (mi >= 0 && mi <= 59 && expect(&p, ":"))
        ss = digits(&p, 2);
    int64_t frac, off;
    if (ss < 0 || ss > 60 || !fraction_ms(&p, &frac) || !utc_offset(&p, &off) || *p != '\0')
        return NU_EPARSE;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    *ms = (secs - off * 60) * 1000 + frac;
    return 0;
}
