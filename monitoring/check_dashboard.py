#!/usr/bin/env python3
"""check_dashboard.py DASHBOARD.json INTROSPECTION.cpp RULES.yml

Checks the Grafana dashboard mechanically: it is valid JSON, every panel has at least
one query, and every antiphase metric a query (or the templating) names is one the agent
exports (a string literal "antiphase_..." in the agent's metrics code) or a recording
rule defined in the shipped rules file. Exits 1 and names each problem otherwise.
"""
import json
import re
import sys

METRIC = re.compile(r"\bantiphase[_:][a-z0-9_:]*[a-z0-9_]")


def exported_metrics(introspection_cpp):
    with open(introspection_cpp) as f:
        return set(re.findall(r'"(antiphase_[a-z0-9_]+)"', f.read()))


def recorded_metrics(rules_yml):
    with open(rules_yml) as f:
        return set(re.findall(r"^\s*-?\s*record:\s*(\S+)", f.read(), re.M))


def queries(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel.get("title", "?"), [t.get("expr", "") for t in panel.get("targets", [])]
    for var in dashboard.get("templating", {}).get("list", []):
        q = var.get("query")
        yield "variable " + var.get("name", "?"), [q.get("query", "") if isinstance(q, dict) else q or ""]


def main(dashboard_path, introspection_cpp, rules_yml):
    try:
        with open(dashboard_path) as f:
            dashboard = json.load(f)
    except ValueError as e:
        print(f"{dashboard_path}: not valid JSON: {e}")
        return 1
    known = exported_metrics(introspection_cpp) | recorded_metrics(rules_yml)
    if not known:
        print(f"no metric names found in {introspection_cpp}")
        return 1
    problems, checked = [], 0
    for title, exprs in queries(dashboard):
        exprs = [e for e in exprs if e.strip()]
        if not exprs:
            problems.append(f"{title}: no query")
        for expr in exprs:
            names = METRIC.findall(expr)
            if not names:
                problems.append(f"{title}: query names no antiphase metric: {expr}")
            for name in names:
                checked += 1
                if name not in known:
                    problems.append(f"{title}: {name} is neither exported by the agent nor recorded by the rules")
    for p in problems:
        print(p)
    if not problems:
        print(f"{dashboard_path}: valid JSON, {checked} metric references, all exported or recorded")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
