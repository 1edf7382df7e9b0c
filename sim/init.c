/* `neard-sim init`, following nearcore's init_configs step by step: an
 * existing config.json makes init only check files and add missing keys;
 * otherwise config.json, keys and genesis.json are written. Errors carry
 * neard's context messages (SIM_ERR_SEP separated, printed like anyhow). */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "clock.h"
#include "core.h"
#include "fs.h"
#include "json.h"

static bool is_public_chain(const char *chain_id)
{
    return strcmp(chain_id, "mainnet") == 0 || strcmp(chain_id, "testnet") == 0;
}

static void random_chain_id(char *out, size_t outsz)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char suffix[6];
    for (int i = 0; i < 5; i++)
        suffix[i] = alnum[randombytes_uniform(sizeof(alnum) - 1)];
    suffix[5] = '\0';
    snprintf(out, outsz, "test-chain-%s", suffix);
}

int sim_generate_or_load_key(const char *path, const char *account_id, const char *seed,
                             struct nu_keypair *kp, bool *loaded, char *errbuf)
{
    char pk[NU_KEY_TEXT_MAX];
    *loaded = false;
    if (nu_fs_exists(path)) {
        if (nu_key_file_read(path, kp, "node", errbuf) < 0) {
            sim_err_context(errbuf, "Failed initializing signer from %s", path);
            return NU_EINVAL;
        }
        if (account_id && strcmp(account_id, kp->account_id) != 0)
            return nu_err_set(errbuf, NU_EINVAL,
                              "‘%s’ contains key for %s but expecting key for %s", path,
                              kp->account_id, account_id);
        nu_key_pub_text(kp, pk, sizeof(pk));
        sim_log("INFO", "near", "Reusing key %s for %s", pk, kp->account_id);
        *loaded = true;
        return 0;
    }
    if (account_id == NULL)
        return NU_ENOENT;
    int rc = seed ? nu_key_from_seed(kp, account_id, seed) : nu_key_generate(kp, account_id);
    if (rc < 0)
        return nu_err_set(errbuf, rc, "cannot generate a key for %s", account_id);
    nu_key_pub_text(kp, pk, sizeof(pk));
    sim_log("INFO", "near", "Using key %s for %s", pk, kp->account_id);
    if (nu_key_file_write(path, kp, errbuf) < 0) {
        sim_err_context(errbuf, "Failed saving key to ‘%s’", path);
        return NU_EIO;
    }
    *loaded = true;
    return 0;
}

static int key_path(char *out, const char *home, const char *name, char *errbuf)
{
    if (nu_fs_join(out, PATH_MAX, home, name) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "path too long: %s/%s", home, name);
    return 0;
}

/* generate_or_load_keys: node key always; the validator key on public
 * chains only with --account-id, on local chains always (test.near). */
static int keys(const struct sim_init_opts *o, const char *chain_id, const char *node_file,
                const char *val_file, struct nu_keypair *val, bool *has_val, char *errbuf)
{
    char path[PATH_MAX];
    struct nu_keypair node;
    bool loaded;
    int rc = key_path(path, o->home, node_file, errbuf);
    if (rc == 0)
        rc = sim_generate_or_load_key(path, "node", NULL, &node, &loaded, errbuf);
    if (rc < 0)
        return rc;
    const char *acct = o->account_id;
    if (!is_public_chain(chain_id) && acct == NULL)
        acct = "test.near";
    rc = key_path(path, o->home, val_file, errbuf);
    if (rc == 0)
        rc = sim_generate_or_load_key(path, acct, is_public_chain(chain_id) ? NULL : o->test_seed,
                                      val, has_val, errbuf);
    return rc == NU_ENOENT ? 0 : rc;
}

static const char *str_or(const json_t *obj, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : dflt;
}

/* config.json exists: validate it, require the genesis, add missing keys. */
static int init_existing(const struct sim_init_opts *o, const char *chain_id, char *errbuf)
{
    char path[PATH_MAX];
    struct sim_config cfg;
    struct sim_genesis gen;
    struct nu_keypair val;
    bool has_val;
    gen.json = NULL;
    sim_config_defaults(&cfg);
    int rc = sim_config_load(o->home, &cfg, errbuf);
    if (rc < 0) {
        sim_err_context(errbuf, "Failed to read config %s", o->home);
        goto out;
    }
    rc = key_path(path, o->home, cfg.genesis_file, errbuf);
    if (rc == 0 && (rc = sim_genesis_load(path, &gen, errbuf)) < 0)
        sim_err_context(errbuf, "Failed to read genesis config %s/%s", o->home, cfg.genesis_file);
    sim_genesis_release(&gen);
    if (rc == 0)
        rc = keys(o, chain_id, cfg.node_key_file, cfg.validator_key_file, &val, &has_val, errbuf);
out:
    sim_config_release(&cfg);
    return rc;
}

static int download_config(const struct sim_init_opts *o, const char *chain_id, json_t *config,
                           char *errbuf)
{
    char url[1024], path[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    json_t *dl = NULL;
    if (o->download_config_url)
        snprintf(url, sizeof(url), "%s", o->download_config_url);
    else
        snprintf(url, sizeof(url), "%s/%s/%s/config.json", SIM_NEAR_DEPLOY_URL, chain_id,
                 o->download_config);
    int rc = sim_download(url, &data, &len, errbuf);
    if (rc < 0) {
        sim_err_context(errbuf, "Failed to download the config file from %s", url);
        return rc;
    }
    if (key_path(path, o->home, SIM_CONFIG_FILE, errbuf) == 0)
        rc = nu_json_parse(path, data, len, true, &dl, errbuf);
    free(data);
    if (rc == 0 && (rc = sim_json_merge(config, dl)) < 0)
        nu_err_set(errbuf, rc, "%s: the downloaded config is not a JSON object", url);
    json_decref(dl);
    if (rc < 0 && strncmp(errbuf, "config.json", 11) != 0)
        sim_err_context(errbuf, "config.json file issue: Failed to deserialize config from %s",
                        path);
    return rc;
}

/* Validates the final config the way `run` will read it. */
static int check_config(const struct sim_init_opts *o, const json_t *config, char *errbuf)
{
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    int rc = sim_config_from_json(config, SIM_CONFIG_FILE, o->home, &cfg, errbuf);
    sim_config_release(&cfg);
    return rc;
}

static int write_json(const char *home, const char *name, const json_t *v, char *errbuf,
                      const char *ctx)
{
    char path[PATH_MAX];
    int rc = key_path(path, home, name, errbuf);
    if (rc == 0 && (rc = nu_json_write_file(path, v, 0644, false, errbuf)) < 0)
        sim_err_context(errbuf, "%s %s", ctx, path);
    return rc;
}

static int local_genesis(const struct sim_init_opts *o, const char *chain_id,
                         const struct nu_keypair *val, json_t **out)
{
    char pk[NU_KEY_TEXT_MAX];
    nu_key_pub_text(val, pk, sizeof(pk));
    struct sim_genesis_account acct = {val->account_id, pk, true};
    *out = sim_genesis_local_json(chain_id, nu_real_ns(),
                                  o->fast ? SIM_FAST_EPOCH_LENGTH : SIM_EXPECTED_EPOCH_LENGTH,
                                  o->num_shards ? o->num_shards : 1, &acct, 1);
    return *out ? 0 : NU_ENOMEM;
}

/* testnet: --download-genesis(-url) or --genesis is required. */
static int testnet_genesis(const struct sim_init_opts *o, const char *chain_id, json_t **out,
                           char *errbuf)
{
    char url[1024];
    char *data = NULL;
    size_t len = 0;
    int rc;
    if (o->download_genesis_url || o->download_genesis) {
        if (o->download_genesis_url)
            snprintf(url, sizeof(url), "%s", o->download_genesis_url);
        else
            snprintf(url, sizeof(url), "%s/%s/genesis.json.xz", SIM_NEAR_DEPLOY_URL, chain_id);
        rc = sim_download(url, &data, &len, errbuf);
        if (rc < 0) {
            sim_err_context(errbuf, "Failed to download the genesis file from %s", url);
            return rc;
        }
        rc = nu_json_parse(url, data, len, false, out, errbuf);
        free(data);
    } else if (o->genesis) {
        rc = nu_json_load_file(o->genesis, false, out, errbuf);
    } else {
        return nu_err_set(errbuf, NU_EINVAL,
                          "Genesis file is required for %s.\nUse <--genesis|--download-genesis>",
                          chain_id);
    }
    if (rc < 0)
        return rc;
    /* neard validates the genesis (GenesisValidationMode::Full). */
    struct sim_genesis g;
    rc = sim_genesis_from_json(json_incref(*out), "genesis.json", &g, errbuf);
    sim_genesis_release(&g);
    if (rc == 0)
        rc = json_object_set_new(*out, "chain_id", json_string(chain_id)) == 0 ? 0 : NU_ENOMEM;
    return rc;
}

/* Config::default() with the chain's delays, or a download laid over it. */
static int base_config(const struct sim_init_opts *o, const char *chain_id, json_t **out,
                       char *errbuf)
{
    bool download = o->download_config || o->download_config_url;
    /* neard replaces its config by the download, keeping only serde defaults */
    *out = sim_config_default_json(download ? "" : chain_id, download ? false : o->fast);
    if (*out == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    int rc = download ? download_config(o, chain_id, *out, errbuf) : 0;
    if (rc == 0 && o->boot_nodes)
        rc = nu_json_set(*out, "network.boot_nodes", json_string(o->boot_nodes));
    return rc;
}

/* Per-chain settings made after the keys exist, then validate and write. */
static int finish_config(const struct sim_init_opts *o, const char *chain_id, json_t *config,
                         char *errbuf)
{
    int rc;
    if (is_public_chain(chain_id) && o->test_seed)
        return nu_err_set(errbuf, NU_EINVAL, "Test seed is not supported for %s", chain_id);
    if (is_public_chain(chain_id)) {
        char legacy[128];
        snprintf(legacy, sizeof(legacy), "https://explorer.%s.near.org/api/nodes", chain_id);
        rc = nu_json_set(config, "telemetry.endpoints",
                         json_pack("[s,s]", legacy, "https://telemetry.nearone.org/nodes"));
    } else {
        rc = nu_json_set(config, "network.skip_sync_wait", json_true());
    }
    if (rc == 0)
        rc = check_config(o, config, errbuf);
    if (rc == 0)
        rc = write_json(o->home, SIM_CONFIG_FILE, config, errbuf, "Error writing config to");
    return rc;
}

static int write_genesis(const struct sim_init_opts *o, const char *chain_id, const char *gfile,
                         const struct nu_keypair *val, char *errbuf)
{
    json_t *genesis = NULL;
    int rc = 0;
    if (strcmp(chain_id, "mainnet") == 0)
        genesis = sim_genesis_mainnet_json();
    else if (strcmp(chain_id, "testnet") == 0)
        rc = testnet_genesis(o, chain_id, &genesis, errbuf);
    else
        rc = local_genesis(o, chain_id, val, &genesis);
    if (rc == 0 && genesis == NULL)
        rc = nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    if (rc == 0)
        rc = write_json(o->home, gfile, genesis, errbuf, "Error writing genesis to");
    json_decref(genesis);
    if (rc < 0)
        return rc;
    if (strcmp(chain_id, "mainnet") == 0)
        sim_log("INFO", "near", "Generated mainnet genesis file in %s", o->home);
    else if (strcmp(chain_id, "testnet") == 0)
        sim_log("INFO", "near", "Generated for %s network node key and genesis file in %s",
                chain_id, o->home);
    else
        sim_log("INFO", "near", "Generated node key, validator key, genesis file in %s", o->home);
    return 0;
}

/* A new home, in init_configs' order: config, keys, config.json, genesis. */
static int new_home(const struct sim_init_opts *o, const char *chain_id, char *errbuf)
{
    struct nu_keypair val;
    bool has_val = false;
    json_t *config = NULL;
    int rc = base_config(o, chain_id, &config, errbuf);
    if (rc == 0)
        rc = keys(o, chain_id, str_or(config, "node_key_file", SIM_NODE_KEY_FILE),
                  str_or(config, "validator_key_file", SIM_VALIDATOR_KEY_FILE), &val, &has_val,
                  errbuf);
    if (rc == 0)
        rc = finish_config(o, chain_id, config, errbuf);
    /* local chains always have a validator key: keys() creates test.near's */
    if (rc == 0)
        rc = write_genesis(o, chain_id, str_or(config, "genesis_file", SIM_GENESIS_FILE), &val,
                           errbuf);
    json_decref(config);
    return rc;
}

int sim_init(const struct sim_init_opts *o, char *errbuf)
{
    char chain[SIM_CHAIN_ID_MAX], path[PATH_MAX];
    if (nu_fs_mkdir_p(o->home, 0755, errbuf) < 0) {
        sim_err_context(errbuf, "Failed to create directory \"%s\"", o->home);
        return NU_EIO;
    }
    if (o->chain_id && strlen(o->chain_id) >= sizeof(chain))
        return nu_err_set(errbuf, NU_EINVAL, "chain id is too long: %s", o->chain_id);
    if (o->chain_id)
        snprintf(chain, sizeof(chain), "%s", o->chain_id);
    else
        random_chain_id(chain, sizeof(chain));
    if (key_path(path, o->home, SIM_CONFIG_FILE, errbuf) < 0)
        return NU_ETOOBIG;
    if (nu_fs_exists(path))
        return init_existing(o, chain, errbuf);
    return new_home(o, chain, errbuf);
}
