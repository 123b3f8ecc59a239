"""``okr demo``: the demo organization's story (``story``), told by ``loader``
through a write side with its own clock (``clock``)."""

from entrypoints.demo.clock import BackdatedApplication, DemoClock
from entrypoints.demo.loader import Loaded, load_demo, story_start
from entrypoints.demo.story import ORG, PEOPLE

__all__ = [
    "ORG",
    "PEOPLE",
    "BackdatedApplication",
    "DemoClock",
    "Loaded",
    "load_demo",
    "story_start",
]
