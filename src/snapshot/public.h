/* NEAR's and FASTNEAR's public snapshot layouts (public.c). */
#ifndef SNAP_PUBLIC_H
#define SNAP_PUBLIC_H

#include "error.h"

/* Restores from NEAR's or FASTNEAR's public layout. */
struct snap_restore_opts;
struct snap_restore_result;
NU_WUR int snap_restore_public(const struct snap_restore_opts *o, struct snap_restore_result *r,
                               char *errbuf);

#endif
