"""deploy/k8s: every overlay renders offline with `kubectl kustomize`, every
rendered object validates against the Kubernetes API schema (npm
kubernetes-models and @kubernetes-models/prometheus-operator, through
k8s_validate.cjs, which also refuses fields the API does not declare), the
objects are wired to each other and to what nearup listens on, and the init
container's script (base/scripts/restore.sh) and the snapshotter's scripts run
for real against local stores holding snapshots of neard-sim nodes.

Nothing here needs a cluster: kubectl only renders."""
import configparser
import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess

import pytest
import yaml

from conftest import NEARD_SIM, NEARUP, ROOT, free_port, load_json
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from nodeutil import neards_of  # noqa: E402
from snaputil import (chunk_plain, head, latest, make_home, manifest,  # noqa: E402
                      manifests_in, snap, tree_hashes, twin_home, wait_head)

pytest_plugins = ('nodeutil',)

HERE = os.path.dirname(os.path.abspath(__file__))
K8S = os.path.join(ROOT, 'deploy', 'k8s')
SCRIPTS = os.path.join(K8S, 'base', 'scripts')
RESTORE_SH = os.path.join(SCRIPTS, 'restore.sh')
SNAPSHOT_SH = os.path.join(SCRIPTS, 'snapshot.sh')
NODE_MODULES = os.path.join(ROOT, 'tools', 's3rver', 'node_modules')
VALIDATOR = os.path.join(HERE, 'k8s_validate.cjs')

NAMESPACE = 'near'
# overlay -> (zone, RPC replicas, whether the region's snapshotter runs there)
OVERLAYS = {'zone-a': ('eu-west-1a', 3, True),
            'zone-b': ('eu-west-1b', 2, False),
            'zone-c': ('eu-west-1c', 2, False)}
# What one zone renders: kind -> count.
KINDS = {'ConfigMap': 4, 'CronJob': 1, 'Deployment': 1, 'PodDisruptionBudget': 2,
         'PodMonitor': 1, 'Role': 1, 'RoleBinding': 1, 'Service': 2, 'ServiceAccount': 1,
         'ServiceMonitor': 1, 'StatefulSet': 2}
# monitoring/ matches `up` by these job names (docs/monitoring.md, "Install")
JOBS = {'rpc': 'neard', 'sup-metrics': 'nearup-node', 'health': 'nearup-health'}


# ---- rendering ----

def kubectl():
    path = shutil.which('kubectl')
    assert path, 'kubectl is not installed: run `make deps` (Debian kubernetes-client)'
    return path


@functools.lru_cache(maxsize=None)
def render_text(rel):
    """`kubectl kustomize deploy/k8s/REL`, with no kubeconfig and no network
    (kustomize reads only the files)."""
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'KUBECONFIG': '/nonexistent',
           'HOME': '/nonexistent'}
    r = subprocess.run([kubectl(), 'kustomize', os.path.join(K8S, rel)], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def render(rel):
    return [d for d in yaml.safe_load_all(render_text(rel)) if d is not None]


def by_kind(objs, kind):
    return [o for o in objs if o['kind'] == kind]


def one(objs, kind, name):
    found = [o for o in objs if o['kind'] == kind and o['metadata']['name'] == name]
    assert len(found) == 1, (kind, name, [o['metadata']['name'] for o in by_kind(objs, kind)])
    return found[0]


def pod_spec(o):
    if o['kind'] == 'CronJob':
        return o['spec']['jobTemplate']['spec']['template']['spec']
    return o['spec']['template']['spec']


def pod_labels(o):
    if o['kind'] == 'CronJob':
        return o['spec']['jobTemplate']['spec']['template']['metadata']['labels']
    return o['spec']['template']['metadata']['labels']


def workloads(objs):
    return [o for o in objs if o['kind'] in ('StatefulSet', 'Deployment', 'CronJob')]


def containers(o, init=True):
    spec = pod_spec(o)
    return spec['containers'] + (spec.get('initContainers', []) if init else [])


def container(o, name):
    found = [c for c in containers(o) if c['name'] == name]
    assert len(found) == 1, (o['metadata']['name'], name)
    return found[0]


def selects(selector, labels):
    """Whether a LabelSelector (matchLabels, matchExpressions) matches labels."""
    for k, v in selector.get('matchLabels', {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get('matchExpressions', []):
        op, key, values = e['operator'], e['key'], e.get('values', [])
        if op == 'In' and labels.get(key) not in values:
            return False
        if op == 'NotIn' and labels.get(key) in values:
            return False
        if op == 'Exists' and key not in labels:
            return False
        if op == 'DoesNotExist' and key in labels:
            return False
    return True


def env_of(objs, c):
    """A container's environment as the kubelet builds it: envFrom ConfigMaps,
    then env (literal values, configMapKeyRef, the pod's namespace)."""
    out = {}
    for src in c.get('envFrom', []):
        if 'configMapRef' in src:
            out.update(one(objs, 'ConfigMap', src['configMapRef']['name'])['data'])
    for e in c.get('env', []):
        if 'value' in e:
            out[e['name']] = e['value']
        elif 'configMapKeyRef' in e.get('valueFrom', {}):
            ref = e['valueFrom']['configMapKeyRef']
            out[e['name']] = one(objs, 'ConfigMap', ref['name'])['data'][ref['key']]
        elif e.get('valueFrom', {}).get('fieldRef', {}).get('fieldPath') == 'metadata.namespace':
            out[e['name']] = NAMESPACE
    return out


def argv(objs, c):
    """command + args with $(VAR) expanded from the container's env."""
    env = env_of(objs, c)
    words = c.get('command', []) + c.get('args', [])
    out = []
    for w in words:
        for k, v in env.items():
            w = w.replace(f'$({k})', v)
        assert '$(' not in w, (c['name'], w)
        out.append(w)
    return out


def flag(words, name):
    assert words.count(name) == 1, (name, words)
    return words[words.index(name) + 1]


def port_of(c, port):
    """The containerPort a probe's port (number or name) names, or None."""
    for p in c.get('ports', []):
        if port in (p['containerPort'], p.get('name')):
            return p['containerPort']
    return None


def gateway_ini(objs, prefix):
    text = one(objs, 'ConfigMap', f'{prefix}nearup-gateway')['data']['gateway.ini']
    ini = configparser.ConfigParser(inline_comment_prefixes=(';', '#'))
    ini.read_string(text)
    return text, ini


# ---- every overlay renders, and validates ----

def test_the_overlays_are_the_three_zones():
    assert sorted(os.listdir(os.path.join(K8S, 'overlays'))) == sorted(OVERLAYS)


@pytest.mark.parametrize('overlay', sorted(OVERLAYS))
def test_every_overlay_renders_offline(overlay):
    zone = OVERLAYS[overlay][0]
    objs = render(f'overlays/{overlay}')
    kinds = {}
    for o in objs:
        kinds[o['kind']] = kinds.get(o['kind'], 0) + 1
        assert o['metadata']['name'].startswith(f'{overlay}-'), o['metadata']['name']
        assert o['metadata']['namespace'] == NAMESPACE, o['metadata']['name']
        assert o['metadata']['labels']['nearup-zone'] == zone
        assert o['metadata']['labels']['app.kubernetes.io/part-of'] == 'nearup'
    assert kinds == KINDS
    # names are the same without hash suffixes in every kustomize version
    assert sorted(o['metadata']['name'] for o in by_kind(objs, 'ConfigMap')) == [
        f'{overlay}-near-snapshot', f'{overlay}-nearup-env', f'{overlay}-nearup-gateway',
        f'{overlay}-nearup-scripts']


def test_the_base_renders_on_its_own():
    objs = render('base')
    assert {o['kind'] for o in objs} == set(KINDS)
    assert all(o['metadata']['namespace'] == NAMESPACE for o in objs)


def validate(tmp_path, objs):
    assert os.path.isdir(os.path.join(NODE_MODULES, 'kubernetes-models')), \
        'kubernetes-models is not installed: run `make deps`'
    path = tmp_path / 'objects.json'
    path.write_text(json.dumps(objs))
    return subprocess.run(['node', VALIDATOR, NODE_MODULES, str(path)], capture_output=True,
                          text=True, timeout=120)


def test_every_rendered_object_validates_against_the_api_schema(tmp_path):
    objs = render('base') + [o for ov in sorted(OVERLAYS) for o in render(f'overlays/{ov}')]
    r = validate(tmp_path, objs)
    assert (r.returncode, r.stderr) == (0, ''), r.stdout
    assert r.stdout.splitlines() == [f"ok {o['kind']} {o['metadata']['name']}" for o in objs]


def test_the_validator_refuses_what_the_api_does_not_know(tmp_path):
    objs = render('overlays/zone-a')
    sts = one(objs, 'StatefulSet', 'zone-a-near-rpc')
    node = container(sts, 'node')
    node['readinesProbe'] = node.pop('livenessProbe')        # a misspelt field
    container(sts, 'health')['readinessProbe']['httpGet']['prot'] = 3032
    one(objs, 'Service', 'zone-a-near-rpc')['spec']['ports'][0]['port'] = 'rpc'
    pm = one(objs, 'PodMonitor', 'zone-a-near-nodes')
    pm['spec']['podMetricsEndpoints'][0]['pth'] = '/metrics'  # CRDs too
    del one(objs, 'Deployment', 'zone-a-nearup-gateway')['spec']['selector']
    objs.append({'apiVersion': 'v1', 'kind': 'Widget', 'metadata': {'name': 'w'}})
    objs.append({'apiVersion': 'apps/v1', 'kind': 'Container', 'metadata': {'name': 'c'}})
    objs.append({'apiVersion': 'v1', 'kind': 'Container', 'metadata': {'name': 'v'}})
    objs.append({'apiVersion': 'example.com/v1', 'kind': 'Thing', 'metadata': {'name': 't'}})
    r = validate(tmp_path, objs)
    assert r.returncode == 1, r.stdout + r.stderr
    problems = [ln for ln in r.stdout.splitlines() if not ln.startswith('ok ')]
    assert problems == [
        'Service zone-a-near-rpc: /spec/ports/0/port: must be integer',
        'Deployment zone-a-nearup-gateway: /spec: must have required property selector',
        'StatefulSet zone-a-near-rpc: spec.template.spec.containers[0].readinesProbe: '
        'unknown field "readinesProbe"',
        'StatefulSet zone-a-near-rpc: spec.template.spec.containers[1].readinessProbe.httpGet.prot: '
        'unknown field "prot"',
        'PodMonitor zone-a-near-nodes: spec.podMetricsEndpoints[0].pth: unknown field "pth"',
        'Widget w: no schema for kind Widget of apiVersion v1',
        'Container c: no schema for kind Container of apiVersion apps/v1',
        'Container v: Container is not an object kind of v1',
        'Thing t: no schema for kind Thing of apiVersion example.com/v1',
    ]
    assert len(r.stdout.splitlines()) == len(objs) + 1  # one object had two problems


# ---- wiring ----

@pytest.fixture(params=sorted(OVERLAYS))
def zone(request):
    """(overlay, zone, replicas, snapshotter active, rendered objects)."""
    ov = request.param
    z, n, active = OVERLAYS[ov]
    return ov, z, n, active, render(f'overlays/{ov}')


def test_probes_point_at_the_ports_the_containers_listen_on(zone):
    ov, _, _, _, objs = zone
    for w in workloads(objs):
        for c in containers(w):
            for kind in ('startupProbe', 'livenessProbe', 'readinessProbe'):
                probe = c.get(kind)
                if probe is None:
                    continue
                action = probe.get('httpGet') or probe.get('tcpSocket')
                assert action is not None, (c['name'], kind)
                assert port_of(c, action['port']) is not None, (w['metadata']['name'], c['name'], kind)
    rpc = one(objs, 'StatefulSet', f'{ov}-near-rpc')
    node, health = container(rpc, 'node'), container(rpc, 'health')
    words = argv(objs, node)
    # what the processes bind is what the ports and probes name
    assert flag(words, '--rpc-addr') == f"0.0.0.0:{port_of(node, 'rpc')}" == '0.0.0.0:3030'
    assert flag(words, '--network-addr') == f"0.0.0.0:{port_of(node, 'p2p')}"
    assert flag(words, '--metrics-listen') == f"0.0.0.0:{port_of(node, 'sup-metrics')}"
    hw = argv(objs, health)
    assert hw[:2] == ['nearup', 'health']
    assert flag(hw, '--listen') == f"0.0.0.0:{port_of(health, 'health')}" == '0.0.0.0:3032'
    assert flag(hw, '--node') == f"http://127.0.0.1:{port_of(node, 'rpc')}"
    assert flag(hw, '--reference') == 'https://rpc.mainnet.near.org'
    # readiness is the health sidecar's verdict; liveness and startup ask
    # neard's /status, which answers while syncing, stale or lagging
    assert health['readinessProbe']['httpGet']['path'] == '/healthcheck'
    assert port_of(health, health['readinessProbe']['httpGet']['port']) == 3032
    for kind in ('startupProbe', 'livenessProbe'):
        assert node[kind]['httpGet']['path'] == '/status'
        assert port_of(node, node[kind]['httpGet']['port']) == 3030
    assert 'tcpSocket' in health['livenessProbe'] and 'readinessProbe' not in node
    # nothing restarts a node for being unhealthy: no liveness asks /healthcheck
    for w in workloads(objs):
        for c in containers(w):
            assert c.get('livenessProbe', {}).get('httpGet', {}).get('path') != '/healthcheck'
    # long enough for a database to open: ten minutes without an answer
    assert node['livenessProbe']['periodSeconds'] * node['livenessProbe']['failureThreshold'] >= 600
    gw = one(objs, 'Deployment', f'{ov}-nearup-gateway')
    g = container(gw, 'gateway')
    _, ini = gateway_ini(objs, f'{ov}-')
    assert ini['gateway']['listen'] == f"0.0.0.0:{port_of(g, 'http')}" == '0.0.0.0:3031'
    assert g['readinessProbe']['httpGet']['path'] == '/healthcheck'
    assert port_of(g, g['readinessProbe']['httpGet']['port']) == 3031


def test_the_rendered_command_lines_are_what_nearup_accepts(zone):
    """Each nearup command line of a container, with its $(VAR)s expanded,
    parsed by nearup itself: `--help` at the end prints the usage (exit 0)
    only when every flag before it is known and every value valid."""
    _, _, _, _, objs = zone
    seen = []
    for w in workloads(objs):
        for c in containers(w):
            words = argv(objs, c)
            if words[0] != 'nearup':
                continue
            seen.append(words[1])
            r = subprocess.run([NEARUP, *words[1:], '--help'], capture_output=True, text=True,
                               timeout=60)
            assert (r.returncode, r.stderr) == (0, ''), (words, r.stderr)
            assert r.stdout.startswith(f'usage: nearup {words[1]} '), r.stdout[:200]
    assert sorted(seen) == ['gateway', 'health', 'run']


def test_the_gateway_follows_the_headless_services(zone, tmp_path):
    ov, z, _, _, objs = zone
    svc = one(objs, 'Service', f'{ov}-near-rpc')
    assert svc['spec']['clusterIP'] == 'None' and svc['spec']['publishNotReadyAddresses'] is False
    node = container(one(objs, 'StatefulSet', f'{ov}-near-rpc'), 'node')
    (sport,) = svc['spec']['ports']
    assert port_of(node, sport['targetPort']) == sport['port'] == 3030
    text, ini = gateway_ini(objs, f'{ov}-')
    assert ini['gateway']['zone'] == z
    env = one(objs, 'ConfigMap', f'{ov}-nearup-env')['data']
    assert ini['gateway']['chain_id'] == env['NETWORK']
    ups = {s[len('upstream '):]: ini[s] for s in ini.sections() if s.startswith('upstream ')}
    assert sorted(ups) == sorted(v[0] for v in OVERLAYS.values())
    own = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local:{sport['port']}"
    assert own == f'{ov}-near-rpc.near.svc.cluster.local:3030'
    assert dict(ups[z]) == {'dns': own, 'zone': z}
    # the other zones' headless Services, as their overlays render them
    for other, (oz, _, _) in OVERLAYS.items():
        if other == ov:
            continue
        osvc = one(render(f'overlays/{other}'), 'Service', f'{other}-near-rpc')
        assert osvc['spec']['clusterIP'] == 'None'
        name = f"{osvc['metadata']['name']}.{osvc['metadata']['namespace']}.svc.cluster.local"
        assert dict(ups[oz]) == {'dns': f"{name}:{osvc['spec']['ports'][0]['port']}", 'zone': oz}
    # nearup gateway itself takes the file
    path = tmp_path / 'gateway.ini'
    path.write_text(text)
    r = subprocess.run([NEARUP, 'gateway', '-c', str(path), '--check'], capture_output=True,
                       text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, 'configuration ok: 3 upstreams\n', '')
    # the Deployment reads the file where the ConfigMap is mounted
    gw = one(objs, 'Deployment', f'{ov}-nearup-gateway')
    g = container(gw, 'gateway')
    conf = flag(argv(objs, g), '-c')
    (vol,) = [v for v in pod_spec(gw)['volumes'] if v.get('configMap', {}).get('name') ==
              f'{ov}-nearup-gateway']
    (mnt,) = [m for m in g['volumeMounts'] if m['name'] == vol['name']]
    assert conf == os.path.join(mnt['mountPath'], 'gateway.ini')


def test_services_and_budgets_select_their_pods_only(zone):
    ov, _, _, _, objs = zone
    everyone = [(other, w) for other in OVERLAYS for w in workloads(render(f'overlays/{other}'))]

    def selected(selector):
        return sorted(w['metadata']['name'] for _, w in everyone if selects(selector, pod_labels(w)))

    rpc_svc = one(objs, 'Service', f'{ov}-near-rpc')
    assert selected({'matchLabels': rpc_svc['spec']['selector']}) == [f'{ov}-near-rpc']
    gw_svc = one(objs, 'Service', f'{ov}-nearup-gateway')
    assert selected({'matchLabels': gw_svc['spec']['selector']}) == [f'{ov}-nearup-gateway']
    assert port_of(container(one(objs, 'Deployment', f'{ov}-nearup-gateway'), 'gateway'),
                   gw_svc['spec']['ports'][0]['targetPort']) == 3031
    for name in ('near-rpc', 'nearup-gateway'):
        pdb = one(objs, 'PodDisruptionBudget', f'{ov}-{name}')
        assert selected(pdb['spec']['selector']) == [f'{ov}-{name}']
    assert one(objs, 'PodDisruptionBudget', f'{ov}-near-rpc')['spec'] == {
        'maxUnavailable': 1, 'selector': one(objs, 'StatefulSet', f'{ov}-near-rpc')['spec']['selector']}
    # each controller's selector is its own pods'
    for w in workloads(objs):
        if w['kind'] != 'CronJob':
            assert selected(w['spec']['selector']) == [w['metadata']['name']]
    # the StatefulSet's governing Service is the headless one
    assert one(objs, 'StatefulSet', f'{ov}-near-rpc')['spec']['serviceName'] == f'{ov}-near-rpc'
    snapper = one(objs, 'StatefulSet', f'{ov}-near-snapshotter')
    assert 'serviceName' not in snapper['spec']
    assert pod_labels(snapper)['app.kubernetes.io/name'] == 'near-snapshotter'


def test_volumes_are_mounted_where_nearup_keeps_the_home(zone):
    ov, _, _, _, objs = zone
    rpc = one(objs, 'StatefulSet', f'{ov}-near-rpc')
    (vct,) = rpc['spec']['volumeClaimTemplates']
    words = argv(objs, container(rpc, 'node'))
    assert words[:4] == ['nearup', 'run', 'mainnet', '--foreground']
    home = flag(words, '--home')
    assert home == '/data/near'
    parent = os.path.dirname(home)

    def mount(c, vol):
        (m,) = [m for m in c['volumeMounts'] if m['name'] == vol]
        return m

    for name in ('node', 'restore'):
        c = container(rpc, name)
        assert mount(c, vct['metadata']['name'])['mountPath'] == parent
        env = env_of(objs, c)
        # nearup's cache and registry on the volume too, the rest read-only
        assert (env['HOME'], env['XDG_CACHE_HOME'], env['XDG_STATE_HOME']) == (
            parent, f'{parent}/cache', f'{parent}/state')
        assert c['securityContext']['readOnlyRootFilesystem'] is True
        assert mount(c, 'tmp')['mountPath'] == env['TMPDIR'] == '/tmp'
    assert env_of(objs, container(rpc, 'restore'))['NEAR_HOME'] == home
    health = mount(container(rpc, 'health'), vct['metadata']['name'])
    assert (health['mountPath'], health['readOnly']) == (parent, True)
    # the sidecar reads the home's chain check: unverified until it passes
    assert flag(argv(objs, container(rpc, 'health')), '--home') == home
    # the scripts the init containers run are the ConfigMap's files
    scripts = one(objs, 'ConfigMap', f'{ov}-nearup-scripts')['data']
    with open(RESTORE_SH) as fh:
        assert scripts['restore.sh'] == fh.read()
    snapper = one(objs, 'StatefulSet', f'{ov}-near-snapshotter')
    for w, name, script in ((rpc, 'restore', 'restore.sh'), (snapper, 'restore', 'restore.sh'),
                            (snapper, 'snapshotter', 'snapshotter.sh')):
        c = container(w, name)
        assert argv(objs, c)[0] == 'sh'
        path = argv(objs, c)[1]
        (vol,) = [v for v in pod_spec(w)['volumes'] if v['name'] == 'scripts']
        assert vol['configMap']['name'] == f'{ov}-nearup-scripts'
        assert path == os.path.join(mount(c, 'scripts')['mountPath'], script)
        assert script in scripts
        assert mount(c, 'data')['mountPath'] == parent
        assert env_of(objs, c)['NEAR_HOME'] == home
    (svct,) = snapper['spec']['volumeClaimTemplates']
    assert svct['metadata']['name'] == 'data'


def test_each_overlay_pins_its_pods_to_its_zone(zone):
    ov, z, n, active, objs = zone
    for w in workloads(objs):
        if w['kind'] == 'CronJob':
            continue  # it only runs kubectl; it may land in any zone
        terms = pod_spec(w)['affinity']['nodeAffinity'][
            'requiredDuringSchedulingIgnoredDuringExecution']['nodeSelectorTerms']
        assert terms == [{'matchExpressions': [
            {'key': 'topology.kubernetes.io/zone', 'operator': 'In', 'values': [z]}]}]
        assert pod_labels(w)['nearup-zone'] == z
    for name in ('near-rpc', 'near-snapshotter'):
        (vct,) = one(objs, 'StatefulSet', f'{ov}-{name}')['spec']['volumeClaimTemplates']
        assert vct['spec']['storageClassName'] == f'near-ssd-{z}'
    assert one(objs, 'StatefulSet', f'{ov}-near-rpc')['spec']['replicas'] == n
    assert one(objs, 'StatefulSet', f'{ov}-near-snapshotter')['spec']['replicas'] == (1 if active else 0)
    assert one(objs, 'CronJob', f'{ov}-near-snapshot')['spec']['suspend'] is (not active)


def test_one_snapshotter_for_the_region():
    running = [ov for ov in OVERLAYS
               if one(render(f'overlays/{ov}'), 'CronJob', f'{ov}-near-snapshot')['spec']['suspend']
               is False]
    assert running == ['zone-a']


def test_the_cronjob_execs_into_the_snapshotter_pod_as_rendered(zone):
    ov, _, _, _, objs = zone
    cron = one(objs, 'CronJob', f'{ov}-near-snapshot')
    assert cron['spec']['concurrencyPolicy'] == 'Forbid'
    assert cron['spec']['jobTemplate']['spec']['backoffLimit'] == 0
    (c,) = containers(cron)
    words = argv(objs, c)
    snapper = one(objs, 'StatefulSet', f'{ov}-near-snapshotter')
    pod = f"{snapper['metadata']['name']}-0"
    assert pod == f'{ov}-near-snapshotter-0'
    # the pod's own namespace, the pod's name from the ConfigMap near-snapshot
    assert words == ['kubectl', 'exec', f'--namespace={NAMESPACE}', pod,
                     '--container=snapshotter', '--', 'sh', '/etc/nearup/scripts/snapshot.sh']
    target = container(snapper, 'snapshotter')
    (m,) = [m for m in target['volumeMounts'] if m['name'] == 'scripts']
    assert os.path.join(m['mountPath'], 'snapshot.sh') == words[-1]
    assert 'snapshot.sh' in one(objs, 'ConfigMap', f'{ov}-nearup-scripts')['data']
    # what the Job may do: get and exec into that pod, nothing else
    sa = pod_spec(cron)['serviceAccountName']
    assert one(objs, 'ServiceAccount', sa)
    rb = one(objs, 'RoleBinding', f'{ov}-near-snapshot')
    assert rb['subjects'] == [{'kind': 'ServiceAccount', 'name': sa, 'namespace': NAMESPACE}]
    role = one(objs, 'Role', rb['roleRef']['name'])
    assert role['rules'] == [
        {'apiGroups': [''], 'resources': ['pods'], 'resourceNames': [pod], 'verbs': ['get']},
        {'apiGroups': [''], 'resources': ['pods/exec'], 'resourceNames': [pod], 'verbs': ['create']}]
    # kubectl's cache goes to a writable dir
    assert env_of(objs, c)['HOME'] == [m['mountPath'] for m in c['volumeMounts']
                                       if m['name'] == 'tmp'][0] == '/tmp'
    # the Job holds no credentials: the snapshotter's own env has them
    assert not any('secretRef' in e for e in c.get('envFrom', []))
    assert {'secretRef': {'name': 'nearup-snapshot-credentials', 'optional': True}} in \
        target['envFrom']


def test_monitors_scrape_this_zones_pods_with_the_expected_jobs(zone):
    ov, z, _, _, objs = zone
    pods = [w for w in workloads(objs) if w['kind'] != 'CronJob']
    others = [w for other in OVERLAYS if other != ov
              for w in workloads(render(f'overlays/{other}')) if w['kind'] != 'CronJob']
    pm = one(objs, 'PodMonitor', f'{ov}-near-nodes')
    chosen = [w for w in pods if selects(pm['spec']['selector'], pod_labels(w))]
    assert sorted(w['metadata']['name'] for w in chosen) == [f'{ov}-near-rpc', f'{ov}-near-snapshotter']
    assert not [w for w in others if selects(pm['spec']['selector'], pod_labels(w))]
    jobs = {}
    for ep in pm['spec']['podMetricsEndpoints']:
        assert ep['path'] == '/metrics'
        # a named port of the pods that have it
        assert any(port_of(c, ep['port']) for w in chosen for c in containers(w, init=False))
        rel = {r['targetLabel']: r for r in ep['relabelings']}
        jobs[ep['port']] = rel['job']['replacement']
        # the chain (monitoring/'s "cluster") is the nodes' NETWORK
        assert rel['cluster']['replacement'] == \
            one(objs, 'ConfigMap', f'{ov}-nearup-env')['data']['NETWORK']
        assert rel['zone']['sourceLabels'] == ['__meta_kubernetes_pod_label_nearup_zone']
    assert jobs == JOBS
    sm = one(objs, 'ServiceMonitor', f'{ov}-nearup-gateway')
    svcs = [s for s in by_kind(objs, 'Service') if selects(sm['spec']['selector'], s['metadata']['labels'])]
    assert [s['metadata']['name'] for s in svcs] == [f'{ov}-nearup-gateway']
    (ep,) = sm['spec']['endpoints']
    assert ep['port'] == svcs[0]['spec']['ports'][0]['name'] and ep['path'] == '/metrics'
    rel = {r['targetLabel']: r for r in ep['relabelings']}
    assert rel['job']['replacement'] == 'nearup-gateway'
    assert svcs[0]['metadata']['labels']['nearup-zone'] == z


def test_pods_run_unprivileged_and_stop_in_time(zone):
    ov, _, _, _, objs = zone
    env = one(objs, 'ConfigMap', f'{ov}-nearup-env')['data']
    for w in workloads(objs):
        spec = pod_spec(w)
        assert spec['securityContext']['runAsNonRoot'] is True
        assert spec['securityContext']['runAsUser'] != 0
        for c in containers(w):
            sc = c['securityContext']
            assert (sc['allowPrivilegeEscalation'], sc['readOnlyRootFilesystem'],
                    sc['capabilities']) == (False, True, {'drop': ['ALL']})
            assert 'memory' in c['resources']['limits'] and 'cpu' in c['resources']['requests']
    # the kubelet waits longer than nearup gives neard to stop
    for name in ('near-rpc', 'near-snapshotter'):
        w = one(objs, 'StatefulSet', f'{ov}-{name}')
        assert pod_spec(w)['terminationGracePeriodSeconds'] > int(env['STOP_TIMEOUT'])
    node = container(one(objs, 'StatefulSet', f'{ov}-near-rpc'), 'node')
    assert flag(argv(objs, node), '--stop-timeout') == env['STOP_TIMEOUT']
    # credentials never in a ConfigMap
    for cm in by_kind(objs, 'ConfigMap'):
        for k in cm['data']:
            assert 'SECRET' not in k and 'ACCESS_KEY' not in k and 'TOKEN' not in k, k


def test_the_images_are_the_kustomize_entries():
    with open(os.path.join(K8S, 'base', 'kustomization.yaml')) as fh:
        images = {i['name']: f"{i['newName']}:{i['newTag']}" for i in yaml.safe_load(fh)['images']}
    for ov in OVERLAYS:
        for w in workloads(render(f'overlays/{ov}')):
            for c in containers(w):
                assert c['image'] in images.values(), c['image']
    assert images['nearup'].endswith(':0.1.0')


# ---- the init container's script, run for real ----

def test_the_scripts_pass_shellcheck():
    tool = shutil.which('shellcheck')
    assert tool, 'shellcheck is not installed: run `make deps`'
    names = sorted(os.listdir(SCRIPTS))
    assert names == ['restore.sh', 'snapshot.sh', 'snapshotter.sh']
    r = subprocess.run([tool, '--shell=sh', *[os.path.join(SCRIPTS, n) for n in names]],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, '', '')


def script(nu, path, **env):
    """sh SCRIPT with the given settings, as the test user, in nu's env."""
    full = dict(nu.env, NEARUP=NEARUP)
    for k in ('NETWORK', 'STORE', 'NEAR_HOME', 'VERIFY_WITH', 'VERIFY_QUORUM', 'VERIFY_KEY',
              'S3_ENDPOINT',
              'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'RESTORE_EMPTY_STORE'):
        full.pop(k, None)
    full.update({k: str(v) for k, v in env.items()})
    return subprocess.run(['sh', path], capture_output=True, text=True, env=full, timeout=180)


def expected_files(store, m):
    out = {}
    for f in m['files']:
        data = b''.join(chunk_plain(store, c['sha256']) for c in f['chunks'])
        out[f['path']] = hashlib.sha256(data).hexdigest()
    return out


def mtimes(root):
    return {os.path.join(d, n): os.stat(os.path.join(d, n)).st_mtime_ns
            for d, _, files in os.walk(str(root)) for n in files}


@pytest.fixture
def source(nu, tmp_path):
    """A simnet node snapshotted once as 's1' into the dir store tmp/store
    (then stopped)."""
    home = make_home(tmp_path / 'src', age_s=10)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 40)
    store = tmp_path / 'store'
    _, doc = snap(nu, 'create', '--home', home, '--to', store, '--name', 's1')
    nu.ok('stop', '--home', home)
    return home, store, doc


def test_restore_sh_restores_an_empty_home_then_leaves_its_data_alone(nu, tmp_path, source):
    src, store, d = source
    dst = twin_home(src, tmp_path / 'dst')
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=store, NEAR_HOME=dst, RESTORE_PARALLEL=2)
    assert (r.returncode, r.stderr) == (0, ''), r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f'restore.sh: restoring the latest snapshot of {store} into {dst}'
    assert lines[1].startswith(f"nearup snapshot restore: restored s1 (simnet, height {d['height']}) "
                               f"into {dst}/data: {d['files']} files, ")
    assert lines[-1] == 'restore.sh: restored; the node container starts neard on it'
    data = os.path.join(dst, 'data')
    assert tree_hashes(data) == expected_files(store, manifest(store, 's1'))
    before = (tree_hashes(data), mtimes(dst))
    # the pod restarts: the volume has data now, and nothing is touched
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=store, NEAR_HOME=dst)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, f'restore.sh: {data} already holds data; not restoring\n', '')
    assert (tree_hashes(data), mtimes(dst)) == before
    # even a store that is gone by then does not matter
    shutil.rmtree(store)
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=store, NEAR_HOME=dst)
    assert (r.returncode, r.stdout) == (0, f'restore.sh: {data} already holds data; not restoring\n')


def test_restore_sh_fails_on_a_broken_store_and_leaves_the_home_empty(nu, tmp_path, source):
    src, store, _ = source
    dst = twin_home(src, tmp_path / 'dst')
    m = manifest(store, 's1')
    sha = max((c for f in m['files'] for c in f['chunks']), key=lambda c: c['size'])['sha256']
    chunk = os.path.join(store, 'chunks', sha[:2], sha)
    with open(chunk, 'r+b') as fh:
        fh.seek(20)
        b = fh.read(1)
        fh.seek(20)
        fh.write(bytes([b[0] ^ 0xff]))
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=store, NEAR_HOME=dst)
    assert r.returncode == 1, r.stdout + r.stderr
    err = r.stderr.splitlines()
    assert err[-1] == (f'restore.sh: nearup snapshot restore failed (exit 1); see its error above; '
                       f'{dst}/data is left as it was')
    assert err[0].startswith('nearup snapshot restore: ') and sha[:12] in r.stderr
    assert not os.path.exists(os.path.join(dst, 'data')) or os.listdir(os.path.join(dst, 'data')) == []
    # a store's credentials are never shown
    secret = 'http://alice:s3cr3t@127.0.0.1:1/snaps'
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=secret, NEAR_HOME=dst)
    assert r.returncode == 1
    assert r.stdout == (f'restore.sh: restoring the latest snapshot of http://***@127.0.0.1:1/snaps '
                        f'into {dst}\n')
    assert 's3cr3t' not in r.stdout + r.stderr and 'http://***@127.0.0.1:1' in r.stderr
    # a store without any snapshot: an error for an RPC node ...
    empty = tmp_path / 'empty'
    os.makedirs(empty)
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=empty, NEAR_HOME=dst)
    assert r.returncode == 1 and r.stderr.splitlines()[-1].startswith(
        'restore.sh: nearup snapshot restore failed (exit 1)'), r.stderr
    # ... and a node that syncs from the network for the first snapshotter
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=empty, NEAR_HOME=dst, RESTORE_EMPTY_STORE='sync')
    assert (r.returncode, r.stdout, r.stderr) == (
        0, f'restore.sh: store {empty} has no snapshot yet; the node syncs from the network\n', '')
    # settings it cannot do without
    r = script(nu, RESTORE_SH, STORE=store, NEAR_HOME=dst)
    assert (r.returncode, r.stderr) == (1, 'restore.sh: NETWORK is not set; set it in the ConfigMap '
                                           'nearup-env (mainnet, testnet, ...)\n')
    r = script(nu, RESTORE_SH, NETWORK='simnet', NEAR_HOME=dst)
    assert (r.returncode, r.stderr) == (1, 'restore.sh: STORE is not set; set it in the ConfigMap '
                                           'nearup-env (s3://bucket/prefix, https://..., /path)\n')
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=store, NEAR_HOME=dst, VERIFY_QUORUM=1)
    assert (r.returncode, r.stderr) == (1, 'restore.sh: VERIFY_QUORUM is set but VERIFY_WITH names '
                                           'no reference RPC\n')
    assert not os.path.exists(os.path.join(dst, 'data')) or os.listdir(os.path.join(dst, 'data')) == []
    # VERIFY_KEY becomes --verify-key: the unsigned s1 is refused, nothing restored
    pk = load_json(os.path.join(src, 'validator_key.json'))['public_key']
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=store, NEAR_HOME=dst, VERIFY_KEY=pk)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        'nearup snapshot restore: snapshot s1 is not signed, and --verify-key requires a signature',
        'restore.sh: nearup snapshot restore failed (exit 1); see its error above; '
        f'{dst}/data is left as it was']
    assert not os.path.exists(os.path.join(dst, 'data')) or os.listdir(os.path.join(dst, 'data')) == []


def test_restore_sh_hands_the_chain_check_to_nearup(nu, tmp_path, source):
    """VERIFY_WITH and VERIFY_QUORUM become --verify-with URL... and
    --verify-quorum N of `nearup snapshot restore`."""
    src, store, d = source
    dst = twin_home(src, tmp_path / 'dst')
    # the source node, up again, is a reference whose chain is the snapshot's
    _, port = nu.run_node(src, '--restart', 'no')
    ref = f'http://127.0.0.1:{port}'
    r = script(nu, RESTORE_SH, NETWORK='simnet', STORE=store, NEAR_HOME=dst,
               VERIFY_WITH=f'{ref},http://127.0.0.1:1', VERIFY_QUORUM=1)
    assert r.returncode == 0, r.stdout + r.stderr
    assert tree_hashes(os.path.join(dst, 'data')) == expected_files(store, manifest(store, 's1'))
    nu.ok('stop', '--home', src)


def test_restore_sh_bootstraps_a_volume_without_a_home_from_s3(nu, tmp_path, bucket):
    """The first start of a pod: nothing on the volume. nearup run
    --from-snapshot initialises the home (testnet, from the local release
    bucket), restores from an S3 store (s3rver), starts neard once; the
    script stops it again."""
    from test_snapshot_s3 import BUCKET, S3rver
    os.makedirs(tmp_path / 's3')
    s3 = S3rver(tmp_path / 's3')
    try:
        for k in ('AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_SESSION_TOKEN'):
            nu.env.pop(k, None)
        # what the Secret nearup-snapshot-credentials holds
        nu.env.update(AWS_ACCESS_KEY_ID='S3RVER', AWS_SECRET_ACCESS_KEY='S3RVER',
                      AWS_REGION='us-east-1')
        src = tmp_path / 'src'
        port = free_port()
        nu.ok('run', 'testnet', '--home', src, '--binary-path', NEARD_SIM, '--release-url',
              bucket.url, '--rpc-addr', f'127.0.0.1:{port}', '--network-addr',
              f'127.0.0.1:{free_port()}', '--restart', 'no')
        wait_head(port, 20)
        nu.ok('restart', '--home', src)  # neard flushes its blocks into an .sst at the stop
        wait_head(port, head(port) + 2)
        store = f's3://{BUCKET}/testnet/rpc'
        _, d = snap(nu, 'create', '--home', src, '--to', store, '--s3-endpoint', s3.url,
                    '--name', 's1')
        nu.ok('stop', '--home', src)
        m = json.loads(s3.object('testnet/rpc/manifests/s1.json'))
        sst = [f for f in m['files'] if f['path'].endswith('.sst')]
        assert sst
        vol = tmp_path / 'vol'
        os.makedirs(vol)
        home = vol / 'near'
        rpc = free_port()
        settings = dict(NETWORK='testnet', STORE=store, S3_ENDPOINT=s3.url, NEAR_HOME=home,
                        NEARD_BINARY=NEARD_SIM, RELEASE_URL=bucket.url,
                        RPC_ADDR=f'127.0.0.1:{rpc}', NETWORK_ADDR=f'127.0.0.1:{free_port()}',
                        READY_TIMEOUT=60, STOP_TIMEOUT=10)
        r = script(nu, RESTORE_SH, **settings)
        assert r.returncode == 0, r.stdout + r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == (f'restore.sh: {home} has no home yet: nearup run initialises it and '
                            f'restores {store}, starts neard once, then stops it')
        assert f"nearup run: restored snapshot s1 (height {d['height']}, {d['files']} files) " \
               f"into {home}/data" in lines
        assert lines[-2].startswith('nearup stop: stopped neard (pid ')
        assert lines[-1] == 'restore.sh: restored; the node container starts neard on it'
        # the snapshot's files are there (RocksDB never rewrites an .sst),
        # the home is testnet's, and nothing runs any more
        for f in sst:
            with open(os.path.join(home, 'data', f['path']), 'rb') as fh:
                data = fh.read()
            assert len(data) == f['size']
            cut = [data[i:i + m['chunk_size']] for i in range(0, len(data), m['chunk_size'])]
            assert [hashlib.sha256(c).hexdigest() for c in cut] == [c['sha256'] for c in f['chunks']]
        with open(home / 'genesis.json') as fh:
            assert json.load(fh)['chain_id'] == 'testnet'
        assert neards_of(home) == []
        r = script(nu, RESTORE_SH, **settings)
        assert (r.returncode, r.stdout, r.stderr) == (
            0, f'restore.sh: {home}/data already holds data; not restoring\n', '')
    finally:
        s3.stop()


# ---- the snapshotter's scheduled snapshot, run for real ----

def test_snapshot_sh_snapshots_a_synced_node_and_prunes(nu, tmp_path):
    home = make_home(tmp_path / 'snapper', age_s=5)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 30)
    store = tmp_path / 'store'
    names = []
    for _ in range(2):
        h = head(port)
        r = script(nu, SNAPSHOT_SH, STORE=store, NEAR_HOME=home, SNAPSHOT_KEEP=1, STOP_TIMEOUT=10)
        assert r.returncode == 0, r.stdout + r.stderr
        names.append(latest(store))
        assert manifest(store, names[-1])['block_height'] >= h
        wait_head(port, head(port) + 2)
    # prune kept one snapshot: the newest; the node runs again after each
    assert manifests_in(store) == [f'{names[-1]}.json']
    assert names[0] != names[1]
    assert head(port) > 0
    nu.ok('stop', '--home', home)
    # a node that is not up gets no snapshot
    r = script(nu, SNAPSHOT_SH, STORE=store, NEAR_HOME=home)
    assert (r.returncode, r.stderr) == (1, f'snapshot.sh: the node of {home} is down, not up; '
                                           'no snapshot taken\n')
    assert manifests_in(store) == [f'{names[-1]}.json']


def test_snapshotter_sh_keeps_the_node_running_across_snapshots(nu, tmp_path):
    """The snapshotter's main process runs the node detached, so a snapshot
    (which stops and starts the supervisor) does not end the container; on
    SIGTERM it stops the node and exits 0."""
    home = make_home(tmp_path / 'snapper', age_s=5)
    rpc = free_port()
    env = dict(nu.env, NEARUP=NEARUP, NETWORK='simnet', NEAR_HOME=str(home),
               NEARD_BINARY=NEARD_SIM, RPC_ADDR=f'127.0.0.1:{rpc}',
               NETWORK_ADDR=f'127.0.0.1:{free_port()}', METRICS_LISTEN=f'127.0.0.1:{free_port()}',
               STOP_TIMEOUT='10', READY_TIMEOUT='60')
    nu.homes.add(str(home))
    log = open(tmp_path / 'snapshotter.log', 'w+')
    keeper = subprocess.Popen(['sh', os.path.join(SCRIPTS, 'snapshotter.sh')], env=env,
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_head(rpc, 30, timeout=60)
        store = tmp_path / 'store'
        r = script(nu, SNAPSHOT_SH, STORE=store, NEAR_HOME=home, STOP_TIMEOUT=10)
        assert r.returncode == 0, r.stdout + r.stderr
        assert manifests_in(store) == [f'{latest(store)}.json']
        # the node is back, under a new supervisor, and the keeper still runs
        h = head(rpc)
        wait_head(rpc, h + 2)
        assert keeper.poll() is None
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(30) == 0
        assert neards_of(home) == []
        log.seek(0)
        out = log.read()
        assert f'nearup run: neard 2.4.0 running for {home}' in out
        assert 'nearup stop: stopped neard (pid ' in out
        # neard's own log reached stdout (kubectl logs)
        assert 'INFO' in out
    finally:
        if keeper.poll() is None:
            keeper.kill()
            keeper.wait()
        log.close()
