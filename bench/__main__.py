"""``python -m bench [--quick] [--out FILE]``: every measurement in one run, then the table."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import (audit, commands, config, lag, networks, privacy, projections, report, scan,
                   web)
from domain.settings import PROJECT_ROOT


# The measurements in the order of a run; --only names them.
STEPS = ("commands", "privacy", "web", "lag", "scan", "audit", "projections", "networks")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: proves the code works, its figures mean little")
    parser.add_argument("--render", type=Path, metavar="RESULTS",
                        help="only write the table again from a run's saved results.json")
    parser.add_argument("--out", type=Path, help="where the table goes (default: "
                        "docs/benchmarks.md, or test-artifacts/bench-quick.md with --quick)")
    parser.add_argument("--only", action="append", choices=STEPS, metavar="STEP",
                        help="run only this step (repeatable; the table has its rows only): "
                        + ", ".join(STEPS))
    args = parser.parse_args()
    sizes = config.QUICK if args.quick else config.FULL
    out = args.out or PROJECT_ROOT / (
        "test-artifacts/bench-quick.md" if args.quick else
        f"test-artifacts/bench-{'-'.join(args.only)}.md" if args.only else "docs/benchmarks.md")
    logs = PROJECT_ROOT / "test-artifacts" / f"bench-{sizes.name}"
    (logs / "instance").mkdir(parents=True, exist_ok=True)

    if args.render:
        saved = json.loads(args.render.read_text())
        sizes = config.FULL if saved["sizes"] == "full" else config.QUICK
        out.write_text(report.render(sizes, saved["results"], saved["seconds"],
                                     saved["command"], saved["at"]))
        print(f"table written to {out}")
        return

    started = time.perf_counter()
    at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    results: dict[str, dict] = {}
    steps = {"commands": lambda: commands.measure(sizes),
             "privacy": lambda: privacy.measure(sizes),
             "web": lambda: web.measure(sizes, logs),
             "lag": lambda: lag.measure(sizes, logs),
             "scan": lambda: scan.measure(sizes),
             "audit": lambda: audit.measure(sizes),
             "projections": lambda: projections.measure(sizes, logs),
             "networks": lambda: networks.measure(sizes)}
    for name, step in steps.items():
        if args.only and name not in args.only:
            continue
        config.settle()
        step_started = time.perf_counter()
        print(f"{name} …", flush=True)
        results.update(step())
        print(f"{name}: {time.perf_counter() - step_started:.0f} s", flush=True)
    command = "make bench-quick" if args.quick else "make bench"
    if args.only:
        command = "python -m bench" + "".join(f" --only {name}" for name in args.only)
    seconds = time.perf_counter() - started
    # Kept beside the logs, so the table can be written again without measuring again.
    (logs / "results.json").write_text(json.dumps(
        {"sizes": sizes.name, "results": results, "seconds": seconds, "command": command,
         "at": at}, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.render(sizes, results, seconds, command, at))
    print(f"table written to {out}")


if __name__ == "__main__":
    main()
