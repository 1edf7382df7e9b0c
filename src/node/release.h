/* NEAR's release bucket: version lookup and binary URLs.
 *
 * Layout under a base URL (NEAR's public bucket by default, --release-url
 * replaces it everywhere):
 *   BASE/nearcore-deploy/<chain>/latest_release   release name ("2.4.0")
 *   BASE/nearcore-deploy/<chain>/latest_deploy    commit hash
 *   BASE/nearcore/<os>-<arch>/<release>/<commit>/neard          (latest)
 *   BASE/nearcore/<os>-<arch>/<release>/neard                   (pinned --neard-version)
 *   <binary dir>/neard.sha256                     "sha256sum" format
 *   BASE/nearcore-deploy/<chain>/genesis.json.xz | genesis.json, config.json, rpc/config.json
 * localnet and custom chains read testnet's latest_*. */
#ifndef NODE_RELEASE_H
#define NODE_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define NODE_DEFAULT_RELEASE_URL "https://s3-us-west-1.amazonaws.com/build.nearprotocol.com"
#define NODE_URL_MAX 2048
#define NODE_VERSION_MAX 128
#define NODE_SHA256_HEX 65 /* 64 hex digits + NUL */

struct node_release {
    char version[NODE_VERSION_MAX]; /* release name */
    char commit[NODE_VERSION_MAX];  /* commit hash, "" when pinned by version */
    char os_arch[64];               /* "Linux-x86_64" */
    char binary_url[NODE_URL_MAX];
    char sha256_url[NODE_URL_MAX];
};

/* "<uname -s>-<uname -m>". */
NU_WUR int node_os_arch(char *out, size_t outsz);
/* Resolves the binary for chain: version NULL means the chain's latest
 * (two small GETs), otherwise the pinned layout (no request). */
NU_WUR int node_release_resolve(const char *base_url, const char *chain, const char *version,
                                struct node_release *out, char *errbuf);
/* BASE/nearcore-deploy/<chain>/<file> into out. */
NU_WUR int node_release_deploy_url(const char *base_url, const char *chain, const char *file,
                                   char *out, size_t outsz);

#endif
