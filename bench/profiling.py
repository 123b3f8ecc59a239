"""Run a module as ``__main__`` under cProfile in *every* thread; merge the stats at exit.

    python -m bench.profiling OUT.pstats entrypoints.cli serve --port 8123

cProfile only sees the thread that enabled it, and the service does its work
in other threads (uvicorn's worker threads for sync endpoints, the
follower's thread in ``okr project``). ``threading.setprofile`` installs a
hook that starts a profiler of its own in each new thread; at exit the
profiles of all threads are merged into one ``pstats`` file. The module must
end normally (the services do on SIGINT/SIGTERM) for the file to be written.
"""

from __future__ import annotations

import cProfile
import marshal
import runpy
import signal
import sys
import threading
from typing import Any

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _thread_hook(frame: Any, event: str, arg: Any) -> None:
    sys.setprofile(None)
    profiler = cProfile.Profile()
    with _lock:
        _profiles.append(profiler)
    profiler.enable()


def _merged_stats() -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    with _lock:
        profiles = list(_profiles)
    for profiler in profiles:
        profiler.snapshot_stats()  # type: ignore[attr-defined]
        for func, (cc, nc, tt, ct, callers) in profiler.stats.items():  # type: ignore[attr-defined]
            if func in merged:
                occ, onc, ott, oct_, ocallers = merged[func]
                both = dict(ocallers)
                for caller, counts in callers.items():
                    old = both.get(caller)
                    both[caller] = (
                        counts
                        if old is None
                        else tuple(a + b for a, b in zip(old, counts, strict=True))
                    )
                merged[func] = (occ + cc, onc + nc, ott + tt, oct_ + ct, both)
            else:
                merged[func] = (cc, nc, tt, ct, dict(callers))
    return merged


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    out, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    # uvicorn re-raises SIGTERM once it has shut down; without a handler of ours
    # that would kill the process before the statistics are written.
    signal.signal(signal.SIGTERM, _exit)
    threading.setprofile(_thread_hook)
    main_profiler = cProfile.Profile()
    _profiles.append(main_profiler)
    main_profiler.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        main_profiler.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        with open(out, "wb") as file:
            marshal.dump(_merged_stats(), file)


if __name__ == "__main__":
    main()
