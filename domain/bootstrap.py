"""The composition root: builds the application for a configuration."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing.persistence import InternalError

from domain.application import ReferralNetwork
from domain.network import NetworkConfig, load_network
from domain.settings import Settings


def bootstrap(settings: Settings | None = None, *, network: NetworkConfig | None = None,
              clock: Callable[[], datetime] = datetime_now_with_tzinfo) -> ReferralNetwork:
    settings = settings or Settings.from_env()
    network = network or load_network(settings.network_path)
    for attempt in range(5):
        try:
            return ReferralNetwork(network, env=settings.persistence_env(), clock=clock)
        except InternalError:
            # Processes starting together race on PostgreSQL's catalogue while creating the
            # (already existing) tables: "tuple concurrently updated". Try again.
            if attempt == 4:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")
