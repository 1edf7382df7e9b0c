/* Functions nearup's code must not call (STYLE.md, after git's banned.h).
 *
 * Force-included into every object of src/ and sim/ (`-include`, see the
 * top-level meson.build), so a call to one of these fails the build with
 * an error naming "sorry_<name>_is_a_banned_function". Use snprintf (or
 * nu_buf_printf), memcpy with a checked length, strtoul/strtoll with full
 * checks (or the settings codecs, settings.h), strtok_r's replacement
 * strcspn/strspn, and the _r time functions.
 *
 * The headers that declare these come first, so their prototypes are read
 * before the macros exist; a later #include of them is a no-op. */
#ifndef NU_BANNED_H
#define NU_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NU_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) NU_BANNED(strcpy)
#undef strcat
#define strcat(x, y) NU_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) NU_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) NU_BANNED(strncat)
#undef strtok
#define strtok(x, y) NU_BANNED(strtok)
#undef strtok_r
#define strtok_r(x, y, z) NU_BANNED(strtok_r)
#undef sprintf
#define sprintf(...) NU_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) NU_BANNED(vsprintf)
#undef gets
#define gets(x) NU_BANNED(gets)
#undef atoi
#define atoi(x) NU_BANNED(atoi)
#undef atol
#define atol(x) NU_BANNED(atol)
#undef atoll
#define atoll(x) NU_BANNED(atoll)
#undef asctime
#define asctime(t) NU_BANNED(asctime)
#undef ctime
#define ctime(t) NU_BANNED(ctime)
#undef gmtime
#define gmtime(t) NU_BANNED(gmtime)
#undef localtime
#define localtime(t) NU_BANNED(localtime)

#endif
