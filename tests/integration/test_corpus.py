"""The stored-event corpus (SPEC §11): old events are readable forever, with the same answers.

Each ``tests/corpus/<backend>.json`` holds the rows a release stored for its
story (events with their positions, snapshots, ``CORPUS_TABLES``) and the
answers the API gave then. Here the rows are loaded raw into a fresh store of
the same backend, the read side rebuilds its models from them, and every
recorded request must get the recorded answer again: the same status, and
every recorded field with the same value. Nothing is normalised: the ids are
the loaded ones, the positions the recorded ones, and nothing in the story
depends on the moment it is read (its cycle is over, its check-ins on a fixed
clock). The one allowance: an answer may carry fields added after the corpus
was written (``answers_alike``), since a later release may add to a read but
never change or drop what it answered.

Every corpus in ``tests/corpus/`` is loaded: this release's
(``<backend>.json``) and those kept from earlier releases
(``releases/<release>/<backend>.json``). ``python -m tests.corpus.write``
regenerates this release's (see that module).

A second test lists every event class of every aggregate from the domain's
classes: a new event type that no corpus stores fails it until the story
tells it.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import resolve_topic
from fastapi.testclient import TestClient

import domain
from api.app import create_app
from domain.issue import Issue
from domain.objective import Objective
from domain.team import Team
from entrypoints.bootstrap import build_runtime
from entrypoints.settings import Settings
from tests.corpus.rows import load
from tests.corpus.story import Client, answer

CORPUS = Path(__file__).parents[1] / "corpus"
BACKENDS = ("sqlite", "postgres")


RELEASES = ["this", *sorted(p.name for p in (CORPUS / "releases").glob("*") if p.is_dir())]
"""This release's corpus (``tests/corpus/``) and each kept one (``releases/<name>/``)."""


def corpus_file(release: str, backend: str) -> Path:
    folder = CORPUS if release == "this" else CORPUS / "releases" / release
    return folder / f"{backend}.json"


def answers_alike(recorded: Any, got: Any) -> bool:
    """``got`` says all ``recorded`` says (a dict may have gained keys since)."""
    if isinstance(recorded, dict):
        return isinstance(got, dict) and all(
            key in got and answers_alike(value, got[key]) for key, value in recorded.items()
        )
    if isinstance(recorded, list):
        return (
            isinstance(got, list)
            and len(got) == len(recorded)
            and all(answers_alike(r, g) for r, g in zip(recorded, got, strict=True))
        )
    return bool(type(recorded) is type(got) and recorded == got) or (
        isinstance(recorded, int | float)
        and not isinstance(recorded, bool)
        and isinstance(got, int | float)
        and not isinstance(got, bool)
        and recorded == got
    )


def test_answers_alike_is_strict_but_for_new_fields() -> None:
    assert answers_alike({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None, "c": 2}], "d": 3})
    assert not answers_alike({"a": 1}, {"a": 2})
    assert not answers_alike({"a": 1}, {})
    assert not answers_alike([1, 2], [1])
    assert not answers_alike({"a": None}, {"a": 0})
    assert not answers_alike({"a": True}, {"a": 1})


@pytest.mark.parametrize("release", RELEASES)
def test_the_corpus_answers_as_it_answered_when_written(backend: Settings, release: str) -> None:
    path = corpus_file(release, "sqlite" if backend.embedded else "postgres")
    corpus = json.loads(path.read_text())
    runtime = build_runtime(
        backend.model_copy(update={"snapshot_interval": corpus["snapshot_interval"]})
    )
    try:
        load(runtime, corpus)
        runtime.start_following()
        assert runtime.follower.wait_for(corpus["position"], timeout=60)
        with TestClient(create_app(runtime)) as client:
            api = Client(client, runtime)
            for recorded in corpus["answers"]:
                request = recorded["request"]
                got = answer(api, request, corpus["position"])
                assert got["status"] == recorded["status"], (request, got)
                assert answers_alike(recorded["body"], got["body"]), (request, got)
    finally:
        runtime.close()


def event_classes() -> set[type]:
    """Every event class of every aggregate of the domain (its stored events' classes)."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    aggregates, pending = set(), [Aggregate]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("domain."):
                aggregates.add(sub)
    return {
        value
        for aggregate in aggregates
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in {"Event", "Created", "Snapshot"}
    }


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_the_corpus_stores_every_event_type(backend_name: str) -> None:
    corpus = json.loads(corpus_file("this", backend_name).read_text())
    stored = {resolve_topic(row["topic"]) for row in corpus["events"]}
    missing = {cls.__qualname__ for cls in event_classes() - stored}
    assert not missing, f"no corpus event of {sorted(missing)}: tell them in tests/corpus/story.py"
    assert {Objective.KeyResultCheckedIn, Team.MemberSet, Issue.Unlinked} <= event_classes()
    snapshotted = {json.loads(row["state"])["topic"] for row in corpus["snapshots"]}
    assert {"domain.objective:Objective", "domain.issue:Issue"} <= snapshotted
