"""Intent signals: which needs the user has just revealed, and how strongly.

Intent names are the vocabulary offers declare adjacency to, e.g.
``limit_reached:storage`` or ``repeated_action``. Strength is in [0, 1]: fresh,
strong signals near 1, stale or weak ones near 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from features.context import SessionContext, Signal, SignalKind

#: Half-life of a signal's strength, in seconds.
HALF_LIFE_SECONDS = 300.0


def intent_names(signal: Signal) -> tuple[str, ...]:
    """The intents a signal reveals (a limit hit names its limit too)."""
    kind = signal.kind
    if kind is _LIMIT_REACHED:
        return ("limit_reached", f"limit_reached:{signal.limit}") if signal.limit else _ALONE[kind]
    if kind is _ACTION_REPEATED:
        if signal.action:
            return ("repeated_action", f"repeated_action:{signal.action}")
        return ("repeated_action",)
    return _ALONE[kind]


#: The intent a signal kind reveals on its own, as a ready-made tuple.
_ALONE: dict[SignalKind, tuple[str, ...]] = {kind: (kind.value,) for kind in SignalKind}
# Members bound once: on Python 3.11 reading a member off its enum class costs a lookup.
_LIMIT_REACHED, _ACTION_REPEATED = SignalKind.LIMIT_REACHED, SignalKind.ACTION_REPEATED


def _magnitude(signal: Signal) -> float:
    """How strong a signal is regardless of its age."""
    kind = signal.kind
    if kind is _LIMIT_REACHED and signal.usage is not None:
        return min(1.0, max(0.25, signal.usage))
    if kind is _ACTION_REPEATED and signal.count is not None:
        # Three repetitions is a pattern; one is not.
        return min(1.0, signal.count / 3.0)
    return 1.0


def intents_of(context: SessionContext) -> dict[str, float]:
    """Strength of each intent revealed by the context's signals (max over signals).

    Exact, not rounded: an encoder rounds as it writes (VW's text keeps six significant
    digits), and rounding here cost more than the rest of a signal's arithmetic.
    """
    strengths: dict[str, float] = {}
    for signal in context.signals:
        kind = signal.kind
        if kind in _DETAILED:
            names, magnitude = intent_names(signal), _magnitude(signal)
        else:  # this runs on every decision: skip two calls that would give these anyway
            names, magnitude = _ALONE[kind], 1.0
        strength = magnitude * 0.5 ** (signal.seconds_ago / HALF_LIFE_SECONDS)
        for name in names:
            if strength > strengths.get(name, -1.0):
                strengths[name] = strength
    return strengths


#: The signal kinds that carry details (which limit, which action, how much, how often).
_DETAILED = frozenset({_LIMIT_REACHED, _ACTION_REPEATED})


def adjacency(offer_intents: Sequence[str], intents: Mapping[str, float]) -> float:
    """How closely an offer follows the revealed intents: the best matching strength."""
    best = 0.0
    for name in offer_intents:  # a loop, not max(genexpr): this runs per offer per decision
        strength = intents.get(name, 0.0)
        if strength > best:
            best = strength
    return best
