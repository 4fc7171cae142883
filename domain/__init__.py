"""The referral network's domain: aggregates, their rules and the application service.

Knows nothing of Flask, Celery or Redis; entry points in ``web/`` and ``workers/`` call
into :mod:`domain.application`, built by the composition root :mod:`runtime.bootstrap`.
"""
