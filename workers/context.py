"""The worker process's engine and view store, built once per process from the settings."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from eventsourcing.domain import datetime_now_with_tzinfo

from domain.application import ReferralNetwork
from domain.bootstrap import bootstrap
from domain.settings import Settings
from workers.mail import MailSettings
from workers.webhooks import WebhookSettings
from workers.views.runner import ViewUpdater
from workers.views.store import ViewStore


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


@lru_cache(maxsize=1)
def engine() -> ReferralNetwork:
    return bootstrap(settings())


@lru_cache(maxsize=1)
def updater() -> ViewUpdater:
    return ViewUpdater(engine(), ViewStore(settings()), batch_size=settings().view_batch_size)


def mail_settings() -> MailSettings:
    s = settings()
    return MailSettings(host=s.smtp_host, port=s.smtp_port, sender=s.mail_from,
                        base_url=s.public_base_url)


def webhook_settings() -> WebhookSettings:
    s = settings()
    return WebhookSettings(first_retry_seconds=s.webhook_retry_seconds,
                           allow_http=s.webhook_allow_http,
                           allow_private=s.webhook_allow_private)


def now() -> datetime:
    return datetime_now_with_tzinfo()
