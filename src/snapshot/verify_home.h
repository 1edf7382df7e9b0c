/* Verifying a home's data dirs against a snapshot (verify_home.c). */
#ifndef SNAP_VERIFY_HOME_H
#define SNAP_VERIFY_HOME_H

#include "error.h"

/* snap_verify for a home's data dirs. */
struct snap_verify_opts;
struct snap_verify_result;
NU_WUR int snap_verify_home(const struct snap_verify_opts *o, struct snap_verify_result *r,
                            char *errbuf);

#endif
