"""Where a runner writes each read model: which generation, which share of it.

A runner whose model code is the served version writes the serving
generation. One whose code is newer builds (or joins the build of) a
generation of its version beside it, and switches to it once caught up. One
whose code is older refuses: it would write rows the served code does not
expect. A runner whose partition layout is not the generation's refuses too,
saying how to change the layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from projections.generations import (
    BUILDING,
    RUNNER,
    SERVING,
    Generation,
    Lane,
    ProjectionRefused,
    create_generation,
    generations,
    lock_catalog,
    next_number,
    positions,
    serving,
)
from projections.readmodel import ReadModel
from projections.store import Tx, ViewStore


def resolve(
    store: ViewStore,
    models: Sequence[ReadModel],
    partitions: int,
    partition: int,
    generation: int | None = None,
) -> list[Lane]:
    """The lanes of a runner of share ``partition`` of ``partitions``, with their
    positions read now. ``generation`` pins them (a rebuild's job)."""
    lanes: list[Lane] = []
    with store.transaction() as tx:
        lock_catalog(store, tx)
        for model in models:
            found = generations(tx, model.name)
            if generation is not None:
                chosen = _pinned(found, model, generation)
            else:
                chosen = _choose(tx, found, model, partitions)
            if chosen.partitions != partitions:
                raise ProjectionRefused(_layout(chosen, partitions))
            lane = Lane(
                model, chosen.number, partitions, partition, building=chosen.state == BUILDING
            )
            lane.position = positions(tx, model.name, chosen.number).get(partition, 0)
            lanes.append(lane)
    return lanes


def _pinned(found: Sequence[Generation], model: ReadModel, number: int) -> Generation:
    chosen = next((g for g in found if g.number == number), None)
    if chosen is None or chosen.state != BUILDING:
        raise ProjectionRefused(
            f"generation {number} of {model.name} is no longer being built: another rebuild"
            " begun after it, or a newer version, was switched in meanwhile"
        )
    return chosen


def _choose(tx: Tx, found: Sequence[Generation], model: ReadModel, partitions: int) -> Generation:
    served = serving(found)
    if served is None:
        raise ProjectionRefused(f"no generation of {model.name} is served yet")
    if served.code_version > model.version:
        raise ProjectionRefused(
            f"{model.name} is served by version {served.code_version} (generation"
            f" {served.number}); this runner's code is version {model.version}: it stops"
            " rather than write into newer tables (upgrade it)"
        )
    if served.code_version == model.version:
        return served
    building = [
        g
        for g in found
        if g.state == BUILDING and g.builder == RUNNER and g.code_version == model.version
    ]
    if building:
        return building[-1]
    number = next_number(tx)
    create_generation(tx, model, number, partitions, BUILDING, RUNNER)
    return Generation(model.name, number, model.version, partitions, BUILDING, RUNNER, ())


def _layout(chosen: Generation, partitions: int) -> str:
    what = "served" if chosen.state == SERVING else "being built"
    return (
        f"generation {chosen.number} of {chosen.model} ({what}) is laid out in"
        f" {chosen.partitions} partition(s), and this runner was started with"
        f" --partitions {partitions}; run {chosen.partitions} runner(s)"
        f" (--partitions {chosen.partitions} --partition 0..{chosen.partitions - 1}), or change"
        f" the layout first with `okr rebuild --partitions {partitions}`"
    )
