"""Machinery shared by the figures: configuration, results, fresh databases and
topics, the service processes, memory sampling, statistics and profiling."""

from __future__ import annotations

import contextlib
import cProfile
import io
import math
import os
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import psycopg

REPO = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get(
    "OKR_BENCH_ADMIN_URL",
    os.environ.get("OKR_TEST_DATABASE_URL", "postgresql://okr:okr@127.0.0.1:15432/okr_test"),
)
KAFKA_BOOTSTRAP = os.environ.get(
    "OKR_BENCH_KAFKA_BOOTSTRAP", os.environ.get("OKR_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
)


# ----------------------------------------------------------------- configuration


@dataclass
class Sizes:
    """Every size the suite uses; ``FULL`` for the report, ``SMOKE`` for CI."""

    clients: int = 8
    krs_per_client: int = 3
    baseline_seconds: float = 8.0
    throughput_seconds: float = 15.0
    paced_rate: float = 100.0
    paced_seconds: float = 20.0
    lag_seconds: float = 20.0
    kafka_events: int = 30_000
    kafka_issues: int = 3_000
    history_events: int = 20_000
    travel_events: int = 10_000
    travel_samples: int = 200
    tree_objectives: int = 10_000
    tree_krs_per_objective: int = 4
    tree_teams: int = 100
    tree_check_in_fraction: float = 0.1
    command_sample_objectives: int = 20
    objective_reads: int = 200
    tree_reads: int = 3
    dashboard_reads: int = 50


FULL = Sizes()
SMOKE = Sizes(
    clients=8,
    krs_per_client=2,
    baseline_seconds=1.0,
    throughput_seconds=2.0,
    paced_rate=100.0,
    paced_seconds=2.0,
    lag_seconds=2.0,
    kafka_events=400,
    kafka_issues=60,
    history_events=300,
    travel_events=300,
    travel_samples=20,
    tree_objectives=120,
    tree_krs_per_objective=4,
    tree_teams=5,
    tree_check_in_fraction=0.1,
    command_sample_objectives=3,
    objective_reads=20,
    tree_reads=2,
    dashboard_reads=10,
)


@dataclass
class Context:
    """What every figure gets: sizes, repeats, where to write, and shared samples."""

    sizes: Sizes
    repeat: int
    smoke: bool
    profile: bool
    workdir: Path  # logs and profiles
    seed: int = 20261124
    memory: list[MemorySample] = field(default_factory=list)
    log: TextIO = sys.stderr

    def say(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[bench {stamp}] {message}", file=self.log, flush=True)


# ------------------------------------------------------------------------ results


@dataclass
class Target:
    """``at_least`` / ``at_most`` the value, and/or ``ratio_at_least`` (``ratio_at_most``)
    x baseline."""

    text: str
    at_least: float | None = None
    at_most: float | None = None
    ratio_at_least: float | None = None
    ratio_at_most: float | None = None

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        if value is None:
            return None
        ok = True
        if self.at_least is not None:
            ok &= value >= self.at_least
        if self.at_most is not None:
            ok &= value <= self.at_most
        if self.ratio_at_least is not None:
            ok &= ratio is not None and ratio >= self.ratio_at_least
        if self.ratio_at_most is not None:
            ok &= ratio is not None and ratio <= self.ratio_at_most
        return ok


@dataclass
class Figure:
    key: str  # "1a", "6b", …
    name: str
    unit: str
    target: Target
    method: str
    value: float | None = None
    baseline: float | None = None
    baseline_name: str | None = None
    runs: list[float] = field(default_factory=list)
    baseline_runs: list[float] = field(default_factory=list)
    status: str = "ok"  # ok | pending | error
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def finish(self) -> Figure:
        """Value and baseline are the medians of the runs."""
        if self.runs:
            self.value = statistics.median(self.runs)
        if self.baseline_runs:
            self.baseline = statistics.median(self.baseline_runs)
        return self

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.status != "ok":
            return None
        return self.target.met(self.value, self.ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "value": _round(self.value),
            "unit": self.unit,
            "baseline": _round(self.baseline),
            "baseline_name": self.baseline_name,
            "ratio": _round(self.ratio, 4),
            "target": self.target.text,
            "met": self.met,
            "status": self.status,
            "error": self.error,
            "runs": [_round(r) for r in self.runs],
            "baseline_runs": [_round(r) for r in self.baseline_runs],
            "method": self.method,
            "details": self.details,
        }


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


# --------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50/p90/p99/max of durations given in seconds, in milliseconds."""
    if not seconds:
        return {"count": 0}
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p90_ms": round(percentile(seconds, 90) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
        "max_ms": round(max(seconds) * 1000, 3),
    }


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def wait_until(
    condition: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------- PostgreSQL


def _url_with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextlib.contextmanager
def fresh_database(label: str) -> Iterator[str]:
    """A new, empty database for one benchmark; dropped at the end, whatever happens."""
    name = f"okr_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _url_with_db(ADMIN_URL, name)
    finally:
        drop_database(name)


def drop_database(name: str, attempts: int = 20) -> None:
    """Drop it, ending our own leftover sessions first.

    Not ``WITH (FORCE)`` straight away: an autovacuum worker busy in the
    database (the benchmarks write a lot) belongs to the superuser, and FORCE
    then fails for a role that may only end its own sessions; a plain DROP
    cancels the autovacuum worker itself, so it succeeds once ours are gone.
    """
    for attempt in range(attempts):
        try:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND usename = current_user AND pid <> pg_backend_pid()",
                    (name,),
                )
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(0.5)
        except psycopg.Error as error:
            if attempt == attempts - 1:
                print(f"[bench] could not drop database {name}: {error}", file=sys.stderr)
                return
            time.sleep(0.5)
    print(f"[bench] could not drop database {name}: still in use", file=sys.stderr)


def postgres_version() -> str:
    with psycopg.connect(ADMIN_URL, connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def settings_for(url: str, **overrides: Any) -> Any:
    """Settings of the service over ``url``; never Kafka unless asked for."""
    from entrypoints.settings import Settings

    values: dict[str, Any] = {"database_url": url, "kafka_bootstrap": None}
    values.update(overrides)
    return Settings(**values)


class TrackingWatcher:
    """Polls the read models' tracking positions and remembers when each was reached.

    ``reached_at(position)`` is the first poll (monotonic time) at which every
    read model had applied ``position``: the write is visible in the read model.
    """

    def __init__(self, url: str, table: str, names: Sequence[str], interval: float) -> None:
        self.url = url
        self.interval = interval
        # The served positions (``projections.generations``): per model the least share
        # of its serving generation; ``table`` is the positions table.
        self._sql = (
            "SELECT count(DISTINCT g.model), min(p.position) FROM okr_rm_generations g"
            f" JOIN {table} p ON p.model = g.model AND p.generation = g.generation"
            " WHERE g.state = 'serving' AND g.model = ANY(%s)"
        )
        self._names = list(names)
        self.changes: list[tuple[float, int]] = []  # (monotonic time, position)
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-tracking", daemon=True)

    def position(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(self._sql, (self._names,)).fetchone()
        if row is None or row[0] < len(self._names) or row[1] is None:
            return 0
        return int(row[1])

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            last = -1
            while not self._stop.is_set():
                position = self.position(conn)
                now = time.monotonic()
                self.polls += 1
                if position != last:
                    self.changes.append((now, position))
                    last = position
                self._stop.wait(self.interval)

    def start(self) -> TrackingWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def reached_at(self, position: int) -> float | None:
        for moment, reached in self.changes:
            if reached >= position:
                return moment
        return None


@dataclass(frozen=True)
class StoreNames:
    """Where the service keeps things in a database (named by the library)."""

    events_table: str
    tracking_table: str
    tracking_names: tuple[str, ...]  # the read models' names (positions are per model)


def store_names(url: str) -> StoreNames:
    """Asks a runtime over ``url`` (which creates the tables if they are missing)."""
    from entrypoints.bootstrap import build_runtime
    from projections.generations import POSITIONS

    runtime = build_runtime(settings_for(url))
    try:
        return StoreNames(
            events_table=runtime.app.recorder.events_table_name,  # type: ignore[attr-defined]
            tracking_table=POSITIONS,
            tracking_names=tuple(m.name for m in runtime.follower.models),
        )
    finally:
        runtime.close()


def watcher(url: str, interval: float) -> TrackingWatcher:
    names = store_names(url)
    return TrackingWatcher(url, names.tracking_table, names.tracking_names, interval)


def wait_projected(url: str, position: int, timeout: float) -> float:
    """Block until every read model has applied ``position``; returns the seconds waited."""
    watch = watcher(url, 0.05)
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        wait_until(
            lambda: watch.position(conn) >= position,
            timeout,
            0.1,
            f"the read models to reach position {position}",
        )
    return time.monotonic() - started


def max_position(url: str) -> int:
    table = store_names(url).events_table
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(f"SELECT max(notification_id) FROM {table}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


# --------------------------------------------------------------------------- Kafka


def kafka_admin() -> Any:
    from kafka.admin import KafkaAdminClient  # type: ignore[import-untyped]

    return KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, client_id="okr-bench-admin")


@contextlib.contextmanager
def fresh_topics(label: str, partitions: int = 3) -> Iterator[tuple[str, str]]:
    """A new topic and its dead-letter topic; deleted at the end."""
    from kafka.admin import NewTopic

    suffix = uuid.uuid4().hex[:8]
    topic = f"okr.bench.{label}.{suffix}"
    dlq = f"{topic}.dlq"
    admin = kafka_admin()
    try:
        admin.create_topics(
            [NewTopic(topic, partitions, 1), NewTopic(dlq, 1, 1)], timeout_ms=30_000
        )
        yield topic, dlq
    finally:
        with contextlib.suppress(Exception):
            admin.delete_topics([topic, dlq], timeout_ms=30_000)
        admin.close()


def kafka_version() -> str:
    home = Path(os.environ.get("OKR_KAFKA_HOME", REPO / ".cache" / "kafka"))
    for jar in sorted((home / "libs").glob("kafka-server-*.jar")):
        return jar.stem.removeprefix("kafka-server-")
    for jar in sorted((home / "libs").glob("kafka_2.13-*.jar")):
        return jar.stem.removeprefix("kafka_2.13-")
    return "unknown"


# ------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MemorySample:
    benchmark: str
    role: str  # api | projection runner | consumer
    pid: int
    peak_rss_mb: float  # VmHWM
    last_rss_mb: float  # VmRSS when it stopped


def proc_memory(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) in MB from /proc/<pid>/status."""
    values = {"VmHWM": 0.0, "VmRSS": 0.0}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) / 1024
    return values["VmHWM"], values["VmRSS"]


def service_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env.update(
        {
            "OKR_DATABASE_URL": url,
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Service:
    """One service process (``okr serve``, ``okr project``, the consumer).

    With ``profile``, the same command runs under ``bench.profiling`` (cProfile
    in every thread) and leaves its statistics in ``<workdir>/<name>.pstats``.
    """

    def __init__(
        self,
        ctx: Context,
        benchmark: str,
        role: str,
        module_args: Sequence[str],
        env: dict[str, str],
        stdin: bool = False,
    ) -> None:
        self.ctx = ctx
        self.benchmark = benchmark
        self.role = role
        slug = f"{benchmark}-{role.replace(' ', '-')}"
        self.log_path = ctx.workdir / f"{slug}.log"
        self.profile_path = ctx.workdir / f"{slug}.pstats" if ctx.profile else None
        command = [sys.executable]
        if self.profile_path is not None:
            command += ["-m", "bench.profiling", str(self.profile_path)]
        else:
            command += ["-m"]
        command += list(module_args)
        self.command = command
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peak_mb = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def memory(self) -> tuple[float, float]:
        return proc_memory(self.pid)

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(
                f"{self.role} exited with {self.process.returncode}; log tail:\n{self.tail()}"
            )

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def log_contains(self, text: str) -> bool:
        with contextlib.suppress(OSError):
            return text in self.log_path.read_text(errors="replace")
        return False

    def send_line(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        """Record the peak memory, then stop it gracefully (kill if it hangs)."""
        if self.alive():
            with contextlib.suppress(OSError):
                peak, last = self.memory()
                self.peak_mb = peak
                self.ctx.memory.append(
                    MemorySample(
                        self.benchmark, self.role, self.pid, round(peak, 1), round(last, 1)
                    )
                )
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def start_api(ctx: Context, benchmark: str, url: str, workers: int = 1) -> tuple[Service, str]:
    """``okr serve`` on a free port over ``url``; returns it and its base URL once healthy.

    With ``workers`` above 1 the process is uvicorn's supervisor (the work is
    in its children): its role is then not "api", so figure 7 leaves it out.
    """
    import httpx

    port = free_port()
    command = ["entrypoints.cli", "serve", "--port", str(port)]
    role = "api"
    if workers > 1:
        command += ["--workers", str(workers)]
        role = f"api with {workers} workers"
    api = Service(ctx, benchmark, role, command, service_env(url))
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        api.check_alive()
        try:
            return httpx.get(f"{base}/v1/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 60, 0.1, "okr serve to answer /v1/health")
    return api, base


def start_projector(ctx: Context, benchmark: str, url: str) -> Service:
    """``okr project`` over ``url`` (it follows the log as soon as it has started)."""
    runner = Service(
        ctx, benchmark, "projection runner", ["entrypoints.cli", "project"], service_env(url)
    )
    wait_until(
        lambda: runner.check_alive() is None and runner.log_contains("following the event log"),
        60,
        0.1,
        "okr project to start",
    )
    return runner


# ------------------------------------------------------------------- CPU accounting

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / _TICK, total / _TICK


class CpuMeter:
    """Where the CPU went during a measurement: each service process, the PostgreSQL
    backends serving this benchmark's database, this (load-generating) process, and
    everything else on the machine (other work: noise)."""

    def __init__(self, url: str, processes: dict[str, int]) -> None:
        self.db = url.rpartition("/")[2]
        self.url = url
        self.processes = dict(processes)
        self._start: dict[str, float] = {}
        self._backends: dict[int, float] = {}
        self._machine = (0.0, 0.0)
        self._wall = 0.0

    def _backend_pids(self) -> list[int]:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def _sample(self, pids: Sequence[int]) -> dict[int, float]:
        found = {}
        for pid in pids:
            with contextlib.suppress(OSError):
                found[pid] = cpu_seconds(pid)
        return found

    def start(self) -> CpuMeter:
        self._backends = self._sample(self._backend_pids())
        self._start = {n: cpu_seconds(p) for n, p in self.processes.items()}
        self._start["load generator (bench process)"] = cpu_seconds(os.getpid())
        self._machine = machine_busy_seconds()
        self._wall = time.monotonic()
        return self

    def stop(self, per: int | None = None) -> dict[str, Any]:
        """CPU seconds by consumer; with ``per``, also milliseconds per unit of work."""
        wall = time.monotonic() - self._wall
        busy, total = machine_busy_seconds()
        used = {n: cpu_seconds(p) - self._start[n] for n, p in self.processes.items()}
        used["load generator (bench process)"] = (
            cpu_seconds(os.getpid()) - self._start["load generator (bench process)"]
        )
        backends = self._sample(self._backend_pids())
        used["postgresql backends"] = sum(
            v - self._backends.get(pid, 0.0) for pid, v in backends.items()
        )
        machine = busy - self._machine[0]
        used["everything else on the machine"] = max(0.0, machine - sum(used.values()))
        cores = (total - self._machine[1]) / wall if wall else 0.0
        result: dict[str, Any] = {
            "wall_seconds": round(wall, 2),
            "machine_busy_percent": round(100 * machine / (total - self._machine[1]), 1)
            if total > self._machine[1]
            else None,
            "cores_seen": round(cores, 1),
            "cpu_seconds": {n: round(v, 2) for n, v in used.items()},
        }
        if per:
            result["cpu_ms_per_unit"] = {n: round(1000 * v / per, 2) for n, v in used.items()}
        return result


# ---------------------------------------------------------------------- profiling


def profile_text(stats: pstats.Stats, limit: int = 35, sort: str = "cumulative") -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(sort).print_stats(limit)
    return out.getvalue()


@contextlib.contextmanager
def maybe_profiled(ctx: Context, name: str) -> Iterator[None]:
    """With ``--profile``, cProfile the block (this thread) into ``<workdir>/<name>``."""
    if not ctx.profile:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(ctx.workdir / f"{name}.pstats")
        text = profile_text(pstats.Stats(profiler))
        (ctx.workdir / f"{name}.txt").write_text(text)


def write_service_profile(ctx: Context, service: Service) -> None:
    """After a profiled service has stopped: its top functions as text beside the stats."""
    if service.profile_path is None or not service.profile_path.exists():
        return
    stats = pstats.Stats(str(service.profile_path))
    text = profile_text(stats, 45, "cumulative") + profile_text(stats, 30, "tottime")
    service.profile_path.with_suffix(".txt").write_text(text)
