"""One installation, many networks: the registry of networks and a :class:`System` for each.

Each network is a tenant with a store of its own — its own SQLite file in the embedded
default, its own PostgreSQL schema (or database, or server) in production — so every
query a network's application or views make can only reach that network's events: nothing
filters by network, because nothing else is there to filter out. The registry (one table
in the installation's database, ``DATABASE_URL``) says which networks there are, where each
network's configuration folder and store are, and which are disabled. Processes read it
again every few seconds, so a network added or disabled by an operator is served or left
without restarting web or workers.

An installation with no network registered serves the one network of ``NETWORK_DIR`` on
``DATABASE_URL`` at the root of the site, as before networks were many (tests and
one-network installations); the first ``networks add`` registers that network too when its
store holds events, where it is, so nothing of it is lost."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from domain.network import NetworkConfig, NetworkConfigError, load_network
from domain.settings import PROJECT_ROOT, Settings, SettingsError, private_file
from runtime.bootstrap import DEFAULT, System, bootstrap

log = logging.getLogger(__name__)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")  # as network.toml's slug
REFRESH_SECONDS = 2.0  # how old the registry a process works with may be
TABLE = "fallnetz_networks"
# A network's own PostgreSQL connections per process, unless its URL says otherwise: one
# kept open, up to five under load. Every process holds a pool per network it serves, so
# the one-network default (five kept open) would need hundreds of connections per process
# for a Land's networks (docs/scaling.md).
NETWORK_POOL = {"pool_size": "1", "max_overflow": "4"}


class NetworkError(SettingsError):
    """An operator's request about networks that cannot be done, in words they can act on:
    the message (English, for the CLI and the logs), the field it is about, and a code with
    its values, from which the web says it in the page's language."""

    def __init__(self, message: str, *, field: str = "config_dir", code: str = "",
                 **values: Any) -> None:
        super().__init__(message)
        self.field, self.code, self.values = field, code, values


@dataclass(frozen=True)
class NetworkEntry:
    slug: str
    name: str
    config_dir: str  # the network's folder (network.toml, deadlines, needs, map, demo)
    database_url: str  # the network's store: its own SQLite file, schema or database
    disabled: bool = False
    added_at: str = ""

    def settings(self, installation: Settings, *, prefixed: bool = True) -> Settings:
        """The installation's settings with this network's store and configuration; links
        in mails and pages carry the network's path (``/n/<slug>``)."""
        base = installation.public_base_url.rstrip("/")
        return replace(installation, database_url=self.database_url,
                       network_dir=self.config_dir,
                       public_base_url=f"{base}/n/{self.slug}" if prefixed else base)


class NetworkRegistry:
    """The table of networks in the installation's database (made on the first ``add``;
    reading a database without it finds no network)."""

    def __init__(self, settings: Settings) -> None:
        self.env = settings.persistence_env()
        self.dialect = "sqlite" if self.env["PERSISTENCE_MODULE"].endswith("sqlite") \
            else "postgres"
        self.schema = self.env.get("POSTGRES_SCHEMA", "")

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self.dialect == "sqlite":
            if self.env["SQLITE_DBNAME"] == ":memory:":
                raise NetworkError("DATABASE_URL: an installation of several networks needs "
                                   "a database file or PostgreSQL, not :memory:")
            conn = sqlite3.connect(self.env["SQLITE_DBNAME"], timeout=10,
                                   isolation_level=None)
            try:
                yield conn
            finally:
                conn.close()
            return
        from readmodel.store import postgres_connection

        conn = postgres_connection(self.env, 5)
        try:
            if self.schema:
                conn.execute(f'SET search_path TO "{self.schema}"')
            yield conn
            conn.commit()
        finally:
            conn.close()

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.dialect == "postgres" else text

    def entries(self) -> list[NetworkEntry]:
        try:
            with self._connection() as conn:
                rows = conn.execute(
                    f"SELECT slug, name, config_dir, database_url, disabled, added_at "
                    f"FROM {TABLE} ORDER BY slug").fetchall()
        except Exception as error:  # noqa: BLE001 — no table yet: no network registered
            if _missing_table(error):
                return []
            raise
        return [NetworkEntry(slug, name, config_dir, url, bool(disabled), added_at)
                for slug, name, config_dir, url, disabled, added_at in rows]

    def version(self) -> tuple[Any, ...]:
        """Changes whenever the registry does (cheap: read every few seconds)."""
        return tuple(self.entries())

    def insert(self, entry: NetworkEntry) -> None:
        with self._connection() as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                         "slug TEXT PRIMARY KEY, name TEXT NOT NULL, config_dir TEXT NOT NULL, "
                         "database_url TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, "
                         "added_at TEXT NOT NULL)")
            if conn.execute(self._sql(f"SELECT 1 FROM {TABLE} WHERE slug = ?"),
                            (entry.slug,)).fetchone():
                raise NetworkError(f"A network {entry.slug!r} is registered already.")
            conn.execute(self._sql(
                f"INSERT INTO {TABLE} (slug, name, config_dir, database_url, disabled, "
                "added_at) VALUES (?, ?, ?, ?, ?, ?)"),
                (entry.slug, entry.name, entry.config_dir, entry.database_url,
                 int(entry.disabled), entry.added_at))

    def set_disabled(self, slug: str, disabled: bool) -> None:
        with self._connection() as conn:
            try:
                changed = conn.execute(self._sql(
                    f"UPDATE {TABLE} SET disabled = ? WHERE slug = ?"),
                    (int(disabled), slug)).rowcount
            except Exception as error:  # noqa: BLE001
                if not _missing_table(error):
                    raise
                changed = 0
        if not changed:
            raise NetworkError(f"No network {slug!r} is registered.")


def _missing_table(error: Exception) -> bool:
    text = str(error).lower()
    return TABLE in text and ("no such table" in text or "does not exist" in text)


def default_database_url(installation: Settings, slug: str) -> str:
    """Where a new network's store goes unless the operator says otherwise: a SQLite file
    of its own in the instance folder, or a schema of its own in the installation's
    PostgreSQL database."""
    url = urlsplit(installation.database_url)
    if url.scheme == "sqlite":
        return f"sqlite:///{installation.instance_path / 'networks' / (slug + '.sqlite3')}"
    query = [(k, v) for k, v in parse_qsl(url.query) if k != "schema"]
    query += [(k, v) for k, v in NETWORK_POOL.items() if k not in dict(query)]
    query.append(("schema", f"network_{slug.replace('-', '_')}"))
    return urlunsplit(url._replace(query=urlencode(query)))


class Installation:
    """The networks of this installation and a :class:`System` for each one used, built on
    first use and rebuilt when the registry changes its entry."""

    def __init__(self, settings: Settings, *,
                 build: Callable[[Settings, NetworkConfig | None], System] | None = None,
                 root: System | None = None,
                 on_system: Callable[[str, System], None] | None = None) -> None:
        self.settings = settings
        self.registry = NetworkRegistry(settings)
        self._build = build or (lambda s, network: bootstrap(s, network=network))
        self._on_system = on_system
        self._lock = threading.RLock()
        self._entries: list[NetworkEntry] | None = None
        self._read_at = 0.0
        self._systems: dict[str, tuple[NetworkEntry, System]] = {}
        self._building: dict[str, threading.Lock] = {}
        self._root = root
        self._root_entry: NetworkEntry | None = None
        if root is not None and on_system is not None:
            on_system(self.root_entry().slug, root)

    # -- the registry ---------------------------------------------------------------------------
    def entries(self, *, fresh: bool = False) -> list[NetworkEntry]:
        """Every registered network (the disabled ones too), at most a few seconds old."""
        with self._lock:
            now = time.monotonic()
            if fresh or self._entries is None or now - self._read_at > REFRESH_SECONDS:
                self._read_at = now
                try:
                    self._entries = self.registry.entries()
                except Exception as error:
                    # The installation's database is away: go on with what was known
                    # (the networks' own stores may well answer); /health/ready says so.
                    if fresh:
                        raise
                    log.warning("the registry of networks cannot be read (%s)",
                                type(error).__name__)
                    if self._entries is None:
                        return []
            return list(self._entries)

    @property
    def several(self) -> bool:
        """Networks are registered: each is served under ``/n/<slug>/``. Otherwise the one
        network of the settings is served at the root."""
        return bool(self.entries())

    def enabled(self) -> list[NetworkEntry]:
        if not self.several:
            return [self.root_entry()]
        return [entry for entry in self.entries() if not entry.disabled]

    def entry(self, slug: str) -> NetworkEntry | None:
        for entry in self.entries() if self.several else [self.root_entry()]:
            if entry.slug == slug:
                return entry
        return None

    def root_entry(self) -> NetworkEntry:
        """The network of ``NETWORK_DIR`` on ``DATABASE_URL`` (one-network installations)."""
        if self._root_entry is None:
            network = self._root.application.network if self._root is not None \
                else load_network(self.settings.network_path)
            self._root_entry = NetworkEntry(network.slug, network.name,
                                            self.settings.network_dir,
                                            self.settings.database_url)
        return self._root_entry

    # -- the systems ----------------------------------------------------------------------------
    def root(self) -> System | None:
        """The system served at the root, when no network is registered."""
        if self.several:
            return None
        with self._lock:
            if self._root is None:
                self._root = self._build(self.settings, None)
                if self._on_system is not None:
                    self._on_system(self.root_entry().slug, self._root)
            return self._root

    def system(self, slug: str) -> System | None:
        """The network's system; none for a network not registered or disabled."""
        if not self.several:
            root_entry = self.root_entry()
            return self.root() if slug == root_entry.slug else None
        entry = self.entry(slug)
        if entry is None or entry.disabled:
            return None
        with self._lock:
            known = self._systems.get(slug)
            if known is not None and known[0] == entry:
                return known[1]
            building = self._building.setdefault(slug, threading.Lock())
        # Built outside the installation's lock: opening a store whose server is away
        # waits for its connect timeout, and only that network's requests wait with it.
        with building:
            with self._lock:
                known = self._systems.get(slug)
                if known is not None and known[0] == entry:
                    return known[1]
            system = self._build(entry.settings(self.settings),
                                 load_network(_from_root(entry.config_dir)))
            if self._on_system is not None:
                self._on_system(slug, system)
            with self._lock:
                replaced = self._systems.get(slug)
                self._systems[slug] = (entry, system)
            if replaced is not None:
                _close(replaced[1])
            return system

    def open_systems(self) -> list[System]:
        """The systems built so far (the root's included)."""
        with self._lock:
            found = [system for _entry, system in self._systems.values()]
        return found + ([self._root] if self._root is not None else [])

    def forget(self, slug: str) -> None:
        """Closes a network's system (a disabled network's connections go)."""
        with self._lock:
            known = self._systems.pop(slug, None)
        if known is not None:
            _close(known[1])

    def close(self) -> None:
        with self._lock:
            systems = [system for _entry, system in self._systems.values()]
            self._systems.clear()
            if self._root is not None:
                systems.append(self._root)
        for system in systems:
            _close(system)

    # -- what operators do ----------------------------------------------------------------------
    def add(self, config_dir: str, *, database_url: str = "") -> NetworkEntry:
        """Registers a network from its configuration folder, by the slug its network.toml
        gives it (which its organisations' ids and its nudges carry too); its store is made
        and checked before it is registered, so a registered network is served at once."""
        path = _from_root(config_dir)
        if not (path / "network.toml").is_file():
            raise NetworkError(f"{config_dir}: no network configuration there "
                               "(network.toml)", code="no_configuration")
        try:
            network = load_network(path)
        except (NetworkConfigError, OSError, ValueError) as error:
            raise NetworkError(f"{config_dir}: {error}", code="configuration_invalid",
                               detail=str(error)[:300]) from None
        slug = network.slug
        if not SLUG.match(slug):
            raise NetworkError(f"slug {slug!r}: 2 to 40 lower-case letters, digits and "
                               "hyphens", code="configuration_invalid",
                               detail=f"slug = {slug!r}")
        entries = self.entries(fresh=True)
        if any(entry.slug == slug for entry in entries):
            raise NetworkError(f"A network {slug!r} is registered already.",
                               code="registered_already", slug=slug)
        adopted = self._adopt_root(slug) if not entries else None
        url = database_url or adopted or default_database_url(self.settings, slug)
        # Checked before anything touches the store: a wrong URL changes no file.
        identity = self.store_identity(url, new=url != adopted)
        if not adopted and identity == self.store_identity(self.settings.database_url,
                                                          new=False):
            raise NetworkError(f"{url}: the installation's own database (its list of "
                               "networks)", field="database_url", code="store_installation")
        for other in self.entries(fresh=True):
            if self.store_identity(other.database_url, new=False) == identity:
                raise NetworkError(f"{url}: the store of network {other.slug}; each network "
                                   "has its own.", field="database_url", code="store_taken",
                                   name=other.name)
        entry = NetworkEntry(slug, network.name, _relative(path), url,
                             added_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        _prepare_store(entry.settings(self.settings))
        from runtime.bootstrap import check_store_opens

        try:
            system = self._build(entry.settings(self.settings), network)
        except Exception as error:  # noqa: BLE001 — said in words, not registered
            raise NetworkError(f"the network's store cannot be opened "
                               f"({type(error).__name__}: {str(error).strip()[:200]})",
                               field="database_url", code="store_unreachable",
                               detail=type(error).__name__) from None
        try:
            check_store_opens(system.application)
        finally:
            _close(system)
        self.registry.insert(entry)
        self.entries(fresh=True)
        log.info("network %s added", slug)
        return entry

    def _adopt_root(self, new_slug: str) -> str | None:
        """A one-network installation becoming one of several: its network stays on its
        store where it is (when that holds events). Added again by its own slug, that store
        is the one it gets; otherwise it is registered before the new one."""
        settings = self.settings
        if not _holds_events(settings):
            return None
        network = load_network(settings.network_path)
        if network.slug == new_slug:
            return settings.database_url
        self.registry.insert(NetworkEntry(
            network.slug, network.name, settings.network_dir, settings.database_url,
            added_at=datetime.now(timezone.utc).isoformat(timespec="seconds")))
        log.info("network %s registered on the installation's store", network.slug)
        return None

    def store_identity(self, url: str, *, new: bool = True) -> tuple[str, ...]:
        """Which store a database URL names — a SQLite file by its resolved path, a
        PostgreSQL schema by server, database and schema — read from the URL alone, without
        touching anything; a URL that names none is refused. A network's SQLite file lies
        in the instance folder (nowhere else may the installation make or change files):
        a ``new`` one is refused elsewhere."""
        try:
            parts = urlsplit(url)
            if parts.scheme == "sqlite":
                name = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
                if not name or name == ":memory:" or name.startswith("file:") or \
                        name.endswith(SQLITE_COMPANIONS) or name.endswith("/"):
                    raise ValueError(name)  # (a store's journal names that store)
                path = _from_root(name).resolve()
                folder = self.settings.instance_path.resolve()
                if new and folder not in path.parents:
                    raise NetworkError(f"{url}: a network's SQLite file lies in the instance "
                                       f"folder ({folder})", field="database_url",
                                       code="sqlite_outside", folder=str(folder))
                if path.is_dir():
                    raise ValueError(name)
                if new and not _empty_or_a_store(path):
                    raise NetworkError(f"{url}: not a store of Fallnetz", field="database_url",
                                       code="not_a_store")
                return ("sqlite", str(path))
            if parts.scheme in ("postgres", "postgresql"):
                query = dict(parse_qsl(parts.query))
                return ("postgresql", (parts.hostname or "127.0.0.1").lower(),
                        str(parts.port or 5432), unquote(parts.path.lstrip("/")) or "postgres",
                        query.get("schema") or "public")
        except NetworkError:
            raise
        except (ValueError, OSError):  # a port out of range, an empty name, a folder
            pass
        raise NetworkError(f"{url}: not a database URL (sqlite:///… in the instance folder, or "
                           "postgresql://…)", field="database_url", code="url_invalid")

    def set_disabled(self, slug: str, disabled: bool) -> None:
        self.registry.set_disabled(slug, disabled)
        self.entries(fresh=True)
        if disabled:
            self.forget(slug)

    def check(self, slug: str) -> dict[str, Any]:
        """What an operator wants to know of one network: its configuration loads, its
        store answers and can be read, how many events it holds, how far its views are."""
        entry = self.entry(slug) if self.several else self.root_entry()
        if entry is None or entry.slug != slug:
            raise NetworkError(f"No network {slug!r} is registered.")
        report: dict[str, Any] = {"slug": slug, "name": entry.name,
                                  "disabled": entry.disabled}
        try:
            load_network(_from_root(entry.config_dir))
            report["configuration"] = {"ok": True}
        except (NetworkConfigError, OSError) as error:
            report["configuration"] = {"ok": False, "reason": str(error)[:300]}
        if entry.disabled:
            report["store"] = {"ok": True, "reason": "disabled: not opened"}
        else:
            report["store"] = self._check_store(slug)
        report["ok"] = report["configuration"]["ok"] and report["store"]["ok"]
        return report

    def _check_store(self, slug: str) -> dict[str, Any]:
        from readmodel.runs import freshness
        from readmodel.schema import create_tables

        try:
            system = self.system(slug)
            assert system is not None
            last = system.application.recorder.max_notification_id() or 0
            if system.read_store is None:
                return {"ok": True, "events": last}
            create_tables(system.read_store)
            views = freshness(system.read_store, last, self.settings.catch_up_seconds)
        except Exception as error:  # noqa: BLE001 — reported, not raised
            self.forget(slug)
            return {"ok": False, "reason": f"the store cannot be read ({type(error).__name__})"}
        return {"ok": not views.stale, "events": last, "views_behind": views.behind,
                "views_stale": views.stale}


SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")


def _empty_or_a_store(path: Path) -> bool:
    """A new network's SQLite file: none yet, an empty one, or a Fallnetz store (read-only
    look; a foreign database or file is left as it is and refused)."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    if path.read_bytes()[:16] != b"SQLite format 3\x00":
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return True
            columns = {row[1] for row in conn.execute("PRAGMA table_info(stored_events)")}
    except sqlite3.Error:
        return False
    return "originator_id" in columns


def _holds_events(settings: Settings) -> bool:
    env = settings.persistence_env()
    try:
        if env["PERSISTENCE_MODULE"].endswith("sqlite"):
            if not Path(env["SQLITE_DBNAME"]).exists():
                return False
            with sqlite3.connect(env["SQLITE_DBNAME"]) as conn:
                return bool(conn.execute("SELECT 1 FROM stored_events LIMIT 1").fetchone())
        from readmodel.store import postgres_connection

        with postgres_connection(env, 5) as conn:
            schema = env.get("POSTGRES_SCHEMA") or "public"
            return bool(conn.execute(
                f'SELECT 1 FROM "{schema}".stored_events LIMIT 1').fetchone())
    except Exception:  # noqa: BLE001 — no table: no events
        return False


def _prepare_store(settings: Settings) -> None:
    """The network's own PostgreSQL schema, or its SQLite file's folder (0700)."""
    env = settings.persistence_env()
    if env["PERSISTENCE_MODULE"].endswith("sqlite"):
        if env["SQLITE_DBNAME"] != ":memory:":
            private_file(Path(env["SQLITE_DBNAME"]))
        return
    schema = env.get("POSTGRES_SCHEMA")
    if not schema:
        return
    import psycopg
    from psycopg import sql

    from readmodel.store import postgres_connection

    try:
        with postgres_connection(env, 5) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(schema)))
    except psycopg.Error as error:
        raise NetworkError(f"the network's database cannot be prepared "
                           f"({type(error).__name__}: {str(error).strip()[:200]})",
                           field="database_url", code="store_unreachable",
                           detail=type(error).__name__) from None


def _close(system: System) -> None:
    try:
        system.application.close()
    except Exception:  # noqa: BLE001 — closing what may already be broken
        log.warning("a network's application did not close cleanly")
    if system.read_store is not None:
        system.read_store.close()


def _from_root(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path.resolve())


def bootstrap_installation(settings: Settings | None = None, *, application: Any = None,
                           nudge: Any = DEFAULT,
                           on_system: Callable[[str, System], None] | None = None,
                           ) -> Installation:
    """The installation from ``settings``; ``application`` (tests) is the root network's.
    Each network's system gets the nudge of its own network (see :func:`bootstrap`)."""
    settings = settings or Settings.from_env()

    def build(network_settings: Settings, network: NetworkConfig | None) -> System:
        return bootstrap(network_settings, network=network, nudge=nudge)

    root = None
    if application is not None:
        root = bootstrap(settings, application=application, nudge=nudge)
    return Installation(settings, build=build, root=root, on_system=on_system)
