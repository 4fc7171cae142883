"""The WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py web.wsgi:app``.

A worker that starts while the database is down (a new one after ``max_requests``, or one
replaced after a crash) waits for it instead of failing: gunicorn stops the whole server
when a worker fails to boot, while the other workers are answering 503 in the meantime
(web/operations/outage.py). gunicorn's own timeout still replaces a worker that waits
too long, and the next one waits again."""

import gc
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
# What the worker made while starting (modules, catalogs, the app: about 200,000 objects)
# lives as long as the worker; left to the garbage collector, each of its full collections
# walks them all, a pause of about 80 ms for every thread of the worker every thousand
# requests or so, which the slowest requests waited for. Frozen, a full collection walks
# only what came after (Python's documentation recommends this for servers' workers).
gc.collect()
gc.freeze()
