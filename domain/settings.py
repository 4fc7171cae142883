"""Configuration from environment variables, with the documented defaults of the README."""

from __future__ import annotations

import functools
import os
from base64 import b64decode, b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite:///instance/fallnetz.sqlite3"
DEFAULT_NETWORK_DIR = "networks/cottbus"


TRUE = ("1", "true", "yes", "on")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    network_dir: str = DEFAULT_NETWORK_DIR
    secret_key: str | None = None
    # Celery's broker; empty means none: the embedded worker (workers/embedded.py) runs the
    # jobs without one.
    broker_url: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    mail_from: str = "fallnetz@localhost"
    public_base_url: str = "http://127.0.0.1:5000"
    catch_up_seconds: float = 5.0
    scan_seconds: float = 60.0
    mail_seconds: float = 15.0
    webhook_seconds: float = 10.0
    webhook_retry_seconds: float = 10.0  # the first pause after a failed delivery
    webhook_allow_http: bool = False
    webhook_allow_private: bool = False
    view_batch_size: int = 500
    # Aggregates each process keeps in memory between commands (0: none); see
    # persistence_env.
    aggregate_cache_size: int = 1000
    instance_dir: str = "instance"
    # "json" in production (one object per line, for the log collector), "text" otherwise.
    log_format: str = "text"
    log_level: str = "INFO"
    # Beyond these the full health check answers 503: the views or the mail outbox are
    # stuck although the database answers.
    health_max_view_lag: int = 1000
    health_max_outbox_backlog: int = 50
    # Where failed sign-ins are counted: per process by default, or e.g. Redis so all
    # gunicorn workers share the count.
    ratelimit_storage_uri: str = "memory://"
    # A session ends after this long without a request, and this long after sign-in
    # whatever happens.
    session_idle_minutes: float = 30.0
    session_hours: float = 10.0
    # How many reverse proxies in front set X-Forwarded-For (0: the connection's address
    # is the client's): the sign-in throttle counts per client address.
    trusted_proxies: int = 0
    # A bearer token for /metrics from elsewhere than this host (empty: this host only).
    metrics_token: str = ""
    # The installation's master key (32 bytes, base64), or the file holding it (0600); the
    # store's cipher key and the wrapping of the person keys derive from it (docs/
    # operations.md, "Keys"). Without either, instance/master.key is made on first start.
    master_key: str = ""
    master_key_file: str = ""
    # Off only for benchmarks that compare against the bare library (bench/).
    encrypt_store: bool = True
    # The erasures done, one case id per line, kept apart from the database and its
    # backups: a restored backup gets its erased keys destroyed again on start.
    erasure_ledger: str = ""
    # Many networks in one installation (runtime/installation.py): the start page's name,
    # and the network whose admins operate the installation (default: the first added).
    installation_name: str = "Fallnetz"
    operator_network: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            raw = environ.get(name)
            try:
                return float(raw) if raw else default
            except ValueError:
                raise SettingsError(f"{name}: {raw!r} is not a number") from None

        instance_dir = environ.get("INSTANCE_DIR") or "instance"
        return cls(
            # INSTANCE_DIR moves every file a run makes, the embedded default's database too
            # (it moved the keys but left the database behind, which another key then could
            # not read)
            database_url=environ.get("DATABASE_URL")
            or f"sqlite:///{instance_dir.rstrip('/')}/fallnetz.sqlite3",
            network_dir=environ.get("NETWORK_DIR") or DEFAULT_NETWORK_DIR,
            secret_key=environ.get("SECRET_KEY") or None,
            broker_url=environ.get("CELERY_BROKER_URL") or "",
            smtp_host=environ.get("SMTP_HOST") or "127.0.0.1",
            smtp_port=int(number("SMTP_PORT", 1025)),
            mail_from=environ.get("MAIL_FROM") or "fallnetz@localhost",
            public_base_url=environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000",
            catch_up_seconds=number("VIEW_CATCH_UP_SECONDS", 5.0),
            scan_seconds=number("ESCALATION_SCAN_SECONDS", 60.0),
            mail_seconds=number("MAIL_SEND_SECONDS", 15.0),
            webhook_seconds=number("WEBHOOK_SEND_SECONDS", 10.0),
            webhook_retry_seconds=number("WEBHOOK_RETRY_SECONDS", 10.0),
            webhook_allow_http=environ.get("WEBHOOK_ALLOW_HTTP", "").lower() in TRUE,
            webhook_allow_private=environ.get("WEBHOOK_ALLOW_PRIVATE", "").lower() in TRUE,
            view_batch_size=int(number("VIEW_BATCH_SIZE", 500)),
            aggregate_cache_size=int(number("AGGREGATE_CACHE_SIZE", 1000)),
            instance_dir=instance_dir,
            log_format=(environ.get("LOG_FORMAT") or "text").lower(),
            log_level=(environ.get("LOG_LEVEL") or "INFO").upper(),
            health_max_view_lag=int(number("HEALTH_MAX_VIEW_LAG", 1000)),
            health_max_outbox_backlog=int(number("HEALTH_MAX_OUTBOX_BACKLOG", 50)),
            ratelimit_storage_uri=environ.get("RATELIMIT_STORAGE_URI") or "memory://",
            session_idle_minutes=number("SESSION_IDLE_MINUTES", 30.0),
            session_hours=number("SESSION_HOURS", 10.0),
            trusted_proxies=int(number("TRUSTED_PROXIES", 0)),
            metrics_token=environ.get("METRICS_TOKEN") or "",
            master_key=environ.get("MASTER_KEY") or "",
            master_key_file=environ.get("MASTER_KEY_FILE") or "",
            encrypt_store=(environ.get("STORE_ENCRYPTION") or "on").lower() in TRUE,
            erasure_ledger=environ.get("ERASURE_LEDGER") or "",
            installation_name=environ.get("INSTALLATION_NAME") or "Fallnetz",
            operator_network=environ.get("OPERATOR_NETWORK") or "",
        )

    @property
    def instance_path(self) -> Path:
        """Where a run writes its files: the SQLite file, secret key, logs, counters."""
        return _from_root(self.instance_dir)

    @property
    def network_path(self) -> Path:
        return _from_root(self.network_dir)

    @property
    def erasure_ledger_path(self) -> Path:
        return _from_root(self.erasure_ledger) if self.erasure_ledger \
            else self.instance_path / "erasures.ledger"

    def derived_key(self, purpose: str) -> bytes:
        """A key for one purpose ("event store", "person keys"), derived from the master
        key, so that one secret is kept and rotated."""
        return derive_key(master_key(self.master_key, self.master_key_file,
                                     self.instance_path), purpose)

    def persistence_env(self) -> dict[str, str]:
        """The ``eventsourcing`` library's settings for :attr:`database_url`."""
        env = self._store_env()
        if self.encrypt_store:
            # Every stored event's state, AES-GCM (the library's cipher on `cryptography`).
            env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
            env["CIPHER_KEY"] = b64encode(self.derived_key("event store")).decode()
        if self.aggregate_cache_size < 0:
            raise SettingsError("AGGREGATE_CACHE_SIZE: must be 0 (no cache) or more")
        # The library's LRU cache of loaded aggregates. Several gunicorn workers and Celery
        # processes write the same store, so a cached aggregate is fast-forwarded by its newer
        # events from the database on every load (one indexed query, usually no rows) and
        # never skips that (a decision must not see an old state); commands get a deep copy,
        # so a command that fails halfway leaves the cached one as it was. A size of 0 must
        # leave the setting out: the library reads 0 as "cache without limit".
        if self.aggregate_cache_size:
            env.update({"AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_size),
                        "AGGREGATE_CACHE_FASTFORWARD": "y",
                        "AGGREGATE_CACHE_FASTFORWARD_SKIPPING": "n",
                        "DEEPCOPY_FROM_AGGREGATE_CACHE": "y"})
        return env

    def _store_env(self) -> dict[str, str]:
        url = urlsplit(self.database_url)
        if url.scheme == "sqlite":
            # sqlite:///relative/path, sqlite:////absolute/path, sqlite:///:memory:
            name = unquote(url.path[1:]) if url.path.startswith("/") else unquote(url.path)
            if not name:
                raise SettingsError("DATABASE_URL: a sqlite URL needs a file name, e.g. "
                                    "sqlite:///instance/fallnetz.sqlite3")
            if name != ":memory:" and not name.startswith("file:"):
                path = _from_root(name)
                private_file(path)
                name = str(path)
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": name,
                    "SQLITE_LOCK_TIMEOUT": "10"}
        if url.scheme in ("postgres", "postgresql"):
            query = parse_qs(url.query)
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
                "POSTGRES_HOST": url.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(url.port or 5432),
                "POSTGRES_USER": unquote(url.username or "postgres"),
                "POSTGRES_PASSWORD": unquote(url.password or ""),
                "POSTGRES_POOL_SIZE": query.get("pool_size", ["5"])[0],
                "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", ["10"])[0],
                "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", ["5"])[0],
                "POSTGRES_LOCK_TIMEOUT": "5",
                # A command's events in one round trip (see the module).
                "APPLICATION_RECORDER_TOPIC": "runtime.postgres_recorder:OneTripRecorder",
            }
            if "schema" in query:
                env["POSTGRES_SCHEMA"] = query["schema"][0]
            return env
        raise SettingsError(f"DATABASE_URL: unsupported scheme {url.scheme!r}; use sqlite:// "
                            "or postgresql://")


@functools.cache
def master_key(encoded: str, key_file: str, instance_path: Path) -> bytes:
    """The master key from the environment, else from its file, else from
    instance/master.key, made (0600) when it is missing there."""
    if encoded:
        raw = _decoded_key(encoded, "MASTER_KEY")
    else:
        path = _from_root(key_file) if key_file else instance_path / "master.key"
        if not key_file and not path.exists():
            private_file(path)
            with path.open("r+b") as f:
                if not f.read(1):  # another process may have written it meanwhile
                    f.write(b64encode(os.urandom(32)) + b"\n")
        try:
            raw = _decoded_key(path.read_text().strip(), str(path))
        except OSError as e:
            raise SettingsError(f"MASTER_KEY_FILE: cannot read {path}: {e.strerror}") from None
        if path.stat().st_mode & 0o077:
            raise SettingsError(f"MASTER_KEY_FILE: {path} must be readable by its owner "
                                "only (chmod 600)")
    return raw


def _decoded_key(encoded: str, where: str) -> bytes:
    try:
        raw = b64decode(encoded, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SettingsError(f"{where}: the master key is 32 bytes in base64 (make one with "
                            "flask --app web store new-key)")
    return raw


@functools.cache
def derive_key(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"fallnetz {purpose}".encode()).derive(master)


def _from_root(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


def private_file(path: Path) -> None:
    """The file readable by the installation's user only (0600), in a folder made for it
    0700: the SQLite store holds health data of people. SQLite gives its WAL and shared
    memory files the store's own permissions."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        path.touch(mode=0o600, exist_ok=True)
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)
