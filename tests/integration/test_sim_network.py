"""P2P: peers are real connections; a 3-node localnet becomes a full mesh."""
import signal

from conftest import init_local, load_json, localnet_node, run_sim, wait_log, wait_until


def peer_ids(node):
    return sorted(p['id'] for p in node.result('network_info')['active_peers'])


def node_pk(home, name):
    return load_json(home / name / 'node_key.json')['public_key']


def test_three_node_mesh_and_disconnects(home, sim_nodes):
    r = run_sim(home, 'localnet', '-v', '3')
    assert r.returncode == 0, r.stderr
    nodes = [localnet_node(home, f'node{i}', sim_nodes) for i in range(3)]
    pks = [node_pk(home, f'node{i}') for i in range(3)]
    for i, node in enumerate(nodes):
        want = sorted(pk for j, pk in enumerate(pks) if j != i)
        wait_until(lambda: peer_ids(node) == want, 15, what=f'node{i} full mesh')
    info = nodes[1].result('network_info')
    assert info['num_active_peers'] == 2
    assert sorted(p['account_id'] for p in info['active_peers']) == ['node0', 'node2']
    for node in nodes:
        node.wait_synced(timeout=15)  # min_num_peers = 2 is met
    wait_until(lambda: nodes[0].result('network_info')['received_bytes_per_sec'] > 0, 5)
    assert nodes[2].stop(signal.SIGTERM) == 0
    for node in nodes[:2]:
        wait_until(lambda: node.result('network_info')['num_active_peers'] == 1, 10,
                   what='peer dropped on disconnect')
    nodes[2] = localnet_node(home, 'node2', sim_nodes)
    for node in nodes:
        wait_until(lambda: node.result('network_info')['num_active_peers'] == 2, 15,
                   what='peer back after restart')


def test_boot_node_is_retried(home, sim_nodes):
    run_sim(home, 'localnet', '-v', '2')
    n1 = localnet_node(home, 'node1', sim_nodes)
    assert n1.result('network_info')['num_active_peers'] == 0
    log = wait_log(n1, 'Waiting for peers')
    assert 'stats:' in log
    localnet_node(home, 'node0', sim_nodes)
    wait_until(lambda: n1.result('network_info')['num_active_peers'] == 1, 10,
               what='reconnect to the boot node')
    n1.wait_synced(timeout=15)


def test_awaiting_peers_until_enough_peers(home, sim_nodes):
    run_sim(home, 'localnet', '-v', '3')
    n0 = localnet_node(home, 'node0', sim_nodes)
    assert n0.status()['sync_info']['syncing'] is True  # min_num_peers = 2, no peers
    localnet_node(home, 'node1', sim_nodes)
    wait_until(lambda: n0.result('network_info')['num_active_peers'] == 1, 10)
    assert n0.status()['sync_info']['syncing'] is True
    localnet_node(home, 'node2', sim_nodes)
    n0.wait_synced(timeout=15)


def test_other_chain_is_rejected(home, tmp_path, sim_nodes):
    run_sim(home, 'localnet', '-v', '1')
    n0 = localnet_node(home, 'node0', sim_nodes)
    boot = f"{node_pk(home, 'node0')}@{n0.net_addr}"
    other = tmp_path / 'other'
    init_local(other, 'othernet')
    o = sim_nodes(other, extra_args=['--boot-nodes', boot])
    o.wait_synced()
    import time
    time.sleep(1.5)
    assert o.result('network_info')['num_active_peers'] == 0
    assert n0.result('network_info')['num_active_peers'] == 0


def test_wrong_boot_node_key_is_rejected(home, tmp_path, sim_nodes):
    run_sim(home, 'localnet', '-v', '2')
    n0 = localnet_node(home, 'node0', sim_nodes)
    n1 = localnet_node(home, 'node1', sim_nodes, start=False)
    wrong = node_pk(home, 'node1')  # node0's address, node1's key
    n1.extra_args = ['--boot-nodes', f'{wrong}@{n0.net_addr}']
    n1.start()
    import time
    time.sleep(1.5)
    assert n1.result('network_info')['num_active_peers'] == 0
