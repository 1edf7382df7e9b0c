"""deploy/terraform: the GCP module and its example, checked without a
terraform binary. Every .tf file parses (HashiCorp's HCL parser, npm
@cdktf/hcl2json, through hcl_parse.cjs); every variable is typed,
documented, validated where its values are constrained, used, and listed
in the module's README with its default; every reference resolves; the
example passes every required variable. The startup scripts are rendered
the way templatefile() renders them (render() below refuses whatever it
does not support) and run for real, paths in a temp dir: nearup comes from
a local "release" server (the build's own binaries in a tarball), neard-sim
is neard in a local release bucket, the snapshot is in s3rver and the HMAC
key in a local stand-in of the GCE metadata server, until nearup health
answers 200 on /healthcheck."""
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tarfile
import threading
import urllib.error
import urllib.request

import pytest

from conftest import NEARD_SIM, NEARUP, ROOT, free_port, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from nodeutil import Nearup, alive, read_pidfile  # noqa: E402
from snaputil import head, snap, status, wait_head  # noqa: E402
from test_snapshot_s3 import BUCKET as S3_BUCKET, S3rver  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TF = os.path.join(ROOT, 'deploy', 'terraform')
MODULE = os.path.join(TF, 'gcp')
EXAMPLE = os.path.join(TF, 'examples', 'mainnet-rpc')
TEMPLATES = os.path.join(MODULE, 'templates')
HCL_PARSE = os.path.join(HERE, 'hcl_parse.cjs')
ANALYZE = '/usr/bin/systemd-analyze'
SUPERVISOR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(NEARUP))), 'node',
                          'nearup-supervisor')
VERSION = '2.4.0'
REFERENCE_KINDS = {'var', 'local', 'data', 'module', 'each', 'count', 'path', 'self',
                   'terraform'}

# Variables that take any value of their type, so need no validation block.
UNCONSTRAINED = {'http_enabled', 'snapshot_public_read', 'snapshot_enabled',
                 'snapshotter_archival', 'subnetworks', 'labels'}


# ---- parsing (hcl_parse.cjs) ----

def tf_files(d):
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith('.tf'))


def hcl_parse(*files):
    r = subprocess.run([shutil.which('node'), HCL_PARSE, *files], capture_output=True,
                       text=True, timeout=60)
    return r


@pytest.fixture(scope='module')
def parsed():
    files = tf_files(MODULE) + tf_files(EXAMPLE)
    r = hcl_parse(*files)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def blocks(parsed, d, kind):
    """{name or (type, name): body} of one kind of block over a directory's files."""
    out = {}
    for f, doc in parsed.items():
        if os.path.dirname(f) != d:
            continue
        body = doc['body']
        if kind == 'locals':
            for blk in body.get('locals', []):
                for k, v in blk.items():
                    assert k not in out, f'local.{k} defined twice'
                    out[k] = v
        elif kind in ('resource', 'data'):
            for typ, byname in body.get(kind, {}).items():
                for name, bodies in byname.items():
                    assert (typ, name) not in out, f'{kind} {typ}.{name} defined twice'
                    out[(typ, name)] = bodies[0]
        else:
            for name, bodies in body.get(kind, {}).items():
                assert name not in out, f'{kind} {name} defined twice'
                out[name] = bodies[0]
    return out


def refs_of(parsed, d):
    """[(file, json path, reference)] of a directory's files."""
    out = []
    for f, doc in parsed.items():
        if os.path.dirname(f) == d:
            for item in doc['refs']:
                out.extend((f, item['at'], ref) for ref in item['refs'])
    return out


def unexpr(s):
    """'${string}' -> 'string'."""
    assert s.startswith('${') and s.endswith('}'), s
    return s[2:-1]


# ---- the renderer: what templatefile() does with ${name}, $${ and %%{ ----

class TemplateError(Exception):
    pass


TOKEN = re.compile(r'\$\$\{|%%\{|\$\{|%\{')


def render(text, values):
    """The template text with ${name} replaced by values[name] (a str), $${
    and %%{ unescaped, as templatefile() does; anything else templatefile()
    would evaluate (expressions, %{ directives, ~ strip markers, unknown
    names, non-string values) is refused. Returns (text, names used)."""
    out, used, i = [], set(), 0
    while True:
        m = TOKEN.search(text, i)
        if m is None:
            out.append(text[i:])
            return ''.join(out), used
        out.append(text[i:m.start()])
        tok = m.group()
        line = text.count('\n', 0, m.start()) + 1
        if tok in ('$${', '%%{'):
            out.append(tok[1:])
            i = m.end()
            continue
        if tok == '%{':
            raise TemplateError(f'line {line}: template directive %{{: not supported')
        end = text.find('}', m.end())
        name = text[m.end():end] if end >= 0 else ''
        if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', name):
            raise TemplateError(f'line {line}: ${{{name}}} is not a plain variable')
        if name not in values:
            raise TemplateError(f'line {line}: no value for ${{{name}}}')
        if not isinstance(values[name], str):
            raise TemplateError(f'line {line}: ${{{name}}} is not a string')
        out.append(values[name])
        used.add(name)
        i = end + 1


def template_calls(parsed):
    """{template file name: [locals merged into its variables]} from main.tf's
    templatefile("${path.module}/templates/X", merge(local.A, local.B))."""
    loc = blocks(parsed, MODULE, 'locals')
    calls = {}
    for v in loc.values():
        if isinstance(v, str) and 'templatefile(' in v:
            m = re.fullmatch(r'\$\{templatefile\("\$\{path\.module\}/templates/([^"]+)",\s*'
                             r'merge\(local\.(\w+), local\.(\w+)\)\)\}', v)
            assert m, f'templatefile call not understood: {v}'
            calls[m.group(1)] = [m.group(2), m.group(3)]
    return calls


def template_vars(parsed, name):
    """The variable names main.tf gives template `name`."""
    loc = blocks(parsed, MODULE, 'locals')
    names = set()
    for part in template_calls(parsed)[name]:
        assert isinstance(loc[part], dict), part
        assert not names & set(loc[part]), f'{part} repeats a variable'
        names |= set(loc[part])
    return names


def lib_text():
    with open(os.path.join(TEMPLATES, 'nearup-lib.sh')) as fh:
        return fh.read()


def render_script(name, values):
    with open(os.path.join(TEMPLATES, name)) as fh:
        text, used = render(fh.read(), values)
    assert used == set(values), f'{name} does not use {sorted(set(values) - used)}'
    return text


# ---- static checks ----

def test_every_tf_file_parses_and_a_broken_one_does_not(parsed, tmp_path):
    files = tf_files(MODULE) + tf_files(EXAMPLE)
    assert [os.path.basename(f) for f in tf_files(MODULE)] == [
        'firewall.tf', 'lb.tf', 'main.tf', 'nodes.tf', 'outputs.tf', 'snapshotter.tf',
        'storage.tf', 'variables.tf', 'versions.tf']
    assert [os.path.basename(f) for f in tf_files(EXAMPLE)] == [
        'main.tf', 'outputs.tf', 'variables.tf', 'versions.tf']
    assert sorted(parsed) == sorted(files)
    assert all(parsed[f]['body'] for f in files)
    bad = tmp_path / 'bad.tf'
    bad.write_text('resource "google_compute_address" "a" {\n  name = \n}\n')
    r = hcl_parse(files[0], str(bad))
    assert r.returncode == 1 and r.stdout == ''
    assert r.stderr.startswith(f'{bad}: parse config: [bad.tf:2,'), r.stderr


def test_provider_is_pinned(parsed):
    for d in (MODULE, EXAMPLE):
        tf = parsed[os.path.join(d, 'versions.tf')]['body']['terraform'][0]
        assert tf['required_version'] == '>= 1.3'
        assert tf['required_providers'] == [{'google': {'source': 'hashicorp/google',
                                                        'version': '>= 5.0, < 7.0'}}]


def test_every_variable_is_typed_documented_and_validated(parsed):
    variables = blocks(parsed, MODULE, 'variable')
    assert len(variables) == 41
    for name, v in variables.items():
        assert re.fullmatch(r'[a-z][a-z0-9_]*', name), name
        assert unexpr(v['type']) in ('string', 'number', 'bool', 'list(string)',
                                     'map(string)'), (name, v['type'])
        d = v.get('description', '')
        assert len(d) > 20 and d.endswith('.') and d[0].isalnum(), (name, d)
        for val in v.get('validation', []):
            assert f'var.{name}' in val['condition'], (name, val)
            assert val['error_message'].endswith('.'), (name, val)
    assert {n for n, v in variables.items() if not v.get('validation')} == UNCONSTRAINED
    # the constrained values named in the issue, exactly
    zones = [val['condition'] for val in variables['zones']['validation']]
    assert zones[0] == '${length(var.zones) > 0}'
    assert variables['network']['validation'][0]['condition'] == \
        '${contains(["mainnet", "testnet", "betanet"], var.network)}'
    assert 'default' not in variables['network']  # a fleet's network is chosen, not defaulted
    assert variables['nearup_sha256']['validation'][0]['condition'] == \
        '${can(regex("^[0-9a-f]{64}$", var.nearup_sha256))}'
    # values that reach the startup scripts' single-quoted words: no quote, no blank
    for name in ('nearup_url', 'release_url', 'health_reference', 'snapshotter_bootstrap_store'):
        assert "[^'\\\\s" in variables[name]['validation'][0]['condition'], name


def test_every_variable_used_is_declared_and_every_declared_one_is_used(parsed):
    for d in (MODULE, EXAMPLE):
        declared = set(blocks(parsed, d, 'variable'))
        # (a variable's own validation names it, which is not a use)
        used = {ref.split('.')[1] for _, at, ref in refs_of(parsed, d)
                if ref.startswith('var.') and at[0] != 'variable'}
        assert used == declared, (d, sorted(used ^ declared))


def in_block_with(body, at, key):
    """True when a block on the path `at` (inside body) has attribute key."""
    node = body
    for step in at:
        if isinstance(node, dict) and key in node:
            return True
        node = node[step]
    return False


def dynamic_labels(at):
    return {at[i + 1] for i in range(len(at) - 1) if at[i] == 'dynamic'}


def test_every_reference_resolves(parsed):
    for d in (MODULE, EXAMPLE):
        variables = set(blocks(parsed, d, 'variable'))
        loc = set(blocks(parsed, d, 'locals'))
        resources = blocks(parsed, d, 'resource')
        data = set(blocks(parsed, d, 'data'))
        modules = set(blocks(parsed, d, 'module'))
        checked = 0
        for f, at, ref in refs_of(parsed, d):
            body = parsed[f]['body']
            if at[0] == 'variable' and at[3] == 'type':
                continue  # a type constraint such as string
            parts = ref.split('.')
            kind = parts[0]
            if kind == 'var':
                assert parts[1] in variables, (f, at, ref)
            elif kind == 'local':
                assert parts[1] in loc, (f, at, ref)
            elif kind == 'data':
                assert (parts[1], parts[2]) in data, (f, at, ref)
            elif kind == 'module':
                assert parts[1] in modules, (f, at, ref)
            elif kind == 'each':
                assert parts[1] in ('key', 'value') and in_block_with(body, at, 'for_each'), \
                    (f, at, ref)
            elif kind == 'count':
                assert parts[1] == 'index' and in_block_with(body, at, 'count'), (f, at, ref)
            elif kind == 'path':
                assert parts[1] == 'module', (f, at, ref)
            elif kind in dynamic_labels(at):
                assert parts[1] in ('key', 'value'), (f, at, ref)
            else:
                assert kind not in REFERENCE_KINDS, (f, at, ref)
                res = resources.get((parts[0], parts[1]))
                assert res is not None, f'{f}: {ref} names no resource'
                if 'count' in res:  # one of count's instances, by number
                    assert len(parts) > 2 and parts[2].isdigit(), (f, at, ref)
                else:
                    assert len(parts) == 2 or not parts[2].isdigit(), (f, at, ref)
            checked += 1
        assert checked > (150 if d == MODULE else 8), (d, checked)


def test_module_outputs_and_the_example(parsed):
    outputs = blocks(parsed, MODULE, 'output')
    assert outputs['lb_address']['value'] == '${google_compute_global_address.lb.address}'
    assert outputs['bucket']['value'] == '${google_storage_bucket.snapshots.name}'
    assert set(outputs) == {'lb_address', 'rpc_url', 'bucket', 'snapshot_store',
                            'node_snapshot_store', 'instance_groups', 'snapshotter',
                            'node_service_account', 'snapshotter_service_account'}
    assert all(len(o['description']) > 10 for o in outputs.values())

    variables = blocks(parsed, MODULE, 'variable')
    mod = blocks(parsed, EXAMPLE, 'module')['rpc']
    assert mod['source'] == '../../gcp'
    args = set(mod) - {'source'}
    assert args <= set(variables), sorted(args - set(variables))
    required = {n for n, v in variables.items() if 'default' not in v}
    assert required == {'network', 'zones', 'nearup_url', 'nearup_sha256', 'bucket_name'}
    assert required <= args, sorted(required - args)
    assert mod['network'] == 'mainnet'
    for _, _, ref in refs_of(parsed, EXAMPLE):
        if ref.startswith('module.rpc.'):
            assert ref.split('.')[2] in outputs, ref
    example_outputs = blocks(parsed, EXAMPLE, 'output')
    assert example_outputs['lb_address']['value'] == '${module.rpc.lb_address}'
    assert example_outputs['bucket']['value'] == '${module.rpc.bucket}'


def hcl_literal(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return str(int(v)) if float(v).is_integer() else str(v)
    return json.dumps(v, separators=(', ', ': '))


def test_readme_variables_table_matches_variables_tf(parsed):
    with open(os.path.join(MODULE, 'README.md')) as fh:
        text = fh.read()
    section = text.split('\n## Variables\n', 1)[1].split('\n## ', 1)[0]
    rows = [line for line in section.splitlines() if line.startswith('| `')]
    table = {}
    for line in rows:
        cells = [c.strip() for c in line.strip().strip('|').split(' | ')]
        assert len(cells) == 4, line
        name = cells[0].strip('`')
        assert name not in table, name
        table[name] = cells[1:]
    variables = blocks(parsed, MODULE, 'variable')
    assert set(table) == set(variables), sorted(set(table) ^ set(variables))
    for name, v in variables.items():
        typ, default, desc = table[name]
        assert typ == f'`{unexpr(v["type"])}`', name
        want = f'`{hcl_literal(v["default"])}`' if 'default' in v else '(required)'
        assert default == want, (name, default, want)
        assert desc == v['description'], name


def test_the_load_balancer_health_checks_and_the_snapshotter(parsed):
    res = blocks(parsed, MODULE, 'resource')
    for hc in ('lb', 'autohealing'):
        http = res[('google_compute_health_check', hc)]['http_health_check'][0]
        assert http == {'port': '${var.health_port}', 'port_specification': 'USE_FIXED_PORT',
                        'request_path': '/healthcheck'}, hc
    bs = res[('google_compute_backend_service', 'rpc')]
    assert bs['load_balancing_scheme'] == 'EXTERNAL_MANAGED'
    assert bs['health_checks'] == ['${google_compute_health_check.lb.id}']
    assert bs['port_name'] == 'rpc'
    backend = bs['dynamic']['backend'][0]
    assert backend['for_each'] == '${google_compute_instance_group_manager.rpc}'
    assert backend['content'][0]['group'] == '${backend.value.instance_group}'
    mig = res[('google_compute_instance_group_manager', 'rpc')]
    assert mig['for_each'] == '${toset(var.zones)}'
    assert mig['named_port'][0] == {'name': 'rpc', 'port': '${var.rpc_port}'}
    assert mig['auto_healing_policies'] == [{
        'health_check': '${google_compute_health_check.autohealing.id}',
        'initial_delay_sec': '${var.autohealing_initial_delay_sec}'}]
    assert 'target_size' not in mig  # the autoscaler sizes it
    assert res[('google_compute_autoscaler', 'rpc')]['target'] == \
        '${google_compute_instance_group_manager.rpc[each.key].id}'
    for rule in ('http', 'https'):
        fr = res[('google_compute_global_forwarding_rule', rule)]
        assert fr['load_balancing_scheme'] == 'EXTERNAL_MANAGED'
        assert fr['ip_address'] == '${google_compute_global_address.lb.id}'
    assert res[('google_compute_firewall', 'lb_to_rpc')]['source_ranges'] == \
        '${local.google_lb_ranges}'
    assert blocks(parsed, MODULE, 'locals')['google_lb_ranges'] == ['130.211.0.0/22',
                                                                     '35.191.0.0/16']
    public = res[('google_storage_bucket_iam_member', 'public_read')]
    assert (public['count'], public['role'], public['member']) == (
        '${var.snapshot_public_read ? 1 : 0}', 'roles/storage.legacyObjectReader', 'allUsers')
    assert res[('google_storage_bucket', 'snapshots')]['force_destroy'] is False
    # The snapshotter is an instance of its own: no group, no backend names it.
    assert ('google_compute_instance', 'snapshotter') in res
    lb_refs = [ref for _, at, ref in refs_of(parsed, MODULE)
               if at[:2] in (['resource', 'google_compute_backend_service'],
                             ['resource', 'google_compute_instance_group_manager'])]
    assert lb_refs and not any('snapshotter' in r for r in lb_refs), lb_refs
    tmpl = res[('google_compute_instance_template', 'rpc')]
    assert tmpl['metadata'] == ('${merge(local.node_key_metadata, {\n'
                                '    startup-script = local.rpc_node_script\n  })}')


def test_template_variables_and_the_renderer(parsed):
    calls = template_calls(parsed)
    assert calls == {'rpc-node.sh.tftpl': ['script_common', 'rpc_node_vars'],
                     'snapshotter.sh.tftpl': ['script_common', 'snapshotter_vars']}
    loc = blocks(parsed, MODULE, 'locals')
    assert loc['script_common']['lib'] == '${file("${path.module}/templates/nearup-lib.sh")}'
    for name in calls:
        with open(os.path.join(TEMPLATES, name)) as fh:
            text = fh.read()
        names = template_vars(parsed, name)
        values = {n: 'x' for n in names}
        values['lib'] = lib_text()
        out, used = render(text, values)
        assert used == names, (name, sorted(names ^ used))
        assert out.startswith('#!/bin/sh\n')
        r = subprocess.run(['sh', '-n'], input=out, capture_output=True, text=True)
        assert (r.returncode, r.stderr) == (0, ''), name
    # what the renderer refuses, as templatefile() would have evaluated it
    for bad, why in [('%{ if x }y%{ endif }', 'line 1: template directive %{: not supported'),
                     ('a\n${var.x}', 'line 2: ${var.x} is not a plain variable'),
                     ('${~x}', 'line 1: ${~x} is not a plain variable'),
                     ('${ x }', 'line 1: ${ x } is not a plain variable'),
                     ('${y}', 'line 1: no value for ${y}'),
                     ('${n}', 'line 1: ${n} is not a string')]:
        with pytest.raises(TemplateError) as e:
            render(bad, {'x': 'v', 'n': 3})
        assert str(e.value) == why
    assert render('$${HOME} %%{x} ${x}', {'x': 'v'}) == ('${HOME} %{x} v', {'x'})


# ---- the scripts, run ----

class MetadataServer:
    """The GCE metadata server's instance attributes, on 127.0.0.1: answers
    only requests with Metadata-Flavor: Google, as the real one does."""

    def __init__(self, attributes):
        self.attributes = dict(attributes)
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.requests.append((self.path, self.headers.get('Metadata-Flavor')))
                key = self.path.rsplit('/', 1)[1]
                if self.headers.get('Metadata-Flavor') != 'Google':
                    code, body = 403, b'Missing Metadata-Flavor:Google header.\n'
                elif key in outer.attributes and self.path.startswith('/attributes/'):
                    code, body = 200, outer.attributes[key].encode()
                else:
                    code, body = 404, b'not found\n'
                self.send_response(code)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.srv.server_address[1]}/attributes'
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def release_tarball():
    """bin/nearup and bin/nearup-supervisor of this build, as a release has them."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, path in (('bin/nearup', os.path.realpath(NEARUP)), ('bin/nearup-supervisor',
                                                                        SUPERVISOR)):
            tar.add(path, arcname=name)
    return buf.getvalue()


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """What both scripts use: the release bucket (neard-sim as neard 2.4.0,
    and the nearup tarball), s3rver holding a snapshot of a testnet node that
    keeps running as the reference, and the metadata server with s3rver's
    key. Everything is stopped at the end."""
    from bucket import Bucket
    assert os.path.isfile(SUPERVISOR), SUPERVISOR
    root = tmp_path_factory.mktemp('tfworld')
    bucket = Bucket(NEARD_SIM)
    s3dir = root / 's3'
    s3dir.mkdir()
    s3 = S3rver(s3dir)
    nu = Nearup(root / 'src')
    try:
        bucket.add_release('testnet', VERSION)
        tarball = release_tarball()
        bucket.put('nearup/nearup-linux.tar.gz', tarball)
        src = str(root / 'src' / 'home')
        rpc_port = free_port()
        nu.ok('run', 'testnet', '--home', src, '--release-url', bucket.url, '--neard-version',
              VERSION, '--rpc-addr', f'127.0.0.1:{rpc_port}', '--network-addr',
              f'127.0.0.1:{free_port()}')
        wait_head(rpc_port, 30)
        store = f's3://{S3_BUCKET}/testnet/rpc'
        for k in ('AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL'):
            nu.env.pop(k, None)
        _, snapshot = snap(nu, 'create', '--home', src, '--to', store, '--name', 'tf1',
                           env={'AWS_ACCESS_KEY_ID': 'S3RVER', 'AWS_SECRET_ACCESS_KEY': 'S3RVER',
                                'AWS_ENDPOINT_URL_S3': s3.url, 'AWS_REGION': 'us-east-1'})
        yield {'bucket': bucket, 's3': s3, 'store': store, 'snapshot': snapshot,
               'tarball': tarball, 'reference': f'http://127.0.0.1:{rpc_port}',
               'reference_port': rpc_port}
    finally:
        nu.cleanup()
        s3.stop()
        bucket.close()


@pytest.fixture
def metadata(parsed):
    loc = blocks(parsed, MODULE, 'locals')
    md = MetadataServer({loc['key_id_metadata_key']: 'S3RVER',
                         loc['secret_metadata_key']: 'S3RVER'})
    yield md
    md.close()


class Machine:
    """The temp dir a script treats as its machine, the environment it runs
    in (HOME and the XDG dirs inside; no AWS_* or NEARUP_SYSTEMD_DIR from the
    test's own), and cleanup of whatever it started."""

    def __init__(self, root):
        self.root = root
        self.nu = Nearup(root)
        self.env = {k: v for k, v in self.nu.env.items()
                    if not k.startswith('AWS_') and k != 'NEARUP_SYSTEMD_DIR'}
        self.install_dir = str(root / 'usr-local-bin')
        self.service_home = str(root / 'var-lib-near')
        self.node_home = os.path.join(self.service_home, 'testnet')
        self.systemd_dir = str(root / 'etc-systemd-system')
        self.nu.homes.add(self.node_home)

    def values(self, world, metadata, parsed, template, **over):
        loc = blocks(parsed, MODULE, 'locals')
        v = {
            'lib': lib_text(),
            'network': 'testnet',
            'nearup_url': world['bucket'].url + '/nearup/nearup-linux.tar.gz',
            'nearup_sha256': hashlib.sha256(world['tarball']).hexdigest(),
            'install_dir': self.install_dir,
            'service_user': '',  # the script runs everything as whoever runs it
            'service_home': self.service_home,
            'node_home': self.node_home,
            'systemd_dir': self.systemd_dir,
            'os_packages': '',
            's3_endpoint': world['s3'].url,
            's3_region': 'auto',
            'metadata_url': metadata.url,
            'key_id_attr': loc['key_id_metadata_key'],
            'secret_attr': loc['secret_metadata_key'],
            'verify_with': '',
            'verify_quorum': '',
            'neard_version': VERSION,
            'release_url': world['bucket'].url,
            'p2p_addr': f'127.0.0.1:{free_port()}',
            'store': world['store'],
            'rpc_addr': f'127.0.0.1:{free_port()}',
            'archival': 'false',
        }
        if template == 'rpc-node.sh.tftpl':
            v.update(health_listen=f'127.0.0.1:{free_port()}',
                     health_reference=world['reference'])
        else:
            v.update(bootstrap_store='', snapshot_enabled='false', snapshot_every='6h',
                     snapshot_keep='4')
        v.update(over)
        assert set(v) == template_vars(parsed, template)
        return v

    def run(self, template, values):
        script = self.root / template.replace('.tftpl', '')
        script.write_text(render_script(template, values))
        return subprocess.run(['sh', str(script)], capture_output=True, text=True,
                              env=self.env, cwd=str(self.root), timeout=300,
                              stdin=subprocess.DEVNULL)

    def health_pid(self):
        try:
            with open(os.path.join(self.service_home, 'nearup-health.pid')) as fh:
                return int(fh.read())
        except OSError:
            return None

    def cleanup(self):
        pid = self.health_pid()
        if pid is not None and os.path.exists(f'/proc/{pid}'):
            os.kill(pid, signal.SIGTERM)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                wait_until(lambda: not os.path.exists(f'/proc/{pid}'), 10, what='health gone')
        if os.path.isdir(self.node_home):
            self.nu('stop', '--home', self.node_home)
        self.nu.cleanup()


@pytest.fixture
def machine(tmp_path):
    m = Machine(tmp_path)
    yield m
    m.cleanup()


def no_systemd():
    if os.path.isdir('/run/systemd/system'):
        pytest.skip('systemd runs here: the scripts would take their systemd path')


def verify_unit(path, env):
    r = subprocess.run([ANALYZE, 'verify', str(path)], capture_output=True, text=True,
                       timeout=60, env=env)
    return r.returncode, r.stdout, r.stderr


def healthcheck(listen):
    try:
        with urllib.request.urlopen(f'http://{listen}/healthcheck', timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_rpc_node_script_brings_a_restored_node_to_healthcheck_200(world, metadata, machine,
                                                                      parsed):
    no_systemd()
    v = machine.values(world, metadata, parsed, 'rpc-node.sh.tftpl')
    r = machine.run('rpc-node.sh.tftpl', v)
    assert r.returncode == 0, (r.stdout, r.stderr)
    home, units, snapshot = machine.node_home, machine.systemd_dir, world['snapshot']
    aws = os.path.join(machine.service_home, '.aws')
    lines = r.stdout.splitlines()
    version = subprocess.run([NEARUP, '--version'], capture_output=True, text=True).stdout
    assert lines[0] == (f'nearup-startup: installed {version.strip()} (sha256 '
                        f'{v["nearup_sha256"]}) into {machine.install_dir}')
    assert lines[1] == (f'nearup-startup: S3 key {v["key_id_attr"]} from the instance metadata '
                        f'is in {aws}')
    assert lines[2] == f'nearup-startup: wrote {units}/nearup-testnet.service'
    assert lines[3] == f'nearup-startup: wrote {units}/nearup-health-testnet.service'
    assert lines[4] == ('nearup-startup: systemd is not running here: nearup\'s supervisor keeps '
                        'the node, nearup health runs in the background')
    assert lines[5] == (f'nearup run: restored snapshot tf1 (height {snapshot["height"]}, '
                        f'{snapshot["files"]} files) into {home}/data')
    assert lines[6].startswith(f'nearup run: neard {VERSION} running for {home} (pid ')
    pid = machine.health_pid()
    assert lines[-2] == (f'nearup-startup: nearup health runs (pid {pid}) on '
                         f'{v["health_listen"]}, log {machine.service_home}/nearup-health.log')
    assert lines[-1] == (f'nearup-startup: the node in {home} is up; /healthcheck on '
                         f'{v["health_listen"]}')
    # the binaries, the key (0600, from the metadata server, asked as GCE wants)
    for f in ('nearup', 'nearup-supervisor'):
        p = os.path.join(machine.install_dir, f)
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o755
    with open(os.path.join(machine.install_dir, 'nearup'), 'rb') as fh, \
            open(os.path.realpath(NEARUP), 'rb') as want:
        assert fh.read() == want.read()
    assert sorted(os.listdir(machine.install_dir)) == ['nearup', 'nearup-supervisor']
    cred = os.path.join(aws, 'credentials')
    assert stat.S_IMODE(os.stat(cred).st_mode) == 0o600
    with open(cred) as fh:
        assert fh.read() == ('[default]\naws_access_key_id = S3RVER\n'
                             'aws_secret_access_key = S3RVER\n')
    with open(os.path.join(aws, 'config')) as fh:
        assert fh.read() == '[default]\nregion = auto\n'
    assert sorted(metadata.requests) == [(f'/attributes/{v["key_id_attr"]}', 'Google'),
                                         (f'/attributes/{v["secret_attr"]}', 'Google')]
    # the node, restored and running under its supervisor
    rpc_port = int(v['rpc_addr'].rsplit(':', 1)[1])
    assert status(rpc_port)['version']['version'] == VERSION
    assert alive(read_pidfile(home, 'supervisor.pid'))
    # the sidecar: 503 while it starts or the node catches up, then 200
    def ok():
        code, doc = healthcheck(v['health_listen'])
        return (code, doc) if code == 200 else None
    code, doc = wait_until(ok, 60, interval=0.2, what='/healthcheck 200')
    assert set(doc) == {'status', 'reason', 'head', 'head_age_ms', 'syncing', 'lag',
                        'reference_head', 'reference_error', 'weight', 'check', 'successes',
                        'failures', 'max_lag', 'stale_ms', 'chain_check'}
    assert (doc['status'], doc['reason'], doc['syncing'], doc['check'], doc['reference_error'],
            doc['max_lag'], doc['stale_ms'], doc['failures'], doc['chain_check']) == (
        'ok', '', False, 'ok', None, 20, 30000, 0, None)  # no --verify-with: no chain check
    assert doc['head'] >= snapshot['height'] and 0 <= doc['lag'] <= 20
    assert doc['reference_head'] - doc['lag'] == doc['head'] or doc['lag'] == 0
    # the units the systemd path would enable, as systemd reads them
    env = machine.env
    assert verify_unit(os.path.join(units, 'nearup-testnet.service'), env) == (0, '', '')
    hu = os.path.join(units, 'nearup-health-testnet.service')
    assert verify_unit(hu, env) == (0, '', '')
    with open(hu) as fh:
        unit = fh.read().splitlines()
    assert (f'ExecStart={machine.install_dir}/nearup health --node http://{v["rpc_addr"]} '
            f'--listen {v["health_listen"]} --home {machine.node_home} '
            f'--reference {world["reference"]}') in unit
    assert 'After=network-online.target nearup-testnet.service' in unit
    assert not any(line.startswith('User=') for line in unit)  # service_user '' runs as root
    with open(os.path.join(units, 'nearup-testnet.service')) as fh:
        node_unit = fh.read().splitlines()
    assert (f'ExecStart={machine.install_dir}/nearup run testnet --foreground --home {home} '
            f'--rpc-addr {v["rpc_addr"]} --network-addr {v["p2p_addr"]} --neard-version '
            f'{VERSION} --release-url {world["bucket"].url}') in node_unit


def test_a_wrong_sha256_stops_the_script_before_anything_is_installed(world, metadata, machine,
                                                                     parsed):
    v = machine.values(world, metadata, parsed, 'rpc-node.sh.tftpl', nearup_sha256='0' * 64)
    world['bucket'].clear_requests()
    r = machine.run('rpc-node.sh.tftpl', v)
    got = hashlib.sha256(world['tarball']).hexdigest()
    assert (r.returncode, r.stdout) == (1, '')
    assert r.stderr == (f'nearup-startup: nearup from {v["nearup_url"]} has sha256 {got}, not '
                        f'the pinned {"0" * 64}; nothing was installed\n')
    assert [q.path for q in world['bucket'].requests()] == ['nearup/nearup-linux.tar.gz']
    for p in (machine.install_dir, machine.service_home, machine.systemd_dir):
        assert not os.path.exists(p), p
    assert metadata.requests == []
    # and the same script with the right hash gets past that point
    v['nearup_sha256'] = got
    v['release_url'] = 'http://127.0.0.1:1'  # nothing there: it stops at nearup run
    r = machine.run('rpc-node.sh.tftpl', v)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == ('nearup-startup: nearup run testnet failed; the node '
                                         'is not running')
    assert sorted(os.listdir(machine.install_dir)) == ['nearup', 'nearup-supervisor']


def test_snapshotter_script_runs_its_archival_node_outside_the_balancer(world, metadata, machine,
                                                                        parsed):
    no_systemd()
    v = machine.values(world, metadata, parsed, 'snapshotter.sh.tftpl', archival='true')
    r = machine.run('snapshotter.sh.tftpl', v)
    assert r.returncode == 0, (r.stdout, r.stderr)
    home, units = machine.node_home, machine.systemd_dir
    lines = r.stdout.splitlines()
    assert lines[2] == f'nearup-startup: wrote {units}/nearup-testnet.service'
    assert lines[3] == 'nearup-startup: snapshots are off (snapshot_enabled); only the node runs'
    assert lines[4] == ("nearup-startup: systemd is not running here: nearup's supervisor "
                        'keeps the node')
    assert lines[5].startswith(f'nearup run: neard {VERSION} running for {home} (pid ')
    assert lines[-1] == f'nearup-startup: the node in {home} is up'
    # no restore (no bootstrap store): it syncs from genesis, as archival
    assert not any('restored snapshot' in line for line in lines)
    rpc_port = int(v['rpc_addr'].rsplit(':', 1)[1])
    wait_head(rpc_port, head(world['reference_port']) - 2, timeout=60)
    assert os.listdir(units) == ['nearup-testnet.service']
    unit = os.path.join(units, 'nearup-testnet.service')
    assert verify_unit(unit, machine.env) == (0, '', '')
    with open(unit) as fh:
        assert (f'ExecStart={machine.install_dir}/nearup run testnet --foreground --home {home} '
                f'--rpc-addr {v["rpc_addr"]} --network-addr {v["p2p_addr"]} --neard-version '
                f'{VERSION} --release-url {world["bucket"].url} --archival'
                ) in fh.read().splitlines()
    assert machine.health_pid() is None  # no sidecar: nothing balances to it


def test_snapshotter_script_writes_the_snapshot_unit(world, metadata, machine, parsed):
    no_systemd()
    v = machine.values(world, metadata, parsed, 'snapshotter.sh.tftpl', snapshot_enabled='true')
    r = machine.run('snapshotter.sh.tftpl', v)
    assert r.returncode == 0, (r.stdout, r.stderr)
    units = machine.systemd_dir
    lines = r.stdout.splitlines()
    assert lines[3] == (f'nearup-startup: wrote {units}/nearup-snapshot-testnet.service and its '
                        'timer')
    assert lines[-2] == ('nearup-startup: nothing schedules snapshots without systemd: run nearup '
                         f'snapshot create --home {machine.node_home} --to {world["store"]} '
                         'from cron')
    for name in ('nearup-snapshot-testnet.service', 'nearup-snapshot-testnet.timer'):
        assert verify_unit(os.path.join(units, name), machine.env) == (0, '', ''), name
    with open(os.path.join(units, 'nearup-snapshot-testnet.service')) as fh:
        text = fh.read()
    exe = os.path.join(machine.install_dir, 'nearup')
    s3 = world['s3'].url
    assert [ln for ln in text.splitlines() if ln.startswith('ExecStart=')] == [
        f'ExecStart={exe} snapshot create --home {machine.node_home} --to {world["store"]} '
        f'--s3-endpoint {s3} --log-result',
        f'ExecStart={exe} snapshot prune --from {world["store"]} --keep 4 --s3-endpoint {s3} '
        '--log-result']
    assert not os.path.exists(os.path.join(units, 'nearup-snapshot-testnet.service.d'))


def test_rpc_node_script_verifies_the_snapshot_with_the_reference(world, metadata, machine,
                                                                 parsed):
    no_systemd()
    v = machine.values(world, metadata, parsed, 'rpc-node.sh.tftpl',
                       verify_with=world['reference'])
    r = machine.run('rpc-node.sh.tftpl', v)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert any(line.startswith('nearup run: restored snapshot tf1 ')
               for line in r.stdout.splitlines())
    wait_until(lambda: healthcheck(v['health_listen'])[0] == 200, 60, interval=0.2,
               what='/healthcheck 200')
    cc = healthcheck(v['health_listen'])[1]['chain_check']
    assert (cc['state'], cc['snapshot'], cc['node_hash']) == ('ok', 'tf1', cc['expected_hash'])
