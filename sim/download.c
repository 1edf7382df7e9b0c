/* --download-genesis / --download-config: a blocking GET (init is a CLI
 * command, no event loop runs yet). NEAR ships genesis.json.xz, so xz
 * content is detected by its magic bytes, not by the URL. */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "buf.h"
#include "xz.h"
#include "httpc.h"

int sim_download(const char *url, char **out, size_t *outlen, char *errbuf)
{
    struct nu_httpc_opts o;
    struct nu_buf body;
    long status = 0;
    *out = NULL;
    *outlen = 0;
    int rc = nu_httpc_global_init();
    if (rc < 0)
        return nu_err_set(errbuf, rc, "cannot initialise the HTTP client");
    nu_httpc_opts_init(&o);
    o.max_bytes = SIM_DOWNLOAD_MAX;
    nu_buf_init(&body, SIM_DOWNLOAD_MAX);
    rc = nu_http_get(url, &o, &body, &status, errbuf);
    if (rc == 0 && nu_xz_is_xz(body.data, body.len)) {
        rc = nu_xz_decompress(body.data, body.len, SIM_DOWNLOAD_MAX, out, outlen, errbuf);
    } else if (rc == 0) {
        *outlen = body.len;
        *out = nu_buf_take(&body);
        if (*out == NULL)
            rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    }
    nu_buf_release(&body);
    nu_httpc_global_cleanup();
    return rc;
}
