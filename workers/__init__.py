"""Background workers (Celery): projections, deadline scans, escalations and mail.

They depend on :mod:`domain` and pull new events from its notification log; see
DESIGN §4 and §9. The Celery application itself arrives with the workers issue.
"""
