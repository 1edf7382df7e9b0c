/* The release a neard binary reports (neard_version.c). */
#ifndef NODE_NEARD_VERSION_H
#define NODE_NEARD_VERSION_H

#include <stddef.h>
#include "error.h"

/* Runs `<binary> --version` and takes "X" from "(release X)". */
NU_WUR int node_neard_version(const char *binary, char *out, size_t outsz, char *errbuf);

#endif
