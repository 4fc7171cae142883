"""A network's configuration as data: need catalogue, responsibility map, deadline policy.

One folder per network holds the files; :func:`load_network` validates all of them with
marshmallow and returns a :class:`NetworkConfig`, or raises :class:`NetworkConfigError`
naming the file and the field and loads nothing.
"""

from domain.network.config import (
    DeadlinePolicy,
    Duration,
    NetworkConfig,
    NeedCategory,
    ResponsibilityRule,
    SelfHelp,
)
from domain.network.loader import NetworkConfigError, load_network

__all__ = [
    "DeadlinePolicy", "Duration", "NeedCategory", "NetworkConfig", "NetworkConfigError",
    "ResponsibilityRule", "SelfHelp", "load_network",
]
