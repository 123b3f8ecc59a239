"""Every error the API answers, as ``{"error": {"code", "message"}}``, in one place.

Each domain error class maps to exactly one status; validation errors from
FastAPI become 422 (400 for a body that is not JSON at all); anything
unexpected becomes a 500 in the same shape, without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    AlignmentCycle,
    AlignmentTooDeep,
    Conflict,
    DomainError,
    InvalidCommand,
    NotFound,
    PermissionDenied,
    PhaseRuleViolation,
    VersionMismatch,
)

log = logging.getLogger(__name__)

STATUS_OF: dict[type[DomainError], int] = {
    InvalidCommand: 422,
    NotFound: 404,
    PermissionDenied: 403,
    PhaseRuleViolation: 409,
    AlignmentCycle: 409,
    AlignmentTooDeep: 409,
    Conflict: 409,
    VersionMismatch: 412,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


Responses = dict[int | str, dict[str, Any]]


def documented(*statuses: int) -> Responses:
    """The error statuses a route may answer, each in the one error shape (for OpenAPI)."""
    return {status: {"model": ErrorResponse} for status in statuses}


WRITE_ERRORS = documented(400, 401, 403, 404, 409, 412, 422)
"""What a write may answer: bad If-Match, no token, not allowed, not found, a rule
or a version clash, a bad body."""


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


class ApiError(Exception):
    """An HTTP-level refusal raised by the API itself (bad header, bad token, ...)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _HTTP_CODES.get(status, "error")


def _describe(errors: list[dict[str, object]]) -> str:
    parts = []
    for error in errors[:10]:
        where = error.get("loc", ())
        path = where if isinstance(where, tuple | list) else ()
        loc = ".".join(str(p) for p in path if p != "body")
        parts.append(f"{loc or 'body'}: {error.get('msg')}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError) -> JSONResponse:
        return error_response(status_of(error), error.code, error.message)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "bad_request", "the body is not valid JSON")
        return error_response(422, "validation_error", _describe(errors))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "error")
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return error_response(500, "internal_error", "an unexpected error occurred")
