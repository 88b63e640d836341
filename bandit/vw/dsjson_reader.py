"""Reading DSJSON back: one line :mod:`bandit.vw.dsjson_writer` wrote, in the policy's own terms.

Training from an exported file goes through here. Anything that does not fit the schema
the writer writes is refused with a ``ValueError`` saying what is wrong, rather than
guessed at: a silently misread label is a silently wrong model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bandit.vw.dsjson_writer import DSJSON_VERSION, JSON_RESERVED
from bandit.vw.text import EXPERIENCE_LETTER, NAMESPACE_LETTERS, OFFER_LETTER
from features import Features, Moment, Namespace

#: VW namespace letter -> feature namespace: :data:`NAMESPACE_LETTERS` read backwards.
_LETTER_NAMESPACES: Mapping[str, str] = {letter: ns for ns, letter in NAMESPACE_LETTERS.items()}
_MOMENT_PREFIX = "moment="
_ID_PREFIX = "id="
#: How far the logged pmf may sum from 1: each probability is rounded to 6 digits.
_PMF_SUM_TOLERANCE = 1e-3
#: How far ``_label_probability`` may be from ``p[0]``: both are the same rounded number.
_PROBABILITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ParsedDsjson:
    """One DSJSON line read back: what :func:`dsjson_line` wrote, in the policy's own terms.

    ``actions`` and ``pmf`` are in logged order (the order the policy saw them, which
    is the order of ``_multi``), not DSJSON's chosen-first order. ``reward`` is
    ``None`` exactly when ``skip_learn`` is set. Numbers are what the line holds,
    i.e. rounded to 6 significant digits as the VW text format rounds them, so the
    examples built from them are the very text the policy learns from.

    The actions' own features are not kept: :class:`VWPolicy` describes each action
    from the catalog, as it does for decisions read from the store.
    """

    decision_id: str
    actions: tuple[str, ...]
    pmf: tuple[float, ...]
    chosen_index: int
    probability: float
    reward: float | None
    skip_learn: bool
    policy_version: str
    features: Features

    @property
    def chosen(self) -> str:
        """The chosen action's id."""
        return self.actions[self.chosen_index]


def _refuse_constant(name: str) -> float:
    """``json.loads`` hook: NaN and infinities are not JSON, and no VW reader takes them."""
    raise ValueError(f"{name} is not a number VW can learn from")


def _member(record: Mapping[str, Any], key: str, where: str = "") -> Any:
    """A required member of a JSON object, or a ``ValueError`` naming it."""
    if key not in record:
        raise ValueError(f"missing '{where}{key}'")
    return record[key]


def _json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _json_number(value: Any, what: str) -> float:
    """A finite JSON number (``true`` is a JSON boolean, not 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, not {value!r}")
    return number


def _json_index(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, not {value!r}")
    return value


def _json_features(value: Any, where: str) -> dict[str, float]:
    """One namespace object: feature name -> finite number."""
    namespace = _json_object(value, f"'{where}'")
    return {name: _json_number(v, f"'{where}.{name}'") for name, v in namespace.items()}


def _shared_features(
    context: Mapping[str, Any], offers: Mapping[str, Mapping[str, float]]
) -> Features:
    """The shared namespaces of ``c`` as :class:`Features`, inverting the shared line.

    Letters map back through :data:`NAMESPACE_LETTERS` (``C`` to ``client``: an
    unknown namespace, which the shared line also writes as ``C``, merges into
    it, as VW merges it). Feature names are the sanitised ones (see :mod:`bandit.vw.text`): an
    intent logged as ``limit_reached:storage`` comes back as
    ``limit_reached_storage``. That is the name VW learned, so training is
    unaffected, but the original spelling is not recoverable. Features whose value
    was 0 were never written and do not come back (they are absent in VW as well).
    """
    namespaces: dict[str, dict[str, float]] = {}
    for letter, values in context.items():
        if letter == "_multi":
            continue
        if letter.startswith(JSON_RESERVED):
            raise ValueError(f"'c.{letter}' is not supported (only '_multi' is)")
        namespace = _LETTER_NAMESPACES.get(letter)
        if namespace is None:
            known = ", ".join(sorted(_LETTER_NAMESPACES))
            raise ValueError(f"'c.{letter}' is not a shared namespace (known: {known})")
        namespaces[namespace] = _json_features(values, f"c.{letter}")
    letter = NAMESPACE_LETTERS["moment"]
    moments = [n for n in namespaces.get("moment", {}) if n.startswith(_MOMENT_PREFIX)]
    if len(moments) != 1:
        raise ValueError(f"'c.{letter}' must hold exactly one {_MOMENT_PREFIX}... feature")
    value = moments[0].removeprefix(_MOMENT_PREFIX)
    try:
        moment = Moment(value)
    except ValueError:
        raise ValueError(f"'c.{letter}': unknown moment {value!r}") from None
    return Features(
        moment=moment,
        intents=MappingProxyType(dict(namespaces.get("intent", {}))),
        namespaces=MappingProxyType(
            {ns: MappingProxyType(values) for ns, values in namespaces.items()}
        ),
        offers={offer: Namespace(values) for offer, values in offers.items()},
    )


def _logged_actions(multi: Any) -> tuple[tuple[str, ...], dict[str, dict[str, float]]]:
    """Action ids in logged order, each from the ``id=...`` feature of its offer namespace,
    and the user's experience of each action that carries one (its ``E`` namespace)."""
    if not isinstance(multi, list) or not multi:
        raise ValueError("'c._multi' must be a non-empty list of actions")
    actions: list[str] = []
    experiences: dict[str, dict[str, float]] = {}
    for position, action in enumerate(multi):
        where = f"c._multi[{position}]"
        described = _json_object(action, f"'{where}'")
        offer = _json_object(
            _member(described, OFFER_LETTER, f"{where}."), f"'{where}.{OFFER_LETTER}'"
        )
        ids = [name.removeprefix(_ID_PREFIX) for name in offer if name.startswith(_ID_PREFIX)]
        if len(ids) != 1 or not ids[0]:
            raise ValueError(f"'{where}.{OFFER_LETTER}' must hold exactly one id=... feature")
        if ids[0] in actions:
            raise ValueError(f"'{where}': action {ids[0]!r} is listed twice")
        actions.append(ids[0])
        if EXPERIENCE_LETTER in described:
            experiences[ids[0]] = _json_features(
                described[EXPERIENCE_LETTER], f"{where}.{EXPERIENCE_LETTER}"
            )
    return tuple(actions), experiences


def _logged_pmf(ranking: Any, probabilities: Any, n_actions: int) -> tuple[float, ...]:
    """The pmf in logged order, from ``a`` (1-based ids, chosen first) and ``p`` (same order)."""
    if not isinstance(ranking, list) or not isinstance(probabilities, list):
        raise ValueError("'a' and 'p' must be lists")
    if len(ranking) != n_actions or len(probabilities) != n_actions:
        raise ValueError(
            f"'a' has {len(ranking)} and 'p' {len(probabilities)} entries "
            f"for {n_actions} action(s) in 'c._multi'"
        )
    ids = [_json_index(a, "an entry of 'a'") for a in ranking]
    if sorted(ids) != list(range(1, n_actions + 1)):
        raise ValueError(f"'a' must list each action 1..{n_actions} once, not {ids}")
    pmf = [0.0] * n_actions
    for action, probability in zip(ids, probabilities, strict=True):
        value = _json_number(probability, "an entry of 'p'")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"probability {value} in 'p' is not between 0 and 1")
        pmf[action - 1] = value
    if abs(sum(pmf) - 1.0) > _PMF_SUM_TOLERANCE:
        raise ValueError(f"the probabilities in 'p' sum to {sum(pmf):.6g}, not 1")
    return tuple(pmf)


def parse_dsjson_line(line: str) -> ParsedDsjson:
    """Read one line :func:`dsjson_line` wrote back into a decision's learnable parts.

    The inverse that matters for training: for a logged decision ``d``,
    ``VWPolicy.examples`` of the parsed features, actions and label is the same
    text as for ``d`` itself, so a model trained from an export learns exactly
    what one trained from the store learns. Anything that does not fit the schema
    :func:`dsjson_line` writes is refused with a ``ValueError`` saying what is
    wrong, rather than guessed at: a silently misread label is a silently wrong model.

    Two lossy spots, both invisible to VW: names are the sanitised ones (see
    :func:`_shared_features`), and a value that rounds to 1 at 6 digits (say
    0.9999999) comes back as exactly 1.0 and is written as a bare name, which VW
    reads as the same value. A missing ``VWState`` gives an empty policy version.
    """
    try:
        record = json.loads(line, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg} at column {error.colno}") from None
    record = _json_object(record, "the line")
    version = record.get("Version", DSJSON_VERSION)
    if version != DSJSON_VERSION:
        raise ValueError(f"'Version' {version!r} is not supported (only {DSJSON_VERSION!r})")
    decision_id = _member(record, "EventId")
    if not isinstance(decision_id, str) or not decision_id:
        raise ValueError(f"'EventId' must be a non-empty string, not {decision_id!r}")
    context = _json_object(_member(record, "c"), "'c'")
    actions, experiences = _logged_actions(_member(context, "_multi", "c."))
    ranking = _member(record, "a")
    pmf = _logged_pmf(ranking, _member(record, "p"), len(actions))
    chosen = ranking[0] - 1
    skip = record.get("_skipLearn", False)
    if not isinstance(skip, bool):
        raise ValueError(f"'_skipLearn' must be true or false, not {skip!r}")
    reward: float | None = None
    probability = pmf[chosen]
    if not skip:
        reward = -_json_number(_member(record, "_label_cost"), "'_label_cost'")
        probability = _json_number(_member(record, "_label_probability"), "'_label_probability'")
        if abs(probability - pmf[chosen]) > _PROBABILITY_TOLERANCE:
            raise ValueError(
                f"'_label_probability' {probability} is not the chosen action's "
                f"probability {pmf[chosen]} in 'p'"
            )
        for key, expected in (("_labelIndex", chosen), ("_label_Action", chosen + 1)):
            if key in record and _json_index(record[key], f"{key!r}") != expected:
                raise ValueError(f"{key!r} {record[key]} disagrees with 'a' (chosen first)")
        if probability <= 0.0:
            raise ValueError("the chosen action has probability 0: nothing can be learned")
    policy_version = ""
    if "VWState" in record:
        state = _json_object(record["VWState"], "'VWState'")
        policy_version = _member(state, "m", "VWState.")
        if not isinstance(policy_version, str):
            raise ValueError(f"'VWState.m' must be a string, not {policy_version!r}")
    return ParsedDsjson(
        decision_id=decision_id,
        actions=actions,
        pmf=pmf,
        chosen_index=chosen,
        probability=probability,
        reward=reward,
        skip_learn=skip,
        policy_version=policy_version,
        features=_shared_features(context, experiences),
    )
