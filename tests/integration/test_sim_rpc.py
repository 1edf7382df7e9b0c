"""neard-sim JSON-RPC methods: status, health, block, chunk, gas_price,
validators, network_info, protocol/genesis config, query and the
transaction family, with exact shapes and values.

Transactions are built and signed here (Borsh + a pure-Python ed25519, so
the tests need nothing beyond the standard library)."""
import base64
import hashlib
import json
import struct
import time

import pytest

from conftest import SimNode, init_local, load_json, wait_until, edit_config

# ---- base58 and ed25519 (RFC 8032 reference arithmetic) ----

B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'


def b58encode(data):
    n = int.from_bytes(data, 'big')
    out = ''
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return '1' * (len(data) - len(data.lstrip(b'\0'))) + out


def b58decode(text):
    n = 0
    for ch in text:
        n = n * 58 + B58.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return b'\0' * (len(text) - len(text.lstrip('1'))) + raw


P = 2 ** 255 - 19
Q = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    A = (a[1] - a[0]) * (b[1] - b[0]) % P
    Bv = (a[1] + a[0]) * (b[1] + b[0]) % P
    C = 2 * a[3] * b[3] * D % P
    Dv = 2 * a[2] * b[2] % P
    E, F, G, H = Bv - A, Dv - C, Dv + C, Bv + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, pt):
    acc = (0, 1, 1, 0)
    while s:
        if s & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        s >>= 1
    return acc


def _compress(pt):
    zi = pow(pt[2], P - 2, P)
    x, y = pt[0] * zi % P, pt[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, 'little')


def _base():
    y = 4 * pow(5, P - 2, P) % P
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if x & 1:
        x = P - x
    return (x, y, 1, x * y % P)


G = _base()


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], 'little')
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed25519_sign(seed, msg):
    a, prefix = _expand(seed)
    pub = _compress(_mul(a, G))
    r = int.from_bytes(hashlib.sha512(prefix + msg).digest(), 'little') % Q
    R = _compress(_mul(r, G))
    h = int.from_bytes(hashlib.sha512(R + pub + msg).digest(), 'little') % Q
    return R + ((r + h * a) % Q).to_bytes(32, 'little')


def ed25519_public(seed):
    return _compress(_mul(_expand(seed)[0], G))


# ---- Borsh transactions ----

def _s(text):
    raw = text.encode()
    return struct.pack('<I', len(raw)) + raw


def _u128(v):
    return v.to_bytes(16, 'little')


def _pk(pub):
    return b'\0' + pub


def transfer(amount):
    return b'\x03' + _u128(amount)


def create_account():
    return b'\x00'


def deploy(code):
    return b'\x01' + struct.pack('<I', len(code)) + code


def add_full_key(pub):
    return b'\x05' + _pk(pub) + struct.pack('<Q', 0) + b'\x01'


def signed_tx(seed, signer, receiver, nonce, actions, sign=True):
    """Returns (base64 SignedTransaction, base58 tx hash)."""
    pub = ed25519_public(seed)
    body = (_s(signer) + _pk(pub) + struct.pack('<Q', nonce) + _s(receiver) + b'\7' * 32 +
            struct.pack('<I', len(actions)) + b''.join(actions))
    digest = hashlib.sha256(body).digest()
    sig = ed25519_sign(seed, digest) if sign else b'\1' * 64
    return base64.b64encode(body + b'\0' + sig).decode(), b58encode(digest)


def key_seed(key_file):
    """The 32-byte ed25519 seed of a NEAR key file."""
    secret = load_json(key_file)['secret_key'].split(':', 1)[1]
    return b58decode(secret)[:32]


# ---- fixtures ----

@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    home = tmp_path_factory.mktemp('rpc') / 'home'
    init_local(home)
    edit_config(home, lambda c: c['rpc']['polling_config'].update(
        {'polling_timeout': {'secs': 1, 'nanos': 0}}))
    node = SimNode(home).start()
    node.wait_synced()
    wait_until(lambda: node.height() >= 4, what='a few blocks')
    yield node
    assert node.stop() == 0, node.log()  # a sanitizer finding exits non-zero


def result(node, method, params=None):
    return node.result(method, params)


# ---- status, health, network ----

STATUS_KEYS = {'version', 'chain_id', 'genesis_hash', 'protocol_version',
               'latest_protocol_version', 'rpc_addr', 'validators', 'sync_info',
               'validator_account_id', 'validator_public_key', 'node_public_key', 'node_key',
               'uptime_sec'}
SYNC_KEYS = {'latest_block_hash', 'latest_block_height', 'latest_state_root',
             'latest_block_time', 'syncing', 'earliest_block_hash', 'earliest_block_height',
             'earliest_block_time', 'epoch_id', 'epoch_start_height'}


def test_status_shape(sim):
    st = sim.status()
    assert set(st) == STATUS_KEYS
    assert set(st['sync_info']) == SYNC_KEYS
    assert st['version'] == {'version': '2.4.0', 'build': 'sim', 'rustc_version': '1.82.0'}
    assert st['chain_id'] == 'simnet'
    assert st['protocol_version'] == 73 and st['latest_protocol_version'] == 73
    assert st['rpc_addr'] == sim.rpc_addr
    assert st['validators'] == [{'account_id': 'test.near', 'is_slashed': False}]
    vkey = load_json(f'{sim.home}/validator_key.json')
    nkey = load_json(f'{sim.home}/node_key.json')
    assert st['validator_account_id'] == 'test.near'
    assert st['validator_public_key'] == vkey['public_key'] == st['node_key']
    assert st['node_public_key'] == nkey['public_key']
    si = st['sync_info']
    assert si['syncing'] is False
    assert si['earliest_block_height'] == 0
    assert si['earliest_block_hash'] == st['genesis_hash']
    assert si['latest_block_time'].endswith('Z') and len(si['latest_block_time']) == 30
    assert isinstance(st['uptime_sec'], int) and st['uptime_sec'] >= 0


def test_get_status_matches_jsonrpc(sim):
    status, headers, body = sim.get('/status')
    assert status == 200 and headers['content-type'] == 'application/json'
    got = json.loads(body)
    assert set(got) == STATUS_KEYS
    assert got['genesis_hash'] == sim.status()['genesis_hash']


def test_health_ok(sim):
    assert sim.rpc('health', []) == (200, {'jsonrpc': '2.0', 'result': None, 'id': 'dontcare'})
    assert sim.get('/health')[0::2] == (200, b'null')


def test_network_info(sim):
    info = result(sim, 'network_info')
    assert info == {'active_peers': [], 'num_active_peers': 0, 'peer_max_count': 40,
                    'sent_bytes_per_sec': 0, 'received_bytes_per_sec': 0,
                    'known_producers': []}
    status, _, body = sim.get('/network_info')
    assert status == 200 and json.loads(body)['peer_max_count'] == 40


# ---- chain views ----

def test_block_references(sim):
    final = result(sim, 'block', {'finality': 'final'})
    h = final['header']['height']
    by_height = result(sim, 'block', {'block_id': h})
    by_hash = result(sim, 'block', {'block_id': final['header']['hash']})
    legacy = result(sim, 'block', [h])
    assert by_height == by_hash == legacy == final
    assert final['author'] == 'test.near'
    assert final['header']['prev_height'] == h - 1
    prev = result(sim, 'block', {'block_id': h - 1})
    assert final['header']['prev_hash'] == prev['header']['hash']
    assert final['header']['timestamp_nanosec'] == str(final['header']['timestamp'])
    assert len(final['chunks']) == 1 and final['chunks'][0]['shard_id'] == 0
    genesis = result(sim, 'block', {'sync_checkpoint': 'genesis'})
    assert genesis['header']['height'] == 0
    assert genesis['header']['hash'] == sim.status()['genesis_hash']
    earliest = result(sim, 'block', {'sync_checkpoint': 'earliest_available'})
    assert earliest['header']['height'] == 0


def test_chunk(sim):
    blk = result(sim, 'block', {'finality': 'final'})
    chunk_hash = blk['chunks'][0]['chunk_hash']
    by_id = result(sim, 'chunk', {'chunk_id': chunk_hash})
    by_block = result(sim, 'chunk', {'block_id': blk['header']['height'], 'shard_id': 0})
    assert by_id == by_block
    assert by_id['header']['chunk_hash'] == chunk_hash
    assert by_id['transactions'] == [] and by_id['receipts'] == []


def test_gas_price(sim):
    blk = result(sim, 'block', {'finality': 'final'})
    want = {'gas_price': '100000000'}
    assert result(sim, 'gas_price', [None]) == want
    assert result(sim, 'gas_price', [blk['header']['height']]) == want
    assert result(sim, 'gas_price', [blk['header']['hash']]) == want


def test_validators(sim):
    latest = result(sim, 'validators', [None])
    assert result(sim, 'validators', 'latest')['epoch_start_height'] == \
        latest['epoch_start_height']
    v = latest['current_validators'][0]
    assert v['account_id'] == 'test.near' and v['is_slashed'] is False
    assert v['public_key'] == load_json(f'{sim.home}/validator_key.json')['public_key']
    assert v['stake'] == '50000000000000000000000000000000'
    assert latest['next_validators'][0]['account_id'] == 'test.near'
    assert latest['current_fishermen'] == [] and latest['prev_epoch_kickout'] == []
    blk = result(sim, 'block', {'finality': 'final'})
    by_epoch = result(sim, 'validators', {'epoch_id': blk['header']['epoch_id']})
    by_block = result(sim, 'validators', {'block_id': blk['header']['height']})
    assert by_epoch['epoch_start_height'] == by_block['epoch_start_height']


def test_protocol_and_genesis_config(sim):
    proto = result(sim, 'EXPERIMENTAL_protocol_config', {'finality': 'final'})
    assert proto['protocol_version'] == 73
    assert proto['chain_id'] == 'simnet' and proto['epoch_length'] == 60
    assert proto['runtime_config']['storage_amount_per_byte'] == '10000000000000000000'
    gen = result(sim, 'EXPERIMENTAL_genesis_config')
    on_disk = load_json(f'{sim.home}/genesis.json')
    del on_disk['records']
    assert gen == on_disk


# ---- query ----

def query(sim, **params):
    params.setdefault('finality', 'final')
    return result(sim, 'query', params)


def test_view_account_and_keys(sim):
    acct = query(sim, request_type='view_account', account_id='near')
    assert acct['amount'] == '1000000000000000000000000000000000'
    assert acct['locked'] == '0' and acct['code_hash'] == '1' * 32
    assert acct['storage_paid_at'] == 0
    assert acct['block_height'] == sim.height() - 2 or acct['block_height'] < sim.height()
    pk = load_json(f'{sim.home}/validator_key.json')['public_key']
    key = query(sim, request_type='view_access_key', account_id='test.near', public_key=pk)
    assert key['permission'] == 'FullAccess' and key['nonce'] >= 0
    keys = query(sim, request_type='view_access_key_list', account_id='test.near')
    assert keys['keys'][0]['public_key'] == pk
    # neard's legacy quirk: unknown key is a *result* carrying "error".
    other = 'ed25519:' + b58encode(ed25519_public(b'\5' * 32))
    missing = query(sim, request_type='view_access_key', account_id='test.near', public_key=other)
    assert missing['error'] == f'access key {other} does not exist while viewing'
    assert missing['logs'] == [] and 'block_hash' in missing


def test_call_function_without_code_quirk(sim):
    r = query(sim, request_type='call_function', account_id='near', method_name='echo',
              args_base64='')
    assert r['error'] == ('wasm execution failed with error: CompilationError(CodeDoesNotExist '
                          '{ account_id: "near" })')
    assert r['logs'] == []


# ---- transactions ----

def test_transfer_commit_and_states(sim):
    seed = key_seed(f'{sim.home}/validator_key.json')
    before = query(sim, request_type='view_account', account_id='near', finality='optimistic')
    tx, tx_hash = signed_tx(seed, 'test.near', 'near', 1, [transfer(10 ** 24)])
    out = result(sim, 'broadcast_tx_commit', [tx])
    assert out['final_execution_status'] == 'EXECUTED_OPTIMISTIC'
    assert out['status'] == {'SuccessValue': ''}
    assert out['transaction']['hash'] == tx_hash
    assert out['transaction']['actions'] == [{'Transfer': {'deposit': str(10 ** 24)}}]
    assert out['transaction_outcome']['id'] == tx_hash
    receipt = out['receipts_outcome'][0]
    assert out['transaction_outcome']['outcome']['receipt_ids'] == [receipt['id']]
    assert receipt['outcome']['executor_id'] == 'near'
    after = query(sim, request_type='view_account', account_id='near', finality='optimistic')
    assert int(after['amount']) - int(before['amount']) == 10 ** 24
    # tx by hash and sender (object and legacy array) sees the same outcome.
    final = result(sim, 'tx', {'tx_hash': tx_hash, 'sender_account_id': 'test.near',
                               'wait_until': 'FINAL'})
    assert final['final_execution_status'] == 'FINAL'
    assert final['transaction_outcome'] == out['transaction_outcome']
    legacy = result(sim, 'EXPERIMENTAL_tx_status', [tx_hash, 'test.near'])
    assert legacy['final_execution_status'] == 'FINAL'
    # Resubmitting the same transaction is idempotent.
    again = result(sim, 'broadcast_tx_commit', [tx])
    assert again['transaction_outcome'] == out['transaction_outcome']


def test_send_tx_wait_until_and_async(sim):
    seed = key_seed(f'{sim.home}/validator_key.json')
    tx, tx_hash = signed_tx(seed, 'test.near', 'near', 2, [transfer(5)])
    assert result(sim, 'send_tx', {'signed_tx_base64': tx, 'wait_until': 'NONE'}) == \
        {'final_execution_status': 'NONE'}
    incl = result(sim, 'tx', {'tx_hash': tx_hash, 'sender_account_id': 'test.near',
                              'wait_until': 'INCLUDED'})
    assert incl['final_execution_status'] in ('INCLUDED', 'EXECUTED_OPTIMISTIC', 'EXECUTED',
                                              'FINAL')
    tx3, hash3 = signed_tx(seed, 'test.near', 'near', 3, [transfer(5)])
    assert result(sim, 'broadcast_tx_async', [tx3]) == hash3
    done = result(sim, 'send_tx', {'signed_tx_base64': tx3, 'wait_until': 'EXECUTED'})
    assert done['final_execution_status'] in ('EXECUTED', 'FINAL')


def test_create_account_add_key_deploy_and_call(sim):
    seed = key_seed(f'{sim.home}/validator_key.json')
    new_seed = b'\x42' * 32
    new_pub = ed25519_public(new_seed)
    tx, _ = signed_tx(seed, 'test.near', 'app.test.near', 10,
                      [create_account(), transfer(10 ** 24), add_full_key(new_pub)])
    out = result(sim, 'broadcast_tx_commit', [tx])
    assert out['status'] == {'SuccessValue': ''}
    acct = query(sim, request_type='view_account', account_id='app.test.near',
                 finality='optimistic')
    assert acct['amount'] == str(10 ** 24)
    # The new key signs for the new account: deploy code, then call the built-ins.
    tx2, _ = signed_tx(new_seed, 'app.test.near', 'app.test.near', 1, [deploy(b'\0asm\1')])
    assert result(sim, 'broadcast_tx_commit', [tx2])['status'] == {'SuccessValue': ''}
    code_hash = b58encode(hashlib.sha256(b'\0asm\1').digest())
    assert query(sim, request_type='view_account', account_id='app.test.near',
                 finality='optimistic')['code_hash'] == code_hash
    args = base64.b64encode(b'{"x":1}').decode()
    echo = query(sim, request_type='call_function', account_id='app.test.near',
                 method_name='echo', args_base64=args, finality='optimistic')
    assert bytes(echo['result']) == b'{"x":1}'
    who = query(sim, request_type='call_function', account_id='app.test.near',
                method_name='account_id', args_base64='', finality='optimistic')
    assert bytes(who['result']) == b'"app.test.near"'
    nope = query(sim, request_type='call_function', account_id='app.test.near',
                 method_name='nope', args_base64='', finality='optimistic')
    assert nope['error'] == 'wasm execution failed with error: MethodResolveError(MethodNotFound)'


def test_transfer_to_missing_account_fails_in_receipt(sim):
    seed = key_seed(f'{sim.home}/validator_key.json')
    tx, _ = signed_tx(seed, 'test.near', 'ghost.test.near', 20, [transfer(1)])
    out = result(sim, 'broadcast_tx_commit', [tx])
    assert out['status'] == {'Failure': {'ActionError': {
        'index': 0, 'kind': {'AccountDoesNotExist': {'account_id': 'ghost.test.near'}}}}}


def test_unknown_tx_times_out(sim):
    start = time.monotonic()
    status, reply = sim.rpc('tx', {'tx_hash': b58encode(b'\1' * 32),
                                   'sender_account_id': 'test.near'})
    assert time.monotonic() - start >= 0.9  # polling_timeout is 1 s in this module
    assert status == 408
    assert reply['error'] == {'name': 'HANDLER_ERROR', 'cause': {'name': 'TIMEOUT_ERROR'},
                              'code': -32000, 'message': 'Server error', 'data': 'Timeout'}


def test_state_survives_restart(tmp_path, sim_nodes):
    """Accounts changed by transactions and tx records live in the store."""
    home = tmp_path / 'home'
    init_local(home)
    node = sim_nodes(home)
    node.wait_synced()
    seed = key_seed(f'{home}/validator_key.json')
    tx, tx_hash = signed_tx(seed, 'test.near', 'kept.test.near', 1,
                            [create_account(), transfer(777)])
    assert result(node, 'broadcast_tx_commit', [tx])['status'] == {'SuccessValue': ''}
    assert node.stop() == 0, node.log()
    node = sim_nodes(home)
    node.wait_synced()
    acct = query(node, request_type='view_account', account_id='kept.test.near',
                 finality='optimistic')
    assert acct['amount'] == '777'
    again = result(node, 'tx', [tx_hash, 'test.near'])
    assert again['transaction']['hash'] == tx_hash
    assert node.stop() == 0, node.log()
