"""Fast construction of the frozen, slotted dataclasses built on every decision.

A frozen dataclass's generated ``__init__`` writes each field through
``object.__setattr__``, the slow generic path, because its own ``__setattr__``
refuses. The value objects of the decision path (a decision, its features, the
exposure it records) are built once per decision point and read many times after,
in serving and in every retrain. They are declared ``slots=True`` (the smallest
instances, and the fastest reads) and write their fields in a hand-written
``__init__`` through each slot's own setter, bound once by :func:`slot_setters`:
about 60% of the generated ``__init__``'s cost. ``tests/bandit/test_value_objects.py``
holds each such class to the contract the generated ``__init__`` would keep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type) -> tuple[Setter, ...]:
    """The ``__set__`` of each init field's slot of a slotted dataclass, in field order."""
    setters = []
    for f in dataclasses.fields(cls):
        if f.init:
            slot = cls.__dict__[f.name]  # a member descriptor: slots=True made one per field
            setters.append(slot.__set__)
    return tuple(setters)
