/* Restores from the public layouts NEAR and FASTNEAR used (placeholder). */
#include "snap.h"
#include "util.h"

int snap_restore_public(const struct snap_restore_opts *o, struct snap_restore_result *r,
                        char *errbuf)
{
    return nu_err_set(errbuf, NU_EINVAL, "public layouts are not supported yet");
}
