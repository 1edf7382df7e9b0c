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
 * (two small GETs of node_network_deploy_chain(chain)'s latest_*; chain
 * NULL = testnet), otherwise the pinned layout (no request). Errors: NU_ENET
 * "cannot reach the release bucket: GET <url>: <curl error>", NU_EHTTP
 * naming the URL and status, NU_EPARSE for a malformed name. */
NU_WUR int node_release_resolve(const char *base_url, const char *chain, const char *version,
                                struct node_release *out, char *errbuf);
/* A known build, with no request: the deploy layout of version and commit,
 * or the pinned layout when commit is NULL or "". NU_EINVAL for a
 * malformed name. */
NU_WUR int node_release_build(const char *base_url, const char *version, const char *commit,
                              struct node_release *out, char *errbuf);
/* BASE/nearcore-deploy/<chain>/<file> into out. */
NU_WUR int node_release_deploy_url(const char *base_url, const char *chain, const char *file,
                                   char *out, size_t outsz);
/* True if s may be a release or commit name from the bucket: 1..127 chars
 * of [A-Za-z0-9._+-], not starting with '.' or '-' (it becomes a path). */
bool node_release_name_valid(const char *s);
/* GETs r->sha256_url and parses it ("<64 hex>  neard"). NU_ENET when the
 * bucket cannot be reached, NU_EHTTP for an HTTP error, NU_EPARSE for
 * another format; errbuf names the URL. */
NU_WUR int node_release_fetch_sha256(const struct node_release *r, char out[NODE_SHA256_HEX],
                                     char *errbuf);
/* The 64 hex digits at the start of text (leading blanks skipped), lowered,
 * followed by the end or a blank: "<hex>  neard" (sha256sum) or "<hex>". */
NU_WUR int node_sha256_parse(const char *text, char out[NODE_SHA256_HEX]);

#endif
