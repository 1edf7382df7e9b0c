"""config.json and genesis.json as neard writes and reads them."""
import json
import os

import pytest

from conftest import edit_config, init_local, load_json, run_sim, wait_log

SECS = lambda s, ns=0: {'secs': s, 'nanos': ns}  # noqa: E731


def test_config_has_neard_names_and_defaults(home):
    init_local(home)
    cfg = load_json(home / 'config.json')
    assert list(cfg)[:8] == ['genesis_file', 'genesis_records_file', 'validator_key_file',
                             'node_key_file', 'rpc', 'telemetry', 'network', 'consensus']
    assert (cfg['genesis_file'], cfg['node_key_file'], cfg['validator_key_file']) == \
        ('genesis.json', 'node_key.json', 'validator_key.json')
    rpc = cfg['rpc']
    assert rpc['addr'] == '0.0.0.0:3030'
    assert rpc['limits_config'] == {'json_payload_max_size': 10485760}
    assert rpc['polling_config'] == {'polling_interval': SECS(0, 500000000),
                                     'polling_timeout': SECS(10)}
    assert rpc['enable_debug_rpc'] is False
    net = cfg['network']
    assert (net['addr'], net['boot_nodes'], net['max_num_peers']) == ('0.0.0.0:24567', '', 40)
    assert cfg['consensus']['min_num_peers'] == 3
    assert 'archive' not in cfg and 'expected_shutdown' not in cfg  # skipped when unset
    assert cfg['gc_num_epochs_to_keep'] == 5
    assert cfg['tracked_shards_config'] == 'AllShards'
    assert cfg['store']['path'] is None
    assert cfg['log_summary_period'] == SECS(10)


def test_config_json_is_pretty_without_trailing_newline(home):
    init_local(home)
    data = open(home / 'config.json', 'rb').read()
    assert data.startswith(b'{\n  "genesis_file": "genesis.json",\n')
    assert data.endswith(b'\n}')


def test_genesis_records_in_neard_shape(home):
    init_local(home)
    gen = load_json(home / 'genesis.json')
    val = load_json(home / 'validator_key.json')
    assert gen['records'][0] == {'Account': {'account_id': 'test.near', 'account': {
        'amount': '1000000000000000000000000000000000',
        'locked': '50000000000000000000000000000000',
        'code_hash': '11111111111111111111111111111111', 'storage_usage': 0, 'version': 'V1'}}}
    assert gen['records'][1] == {'AccessKey': {
        'account_id': 'test.near', 'public_key': val['public_key'],
        'access_key': {'nonce': 0, 'permission': 'FullAccess'}}}
    assert gen['total_supply'] == '2050000000000000000000000000000000'
    assert gen['shard_layout'] == {'V0': {'num_shards': 1, 'version': 0}}
    assert gen['gas_limit'] == 1000000000000000 and gen['min_gas_price'] == '100000000'
    assert gen['protocol_version'] == 73 and gen['genesis_height'] == 0


def test_num_shards(home):
    init_local(home, 'simnet', True, '--num-shards', '3')
    gen = load_json(home / 'genesis.json')
    assert gen['shard_layout']['V1']['boundary_accounts'] == ['shard1.test.near',
                                                            'shard2.test.near']
    assert gen['num_block_producer_seats_per_shard'] == [50, 50, 50]


def test_comments_and_unknown_fields(home, sim_nodes):
    init_local(home)
    edit_config(home, lambda c: c.update(foo=1, bar={'x': 1},
                                         sim={'sync_blocks_per_sec': 500}))
    path = home / 'config.json'
    text = open(path).read()
    text = '// neard allows comments\n# hash too\n' + text.replace(
        '"archive_placeholder"', '').replace('{', '{ /* block */', 1)
    open(path, 'w').write(text)
    node = sim_nodes(home)
    log = wait_log(node, 'encountered unrecognised')
    assert f' WARN neard: {path}: encountered unrecognised fields: foo, bar\n' in log
    assert node.height() >= 0


def test_single_unknown_field_is_singular(home, sim_nodes):
    init_local(home)
    edit_config(home, lambda c: c['network'].update(frobs=1))
    node = sim_nodes(home)
    log = wait_log(node, 'encountered unrecognised')
    assert f'{home}/config.json: encountered unrecognised field: network.frobs\n' in log


def test_broken_config_panics_with_position(home):
    init_local(home)
    with open(home / 'config.json', 'a') as fh:
        fh.write('\n,,,')
    r = run_sim(home, 'run')
    assert r.returncode == -6  # SIGABRT: neard is built with panic = 'abort'
    assert r.stderr.startswith("thread 'main' panicked at neard/src/cli.rs:1:1:\n"
                               "Error loading config: config.json file issue: Failed to "
                               f"deserialize config from {home}/config.json: "
                               f"{home}/config.json:")
    lines = open(home / 'config.json').read().count('\n')
    assert f'config.json:{lines + 1}:' in r.stderr


def test_config_with_wrong_type_panics(home):
    init_local(home)
    edit_config(home, lambda c: c.update(archive='yes'))
    r = run_sim(home, 'run')
    assert r.returncode == -6
    assert 'Error loading config: ' in r.stderr
    assert 'archive: invalid type, expected a boolean' in r.stderr


def test_custom_store_path(home, sim_nodes):
    init_local(home)
    edit_config(home, lambda c: c['store'].update(path='mydb'))
    node = sim_nodes(home)
    node.wait_synced()
    assert os.path.exists(home / 'mydb' / 'CURRENT')
    assert not os.path.exists(home / 'data')
    log = node.log()
    assert f'INFO db: Creating a new RocksDB database path={home}/mydb\n' in log


def test_missing_node_key_panics(home):
    init_local(home)
    os.unlink(home / 'node_key.json')
    r = run_sim(home, 'run')
    assert r.returncode == -6
    assert 'Error loading config:' in r.stderr


def test_sim_knobs_http_status_mode_validated(home):
    init_local(home)
    edit_config(home, lambda c: c.update(sim={'http_status_mode': 'bogus'}))
    r = run_sim(home, 'run')
    assert r.returncode == -6
    assert 'sim.http_status_mode: expected "2.4" or "legacy"' in r.stderr
    json.dumps(load_json(home / 'config.json'))


@pytest.mark.parametrize('value,msg', [
    (0, 'sim.http_keep_alive_ms: 0 is out of range [1, 86400000]'),
    ('5s', 'sim.http_keep_alive_ms: invalid type, expected an unsigned integer'),
])
def test_sim_knob_http_keep_alive_validated(home, value, msg):
    init_local(home)
    edit_config(home, lambda c: c.update(sim={'http_keep_alive_ms': value}))
    r = run_sim(home, 'run')
    assert r.returncode == -6
    assert f'{home}/config.json: {msg}' in r.stderr
