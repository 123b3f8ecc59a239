"""``python -m bench.run``: run every figure, write the report and the results.

    python -m bench.run                    # full run: docs/benchmarks.md, bench/results.json
    python -m bench.run --smoke            # tiny sizes, report in a temporary directory
    python -m bench.run --only 1,5 --repeat 5 --output-dir /tmp/b
    python -m bench.run --profile --only 3 # also cProfile the service (see bench/profiling.py)

Targets are reported, never asserted: the exit status is 0 whenever every
figure could be measured (met or not), 1 if the suite itself broke (a
figure raised), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.common import FULL, REPO, SMOKE, Context, Figure, Target

FIGURES = ("1", "2", "3", "4", "5", "6", "7", "8")


def _runner(key: str) -> Callable[[Context], list[Figure]]:
    if key == "1":
        from bench.fig1_checkins import run as fig1

        return fig1
    if key == "2":
        from bench.fig2_ingestion import run as fig2

        return fig2
    if key == "3":
        from bench.fig3_rebuild import run as fig3

        return fig3
    if key == "4":
        from bench.fig4_lag import run as fig4

        return fig4
    if key == "5":
        from bench.fig5_time_travel import run as fig5

        return fig5
    if key == "6":
        from bench.fig6_reads import run as fig6

        return fig6
    if key == "8":
        from bench.fig8_growth import run as fig8

        return fig8
    from bench.fig7_memory import run as fig7

    return fig7


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds, for CI)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per figure, medians reported (default 3; 1 with --smoke)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="where benchmarks.md and results.json go (default: docs/ and bench/ in a full "
        "run, a new temporary directory with --smoke)",
    )
    parser.add_argument("--only", default=None, help="comma-separated figures, e.g. 1,3,6")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the service processes (all threads) and the in-process work; "
        "numbers are then slower than real and marked as profiled",
    )
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.smoke else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    only = FIGURES if args.only is None else tuple(x.strip() for x in args.only.split(","))
    unknown = [x for x in only if x not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    args.figures = only
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.output_dir is not None:
        md_path, json_path = args.output_dir / "benchmarks.md", args.output_dir / "results.json"
    elif args.smoke:
        out = Path(tempfile.mkdtemp(prefix="okr-bench-smoke-"))
        md_path, json_path = out / "benchmarks.md", out / "results.json"
    else:
        md_path, json_path = REPO / "docs" / "benchmarks.md", REPO / "bench" / "results.json"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="okr-bench-work-"))
    ctx = Context(
        sizes=SMOKE if args.smoke else FULL,
        repeat=args.repeat,
        smoke=args.smoke,
        profile=args.profile,
        workdir=workdir,
        seed=args.seed,
    )
    os.chdir(REPO)
    started = datetime.now(UTC)
    machine_before = report.machine()
    ctx.say(
        f"{'smoke' if args.smoke else 'full'} run of figures {','.join(args.figures)}, "
        f"repeat {args.repeat}; logs and profiles in {workdir}"
    )
    figures: list[Figure] = []
    seconds: dict[str, float] = {}
    broken = False
    for key in args.figures:
        t0 = time.monotonic()
        ctx.say(f"figure {key}: starting")
        try:
            figures += _runner(key)(ctx)
        except Exception as error:
            broken = True
            traceback.print_exc()
            figures.append(
                Figure(
                    key=key,
                    name=f"figure {key}",
                    unit="",
                    target=Target("—"),
                    method="",
                    status="error",
                    error=f"{type(error).__name__}: {error}"[:2000],
                )
            )
        seconds[key] = round(time.monotonic() - t0, 1)
        ctx.say(f"figure {key}: done in {seconds[key]:.0f} s")
    finished = datetime.now(UTC)
    report.write(
        md_path,
        json_path,
        figures=figures,
        ctx=ctx,
        started=started,
        finished=finished,
        machine_before=machine_before,
        seconds=seconds,
        command=" ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]),
    )
    print(report.table(figures))
    print(f"\nreport: {md_path}\nresults: {json_path}\nlogs: {workdir}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
