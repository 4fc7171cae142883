"""The benchmark table in Markdown: each figure beside its baseline from the same run, the
ratio, the target and whether it is met; the notes on missed targets; machine and versions."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench import config
from bench.notes import BOUND, NOTES


@dataclass(frozen=True)
class Row:
    key: str
    measure: str
    fallnetz: str
    baseline: str
    ratio: float
    target: str
    met: bool | None  # None: a reference figure for another row


def rows(r: dict[str, dict[str, Any]]) -> list[Row]:
    """The rows of the measurements in ``r`` (a run with --only has some of them)."""
    out = []
    for key, where in (("commands", ""), ("commands_sqlite", " on SQLite (embedded default)")):
        for writers in (1, 4) if f"{key}_1" in r else ():
            c = r[f"{key}_{writers}"]
            ratio = c["engine"] / c["bare"]
            out.append(Row(f"{key}_{writers}",
                           f"Command path{where}, {writers} writer"
                           f"{'s' if writers > 1 else ''}: referrals sent, then accepted",
                           f"{c['engine']:.0f} referrals/s", f"{c['bare']:.0f} referrals/s "
                           "(bare eventsourcing, same events)", ratio, "≥ 0.8×",
                           ratio >= 0.8))
    if "privacy_commands" in r:
        out += _privacy_rows(r["privacy_commands"], r["privacy_page"])
    if "inbox" in r:
        out += _web_rows(r["inbox"], r["post"])
    if "projections" in r:
        out += _projection_rows(r)
    if "lag" in r:
        out.append(_lag_row(r["lag"]))
    if "scan_large" in r:
        out += _scan_rows(r["scan_large"], r["scan_small"])
    if "networks_commands" in r:
        out += _network_rows(r["networks_commands"], r["networks_projections"])
    for key, how in (("audit_plain", "without snapshots"), ("audit_snapshot",
                                                           "with a snapshot of the case")):
        if key in r:
            out.append(_audit_row(key, how, r[key]))
    return out


def _privacy_rows(commands: dict[str, Any], page: dict[str, Any]) -> list[Row]:
    on_ratio = commands["engine"] / commands["bare"]
    page_ratio = page["bare"] / page["engine"]  # times: the faster side over the slower
    return [
        Row("privacy_commands", "Command path with encryption at rest and the cases' own "
            "keys (1 writer)", f"{commands['engine']:.0f} referrals/s",
            f"{commands['bare']:.0f} referrals/s (same code, encryption off)", on_ratio,
            "≥ 0.8×", on_ratio >= 0.8),
        Row("privacy_page", "Case page `/faelle/<id>` with encryption and the read audit "
            "(in-process, median)", f"{page['engine']:.1f} ms",
            f"{page['bare']:.1f} ms (same code, encryption and read audit off)", page_ratio,
            "≥ 0.8×", page_ratio >= 0.8)]


def _web_rows(inbox: dict[str, Any], post: dict[str, Any]) -> list[Row]:
    out = []
    ratio = inbox["rps"] / inbox["bare"]
    out.append(Row("inbox", "Inbox page `/eingang`, gunicorn, 16 clients",
                   f"{inbox['rps']:.0f} req/s, p50 {inbox['p50_ms']:.0f} ms, "
                   f"p99 {inbox['p99_ms']:.0f} ms",
                   f"{inbox['bare']:.0f} req/s (bare Flask page, {inbox['bytes']:,} bytes)",
                   ratio, "≥ 0.5×", ratio >= 0.5))
    out.append(Row("post", "Referral form POST `/faelle/<id>/vermitteln`, 16 clients",
                   f"{post['rps']:.0f} req/s, p50 {post['p50_ms']:.0f} ms, "
                   f"p99 {post['p99_ms']:.0f} ms",
                   f"{post['bare']:.0f} req/s (bare Flask form POST)",
                   post["rps"] / post["bare"], "p99 < 100 ms", post["p99_ms"] < 100))
    return out


def _projection_rows(r: dict[str, dict[str, Any]]) -> list[Row]:
    out = []
    p = r["projections"]
    ratio = p["engine"] / p["bare"]
    out.append(Row("projections", f"Projections: rebuild every view from {p['events']:,} "
                   "events",
                   f"{p['engine']:,.0f} events/s, peak RSS {p['rss_mb']:.0f} MB "
                   f"({p['seconds']:.0f} s)",
                   f"{p['bare']:,.0f} events/s, peak RSS {p['bare_rss_mb']:.0f} MB "
                   f"(ProjectionRunner, trivial projection, first {p['bare_events']:,} "
                   "events)", ratio, "≥ 2×, ≥ 3,000 events/s, RSS < 300 MB",
                   ratio >= 2 and p["engine"] >= 3000 and p["rss_mb"] < 300))
    if "projections_sqlite" in r:
        s = r["projections_sqlite"]
        ratio = s["engine"] / s["bare"]
        out.append(Row("projections_sqlite", f"Projections on SQLite (embedded default): "
                       f"rebuild every view from {s['events']:,} events",
                       f"{s['engine']:,.0f} events/s, peak RSS {s['rss_mb']:.0f} MB "
                       f"({s['seconds']:.0f} s)",
                       f"{s['bare']:,.0f} events/s, peak RSS {s['bare_rss_mb']:.0f} MB "
                       "(the library reads and makes every event and records its tracking, "
                       "nothing else)", ratio, "reference (bound by its one writer)", None))
    if "reports" in r:  # runs saved before the reports had a row
        rep = r["reports"]
        each = ", ".join(f"{name.replace('_', ' ')} {ms:.0f} ms"
                         for name, ms in rep["pages"].items())
        out.append(Row("reports", f"Report pages on {rep['events']:,} events (coordinator, "
                       "last twelve months), median of each; the slowest counts",
                       f"{rep['engine']:.0f} ms ({each})",
                       f"{rep['bare']:.1f} ms (bare Flask page, {rep['bytes']:,} bytes)",
                       rep["engine"] / rep["bare"], "< 300 ms", rep["engine"] < 300))
    return out


def _network_rows(commands: dict[str, Any], projections: dict[str, Any]) -> list[Row]:
    """Ten networks at once against one alone, the same processes (one per core) in both."""
    n, cores = commands["networks"], commands["processes"]
    c_ratio = commands["engine"] / commands["bare"]
    p_ratio = projections["engine"] / projections["bare"]

    def figure(r: dict[str, Any], side: str, unit: str) -> str:
        rate, per_core, busy = r[f"{side}_rate"], r[side], r[f"{side}_cores"]
        return f"{per_core:,.0f} {unit}/s per core ({rate:,.0f}/s on {busy:.1f} busy cores)"
    return [
        Row("networks_commands", f"Command path, {n} networks at once: referrals sent and "
            f"accepted by {cores} processes round-robin over the networks",
            figure(commands, "engine", "referrals"),
            figure(commands, "bare", "referrals") + f"; one network alone, the same {cores} "
            "processes",
            c_ratio, "≥ 0.8× per core", c_ratio >= 0.8),
        Row("networks_projections", f"Projections, {n} networks at once: views caught up "
            f"from {projections['events']:,} events ({projections['events'] // n:,} each) by "
            f"{cores} processes", figure(projections, "engine", "events"),
            figure(projections, "bare", "events") + "; one network alone, the same events, "
            "one process", p_ratio, "≥ 0.8× per core", p_ratio >= 0.8),
    ]


def _lag_row(lag: dict[str, Any]) -> Row:
    return Row("lag", "Lag command committed → in the inbox view, 50 commands/s",
               f"p50 {lag['p50_ms']:.0f} ms, p99 {lag['p99_ms']:.0f} ms "
               f"({lag['commands']:,} commands)",
               f"p50 {lag['bare_p50_ms']:.0f} ms, p99 {lag['bare']:.0f} ms "
               "(ProjectionRunner, LISTEN/NOTIFY)", lag["p99_ms"] / lag["bare"],
               "p99 < 1 s", lag["p99_ms"] < 1000)


def _scan_rows(large: dict[str, Any], small: dict[str, Any]) -> list[Row]:
    out = []
    growth = large["engine"] / small["engine"]
    out.append(Row("scan_large", f"Escalation scan: find the due set among "
                   f"{large['open']:,} open referrals",
                   f"{large['engine']:.1f} ms", f"{large['bare']:.1f} ms (same SQL, bare "
                   "psycopg)", large["engine"] / large["bare"],
                   f"< 20 ms and ≤ 2× the row below (here {growth:.1f}×)",
                   large["engine"] < 20 and growth <= 2))
    out.append(Row("scan_small", f"Escalation scan: among {small['open']:,} open referrals",
                   f"{small['engine']:.1f} ms", f"{small['bare']:.1f} ms (same SQL, bare "
                   "psycopg)", small["engine"] / small["bare"], "reference for the row above",
                   None))
    return out


def _audit_row(key: str, how: str, a: dict[str, Any]) -> Row:
    return Row(key, f"Audit: case history page, {a['events']:,} events, {how}",
               f"{a['engine']:.0f} ms", f"{a['bare']:.1f} ms (library reads the "
               "case's events)", a["engine"] / a["bare"], "< 150 ms", a["engine"] < 150)


def _run(*command: str) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text()
                   .splitlines() if line.startswith("MemTotal")), 0)
    with psycopg.connect(config.base_url()) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    redis_version = redis.Redis.from_url(config.REDIS_URL).info()["redis_version"]
    packages = ", ".join(f"{name} {version(name)}" for name in (
        "eventsourcing", "flask", "flask-wtf", "gunicorn", "psycopg", "celery"))
    return [f"- Machine: {cpu}, {os.cpu_count()} cores, {memory:,} MB RAM, "
            f"{platform.system()} {platform.release()}",
            f"- Python {platform.python_version()}; {packages}",
            f"- PostgreSQL {postgres} at {config.base_url()}, Redis {redis_version}; load "
            f"client {_run('wrk', '-v')}"]


def render(sizes: config.Sizes, results: dict[str, dict[str, Any]], seconds: float,
           command: str, at: str) -> str:
    table = rows(results)
    lines = [
        "# Benchmarks",
        "",
        f"`{command}` ({sizes.name} sizes), "
        f"{at} UTC, {seconds / 60:.1f} minutes in all "
        "(generating the data included).",
        "",
        *machine(),
        "",
        "Every figure is set against a bare baseline measured in the same run on the same "
        "database; absolute times on a shared machine do not hold. Ratio = Fallnetz ÷ "
        "baseline: for rates (per second) higher is better, for times (ms) lower is better.",
        "",
        "| Measure | Fallnetz | Baseline | Ratio | Target | Result |",
        "|---|---|---|---|---|---|",
    ]
    for row in table:
        result = "reference" if row.met is None else "met" if row.met else "**missed**"
        lines.append(f"| {row.measure} | {row.fallnetz} | {row.baseline} | "
                     f"{row.ratio:.2f}× | {row.target} | {result} |")
    lines += ["", "## How it is measured", "", *NOTES["method"]]
    lines += ["", "## What each row is bound by", ""]
    lines += [f"- {row.measure}: {BOUND.get(row.key, '(not profiled)')}." for row in table]
    missed = [row for row in table if row.met is False]
    if missed:
        lines += ["", "## Missed targets: why, and what would close them", ""]
        for row in missed:
            lines += [f"**{row.measure}.** " + " ".join(NOTES.get(row.key, ["(no note)"])),
                      ""]
    return "\n".join(lines).rstrip() + "\n"
