"""The composition root: the one place that builds what a process works with from the
settings — the application (event store and domain services), the read store, the nudge to
Celery's workers and the clock. The web's app factory, the Celery app, the embedded worker,
the CLI (through the app factory), the benchmarks and the tests all call :func:`bootstrap`;
collaborators can be passed in, as in cosmicpython's ``bootstrap``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing.persistence import InternalError, MapperDeserialisationError

from domain.application import ReferralNetwork
from domain.network import NetworkConfig, load_network
from domain.settings import Settings, SettingsError
from readmodel.store import ViewStore
from runtime.person_keys import PersonKeyStore

DEFAULT: Any = object()  # "build the usual one" for a collaborator not passed in


@dataclass
class System:
    settings: Settings
    application: ReferralNetwork
    read_store: ViewStore
    nudge: Callable[[int], None] | None
    views_ready: bool = False  # the view tables are made (once per process and store)
    outage: Any = None  # the web's knowledge of this store's outage (web/operations/outage.py)

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.application.clock


def bootstrap(settings: Settings | None = None, *, network: NetworkConfig | None = None,
              clock: Callable[[], datetime] = datetime_now_with_tzinfo,
              application: ReferralNetwork | None = None,
              read_store: ViewStore | None = None,
              nudge: Callable[[int], None] | None = DEFAULT) -> System:
    """Everything from ``settings`` (the environment's when not given). The nudge is the
    Celery one when a broker is configured, none for the embedded worker (it looks at the
    log itself); pass ``nudge=None`` to switch it off."""
    settings = settings or Settings.from_env()
    application = application or _application(settings, network, clock)
    if nudge is DEFAULT:
        nudge = None
        if settings.broker_url:
            from runtime.nudge import Nudger

            nudge = Nudger(settings.broker_url, application.network.slug)
    if nudge is not None:
        application.after_save.append(nudge)
    return System(settings, application, read_store or _read_store(settings), nudge)


def _application(settings: Settings, network: NetworkConfig | None,
                 clock: Callable[[], datetime]) -> ReferralNetwork:
    network = network or load_network(settings.network_path)
    for attempt in range(5):
        try:
            return ReferralNetwork(network, env=settings.persistence_env(), clock=clock,
                                   person_keys=person_keys(settings))
        except InternalError:
            # Processes starting together race on PostgreSQL's catalogue while creating the
            # (already existing) tables: "tuple concurrently updated". Try again.
            if attempt == 4:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


class StoreUnreadable(SettingsError):
    pass


def check_store_opens(application: ReferralNetwork) -> None:
    """A process that serves or works checks at start that it can read the store, and says
    why not in words an operator can act on, instead of failing on every request."""
    first = application.notification_log.select(start=1, limit=1)
    if not first:
        return
    try:
        application.mapper.to_domain_event(first[0])
    except MapperDeserialisationError:
        raise StoreUnreadable(
            "The event store cannot be read with this master key: it is a store from before "
            "encryption (run `flask --app web store encrypt`), or MASTER_KEY / "
            "MASTER_KEY_FILE is not the key it was encrypted with (docs/operations.md, "
            "\"Keys\").") from None


def person_keys(settings: Settings) -> PersonKeyStore | None:
    """The cases' keys, with the erasure ledger applied again (a restored backup must not
    bring an erased person back); none for an in-memory store or without encryption."""
    if not settings.encrypt_store or ":memory:" in settings.database_url:
        return None
    keys = PersonKeyStore(settings)
    keys.apply_ledger()
    return keys


def _read_store(settings: Settings) -> ViewStore | Any:
    """The views' store; an in-memory event store has none (its tests need no views)."""
    try:
        return ViewStore(settings)
    except ValueError:
        return None
