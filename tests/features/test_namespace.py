"""Namespaces: read-only feature dicts; shared ones remember their encodings."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from features import Namespace, SharedNamespace

CHANGES: dict[str, Callable[[Namespace], Any]] = {
    "set": lambda ns: ns.__setitem__("b", 2.0),
    "delete": lambda ns: ns.__delitem__("a"),
    "clear": lambda ns: ns.clear(),
    "pop": lambda ns: ns.pop("a"),
    "popitem": lambda ns: ns.popitem(),
    "setdefault": lambda ns: ns.setdefault("b", 2.0),
    "update": lambda ns: ns.update(b=2.0),
    "merge in place": lambda ns: ns.__ior__({"b": 2.0}),
}


@pytest.mark.parametrize("kind", [Namespace, SharedNamespace])
@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_namespace_refuses_every_change(
    kind: type[Namespace], change: Callable[[Namespace], Any]
) -> None:
    namespace = kind({"a": 1.0})

    with pytest.raises(TypeError, match="read-only"):
        change(namespace)
    assert namespace == {"a": 1.0}


@pytest.mark.parametrize("kind", [Namespace, SharedNamespace])
@pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda ns: pickle.loads(pickle.dumps(ns))],  # noqa: S301  # our own bytes
)
def test_a_namespace_copies_and_pickles_by_value(
    kind: type[Namespace], duplicate: Callable[[Namespace], Namespace]
) -> None:
    namespace = kind({"plan=pro": 1.0, "seats": 1.6})

    twin = duplicate(namespace)

    assert type(twin) is kind
    assert twin == namespace
    with pytest.raises(TypeError):
        twin["seats"] = 2.0


def test_a_namespace_reads_like_the_dict_it_holds() -> None:
    namespace = Namespace({"b": 2.0, "a": 1.0})

    assert dict(namespace) == {"b": 2.0, "a": 1.0}
    assert namespace.get("a") == 1.0
    assert list(namespace) == ["b", "a"]
    assert namespace == Namespace({"a": 1.0, "b": 2.0})
    assert repr(namespace) == "Namespace({'b': 2.0, 'a': 1.0})"


def test_remembered_encodings_take_no_part_in_equality() -> None:
    encoded, fresh = SharedNamespace({"moment=peak": 1.0}), SharedNamespace({"moment=peak": 1.0})
    encoded.renderings["some-encoder/1"] = "|M moment=peak"

    assert encoded == fresh
    assert encoded == {"moment=peak": 1.0}
    assert fresh.renderings == {}
