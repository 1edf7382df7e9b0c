"""The monitoring kit (monitoring/, docs/monitoring.md): rule files that
promtool accepts and whose unit tests pass, the SLO rules exactly as
slos.yml generates them, a label set and a runbook for every alert, and the
Alertmanager example's routes (amtool) and inhibitions (a real
Alertmanager, fed through its API, delivering to a webhook run here)."""
import glob
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from conftest import NEARUP, ROOT, free_port, wait_until

MON = os.path.join(ROOT, 'monitoring')
RULES_DIR = os.path.join(MON, 'rules')
TESTS_DIR = os.path.join(MON, 'tests')
SLOS = os.path.join(MON, 'slo', 'slos.yml')
GENERATOR = os.path.join(MON, 'slo', 'generate.py')
AM_CONFIG = os.path.join(MON, 'alertmanager', 'alertmanager.yml')
RUNBOOKS = os.path.join(ROOT, 'docs', 'runbooks')
DOC = os.path.join(ROOT, 'docs', 'monitoring.md')

RULE_FILES = ['canary', 'gateway', 'neard', 'settings', 'slo', 'snapshot', 'supervisor']
TEST_FILES = ['canary', 'gateway', 'host', 'neard', 'slo', 'snapshot', 'supervisor']
# Commands of issue 10 that the runbooks name before they are built; their
# flags are checked as soon as `nearup help` lists them.
PLANNED_COMMANDS = set()


def run(*args, cwd=None, timeout=300):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def load_yaml(path):
    with open(path) as fh:
        return yaml.safe_load(fh)


def rule_path(name):
    return os.path.join(RULES_DIR, name + '.yml')


def alert_rules():
    """Every alerting rule of monitoring/rules/ (several rules may share a name)."""
    out = []
    for name in RULE_FILES:
        for group in load_yaml(rule_path(name))['groups']:
            out.extend(r for r in group['rules'] if 'alert' in r)
    return out


def alert_names():
    return sorted({r['alert'] for r in alert_rules()})


def runbook_base():
    return load_yaml(SLOS)['runbook_base_url']


def generator():
    spec = importlib.util.spec_from_file_location('slo_generate', GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- promtool ----

def test_rule_files_are_the_listed_ones():
    found = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(RULES_DIR, '*.yml')))
    assert found == RULE_FILES
    found = sorted(os.path.basename(p)[:-9] for p in glob.glob(os.path.join(TESTS_DIR,
                                                                           '*.test.yml')))
    assert found == TEST_FILES


def test_promtool_check_rules_is_clean():
    r = run('promtool', 'check', 'rules', '--lint-fatal', *[rule_path(n) for n in RULE_FILES])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count('SUCCESS') == len(RULE_FILES), r.stdout
    assert 'WARNING' not in r.stdout + r.stderr


def test_example_prometheus_config_loads_every_rule_file():
    r = run('promtool', 'check', 'config', os.path.join(MON, 'prometheus', 'prometheus.yml'))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f'SUCCESS: {len(RULE_FILES)} rule files found' in r.stdout


@pytest.mark.parametrize('name', TEST_FILES)
def test_promtool_rule_unit_tests_pass(name):
    r = run('promtool', 'test', 'rules', f'{name}.test.yml', cwd=TESTS_DIR, timeout=600)
    assert (r.returncode, r.stdout.split()) == (0, ['Unit', 'Testing:', f'{name}.test.yml',
                                                    'SUCCESS']), r.stdout + r.stderr


def alert_checks():
    """{alertname: [(test name, eval_time seconds, fired)]} over every rule test."""
    checks = {}
    for name in TEST_FILES:
        doc = load_yaml(os.path.join(TESTS_DIR, f'{name}.test.yml'))
        for test in doc['tests']:
            for c in test.get('alert_rule_test', []):
                fired = bool(c['exp_alerts'])
                if fired:
                    for a in c['exp_alerts']:
                        assert set(a['exp_annotations']) == {'summary', 'description',
                                                             'runbook_url'}, (test['name'], c)
                checks.setdefault(c['alertname'], []).append(
                    (test['name'], seconds(c['eval_time']), fired))
    return checks


def seconds(duration):
    units = {'d': 86400, 'h': 3600, 'm': 60, 's': 1}
    parts = re.findall(r'(\d+)([dhms])', duration)
    assert ''.join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * units[u] for n, u in parts)


def test_every_alert_fires_on_time_and_stays_quiet_on_a_blip():
    """Each alert has a test where it is silent at one evaluation and fires
    at a later one (its exact time), and a check where it stays silent."""
    checks = alert_checks()
    assert sorted(checks) == alert_names()
    for alert, cs in checks.items():
        on_time = [t for t, at, fired in cs if fired and
                   any(t2 == t and not f2 and at2 < at for t2, at2, f2 in cs)]
        assert on_time, f'{alert}: no test where it is silent first and then fires'
        assert any(not fired for _, _, fired in cs), f'{alert}: never checked silent'


# ---- labels, annotations, runbooks ----

def test_every_alert_has_severity_annotations_and_a_runbook():
    base = runbook_base()
    rules = alert_rules()
    assert len(alert_names()) == 29
    for r in rules:
        name = r['alert']
        assert r['labels']['severity'] in ('page', 'ticket'), name
        assert set(r['annotations']) == {'summary', 'description', 'runbook_url'}, name
        assert r['annotations']['runbook_url'] == f'{base}{name}.md'
        with open(os.path.join(RUNBOOKS, f'{name}.md')) as fh:
            text = fh.read()
        assert text.startswith(f'# {name}\n'), name
        for section in ('## What it means', '## What to check', '## What to do'):
            assert section in text, (name, section)


def test_every_runbook_is_an_alerts():
    pages = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(RUNBOOKS, '*.md')))
    assert pages == alert_names()


def nearup_help(*words):
    r = run(NEARUP, *words, '--help', timeout=30)
    assert r.returncode == 0, (words, r.stderr)
    return r.stdout


def runbook_commands():
    """(runbook, [words]) of each `nearup ...` command in a code block or span."""
    out = []
    for path in sorted(glob.glob(os.path.join(RUNBOOKS, '*.md'))):
        with open(path) as fh:
            text = fh.read()
        blocks = re.findall(r'```sh\n(.*?)```', text, re.S)
        lines = [ln.strip() for b in blocks for ln in b.splitlines()]
        prose = re.sub(r'```sh\n.*?```', '', text, flags=re.S)
        lines += [' '.join(s.split()) for s in re.findall(r'`([^`]+)`', prose)]
        for ln in lines:
            if ln.startswith('nearup '):
                out.append((os.path.basename(path), ln.split('#')[0].split()))
    return out


def test_runbook_commands_and_flags_exist():
    commands = set(re.findall(r'^  (\S+) ', nearup_help(), re.M))
    assert {'status', 'logs', 'restart', 'snapshot', 'upgrade'} <= commands
    found = runbook_commands()
    assert len(found) >= 60, found
    helps = {}
    for page, words in found:
        cmd = words[1]
        if cmd not in commands:
            assert cmd in PLANNED_COMMANDS, (page, words)
            continue
        key = tuple(words[1:3]) if cmd in ('bin', 'service', 'snapshot') else (cmd,)
        if key not in helps:
            helps[key] = set(re.findall(r'(--[a-z][\w-]*)', nearup_help(*key)))
        for w in words[2:]:
            flag = w.split('=')[0]
            if flag.startswith('--'):
                assert flag in helps[key], (page, ' '.join(words))


def test_alert_table_in_docs_lists_every_alert():
    with open(DOC) as fh:
        rows = [ln for ln in fh if re.match(r'\| (Near|Node)\w+ \|', ln)]
    table = {}
    for ln in rows:
        cells = [c.strip() for c in ln.strip().strip('|').split('|')]
        assert len(cells) == 5, ln
        table[cells[0]] = cells
    assert sorted(table) == alert_names()
    by_name = {}
    for r in alert_rules():
        by_name.setdefault(r['alert'], []).append(r)
    for name, rules in by_name.items():
        severities = ' / '.join(sorted({r['labels']['severity'] for r in rules}))
        fors = {r.get('for', '—') for r in rules}
        assert len(fors) == 1, name
        assert table[name][1] == severities, name
        assert table[name][3] == fors.pop(), name
        assert table[name][4] == f'[{name}](runbooks/{name}.md)'


def test_every_rule_file_uses_the_runbook_base_of_slos_yml():
    base = runbook_base()
    for name in RULE_FILES:
        with open(rule_path(name)) as fh:
            urls = re.findall(r'runbook_url: (\S+)', fh.read())
        assert all(u.startswith(base) for u in urls), (name, urls)


# ---- the SLO generator ----

def test_slo_rules_and_table_are_what_slos_yml_generates():
    r = run('/usr/bin/python3', GENERATOR, '--check')
    assert (r.returncode, r.stdout, r.stderr) == (0, '', '')


def copy_inputs(tmp_path, edit):
    cfg = load_yaml(SLOS)
    edit(cfg)
    conf = tmp_path / 'slos.yml'
    conf.write_text(yaml.safe_dump(cfg, sort_keys=False))
    shutil.copy(DOC, tmp_path / 'monitoring.md')
    return conf, tmp_path / 'slo.yml', tmp_path / 'monitoring.md'


def generate(conf, out, docs):
    return run('/usr/bin/python3', GENERATOR, '--config', conf, '--output', out, '--docs', docs)


def test_a_changed_target_changes_the_rules_and_the_table(tmp_path):
    def edit(cfg):
        cfg['slos'][1]['availability'] = 99.0  # reads
    conf, out, docs = copy_inputs(tmp_path, edit)
    r = generate(conf, out, docs)
    assert (r.returncode, r.stdout, r.stderr) == (0, '', '')
    rules = out.read_text()
    assert 'slo:sli_error:ratio_rate1h{slo="rpc-reads-availability"} > (14.4 * 0.01)\n' in rules
    assert 'slo:sli_error:ratio_rate3d{slo="rpc-reads-availability"} > (1 * 0.01)\n' in rules
    assert 'slo:sli_error:ratio_rate1h{slo="rpc-status-availability"} > (14.4 * 0.001)\n' in rules
    assert ('| `rpc-reads-availability` | calls not answered with an error | 99% | 1% '
            '| bad share > 14.4% | bad share > 6% | bad share > 1% |\n') in docs.read_text()
    r = run('promtool', 'check', 'rules', '--lint-fatal', out)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run('/usr/bin/python3', GENERATOR, '--check')  # the committed files are untouched
    assert r.returncode == 0


def test_a_threshold_between_buckets_is_refused(tmp_path):
    def edit(cfg):
        cfg['slos'][1]['latency']['threshold'] = 0.3
    conf, out, docs = copy_inputs(tmp_path, edit)
    r = generate(conf, out, docs)
    assert (r.returncode, r.stdout) == (1, '')
    assert r.stderr == ('generate.py: slos: rpc-reads: latency threshold 0.3 is not a bucket bound '
                        'of nearup_gateway_request_duration_seconds (0.001, 0.0025, 0.005, 0.01, '
                        '0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)\n')
    assert not out.exists()


def test_an_unknown_class_and_a_method_in_two_classes_are_refused(tmp_path):
    def unknown(cfg):
        cfg['slos'][0]['class'] = 'views'
    conf, out, docs = copy_inputs(tmp_path, unknown)
    r = generate(conf, out, docs)
    assert (r.returncode, r.stderr) == (1, "generate.py: slos: rpc-views: class 'views' is not "
                                           "defined in classes\n")

    def twice(cfg):
        cfg['classes']['status'].append('query')
    conf, out, docs = copy_inputs(tmp_path, twice)
    r = generate(conf, out, docs)
    assert (r.returncode, r.stderr) == (1, f'generate.py: {conf}: method query is in classes '
                                           f'status and reads\n')
    assert not out.exists()


def c_source(*path):
    with open(os.path.join(ROOT, *path)) as fh:
        return fh.read()


def test_generator_buckets_are_the_gateways():
    src = c_source('src', 'gateway', 'gw_metrics.c')
    body = re.search(r'buckets\[GW_NBUCKETS\] = \{([^}]*)\}', src).group(1)
    # as nu_metrics_format_value writes le: integers bare, else the shortest
    # form that reads back exactly
    values = [float(v) for v in body.replace('\n', ' ').split(',')]
    le = ['%d' % v if v == int(v) else repr(v) for v in values]
    assert generator().BUCKETS == le


def test_method_classes_cover_the_gateways_method_table():
    src = c_source('src', 'gateway', 'gw_rpcpeek.c')
    table = re.findall(r'\[GW_M_\w+\] = \{"(\w+)"', src)
    assert len(table) == 32 and 'other' in table
    cfg = load_yaml(SLOS)
    listed = [m for ms in cfg['classes'].values() for m in ms] + cfg['unclassified']
    assert sorted(listed) == sorted(table)
    assert len(listed) == len(set(listed))


def test_gateway_rules_count_the_same_codes_as_the_slos():
    codes = load_yaml(SLOS)['error_codes']
    with open(rule_path('gateway')) as fh:
        text = fh.read()
    assert re.findall(r'code=~"([^"]*)"', text) == [codes]


# ---- Alertmanager ----

def amtool(*args):
    return run('amtool', *args, timeout=30)


def test_alertmanager_config_is_valid():
    r = amtool('check-config', AM_CONFIG)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Checking '{AM_CONFIG}'  SUCCESS" in r.stdout
    assert ' - 6 inhibit rules\n - 2 receivers\n' in r.stdout


def route(labels, receiver):
    return amtool('config', 'routes', 'test', f'--config.file={AM_CONFIG}',
                  f'--verify.receivers={receiver}', *[f'{k}={v}' for k, v in labels.items()])


def test_every_alert_routes_to_its_severitys_receiver():
    pairs = sorted({(r['alert'], r['labels']['severity']) for r in alert_rules()})
    assert len(pairs) == 31  # the two SLO burn alerts come as page and as ticket
    for alert, severity in pairs:
        r = route({'alertname': alert, 'severity': severity, 'cluster': 'mainnet',
                   'zone': 'eu-west-1a'}, severity)
        assert (r.returncode, r.stdout) == (0, f'{severity}\n'), (alert, r.stdout, r.stderr)


@pytest.mark.parametrize('labels,receiver', [
    ({'alertname': 'Watchdog'}, 'ticket'),  # no severity: not lost, a ticket
    ({'alertname': 'DiskSmart', 'severity': 'critical'}, 'ticket'),
    ({'alertname': 'NearHeadStalled', 'severity': 'page', 'cluster': 'testnet'}, 'page'),
    ({'alertname': 'NearNodeLagging', 'severity': 'ticket'}, 'ticket'),
])
def test_routes_of_other_label_sets(labels, receiver):
    r = route(labels, receiver)
    assert (r.returncode, r.stdout) == (0, f'{receiver}\n'), r.stderr
    other = 'page' if receiver == 'ticket' else 'ticket'
    r = route(labels, other)
    assert (r.returncode, r.stdout) == (1, f'{receiver}\nWARNING: Expected receivers did not match '
                                           f'resolved receivers.\n')


def test_pages_group_per_cluster_and_zone():
    routes = load_yaml(AM_CONFIG)['route']['routes']
    assert [(r['receiver'], r['group_by']) for r in routes] == [
        ('page', ['cluster', 'zone']), ('ticket', ['cluster', 'zone', 'alertname'])]


class Webhook:
    """An HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it."""

    def __init__(self):
        self.posts = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                hook.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def http_json(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=5) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


@pytest.fixture
def alertmanager(tmp_path):
    """The example configuration on a real Alertmanager, its receivers
    pointed at a Webhook; yields (API base URL, webhook)."""
    hook = Webhook()
    cfg = load_yaml(AM_CONFIG)
    for rcv in cfg['receivers']:
        rcv['webhook_configs'][0]['url'] = f"http://127.0.0.1:{hook.port}/{rcv['name']}"
    conf = tmp_path / 'alertmanager.yml'
    conf.write_text(yaml.safe_dump(cfg))
    port = free_port()
    proc = subprocess.Popen(['prometheus-alertmanager', f'--config.file={conf}',
                             f'--storage.path={tmp_path / "data"}',
                             f'--web.listen-address=127.0.0.1:{port}',
                             '--cluster.listen-address=', '--log.level=warn'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f'http://127.0.0.1:{port}'

    def ready():
        try:
            with urllib.request.urlopen(base + '/-/ready', timeout=1) as resp:
                return resp.status == 200
        except OSError:
            assert proc.poll() is None, proc.stderr.read()
            return False
    try:
        wait_until(ready, timeout=20, what='alertmanager ready')
        yield base, hook
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        hook.close()


def alert(name, severity, **labels):
    now = datetime.now(timezone.utc)
    return {'labels': {'alertname': name, 'severity': severity, 'cluster': 'mainnet', **labels},
            'annotations': {'summary': name},
            'startsAt': now.isoformat(), 'endsAt': (now + timedelta(hours=1)).isoformat()}


def test_inhibitions_and_the_page_route_on_a_real_alertmanager(alertmanager):
    base, hook = alertmanager
    z1 = {'zone': 'eu-west-1a'}
    node1 = {'instance': 'rpc-1:3030', 'job': 'neard', **z1}
    gw = {'instance': 'gw-1:3031', 'job': 'nearup-gateway', **z1}
    sent = {
        'down': alert('NearNodeDown', 'page', **node1),
        'stalled': alert('NearHeadStalled', 'page', **node1),
        'lagging': alert('NearNodeLagging', 'ticket', **node1),
        'stalled2': alert('NearHeadStalled', 'page', instance='rpc-2:3030', job='neard',
                          zone='eu-west-1b'),
        'degraded': alert('NearupGatewayDegraded', 'page', **gw),
        'belowmin': alert('NearupGatewayUpstreamsBelowMinHealthy', 'ticket', **gw),
        'burn1h': alert('NearupSLOAvailabilityBurn', 'page', slo='rpc-reads-availability',
                        window='1h'),
        'burn3d': alert('NearupSLOAvailabilityBurn', 'ticket', slo='rpc-reads-availability',
                        window='3d'),
        'latency3d': alert('NearupSLOLatencyBurn', 'ticket', slo='rpc-reads-latency', window='3d'),
        'snapfail': alert('NearupSnapshotFailed', 'ticket', step='create', home='/srv/near',
                          store='s3://snaps/mainnet', **node1),
        'snapstale': alert('NearupSnapshotStale', 'ticket', home='/srv/near',
                           store='s3://snaps/mainnet', **node1),
        'snapstale2': alert('NearupSnapshotStale', 'ticket', home='/srv/near',
                            store='s3://other/mainnet', **node1),
    }
    http_json(base + '/api/v2/alerts', list(sent.values()))
    inhibitor = {'stalled': 'down', 'lagging': 'down', 'belowmin': 'degraded',
                 'burn3d': 'burn1h', 'snapstale': 'snapfail'}

    def states():
        got = http_json(base + '/api/v2/alerts')
        by_labels = {json.dumps(a['labels'], sort_keys=True): a for a in got}
        out = {k: by_labels.get(json.dumps(v['labels'], sort_keys=True)) for k, v in sent.items()}
        if None in out.values() or not all(out[k]['status']['inhibitedBy'] for k in inhibitor):
            return None
        return out
    got = wait_until(states, timeout=20, interval=0.2, what='the inhibitions')
    for key, a in got.items():
        if key in inhibitor:
            assert a['status'] == {'state': 'suppressed', 'silencedBy': [],
                                   'inhibitedBy': [got[inhibitor[key]]['fingerprint']]}, key
        else:
            assert a['status'] == {'state': 'active', 'silencedBy': [], 'inhibitedBy': []}, key

    # The page receiver gets one notification per cluster and zone, after
    # group_wait (10 s), without the inhibited alerts; tickets wait 5 minutes.
    def pages():
        p = [body for path, body in hook.posts if path == '/page']
        return p if len(p) == 3 else None
    posts = wait_until(pages, timeout=40, interval=0.2, what='three page notifications')
    groups = {json.dumps(p['groupLabels'], sort_keys=True):
              sorted(a['labels']['alertname'] for a in p['alerts']) for p in posts}
    assert groups == {
        '{"cluster": "mainnet", "zone": "eu-west-1a"}': ['NearNodeDown', 'NearupGatewayDegraded'],
        '{"cluster": "mainnet", "zone": "eu-west-1b"}': ['NearHeadStalled'],
        '{"cluster": "mainnet"}': ['NearupSLOAvailabilityBurn'],
    }
    assert {(p['receiver'], p['status']) for p in posts} == {('page', 'firing')}
    assert [path for path, _ in hook.posts if path != '/page'] == []
