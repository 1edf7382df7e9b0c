#!/usr/bin/python3
"""Writes the Grafana dashboards monitoring/dashboards/*.json.

One place for what the dashboards share: the data source, cluster and zone
variables every dashboard has, the selectors every query carries, the
layout, the links between the dashboards. The SLO dashboard reads its
budgets from monitoring/slo/slos.yml through the SLO generator, so a target
changed there reaches the rules and the dashboard alike.

    generate.py            rewrite the dashboards
    generate.py --check    exit 1, with a diff, when one is not current

A query marked incident=True returns series only while something is wrong
(an error ratio, a firing alert, a failed check): the dashboard test checks
that it parses, and that every other query returns series from a real
Prometheus (tests/integration/test_dashboards.py; docs/monitoring.md,
"Dashboards").
"""
import argparse
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SLO_GENERATOR = os.path.join(HERE, '..', 'slo', 'generate.py')
SCHEMA_VERSION = 42  # the dashboard schema of @grafana/schema 13.2 (its defaultDashboard)
DS = {'type': 'prometheus', 'uid': '${datasource}'}
GRID_W = 24
# What the gateway counts against availability (as rules/gateway.yml).
ERROR_CODES = '5..|408'


def load_slo_generator():
    spec = importlib.util.spec_from_file_location('slo_generate', SLO_GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


slo = load_slo_generator()


# ---- queries and panels ----

class Target:
    """One PromQL query of a panel. incident: returns series only while
    something is wrong, so the test only checks that it parses."""

    def __init__(self, expr, legend='', incident=False, cluster_wide=False, instant=False):
        self.expr, self.legend, self.incident, self.instant = expr, legend, incident, instant
        # A cluster-wide value (the cluster's highest head, an SLO) is
        # filtered by $cluster only; every other query by $zone too.
        self.cluster_wide = cluster_wide

    def render(self, ref, table):
        t = {'datasource': DS, 'refId': ref, 'expr': self.expr, 'legendFormat': self.legend,
             'range': not self.instant, 'instant': self.instant, 'editorMode': 'code'}
        if table:
            t['format'] = 'table'
        return t


def targets(qs):
    """A panel's queries: a Target, a (expr, legend) pair or a list of them."""
    out = []
    for q in qs if isinstance(qs, list) else [qs]:
        out.append(q if isinstance(q, Target) else Target(*q) if isinstance(q, tuple)
                   else Target(q))
    return out


def thresholds(steps):
    """[(value, color)], the first value None (the base)."""
    return {'mode': 'absolute', 'steps': [{'color': c, 'value': v} for v, c in steps]}


def value_map(pairs):
    """A value mapping from [(value, text, color)]."""
    opts = {str(v): {'text': t, 'color': c, 'index': i} for i, (v, t, c) in enumerate(pairs)}
    return [{'type': 'value', 'options': opts}]


LEGEND = {'calcs': [], 'displayMode': 'list', 'placement': 'bottom', 'showLegend': True}
TOOLTIP = {'mode': 'multi', 'sort': 'desc'}
REDUCE_LAST = {'calcs': ['lastNotNull'], 'fields': '', 'values': False}


class Panel:
    def __init__(self, kind, title, qs, w, h, desc='', unit=None, options=None, custom=None,
                 steps=None, mappings=None, table=False, minimum=None):
        self.kind, self.title, self.targets = kind, title, targets(qs)
        self.w, self.h, self.desc, self.unit = w, h, desc, unit
        self.options, self.custom, self.steps, self.mappings = options, custom, steps, mappings
        self.table, self.minimum = table, minimum

    def field_defaults(self):
        d = {}
        if self.unit:
            d['unit'] = self.unit
        if self.minimum is not None:
            d['min'] = self.minimum
        if self.custom is not None:
            d['custom'] = self.custom
        d['thresholds'] = thresholds(self.steps or [(None, 'green')])
        d['color'] = {'mode': 'thresholds' if self.steps or self.mappings else 'palette-classic'}
        if self.mappings:
            d['mappings'] = self.mappings
        return d

    def render(self, pid, pos):
        p = {'id': pid, 'type': self.kind, 'title': self.title, 'description': self.desc,
             'datasource': DS, 'gridPos': pos,
             'fieldConfig': {'defaults': self.field_defaults(), 'overrides': []},
             'options': self.options}
        if self.targets:
            p['targets'] = [t.render(chr(ord('A') + i), self.table)
                            for i, t in enumerate(self.targets)]
        else:
            del p['datasource']
        return p


def timeseries(title, qs, desc='', unit='short', w=12, h=8, steps=None, stack=False,
               minimum=None):
    custom = {'drawStyle': 'line', 'lineWidth': 1, 'fillOpacity': 10 if stack else 0,
              'showPoints': 'never', 'spanNulls': False,
              'stacking': {'mode': 'normal' if stack else 'none', 'group': 'A'},
              'thresholdsStyle': {'mode': 'dashed' if steps else 'off'}}
    opts = {'legend': LEGEND, 'tooltip': TOOLTIP}
    return Panel('timeseries', title, qs, w, h, desc, unit, opts, custom, steps,
                 minimum=minimum)


def stat(title, qs, desc='', unit='short', w=4, h=4, steps=None, mappings=None,
         text_mode='value'):
    opts = {'colorMode': 'value', 'graphMode': 'none', 'justifyMode': 'auto',
            'percentChangeColorMode': 'standard', 'showPercentChange': False,
            'textMode': text_mode, 'wideLayout': True, 'orientation': 'auto',
            'reduceOptions': REDUCE_LAST}
    return Panel('stat', title, qs, w, h, desc, unit, opts, None, steps, mappings)


def states(title, qs, mappings, desc='', w=24, h=8):
    """A state timeline: one row per series, coloured by value mappings."""
    opts = {'legend': LEGEND, 'tooltip': {'mode': 'single', 'sort': 'none'},
            'rowHeight': 0.9, 'showValue': 'auto', 'mergeValues': True, 'alignValue': 'left'}
    custom = {'fillOpacity': 80, 'lineWidth': 0}
    return Panel('state-timeline', title, qs, w, h, desc, None, opts, custom, None, mappings)


def table(title, qs, desc='', w=12, h=8):
    opts = {'frameIndex': 0, 'showHeader': True, 'cellHeight': 'sm'}
    custom = {'align': 'auto', 'cellOptions': {'type': 'auto'}, 'inspect': False}
    ts = targets(qs)
    for t in ts:
        t.instant = True
    return Panel('table', title, ts, w, h, desc, None, opts, custom, table=True)


def bars(title, qs, desc='', unit='short', w=12, h=8, steps=None):
    opts = {'displayMode': 'basic', 'maxVizHeight': 300, 'minVizHeight': 16,
            'minVizWidth': 8, 'namePlacement': 'auto', 'showUnfilled': True, 'sizing': 'auto',
            'valueMode': 'color', 'orientation': 'horizontal', 'reduceOptions': REDUCE_LAST,
            'legend': LEGEND}
    return Panel('bargauge', title, qs, w, h, desc, unit, opts, None, steps)


def text(title, content, w=24, h=6):
    return Panel('text', title, [], w, h, '', None, {'mode': 'markdown', 'content': content})


class Row:
    def __init__(self, title):
        self.title = title


# ---- dashboards ----

class Var:
    """A query variable: label_values(selector, label)."""

    def __init__(self, name, label, selector, multi=False, doc=''):
        self.name, self.label, self.selector, self.multi, self.doc = (name, label, selector,
                                                                      multi, doc)

    def render(self):
        v = {'name': self.name, 'label': self.label, 'description': self.doc, 'type': 'query',
             'datasource': DS, 'query': f'label_values({self.selector}, {self.name_label()})',
             'refresh': 2, 'sort': 1, 'hide': 0, 'regex': '', 'options': [],
             'multi': self.multi, 'includeAll': self.multi}
        if self.multi:
            v['allValue'] = '.*'
        return v

    def name_label(self):
        # $gateway and $instance both select the instance label.
        return 'instance' if self.name in ('gateway', 'instance') else self.name


# Every query carries these; $cluster is one chain, $zone any of its zones.
SEL = 'cluster=~"$cluster",zone=~"$zone"'


def common_vars(anchor):
    """datasource, cluster, zone; the label values come from the anchor metric."""
    return [Var('cluster', 'Cluster', anchor, doc='one chain: heads and SLOs are compared within it'),
            Var('zone', 'Zone', f'{anchor}{{cluster=~"$cluster"}}', multi=True,
                doc='what an outage takes out together')]


class Dashboard:
    def __init__(self, uid, title, desc, anchor, extra_vars, items):
        self.uid, self.title, self.desc = uid, title, desc
        self.vars = common_vars(anchor) + extra_vars
        self.items = items

    def panels(self):
        return [p for p in self.items if isinstance(p, Panel)]

    def layout(self):
        """Panels left to right, wrapping at the grid's width; a Row starts a new line."""
        out, x, y, row_h, pid = [], 0, 0, 0, 1
        for item in self.items:
            if isinstance(item, Row):
                y, x, row_h = y + row_h, 0, 0
                out.append({'id': pid, 'type': 'row', 'title': item.title, 'collapsed': False,
                            'gridPos': {'h': 1, 'w': GRID_W, 'x': 0, 'y': y}, 'panels': []})
                y, pid = y + 1, pid + 1
                continue
            if x + item.w > GRID_W:
                y, x, row_h = y + row_h, 0, 0
            out.append(item.render(pid, {'h': item.h, 'w': item.w, 'x': x, 'y': y}))
            x, row_h, pid = x + item.w, max(row_h, item.h), pid + 1
        return out

    def render(self):
        ds_var = {'name': 'datasource', 'label': 'Data source', 'type': 'datasource',
                  'query': 'prometheus', 'refresh': 1, 'hide': 0, 'regex': '', 'options': [],
                  'multi': False, 'includeAll': False}
        return {
            'uid': self.uid, 'title': self.title, 'description': self.desc,
            'tags': ['nearup'], 'editable': True, 'graphTooltip': 1, 'liveNow': False,
            'refresh': '30s', 'schemaVersion': SCHEMA_VERSION, 'version': 1,
            'time': {'from': 'now-3h', 'to': 'now'}, 'timepicker': {}, 'timezone': 'browser',
            'fiscalYearStartMonth': 0, 'weekStart': '',
            'links': [{'title': 'nearup dashboards', 'type': 'dashboards', 'tags': ['nearup'],
                       'asDropdown': True, 'icon': 'external link', 'includeVars': True,
                       'keepTime': True, 'targetBlank': False, 'tooltip': ''}],
            'annotations': {'list': [{
                'builtIn': 1, 'datasource': {'type': 'grafana', 'uid': '-- Grafana --'},
                'enable': True, 'hide': True, 'iconColor': 'rgba(0, 211, 255, 1)',
                'name': 'Annotations & Alerts', 'type': 'dashboard'}]},
            'templating': {'list': [ds_var] + [v.render() for v in self.vars]},
            'panels': self.layout(),
        }


def incident_only(panel):
    """Marks every query of panel as one that returns series only in an incident."""
    for t in panel.targets:
        t.incident = True
    return panel


def rate(metric, sel, by=None, window='$__rate_interval'):
    """sum [by (labels)] (rate(metric{sel}[window]))."""
    group = f' by ({by})' if by else ''
    return f'sum{group} (rate({metric}{{{sel}}}[{window}]))'


def ratio(metric, sel, bad, by=None, window='$__rate_interval'):
    """The share of metric's rate whose labels also match bad."""
    return f'{rate(metric, f"{sel},{bad}", by, window)}\n  /\n{rate(metric, sel, by, window)}'


SYNC_STATES = value_map([(0, 'NoSync', 'green'), (1, 'AwaitingPeers', 'red'),
                         (2, 'EpochSync', 'orange'), (3, 'EpochSyncDone', 'orange'),
                         (4, 'HeaderSync', 'yellow'), (5, 'StateSync', 'orange'),
                         (6, 'StateSyncDone', 'yellow'), (7, 'BlockSync', 'yellow')])
YES_NO = value_map([(1, 'yes', 'green'), (0, 'no', 'red')])
CURRENT = value_map([(1, 'current', 'green'), (0, ' ', 'transparent')])
CLUSTER_HEAD = 'cluster:near_block_height_head:max{cluster=~"$cluster"}'


def lag(sel):
    """Blocks each node of sel is behind its cluster's highest head (the
    NearNodeLagging rule's measure)."""
    return Target(f'{CLUSTER_HEAD} - on (cluster) group_right () near_block_height_head{{{sel}}}',
                  '{{instance}}')


def fleet():
    up = f'up{{job="neard",{SEL}}}'
    return Dashboard(
        'nearup-fleet', 'nearup / Fleet overview',
        'Every neard node of a cluster: heads and lag, sync state, releases, peers.',
        'near_block_height_head', [], [
            stat('Nodes up', f'count({up} == 1)', steps=[(None, 'green')]),
            incident_only(stat('Nodes down', f'count({up} == 0)', steps=[(None, 'red')],
                               desc='No value while every node answers.')),
            stat('Highest head', Target(f'max({CLUSTER_HEAD})', cluster_wide=True)),
            stat('Most blocks behind', f'max({lag(SEL).expr})',
                 steps=[(None, 'green'), (10, 'yellow'), (50, 'red')]),
            stat('Releases running', f'count(count by (release) (near_build_info{{{SEL}}}))',
                 steps=[(None, 'green'), (2, 'yellow')],
                 desc='More than one: NearVersionDrift watches for the odd one out.'),
            stat('Fewest peers', f'min(near_peer_connections_total{{{SEL}}})',
                 steps=[(None, 'red'), (5, 'green')]),
            Row('Heads'),
            timeseries('Head height', (f'near_block_height_head{{{SEL}}}', '{{instance}}')),
            timeseries("Blocks behind the cluster's highest head", lag(SEL),
                       desc='NearNodeLagging fires above 50 for 5 minutes.',
                       steps=[(None, 'green'), (50, 'red')]),
            timeseries('Blocks per second',
                       (f'deriv(near_block_height_head{{{SEL}}}[$__rate_interval])',
                        '{{instance}}'), unit='short'),
            timeseries('Head minus final block',
                       (f'near_block_height_head{{{SEL}}} - near_final_block_height{{{SEL}}}',
                        '{{instance}}'), desc='Blocks not final yet; about 2 when healthy.'),
            Row('Sync state and releases'),
            states('Sync status (near_sync_status)',
                   (f'near_sync_status{{{SEL}}}', '{{instance}}'), SYNC_STATES),
            table('Nodes per release', f'count by (release) (near_build_info{{{SEL}}})'),
            table('Release of each node',
                  f'max by (zone, instance, release, build) (near_build_info{{{SEL}}})'),
            Row('Peers'),
            timeseries('Peers per node',
                       (f'near_peer_connections_total{{{SEL}}}', '{{instance}}'),
                       desc='NearNodeTooFewPeers fires below 5 for 10 minutes.',
                       steps=[(None, 'red'), (5, 'green')]),
            bars('Fewest peers of a node, per zone',
                 (f'min by (zone) (near_peer_connections_total{{{SEL}}})', '{{zone}}'),
                 w=6, steps=[(None, 'red'), (5, 'green')]),
            timeseries('Nodes up per zone', (f'sum by (zone) ({up})', '{{zone}}'), w=6),
        ])


NODE = f'{SEL},instance=~"$instance"'
SUP = f'{SEL},home=~"$home"'
NODE_VARS = [Var('instance', 'Node', f'near_block_height_head{{{SEL}}}'),
             Var('home', 'Supervised home', f'nearup_node_info{{{SEL}}}',
                 doc="the supervisor's home label: its series come from node_exporter's "
                     "textfile or its own listen address, not from neard's target")]


def supervisor_panels():
    return [
        states('Supervisor state', (f'nearup_node_state{{{SUP}}}', '{{state}}'), CURRENT,
               w=12, h=6),
        stat('neard binary', (f'nearup_node_info{{{SUP}}}', '{{version}}'), text_mode='name',
             w=4, h=3),
        stat('Restarts since the supervisor started', f'nearup_node_restarts_total{{{SUP}}}',
             w=4, h=3, steps=[(None, 'green'), (3, 'red')]),
        incident_only(stat('Last exit code', f'nearup_node_last_exit_code{{{SUP}}}',
                           w=4, h=3, desc='Absent until neard exits for the first time.')),
        stat('Head advancing', f'nearup_node_head_advancing{{{SUP}}}', mappings=YES_NO,
             w=4, h=3),
        stat('Pending upgrade height', f'nearup_node_pending_upgrade_height{{{SUP}}}',
             mappings=value_map([(0, 'none', 'green')]), w=4, h=3),
        stat('Supervisor up for', f'time() - nearup_node_supervisor_start_time_seconds{{{SUP}}}',
             unit='s', w=4, h=3),
    ]


def node():
    return Dashboard(
        'nearup-node', 'nearup / Node',
        'One neard node (by its target) and the nearup supervisor that runs it (by home).',
        'near_block_height_head', NODE_VARS, [
            stat('Head', f'near_block_height_head{{{NODE}}}'),
            stat("Behind the cluster's head", lag(NODE),
                 steps=[(None, 'green'), (10, 'yellow'), (50, 'red')]),
            stat('Peers', f'near_peer_connections_total{{{NODE}}}',
                 steps=[(None, 'red'), (5, 'green')]),
            stat('Release', (f'near_build_info{{{NODE}}}', '{{release}}'), text_mode='name'),
            stat('Protocol version', f'near_node_protocol_version{{{NODE}}}'),
            stat('neard up for', f'time() - near_boot_time_seconds{{{NODE}}}', unit='s'),
            Row('Chain'),
            timeseries('Heights', [(f'near_block_height_head{{{NODE}}}', 'head'),
                                   (f'near_header_head_height{{{NODE}}}', 'header head'),
                                   (f'near_final_block_height{{{NODE}}}', 'final')]),
            states('Sync status', (f'near_sync_status{{{NODE}}}', '{{instance}}'), SYNC_STATES,
                   w=12, h=4),
            stat('Validating this epoch', f'near_is_validator{{{NODE}}}', mappings=YES_NO,
                 w=6),
            stat('Epoch', f'near_epoch_height{{{NODE}}}', w=6),
            Row('JSON-RPC served by the node'),
            timeseries('Calls per method',
                       (rate('near_rpc_total_count', NODE, 'method'), '{{method}}'),
                       unit='reqps', w=8),
            timeseries('p99 time per method', (
                'histogram_quantile(0.99, '
                f'{rate("near_rpc_processing_time_bucket", NODE, "method, le")})', '{{method}}'),
                unit='s', w=8),
            timeseries('Timeouts', (rate('near_rpc_timeout_total', NODE), 'timeouts'),
                       unit='reqps', w=8),
            incident_only(timeseries('Errors per method and code', (
                rate('near_rpc_error_count', NODE, 'method, err_code'),
                '{{method}} {{err_code}}'), unit='reqps', w=24, h=6)),
            Row('Network'),
            timeseries('Peer traffic', [
                (rate('near_peer_data_received_bytes', NODE), 'received'),
                (rate('near_peer_data_sent_bytes', NODE), 'sent')], unit='Bps'),
            timeseries('Peers', (f'near_peer_connections_total{{{NODE}}}', 'peers'),
                       steps=[(None, 'red'), (5, 'green')]),
            Row('Supervisor (nearup_node_*)'),
            *supervisor_panels(),
        ])


GW = f'{SEL},instance=~"$gateway"'
GWM = f'{GW},method=~"$method"'
GATEWAY_VAR = Var('gateway', 'Gateway', f'nearup_gateway_build_info{{{SEL}}}', multi=True)
ERRORS = f'code=~"{ERROR_CODES}"'


def latency(q):
    """Quantile q of the gateway's answer time per method, all chosen gateways."""
    return Target('histogram_quantile(' + q + ', ' +
                  rate('nearup_gateway_request_duration_seconds_bucket', GWM, 'method, le') + ')',
                  '{{method}}')


def gateway():
    calls = 'nearup_gateway_requests_total'
    return Dashboard(
        'nearup-gateway', 'nearup / Gateway per method',
        'nearup gateway: calls, errors and p50/p90/p99 latency per JSON-RPC method, and the '
        'protections (shedding, retries, limits).',
        'nearup_gateway_build_info', [
            GATEWAY_VAR,
            Var('method', 'Method', f'{calls}{{{GW}}}', multi=True)], [
            stat('Calls/s', rate(calls, GWM), unit='reqps'),
            incident_only(stat('Error ratio', ratio(calls, GWM, ERRORS), unit='percentunit',
                               steps=[(None, 'green'), (0.05, 'red')],
                               desc='Calls answered 5xx or 408; no value while there are none.')),
            stat('Upstreams OK', f'sum(nearup_gateway_upstreams{{{GW},state="ok"}})',
                 steps=[(None, 'red'), (1, 'green')]),
            stat('Degraded (fail-open)', f'max(nearup_gateway_degraded{{{GW}}})',
                 mappings=value_map([(0, 'no', 'green'), (1, 'yes', 'red')])),
            stat('Shed calls/s', rate('nearup_gateway_shed_requests_total', GW), unit='reqps',
                 steps=[(None, 'green'), (0.001, 'red')]),
            stat('Open client connections', f'sum(nearup_gateway_http_connections{{{GW}}})'),
            Row('Per method'),
            timeseries('Calls/s per method', (rate(calls, GWM, 'method'), '{{method}}'),
                       unit='reqps'),
            timeseries('Calls/s per method and HTTP code',
                       (rate(calls, GWM, 'method, code'), '{{method}} {{code}}'), unit='reqps'),
            incident_only(timeseries('Error ratio per method',
                                     (ratio(calls, GWM, ERRORS, 'method'), '{{method}}'),
                                     unit='percentunit', steps=[(None, 'green'), (0.05, 'red')],
                                     desc='NearupGatewayHighErrorRatio fires above 5% for '
                                          '10 minutes.')),
            timeseries('p99 per gateway and method (recorded, 5m)', (
                f'instance_method:nearup_gateway_request_duration_seconds:p99_5m{{{GWM}}}',
                '{{instance}} {{method}}'), unit='s'),
            timeseries('p50 per method', latency('0.5'), unit='s', w=8),
            timeseries('p90 per method', latency('0.9'), unit='s', w=8),
            timeseries('p99 per method', latency('0.99'), unit='s', w=8),
            Row('Protection'),
            timeseries('Shed calls by reason',
                       (rate('nearup_gateway_shed_requests_total', GW, 'reason'), '{{reason}}'),
                       unit='reqps', w=8),
            timeseries('Retries by reason',
                       (rate('nearup_gateway_retries_total', GW, 'reason'), '{{reason}}'),
                       unit='reqps', w=8),
            timeseries('Refused calls', [
                (rate('nearup_gateway_retry_budget_exhausted_total', GW),
                 'retry budget exhausted'),
                (rate('nearup_gateway_rate_limited_requests_total', GW), 'rate limited (429)'),
                (rate('nearup_gateway_denied_requests_total', GW), 'denied by method'),
                (rate('nearup_gateway_parse_errors_total', GW), 'not JSON-RPC')],
                unit='reqps', w=8),
            timeseries('HTTP errors by kind',
                       (rate('nearup_gateway_http_errors_total', GW, 'kind'), '{{kind}}'),
                       unit='reqps'),
            timeseries('Client connections', [
                (f'nearup_gateway_http_connections{{{GW}}}', '{{instance}} open'),
                (rate('nearup_gateway_http_connections_rejected_total', GW, 'instance'),
                 '{{instance}} rejected/s')]),
        ])


UP = f'{GW},upstream=~"$upstream"'


def upstreams():
    per = '{{instance}} {{upstream}}'
    return Dashboard(
        'nearup-upstreams', 'nearup / Gateway upstreams',
        "The gateway's view of each upstream neard: health state, lag, load, answer time.",
        'nearup_gateway_build_info', [
            GATEWAY_VAR,
            Var('upstream', 'Upstream', f'nearup_gateway_upstream_state{{{GW}}}', multi=True)], [
            states('In rotation', (f'nearup_gateway_upstream_up{{{UP}}}', per),
                   value_map([(1, 'OK', 'green'), (0, 'out', 'red')]), w=12),
            table('Health state now', f'nearup_gateway_upstream_state{{{UP}}} == 1'),
            timeseries('Upstreams per state',
                       (f'sum by (state) (nearup_gateway_upstreams{{{GW}}})', '{{state}}'),
                       stack=True),
            timeseries('Blocks behind the reference head',
                       (f'nearup_gateway_upstream_lag_blocks{{{UP}}}', per)),
            timeseries('Head height, and the reference head', [
                (f'nearup_gateway_upstream_head_height{{{UP}}}', per),
                (f'nearup_gateway_reference_head_height{{{GW}}}', '{{instance}} reference')]),
            timeseries('Requests in flight', (f'nearup_gateway_upstream_inflight{{{UP}}}', per)),
            timeseries('Answer time (moving average of real traffic)',
                       (f'nearup_gateway_upstream_latency_seconds{{{UP}}}', per), unit='s'),
            timeseries('Health poll duration',
                       (f'nearup_gateway_upstream_probe_seconds{{{UP}}}', per), unit='s'),
            timeseries('Requests/s per upstream', (
                rate('nearup_gateway_upstream_requests_total', UP, 'instance, upstream'), per),
                unit='reqps'),
            timeseries('Failed requests/s by kind', (
                rate('nearup_gateway_upstream_errors_total', UP, 'upstream, kind'),
                '{{upstream}} {{kind}}'), unit='reqps'),
            timeseries('Resent on a fresh connection', (
                rate('nearup_gateway_upstream_resends_total', UP, 'instance, upstream'), per),
                unit='reqps'),
            timeseries('Health polls by result', (
                rate('nearup_gateway_health_checks_total', GW, 'result'), '{{result}}'),
                unit='reqps'),
        ])


SNAPSHOT_NOTE = (
    '`nearup snapshot` is a command, not a daemon: it exports no metrics. This dashboard '
    'shows what a snapshot or a restore does to a node. A snapshot of a running node stops '
    'it through its supervisor and starts it again (the supervisor state and its start '
    'time); a snapshot holds the blocks from the tail to the head; a restored node starts '
    'from the snapshot\'s head and syncs the rest (its lag and sync status). The disk panels '
    "need node_exporter on the node's host.")
DISK = f'{SEL},fstype!~"tmpfs|overlay|squashfs"'


def snapshots():
    return Dashboard(
        'nearup-snapshots', 'nearup / Snapshots',
        'What snapshots and restores do to a node: stops and starts, blocks kept, catch-up, '
        'disk.',
        'near_block_height_head', NODE_VARS, [
            text('About', SNAPSHOT_NOTE, h=4),
            states('Supervisor state (a snapshot of a running node stops and starts it)',
                   (f'nearup_node_state{{{SUP}}}', '{{state}}'), CURRENT, w=12),
            timeseries('Supervisor up for (drops when it starts again)', (
                f'time() - nearup_node_supervisor_start_time_seconds{{{SUP}}}', '{{home}}'),
                unit='s'),
            timeseries('Head and tail (the blocks a snapshot holds)', [
                (f'near_block_height_head{{{NODE}}}', 'head'),
                (f'near_tail_height{{{NODE}}}', 'tail (earliest block kept)')]),
            timeseries('Blocks kept (head − tail)', (
                f'near_block_height_head{{{NODE}}} - near_tail_height{{{NODE}}}',
                '{{instance}}')),
            timeseries('Catching up after a restore: blocks behind the cluster head', lag(NODE)),
            states('Sync status', (f'near_sync_status{{{NODE}}}', '{{instance}}'), SYNC_STATES,
                   w=12),
            timeseries('Disk free (node_exporter)', (
                f'node_filesystem_avail_bytes{{{DISK}}} / node_filesystem_size_bytes{{{DISK}}}',
                '{{instance}} {{mountpoint}}'), unit='percentunit', minimum=0),
            timeseries('Disk free in 24 h at the 6 h trend (node_exporter)', (
                f'predict_linear(node_filesystem_avail_bytes{{{DISK}}}[6h], 24 * 3600)',
                '{{instance}} {{mountpoint}}'), unit='bytes',
                desc='NodeDiskWillFillIn24h fires when this reaches 0 with less than 25% free.'),
        ])


CAN = f'{SEL},endpoint=~"$endpoint",check=~"$check"'
ENDPOINT = f'{SEL},endpoint=~"$endpoint"'


def canary():
    per = '{{endpoint}} {{check}}'
    since = f'time() - nearup_canary_last_success_timestamp_seconds{{{CAN}}}'
    return Dashboard(
        'nearup-canary', 'nearup / Canaries',
        'nearup canary: synthetic status, final lag, view and transfer checks per endpoint.',
        'nearup_canary_up', [
            Var('endpoint', 'Endpoint', f'nearup_canary_success{{{SEL}}}', multi=True),
            Var('check', 'Check', f'nearup_canary_success{{{SEL}}}', multi=True)], [
            stat('Canaries running', f'sum(nearup_canary_up{{{SEL}}})',
                 steps=[(None, 'red'), (1, 'green')]),
            stat('Checks passing', f'count(nearup_canary_success{{{CAN}}} == 1)',
                 steps=[(None, 'green')]),
            incident_only(stat('Checks failing', f'count(nearup_canary_success{{{CAN}}} == 0)',
                               steps=[(None, 'red')], desc='No value while every check passes.')),
            stat('Longest since a success', f'max({since})', unit='s',
                 steps=[(None, 'green'), (600, 'red')]),
            stat('Largest final lag', f'max(nearup_canary_final_lag_blocks{{{ENDPOINT}}})',
                 steps=[(None, 'green'), (50, 'red')]),
            stat('Runs/s', rate('nearup_canary_runs_total', CAN), unit='reqps'),
            states('Result of each check', (f'nearup_canary_success{{{CAN}}}', per),
                   value_map([(1, 'ok', 'green'), (0, 'fail', 'red')])),
            timeseries('Check duration p90', (
                'histogram_quantile(0.9, '
                f'{rate("nearup_canary_duration_seconds_bucket", CAN, "endpoint, check, le")})',
                per), unit='s'),
            timeseries('Time since the last success', (since, per), unit='s',
                       desc='NearupCanaryStale fires above 10 minutes.',
                       steps=[(None, 'green'), (600, 'red')]),
            timeseries('Failed runs per minute', (
                f'sum by (endpoint, check) (increase(nearup_canary_runs_total{{{CAN},'
                'result="fail"}[1m]))', per), w=12),
            timeseries('Final block lag behind the reference', (
                f'nearup_canary_final_lag_blocks{{{ENDPOINT}}}', '{{endpoint}}'),
                desc='NearupCanaryFinalLag fires above 50 for 5 minutes.',
                steps=[(None, 'green'), (50, 'red')], w=12),
        ])


def slo_targets(cfg, window):
    """The burn rate over window of each SLO: its bad share over its budget."""
    out = []
    for s in cfg['slos']:
        for objective, target, _ in slo.slo_objectives(s):
            name = f"{s['service']}-{s['class']}-{objective}"
            b = slo.text(slo.budget(target, f'slos: {name}'))
            expr = (f'slo:sli_error:ratio_rate{window}{{cluster=~"$cluster",slo="{name}",'
                    f'slo=~"$slo"}} / {b}')
            # The availability share has no value until a call fails.
            out.append(Target(expr, f'{name} ({window})', incident=objective == 'availability',
                              cluster_wide=True))
    return out


def burn_panels(cfg):
    panels = []
    for severity, burn, long_w, short_w, spent in slo.BURN_ALERTS:
        panels.append(timeseries(
            f'Burn rate over {long_w} and {short_w} ({severity} above {burn}x)',
            slo_targets(cfg, long_w) + slo_targets(cfg, short_w), unit='x', w=8,
            desc=f'Both windows above {burn}x: {spent}.',
            steps=[(None, 'green'), (float(burn), 'red')]))
    return panels


def slow_share_by_zone(cfg):
    """Per zone and latency SLO, the share of calls slower than the threshold."""
    out = []
    for s in cfg['slos']:
        if 'latency' not in s:
            continue
        methods = slo.methods_regex(cfg['classes'], s['class'], f"slos: {s['class']}")
        le = slo.text(slo.number(s['latency']['threshold'], 'threshold'))
        sel = f'{SEL},method=~"{methods}"'
        count = rate('nearup_gateway_request_duration_seconds_count', sel, 'zone', '5m')
        fast = rate('nearup_gateway_request_duration_seconds_bucket', f'{sel},le="{le}"',
                    'zone', '5m')
        out.append(Target(f'({count} - {fast}) / {count}', f'{{{{zone}}}} {s["class"]} > {le} s'))
    return out


def slo_dashboard(cfg):
    calls = 'nearup_gateway_requests_total'
    return Dashboard(
        'nearup-slo', 'nearup / SLO burn',
        'Error budget burn of the RPC SLOs (monitoring/slo/slos.yml), per cluster, and the '
        'zones the bad calls come from.',
        'nearup_gateway_build_info', [
            Var('slo', 'SLO', 'slo:sli_error:ratio_rate5m{cluster=~"$cluster"}', multi=True)], [
            text('Objectives (from monitoring/slo/slos.yml)', slo.docs_table(cfg), h=10),
            *burn_panels(cfg),
            Row('Where the bad calls come from'),
            incident_only(timeseries('Error ratio per zone (5m)', (
                ratio(calls, SEL, ERRORS, 'zone', '5m'), '{{zone}}'), unit='percentunit')),
            timeseries('Calls slower than their class threshold, per zone (5m)',
                       slow_share_by_zone(cfg), unit='percentunit'),
            incident_only(table('Burn-rate alerts firing', Target(
                'ALERTS{alertname=~"NearupSLO.*",alertstate="firing",cluster=~"$cluster"}',
                cluster_wide=True), w=24, h=6)),
        ])


def dashboards():
    """[(file name, Dashboard)] of every dashboard, in the order of the docs."""
    cfg = slo.load(slo.CONFIG)
    return [('fleet.json', fleet()), ('node.json', node()), ('gateway.json', gateway()),
            ('upstreams.json', upstreams()), ('snapshots.json', snapshots()),
            ('canary.json', canary()), ('slo.json', slo_dashboard(cfg))]


def outputs(directory):
    """{path: text} of every dashboard file."""
    return {os.path.join(directory, name): json.dumps(d.render(), indent=2) + '\n'
            for name, d in dashboards()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--output', default=HERE, help='the directory (default: this one)')
    ap.add_argument('--check', action='store_true',
                    help='compare with the files instead of writing them (exit 1 on a difference)')
    args = ap.parse_args()
    try:
        files = outputs(args.output)
    except (slo.ConfigError, OSError) as e:
        print(f'generate.py: {e}', file=sys.stderr)
        return 1
    return slo.check(files) if args.check else slo.write(files) or 0


if __name__ == '__main__':
    sys.exit(main())
