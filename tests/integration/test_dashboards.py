"""Grafana dashboards of monitoring/dashboards: what generate.py writes,
valid against the dashboard schema of npm @grafana/schema, templated by data
source, cluster and zone, and every query parses and (unless marked as
showing only during an incident) returns series from a real Prometheus that
scrapes a neard-sim localnet, a gateway in front of it and, where this tree
has them, a canary and the supervisors' metrics."""
import http.client
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from conftest import NEARD_SIM, NEARUP, ROOT, free_port, load_json, wait_until
from gateway_helpers import Gateway, call_body, make_chain
from lifecycle import Nearup, wait_synced
from prometheus_helpers import Prometheus, static_job

MON = os.path.join(ROOT, 'monitoring')
DASH_DIR = os.path.join(MON, 'dashboards')
SCHEMA_PKG = os.path.join(ROOT, 'tools', 's3rver', 'node_modules', '@grafana', 'schema')
VALIDATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'dashboard_schema.cjs')


def load_generator():
    spec = importlib.util.spec_from_file_location('dash_generate',
                                                  os.path.join(DASH_DIR, 'generate.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = load_generator()
DASHBOARDS = gen.dashboards()
FILES = [name for name, _ in DASHBOARDS]


def queries():
    """(dashboard file, panel title, Target) of every query."""
    return [(name, p.title, t) for name, d in DASHBOARDS for p in d.panels() for t in p.targets]


def load(name):
    with open(os.path.join(DASH_DIR, name)) as fh:
        return json.load(fh)


def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          **kw)


# ---- the files ----

def test_dashboards_are_what_the_generator_writes():
    r = run(sys.executable, os.path.join(DASH_DIR, 'generate.py'), '--check')
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(f for f in os.listdir(DASH_DIR) if f.endswith('.json')) == sorted(FILES)
    assert FILES == ['fleet.json', 'node.json', 'gateway.json', 'upstreams.json',
                     'snapshots.json', 'canary.json', 'slo.json']


def validate(*paths):
    assert os.path.isdir(SCHEMA_PKG), '@grafana/schema is not installed: run `make deps`'
    return run('node', VALIDATOR, SCHEMA_PKG, *paths)


def test_every_dashboard_validates_against_the_grafana_schema():
    r = validate(*[os.path.join(DASH_DIR, f) for f in FILES])
    assert (r.returncode, r.stderr) == (0, ''), r.stdout
    assert r.stdout.splitlines() == [f'ok {f}' for f in FILES]


def test_the_validator_finds_what_the_schema_forbids(tmp_path):
    d = load('fleet.json')
    stat = next(p for p in d['panels'] if p['type'] == 'stat')
    series = next(p for p in d['panels'] if p['type'] == 'timeseries')
    timeline = next(p for p in d['panels'] if p['type'] == 'state-timeline')
    stat['options']['textMode'] = 'loud'
    del stat['gridPos']['h']
    series['fieldConfig']['defaults']['custom']['drawStyle'] = 'zigzag'
    series['targets'][0]['query'] = 'up'
    timeline['fieldConfig']['defaults']['mappings'][0]['options']['0']['index'] = 'first'
    d['templating']['list'][1]['refresh'] = 5
    d['graphTooltip'] = 3
    d['schemaVersion'] = 39
    d['style'] = 'dark'
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(d))
    r = validate(path)
    sid, tid, lid = (d['panels'].index(p) for p in (stat, series, timeline))
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        'bad.json: $.graphTooltip: 3 is not a DashboardCursorSync (1, 0, 2)',
        'bad.json: $.templating.list[1].refresh: 5 is not a VariableRefresh (0, 1, 2)',
        'bad.json: $: property style is not in the schema',
        "bad.json: $.schemaVersion: 39, the package's dashboards are 42",
        f'bad.json: $.panels[{sid}].gridPos: required property h is missing',
        f'bad.json: $.panels[{sid}].options.textMode: "loud" is not a BigValueTextMode '
        '("auto", "name", "none", "value", "value_and_name")',
        f'bad.json: $.panels[{tid}].fieldConfig.defaults.custom.drawStyle: "zigzag" is not a '
        'GraphDrawStyle ("bars", "line", "points")',
        f'bad.json: $.panels[{tid}].targets[0]: property query is not in the schema',
        f'bad.json: $.panels[{lid}].fieldConfig.defaults.mappings[0].options.0.index: '
        '"first" is not a number',
    ]


def test_every_dashboard_is_templated_by_datasource_cluster_and_zone():
    uids = set()
    for name in FILES:
        d = load(name)
        uids.add(d['uid'])
        assert d['tags'] == ['nearup'] and d['schemaVersion'] == gen.SCHEMA_VERSION
        tvars = {v['name']: v for v in d['templating']['list']}
        assert list(tvars)[:3] == ['datasource', 'cluster', 'zone'], name
        assert (tvars['datasource']['type'], tvars['datasource']['query']) == \
            ('datasource', 'prometheus')
        for v in list(tvars.values())[1:]:
            assert v['type'] == 'query' and v['datasource'] == gen.DS, (name, v['name'])
            assert re.fullmatch(r'label_values\(\S+, (\w+)\)', v['query']), v['query']
        anchor = re.fullmatch(r'label_values\((\w+), cluster\)', tvars['cluster']['query'])
        assert anchor, tvars['cluster']['query']
        assert tvars['zone']['query'] == f'label_values({anchor[1]}{{cluster=~"$cluster"}}, zone)'
        assert (tvars['zone']['multi'], tvars['zone']['allValue']) == (True, '.*')
        for v in list(tvars.values())[3:]:
            assert '$cluster' in v['query'], (name, v['name'])
        ids = []
        for p in d['panels']:
            ids.append(p['id'])
            pos = p['gridPos']
            assert pos['x'] >= 0 and pos['x'] + pos['w'] <= 24, (name, p['title'])
            if p['type'] in ('row', 'text'):
                continue
            assert p['datasource'] == gen.DS, (name, p['title'])
            for t in p['targets']:
                assert t['datasource'] == gen.DS
        assert len(ids) == len(set(ids)), name
    assert len(uids) == len(FILES)
    for name, panel, t in queries():
        assert '$cluster' in t.expr, (name, panel, t.expr)
        assert t.cluster_wide or '$zone' in t.expr, (name, panel, t.expr)


def test_provisioning_files():
    with open(os.path.join(MON, 'provisioning', 'dashboards.yml')) as fh:
        dash = yaml.safe_load(fh)
    with open(os.path.join(MON, 'provisioning', 'datasources.yml')) as fh:
        ds = yaml.safe_load(fh)
    assert dash['apiVersion'] == 1 and ds['apiVersion'] == 1
    [provider] = dash['providers']
    assert (provider['type'], provider['options']['path']) == \
        ('file', '/var/lib/grafana/dashboards/nearup')
    [source] = ds['datasources']
    assert (source['type'], source['jsonData']['timeInterval']) == ('prometheus', '15s')


# ---- a real Prometheus ----

# What each test variable is set to: Grafana sends a multi-value choice as
# (a|b), "All" as its allValue.
def substitutions(stack):
    values = {
        'cluster': 'test', 'zone': 'z1', 'instance': stack['nodes'][0],
        'gateway': stack['gateway'], 'method': '(status|block)', 'upstream': '(n0|n1)',
        'endpoint': 'gateway', 'check': '(status|final_lag|view_account)', 'slo': '.*',
        'home': stack['home'],
        # Grafana's own: $__rate_interval is at least 4 scrape intervals.
        '__rate_interval': '15s', '__range': '1m',
    }
    return values


def substitute(expr, values):
    out = re.sub(r'\$(\w+)', lambda m: values[m.group(1)], expr)
    assert '$' not in out, out
    return out


# The program that exports a metric, by name; a query is checked against live
# series only when the test runs every program it reads.
SOURCES = [('cluster:near_', 'neard'), ('near_', 'neard'), ('up', 'neard'),
           ('nearup_gateway_', 'gateway'), ('instance_method:nearup_gateway_', 'gateway'),
           ('slo:', 'gateway'), ('nearup_canary_', 'canary'), ('nearup_node_', 'supervisor'),
           ('nearup_snapshot_', 'snapshotter'),
           ('node_', 'node_exporter'), ('ALERTS', 'prometheus')]
KEYWORDS = {'and', 'or', 'unless', 'bool', 'offset'}


def metric_names(expr):
    """The metric names a PromQL expression reads."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r'\{[^}]*\}|\[[^\]]*\]', '', e)
    e = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', '', e)
    return {name for name, call in re.findall(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?', e)
            if not call and name not in KEYWORDS}


def sources(expr):
    out = set()
    for n in metric_names(expr):
        src = next((s for prefix, s in SOURCES if n == prefix or
                    (prefix.endswith(('_', ':')) and n.startswith(prefix))), None)
        assert src, f'no known program exports {n} ({expr})'
        out.add(src)
    return out


def test_queries_name_the_programs_they_read():
    assert metric_names('sum by (method, le) (rate(a_bucket{x="b{c}"}[5m])) / on (cluster) '
                        'group_right () b:c:max{cluster=~"$cluster"} and time() - d') == \
        {'a_bucket', 'b:c:max', 'd'}
    assert sources('max(cluster:near_block_height_head:max) - nearup_node_info') == \
        {'neard', 'supervisor'}
    assert all(sources(t.expr) for _, _, t in queries())


def canary_available():
    return run(NEARUP, 'canary', '--help').returncode == 0


def unknown_tx(account):
    """A transaction lookup neard answers 400 (no such transaction)."""
    return 'tx', {'tx_hash': '1' * 44, 'sender_account_id': account}


def post(port, method, params):
    """The HTTP status of one JSON-RPC call to 127.0.0.1:port."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request('POST', '/', body=call_body(method, params),
                     headers={'Content-Type': 'application/json'})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def traffic(gw, account):
    """One round of calls of every method class through the gateway."""
    calls = [('status', [], 200), ('health', [], 200), ('block', {'finality': 'final'}, 200),
             ('query', {'request_type': 'view_account', 'finality': 'final',
                        'account_id': account}, 200),
             ('gas_price', [None], 200), (*unknown_tx(account), 400)]
    got = [(m, post(gw.port, m, p)) for m, p, _ in calls]
    assert got == [(m, code) for m, _, code in calls]


def supervisor_metrics_available():
    return '--metrics-listen' in run(NEARUP, 'run', '--help').stdout


def run_nodes(nu, tmp, metrics):
    """Two neard-sim nodes of one chain under `nearup run` (supervised), the
    second booting from the first; with metrics, each supervisor serves
    /metrics too. Returns (homes, RPC addresses, supervisor addresses)."""
    homes = make_chain(tmp, 2)
    key = load_json(homes[0] / 'node_key.json')['public_key']
    rpcs, nets, sups = [], [], []
    for i, home in enumerate(homes):
        rpcs.append(f'127.0.0.1:{free_port()}')
        nets.append(f'127.0.0.1:{free_port()}')
        args = ['run', 'simnet', '--home', home, '--binary-path', NEARD_SIM,
                '--rpc-addr', rpcs[i], '--network-addr', nets[i]]
        if i:
            args += ['--boot-nodes', f'{key}@{nets[0]}']
        if metrics:
            sups.append(f'127.0.0.1:{free_port()}')
            args += ['--metrics-listen', sups[i]]
        nu.ok(*args)
    wait_synced([f'http://{a}' for a in rpcs], peers=1)
    return homes, rpcs, sups


def start_canary(tmp, endpoints, account):
    """`nearup canary` on endpoints [(url, name)]; returns (process, address)."""
    addr = f'127.0.0.1:{free_port()}'
    args = [NEARUP, 'canary', '--account-id', account, '--interval', '500ms', '--listen', addr]
    for url, name in endpoints:
        args += ['--endpoint', f'{url},name={name}']
    with open(tmp / 'canary.log', 'wb') as log:
        proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    return proc, addr


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('dash')
    nu = Nearup(tmp)
    procs, prom, gw = [], None, None
    have = {'neard', 'gateway', 'prometheus'}
    try:
        homes, nodes, sups = run_nodes(nu, tmp, supervisor_metrics_available())
        account = load_json(homes[0] / 'validator_key.json')['account_id']
        # An RPC error on each node itself, whichever the gateway picks.
        assert [post(int(n.rsplit(':', 1)[1]), *unknown_tx(account)) for n in nodes] == \
            [400, 400]
        gw = Gateway(tmp, [(f'n{i}', {'url': f'http://{a}'}) for i, a in enumerate(nodes)])
        gw.start(wait_ok=['n0', 'n1'])
        gateway = f'127.0.0.1:{gw.port}'
        jobs = {'neard': [(nodes[0], 'z1'), (nodes[1], 'z2')],
                'nearup-gateway': [(gateway, 'z1')]}
        if sups:
            jobs['nearup-node'] = [(sups[0], 'z1'), (sups[1], 'z2')]
            have.add('supervisor')
        if canary_available():
            proc, addr = start_canary(tmp, [(f'http://{gateway}', 'gateway'),
                                            (f'http://{nodes[1]}', 'node1')], account)
            procs.append(proc)
            jobs['nearup-canary'] = [(addr, 'z1')]
            have.add('canary')
        traffic(gw, account)
        prom = Prometheus(tmp, [
            static_job(job, [(addr, {'cluster': 'test', 'zone': zone}) for addr, zone in ts])
            for job, ts in jobs.items()], [os.path.join(MON, 'rules', '*.yml')])
        wait_until(lambda: prom.query('up') is not None, 20, interval=0.1,
                   what='prometheus answering')
        yield {'prom': prom, 'nodes': nodes, 'gateway': gateway, 'gw': gw, 'have': have,
               'jobs': jobs, 'home': str(homes[0]), 'account': account}
    finally:
        if prom:
            prom.close()
        for p in procs:
            p.terminate()
            p.wait(20)
        if gw:
            gw.stop()
        nu.cleanup()


def test_every_job_is_scraped(stack):
    prom = stack['prom']

    def all_up():
        got = {(s['metric']['job'], s['metric']['instance']): s['value'][1]
               for s in prom.query('up')}
        return got if len(got) == sum(map(len, stack['jobs'].values())) and \
            set(got.values()) == {'1'} else None
    got = wait_until(all_up, 20, interval=0.2, what='every target up')
    assert got == {(job, addr): '1' for job, ts in stack['jobs'].items() for addr, _ in ts}


def test_template_variables_offer_the_test_values(stack):
    prom, values = stack['prom'], substitutions(stack)
    checked = []
    for name, d in DASHBOARDS:
        for v in d.vars:
            if not sources(v.selector) <= stack['have']:
                continue
            selector = substitute(v.selector, values)
            want = set(values[v.name].strip('()').split('|')) - {'.*'}

            def offered():
                got = set(prom.api(f'label/{v.label}/values', **{'match[]': selector}))
                return got if got and want <= got else None
            wait_until(offered, 30, interval=0.2, what=f'{name} ${v.name} offers {want}')
            checked.append((name, v.name))
    assert ('fleet.json', 'cluster') in checked and ('gateway.json', 'method') in checked


def promtool_query(prom, expr):
    return run('promtool', 'query', 'instant', prom.base, expr)


def test_every_query_parses_and_the_live_ones_return_series(stack):
    prom, values = stack['prom'], substitutions(stack)
    qs = [(name, panel, t, substitute(t.expr, values)) for name, panel, t in queries()]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda q: promtool_query(prom, q[3]), qs))
    bad = [(q[0], q[1], q[3], r.stderr.strip()) for q, r in zip(qs, results) if r.returncode]
    assert bad == []

    live = [q for q in qs if not q[2].incident and sources(q[2].expr) <= stack['have']]
    pending = {q[3]: q for q in live}
    deadline = time.monotonic() + 40
    while pending and time.monotonic() < deadline:
        traffic(stack['gw'], stack['account'])
        for expr in list(pending):
            if prom.query(expr):
                del pending[expr]
        time.sleep(0.5)
    assert [(q[0], q[1], q[3]) for q in pending.values()] == []
    # What was not checked against series, and why (shown with pytest -s).
    missing = sorted({s for q in qs for s in sources(q[2].expr)} - stack['have'])
    print(f'\n{len(qs)} queries parse; {len(live)} returned series; '
          f'{sum(bool(q[2].incident) for q in qs)} incident-only; programs not run: {missing}')
    assert set(missing) <= {'node_exporter', 'snapshotter', 'canary', 'supervisor'}
