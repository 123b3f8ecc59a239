"""SPEC §14 metrics, attacked: callers cannot grow the series, nor read tenant data there.

A caller controls the path and the method of a request. Were either a label
as sent, every request to a new path would be a new series, for ever, in the
API and in Prometheus (memory without bound), and the page would list the
organization-owned ids in paths. ``/metrics`` needs no token, so it must hold
nothing of a tenant's.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from starlette.routing import Route

from api.app import create_app
from api.http_metrics import METHODS, OTHER_METHOD, UNMATCHED
from api.tokens import TOKEN_PREFIX
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api

Series = frozenset[tuple[str, str]]


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def request_series() -> set[Series]:
    return {
        frozenset(sample.labels.items())
        for metric in REGISTRY.collect()
        if metric.name == "okr_http_requests"
        for sample in metric.samples
        if sample.name == "okr_http_requests_total"
    }


def random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_.~") for _ in range(length))


def random_path(rng: random.Random) -> str:
    return "/" + "/".join(random_text(rng, rng.randint(1, 12)) for _ in range(rng.randint(1, 4)))


PATH_KINDS = (
    random_path,
    lambda rng: f"/v1/{random_text(rng, 10)}",
    lambda rng: f"/v1/objectives/{uuid.UUID(int=rng.getrandbits(128))}",
    lambda rng: f"/v1/teams/{uuid.UUID(int=rng.getrandbits(128))}/members",
)
NAMED_METHODS = sorted(METHODS)


def garbage_method(rng: random.Random) -> str:
    return "X" + "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(1, 12)))


def test_random_paths_and_methods_create_no_new_series(api: Api) -> None:
    rng = random.Random(14)
    # Every kind of path with every kind of method once: the bounded set of series.
    for kind in PATH_KINDS:
        for method in [*NAMED_METHODS, garbage_method(rng)]:
            api.client.request(method, kind(rng))
    settled = request_series()
    for _ in range(1000):
        method = rng.choice([*NAMED_METHODS, garbage_method(rng)])
        answer = api.client.request(method, rng.choice(PATH_KINDS)(rng))
        assert answer.status_code < 500, answer.text
    assert request_series() == settled, "random paths or methods made new series"
    app = api.client.app
    assert isinstance(app, FastAPI)
    # The registry is the process's: other tests of this process may have counted the
    # dashboard's pages (left out of the OpenAPI document) too.
    from api.routers.dashboard import router as dashboard

    templates = (
        set(app.openapi()["paths"])
        | {r.path for r in app.routes if isinstance(r, Route)}
        | {r.path for r in dashboard.routes if isinstance(r, Route)}
    )
    for series in settled:
        labels = dict(series)
        assert labels["route"] in templates | {UNMATCHED}, labels
        assert labels["method"] in METHODS | {OTHER_METHOD}, labels
        assert labels["status"].isdigit() and len(labels["status"]) == 3, labels


def test_a_route_is_counted_by_its_template_never_its_path(api: Api) -> None:
    admin = api.token("ada", "admin")
    team = api.post("/teams", admin, {"name": "Platform"}, 201)
    api.get(f"/teams/{team['id']}", admin)
    page = api.client.get("/metrics").text
    assert 'route="/v1/teams/{team_id}"' in page
    assert team["id"] not in page


def test_metrics_show_no_organization_user_token_or_id(api: Api) -> None:
    organization, user = "org-5b1e-private", "user-0c9d-private"
    _, token = api.runtime.tokens.create(organization, user, "admin")
    who = {"Authorization": f"Bearer {token}"}
    team = api.post("/teams", who, {"name": "Secret team"}, 201)
    api.get(f"/teams/{team['id']}", who)
    api.client.get(f"/v1/teams/{team['id']}?token={token}")
    api.client.get(f"/v1/{organization}/{user}")
    answer = api.client.get("/metrics")  # no token: scrapers send none
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    page = answer.text
    assert "okr_http_requests_total" in page
    # The secret part whole: token_urlsafe may hold "_", so a split could leave one letter.
    secret_part = token.removeprefix(TOKEN_PREFIX)
    for secret in (organization, user, token, secret_part, team["id"], "Secret team"):
        assert secret not in page, f"/metrics shows {secret!r}"
