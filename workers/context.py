"""The worker process's jobs: one :class:`Jobs` per network of the installation, built on
first use by the composition root from the environment's settings (and again when the
registry changes a network's entry); the Celery app (workers/tasks.py) is configured from
the same settings object. Every worker serves every network."""

from __future__ import annotations

import secrets
import threading
from dataclasses import replace
from datetime import date
from functools import lru_cache

from flask import Flask
from flask_babel import force_locale

from domain.notification import Notification
from domain.services.escalations import MAIL_LANGUAGE
from domain.settings import Settings
from web import create_app
from web.reports import monthly_report_pdf
from readmodel.runner import ViewUpdater
from runtime.bootstrap import System, bootstrap, check_store_opens
from runtime.installation import Installation, bootstrap_installation
from runtime.event_chain import EventChain
from workers.jobs import Jobs
from workers.mail import Attachment, AttachmentMaker


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


def build_jobs(settings: Settings) -> Jobs:
    """The jobs of the one network of ``settings`` (its store and configuration)."""
    # No nudge: a worker catches the views up itself after the commands it issues.
    return jobs_of(bootstrap(settings, nudge=None))


def jobs_of(system: System) -> Jobs:
    check_store_opens(system.application)
    settings = system.settings
    updater = ViewUpdater(system.application, system.read_store,
                          batch_size=settings.view_batch_size)
    return Jobs(system.application, updater, settings,
                attachments=report_attachments(settings),
                chain=EventChain(system.application, settings))


def report_attachments(settings: Settings) -> AttachmentMaker:
    """The monthly report's PDF, made by the web's report code in a Flask app of its own
    (German, as the network's staff read the mails), made on first use. The app has its
    own application, so nothing of the worker's own changes; it serves no requests, so it
    gets a throwaway secret key instead of the installation's."""
    @lru_cache(maxsize=1)
    def app() -> Flask:
        with _making_apps:  # one at a time: the networks' loops run in threads
            return create_app(replace(settings, secret_key=secrets.token_hex(32)),
                              config={"NUDGE_WORKERS": False})

    def make(notification: Notification) -> list[Attachment]:
        month = date.fromisoformat(f"{notification.attachment['month']}-01")
        with app().app_context(), force_locale(MAIL_LANGUAGE):
            filename, content = monthly_report_pdf(month)
        return [Attachment(filename, content)]
    return make


@lru_cache(maxsize=1)
def installation() -> Installation:
    return bootstrap_installation(settings(), nudge=None)


_built: dict[str, tuple[System, Jobs]] = {}
_making_apps = threading.Lock()
_building = threading.Lock()


def networks() -> list[str]:
    """The enabled networks' slugs (the registry as of a few seconds ago)."""
    return [entry.slug for entry in installation().enabled()]


def jobs(network: str) -> Jobs | None:
    """The network's jobs; none for a network not registered or disabled. A network whose
    store cannot be opened raises here, and only for that network."""
    system = installation().system(network)
    if system is None:
        _built.pop(network, None)
        return None
    with _building:
        known = _built.get(network)
        if known is None or known[0] is not system:
            known = _built[network] = (system, jobs_of(system))
        return known[1]
