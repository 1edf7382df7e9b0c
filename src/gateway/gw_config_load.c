/* Loading the gateway config: defaults, INI file and environment (the
 * settings loader, settings.h, with the [upstream NAME] and [method_cost]
 * sections read here), flags, then validation (see gw_config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "gw_config-int.h"
#include "redact.h"

#define INFLIGHT_UNSET 0xffffffffu

struct load_ctx {
    struct gw_config *c;
    struct nu_settings_load l; /* the file, its errors and the line being read */
    int cost_line[GW_NMETHODS];
    /* upstream section being read */
    char cur_section[GW_NAME_MAX + 16];
    struct gw_upstream_spec *cur;
};

static void add_err(struct load_ctx *x, const char *where, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends to the error text; a full buffer only loses text, the load still fails. */
static void note(struct nu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct nu_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (nu_buf_vprintf(b, fmt, ap) != 0) {
        /* truncated */
    }
    va_end(ap);
}

static void add_err(struct load_ctx *x, const char *where, int line, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    nu_settings_error(&x->l, where, line, "%s", msg);
}

/* ---- upstream specs ---- */

static struct gw_upstream_spec *new_upstream(struct load_ctx *x, const char *name,
                                             const char *where, int line)
{
    for (size_t i = 0; i < x->c->nups; i++) {
        if (strcmp(x->c->ups[i].name, name) == 0) {
            add_err(x, where, line, "upstream \"%s\" is defined twice", name);
            return NULL;
        }
    }
    if (x->c->nups >= GW_MAX_UPSTREAMS) {
        add_err(x, where, line, "more than %d upstreams", GW_MAX_UPSTREAMS);
        return NULL;
    }
    size_t n = strlen(name);
    if (n == 0 || n >= GW_NAME_MAX || strpbrk(name, " \t\"\\=,")) {
        add_err(x, where, line, "upstream name \"%s\": 1-%d characters, no spaces, quotes or =,",
                name, GW_NAME_MAX - 1);
        return NULL;
    }
    struct gw_upstream_spec *u = &x->c->ups[x->c->nups++];
    *u = (struct gw_upstream_spec){.weight = 100, .max_inflight = INFLIGHT_UNSET, .line = line};
    memcpy(u->name, name, n + 1);
    return u;
}

#define GW_URL_SHOWN_MAX 300 /* an upstream url as an error message shows it */

/* http://HOST[:PORT][/PATH] with a numeric host or localhost; no userinfo. */
static int parse_url(struct gw_upstream_spec *u, const char *url, char *msg, size_t msgsz)
{
    if (strncasecmp(url, "https://", 8) == 0) {
        snprintf(msg, msgsz, "url %s: https upstreams are not supported (terminate TLS elsewhere)",
                 url);
        return NU_EINVAL;
    }
    if (strncasecmp(url, "http://", 7) != 0 || strlen(url) >= sizeof(u->url)) {
        snprintf(msg, msgsz, "url \"%s\": expected http://HOST:PORT[/PATH]", url);
        return NU_EINVAL;
    }
    if (nu_redact_needed(url)) {
        char shown[GW_URL_SHOWN_MAX];
        nu_redact(url, shown, sizeof(shown));
        snprintf(msg, msgsz,
                 "url \"%s\": credentials in an upstream url are not supported (the gateway "
                 "sends none); remove them",
                 shown);
        return NU_EINVAL;
    }
    const char *auth = url + 7, *slash = strchr(auth, '/'), *why;
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    struct nu_hostport hp;
    if (strlen(slash ? slash : "/") >= sizeof(u->path) ||
        nu_hostport_parse(auth, alen, 80, 0, &hp, &why) != 0)
        goto bad;
    snprintf(u->host, sizeof(u->host), "%s", hp.host);
    u->port = hp.port;
    if (!gw_host_numeric(u->host)) {
        snprintf(msg, msgsz,
                 "url %s: host must be an IP address or localhost (use dns = %s:%d "
                 "for names)",
                 url, u->host, u->port);
        return NU_EINVAL;
    }
    for (const char *c = slash ? slash : ""; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            goto bad; /* the path goes into the request line as is */
    snprintf(u->path, sizeof(u->path), "%s", slash ? slash : "/");
    snprintf(u->url, sizeof(u->url), "%s", url);
    return 0;
bad:
    snprintf(msg, msgsz, "url \"%s\": expected http://HOST:PORT[/PATH]", url);
    return NU_EINVAL;
}

static int parse_dns(struct gw_upstream_spec *u, const char *v, char *msg, size_t msgsz)
{
    struct nu_hostport hp;
    const char *why;
    if (nu_hostport_parse(v, strlen(v), 0, 0, &hp, &why) != 0) {
        snprintf(msg, msgsz, "dns \"%s\": expected NAME:PORT", v);
        return NU_EINVAL;
    }
    if (!nu_host_name_ok(hp.host)) {
        snprintf(msg, msgsz, "dns \"%s\": bad character in the name", v);
        return NU_EINVAL;
    }
    snprintf(u->host, sizeof(u->host), "%s", hp.host);
    u->port = hp.port;
    u->is_dns = true;
    return 0;
}

static int set_upstream_num(const char *key, const char *v, uint64_t lo, uint64_t hi, unsigned *out,
                            char *msg, size_t msgsz)
{
    uint64_t n;
    char why[160]; /* "\"V\" is not a whole number", cut for a long V */
    if (nu_parse_uint_in(v, lo, hi, &n, why, sizeof(why)) != 0) {
        snprintf(msg, msgsz, "%s: %s", key, why);
        return NU_EINVAL;
    }
    *out = (unsigned)n;
    return 0;
}

/* One key of an upstream (file section or flag option). */
static int upstream_key(struct gw_upstream_spec *u, const char *key, const char *v, char *msg,
                        size_t msgsz)
{
    if (strcmp(key, "url") == 0 || strcmp(key, "dns") == 0) {
        if (u->url[0] || u->is_dns) {
            snprintf(msg, msgsz, "%s: an upstream has one url or one dns", key);
            return NU_EINVAL;
        }
        return key[0] == 'u' ? parse_url(u, v, msg, msgsz) : parse_dns(u, v, msg, msgsz);
    }
    if (strcmp(key, "zone") == 0) {
        if (strlen(v) >= sizeof(u->zone)) {
            snprintf(msg, msgsz, "zone: longer than %zu bytes", sizeof(u->zone) - 1);
            return NU_EINVAL;
        }
        snprintf(u->zone, sizeof(u->zone), "%s", v);
        return 0;
    }
    if (strcmp(key, "weight") == 0)
        return set_upstream_num(key, v, 1, 1000, &u->weight, msg, msgsz);
    if (strcmp(key, "max_inflight") == 0)
        return set_upstream_num(key, v, 0, 100000000, &u->max_inflight, msg, msgsz);
    if (strcmp(key, "archival") == 0) {
        if (nu_parse_bool(v, &u->archival) != 0) {
            snprintf(msg, msgsz, "archival: \"%s\" is not true or false", v);
            return NU_EINVAL;
        }
        return 0;
    }
    snprintf(msg, msgsz,
             "unknown upstream key \"%s\" (known: url, dns, zone, weight, archival, "
             "max_inflight)",
             key);
    return NU_EINVAL;
}

/* ---- file ---- */

static int cost_set(struct gw_config *c, const char *method, const char *v, char *msg, size_t msgsz)
{
    int m = gw_method_lookup(method, strlen(method));
    if (m == GW_M_OTHER && strcmp(method, "other") != 0) {
        snprintf(msg, msgsz, "method_cost: unknown method \"%s\"", method);
        return NU_EINVAL;
    }
    uint64_t n;
    char why[160]; /* "\"V\" is not a whole number", cut for a long V */
    if (nu_parse_uint_in(v, 0, 1000000, &n, why, sizeof(why)) != 0) {
        snprintf(msg, msgsz, "method_cost %s: %s", method, why);
        return NU_EINVAL;
    }
    c->method_cost[m] = (unsigned)n;
    return m;
}

static void file_upstream(struct load_ctx *x, const char *section, const char *name,
                          const char *value)
{
    char msg[NU_ERRMSG_MAX];
    if (strcmp(section, x->cur_section) != 0) {
        snprintf(x->cur_section, sizeof(x->cur_section), "%s", section);
        const char *uname = section + 9;
        while (*uname == ' ')
            uname++;
        x->cur = new_upstream(x, uname, x->l.file, x->l.line);
    }
    if (x->cur && upstream_key(x->cur, name, value, msg, sizeof(msg)) != 0)
        add_err(x, x->l.file, x->l.line, "[upstream %s] %s", x->cur->name, msg);
}

/* The sections the settings table does not describe. */
static int extra_section(struct nu_settings_load *l, const char *section, const char *name,
                         const char *value)
{
    struct load_ctx *x = l->ud;
    char msg[NU_ERRMSG_MAX];
    if (strncmp(section, "upstream ", 9) == 0) {
        file_upstream(x, section, name, value);
    } else if (strcmp(section, "method_cost") == 0) {
        int m = cost_set(x->c, name, value, msg, sizeof(msg));
        if (m < 0)
            add_err(x, l->file, l->line, "%s", msg);
        else if (x->cost_line[m])
            add_err(x, l->file, l->line, "method_cost %s is set twice", name);
        else
            x->cost_line[m] = l->line;
    } else {
        return 0;
    }
    return 1;
}

/* ---- environment and flags ---- */

/* Next comma-separated field of *p (modified in place); NULL at the end. */
static char *next_field(char **p)
{
    if (!*p)
        return NULL;
    char *start = *p, *comma = strchr(start, ',');
    if (comma) {
        *comma = '\0';
        *p = comma + 1;
    } else {
        *p = NULL;
    }
    return start;
}

/* --upstream [NAME=]URL[,archival][,zone=Z][,weight=N][,max_inflight=N] */
static void flag_upstream(struct load_ctx *x, const char *v)
{
    char buf[1024], msg[NU_ERRMSG_MAX], name[GW_NAME_MAX];
    snprintf(buf, sizeof(buf), "%s", v);
    char *rest = buf, *url = next_field(&rest), *scheme = strstr(url, "://");
    char *eq = strchr(url, '=');
    if (eq && scheme && eq < scheme) {
        *eq = '\0';
        if (strlen(url) >= sizeof(name)) {
            add_err(x, "flag --upstream", 0,
                    "upstream name '%.32s...' is longer than %d characters", url, GW_NAME_MAX - 1);
            return;
        }
        snprintf(name, sizeof(name), "%.*s", GW_NAME_MAX - 1, url);
        url = eq + 1;
        scheme = strstr(url, "://");
    } else {
        const char *hp = scheme ? scheme + 3 : url;
        size_t len = strcspn(hp, "/");
        for (const char *at = memchr(hp, '@', len); at != NULL; at = memchr(hp, '@', len)) {
            len -= (size_t)(at + 1 - hp); /* a name never holds the userinfo */
            hp = at + 1;
        }
        snprintf(name, sizeof(name), "%.*s", (int)len, hp);
    }
    struct gw_upstream_spec *u = new_upstream(x, name, "flag --upstream", 0);
    if (!u)
        return;
    int err = upstream_key(u, "url", url, msg, sizeof(msg));
    for (char *opt; !err && (opt = next_field(&rest));) {
        char *oeq = strchr(opt, '=');
        if (oeq)
            *oeq = '\0';
        err = upstream_key(u, opt, oeq ? oeq + 1 : "true", msg, sizeof(msg));
    }
    if (err)
        add_err(x, "flag --upstream", 0, "%s", msg);
}

static void apply_flag(struct load_ctx *x, const struct gw_flag *f)
{
    char msg[NU_ERRMSG_MAX], where[96];
    int n = snprintf(where, sizeof(where), "flag --%s", f->name);
    for (int i = 7; i < n && i < (int)sizeof(where); i++)
        where[i] = where[i] == '_' ? '-' : where[i]; /* as a flag is written */
    const char *v = f->value ? f->value : "";
    if (strcmp(f->name, "upstream") == 0) {
        flag_upstream(x, v);
        return;
    }
    if (strcmp(f->name, "method-cost") == 0 || strcmp(f->name, "method_cost") == 0) {
        char m[80];
        const char *eq = strchr(v, '=');
        if (!eq || (size_t)(eq - v) >= sizeof(m)) {
            add_err(x, where, 0, "expected METHOD=COST");
            return;
        }
        snprintf(m, sizeof(m), "%.*s", (int)(eq - v), v);
        if (cost_set(x->c, m, eq + 1, msg, sizeof(msg)) < 0)
            add_err(x, where, 0, "%s", msg);
        return;
    }
    const struct nu_setting *s =
        nu_setting_find(gw_settings, gw_nsettings, f->name, strlen(f->name));
    if (!s)
        add_err(x, where, 0, "unknown setting (see nearup gateway --help)");
    else if (nu_setting_set(s, x->c, v, msg, sizeof(msg)) != 0)
        add_err(x, where, 0, "%s: %s", s->name, msg);
}

/* ---- validation ---- */

static void validate_upstreams(struct load_ctx *x)
{
    struct gw_config *c = x->c;
    if (c->nups == 0)
        add_err(x, x->l.file[0] ? x->l.file : "config", 0,
                "no upstreams: add [upstream NAME] with url = http://HOST:PORT (or dns = "
                "NAME:PORT), or --upstream URL");
    for (size_t i = 0; i < c->nups; i++) {
        struct gw_upstream_spec *u = &c->ups[i];
        if (!u->url[0] && !u->is_dns)
            add_err(x, u->line ? x->l.file : "flag --upstream", u->line,
                    "[upstream %s] needs url = http://HOST:PORT or dns = NAME:PORT", u->name);
        if (u->max_inflight == INFLIGHT_UNSET)
            u->max_inflight = c->upstream_max_inflight;
    }
}

static void validate(struct load_ctx *x)
{
    struct gw_config *c = x->c;
    char bad[80];
    validate_upstreams(x);
    struct nu_hostport hp;
    const char *why;
    if (nu_hostport_parse(c->listen, strlen(c->listen), 0, NU_HOSTPORT_PORT0, &hp, &why) != 0)
        add_err(x, "config", 0, "listen: %s", why);
    snprintf(c->listen_host, sizeof(c->listen_host), "%s", hp.host);
    c->listen_port = hp.port;
    c->deny = (enum gw_deny_mode)c->deny_mode;
    c->allow_mask = ~0ull;
    if (c->allow_methods[0] &&
        gw_method_list_mask(c->allow_methods, &c->allow_mask, bad, sizeof(bad)) != 0)
        add_err(x, "config", 0, "allow_methods: unknown method \"%s\"", bad);
    if (gw_method_list_mask(c->deny_methods, &c->deny_mask, bad, sizeof(bad)) != 0)
        add_err(x, "config", 0, "deny_methods: unknown method \"%s\"", bad);
    if (c->rate_burst == 0)
        c->rate_burst = c->rate_limit;
}

static void set_defaults(struct load_ctx *x)
{
    char msg[NU_ERRMSG_MAX];
    if (nu_settings_defaults(gw_settings, gw_nsettings, x->c, msg, sizeof(msg)) != 0)
        add_err(x, "default", 0, "%s", msg); /* a bug in the table */
    for (int m = 0; m < GW_NMETHODS; m++)
        x->c->method_cost[m] = 1;
}

int gw_config_load_string(const char *text, const char *file, const struct gw_flag *flags,
                          size_t nflags, struct gw_config **out, struct nu_buf *errs)
{
    *out = NULL;
    struct gw_config *c = calloc(1, sizeof(*c));
    if (!c)
        return NU_ENOMEM;
    atomic_init(&c->refs, 1);
    struct load_ctx x = {.c = c};
    x.l = (struct nu_settings_load){.t = gw_settings,
                                    .n = gw_nsettings,
                                    .obj = c,
                                    .file = file ? file : "config",
                                    .extra = extra_section,
                                    .ud = &x,
                                    .errs = errs};
    snprintf(c->file, sizeof(c->file), "%s", file ? file : "");
    set_defaults(&x);
    if (text)
        nu_settings_parse_ini(&x.l, text, strlen(text));
    nu_settings_parse_env(&x.l, "NEARUP_GATEWAY_");
    for (size_t i = 0; i < nflags; i++)
        apply_flag(&x, &flags[i]);
    if (x.l.nerr == 0)
        validate(&x);
    if (x.l.nerr > GW_CONFIG_MAX_ERRORS)
        note(errs, "(%u more errors)\n", x.l.nerr - GW_CONFIG_MAX_ERRORS);
    if (x.l.nerr) {
        free(c);
        return NU_EINVAL;
    }
    *out = c;
    return 0;
}

static int read_file(const char *path, struct nu_buf *text, struct nu_buf *errs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        note(errs, "%s: cannot open: %s\n", path, strerror(errno));
        return NU_EIO;
    }
    char chunk[8192];
    size_t n;
    int err = 0;
    while (!err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        err = nu_buf_append(text, chunk, n);
    if (!err && ferror(f))
        err = NU_EIO;
    fclose(f);
    if (err == NU_ETOOBIG)
        note(errs, "%s: larger than %u bytes\n", path, GW_CONFIG_FILE_MAX);
    else if (err)
        note(errs, "%s: cannot read\n", path);
    return err;
}

int gw_config_load(const char *file, const struct gw_flag *flags, size_t nflags,
                   struct gw_config **out, struct nu_buf *errs)
{
    *out = NULL;
    struct nu_buf text;
    nu_buf_init(&text, GW_CONFIG_FILE_MAX);
    int err = 0;
    if (file)
        err = read_file(file, &text, errs);
    if (!err)
        err = gw_config_load_string(file ? (text.data ? text.data : "") : NULL, file, flags, nflags,
                                    out, errs);
    nu_buf_release(&text);
    return err;
}

struct gw_config *gw_config_ref(struct gw_config *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void gw_config_unref(struct gw_config *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        free(c);
}
