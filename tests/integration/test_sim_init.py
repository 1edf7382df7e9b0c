"""`neard-sim init`: files, keys, idempotence, public-chain rules, downloads."""
import ctypes
import ctypes.util
import json
import lzma
import os
import re
import stat

from conftest import init_local, load_json, run_sim

ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
KEY_FILE_RE = re.compile(r'\{\n  "account_id": "([a-z0-9._-]+)",\n'
                         r'  "public_key": "ed25519:([1-9A-HJ-NP-Za-km-z]+)",\n'
                         r'  "secret_key": "ed25519:([1-9A-HJ-NP-Za-km-z]+)"\n\}')


def b58decode(s):
    n = 0
    for ch in s:
        n = n * 58 + ALPHABET.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return b'\0' * (len(s) - len(s.lstrip('1'))) + raw


def sodium():
    lib = ctypes.CDLL(ctypes.util.find_library('sodium') or 'libsodium.so.23')
    assert lib.sodium_init() >= 0
    return lib


def check_key_file(path, account):
    """Exact neard bytes, mode 0600, and a key pair libsodium agrees with."""
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, 'rb') as fh:
        data = fh.read().decode()
    m = KEY_FILE_RE.fullmatch(data)
    assert m, data
    assert m.group(1) == account
    pk, sk = b58decode(m.group(2)), b58decode(m.group(3))
    assert len(pk) == 32 and len(sk) == 64
    assert sk[32:] == pk
    lib = sodium()
    derived_pk, derived_sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
    assert lib.crypto_sign_seed_keypair(derived_pk, derived_sk, sk[:32]) == 0
    assert derived_pk.raw == pk
    sig = ctypes.create_string_buffer(64)
    msg = b'neard-sim'
    assert lib.crypto_sign_detached(sig, None, msg, ctypes.c_ulonglong(len(msg)), sk) == 0
    assert lib.crypto_sign_verify_detached(sig, msg, ctypes.c_ulonglong(len(msg)), pk) == 0
    return 'ed25519:' + m.group(2)


def test_local_init_writes_neard_files(home):
    r = init_local(home)
    assert sorted(os.listdir(home)) == ['config.json', 'genesis.json', 'node_key.json',
                                        'validator_key.json']
    node_pk = check_key_file(home / 'node_key.json', 'node')
    val_pk = check_key_file(home / 'validator_key.json', 'test.near')
    assert f'INFO near: Using key {node_pk} for node\n' in r.stderr
    assert f'INFO near: Using key {val_pk} for test.near\n' in r.stderr
    cfg = load_json(home / 'config.json')
    assert cfg['network']['skip_sync_wait'] is True
    assert cfg['consensus']['min_block_production_delay'] == {'secs': 0, 'nanos': 120000000}
    assert cfg['consensus']['max_block_production_delay'] == {'secs': 0, 'nanos': 500000000}
    gen = load_json(home / 'genesis.json')
    assert gen['chain_id'] == 'simnet'
    assert gen['validators'] == [{'account_id': 'test.near', 'public_key': val_pk,
                                  'amount': '50000000000000000000000000000000'}]
    assert gen['epoch_length'] == 60
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z',
                        gen['genesis_time'])


def test_default_block_delays_without_fast(home):
    init_local(home, 'slownet', False)
    cfg = load_json(home / 'config.json')
    assert cfg['consensus']['min_block_production_delay'] == {'secs': 0, 'nanos': 600000000}
    assert cfg['consensus']['max_block_production_delay'] == {'secs': 2, 'nanos': 0}
    assert load_json(home / 'genesis.json')['epoch_length'] == 500


def test_random_chain_id_and_account_id(home):
    r = run_sim(home, 'init', '--account-id', 'alice.near')
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r'test-chain-[A-Za-z0-9]{5}', load_json(home / 'genesis.json')['chain_id'])
    check_key_file(home / 'validator_key.json', 'alice.near')


def test_init_is_idempotent(home):
    init_local(home)
    before = {f: open(home / f, 'rb').read() for f in os.listdir(home)}
    r = init_local(home)
    assert 'Reusing key ed25519:' in r.stderr and 'Using key' not in r.stderr
    assert {f: open(home / f, 'rb').read() for f in os.listdir(home)} == before


def test_init_recreates_a_missing_key(home):
    init_local(home)
    cfg_before = open(home / 'config.json', 'rb').read()
    os.unlink(home / 'node_key.json')
    r = init_local(home)
    assert 'Using key ed25519:' in r.stderr
    check_key_file(home / 'node_key.json', 'node')
    assert open(home / 'config.json', 'rb').read() == cfg_before


def test_init_existing_config_requires_genesis(home):
    init_local(home)
    os.unlink(home / 'genesis.json')
    r = run_sim(home, 'init', '--chain-id', 'simnet')
    assert r.returncode == 1
    assert r.stderr.startswith('Error: Failed to initialize configs\n\nCaused by:\n'
                               f'    0: Failed to read genesis config {home}/genesis.json\n')


def test_testnet_without_genesis_fails(home):
    r = run_sim(home, 'init', '--chain-id', 'testnet')
    assert r.returncode == 1
    assert r.stderr.endswith('Error: Failed to initialize configs\n\nCaused by:\n'
                             '    Genesis file is required for testnet.\n'
                             '    Use <--genesis|--download-genesis>\n')


def test_genesis_and_download_genesis_conflict(home):
    r = run_sim(home, 'init', '--chain-id', 'testnet', '--genesis', 'g.json',
                '--download-genesis')
    assert r.returncode == 1
    assert r.stderr == 'Error: Please give either --genesis or --download-genesis, not both.\n'
    assert not os.path.exists(home / 'config.json')


def test_mainnet_embedded_genesis(home):
    r = run_sim(home, 'init', '--chain-id', 'mainnet')
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(home / 'validator_key.json')
    gen = load_json(home / 'genesis.json')
    assert (gen['chain_id'], gen['genesis_time'], gen['genesis_height'], gen['epoch_length']) == \
        ('mainnet', '2020-07-21T16:55:51.591948Z', 9820210, 43200)
    cfg = load_json(home / 'config.json')
    assert cfg['consensus']['min_block_production_delay'] == {'secs': 1, 'nanos': 300000000}
    assert cfg['consensus']['max_block_production_delay'] == {'secs': 3, 'nanos': 0}
    assert cfg['network']['skip_sync_wait'] is False
    assert 'https://explorer.mainnet.near.org/api/nodes' in cfg['telemetry']['endpoints']


def test_mainnet_validator_key_only_with_account_id(home):
    r = run_sim(home, 'init', '--chain-id', 'mainnet', '--account-id', 'pool.poolv1.near')
    assert r.returncode == 0, r.stderr
    check_key_file(home / 'validator_key.json', 'pool.poolv1.near')


def test_testnet_with_local_genesis_file(home, tmp_path):
    src = tmp_path / 'mygenesis'
    src.mkdir()
    init_local(src, 'whatever')
    r = run_sim(home, 'init', '--chain-id', 'testnet', '--genesis', src / 'genesis.json')
    assert r.returncode == 0, r.stderr
    assert load_json(home / 'genesis.json')['chain_id'] == 'testnet'
    cfg = load_json(home / 'config.json')
    assert cfg['consensus']['min_block_production_delay'] == {'secs': 1, 'nanos': 0}


def test_download_xz_genesis_and_config(home, tmp_path, file_server):
    www, base = file_server
    src = tmp_path / 'src'
    init_local(src, 'testnet-ish')
    raw = open(src / 'genesis.json', 'rb').read()
    (www / 'genesis.json.xz').write_bytes(lzma.compress(raw, format=lzma.FORMAT_XZ))
    remote_cfg = {'archive': True, 'network': {'boot_nodes': 'ed25519:abc@1.2.3.4:24567'},
                  'gc_num_epochs_to_keep': 7}
    (www / 'config.json').write_text('// NEAR rpc config\n' + json.dumps(remote_cfg))
    r = run_sim(home, 'init', '--chain-id', 'testnet',
                '--download-genesis-url', f'{base}/genesis.json.xz',
                '--download-config-url', f'{base}/config.json')
    assert r.returncode == 0, r.stderr
    gen = load_json(home / 'genesis.json')
    assert gen['chain_id'] == 'testnet'
    assert gen['genesis_time'] == json.loads(raw)['genesis_time']
    cfg = load_json(home / 'config.json')
    assert cfg['archive'] is True and cfg['gc_num_epochs_to_keep'] == 7
    assert cfg['network']['boot_nodes'] == 'ed25519:abc@1.2.3.4:24567'
    assert cfg['rpc']['addr'] == '0.0.0.0:3030'  # defaults fill what the download lacks


def test_download_config_xz_with_boot_nodes_override(home, tmp_path, file_server):
    www, base = file_server
    (www / 'config.json.xz').write_bytes(lzma.compress(b'{"archive": true}'))
    r = run_sim(home, 'init', '--chain-id', 'localchain', '--download-config-url',
                f'{base}/config.json.xz', '--boot-nodes', 'ed25519:xyz@127.0.0.1:1')
    assert r.returncode == 0, r.stderr
    cfg = load_json(home / 'config.json')
    assert cfg['archive'] is True
    assert cfg['network']['boot_nodes'] == 'ed25519:xyz@127.0.0.1:1'


def test_download_failure_is_reported(home, file_server):
    _, base = file_server
    r = run_sim(home, 'init', '--chain-id', 'testnet', '--download-genesis-url',
                f'{base}/missing.json.xz')
    assert r.returncode == 1
    assert (f'Caused by:\n    0: Failed to download the genesis file from {base}/missing.json.xz\n'
            in r.stderr)
