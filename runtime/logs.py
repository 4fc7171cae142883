"""Log set-up shared by the web and the workers: one JSON object per line in production
(``LOG_FORMAT=json``), each carrying the correlation id of the request or task it belongs to.

Log messages name ids, counts and error types only. Case content never goes into a log
line, so no filter here tries to scrub it afterwards: a scrubber would have to guess what a
name looks like."""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any

# Set per request by the web and per task by the worker; threads and tasks each see their own.
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

JSON_FIELDS = "{levelname}{name}{message}{process}{correlation_id}"


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", None):
            record.correlation_id = correlation_id.get()
        return True


def logging_config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for the root logger: JSON lines or plain text on
    standard error, where systemd's journal and the container runtime collect them."""
    formatter: dict[str, Any]
    if fmt == "json":
        formatter = {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": JSON_FIELDS,
                     "style": "{", "rename_fields": {"levelname": "level",
                                                     "name": "logger"}, "timestamp": "time"}
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] "
                               "%(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation": {"()": CorrelationFilter}},
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "filters": ["correlation"], "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        # gunicorn's own loggers pass their records on to the root's handler.
        "loggers": {name: {"level": level, "handlers": [], "propagate": True}
                    for name in ("gunicorn.error", "celery", "celery.task")},
    }


def configure_logging(fmt: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))
    logging.captureWarnings(True)  # warnings become log lines, in the same format
