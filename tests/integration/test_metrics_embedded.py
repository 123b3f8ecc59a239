"""SPEC §14, embedded mode: the projections run inside ``okr serve``, so the API's
``/metrics`` shows their series beside the HTTP ones (on PostgreSQL the same
process shows them when it follows the log, as ``okr project`` does)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api


def samples(page: str, name: str) -> dict[str, float]:
    return {
        sample.labels["model"]: sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == name
    }


def test_the_api_page_shows_the_in_process_projections(runtime: Runtime) -> None:
    with TestClient(create_app(runtime)) as client:
        api = Api(client, runtime)
        admin = api.token("ada", "admin")
        api.post("/teams", admin, {"name": "Platform"}, 201)
        api.get("/teams", admin)  # waits for the read models (min_position)
        page = client.get("/metrics").text
    positions = samples(page, "okr_projection_position")
    applied = samples(page, "okr_projection_events_applied_total")
    for model in runtime.follower.models:
        assert positions[model.name] >= api.position, model.name
        assert applied[model.name] >= 1, model.name
    assert "okr_http_requests_total" in page
