/* The bundle's secret scrubber (bundle-int.h): the second guard behind
 * never opening a key file. Whatever a member holds (a log line, a
 * config, an answer of neard or of a gateway) passes through it, so a
 * secret key a log printed, a password in a URL or a token in an
 * environment variable never reaches the archive. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bundle-int.h"
#include "redact.h"

/* base58 of a 32-byte ed25519 public key is at most 44 characters; a
 * secret key (64 bytes) is at least 64, a signature too. */
#define B58_PUBLIC_MAX 44
#define ED25519 "ed25519:"
#define REDACTED "***"
#define SCRUB_PASSES 8 /* rounds of the rules over a line at most */

/* Key fields of NEAR key files are secret_key and its alias private_key;
 * what comes before "key" in their names (any case, '_' or not). */
static const char *const key_field_heads[] = {"secret_", "secret", "private_", "private"};
/* Parts of names whose values are secrets. */
static const char *const secret_words[] = {
    "secret",  "password", "passwd",     "passphrase",    "token",
    "api_key", "apikey",   "credential", "authorization", "cookie",
};

/* w is lowercase and starts with a letter. */
static bool has_word(const char *s, size_t len, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= len; i++) {
        if ((s[i] | 0x20) == w[0] && strncasecmp(s + i, w, wl) == 0)
            return true;
    }
    return false;
}

static bool has_any(const char *s, size_t len, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (has_word(s, len, words[i]))
            return true;
    }
    return false;
}

static bool ends_with(const char *s, size_t len, const char *w)
{
    size_t wl = strlen(w);
    return len >= wl && strncasecmp(s + len - wl, w, wl) == 0;
}

/* Looks for "key" first: every line is searched, and "key" is rare. */
static bool names_key_field(const char *s, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++) {
        if ((s[i] | 0x20) != 'k' || (s[i + 1] | 0x20) != 'e' || (s[i + 2] | 0x20) != 'y')
            continue;
        for (size_t k = 0; k < sizeof(key_field_heads) / sizeof(key_field_heads[0]); k++) {
            if (ends_with(s, i, key_field_heads[k]))
                return true;
        }
    }
    return false;
}

bool bundle_secret_name(const char *name, size_t len)
{
    return names_key_field(name, len) ||
           has_any(name, len, secret_words, sizeof(secret_words) / sizeof(secret_words[0]));
}

bool bundle_key_file_name(const char *name)
{
    size_t len = strlen(name);
    return len >= 5 && strcasecmp(name + len - 5, ".json") == 0 && has_word(name, len, "key");
}

static bool b58_char(char c)
{
    return (c >= '1' && c <= '9') || (c >= 'A' && c <= 'H') || (c >= 'J' && c <= 'N') ||
           (c >= 'P' && c <= 'Z') || (c >= 'a' && c <= 'k') || (c >= 'm' && c <= 'z');
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* The name before a '=' or ':' at i (an optional closing quote between),
 * not reaching back before lo: what a replacement has written ends a name
 * as the "***" it leaves does on a second pass. */
static bool secret_before(const char *s, size_t i, size_t lo)
{
    size_t end = i;
    if (end > lo && (s[end - 1] == '"' || s[end - 1] == '\''))
        end--;
    size_t beg = end;
    while (beg > lo && name_char(s[beg - 1]))
        beg--;
    /* A name starts with a letter or '_' (not a time's "03:04"). */
    return beg < end && !isdigit((unsigned char)s[beg]) && bundle_secret_name(s + beg, end - beg);
}

/* Length of the value at s (n bytes): a quoted string with its quotes,
 * else up to white space or a delimiter. */
static size_t value_len(const char *s, size_t n)
{
    size_t i = 0;
    if (n > 0 && (s[0] == '"' || s[0] == '\'')) {
        for (i = 1; i < n && s[i] != s[0] && s[i] != '\n'; i++) {
            if (s[i] == '\\' && i + 1 < n)
                i++;
        }
        return i < n && s[i] == s[0] ? i + 1 : i;
    }
    while (i < n && !isspace((unsigned char)s[i]) && strchr(",;&}])\"'", s[i]) == NULL)
        i++;
    return i;
}

/* Values left as they are after a secret name: nothing, what was
 * redacted before, JSON's null and booleans, and the start of an object
 * or array (its members are judged by their own names). */
static bool keep_value(const char *v, size_t n)
{
    static const char *const keep[] = {
        REDACTED, "\"" REDACTED "\"", "'" REDACTED "'", "null", "true", "false"};
    if (n == 0 || v[0] == '{' || v[0] == '[')
        return true;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        if (strlen(keep[i]) == n && memcmp(v, keep[i], n) == 0)
            return true;
    }
    return false;
}

struct scan {
    const char *s;
    size_t n, done; /* s[0, done) is in out */
    struct nu_buf *out;
    unsigned *redacted;
};

/* Copies s[done, upto) and then rep to out; done moves to skip_to. */
static int replace(struct scan *sc, size_t upto, const char *rep, size_t skip_to)
{
    int rc = nu_buf_append(sc->out, sc->s + sc->done, upto - sc->done);
    if (rc == 0)
        rc = nu_buf_puts(sc->out, rep);
    sc->done = skip_to;
    ++*sc->redacted;
    return rc;
}

/* At i: a secret ed25519 key text, or a secret name's value. *next gets
 * where the scan goes on. */
static int scan_at(struct scan *sc, size_t i, size_t *next)
{
    const char *s = sc->s;
    size_t n = sc->n, el = sizeof(ED25519) - 1;
    *next = i + 1;
    if (s[i] == 'e' && i + el <= n && memcmp(s + i, ED25519, el) == 0) {
        size_t j = i + el;
        while (j < n && b58_char(s[j]))
            j++;
        if (j - i - el <= B58_PUBLIC_MAX)
            return 0; /* on from the next byte: "ed25519:" may be in the run */
        *next = j;
        return replace(sc, i, ED25519 REDACTED, j);
    }
    if ((s[i] != '=' && s[i] != ':') || !secret_before(s, i, sc->done))
        return 0;
    if (s[i] == ':' && i + 1 >= el && memcmp(s + i + 1 - el, ED25519, el) == 0)
        return 0; /* the ':' of a key's "ed25519:", not a name's */
    size_t v = i + 1;
    while (v < n && (s[v] == ' ' || s[v] == '\t'))
        v++;
    size_t vl = value_len(s + v, n - v);
    if (keep_value(s + v, vl))
        return 0; /* scanned on: an object or array holds more */
    *next = v + vl;
    /* A quoted value keeps its quotes, so what follows stays apart. */
    const char *rep = s[v] == '"' ? "\"" REDACTED "\"" : s[v] == '\'' ? "'" REDACTED "'" : REDACTED;
    return replace(sc, v, rep, v + vl);
}

static int scrub_values(const char *s, size_t n, struct nu_buf *out, unsigned *redacted)
{
    struct scan sc = {.s = s, .n = n, .out = out, .redacted = redacted};
    for (size_t i = 0, next; i < n; i = next) {
        int rc = scan_at(&sc, i, &next);
        if (rc < 0)
            return rc;
    }
    return nu_buf_append(out, s + sc.done, n - sc.done);
}

/* nu_redact of one NUL-free piece (p, NUL-terminated) appended to b. */
static int redact_piece(const char *p, struct nu_buf *b, unsigned *redacted)
{
    if (!nu_redact_needed(p))
        return nu_buf_puts(b, p);
    char none;
    size_t need = nu_redact(p, &none, 1) + 1;
    char *r = malloc(need);
    if (r == NULL)
        return NU_ENOMEM;
    nu_redact(p, r, need);
    *redacted += strcmp(r, p) != 0; /* "***@" again is no news */
    int rc = nu_buf_puts(b, r);
    free(r);
    return rc;
}

/* URL userinfo redacted (redact.h) in a copy of s (*copy, caller frees;
 * NULL when s has no URL), each NUL-free piece on its own since nu_redact
 * reads C strings. */
static int redact_urls(const char *s, size_t n, char **copy, size_t *clen, unsigned *redacted)
{
    *copy = NULL;
    if (memmem(s, n, "://", 3) == NULL)
        return 0;
    struct nu_buf b, piece;
    nu_buf_init(&b, 2 * n + 64);
    nu_buf_init(&piece, n);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n;) {
        const char *nul = memchr(s + i, '\0', n - i);
        size_t len = nul != NULL ? (size_t)(nul - s) - i : n - i;
        nu_buf_reset(&piece);
        rc = nu_buf_append(&piece, s + i, len);
        if (rc == 0)
            rc = redact_piece(piece.data != NULL ? piece.data : "", &b, redacted);
        if (rc == 0 && nul != NULL)
            rc = nu_buf_putc(&b, '\0');
        i += len + (nul != NULL);
    }
    nu_buf_release(&piece);
    *clen = b.len;
    if (rc == 0 && (*copy = nu_buf_take(&b)) == NULL)
        rc = NU_ENOMEM;
    nu_buf_release(&b);
    return rc;
}

/* One pass of the URL and the value rules over s into b (reset first). */
static int scrub_pass(const char *s, size_t n, struct nu_buf *b, unsigned *redacted)
{
    char *copy;
    size_t clen;
    nu_buf_reset(b);
    int rc = redact_urls(s, n, &copy, &clen, redacted);
    if (rc == 0)
        rc = copy != NULL ? scrub_values(copy, clen, b, redacted) : scrub_values(s, n, b, redacted);
    free(copy);
    return rc;
}

int bundle_scrub_line(const char *line, size_t len, struct nu_buf *out, unsigned *redacted)
{
    if (names_key_field(line, len)) {
        ++*redacted;
        int rc = nu_buf_puts(out, BUNDLE_DROPPED_LINE);
        return rc == 0 && len > 0 && line[len - 1] == '\n' ? nu_buf_putc(out, '\n') : rc;
    }
    /* A replacement can join what was apart ("x://a=s3cret_://b@h" loses
     * the "//" that ended the first URL's authority), so the rules run
     * again on what they wrote until nothing changes. */
    struct nu_buf b[2];
    nu_buf_init(&b[0], 2 * len + 64);
    nu_buf_init(&b[1], 2 * len + 64);
    const char *cur = line;
    size_t n = len;
    int rc = 0;
    for (int pass = 0, k = 0; rc == 0 && pass < SCRUB_PASSES; pass++, k ^= 1) {
        unsigned before = *redacted;
        rc = scrub_pass(cur, n, &b[k], redacted);
        if (rc == 0 && *redacted == before)
            break; /* cur is what it gives back */
        cur = b[k].data;
        n = b[k].len;
    }
    if (rc == 0)
        rc = nu_buf_append(out, cur, n);
    nu_buf_release(&b[0]);
    nu_buf_release(&b[1]);
    return rc;
}

int bundle_scrub_text(const char *text, size_t len, struct nu_buf *out, unsigned *redacted)
{
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl != NULL ? (size_t)(nl - text) - i + 1 : len - i;
        int rc = bundle_scrub_line(text + i, n, out, redacted);
        if (rc < 0)
            return rc;
        i += n;
    }
    return 0;
}

static int scrub_string(json_t *s, unsigned *redacted)
{
    unsigned before = *redacted;
    size_t len = json_string_length(s);
    struct nu_buf b;
    nu_buf_init(&b, 2 * len + 256);
    int rc = bundle_scrub_text(json_string_value(s), len, &b, redacted);
    if (rc == 0 && *redacted != before)
        rc = json_string_setn(s, b.data != NULL ? b.data : "", b.len) == 0 ? 0 : NU_ENOMEM;
    nu_buf_release(&b);
    return rc;
}

static int scrub_object(json_t *o, unsigned *redacted)
{
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe(o, tmp, key, val)
    {
        size_t klen = strlen(key);
        int rc = 0;
        if (names_key_field(key, klen)) {
            ++*redacted;
            rc = json_object_del(o, key) == 0 ? 0 : NU_ENOMEM;
        } else if (bundle_secret_name(key, klen) && !json_is_null(val) && !json_is_boolean(val)) {
            bool done = json_is_string(val) && strcmp(json_string_value(val), REDACTED) == 0;
            *redacted += !done;
            rc = done || json_object_set_new(o, key, json_string(REDACTED)) == 0 ? 0 : NU_ENOMEM;
        } else {
            rc = bundle_scrub_json(val, redacted);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int bundle_scrub_json(json_t *v, unsigned *redacted)
{
    if (json_is_string(v))
        return scrub_string(v, redacted);
    if (json_is_object(v))
        return scrub_object(v, redacted);
    for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++) {
        int rc = bundle_scrub_json(json_array_get(v, i), redacted);
        if (rc < 0)
            return rc;
    }
    return 0;
}
