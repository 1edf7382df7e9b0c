/* `neard --version`: the release a binary reports, with a timeout so a
 * binary that hangs is not taken for neard. */
#include "neard_version.h"

#include <string.h>

#include "proc.h"

#define VERSION_OUT_MAX 4096
#define VERSION_TIMEOUT_MS 5000

static int parse_release(const char *text, char *out, size_t outsz)
{
    const char *p = strstr(text, "(release ");
    if (p == NULL)
        return NU_EPARSE;
    p += 9;
    const char *end = strchr(p, ')');
    if (end == NULL || end == p || (size_t)(end - p) >= outsz)
        return NU_EPARSE;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

int node_neard_version(const char *binary, char *out, size_t outsz, char *errbuf)
{
    char *argv[] = {(char *)binary, "--version", NULL};
    char text[VERSION_OUT_MAX];
    size_t len;
    int st;
    int rc = nu_proc_run(argv, VERSION_TIMEOUT_MS, text, sizeof(text), &len, &st, errbuf);
    /* Judged by what it printed: one that then hangs was killed; one that
     * printed nothing in time is not neard. */
    if (rc == NU_ETIMEDOUT || (rc == 0 && len == 0))
        rc = len > 0 ? 0 : nu_err_set(errbuf, NU_ECHILD, "%s --version printed nothing", binary);
    if (rc == 0 && parse_release(text, out, outsz) < 0)
        rc =
            nu_err_set(errbuf, NU_EPARSE, "%s --version: no \"(release X)\" in its output", binary);
    return rc;
}
