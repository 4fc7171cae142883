"""The WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py web.wsgi:app``.

A worker that starts while the database is down (a new one after ``max_requests``, or one
replaced after a crash) waits for it instead of failing: gunicorn stops the whole server
when a worker fails to boot, while the other workers are answering 503 in the meantime
(web/operations/outage.py). gunicorn's own timeout still replaces a worker that waits
too long, and the next one waits again."""

import logging
import time

from flask import Flask

from runtime.bootstrap import check_store_opens
from web import create_app
from web.application import current_application
from web.operations.outage import database_errors

log = logging.getLogger(__name__)
BOOT_RETRY_SECONDS = 2.0


def booted() -> Flask:
    while True:
        try:
            started = create_app()
            with started.app_context():
                check_store_opens(current_application())
            return started
        except database_errors() as error:
            log.warning("database unreachable while starting (%s); trying again in %ss",
                        type(error).__name__, BOOT_RETRY_SECONDS)
            time.sleep(BOOT_RETRY_SECONDS)


app = booted()
