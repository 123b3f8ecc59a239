"""Figure 6: reads over HTTP — one objective, a cycle tree of 10,000 objectives and
40,000 KRs, and a team dashboard (medians).

The data set (``datasets.tree_dataset``) is written through the domain
aggregates in batches (100 objectives with their KRs and KR locators per
``app.save()``); how fast the commands themselves would have written it is
measured on a small sample first and reported. Then a real ``okr project``
builds the read models (timed) and a real ``okr serve`` answers:

- ``GET /v1/objectives/{id}`` with a member's token, over seeded random public
  objectives;
- ``GET /v1/cycles/{id}/tree`` with an admin's token (all 10,000 objectives);
- ``GET /v1/cycles/{id}/dashboard?team_id=…`` with that team's manager's token.

The same queries called in-process (``projections.objective_queries``) are
reported beside them, to separate the query from the HTTP layer.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import (
    Context,
    Figure,
    Target,
    fresh_database,
    max_position,
    maybe_profiled,
    settings_for,
    start_api,
    start_projector,
    summary_ms,
    wait_projected,
    write_service_profile,
)


def count_nodes(nodes: list[dict[str, Any]]) -> tuple[int, int]:
    objectives = krs = 0
    stack = list(nodes)
    while stack:
        node = stack.pop()
        objectives += 1
        krs += len(node["key_results"])
        stack.extend(node["children"])
    return objectives, krs


def _get(http: Any, path: str, params: dict[str, str] | None = None) -> tuple[float, Any]:
    started = time.perf_counter()
    response = http.get(path, params=params)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise AssertionError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return seconds, response


def run(ctx: Context) -> list[Figure]:
    import httpx

    s = ctx.sizes
    krs = s.tree_objectives * s.tree_krs_per_objective
    one = Figure(
        key="6a",
        name="read one objective: GET /v1/objectives/{id} over HTTP (median)",
        unit="ms",
        target=Target("≤ 5 ms", at_most=5.0),
        method=(
            f"real `okr serve` over the tree data set below; {s.objective_reads} GETs of seeded "
            "random public objectives with a member's token, one keep-alive client; median."
        ),
    )
    tree = Figure(
        key="6b",
        name=(
            f"cycle tree of {s.tree_objectives:,} objectives and {krs:,} KRs: "
            "GET /v1/cycles/{id}/tree (median)"
        ),
        unit="ms",
        target=Target("≤ 300 ms", at_most=300.0),
        method=(
            f"{s.tree_reads} GETs of the whole cycle's tree with an admin's token (every "
            "objective visible); the answer is checked to hold every objective and KR; median."
        ),
    )
    dash = Figure(
        key="6c",
        name="team dashboard: GET /v1/cycles/{id}/dashboard?team_id=… (median)",
        unit="ms",
        target=Target("≤ 20 ms", at_most=20.0),
        method=(
            f"{s.dashboard_reads} GETs of one team's dashboard "
            f"(≈{s.tree_objectives // s.tree_teams} of the cycle's objectives) with the team "
            "manager's token; median."
        ),
    )
    with fresh_database("reads") as url:
        from bench.datasets import ORG, command_rate_sample, tree_dataset
        from domain.visibility import Viewer
        from entrypoints.bootstrap import build_runtime
        from projections import objective_queries as queries
        from projections.teams import managed_teams

        runtime = build_runtime(settings_for(url))
        try:
            ctx.say("fig 6: timing the commands on a sample")
            sample = command_rate_sample(
                runtime.app, s.command_sample_objectives, s.tree_krs_per_objective
            )
            full_estimate = sample["seconds_per_objective_with_krs"] * s.tree_objectives
            ctx.say(
                f"fig 6: commands write {sample['commands_per_second']:.0f} commands/s → "
                f"{full_estimate:.0f} s for the full tree; writing it in batches instead"
            )
            data = tree_dataset(
                runtime.app,
                objectives=s.tree_objectives,
                krs_per_objective=s.tree_krs_per_objective,
                teams=s.tree_teams,
                check_in_fraction=s.tree_check_in_fraction,
                seed=ctx.seed,
            )
            data.command_sample = sample
            team = data.team_ids[0]
            manager = data.managers[team]
            member = data.members[team][0]
            admin_token = runtime.tokens.create(ORG, "bench-admin", "admin")[1]
            manager_token = runtime.tokens.create(ORG, manager, "member")[1]
            member_token = runtime.tokens.create(ORG, member, "member")[1]
        finally:
            runtime.close()
        events = max_position(url)
        ctx.say(f"fig 6: {data.counts} written in {data.seconds:.0f} s ({events} events)")

        started = time.monotonic()  # includes starting the process (≈1 s)
        projector = start_projector(ctx, "fig6", url)
        try:
            wait_projected(url, events, 3600)
            projection_seconds = time.monotonic() - started
            ctx.say(f"fig 6: okr project built the read models in {projection_seconds:.0f} s")
            api, base = start_api(ctx, "fig6", url)
        except BaseException:
            projector.stop()
            raise
        rng = random.Random(ctx.seed)
        public = [o for o in data.objective_ids if o not in data.private_ids]
        picks = [rng.choice(public) for _ in range(s.objective_reads)]
        cycle = str(data.cycle_id)
        runs: list[dict[str, Any]] = []
        clients = {
            token: httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120.0
            )
            for token in (admin_token, manager_token, member_token)
        }
        try:
            member_http = clients[member_token]
            admin_http = clients[admin_token]
            manager_http = clients[manager_token]
            _get(member_http, f"/v1/objectives/{picks[0]}")  # warm-up
            _get(manager_http, f"/v1/cycles/{cycle}/dashboard", {"team_id": str(team)})
            _, response = _get(admin_http, f"/v1/cycles/{cycle}/tree")
            objectives_seen, krs_seen = count_nodes(response.json()["objectives"])
            if (objectives_seen, krs_seen) != (
                data.counts["objectives"],
                data.counts["key_results"],
            ):
                raise AssertionError(
                    f"the tree holds {objectives_seen} objectives and {krs_seen} KRs, "
                    f"expected {data.counts['objectives']} and {data.counts['key_results']}"
                )
            tree_bytes = len(response.content)
            for r in range(ctx.repeat):
                ctx.say(f"fig 6 run {r + 1}/{ctx.repeat}: reads over HTTP")
                with maybe_profiled(ctx, f"fig6-client-run{r + 1}"):
                    one_times = [_get(member_http, f"/v1/objectives/{o}")[0] for o in picks]
                    tree_times = [
                        _get(admin_http, f"/v1/cycles/{cycle}/tree")[0] for _ in range(s.tree_reads)
                    ]
                    dash_times = [
                        _get(manager_http, f"/v1/cycles/{cycle}/dashboard", {"team_id": str(team)})[
                            0
                        ]
                        for _ in range(s.dashboard_reads)
                    ]
                one.runs.append(statistics.median(one_times) * 1000)
                tree.runs.append(statistics.median(tree_times) * 1000)
                dash.runs.append(statistics.median(dash_times) * 1000)
                runs.append(
                    {
                        "objective": summary_ms(one_times),
                        "tree": summary_ms(tree_times),
                        "dashboard": summary_ms(dash_times),
                    }
                )
                ctx.say(
                    f"fig 6 run {r + 1}: objective {one.runs[-1]:.1f} ms, tree "
                    f"{tree.runs[-1]:.0f} ms, dashboard {dash.runs[-1]:.1f} ms"
                )
            api.check_alive()
        finally:
            for http in clients.values():
                http.close()
            api.stop()
            projector.stop()
            write_service_profile(ctx, api)
            write_service_profile(ctx, projector)

        # The same queries in-process: how much of each read is the query itself.
        runtime = build_runtime(settings_for(url))
        try:
            store = runtime.store
            now = datetime.now(UTC)

            def viewer(user: str, admin: bool) -> Viewer:
                return Viewer(
                    organization_id=ORG,
                    user_id=user,
                    is_admin=admin,
                    managed_team_ids=frozenset(managed_teams(store, ORG, user)),
                )

            member_viewer = viewer(member, False)
            admin_viewer = viewer("bench-admin", True)
            manager_viewer = viewer(manager, False)
            # What the routes call: the JSON-splicing queries where they exist.
            get_objective = getattr(queries, "objective_json", queries.get_objective)
            cycle_tree = getattr(queries, "cycle_tree_json", queries.cycle_tree)
            dashboard = queries.dashboard
            with maybe_profiled(ctx, "fig6-queries-in-process"):
                q_one = [
                    _timed(lambda o=o: get_objective(store, member_viewer, str(o), now))  # type: ignore[misc]
                    for o in picks
                ]
                q_tree = [
                    _timed(lambda: cycle_tree(store, admin_viewer, cycle, now))
                    for _ in range(s.tree_reads)
                ]
                q_dash = [
                    _timed(lambda: dashboard(store, manager_viewer, cycle, now, str(team)))
                    for _ in range(s.dashboard_reads)
                ]
        finally:
            runtime.close()
    in_process = {
        get_objective.__name__: summary_ms(q_one),
        cycle_tree.__name__: summary_ms(q_tree),
        "dashboard": summary_ms(q_dash),
    }
    shared = {
        "data_set": data.counts,
        "events": events,
        "written_in_seconds_batched": round(data.seconds, 1),
        "commands_sample": sample,
        "commands_estimate_for_full_set_seconds": round(full_estimate, 0),
        "okr_project_build_seconds": round(projection_seconds, 1),
        "okr_project_build_events_per_second": round(events / projection_seconds, 1),
        "tree_response_bytes": tree_bytes,
        "api_peak_rss_mb": round(api.peak_mb, 1),
    }
    one.details = {
        **shared,
        f"in_process_{get_objective.__name__}": in_process[get_objective.__name__],
        "runs": runs,
    }
    tree.details = {f"in_process_{cycle_tree.__name__}": in_process[cycle_tree.__name__]}
    dash.details = {"in_process_dashboard": in_process["dashboard"]}
    return [one.finish(), tree.finish(), dash.finish()]


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started
