"""A real Prometheus (Debian `prometheus`) for the monitoring tests: scrapes
and evaluates every second on 127.0.0.1, its configuration checked with
`promtool check config` first, queried through its HTTP API."""
import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import yaml

from conftest import free_port


def static_job(job, targets):
    """A scrape job of [(address, labels)] targets."""
    return {'job_name': job, 'metrics_path': '/metrics',
            'static_configs': [{'targets': [addr], 'labels': labels} for addr, labels in targets]}


class Prometheus:
    def __init__(self, tmp_path, jobs, rule_files=(), am_addr=None):
        self.port = free_port()
        cfg = {'global': {'scrape_interval': '1s', 'evaluation_interval': '1s',
                          'scrape_timeout': '900ms'},
               'rule_files': list(rule_files), 'scrape_configs': jobs}
        if am_addr:
            cfg['alerting'] = {'alertmanagers': [{'static_configs': [{'targets': [am_addr]}]}]}
        conf = tmp_path / 'prometheus.yml'
        conf.write_text(yaml.safe_dump(cfg))
        check = subprocess.run(['promtool', 'check', 'config', str(conf)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = open(tmp_path / 'prometheus.log', 'w')
        self.proc = subprocess.Popen(
            ['prometheus', f'--config.file={conf}', f'--storage.tsdb.path={tmp_path / "tsdb"}',
             f'--web.listen-address=127.0.0.1:{self.port}', '--log.level=warn'],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.base = f'http://127.0.0.1:{self.port}'

    def api(self, path, **params):
        """The data of GET /api/v1/<path>, or None while Prometheus does not
        answer yet; an error answer (a query that does not parse) fails."""
        url = f'{self.base}/api/v1/{path}?' + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            if err.code == 503:  # starting: not ready yet
                return None
            raise AssertionError(f'{path} {params}: HTTP {err.code} {err.read()!r}') from None
        except OSError:
            assert self.proc.poll() is None, 'prometheus exited'
            return None
        assert body['status'] == 'success', body
        return body['data']

    def query(self, q):
        """The instant vector of q (a list of series), or None."""
        data = self.api('query', query=q)
        return data['result'] if data else None

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
