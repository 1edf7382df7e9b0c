"""Process lifecycle: signals, expected_shutdown, SIGHUP reload, DB lock."""
import re
import signal

from conftest import edit_config, init_local, run_sim, wait_log, wait_until

STOP_LINES = ('WARN neard: {sig}, stopping... this may take a few minutes.\n',
              'INFO neard: Waiting for RocksDB to gracefully shutdown\n')


def config_correct(node):
    body = node.get('/metrics')[2].decode()
    return int(re.search(r'^near_config_correct (\d+)$', body, re.M).group(1))


def assert_clean_stop(log, sig):
    first, second = (line.format(sig=sig) for line in STOP_LINES)
    assert first in log and second in log
    assert log.index(first) < log.index(second)
    assert 'LeakSanitizer' not in log and 'ERROR: AddressSanitizer' not in log


def test_sigterm_stops_cleanly(home, sim_nodes):
    init_local(home)
    node = sim_nodes(home)
    node.wait_synced()
    assert node.stop(signal.SIGTERM) == 0
    assert_clean_stop(node.log(), 'SIGTERM')


def test_sigint_stops_cleanly(home, sim_nodes):
    init_local(home)
    node = sim_nodes(home)
    node.wait_synced()
    assert node.stop(signal.SIGINT) == 0
    assert_clean_stop(node.log(), 'SIGINT')


def test_expected_shutdown(home, sim_nodes):
    init_local(home)
    edit_config(home, lambda c: c.update(expected_shutdown=25))
    node = sim_nodes(home)
    assert node.proc.wait(20) == 0
    log = node.log()
    m = re.search(r' INFO client: Expected shutdown triggered: head block\((\d+)\) >= \(25\)\n', log)
    assert m and 25 <= int(m.group(1)) <= 27
    assert_clean_stop(log, 'ClientActor died')


def test_sighup_reloads_expected_shutdown(home, sim_nodes):
    init_local(home)
    node = sim_nodes(home)
    node.wait_synced()
    target = node.height() + 10
    edit_config(home, lambda c: c.update(expected_shutdown=target))
    node.send_signal(signal.SIGHUP)
    wait_log(node, 'INFO config: Updated ClientConfig')
    assert node.proc.wait(20) == 0
    assert re.search(rf' INFO client: Expected shutdown triggered: head block\(\d+\) >= '
                     rf'\({target}\)\n', node.log())


def test_sighup_with_broken_config_keeps_running(home, sim_nodes):
    init_local(home)
    node = sim_nodes(home)
    node.wait_synced()
    path = home / 'config.json'
    good = path.read_text()
    path.write_text(good + ' garbage')
    node.send_signal(signal.SIGHUP)
    log = wait_log(node, 'Dynamically updateable configs are not valid')
    assert (f' WARN stats: Dynamically updateable configs are not valid. Please fix this ASAP '
            f'otherwise the node will probably crash after restart: Can\'t open or read the '
            f'config file "{path}": ') in log
    assert config_correct(node) == 0
    h = node.height()
    wait_until(lambda: node.height() > h, 5, what='node still producing')
    path.write_text(good)
    node.send_signal(signal.SIGHUP)
    wait_log(node, 'INFO config: Updated ClientConfig')
    assert config_correct(node) == 1
    assert node.stop() == 0


def test_second_process_on_same_data_dir_fails(home, sim_nodes):
    init_local(home)
    node = sim_nodes(home)
    node.wait_synced()
    r = run_sim(home, 'run', '--rpc-addr', '127.0.0.1:1', '--network-addr', '127.0.0.1:1')
    assert r.returncode == -6
    assert ("thread 'main' panicked at neard/src/cli.rs:1:1:\nstart_with_config: unable to open "
            f"database at {home}/data: ") in r.stderr
    assert 'LOCK' in r.stderr
    assert node.proc.poll() is None
    assert node.stop() == 0


def test_expected_shutdown_applies_while_head_is_not_moving(home, sim_nodes):
    init_local(home)
    edit_config(home, lambda c: (c['network'].update(skip_sync_wait=False),
                                 c['consensus'].update(min_num_peers=1)))
    node = sim_nodes(home)  # AwaitingPeers: the head stays at genesis
    assert node.height() == 0
    edit_config(home, lambda c: c.update(expected_shutdown=0))
    node.send_signal(signal.SIGHUP)
    assert node.proc.wait(10) == 0
    assert 'Expected shutdown triggered: head block(0) >= (0)\n' in node.log()
