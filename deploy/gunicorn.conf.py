"""gunicorn settings for the web: ``gunicorn -c deploy/gunicorn.conf.py web.wsgi:app``.

Every value can be set from the environment, so one file serves a machine, a container and
the tests. Requests are short (one command or one page), so a few threaded workers serve an
office network; the access log shows method, path, status and time, and paths carry only
ids, never personal data."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(4, multiprocessing.cpu_count() + 1)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests, so a slow leak never grows unbounded.
max_requests = 2000
max_requests_jitter = 200
# Behind the municipality's reverse proxy, which sets X-Forwarded-Proto for https.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
