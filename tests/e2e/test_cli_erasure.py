"""``okr user erase`` and ``okr audit`` on personal texts, in the embedded mode.

``okr audit`` opens sealed texts as it prints (text and JSON); after
``okr user erase`` the person's texts print ``[erased]`` and their directory
entry is gone, another person's text stays, and a second erasure finds nothing.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from commands.actor import Actor
from commands.messages import AddNote, AdvanceCyclePhase, DraftObjective, PlanCycle
from domain.personal import ERASED
from domain.values import NoteTopic, TokenRole
from entrypoints.bootstrap import build_runtime
from tests.conftest import embedded_settings
from tests.e2e.test_cli import okr

ZED_TEXT = 'ZED-SAYS "quoted" and ünïcode'


def test_audit_reveals_and_user_erase_erases(tmp_path: Path) -> None:
    runtime = build_runtime(embedded_settings(tmp_path))
    try:
        app = runtime.app
        ada, zed = Actor("acme", "ada", TokenRole.ADMIN), Actor("acme", "zed", TokenRole.MEMBER)
        cycle = app.plan_cycle(
            ada,
            PlanCycle(
                name="Q", start_date=date(2027, 1, 1), end_date=date(2027, 3, 31), cadence="quarter"
            ),
        )
        app.advance_cycle_phase(ada, AdvanceCyclePhase(cycle.id, "drafting"))
        objective = app.draft_objective(
            zed,
            DraftObjective(
                cycle_id=cycle.id, title="Grow", level="individual", owner_user_id="zed"
            ),
        ).id
        app.add_note(zed, AddNote(objective, NoteTopic.CAREER, ZED_TEXT))
        app.add_note(ada, AddNote(objective, NoteTopic.PROGRESS, "ADA-TEXT"))
        runtime.people.put("acme", "zed", "Zed Zimmer", None)
    finally:
        runtime.close()

    story = okr(tmp_path, "audit", str(objective)).stdout
    assert ZED_TEXT in story and "ADA-TEXT" in story and "okr-sealed:" not in story
    entries = json.loads(okr(tmp_path, "audit", str(objective), "--json").stdout)
    assert [e["data"].get("text") for e in entries[1:]] == [ZED_TEXT, "ADA-TEXT"]

    erased = okr(tmp_path, "user", "erase", "--org", "acme", "--user", "zed").stdout
    assert "erased acme/zed: key, directory entry deleted" in erased
    story = okr(tmp_path, "audit", str(objective)).stdout
    assert ZED_TEXT not in story and f"note [career]: {ERASED}" in story and "ADA-TEXT" in story
    again = okr(tmp_path, "user", "erase", "--org", "acme", "--user", "zed").stdout
    assert "nothing left to delete" in again
    assert okr(tmp_path, "user", "erase", "--org", "acme", check=False).returncode == 2
    assert b"Zed Zimmer" not in b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
