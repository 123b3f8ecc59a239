"""Figure 7: memory — peak RSS of the API, the projection runner and the consumer.

Not a load of its own: every service process the other figures start is
sampled when it stops (``VmHWM`` from ``/proc/<pid>/status``: the peak
resident set over the process's life, so it covers the load it ran under).
The figure is the largest peak per role: the API under figures 1, 4 and 6
(6 serves the 10,000-objective tree), the projection runner under 1, 4 and 6
(6 builds the big read model), the consumer under figure 2.
"""

from __future__ import annotations

from bench.common import Context, Figure, Target

ROLES = (
    ("7a", "api", "API process (`okr serve`)", "figures 1, 4, 6"),
    ("7b", "projection runner", "projection runner (`okr project`)", "figures 1, 4, 6"),
    ("7c", "consumer", "Kafka consumer process", "figure 2"),
)


def run(ctx: Context) -> list[Figure]:
    figures = []
    for key, role, label, loads in ROLES:
        samples = [m for m in ctx.memory if m.role == role]
        figure = Figure(
            key=key,
            name=f"peak RSS of the {label}",
            unit="MB",
            target=Target("≤ 300 MB", at_most=300.0),
            method=(
                f"VmHWM (peak resident set) read from /proc/<pid>/status just before each "
                f"process stops; the largest over the processes of {loads} in this run."
            ),
        )
        if not samples:
            figure.status = "pending"
            figure.error = f"no {role} process ran in this run (run {loads} with figure 7)"
        else:
            figure.value = max(m.peak_rss_mb for m in samples)
            figure.details = {
                "per_process": [
                    f"{m.benchmark}: peak {m.peak_rss_mb:.0f} MB, at stop {m.last_rss_mb:.0f} MB"
                    for m in samples
                ]
            }
        figures.append(figure)
    return figures
