"""The worker process's jobs, built once per process by the composition root from the
environment's settings; the Celery app (workers/tasks.py) is configured from the same
settings object."""

from __future__ import annotations

import secrets
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
from runtime.bootstrap import bootstrap, check_store_opens
from runtime.event_chain import EventChain
from workers.jobs import Jobs
from workers.mail import Attachment, AttachmentMaker


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


def build_jobs(settings: Settings) -> Jobs:
    # No nudge: a worker catches the views up itself after the commands it issues.
    system = bootstrap(settings, nudge=None)
    check_store_opens(system.application)
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
        return create_app(replace(settings, secret_key=secrets.token_hex(32)),
                          config={"NUDGE_WORKERS": False})

    def make(notification: Notification) -> list[Attachment]:
        month = date.fromisoformat(f"{notification.attachment['month']}-01")
        with app().app_context(), force_locale(MAIL_LANGUAGE):
            filename, content = monthly_report_pdf(month)
        return [Attachment(filename, content)]
    return make


@lru_cache(maxsize=1)
def jobs() -> Jobs:
    return build_jobs(settings())
