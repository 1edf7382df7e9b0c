#include "store.h"
int snap_store_s3_open(struct snap_store *s, char *errbuf)
{
    return nu_err_set(errbuf, NU_EINVAL, "s3 stores are not supported yet");
}
