"""`make bench-quick` proves the benchmark code works: one run on small sizes produces the
complete table. Its figures are not checked: speed is for the benchmark to report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domain.settings import PROJECT_ROOT
from testbed.processes import REDIS_URL

MEASURES = ("Command path, 1 writer", "Command path, 4 writers",
            "Command path on SQLite (embedded default), 1 writer",
            "Command path on SQLite (embedded default), 4 writers",
            "Command path with encryption", "Case page", "Inbox page",
            "Referral form POST", "Projections: rebuild", "Projections on SQLite",
            "Report pages", "Lag", "Escalation scan: find",
            "Escalation scan: among", "Command path, 10 networks", "Projections, 10 networks",
            "without snapshots", "with a snapshot")


@pytest.mark.postgres
def test_bench_quick_writes_a_complete_table(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    env = {**os.environ, "BENCH_REDIS_URL": os.environ.get("BENCH_REDIS_URL", REDIS_URL)}
    run = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr

    text = out.read_text()
    rows = [line for line in text.splitlines()
            if line.startswith("| ") and not line.startswith(("| Measure", "|---"))]
    assert len(rows) == len(MEASURES)
    for measure, row in zip(MEASURES, rows, strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert measure in cells[0]
        assert len(cells) == 6 and all(cells), row
        assert re.fullmatch(r"\d+\.\d\d×", cells[3]), f"ratio not numeric: {row}"
        assert cells[5] in ("met", "**missed**", "reference"), row
    assert "Machine:" in text and "PostgreSQL" in text
    bound = text.split("## What each row is bound by", 1)[1].split("\n## ", 1)[0]
    assert "(not profiled)" not in bound and bound.count("\n- ") == len(MEASURES)
