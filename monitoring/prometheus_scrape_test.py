#!/usr/bin/env python3
"""prometheus_scrape_test.py ANTIPHASED ANTIPHASECTL PROMETHEUS RULES.yml

A real Prometheus (Debian's) scrapes a real agent's TCP /metrics listener, with the
shipped rules loaded. Two agents gossip on loopback; one watches a cgroup in which a
busy loop runs as function "promtest" and answers an admission query. Through
Prometheus' HTTP API the test reads back what an operator's dashboard and alerts use:
per-function CPU, decisions, the margin z, alive gossip peers, a recording rule; then it
stops the agent and waits for AntiphaseAgentDown to go pending.

Needs root (it creates a cgroup). Prints PASS/FAIL lines and "N passed, N failed".
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

passed = failed = 0


def report(ok, what):
    global passed, failed
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


def free_ports(count):
    """Free loopback ports below the ephemeral range, each checked by binding it."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral = int(f.read().split()[0])
    ports, port = [], 10000 + (os.getpid() * 37) % (ephemeral - 10100)
    while len(ports) < count:
        port = port + 1 if port + 1 < ephemeral else 10000
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            ports.append(port)
        except OSError:
            pass
        finally:
            s.close()
    return ports


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    raise SystemExit("no cgroup2 mount")


def wait_for(what, predicate, timeout):
    """Polls predicate() until it returns a truthy value; returns it, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, ValueError, KeyError, IndexError):
            pass
        time.sleep(0.5)
    print(f"      timed out after {timeout} s waiting for {what}")
    return None


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise ValueError(body)
        return body["data"]

    def query(self, expr):
        """Instant query: list of (labels, float value)."""
        data = self.get("/api/v1/query", query=expr)
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]


def agent_config(d, name, gossip_port, seed_port, root, metrics_port=None):
    os.makedirs(f"{d}/{name}/state")
    seeds = f'["tcp://127.0.0.1:{seed_port}"]'
    metrics = f'metrics_listen = "127.0.0.1:{metrics_port}"' if metrics_port else ""
    path = f"{d}/{name}/antiphase.toml"
    with open(path, "w") as f:
        f.write(f"""[sampler]
mode = "auto"
[functions]
cgroup_roots = ["{root}"]
rescan = "500ms"
[api]
socket = "{d}/{name}/api.sock"
{metrics}
[state]
dir = "{d}/{name}/state"
[gossip]
enabled = true
node_id = "{name}"
bind = "tcp://127.0.0.1:{gossip_port}"
seeds = {seeds}
interval = "500ms"
""")
    return path


def main(antiphased, antiphasectl, prometheus_bin, rules):
    if os.geteuid() != 0:
        print("SKIP: needs root to create a cgroup")
        return 0
    tmp = tempfile.mkdtemp(prefix=f"antiphase-prom-{os.getpid()}-")
    os.chmod(tmp, 0o755)
    cg_base = os.path.join(cgroup2_mount(), f"antiphase-prom-{os.getpid()}")
    procs = []
    try:
        os.makedirs(f"{cg_base}/a/fn-promtest-1.scope")
        os.makedirs(f"{cg_base}/b")
        gossip_a, gossip_b, metrics_port, prom_port = free_ports(4)
        conf_a = agent_config(tmp, "prom-a", gossip_a, gossip_b, f"{cg_base}/a", metrics_port)
        conf_b = agent_config(tmp, "prom-b", gossip_b, gossip_a, f"{cg_base}/b")
        logs = {n: open(f"{tmp}/{n}.log", "w") for n in ("prom-a", "prom-b", "prometheus")}
        # Every child in its own session, so cleanup can end it with all it started.
        agent_a = subprocess.Popen([antiphased, "--config", conf_a], stdout=logs["prom-a"], stderr=subprocess.STDOUT,
                                   start_new_session=True)
        agent_b = subprocess.Popen([antiphased, "--config", conf_b], stdout=logs["prom-b"], stderr=subprocess.STDOUT,
                                   start_new_session=True)
        procs += [agent_a, agent_b]
        # The busy loop, in the function's cgroup before it starts spinning.
        burner = subprocess.Popen(["sh", "-c", f'echo $$ > "{cg_base}/a/fn-promtest-1.scope/cgroup.procs" && '
                                   'exec timeout 60 sh -c "while :; do :; done"'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(burner)
        ctl = [antiphasectl, "--socket", f"{tmp}/prom-a/api.sock"]
        if not wait_for("agent prom-a to answer", lambda: subprocess.run(ctl + ["stats"], capture_output=True).returncode == 0, 20):
            return report(False, "agent prom-a started")
        subprocess.run(ctl + ["admit", "promtest"], capture_output=True)

        with open(f"{tmp}/prometheus.yml", "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{os.path.abspath(rules)}"]
scrape_configs:
  - job_name: antiphase
    static_configs:
      - targets: ["127.0.0.1:{metrics_port}"]
""")
        prom = subprocess.Popen([prometheus_bin, f"--config.file={tmp}/prometheus.yml",
                                 f"--storage.tsdb.path={tmp}/tsdb", f"--web.listen-address=127.0.0.1:{prom_port}",
                                 "--web.enable-lifecycle"],
                                stdout=logs["prometheus"], stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(prom)
        p = Prometheus(prom_port)
        version = wait_for("Prometheus to answer", lambda: p.get("/api/v1/status/buildinfo")["version"], 30)
        report(bool(version), f"Prometheus {version} is up and loaded the shipped rules")
        up = wait_for("up == 1", lambda: p.query('up{job="antiphase"} == 1'), 30)
        report(bool(up), "Prometheus scrapes the agent's TCP /metrics listener (up == 1)")

        cpu = wait_for("per-function CPU", lambda: p.query('antiphase_function_cpu_cores{function="promtest"} > 0.05'), 30)
        report(bool(cpu), f"per-function CPU through Prometheus: promtest {cpu[0][1]:.2f} cores" if cpu
               else "per-function CPU of promtest in Prometheus")
        decisions = wait_for("decisions", lambda: p.query("sum(antiphase_admission_decisions_total) >= 1"), 20)
        report(bool(decisions), "admission decisions counted in Prometheus: " +
               (f"{decisions[0][1]:.0f}" if decisions else "none"))
        z = wait_for("margin z", lambda: p.query("antiphase_admission_margin_z"), 20)
        report(bool(z), f"margin z in Prometheus: {z[0][1]:.3f}" if z else "margin z in Prometheus")
        peers = wait_for("an alive gossip peer", lambda: p.query('antiphase_gossip_peers{state="alive"} == 1'), 30)
        report(bool(peers), "gossip peers in Prometheus: 1 alive")
        ratio = wait_for("the recording rule", lambda: p.query("antiphase:host_utilisation:ratio"), 20)
        report(bool(ratio), f"recording rule antiphase:host_utilisation:ratio = {ratio[0][1]:.3f}" if ratio
               else "recording rule antiphase:host_utilisation:ratio evaluated")
        firing = p.query('ALERTS{alertname="AntiphaseAgentDown"}')
        report(not firing, "no AntiphaseAgentDown while the agent runs")

        agent_a.send_signal(signal.SIGTERM)
        agent_a.wait(timeout=20)
        down = wait_for("AntiphaseAgentDown pending",
                        lambda: [a for a in p.get("/api/v1/alerts")["alerts"]
                                 if a["labels"]["alertname"] == "AntiphaseAgentDown"], 30)
        report(bool(down), f"AntiphaseAgentDown is {down[0]['state']} once the agent stops" if down
               else "AntiphaseAgentDown after the agent stopped")
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        for d in (f"{cg_base}/a/fn-promtest-1.scope", f"{cg_base}/a", f"{cg_base}/b", cg_base):
            try:
                os.rmdir(d)
            except OSError:
                pass
        if failed:
            for name in ("prom-a", "prom-b", "prometheus"):
                path = f"{tmp}/{name}.log"
                if os.path.exists(path):
                    print(f"      --- {name}.log (tail)")
                    for line in open(path).read().splitlines()[-8:]:
                        print("      | " + line)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
