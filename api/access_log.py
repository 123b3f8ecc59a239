"""The access log never shows a query string's values (SPEC §9: no token in logs).

No route takes a token in its address any more, but a caller may still put
one there (an old bookmark, ``?token=``, a mistaken integration), and any other
query value may be personal. The filter keeps each parameter's name and
replaces its value with ``[redacted]``, in every record the ``uvicorn.access``
logger writes. ``create_app`` installs it, so every process that serves the
app has it: ``okr serve``, each of its ``--workers``, any other ASGI server.
"""

from __future__ import annotations

import logging

REDACTED = "[redacted]"
ACCESS_LOGGER = "uvicorn.access"


def redact_query(target: str) -> str:
    """``/path?a=1&b`` → ``/path?a=[redacted]&b``: the path and the names stay."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    names = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        names.append(f"{name}={REDACTED}" if equals else part)
    return f"{path}?{'&'.join(names)}"


class RedactQueryStrings(logging.Filter):
    """Rewrites the request target of uvicorn's access records (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_query(arg) if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        elif "?" in str(record.msg):
            record.msg = redact_query(str(record.msg))
        return True


def install() -> None:
    """Put the filter on the access logger once (uvicorn configures its loggers
    before it loads the app, and keeps the filters a logger has)."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQueryStrings) for f in access.filters):
        access.addFilter(RedactQueryStrings())
