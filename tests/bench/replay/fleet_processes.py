#!/usr/bin/env python3
"""The fleet replay with real processes, against the in-process one on the same input.

Starts HOSTS antiphased (sampler mode replay on a cut of TRACE, an accelerated clock,
gossip on loopback through a chain of seeds). A driver plays the scheduler: at each
function's first sample it asks a random host in use for /v1/place, then /v1/admit
(with "reserve") on the oldest host that accepts, then on the hosts /v1/place judged
full (their adverts may predate a departure), else on the next idle host; at its
last sample it takes it away. After each trace step it reads every host's /v1/host and
moves the tenant a host names under "relief" (above capacity for admission.relief_after)
as the in-process fleet does: placed again, anywhere but there. Tenants reach an agent
through its sampler.replay_tenants file. Then `antiphase-replay --fleet` runs the same cut with the same gossip clock, and
both outcomes are printed side by side and checked against a stated tolerance.

  tests/bench/replay/fleet_processes.py BUILD TRACE.csv.gz [--functions 40] [--hosts 8]
      [--days 3] [--speed 1000] [--capacity 16] [--seed 1]

Exact equality is not expected: daemons start a few hundred ms apart (a few trace
minutes at 1000x), placements happen when the driver sees the trace clock pass an
arrival, and gossip runs over real sockets and threads. What must agree: the hosts in
use within 1 (or 15 %), the decisions' counts within 20 %, and the moves within 2.
"""
import argparse
import csv
import gzip
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


def call(sock, method, path, body=None):
    c = UnixHTTPConnection(sock)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


def cut_trace(src, dst, functions, days):
    """The first `functions` series (by name) with a sample in the first `days` days."""
    rows = {}
    start = None
    with gzip.open(src, "rt") as f:
        for line in f:
            if line.startswith("t"):
                continue
            t, fn, cpu = line.rstrip().split(",")
            t = int(float(t))
            if start is None:
                start = t - t % 86400
            if t >= start + days * 86400:
                break
            rows.setdefault(fn, []).append((t, cpu))
    keep = sorted(rows)[:functions]
    out = sorted((t, fn, cpu) for fn in keep for t, cpu in rows[fn])
    with open(dst, "w") as f:
        f.write("timestamp,function,cpu\n")
        for t, fn, cpu in out:
            f.write(f"{t},{fn},{cpu}\n")
    return keep, {fn: rows[fn] for fn in keep}, start


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("trace")
    ap.add_argument("--functions", type=int, default=40)
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--days", type=float, default=3)
    ap.add_argument("--speed", type=float, default=1000)
    ap.add_argument("--capacity", type=float, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--declared-cores", type=float, default=1.0)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="antiphase-fleet-")
    trace = os.path.join(work, "cut.csv")
    names, series, start = cut_trace(a.trace, trace, a.functions, a.days)
    step = 300
    tick_s = step / a.speed  # one trace step per tick, as the in-process fleet observes
    first = {fn: min(t for t, _ in series[fn]) for fn in names}
    last = {fn: max(t for t, _ in series[fn]) for fn in names}
    origin = min(first.values())  # the agents' trace clocks start at the first sample

    ports = [free_port() for _ in range(a.hosts)]
    agents = []
    for h in range(a.hosts):
        d = os.path.join(work, f"host-{h}")
        os.makedirs(d)
        seeds = f'["tcp://127.0.0.1:{ports[h - 1]}"]' if h else "[]"
        with open(os.path.join(d, "agent.toml"), "w") as f:
            f.write(f"""[sampler]
mode = "replay"
tick = {tick_s}
replay_file = "{trace}"
replay_speed = {a.speed}
replay_tenants = "{d}/tenants"
[functions]
pattern = '^(.+)$'
[api]
socket = "{d}/api.sock"
[state]
dir = "{d}"
[admission]
capacity_cores = {a.capacity}
committed_memory = "off"
[gossip]
enabled = true
node_id = "host-{h}"
bind = "tcp://127.0.0.1:{ports[h]}"
seeds = {seeds}
""")
        log = open(os.path.join(d, "log"), "w")
        p = subprocess.Popen([os.path.join(a.build, "agent/daemon/antiphased"), "--config", os.path.join(d, "agent.toml")],
                             stdout=log, stderr=subprocess.STDOUT)
        agents.append({"dir": d, "sock": os.path.join(d, "api.sock"), "proc": p, "tenants": set()})
    try:
        # Every agent up and measuring (a real host measures before it is sent work).
        for ag in agents:
            for _ in range(200):
                try:
                    if call(ag["sock"], "GET", "/v1/host")[1]["telemetry_age_s"] >= 0:
                        break
                except OSError:
                    pass
                time.sleep(0.05)
        rng = random.Random(a.seed)
        host_of = {}
        log = []  # (trace time, function, host or None)
        counts = {"requests": 0, "admits": 0, "accepted": 0, "rejected": 0, "new_hosts": 0, "forced": 0, "moved": 0}

        def take_away(fn, t):
            h = host_of.pop(fn)
            agents[h]["tenants"].discard(fn)
            write_tenants(agents[h])
            log.append((t, fn, None))

        def place(fn, t, leaving):
            """/v1/place on a random host in use, then /v1/admit on the oldest host it
            accepts, then on the hosts it judged full (never `leaving`, the host it moves
            off), else the next idle host."""
            counts["requests"] += 1
            active = [h for h, ag in enumerate(agents) if ag["tenants"]]
            request = {"function": fn, "peak_cores": a.declared_cores}
            chosen = None
            if active:
                entry = active[rng.randrange(len(active))]
                _, place = call(agents[entry]["sock"], "POST", "/v1/place", request)
                judged = {True: [], False: []}
                for o in place["hosts"]:
                    judged[o["decision"]["accept"]].append(int(o["node_id"].split("-")[1]))
                # Accepted first, then the hosts judged full from their adverts (a host
                # judges on its own current view), then those the entry has not heard of.
                known = set(judged[True] + judged[False])
                options = [h for h in sorted(judged[True]) + sorted(judged[False]) if h in active]
                options += [h for h in active if h not in known]
                for h in options:
                    if h == leaving:
                        continue
                    counts["admits"] += 1
                    _, d = call(agents[h]["sock"], "POST", "/v1/admit", dict(request, reserve=True))
                    if d["accept"]:
                        counts["accepted"] += 1
                        chosen = h
                        break
                    counts["rejected"] += 1
            if chosen is None:
                idle = [h for h, ag in enumerate(agents) if not ag["tenants"] and h != leaving]
                if not idle:
                    print("fleet_processes: ran out of hosts; give more --hosts", file=sys.stderr)
                    return False
                chosen = idle[0]
                counts["new_hosts"] += 1
                counts["admits"] += 1
                _, d = call(agents[chosen]["sock"], "POST", "/v1/admit", dict(request, reserve=True))
                counts["accepted" if d["accept"] else "rejected"] += 1
                if not d["accept"]:
                    counts["forced"] += 1
            host_of[fn] = chosen
            agents[chosen]["tenants"].add(fn)
            write_tenants(agents[chosen])
            log.append((t, fn, chosen))
            return True

        # Arrivals, departures, and half a step after each step (the agents have ticked)
        # a look at every host for a tenant to move.
        end_t = origin + int(a.days * 86400)
        events = sorted([(first[fn], 1, fn) for fn in names] + [(last[fn] + step, 0, fn) for fn in names] +
                        [(t + step // 2, 2, "") for t in range(origin, end_t, step)])
        t0 = time.time()
        for t, kind, fn in events:
            # Wait until the trace clock (wall time since start x speed) reaches the event.
            due = t0 + (t - origin) / a.speed
            while time.time() < due:
                time.sleep(min(0.05, due - time.time()))
            if kind == 0:
                take_away(fn, t)
            elif kind == 1:
                if not place(fn, t, None):
                    return 2
            else:
                for h, ag in enumerate(agents):
                    if not ag["tenants"]:
                        continue
                    relief = call(ag["sock"], "GET", "/v1/host")[1].get("relief")
                    if relief and relief["function"] in ag["tenants"]:
                        take_away(relief["function"], t)
                        counts["moved"] += 1
                        if not place(relief["function"], t, h):
                            return 2
        processes = judge(log, series, start, a.days, step, a.capacity)
        processes["decisions"] = counts
    finally:
        for ag in agents:
            ag["proc"].send_signal(signal.SIGTERM)
        for ag in agents:
            try:
                ag["proc"].wait(10)
            except subprocess.TimeoutExpired:
                ag["proc"].kill()

    fleet = subprocess.run([os.path.join(a.build, "agent/replay/antiphase-replay"), trace, "--fleet", "--fleet-policies",
                            "antiphase", "--capacity", str(a.capacity), "--gossip-speed", str(a.speed), "--warmup-days", "0",
                            "--seed", str(a.seed), "--declared-cores", str(a.declared_cores), "--json"],
                           capture_output=True, text=True, check=True)
    sim = json.loads(fleet.stdout)["policies"][0]
    shutil.rmtree(work, ignore_errors=True)

    print(f"{a.functions} functions, {a.days:g} days, {a.hosts} agents available, {a.speed:g}x, seed {a.seed}")
    print(f"{'':22}{'processes':>12}{'in-process':>12}")
    print(f"{'hosts in use (mean)':22}{processes['hosts_mean']:12.2f}{sim['hosts_mean']:12.2f}")
    print(f"{'hosts in use (max)':22}{processes['hosts_max']:12d}{sim['hosts_max']:12d}")
    print(f"{'overloaded host-steps':22}{100 * processes['overload_rate']:11.3f}%{100 * sim['overload_rate']:11.3f}%")
    for k in ("requests", "accepted", "rejected", "new_hosts", "forced", "moved"):
        print(f"{k:22}{processes['decisions'][k]:12d}{sim['decisions'][k]:12d}")
    ok = abs(processes["hosts_mean"] - sim["hosts_mean"]) <= max(1.0, 0.15 * sim["hosts_mean"])
    for k in ("accepted", "new_hosts"):
        ok &= abs(processes["decisions"][k] - sim["decisions"][k]) <= max(2, 0.2 * sim["decisions"][k])
    ok &= abs(processes["decisions"]["moved"] - sim["decisions"]["moved"]) <= 2
    print("agree within the stated tolerance" if ok else "DISAGREE beyond the stated tolerance")
    return 0 if ok else 1


def write_tenants(agent):
    tmp = os.path.join(agent["dir"], "tenants.tmp")
    with open(tmp, "w") as f:
        f.write("".join(fn + "\n" for fn in sorted(agent["tenants"])))
    os.replace(tmp, os.path.join(agent["dir"], "tenants"))


def judge(log, series, start, days, step, capacity):
    """Hosts in use and overloaded host-steps, from the placement log and the trace."""
    steps = int(days * 86400 // step)
    values = {fn: {} for fn in series}
    for fn, rows in series.items():
        for t, cpu in rows:
            values[fn][(t - start) // step] = float(cpu)
    where = {}
    i = 0
    log = sorted(log, key=lambda e: e[0])
    host_steps = overloaded = 0
    hosts_max = 0
    previous = {}
    for s in range(steps):
        t = start + s * step
        while i < len(log) and log[i][0] <= t:
            _, fn, h = log[i]
            if h is None:
                where.pop(fn, None)
            else:
                where[fn] = h
            i += 1
        load = {}
        for fn, h in where.items():
            v = values[fn].get(s, previous.get(fn, 0.0))
            previous[fn] = v
            load[h] = load.get(h, 0.0) + v
        host_steps += len(load)
        hosts_max = max(hosts_max, len(load))
        overloaded += sum(1 for v in load.values() if v > capacity + 1e-9)
    return {"hosts_mean": host_steps / steps, "hosts_max": hosts_max,
            "overload_rate": overloaded / host_steps if host_steps else 0.0}


if __name__ == "__main__":
    sys.exit(main())
