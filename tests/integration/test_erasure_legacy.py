"""Erasure reaches texts written before sealing (legacy plaintext), on both backends.

A bare application (no key store, as before this release) records a person's
note, check-in note and retrospective in plain text, with snapshots after
every other event, so a snapshot and the read model hold the retrospective
too. The search finds the markers in the stored bytes before the erasure (the
positive control); after it, nowhere, while reads, history and time travel
answer ``[erased]`` for them, another person's legacy note stays, progress is
unchanged and the objective still loads and takes new events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.personal import ERASED
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from tests.e2e.test_api_support import Api
from tests.integration.test_erasure import stored_bytes, strings

ORG = "acme"


@pytest.fixture
def legacy(backend: Settings, tmp_path: Path) -> Iterator[tuple[Api, Runtime, Settings]]:
    settings = backend.model_copy(update={"snapshot_interval": 2, "aggregate_cache_size": 100})
    runtime = build_runtime(settings)
    runtime.start_following()
    try:
        with TestClient(create_app(runtime)) as client:
            yield Api(client, runtime), runtime, settings
    finally:
        runtime.close()


def test_erasure_rewrites_the_persons_legacy_plaintext(
    legacy: tuple[Api, Runtime, Settings],
) -> None:
    api, runtime, settings = legacy
    run = uuid.uuid4().hex[:12]
    marker = {w: f"{w}-{run}" for w in ("note", "checkin", "problems", "improvements", "focus")}
    ada, zed = api.token("ada", "admin"), api.token("zed")
    today = datetime.now(UTC).date()
    cycle = api.post(
        "/cycles",
        ada,
        {
            "name": "Q",
            "start_date": (today - timedelta(days=10)).isoformat(),
            "end_date": (today + timedelta(days=80)).isoformat(),
            "cadence": "quarter",
        },
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "drafting"}, 200)
    draft = {"cycle_id": cycle, "title": "Grow", "level": "individual", "owner_user_id": "zed"}
    objective = api.post("/objectives", zed, draft, 201)["id"]
    kr = api.post(
        f"/objectives/{objective}/key-results", zed, {"title": "Half", "mode": "percentage"}, 201
    )["key_result_id"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "tracking"}, 200)

    keys = runtime.app.personal_keys
    runtime.app.personal_keys = None  # as the release before sealing wrote them
    notes = f"/objectives/{objective}/notes"
    api.post(notes, zed, {"topic": "career", "text": marker["note"]}, 200)
    api.post(notes, ada, {"topic": "progress", "text": f"ada-{run}"}, 200)
    api.post(
        f"/objectives/{objective}/key-results/{kr}/check-ins",
        zed,
        {"percent": 40, "status": "on_track", "note": marker["checkin"]},
        200,
    )
    checked_in = api.get(f"/objectives/{objective}", zed)["version"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "retrospective"}, 200)
    retrospective = {
        "scores": {kr: 0.5},
        "problems": marker["problems"],
        "improvements": marker["improvements"],
        "next_focus": marker["focus"],
    }
    api.put(f"/objectives/{objective}/retrospective", zed, retrospective, 200)
    runtime.app.personal_keys = keys
    api.post(notes, zed, {"topic": "progress", "text": f"sealed-{run}"}, 200)

    def reads() -> dict[str, Any]:
        return {
            "objective": api.get(f"/objectives/{objective}", ada),
            "notes": api.get(notes, ada),
            "history": api.get(f"/objectives/{objective}/history", ada),
            "then": api.get(f"/objectives/{objective}", ada, version=checked_in),
        }

    before = reads()
    assert before["objective"]["retrospective"]["problems"] == marker["problems"]
    stored = stored_bytes(settings)
    for text in marker.values():
        assert text.encode() in stored  # legacy plaintext is there to be found

    assert api.client.delete("/v1/users/zed", headers=ada).status_code == 204

    after = reads()
    retro = after["objective"]["retrospective"]
    assert (retro["problems"], retro["improvements"], retro["next_focus"]) == (ERASED,) * 3
    texts = {n["text"] for n in after["notes"]["notes"]}
    assert texts == {ERASED, f"ada-{run}"}  # the legacy note and the sealed one: erased
    events = after["history"]["events"]
    assert [e["data"]["note"] for e in events if e["data"].get("note")] == [ERASED]
    assert after["then"]["progress"] == before["then"]["progress"]
    assert after["objective"]["progress"] == before["objective"]["progress"]
    assert retro["achievement_rate"] == before["objective"]["retrospective"]["achievement_rate"]
    shown = "\n".join(strings(after))
    stored = stored_bytes(settings)
    for text in [*marker.values(), f"sealed-{run}"]:
        assert text not in shown
        assert text.encode() not in stored, f"{text} is still stored"
    assert f"ada-{run}".encode() in stored

    # The rewritten log still loads and takes new events; the read model applies them
    # to the rewritten state, not to a copy it held from before (no text comes back).
    api.post(notes, ada, {"topic": "progress", "text": "after"}, 200)
    later = api.get(f"/objectives/{objective}", ada)
    assert later["version"] == before["objective"]["version"] + 1
    assert later["retrospective"]["problems"] == ERASED
    stored = stored_bytes(settings)
    for text in marker.values():
        assert text.encode() not in stored, f"{text} came back"
