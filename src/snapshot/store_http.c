#include "store.h"
int snap_store_http_open(struct snap_store *s, char *errbuf)
{
    return nu_err_set(errbuf, NU_EINVAL, "http stores are not supported yet");
}
