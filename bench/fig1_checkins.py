"""Figure 1: check-ins per second over HTTP (8 clients, PostgreSQL), and the p99
latency of check-ins paced at 100/s.

A real ``okr serve`` and a real ``okr project`` run as subprocesses over a
fresh database; 8 client threads (one keep-alive ``http.client`` connection each) each
check in on their own KRs. Throughput is closed-loop (each client sends its
next check-in when the previous one answered). Latency is open-loop: check-in
``i`` is due at ``t0 + i / rate`` whatever happened before, and its latency
runs from when it was due (so a slow answer delays, and is charged to, the
ones behind it: no coordinated omission).

Baseline, in the same run and database: the bare ``eventsourcing``
``Application.save()`` loop, a trivial aggregate with one ``@event`` method,
one event per save, one thread.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import (
    Context,
    CpuMeter,
    Figure,
    Target,
    fresh_database,
    settings_for,
    start_api,
    start_projector,
    summary_ms,
    write_service_profile,
)
from bench.datasets import CheckInClient, check_in_clients

BASELINE_NAME = "bare eventsourcing Application.save() loop (1 event per save, 1 thread)"


# -------------------------------------------------------------------- baseline


class Tally(Aggregate):
    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


class BaselineApplication(Application[UUID]):
    name = "benchbaseline"  # its own table (benchbaseline_events) in the same database


def save_loop(url: str, seconds: float) -> dict[str, float]:
    """Saves per second of the bare library on the same PostgreSQL."""
    # The same PostgreSQL settings as the service, and nothing of the service's own.
    env = {
        k: v for k, v in settings_for(url).eventsourcing_env().items() if k.startswith("POSTGRES_")
    }
    env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"  # the library's own recorder
    app = BaselineApplication(env=env)
    try:
        tally = Tally()
        app.save(tally)
        for _ in range(20):  # warm the pool and the prepared statements
            tally.count_one()
            app.save(tally)
        saves = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            tally.count_one()
            app.save(tally)
            saves += 1
        elapsed = time.perf_counter() - started
    finally:
        app.close()
    return {"saves_per_second": saves / elapsed, "saves": saves, "seconds": elapsed}


# ------------------------------------------------------------------ HTTP clients


@dataclass
class Outcome:
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # from due (paced) or sent
    service: list[float] = field(default_factory=list)  # from sent to answered
    written: list[tuple[int, float]] = field(default_factory=list)  # (position, answered at)
    seconds: float = 0.0

    def merge(self, other: Outcome) -> None:
        self.sent += other.sent
        self.ok += other.ok
        for key, count in other.errors.items():
            self.errors[key] = self.errors.get(key, 0) + count
        self.latencies += other.latencies
        self.service += other.service
        self.written += other.written


class CheckInSender:
    """One client: its own connection, token and KRs."""

    def __init__(self, base: str, client: CheckInClient, seed: int) -> None:
        # The standard library's client: it costs the shared cores a fraction of
        # what httpx does per request, leaving them to the service being measured.
        url = urlsplit(base)
        self.address = (url.hostname or "127.0.0.1", url.port or 80)
        self.headers = {
            "Authorization": f"Bearer {client.token}",
            "Content-Type": "application/json",
        }
        self.http = HTTPConnection(*self.address, timeout=30.0)
        self.client = client
        self.rng = random.Random(seed)
        self.turn = 0

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        try:
            self.http.request("POST", path, body=json.dumps(body), headers=self.headers)
            response = self.http.getresponse()
            return response.status, response.read()
        except Exception:
            self.http.close()  # the next request opens a fresh connection
            self.http = HTTPConnection(*self.address, timeout=30.0)
            raise

    def send(self, outcome: Outcome, due: float | None = None) -> None:
        kr = self.client.key_result_ids[self.turn % len(self.client.key_result_ids)]
        self.turn += 1
        body = {"percent": float(self.rng.randint(0, 100)), "status": "on_track"}
        path = f"/v1/objectives/{self.client.objective_id}/key-results/{kr}/check-ins"
        sent = time.monotonic()
        outcome.sent += 1
        try:
            status, content = self._post(path, body)
        except Exception as error:  # a transport error is a failed check-in, counted
            outcome.errors[type(error).__name__] = outcome.errors.get(type(error).__name__, 0) + 1
            return
        answered = time.monotonic()
        if status == 200:
            outcome.ok += 1
            outcome.service.append(answered - sent)
            outcome.latencies.append(answered - (sent if due is None else due))
            outcome.written.append((int(json.loads(content)["position"]), answered))
        else:
            key = str(status)
            outcome.errors[key] = outcome.errors.get(key, 0) + 1

    def close(self) -> None:
        self.http.close()


def warm_up(senders: list[CheckInSender]) -> None:
    """A few check-ins per client first: connections, pools, code paths."""
    for sender in senders:
        for _ in range(3):
            sender.send(Outcome())


def _in_threads(senders: list[CheckInSender], work: Any) -> list[Outcome]:
    outcomes = [Outcome() for _ in senders]
    threads = [
        threading.Thread(target=work, args=(n, sender, outcomes[n]), daemon=True)
        for n, sender in enumerate(senders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def closed_loop(senders: list[CheckInSender], seconds: float) -> Outcome:
    """Every client as fast as it gets answers, for ``seconds``."""
    start = time.monotonic() + 0.05
    deadline = start + seconds

    def work(_: int, sender: CheckInSender, outcome: Outcome) -> None:
        time.sleep(max(0.0, start - time.monotonic()))
        while time.monotonic() < deadline:
            sender.send(outcome)

    total = Outcome()
    for outcome in _in_threads(senders, work):
        total.merge(outcome)
    total.seconds = time.monotonic() - start
    return total


def paced(senders: list[CheckInSender], rate: float, seconds: float) -> Outcome:
    """Open loop: check-in ``i`` is due at ``t0 + i / rate``, client ``i % clients`` sends it."""
    count = max(1, round(rate * seconds))
    start = time.monotonic() + 0.1
    clients = len(senders)

    def work(n: int, sender: CheckInSender, outcome: Outcome) -> None:
        for i in range(n, count, clients):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sender.send(outcome, due)

    total = Outcome()
    for outcome in _in_threads(senders, work):
        total.merge(outcome)
    total.seconds = time.monotonic() - start
    return total


def describe(outcome: Outcome) -> dict[str, Any]:
    return {
        "sent": outcome.sent,
        "ok": outcome.ok,
        "errors": outcome.errors,
        "seconds": round(outcome.seconds, 2),
        "achieved_per_second": round(outcome.ok / outcome.seconds, 1) if outcome.seconds else 0,
        "latency": summary_ms(outcome.latencies),
        "service_time": summary_ms(outcome.service),
    }


# ---------------------------------------------------------------------- figure


@dataclass
class CheckInStack:
    """`okr serve` + `okr project` on one database, and warmed-up check-in senders."""

    senders: list[CheckInSender]
    api: Any
    projector: Any
    roles: dict[str, int]

    def check_alive(self) -> None:
        self.api.check_alive()
        self.projector.check_alive()


@contextmanager
def check_in_stack(ctx: Context, tag: str, url: str) -> Iterator[CheckInStack]:
    """Figures 1 and 4 load the same stack; it is stopped and profiled afterwards."""
    from entrypoints.bootstrap import build_runtime

    s = ctx.sizes
    runtime = build_runtime(settings_for(url))
    try:
        clients = check_in_clients(runtime, s.clients, s.krs_per_client)
    finally:
        runtime.close()
    projector = start_projector(ctx, tag, url)
    api, base = start_api(ctx, tag, url)
    senders = [CheckInSender(base, c, ctx.seed + n) for n, c in enumerate(clients)]
    roles = {"api (okr serve)": api.pid, "projection runner (okr project)": projector.pid}
    try:
        warm_up(senders)
        yield CheckInStack(senders, api, projector, roles)
    finally:
        for sender in senders:
            sender.close()
        api.stop()
        projector.stop()
        write_service_profile(ctx, api)
        write_service_profile(ctx, projector)


def with_api_workers(ctx: Context, url: str, stack: CheckInStack, workers: int) -> list[float]:
    """The same closed loop against ``okr serve --workers N`` (same database and projector):
    how far one API process's interpreter lock limits the figure. Not the figure itself,
    which is measured with the default single process."""
    api, base = start_api(ctx, f"fig1-{workers}-workers", url, workers=workers)
    senders = [
        CheckInSender(base, sender.client, ctx.seed + 100 + n)
        for n, sender in enumerate(stack.senders)
    ]
    results: list[float] = []
    try:
        warm_up(senders)
        for r in range(ctx.repeat):
            ctx.say(f"fig 1 with {workers} API workers, run {r + 1}/{ctx.repeat}")
            closed = closed_loop(senders, ctx.sizes.throughput_seconds)
            results.append(round(closed.ok / closed.seconds, 1))
            api.check_alive()
    finally:
        for sender in senders:
            sender.close()
        api.stop()
    return results


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    throughput = Figure(
        key="1a",
        name=f"check-ins per second over HTTP, {s.clients} concurrent clients, PostgreSQL",
        unit="check-ins/s",
        target=Target("≥ 0.6 x baseline", ratio_at_least=0.6),
        baseline_name=BASELINE_NAME,
        method=(
            f"real `okr serve` + `okr project` subprocesses on a fresh database; {s.clients} "
            f"client threads (http.client, keep-alive), each on its own objective's "
            f"{s.krs_per_client} percentage KRs with a member token (the KRs' assignee); "
            f"closed loop for {s.throughput_seconds:g} s; successful check-ins / elapsed "
            f"seconds. Baseline: {BASELINE_NAME}, {s.baseline_seconds:g} s, same database."
        ),
    )
    latency = Figure(
        key="1b",
        name=f"check-in latency p99 at a paced {s.paced_rate:g} check-ins/s ({s.clients} clients)",
        unit="ms",
        target=Target("≤ 50 ms", at_most=50.0),
        method=(
            f"same processes; open loop: check-in i due at t0 + i/{s.paced_rate:g} s, sent by "
            f"client i mod {s.clients}, for {s.paced_seconds:g} s; latency from due time to "
            "answer (no coordinated omission); nearest-rank p99."
        ),
    )
    runs: list[dict[str, Any]] = []
    with fresh_database("checkins") as url, check_in_stack(ctx, "fig1", url) as stack:
        for r in range(ctx.repeat):
            ctx.say(f"fig 1 run {r + 1}/{ctx.repeat}: baseline save loop")
            base_run = save_loop(url, s.baseline_seconds)
            throughput.baseline_runs.append(base_run["saves_per_second"])
            ctx.say(f"fig 1 run {r + 1}/{ctx.repeat}: {s.clients} clients, closed loop")
            meter = CpuMeter(url, stack.roles).start()
            closed = closed_loop(stack.senders, s.throughput_seconds)
            closed_cpu = meter.stop(per=closed.ok)
            throughput.runs.append(closed.ok / closed.seconds)
            ctx.say(f"fig 1 run {r + 1}/{ctx.repeat}: paced {s.paced_rate:g}/s")
            meter = CpuMeter(url, stack.roles).start()
            open_ = paced(stack.senders, s.paced_rate, s.paced_seconds)
            paced_cpu = meter.stop(per=open_.ok)
            latency.runs.append(summary_ms(open_.latencies).get("p99_ms", float("nan")))
            stack.check_alive()
            runs.append(
                {
                    "baseline": {k: round(v, 2) for k, v in base_run.items()},
                    "closed_loop": {**describe(closed), "cpu": closed_cpu},
                    "paced": {**describe(open_), "cpu": paced_cpu},
                }
            )
            ctx.say(
                f"fig 1 run {r + 1}: {throughput.runs[-1]:.0f} check-ins/s vs baseline "
                f"{base_run['saves_per_second']:.0f} saves/s; "
                f"paced p99 {latency.runs[-1]:.1f} ms"
            )
        two_workers = with_api_workers(ctx, url, stack, workers=2)
    throughput.details = {
        "with_okr_serve_workers_2_check_ins_per_second": two_workers,
        "cpu_ms_per_check_in_by_process": [
            r["closed_loop"]["cpu"]["cpu_ms_per_unit"] for r in runs
        ],
        "machine_busy_percent": [r["closed_loop"]["cpu"]["machine_busy_percent"] for r in runs],
        "runs": runs,
    }
    latency.details = {
        "latency_by_run": [r["paced"]["latency"] for r in runs],
        "machine_busy_percent": [r["paced"]["cpu"]["machine_busy_percent"] for r in runs],
        "runs": [run["paced"] for run in runs],
    }
    return [throughput.finish(), latency.finish()]
