"""neard's JSON-RPC error envelopes, exactly, and their HTTP status both in
nearcore >= 2.4 mode (400/408/422/500) and in the older all-200 mode
(config.json "sim": {"http_status_mode": "legacy"})."""
import base64
import json
import struct

import pytest

from conftest import SimNode, edit_config, init_local, load_json, wait_until

MODES = ['2.4', 'legacy']
EPOCH = 5  # short epochs so GC moves `earliest` within seconds


def _setup_home(home, mode):
    init_local(home)

    def cfg(c):
        c['rpc']['polling_config']['polling_timeout'] = {'secs': 0, 'nanos': 300000000}
        c['gc_num_epochs_to_keep'] = 3
        c['sim'] = {'http_status_mode': mode, 'sync_blocks_per_sec': 20}
    edit_config(home, cfg)
    gen_path = f'{home}/genesis.json'
    gen = load_json(gen_path)
    gen['epoch_length'] = EPOCH
    with open(gen_path, 'w') as fh:
        json.dump(gen, fh, indent=2)


@pytest.fixture(scope='module')
def nodes(tmp_path_factory):
    started = {}
    for mode in MODES:
        home = tmp_path_factory.mktemp('errors-' + mode) / 'home'
        _setup_home(home, mode)
        started[mode] = SimNode(home, sim_control=True).start()
    for node in started.values():
        wait_until(lambda n=node: n.status()['sync_info']['earliest_block_height'] > 0,
                   timeout=30, what='GC past the first blocks')
    yield started
    for node in started.values():
        assert node.stop() == 0, node.log()


@pytest.fixture(params=MODES)
def env(request, nodes):
    return request.param, nodes[request.param]


def expect(mode, status_2_4):
    return status_2_4 if mode == '2.4' else 200


def post(node, body):
    status, _, data = node.request('POST', '/', body=body,
                                   headers={'Content-Type': 'application/json'})
    return status, json.loads(data)


def test_parse_error_bad_json(env):
    mode, node = env
    status, reply = post(node, '{"jsonrpc": "2.0", ')
    assert status == expect(mode, 400)
    err = reply['error']
    assert reply['id'] is None
    assert err['name'] == 'REQUEST_VALIDATION_ERROR'
    assert err['cause']['name'] == 'PARSE_ERROR'
    assert err['code'] == -32700 and err['message'] == 'Parse error'
    assert err['cause']['info'] == {'error_message': err['data']}


def test_unknown_request_field_is_parse_error(env):
    mode, node = env
    status, reply = post(node, json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'status',
                                           'params': [], 'extra': True}))
    assert status == expect(mode, 400)
    assert reply == {'jsonrpc': '2.0', 'error': {
        'name': 'REQUEST_VALIDATION_ERROR',
        'cause': {'name': 'PARSE_ERROR',
                  'info': {'error_message': 'JSON RPC Request format was expected'}},
        'code': -32700, 'message': 'Parse error',
        'data': 'JSON RPC Request format was expected'}, 'id': None}


REQUEST_FORMAT = {'jsonrpc': '2.0', 'error': {
    'name': 'REQUEST_VALIDATION_ERROR',
    'cause': {'name': 'PARSE_ERROR',
              'info': {'error_message': 'JSON RPC Request format was expected'}},
    'code': -32700, 'message': 'Parse error',
    'data': 'JSON RPC Request format was expected'}, 'id': None}


@pytest.mark.parametrize('body', [
    '{"jsonrpc":"2.0","id":1,"method":"status","method":"status","params":[]}',
    '{"jsonrpc":"2.0","id":1,"method":"status","m\\u0065thod":"block","params":[]}',
    '{"jsonrpc":"2.0","id":1,"id":2,"method":"status","params":[]}',
])
def test_repeated_request_field_is_no_request(env, body):
    # serde's Request refuses a repeated field; neard's untagged Message then
    # holds the object as no request at all
    mode, node = env
    status, reply = post(node, body)
    assert status == expect(mode, 400)
    assert reply == REQUEST_FORMAT


def test_repeated_key_inside_params_takes_the_last(env):
    mode, node = env
    h = node.status()['sync_info']['latest_block_height']
    body = ('{"jsonrpc":"2.0","id":7,"method":"block",'
            f'"params":{{"block_id":"nonsense","block_id":{h}}}}}')
    status, reply = post(node, body)
    assert status == 200, reply
    assert reply['id'] == 7 and reply['result']['header']['height'] == h
    batch = ('[{"jsonrpc":"2.0","id":1,"method":"status","params":[]},'
             '{"jsonrpc":"2.0","id":2,"method":"status","method":"status","params":[]}]')
    status, reply = post(node, batch)
    assert status == 200
    assert reply[0]['id'] == 1 and 'result' in reply[0]
    assert reply[1] == REQUEST_FORMAT


def test_method_not_found(env):
    mode, node = env
    status, reply = node.rpc('foo', [])
    assert status == expect(mode, 400)
    assert reply == {'jsonrpc': '2.0', 'error': {
        'name': 'REQUEST_VALIDATION_ERROR',
        'cause': {'name': 'METHOD_NOT_FOUND', 'info': {'method_name': 'foo'}},
        'code': -32601, 'message': 'Method not found', 'data': 'foo'}, 'id': 'dontcare'}


def test_bad_params(env):
    mode, node = env
    status, reply = node.rpc('query', {'request_type': 'view_account', 'finality': 'final'})
    assert status == expect(mode, 400)
    msg = 'Failed parsing args: missing field `account_id`'
    assert reply['error'] == {'name': 'REQUEST_VALIDATION_ERROR',
                              'cause': {'name': 'PARSE_ERROR', 'info': {'error_message': msg}},
                              'code': -32700, 'message': 'Parse error', 'data': msg}


def handler_error(cause, data, info=None):
    c = {'name': cause}
    if info is not None:
        c['info'] = info
    return {'name': 'HANDLER_ERROR', 'cause': c, 'code': -32000, 'message': 'Server error',
            'data': data}


def test_unknown_block_above_head_is_200(env):
    mode, node = env
    status, reply = node.rpc('block', {'block_id': 10 ** 9})
    assert status == 200
    assert reply['error'] == handler_error(
        'UNKNOWN_BLOCK', f'DB Not Found Error: BLOCK HEIGHT: {10 ** 9} \n Cause: Unknown', {})


def test_garbage_collected_block_is_422(env):
    mode, node = env
    status, reply = node.rpc('block', {'block_id': 1})
    assert status == expect(mode, 422)
    assert reply['error'] == handler_error(
        'UNKNOWN_BLOCK', 'DB Not Found Error: BLOCK HEIGHT: 1 \n Cause: Unknown', {})


def test_unknown_block_hash(env):
    mode, node = env
    bogus = '4' * 44
    status, reply = node.rpc('block', {'block_id': bogus})
    assert status == 200
    assert reply['error'] == handler_error(
        'UNKNOWN_BLOCK', f'DB Not Found Error: BLOCK HEADER: {bogus} \n Cause: Unknown', {})


def test_query_garbage_collected_block(env):
    mode, node = env
    status, reply = node.rpc('query', {'request_type': 'view_account', 'block_id': 1,
                                       'account_id': 'near'})
    assert status == 200
    err = reply['error']
    assert err['cause']['name'] == 'GARBAGE_COLLECTED_BLOCK'
    assert err['cause']['info']['block_height'] == 1
    assert len(err['cause']['info']['block_hash']) >= 43
    assert err['data'] == ('The data for block #1 is garbage collected on this node, use an '
                           'archival node to fetch historical data')


def test_query_unknown_block(env):
    mode, node = env
    status, reply = node.rpc('query', {'request_type': 'view_account', 'block_id': 10 ** 9,
                                       'account_id': 'near'})
    assert status == 200
    assert reply['error'] == handler_error(
        'UNKNOWN_BLOCK', f'DB Not Found Error: BLOCK HEIGHT: {10 ** 9} \n Cause: Unknown',
        {'block_reference': {'block_id': 10 ** 9}})


def test_unknown_account_and_no_code(env):
    mode, node = env
    status, reply = node.rpc('query', {'request_type': 'view_account', 'finality': 'final',
                                       'account_id': 'nobody.near'})
    assert status == 200
    err = reply['error']
    assert err['cause']['name'] == 'UNKNOWN_ACCOUNT'
    assert err['cause']['info']['requested_account_id'] == 'nobody.near'
    assert set(err['cause']['info']) == {'requested_account_id', 'block_height', 'block_hash'}
    assert err['data'] == 'account nobody.near does not exist while viewing'
    status, reply = node.rpc('query', {'request_type': 'view_code', 'finality': 'final',
                                       'account_id': 'near'})
    assert reply['error']['cause']['name'] == 'NO_CONTRACT_CODE'
    assert reply['error']['data'] == ('Contract code for contract ID #near has never been '
                                      'observed on the node')


def test_chunk_errors(env):
    mode, node = env
    bogus = '5' * 44
    status, reply = node.rpc('chunk', {'chunk_id': bogus})
    assert status == 200
    assert reply['error'] == handler_error(
        'UNKNOWN_CHUNK',
        f'Chunk Missing (unavailable on the node): ChunkHash(`{bogus}`) \n Cause: Unknown',
        {'chunk_hash': bogus})
    head = node.height()
    status, reply = node.rpc('chunk', {'block_id': head - 1, 'shard_id': 5})
    assert reply['error'] == handler_error('INVALID_SHARD_ID', 'Shard id 5 does not exist',
                                           {'shard_id': 5})


def test_unknown_epoch(env):
    mode, node = env
    status, reply = node.rpc('validators', {'epoch_id': '6' * 44})
    assert status == 200
    assert reply['error'] == handler_error('UNKNOWN_EPOCH', 'Unknown Epoch')


def _tx(signer, sig=b'\1' * 64):
    def s(t):
        return struct.pack('<I', len(t)) + t.encode()
    body = (s(signer) + b'\0' + b'\2' * 32 + struct.pack('<Q', 1) + s('near') + b'\7' * 32 +
            struct.pack('<I', 1) + b'\3' + (5).to_bytes(16, 'little'))
    return base64.b64encode(body + b'\0' + sig).decode()


def test_invalid_transaction(env):
    mode, node = env
    status, reply = node.rpc('broadcast_tx_commit', [_tx('test.near')])
    assert status == 200
    assert reply['error'] == handler_error(
        'INVALID_TRANSACTION', {'TxExecutionError': {'InvalidTxError': 'InvalidSignature'}}, {})


def test_undecodable_transaction(env):
    mode, node = env
    status, reply = node.rpc('broadcast_tx_commit', ['AAAA'])
    assert status == expect(mode, 400)
    assert reply['error']['cause']['name'] == 'PARSE_ERROR'
    assert reply['error']['data'].startswith('Failed to decode transaction: ')


def test_timeout(env):
    mode, node = env
    status, reply = node.rpc('tx', ['7' * 44, 'test.near'])
    assert status == expect(mode, 408)
    assert reply['error'] == handler_error('TIMEOUT_ERROR', 'Timeout')


def test_node_is_syncing(env):
    mode, node = env
    head = node.height()
    earliest = node.status()['sync_info']['earliest_block_height']
    status, _, body = node.request('POST', '/sim/control',
                                   body=json.dumps({'resync_from': max(earliest, head - 40)}))
    assert status == 200, body
    status, reply = node.rpc('health', [])
    assert status == 200
    assert reply['error'] == handler_error('NODE_IS_SYNCING', {'name': 'NODE_IS_SYNCING'})
    node.wait_synced()
    assert node.rpc('health', [])[1]['result'] is None
