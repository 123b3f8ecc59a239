"""A command from an HTTP request: path ids, the JSON body and If-Match, in one value.

The request body of a write is derived from its command (commands/messages.py):
the command's fields minus those the path carries and ``expected_version``
(If-Match), with the same types, limits and descriptions, so OpenAPI documents
them and the fields are written once. The body is validated once, by FastAPI;
the command is then built from the validated values without a second pass.

A route takes ``command: Annotated[CheckIn, command_from_request(CheckIn, ...)]``.
Declare it after the actor, as today's routes declare their body: a missing
token still answers 401 before a bad body or If-Match is looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from inspect import Parameter, Signature
from typing import Any, TypeVar, get_type_hints

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, create_model

from api.deps import ExpectedVersion

C = TypeVar("C")


class CommandBody(BaseModel):
    """Base of every derived body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def _documentation(cls: type[Any]) -> str | None:
    # A dataclass without a docstring gets its signature as one: not for readers.
    doc = cls.__doc__
    return None if doc is None or doc.startswith(f"{cls.__name__}(") else doc


def body_model(
    cls: type[Any],
    *,
    leave_out: tuple[str, ...] = (),
    name: str | None = None,
    base: type[BaseModel] = CommandBody,
    optional: bool = False,
    only: tuple[str, ...] | None = None,
) -> type[BaseModel] | None:
    """The JSON body of ``cls``: its fields but those in ``leave_out`` and
    ``expected_version`` (``only`` those named, if given); with ``optional`` every
    field may be left out (PATCH). None when no field is left."""
    hints = get_type_hints(cls, include_extras=True)
    chosen: dict[str, Any] = {}
    for field in fields(cls):
        if field.name in leave_out or field.name == "expected_version":
            continue
        if only is not None and field.name not in only:
            continue
        hint = hints[field.name]
        if optional:
            chosen[field.name] = (hint | None, None)
        else:
            chosen[field.name] = (hint, ... if field.default is MISSING else field.default)
    if not chosen:
        return None
    model: type[BaseModel] = create_model(
        name or cls.__name__,
        __base__=base,
        __doc__=_documentation(cls),
        __module__=cls.__module__,
        **chosen,
    )
    return model


def command_from_request(
    cls: type[C],
    *,
    path: tuple[str, ...] = (),
    name: str | None = None,
    body: type[BaseModel] | None = None,
    base: type[BaseModel] = CommandBody,
    values: Callable[[BaseModel], dict[str, Any]] | None = None,
) -> Any:
    """A FastAPI dependency that builds ``cls`` from the path ids named in ``path``,
    the JSON body (derived from ``cls`` unless ``body`` is given; ``values`` turns it
    into the command's keyword arguments) and If-Match."""
    hints = get_type_hints(cls, include_extras=True)
    model = body if body is not None else body_model(cls, leave_out=path, name=name, base=base)
    versioned = "expected_version" in {field.name for field in fields(cls)}  # type: ignore[arg-type]
    of_body = values or (lambda given: dict(given.__dict__))

    # ``async``: FastAPI would run a plain ``def`` dependency in its thread pool.
    async def build(**given: Any) -> C:
        request_body = given.pop("body", None)
        if request_body is not None:
            given.update(of_body(request_body))
        return cls(**given)

    parameters = [Parameter(p, Parameter.KEYWORD_ONLY, annotation=hints[p]) for p in path]
    if model is not None:
        parameters.append(Parameter("body", Parameter.KEYWORD_ONLY, annotation=model))
    if versioned:
        parameters.append(
            Parameter("expected_version", Parameter.KEYWORD_ONLY, annotation=ExpectedVersion)
        )
    build.__signature__ = Signature(parameters, return_annotation=cls)  # type: ignore[attr-defined]
    return Depends(build)
