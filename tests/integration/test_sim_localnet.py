"""`neard-sim localnet`: the node directories nearcore's localnet writes."""
import os

from conftest import load_json, localnet_node, run_sim

FILES = ['config.json', 'genesis.json', 'log_config.json', 'node_key.json', 'validator_key.json']


def make(home, *args):
    r = run_sim(home, 'localnet', *args)
    assert r.returncode == 0, r.stderr
    return r


def test_roles_files_and_wiring(home):
    make(home, '-v', '2', '-n', '1', '--non-validators-rpc', '1',
         '--non-validators-archival', '1')
    names = [f'node{i}' for i in range(5)]
    assert sorted(os.listdir(home)) == names
    cfgs = {n: load_json(home / n / 'config.json') for n in names}
    gens = {n: open(home / n / 'genesis.json', 'rb').read() for n in names}
    assert len(set(gens.values())) == 1  # one shared genesis, same genesis_time
    gen = load_json(home / 'node0' / 'genesis.json')
    assert [v['account_id'] for v in gen['validators']] == ['node0', 'node1']
    accounts = [r['Account']['account_id'] for r in gen['records'] if 'Account' in r]
    assert accounts[:5] == names
    node0_pk = load_json(home / 'node0' / 'node_key.json')['public_key']
    ports = set()
    for i, n in enumerate(names):
        assert sorted(os.listdir(home / n)) == FILES
        c = cfgs[n]
        assert c['rpc']['enable_debug_rpc'] is True
        assert c['consensus']['min_num_peers'] == 3
        assert c['network']['skip_sync_wait'] is False
        assert c['consensus']['min_block_production_delay'] == {'secs': 0, 'nanos': 600000000}
        assert c['consensus']['max_block_production_delay'] == {'secs': 2, 'nanos': 0}
        assert c['network']['addr'].startswith('127.0.0.1:')
        ports.update([c['network']['addr'], c['rpc']['addr']])
        expect_boot = '' if i == 0 else f"{node0_pk}@{cfgs['node0']['network']['addr']}"
        assert c['network']['boot_nodes'] == expect_boot
    assert len(ports) == 10
    assert cfgs['node2'].get('archive') is True  # archival after validators
    assert cfgs['node3'].get('archive') is None and cfgs['node3']['tracked_shards_config'] == \
        'AllShards'
    assert cfgs['node4'].get('archive') is None


def test_keys_are_seeded_by_directory_name(home, tmp_path):
    other = tmp_path / 'other'
    make(home, '-v', '2')
    make(other, '-v', '2')
    for n in ('node0', 'node1'):
        v = load_json(home / n / 'validator_key.json')
        k = load_json(home / n / 'node_key.json')
        assert v['account_id'] == n and k['account_id'] == 'node'
        assert v['public_key'] == k['public_key']
        assert v == load_json(other / n / 'validator_key.json')
    assert load_json(home / 'node0' / 'node_key.json')['public_key'] != \
        load_json(home / 'node1' / 'node_key.json')['public_key']


def test_single_validator_skips_sync_wait(home):
    make(home, '-v', '1')
    c = load_json(home / 'node0' / 'config.json')
    assert c['network']['skip_sync_wait'] is True
    assert c['consensus']['min_num_peers'] == 0


def test_prefix_shards_and_tracked_shards(home):
    make(home, '-v', '1', '-n', '1', '--prefix', 'val', '--shards', '2',
         '--tracked-shards', '1')
    assert sorted(os.listdir(home)) == ['val0', 'val1']
    gen = load_json(home / 'val0' / 'genesis.json')
    assert gen['num_block_producer_seats_per_shard'] == [50, 50]
    assert load_json(home / 'val1' / 'config.json')['tracked_shards_config'] == \
        {'Shards': [{'shard_id': 1, 'version': 0}]}
    make(home, '-v', '1', '--tracked-shards', 'none')
    assert load_json(home / 'node0' / 'config.json')['tracked_shards_config'] == 'NoShards'


def test_bad_tracked_shards(home):
    r = run_sim(home, 'localnet', '-v', '1', '--tracked-shards', 'x')
    assert r.returncode == 1
    assert 'Shard id must be an integer' in r.stderr


def tree(home):
    """Every node's config.json and genesis.json minus what differs per run
    (random ports, boot node addresses, genesis time)."""
    out = {}
    for n in sorted(os.listdir(home)):
        c = load_json(home / n / 'config.json')
        for k in ('addr', 'boot_nodes'):
            c['network'].pop(k)
        c['rpc'].pop('addr')
        g = load_json(home / n / 'genesis.json')
        g.pop('genesis_time')
        out[n] = (c, g)
    return out


def test_older_neard_spellings(home, tmp_path):
    """--v and --n are clap aliases of --validators and --non-validators
    (operator tools written for older neard pass them), with the same
    meaning; --archival-nodes and --fixed-shards are older neard's flags."""
    make(home, '--v', '2', '--n=1')
    canon = tmp_path / 'canon'
    make(canon, '--validators', '2', '--non-validators', '1')
    assert sorted(os.listdir(home)) == ['node0', 'node1', 'node2']
    assert tree(home) == tree(canon)
    gen = load_json(home / 'node0' / 'genesis.json')
    assert [v['account_id'] for v in gen['validators']] == ['node0', 'node1']

    old = tmp_path / 'old'
    make(old, '--shards', '4', '--v', '4', '--fixed-shards', '--archival-nodes')
    for n in ('node0', 'node1', 'node2', 'node3'):
        c = load_json(old / n / 'config.json')
        assert c['archive'] is True
        layout = load_json(old / n / 'genesis.json')['shard_layout']
        assert layout == {'V1': {'fixed_shards': ['shard0', 'shard1', 'shard2'],
                                 'boundary_accounts': [], 'shards_split_map': None,
                                 'to_parent_shard_map': None, 'version': 1}}
    plain = tmp_path / 'plain'
    make(plain, '--v', '1')
    assert load_json(plain / 'node0' / 'config.json').get('archive') is None


def test_older_spellings_usage_errors(home):
    r = run_sim(home, 'localnet', '--v', 'x')
    assert r.returncode == 2
    assert r.stderr == ("error: invalid value 'x' for '--validators <VALIDATORS>': invalid digit "
                        "found in string\n\nFor more information, try '--help'.\n")
    r = run_sim(home, 'localnet', '--vv', '1')
    assert r.returncode == 2
    assert r.stderr.startswith("error: unexpected argument '--vv' found\n")
    r = run_sim(home, 'localnet', '--fixed-shards=yes')
    assert r.returncode == 2
    assert r.stderr.startswith("error: unexpected value for '--fixed-shards=yes'\n")
    assert not os.path.exists(home / 'node0')


def test_fixed_shards_node_serves_all_shards(home, sim_nodes):
    make(home, '--shards', '3', '--v', '1', '--fixed-shards')
    n = localnet_node(home, 'node0', sim_nodes)
    n.wait_synced()
    block = n.result('block', {'finality': 'final'})
    assert [c['shard_id'] for c in block['chunks']] == [0, 1, 2]
