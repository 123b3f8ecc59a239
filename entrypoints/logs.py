"""How the long-running processes log (SPEC §14): one function, used by serve,
project, consume and each ``--workers`` process.

``OKR_LOG_FORMAT=text`` (the default) keeps the readable line
``time LEVEL logger message``. ``json`` writes one JSON object per line with
``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id``
and ``organization`` (both null outside a request, see ``api.request_context``),
and ``exception`` when there is a traceback, so a log shipper needs no
parsing rules. Uvicorn's own loggers, its access log (query values redacted by
``api.access_log``) included, propagate to the same root handler: every line
of a process has one format.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from api.request_context import ORGANIZATION, REQUEST_ID

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
            "organization": ORGANIZATION.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """The ``dictConfig`` for a process; also given to uvicorn as its ``log_config``,
    so that each worker it spawns sets up the same logging."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonLines"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"okr": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "okr",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        # Uvicorn's loggers keep no handler of their own: their lines reach the root's.
        "loggers": {
            name: {"level": level, "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """Set this process's logging (a long-running process logs its INFO notes)."""
    logging.config.dictConfig(logging_config(log_format, level))
