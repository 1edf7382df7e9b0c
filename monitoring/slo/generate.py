#!/usr/bin/python3
"""Writes monitoring/rules/slo.yml from monitoring/slo/slos.yml.

For each SLO (service, method class, objective) it writes the error ratio
over 5m, 30m, 1h, 6h and 3d as recording rules, and multi-window,
multi-burn-rate alerts over them (the SRE workbook's table, 30-day budget):
page at 14.4x over 1h and 5m (2% of the budget in an hour), page at 6x over
6h and 30m (5% in six hours), ticket at 1x over 3d and 6h (10% in three
days). It also writes the per-method p99 alert against each class's latency
threshold. An operator edits slos.yml, never the PromQL.

    generate.py            rewrite the rules file
    generate.py --check    exit 1, with a diff, when the file is not current
"""
import argparse
import decimal
import difflib
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, 'slos.yml')
OUTPUT = os.path.join(HERE, '..', 'rules', 'slo.yml')

# Bucket bounds of nearup_gateway_request_duration_seconds, as the gateway
# writes them in le (src/gateway/gw_metrics.c; the test compares the two).
# A latency threshold must be one of them: the SLI reads that bucket.
BUCKETS = ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5',
           '1', '2.5', '5', '10', '30']
WINDOWS = ['5m', '30m', '1h', '6h', '3d']
# (severity, burn rate, long window, short window, budget spent when it fires)
BURN_ALERTS = [('page', '14.4', '1h', '5m', '2% of the 30-day budget in 1 hour'),
               ('page', '6', '6h', '30m', '5% of the 30-day budget in 6 hours'),
               ('ticket', '1', '3d', '6h', '10% of the 30-day budget in 3 days')]
OBJECTIVES = ('availability', 'latency')
ALERT_NAMES = {'availability': 'NearupSLOAvailabilityBurn', 'latency': 'NearupSLOLatencyBurn'}
LATENCY_ALERT = 'NearupGatewayHighLatency'
GROUP_LABELS = 'cluster'  # an SLO is the service of a cluster, all its gateways together
METHOD_LABELS = 'cluster, zone, instance, job, method'  # gateway.yml's records


class ConfigError(Exception):
    pass


def number(v, what):
    """A target or threshold as an exact decimal (YAML gives floats or ints)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f'{what}: {v!r} is not a number')
    return decimal.Decimal(str(v))


def text(d):
    """A decimal as PromQL and people write it: 0.001, 14.4, 1."""
    return format(d.normalize(), 'f')


def budget(target, what):
    t = number(target, what)
    if not 0 < t < 100:
        raise ConfigError(f'{what}: {target} is not a percentage between 0 and 100')
    return (100 - t) / 100


def methods_regex(classes, name, what):
    methods = classes.get(name)
    if not isinstance(methods, list) or not methods:
        raise ConfigError(f'{what}: class {name!r} is not defined in classes')
    return '|'.join(methods)


def load(path):
    with open(path) as fh:
        cfg = yaml.safe_load(fh)
    for key in ('runbook_base_url', 'error_codes', 'classes', 'slos'):
        if key not in cfg:
            raise ConfigError(f'{path}: {key} is missing')
    seen = {}
    for name, methods in cfg['classes'].items():
        for m in methods:
            if m in seen:
                raise ConfigError(f'{path}: method {m} is in classes {seen[m]} and {name}')
            seen[m] = name
    return cfg


def sli_exprs(cfg, slo, objective, window):
    """The ratio of bad calls to all calls of the SLO's class over window."""
    what = f"slos: {slo['service']}-{slo['class']}"
    methods = methods_regex(cfg['classes'], slo['class'], what)
    sel = f'method=~"{methods}"'
    if objective == 'availability':
        bad = (f'sum by ({GROUP_LABELS}) (rate(nearup_gateway_requests_total'
               f'{{{sel},code=~"{cfg["error_codes"]}"}}[{window}]))')
        total = f'sum by ({GROUP_LABELS}) (rate(nearup_gateway_requests_total{{{sel}}}[{window}]))'
        return f'{bad}\n  /\n{total}\n'
    le = text(number(slo['latency']['threshold'], f'{what}: latency threshold'))
    if le not in BUCKETS:
        raise ConfigError(f'{what}: latency threshold {le} is not a bucket bound of '
                          f'nearup_gateway_request_duration_seconds ({", ".join(BUCKETS)})')
    total = (f'sum by ({GROUP_LABELS}) (rate(nearup_gateway_request_duration_seconds_count'
             f'{{{sel}}}[{window}]))')
    fast = (f'sum by ({GROUP_LABELS}) (rate(nearup_gateway_request_duration_seconds_bucket'
            f'{{{sel},le="{le}"}}[{window}]))')
    return f'(\n  {total}\n  -\n  {fast}\n)\n  /\n{total}\n'


def slo_objectives(slo):
    """(objective, target percent, threshold or None) for each objective the SLO has."""
    out = []
    if 'availability' in slo:
        out.append(('availability', slo['availability'], None))
    if 'latency' in slo:
        lat = slo['latency']
        out.append(('latency', lat['target'], lat['threshold']))
    if not out:
        raise ConfigError(f"slos: {slo['service']}-{slo['class']}: no availability or latency")
    return out


def burn_alert(cfg, slo, objective, target, threshold, burn):
    severity, rate, long_w, short_w, spent = burn
    name = f"{slo['service']}-{slo['class']}-{objective}"
    what = f'slos: {name}'
    limit = f'{rate} * {text(budget(target, what))}'
    expr = (f'slo:sli_error:ratio_rate{long_w}{{slo="{name}"}} > ({limit})\n'
            f'and\nslo:sli_error:ratio_rate{short_w}{{slo="{name}"}} > ({limit})\n')
    if objective == 'availability':
        bad = f'answered with an error (HTTP code ~ {cfg["error_codes"]})'
    else:
        bad = f'slower than {text(number(threshold, what))} s'
    alert = ALERT_NAMES[objective]
    return {
        'alert': alert,
        'expr': expr,
        'labels': {'severity': severity, 'slo': name, 'window': long_w},
        'annotations': {
            'summary': (f'{{{{ $labels.cluster }}}}: {slo["service"]} {slo["class"]} '
                        f'{objective} error budget burning {rate}x ({long_w})'),
            'description': (
                f'{{{{ $value | humanizePercentage }}}} of {slo["service"]} {slo["class"]} '
                f'calls in cluster {{{{ $labels.cluster }}}} were {bad} over the last '
                f'{long_w} (and over {short_w}), against an objective of {text(number(target, what))}%: '
                f'{rate}x the rate the budget allows, {spent}.'),
            'runbook_url': cfg['runbook_base_url'] + alert + '.md',
        },
    }


def slo_group(cfg, slo):
    rules, alerts = [], []
    for objective, target, threshold in slo_objectives(slo):
        name = f"{slo['service']}-{slo['class']}-{objective}"
        labels = {'slo': name, 'service': slo['service'], 'class': slo['class'],
                  'objective': objective}
        for w in WINDOWS:
            rules.append({'record': f'slo:sli_error:ratio_rate{w}',
                          'expr': sli_exprs(cfg, slo, objective, w), 'labels': labels})
        for burn in BURN_ALERTS:
            alerts.append(burn_alert(cfg, slo, objective, target, threshold, burn))
    return {'name': f"slo-{slo['service']}-{slo['class']}", 'rules': rules + alerts}


def latency_group(cfg):
    """Per method: p99 above its class's latency threshold, for 15 minutes."""
    rules = []
    for slo in cfg['slos']:
        if 'latency' not in slo:
            continue
        what = f"slos: {slo['service']}-{slo['class']}"
        methods = methods_regex(cfg['classes'], slo['class'], what)
        threshold = text(number(slo['latency']['threshold'], f'{what}: latency threshold'))
        rules.append({
            'alert': LATENCY_ALERT,
            'expr': (f'instance_method:nearup_gateway_request_duration_seconds:p99_5m'
                     f'{{method=~"{methods}"}} > {threshold}\n'
                     f'and instance_method:nearup_gateway_requests:rate5m > 0.1\n'),
            'for': '15m',
            'labels': {'severity': 'ticket', 'class': slo['class']},
            'annotations': {
                'summary': ('gateway {{ $labels.instance }}: p99 of {{ $labels.method }} is '
                            '{{ $value | humanizeDuration }}'),
                'description': (
                    f'For 15 minutes the 99th percentile latency of {{{{ $labels.method }}}} '
                    f'calls through {{{{ $labels.instance }}}} has been above {threshold} s, '
                    f'the {slo["class"]} class\'s latency threshold (now '
                    f'{{{{ $value | humanizeDuration }}}}).'),
                'runbook_url': cfg['runbook_base_url'] + LATENCY_ALERT + '.md',
            },
        })
    return {'name': 'nearup-gateway-method-latency', 'rules': rules}


class Dumper(yaml.SafeDumper):
    """Block style as the hand-written rule files: indented lists, no anchors."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data):
        return True


def _str(dumper, s):
    style = '|' if '\n' in s else None
    return dumper.represent_scalar('tag:yaml.org,2002:str', s, style=style)


Dumper.add_representer(str, _str)

HEADER = """\
# GENERATED by monitoring/slo/generate.py from monitoring/slo/slos.yml: edit
# that file and run the script; `make test` fails while this file differs.
# Recording rules slo:sli_error:ratio_rate<window> (the share of bad calls per
# SLO and cluster) and multi-window, multi-burn-rate alerts over them.
"""


def render(cfg):
    groups = [slo_group(cfg, slo) for slo in cfg['slos']] + [latency_group(cfg)]
    body = yaml.dump({'groups': groups}, Dumper=Dumper, sort_keys=False, width=10000,
                     default_flow_style=False)
    return HEADER + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--config', default=CONFIG)
    ap.add_argument('--output', default=OUTPUT)
    ap.add_argument('--check', action='store_true',
                    help='compare with the file instead of writing it (exit 1 on a difference)')
    args = ap.parse_args()
    try:
        text_out = render(load(args.config))
    except (ConfigError, KeyError, TypeError, OSError, yaml.YAMLError) as e:
        print(f'generate.py: {e}', file=sys.stderr)
        return 1
    if args.check:
        try:
            with open(args.output) as fh:
                current = fh.read()
        except FileNotFoundError:
            current = ''
        if current != text_out:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text_out.splitlines(True), args.output, 'generated'))
            print(f'generate.py: {args.output} is not what {args.config} generates; '
                  f'run monitoring/slo/generate.py', file=sys.stderr)
            return 1
        return 0
    tmp = args.output + '.tmp'
    with open(tmp, 'w') as fh:
        fh.write(text_out)
    os.replace(tmp, args.output)
    return 0


if __name__ == '__main__':
    sys.exit(main())
