"""The performance suite: ``python -m bench.run`` (or ``bash scripts/bench.sh``).

Each figure of the issue has its own module (``fig1_checkins`` … ``fig7_memory``);
``datasets`` generates the seeded data sets, ``common`` holds the machinery
(fresh databases and topics, service processes, timing, statistics),
``profiling`` runs a service process under cProfile in every thread, and
``report`` writes ``docs/benchmarks.md`` and ``bench/results.json``.
"""
