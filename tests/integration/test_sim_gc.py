"""Garbage collection: earliest_block_height moves on non-archival nodes
(gc_num_epochs_to_keep, effective minimum 3) and stays put on archival ones."""
from conftest import edit_config, edit_genesis, init_local, wait_until

EPOCH = 5


def small_epochs(home, **cfg):
    init_local(home)
    edit_genesis(home, lambda g: g.update(epoch_length=EPOCH))
    edit_config(home, lambda c: c.update(**cfg))


def block(node, height):
    return node.rpc('block', {'block_id': height})[1]


def test_gc_moves_earliest_and_deletes_blocks(home, sim_nodes):
    small_epochs(home, gc_num_epochs_to_keep=1)  # effective: 3 epochs
    node = sim_nodes(home)
    node.wait_synced()
    info = wait_until(lambda: (lambda s: s if s['earliest_block_height'] > 1 else None)(
        node.status()['sync_info']), 15, what='earliest_block_height to move')
    earliest, head = info['earliest_block_height'], info['latest_block_height']
    assert earliest % EPOCH == 1  # GC stops at an epoch boundary (genesis height 0)
    # the head's epoch plus two before it are kept
    assert 2 * EPOCH < head - earliest + 1 <= 3 * EPOCH
    assert 'error' in block(node, 1)
    assert block(node, earliest)['result']['header']['height'] == earliest
    e2 = wait_until(lambda: (lambda e: e if e > earliest else None)(
        node.status()['sync_info']['earliest_block_height']), 10, what='GC to continue')
    assert (e2 - earliest) % EPOCH == 0


def test_gc_num_epochs_to_keep_is_honoured(home, sim_nodes):
    small_epochs(home, gc_num_epochs_to_keep=5)
    node = sim_nodes(home)
    info = wait_until(lambda: (lambda s: s if s['earliest_block_height'] > 1 else None)(
        node.status()['sync_info']), 20, what='earliest_block_height to move')
    assert 4 * EPOCH < info['latest_block_height'] - info['earliest_block_height'] + 1 \
        <= 5 * EPOCH


def test_archival_keeps_everything(home, sim_nodes):
    small_epochs(home, gc_num_epochs_to_keep=1, archive=True)
    node = sim_nodes(home)
    wait_until(lambda: node.height() > 6 * EPOCH, 15, what='several epochs')
    assert node.status()['sync_info']['earliest_block_height'] == 0
    assert block(node, 1)['result']['header']['height'] == 1


def test_gc_survives_restart(home, sim_nodes):
    small_epochs(home, gc_num_epochs_to_keep=3)
    node = sim_nodes(home)
    info = wait_until(lambda: (lambda s: s if s['earliest_block_height'] > 1 else None)(
        node.status()['sync_info']), 15, what='earliest_block_height to move')
    assert node.stop() == 0
    node2 = sim_nodes(home)
    assert node2.status()['sync_info']['earliest_block_height'] >= info['earliest_block_height']
    assert 'error' in block(node2, 1)
