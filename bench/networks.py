"""Many networks in one installation: the aggregate command rate and projection rate of ten
networks at once (one process per core, each serving a share of the networks) against one
network alone (one process), each per core: per second of CPU the whole machine spent
meanwhile (the processes and the PostgreSQL server beside them, from /proc/stat), so the
ratio is the cost of serving many tenants per core.

Each run is an installation on PostgreSQL (runtime/installation.py) whose networks each
have a schema of their own. Every process goes through the installation as the web and the
workers do: it takes a network's system from the registry and works on it. For the
commands, each process sends and accepts referrals round-robin over its share of the
networks (all of them, or the one); for the projections, each process catches up the views
of its share of the networks from events recorded beforehand (the workers' ViewUpdater).

``python -m bench.networks commands|project INSTALLATION_URL COUNT SLUG…`` is one such
process; it prints its count and its start and end times as JSON."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench import config
from bench.events import fill
from domain.settings import PROJECT_ROOT, Settings

NETWORKS = 10


def _processes() -> int:
    return max(1, len(os.sched_getaffinity(0)))


@contextmanager
def _installation(slugs: list[str]) -> Iterator[tuple[str, Any]]:
    """An installation with the networks ``slugs`` (the demo city's configuration under
    each slug), each on a scratch schema; everything dropped afterwards."""
    from runtime.installation import NETWORK_POOL, bootstrap_installation

    folder = Path(tempfile.mkdtemp(prefix="bench-networks-"))
    schemas = [f"bench_net_{os.getpid()}_{i}" for i in range(len(slugs) + 1)]
    with psycopg.connect(config.base_url(), autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
    url = config.schema_url(schemas[0])
    installation = bootstrap_installation(Settings(database_url=url), nudge=None)
    try:
        for slug, schema in zip(slugs, schemas[1:]):
            network = folder / slug
            shutil.copytree(PROJECT_ROOT / "networks" / "cottbus", network,
                            ignore=shutil.ignore_patterns("demo"))
            toml = network / "network.toml"
            toml.write_text(re.sub(r'^slug = .*$', f'slug = "{slug}"', toml.read_text(),
                                   flags=re.M))
            installation.add(str(network),
                             database_url=config.schema_url(schema, **NETWORK_POOL))
        yield url, installation
    finally:
        installation.close()
        shutil.rmtree(folder, ignore_errors=True)
        with psycopg.connect(config.base_url(), autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _world(application: Any) -> Any:
    """The test world's organisations and users in a network (made once per network; a
    process of the run finds them by their ids, which follow from the network's slug)."""
    from testbed.world import ORGANISATIONS, World, organisation_id

    if application.directory.user("anna") is None:
        return World.build(application)
    slug = application.network.slug
    return World(application, ids={key: organisation_id(slug, key) for key in ORGANISATIONS})


def _busy_seconds() -> float:
    """CPU seconds the machine has been busy (all cores, every process) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _run_children(kind: str, url: str, count: int, shares: list[list[str]]
                  ) -> dict[str, float]:
    """Starts one process per share; once all are set up (imports, connections, their
    cases), they start together: the aggregate rate over all of them (work done ÷ the wall
    time from the start to the last end), and per core (work done ÷ the machine's busy CPU
    seconds meanwhile)."""
    children = [subprocess.Popen([sys.executable, "-m", "bench.networks", kind, url,
                                  str(count), *share], cwd=PROJECT_ROOT, text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
                for share in shares]
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"bench.networks {kind} failed while setting up")
    busy = _busy_seconds()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"bench.networks {kind} failed (exit {child.returncode})")
        results.append(json.loads(out))
    busy = _busy_seconds() - busy
    done = sum(r["done"] for r in results)
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {"rate": done / wall, "per_core": done / busy, "cores_busy": busy / wall}


def measure(sizes: config.Sizes, progress: Any = print) -> dict[str, dict[str, float]]:
    cores = _processes()
    many = [f"net-{i:02d}" for i in range(NETWORKS)]
    per_process = sizes.referrals_per_writer
    events = sizes.network_events
    results: dict[str, dict[str, float]] = {}
    # Commands: the same processes, over one network or round-robin over ten.
    with _installation(["alone", *many]) as (url, installation):
        for slug in ["alone", *many]:
            _world(installation.system(slug).application)
        # warm-up: imports, connections and caches of every process kind
        _run_children("commands", url, 2, [["alone"]])
        # The same processes on one network: what many tenants cost, not what a second
        # process on the cores costs (both runs share the cores with PostgreSQL alike).
        alone = _run_children("commands", url, per_process, [["alone"]] * cores)
        together = _run_children("commands", url, per_process,
                                 [many[i::cores] for i in range(cores)])
        results["networks_commands"] = _result(together, alone, cores)
        progress(f"  commands: {together['rate']:.0f}/s over {NETWORKS} networks "
                 f"({together['per_core']:.0f} per core), {alone['rate']:.0f}/s one network "
                 f"({alone['per_core']:.0f} per core)")
    # Projections: the same events in all, caught up by the same processes.
    with _installation(["alone", *many]) as (url, installation):
        for slug, count in [("alone", events), *((s, events // NETWORKS) for s in many)]:
            application = installation.system(slug).application
            fill(application, _world(application), count)
        alone = _run_children("project", url, 0, [["alone"]])
        together = _run_children("project", url, 0, [many[i::cores] for i in range(cores)])
        results["networks_projections"] = {**_result(together, alone, cores),
                                           "events": events}
        progress(f"  projections: {together['rate']:,.0f} events/s over {NETWORKS} networks "
                 f"({together['per_core']:,.0f} per core), {alone['rate']:,.0f} events/s "
                 f"one network ({alone['per_core']:,.0f} per core)")
    return results


def _result(together: dict[str, float], alone: dict[str, float], cores: int
            ) -> dict[str, float]:
    return {"engine": together["per_core"], "bare": alone["per_core"],
            "engine_rate": together["rate"], "bare_rate": alone["rate"],
            "engine_cores": together["cores_busy"], "bare_cores": alone["cores_busy"],
            "networks": NETWORKS, "processes": cores}


def _child(kind: str, url: str, count: int, slugs: list[str]) -> dict[str, float]:
    from readmodel.runner import ViewUpdater
    from readmodel.schema import create_tables
    from runtime.installation import bootstrap_installation

    installation = bootstrap_installation(Settings(database_url=url), nudge=None)
    systems = [installation.system(slug) for slug in slugs]
    done = 0
    if kind == "commands":
        from bench.commands import CASES_PER_WRITER

        worlds = [_world(system.application) for system in systems]
        cases = []
        for world in worlds:  # each network's cases, as the command path's writers have
            opened = [world.open_case() for _ in range(CASES_PER_WRITER)]
            for case in opened:
                world.consent(case)
            cases.append(opened)
        start = _ready()
        for i in range(count):  # one referral sent and accepted, network by network
            world, own = worlds[i % len(worlds)], cases[i % len(worlds)]
            referral = world.send(own[(i // len(worlds)) % len(own)])
            world.application.referrals.accept_referral(world.nadia, referral)
        done = count
    else:
        updaters = []
        for system in systems:
            create_tables(system.read_store)
            updaters.append(ViewUpdater(system.application, system.read_store,
                                        batch_size=system.settings.view_batch_size))
        start = _ready()
        for updater in updaters:
            done += updater.catch_up()
    end = time.time()
    installation.close()
    return {"done": done, "start": start, "end": end}


def _ready() -> float:
    """Tells the parent this process is set up, and waits for the start."""
    print("ready", flush=True)
    sys.stdin.readline()
    return time.time()


if __name__ == "__main__":
    kind, url, count, *slugs = sys.argv[1:]
    print(json.dumps(_child(kind, url, int(count), slugs)))
