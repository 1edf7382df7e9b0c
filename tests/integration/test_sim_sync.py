"""Sync state machine: AwaitingPeers, BlockSync, StateSync, NoSync, restart."""
import datetime
import os
import re
import time

from conftest import edit_config, edit_genesis, init_local, wait_log, wait_until


def rfc3339(ts):
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return dt.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def age_chain(home, seconds, epoch_length=None):
    """Moves genesis_time into the past so the network head runs ahead."""
    def fn(g):
        g['genesis_time'] = rfc3339(time.time() - seconds)
        if epoch_length:
            g['epoch_length'] = epoch_length
    edit_genesis(home, fn)


def quick_stats(c, **sim):
    c['log_summary_period'] = {'secs': 1, 'nanos': 0}
    if sim:
        c['sim'] = sim


def sync_status_metric(node):
    _, _, body = node.get('/metrics')
    m = re.search(rb'^near_sync_status (\d+)', body, re.M)
    return int(m.group(1)) if m else None


def test_block_sync_then_follow(home, sim_nodes):
    init_local(home)
    age_chain(home, 100 * 0.12, epoch_length=10000)  # ~100 blocks behind, no state sync
    edit_config(home, lambda c: quick_stats(c, sync_blocks_per_sec=40))
    node = sim_nodes(home)
    st = node.status()['sync_info']
    assert st['syncing'] is True
    assert node.get('/health')[0] == 503
    assert sync_status_metric(node) == 7  # BlockSync
    log = wait_log(node, 'Downloading blocks')
    assert re.search(r' INFO stats: # +\d+ Downloading blocks \d+\.\d\d% \(\d+ left; at \d+\)', log)
    node.wait_synced(timeout=20)
    assert node.get('/health')[0] == 200
    assert sync_status_metric(node) == 0
    h1 = node.height()
    wait_until(lambda: node.height() >= h1 + 5, 5, what='head follows the clock')
    log = wait_log(node, 'Validator | 1 validator')
    assert re.search(r' INFO stats: # +\d+ +[1-9A-HJ-NP-Za-km-z]{32,44} Validator \| 1 validator '
                     r'0 peers ⬇ \d+ B/s ⬆ \d+ B/s \d+\.\d\d bps 0 gas/s CPU: \d+%, Mem: ', log)


def test_state_sync_jumps_to_current_epoch(home, sim_nodes):
    init_local(home)
    age_chain(home, 3600, epoch_length=60)  # ~30000 blocks: more than two epochs
    edit_config(home, lambda c: quick_stats(c))
    node = sim_nodes(home)
    assert sync_status_metric(node) == 5  # StateSync
    assert node.status()['sync_info']['syncing'] is True
    node.wait_synced(timeout=20)
    info = node.status()['sync_info']
    assert info['earliest_block_height'] % 60 == 1  # first block of an epoch
    assert info['earliest_block_height'] > 29000
    assert info['latest_block_height'] >= info['earliest_block_height']


def test_archival_node_block_syncs_everything(home, sim_nodes):
    init_local(home)
    age_chain(home, 200, epoch_length=60)  # ~1666 blocks
    edit_config(home, lambda c: quick_stats(c, sync_blocks_per_sec=5000))
    node = sim_nodes(home, extra_args=['--archive'])
    node.wait_synced(timeout=20)
    info = node.status()['sync_info']
    assert info['earliest_block_height'] == 0
    assert info['latest_block_height'] > 1600


def test_awaiting_peers_until_min_num_peers(home, sim_nodes):
    init_local(home)
    edit_config(home, lambda c: (quick_stats(c), c['network'].update(skip_sync_wait=False),
                                 c['consensus'].update(min_num_peers=1)))
    node = sim_nodes(home)
    assert sync_status_metric(node) == 1  # AwaitingPeers
    log = wait_log(node, 'Waiting for peers')
    assert re.search(r' INFO stats: #       0 Waiting for peers 0 peers ⬇', log)
    assert node.status()['sync_info']['syncing'] is True
    assert node.height() == 0
    node.stop()
    node2 = sim_nodes(home, extra_args=['--min-peers', '0'])
    node2.wait_synced(timeout=20)


def test_restart_resumes_from_stored_head(home, sim_nodes):
    init_local(home)
    edit_config(home, lambda c: quick_stats(c, sync_blocks_per_sec=20))
    node = sim_nodes(home, extra_args=['--archive'])
    node.wait_synced()
    wait_until(lambda: node.height() >= 10, 5)
    before = node.height()
    assert node.stop() == 0
    time.sleep(2)  # ~16 blocks are produced while the node is down
    node2 = sim_nodes(home, extra_args=['--archive'])
    info = node2.status()['sync_info']
    assert info['latest_block_height'] >= before
    assert info['earliest_block_height'] == 0
    assert info['syncing'] is True  # catching up the blocks missed while stopped
    log = wait_log(node2, 'Downloading blocks').split('INFO neard: version=')[-1]
    at = [int(x) for x in re.findall(r'Downloading blocks [\d.]+% \(\d+ left; at (\d+)\)', log)]
    assert at and min(at) >= before  # resumed, not restarted from genesis
    assert 'INFO db: Opening an existing RocksDB database' in log
    node2.wait_synced()


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def test_block_payload_grows_the_data_dir(home, sim_nodes):
    init_local(home)
    age_chain(home, 100 * 0.12, epoch_length=10000)
    payload = 100000
    edit_config(home, lambda c: quick_stats(c, sync_blocks_per_sec=2000,
                                            block_payload_bytes=payload))
    node = sim_nodes(home, extra_args=['--archive'])
    node.wait_synced()
    head = node.height()
    assert node.stop() == 0
    size = dir_size(home / 'data')
    # incompressible: RocksDB cannot shrink the payload below its raw size
    assert size >= head * payload, (size, head)
    assert size < (head + 40) * payload * 2
