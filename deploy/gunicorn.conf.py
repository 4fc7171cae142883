"""gunicorn settings for the web: ``gunicorn -c deploy/gunicorn.conf.py web.wsgi:app``.

Every value can be set from the environment, so one file serves a machine, a container and
the tests. Requests are short (one command or one page), so a few threaded workers serve an
office network; the access log shows method, path, status and time, and paths carry only
ids, never personal data.

With ``LOG_FORMAT=json`` gunicorn's own lines go out as JSON too, and its access log is off:
the app writes one JSON line per request with the route rule, status, duration and the
correlation id instead (web/operations/logs.py).

Prometheus metrics: every worker process counts into files under
``PROMETHEUS_MULTIPROC_DIR`` (default: ``INSTANCE_DIR/prometheus``), which is emptied when
gunicorn starts; ``/metrics`` in any worker answers for all of them."""

import multiprocessing
import os
import shutil
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(4, multiprocessing.cpu_count() + 1)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker takes no more connections than its threads serve plus two kept alive while idle.
# Without a limit a gthread worker accepts every connection it can and queues their requests
# behind its own threads while the other workers stand idle: under steady load one worker
# was seen holding 11 and all 16 of 16 clients, and the benchmark's pages then ran at half
# the rate. Idle connections beyond the two are closed after their answer (gunicorn's rule),
# so a browser's keep-alive never holds the slots that work needs.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(threads + 2)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# A worker is replaced after this many requests, so a slow leak never grows unbounded. Not
# more often: a new worker starts with an empty aggregate cache and imports the app, and at
# 2000 the three workers were replaced every few seconds under load, the slowest requests
# of the benchmark waiting for them (`make soak` watches the memory of long-lived workers).
max_requests = 20000
max_requests_jitter = 2000
# systemd and the container runtime steer gunicorn by signals (HUP reloads, TERM stops); a
# control socket in the user's home would be shared by every gunicorn of that user.
control_socket_disable = True
# Behind the municipality's reverse proxy, which sets X-Forwarded-Proto for https.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# No path: a one-time link carries its secret in it (the app's own request log names the
# route, never the path).
access_log_format = '%(h)s "%(m)s" %(s)s %(b)s %(M)sms'

if os.environ.get("LOG_FORMAT", "text").lower() == "json":
    import logging

    from runtime.logs import logging_config

    logging.captureWarnings(True)
    accesslog = None
    logconfig_dict = logging_config("json", os.environ.get("LOG_LEVEL", "INFO").upper())
else:
    accesslog = "-"

# Set before any worker imports prometheus_client, which picks its storage on import.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    from domain.settings import Settings

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(Settings.from_env().instance_path
                                                 / "prometheus")


def on_starting(server):  # type: ignore[no-untyped-def]
    """Counts of an earlier run would be added to this run's."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
