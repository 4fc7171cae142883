"""Background workers (Celery): projections, deadline scans, escalations and mail.

``celery -A workers worker`` and ``celery -A workers beat`` find the application here. The
workers depend on :mod:`domain` and pull new events from its notification log (DESIGN §4).
"""

from workers.tasks import app

__all__ = ["app"]
