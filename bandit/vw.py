"""The Vowpal Wabbit policy: the only module that imports ``vowpalwabbit``.

It owns the text example format (golden-tested), the ``cost = -reward``
convention, the workspace's lifetime and its thread-safety: a VW workspace is not
safe to share between threads, so every call into it holds one lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import pylibvw  # type: ignore[import-not-found]  # VW's native module, shipped with vowpalwabbit
import vowpalwabbit

from bandit.catalog import Catalog, Offer
from bandit.config import PolicySettings
from bandit.decision import Decision
from bandit.policy import Policy, Weights
from features import Features, Moment, Namespace, SharedNamespace
from features.extract import (
    ContextNamespaces,
    account_namespace,
    activity_namespace,
    client_namespace,
    history_namespace,
    moment_namespace,
    placement_namespace,
)

MODEL_FILE = "model.vw"
#: SHA-256 of the saved model, checked on load.
DIGEST_FILE = "model.vw.sha256"

#: Feature namespace -> VW namespace letter. Interactions in the config use these letters.
NAMESPACE_LETTERS: Mapping[str, str] = {
    "moment": "M",
    "intent": "I",
    "activity": "T",
    "account": "A",
    "history": "H",
    "placement": "P",
    "client": "C",
}
OFFER_LETTER = "O"
#: The namespace of the user's experience of an offer, on that offer's action line.
EXPERIENCE_LETTER = "E"
_UNSAFE = re.compile(r"[\s:|]")
#: The pmf (and score) of a decision with one eligible action: VW is not asked.
_CERTAIN = (1.0,)
#: Most distinct action sets whose joined lines a policy keeps.
_BLOCKS_MAX = 4096
#: Most distinct action sets whose parsed action examples a policy keeps for predictions.
_PARSED_MAX = 256


def _name(name: str) -> str:
    """Make a feature name safe for VW's text format (no spaces, colons or bars).

    Remembered: the same few hundred names recur on every example, in serving and
    training. A plain dict, not ``lru_cache``: a hit is a tenth of the work.
    """
    safe = _SAFE_NAMES.get(name)
    if safe is None:
        if len(_SAFE_NAMES) >= _NAMES_MAX:
            _SAFE_NAMES.clear()
        safe = _SAFE_NAMES[name] = _UNSAFE.sub("_", name)
    return safe


_SAFE_NAMES: dict[str, str] = {}
_NAMES_MAX = 65536


def _value(value: float) -> str:
    return f"{value:.6g}"


#: Key of the shared line among a ``Features``' renderings. Bump the number whenever
#: :func:`render_shared_line`'s output changes: renderings stored in the old format are
#: then ignored and rendered afresh (``tests/bandit/test_vw.py`` pins the format).
SHARED_LINE_FORMAT = "vw-shared/1"


def shared_line(features: Features) -> str:
    """The shared (context) line of a multi-line example, rendered once per decision.

    The first render is kept in ``features.renderings`` and logged with the decision, so
    the online learner, offline training and exports read back the very text the policy
    scored (rendering is the bulk of turning a logged row into a VW example).
    """
    line = features.renderings.get(SHARED_LINE_FORMAT)
    if line is None:
        line = render_shared_line(features)
        features.renderings[SHARED_LINE_FORMAT] = line
    return line


def render_shared_line(features: Features) -> str:
    """Render the shared line from the named features, namespace by namespace."""
    namespaces = features.namespaces
    if type(namespaces) is ContextNamespaces:
        return _render_from_context(namespaces)
    segments = ["shared"]
    for namespace, values in namespaces.items():
        segment = _remembered(namespace, values)
        if segment:
            segments.append(segment)
    return " ".join(segments)


def _render_from_context(source: ContextNamespaces) -> str:
    """:func:`render_shared_line` of freshly extracted features, without building their mapping.

    Each namespace comes from its own builder in ``features.extract``, in the order
    ``context_features`` lists them, and the account's three features are written in one
    step. That is most of the work of a decision's features; ``test_vw`` pins this to
    the generic rendering for any context and history.
    """
    context = source.context
    segments = (
        "shared",
        _remembered("moment", moment_namespace(source.moment)),
        _segment("intent", source.intents),
        _remembered("activity", activity_namespace(context.activity)),
        _segment("account", account_namespace(context.account)),
        _remembered("placement", placement_namespace(context.placement)),
        _remembered("client", client_namespace(context)),
        _remembered("history", history_namespace(source.history)),
    )
    return " ".join(filter(None, segments))  # empty segments left out, in C


def _token(name: str, value: float) -> str:
    """One feature of a safe name as :func:`_segment` writes it (nothing when it is zero)."""
    if value == 1.0:
        return name
    return f"{name}:{value:.6g}" if value else ""


def _remembered(namespace: str, values: Mapping[str, float]) -> str:
    """:func:`_segment`, remembered by a namespace that many decisions share."""
    if type(values) is not SharedNamespace:
        return _segment(namespace, values)
    segment = values.renderings.get(SHARED_LINE_FORMAT)
    if segment is None:
        segment = values.renderings[SHARED_LINE_FORMAT] = _segment(namespace, values)
    return segment


def _segment(namespace: str, values: Mapping[str, float]) -> str:
    """``|L name name:value ...``, names sorted, zeros left out; empty if nothing is left."""
    body = _features(values)
    return f"|{NAMESPACE_LETTERS.get(namespace, 'C')} {body}" if body else ""


def _features(values: Mapping[str, float]) -> str:
    """``name name:value ...``: names sorted, a value of 1 left implicit, zeros left out."""
    return " ".join(
        [_name(k) if v == 1.0 else f"{_name(k)}:{v:.6g}" for k, v in sorted(values.items()) if v]
    )


def offer_line(offer: Offer | None, offer_id: str, level: int | None = None) -> str:
    """The action line of one offer; an offer no longer in the catalog is described by id."""
    if offer is None:
        return f"|{OFFER_LETTER} id={_name(offer_id)}"
    intents = " ".join(f"intent={_name(i)}" for i in sorted(offer.intents))
    return (
        f"|{OFFER_LETTER} id={_name(offer.id)} format={_name(offer.format)} level={level} "
        f"ambition={offer.ambition.value} {intents}"
    )


def experience_segment(features: Features, offer_id: str) -> str:
    """`` |E shown:0.69 ...``: this user's experience of the offer, or nothing if none."""
    body = _features(features.offers.get(offer_id, {}))
    return f" |{EXPERIENCE_LETTER} {body}" if body else ""


def _experienced(features: Features, actions: tuple[str, ...]) -> bool:
    """Whether any of these actions carries the user's experience (most decisions: none)."""
    offers = features.offers
    return bool(offers) and any(action in offers for action in actions)


def vw_arguments(settings: PolicySettings, cost_range: tuple[float, float]) -> str:
    """The VW command line for a policy's settings."""
    exploration = {
        "epsilon": f"--epsilon {settings.epsilon}",
        "softmax": f"--softmax --lambda {settings.softmax_lambda}",
        "bag": f"--bag {settings.bag} --epsilon {settings.epsilon}",
        "cover": f"--cover {settings.cover}",
        "regcb": "--regcbopt",
        "squarecb": f"--squarecb --gamma_scale {settings.squarecb_gamma_scale}",
    }[settings.exploration]
    low, high = cost_range
    args = [
        "--cb_explore_adf",
        exploration,
        f"--cb_type {settings.cb_type}",
        f"-b {settings.bits}",
        f"-l {settings.learning_rate}",
        f"--power_t {settings.power_t}",
        f"--random_seed {settings.seed}",
        *(f"-q {pair}" for pair in settings.interactions if len(pair) == 2),
        *(f"--cubic {triple}" for triple in settings.interactions if len(triple) == 3),
        "--quiet",
    ]
    if settings.exploration in ("regcb", "squarecb"):
        args.append(f"--cb_min_cost {low} --cb_max_cost {high}")
    return " ".join(args)


class VWPolicy(Policy):
    """Contextual bandit over eligible offers with VW's ``cb_explore_adf``.

    Parameters
    ----------
    settings:
        Exploration and learning settings (see :class:`bandit.config.PolicySettings`).
    cost_range:
        Smallest and largest cost (``-reward``) an outcome can have; RegCB and
        SquareCB need it to scale their confidence bounds.
    catalog:
        Describes offers by format, ambition and intents, so what is learned about
        one offer generalises to similar ones.
    """

    kind: ClassVar[str] = "vw"
    needs_catalog: ClassVar[bool] = True

    def __init__(
        self,
        settings: PolicySettings | Mapping[str, Any] | None = None,
        cost_range: tuple[float, float] | list[float] = (-1.0, 1.0),
        catalog: Catalog | None = None,
    ) -> None:
        super().__init__()
        self.settings = PolicySettings.model_validate(settings or {})
        self.cost_range = (float(cost_range[0]), float(cost_range[1]))
        self.catalog = catalog
        # Re-entrant: the catalog check inside a prediction may release examples under it.
        self._lock = threading.RLock()
        self._workspace = vowpalwabbit.Workspace(self.arguments)
        self._lines: dict[str, str] = {}
        self._blocks: dict[tuple[str, ...], str] = {}
        self._labelled: dict[tuple[tuple[str, ...], int], tuple[str, str, str]] = {}
        #: Parsed, never finished action examples of the current workspace (see _predict).
        self._parsed: dict[tuple[str, ...], list[Any]] = {}
        self._lines_version: str | None = None

    @property
    def arguments(self) -> str:
        """The VW command line this policy runs with."""
        return vw_arguments(self.settings, self.cost_range)

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (the catalog is bound at load time, not saved)."""
        return {"settings": self.settings.model_dump(), "cost_range": list(self.cost_range)}

    def _fresh(self) -> None:
        """Forget cached action lines when the catalog has changed."""
        version = self.catalog.version if self.catalog is not None else None
        if version != self._lines_version:
            with self._lock:
                self._release_parsed()
                self._lines, self._lines_version = {}, version
                self._blocks, self._labelled = {}, {}

    def _action_block(self, actions: tuple[str, ...]) -> str:
        """The unlabelled action lines of an example, joined; the same few sets recur."""
        self._fresh()
        block = self._blocks.get(actions)
        if block is None:
            block = "\n".join(self._action_line(action) for action in actions)
            if len(self._blocks) >= _BLOCKS_MAX:
                self._blocks.clear()
            self._blocks[actions] = block
        return block

    def _action_line(self, offer_id: str) -> str:
        """Per-offer lines are built once per catalog version, then reused."""
        self._fresh()
        line = self._lines.get(offer_id)
        if line is None:
            offer = None
            level = None
            if self.catalog is not None and offer_id in self.catalog:
                offer = self.catalog[offer_id]
                level = self.catalog.level(offer)
            line = offer_line(offer, offer_id, level)
            self._lines[offer_id] = line
        return line

    def examples(
        self,
        features: Features,
        actions: tuple[str, ...],
        label: tuple[int, float, float] | None = None,
    ) -> list[str]:
        """The multi-line VW example; ``label`` is (chosen index, cost, probability)."""
        lines = [
            shared_line(features),
            *(
                self._action_line(action) + experience_segment(features, action)
                for action in actions
            ),
        ]
        if label is not None:
            chosen, cost, probability = label
            lines[chosen + 1] = f"0:{_value(cost)}:{_value(probability)} {lines[chosen + 1]}"
        return lines

    def example_text(
        self,
        features: Features,
        actions: tuple[str, ...],
        label: tuple[int, float, float] | None = None,
    ) -> str:
        """:meth:`examples` as one newline-joined string: what VW parses, built in few steps."""
        if _experienced(features, actions):
            return "\n".join(self.examples(features, actions, label))
        if label is None:
            return f"{shared_line(features)}\n{self._action_block(actions)}"
        chosen, cost, probability = label
        before, line, after = self._labelled_block(actions, chosen)
        # The label's numbers exactly as _value writes them, inlined: once per training row.
        return f"{shared_line(features)}\n{before}0:{cost:.6g}:{probability:.6g} {line}{after}"

    def labelled_texts(
        self, examples: Iterable[tuple[Features, tuple[str, ...], tuple[int, float, float]]]
    ) -> Iterator[str]:
        """:meth:`example_text` of many labelled examples: a training file's loop.

        The same text, with the per-call catalog check made once and the lookups bound
        locally, since this runs once per logged row.
        """
        self._fresh()
        cached = self._labelled
        for features, actions, (chosen, cost, probability) in examples:
            if _experienced(features, actions):
                yield self.example_text(features, actions, (chosen, cost, probability))
                continue
            shared = features.renderings.get(SHARED_LINE_FORMAT) or shared_line(features)
            parts = cached.get((actions, chosen)) or self._labelled_block(actions, chosen)
            before, line, after = parts
            yield f"{shared}\n{before}0:{cost:.6g}:{probability:.6g} {line}{after}"

    def _labelled_block(self, actions: tuple[str, ...], chosen: int) -> tuple[str, str, str]:
        """The action lines around the chosen one (which takes the label), joined and cached."""
        self._fresh()
        key = (actions, chosen)
        parts = self._labelled.get(key)
        if parts is None:
            lines = [self._action_line(action) for action in actions]
            before = "".join(f"{line}\n" for line in lines[:chosen])
            after = "".join(f"\n{line}" for line in lines[chosen + 1 :])
            parts = (before, lines[chosen], after)
            if len(self._labelled) >= _BLOCKS_MAX:
                self._labelled.clear()
            self._labelled[key] = parts
        return parts

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[Weights, Weights]:
        if len(actions) == 1:
            shared_line(features)  # not needed to decide, but logged: the learner reads it
            return _CERTAIN, _CERTAIN
        if _experienced(features, actions):
            pmf = self._native(self.example_text(features, actions), learn=False)
        else:
            pmf = self._predict(shared_line(features), actions)
        if self.settings.exploration == "regcb":
            # RegCB-Opt marks every action tied at the optimistic bound with 1: split evenly.
            total = math.fsum(pmf)
            pmf = [p / total for p in pmf]
        return pmf, pmf

    def _learn(
        self,
        features: Features,
        actions: tuple[str, ...],
        chosen: int,
        probability: float,
        reward: float,
    ) -> None:
        if len(actions) == 1 and not self.settings.learn_lone_decisions:
            return  # nothing to choose between (see PolicySettings.learn_lone_decisions)
        label = (chosen, -reward, probability)
        self._native(self.example_text(features, actions, label), learn=True)

    def _native(self, text: str, *, learn: bool) -> list[float]:
        """Parse one multi-line example, then predict or learn, and return the action probabilities.

        The same native calls ``Workspace.predict`` and ``Workspace.learn`` make, without
        their Python ``Example`` wrapper per line, which costs three times the native work
        on a decision's few lines. ``tests/bandit/test_vw_native.py`` pins this path to
        ``Workspace.predict`` and ``Workspace.learn`` so a VW upgrade cannot drift silently.
        """
        with self._lock:
            return self._native_locked(text, learn)

    def _native_locked(self, text: str, learn: bool) -> list[float]:
        """:meth:`_native` for a caller that holds the lock already."""
        workspace = self._workspace
        parsed = workspace._parse(text)
        try:
            if learn:
                pylibvw.vw.learn_multi(workspace, parsed)
            else:
                pylibvw.vw.predict_multi(workspace, parsed)
            scores: list[float] = parsed[0].get_action_scores()
        finally:
            pylibvw.vw._finish_example_multi_ex(workspace, parsed)
        return scores

    def _predict(self, shared: str, actions: tuple[str, ...]) -> list[float]:
        """VW's probabilities for one decision, parsing only its shared line.

        An action's line depends only on the catalog, so its parsed example is kept and
        passed to VW again on every decision with that action set; only the shared
        example is parsed, and finished, each time. VW allows predicting more than once
        on an example not yet finished, and restores action examples after merging the
        shared features in. That saves about a third of VW's native work per decision.
        Learning parses the labelled text afresh (:meth:`_native`). ``test_vw_native``
        pins this path to ``Workspace.predict`` on the full text, with learning in between,
        for every exploration algorithm.
        """
        self._fresh()
        with self._lock:
            workspace = self._workspace
            parsed = self._parsed.get(actions)
            if parsed is None:
                if len(self._parsed) >= _PARSED_MAX:  # an unusual catalog: parse it all
                    return self._native_locked(f"{shared}\n{self._action_block(actions)}", False)
                parsed = self._parsed[actions] = workspace._parse(self._action_block(actions))
            example = workspace._parse(shared)
            try:
                pylibvw.vw.predict_multi(workspace, example + parsed)
                scores: list[float] = example[0].get_action_scores()
            finally:
                pylibvw.vw._finish_example_multi_ex(workspace, example)
        return scores

    def fit_file(self, path: Path, passes: int = 1) -> VWPolicy:
        """Train from a file of labelled multi-line examples with VW's own driver loop.

        Much faster than one ``learn`` call per example from Python; the file is what
        :meth:`examples` writes, one blank line between examples. Replaces the model.
        """
        args = [*self.arguments.split(), "--data", str(path), "--passes", str(passes)]
        if passes > 1:
            args += ["--cache_file", f"{path}.cache", "--kill_cache", "--holdout_off"]
        workspace = vowpalwabbit.Workspace(arg_list=args)
        workspace.run_parser()
        self._replace_workspace(workspace)
        return self

    def _replace_workspace(self, workspace: vowpalwabbit.Workspace) -> None:
        """Swap in a new model; the old one's parsed action examples go with it."""
        with self._lock:
            self._release_parsed()
            self._workspace.finish()
            self._workspace = workspace

    def __del__(self) -> None:
        # The kept action examples keep the whole workspace alive: hand them back first.
        with contextlib.suppress(Exception):  # at interpreter exit VW may be gone already
            self._release_parsed()

    def _release_parsed(self) -> None:
        """Hand the kept action examples back to VW, which would otherwise never free them.

        Each set goes back the way VW finishes any multi-line example: behind a shared
        example, after a prediction. Finishing action examples on their own makes VW
        read a prediction that only a shared example holds, and crashes it at random.
        """
        parsed, self._parsed = self._parsed, {}
        workspace = self._workspace
        for examples in parsed.values():
            batch = workspace._parse("shared |") + examples
            pylibvw.vw.predict_multi(workspace, batch)
            pylibvw.vw._finish_example_multi_ex(workspace, batch)

    def _save_state(self, directory: Path) -> None:
        with self._lock:
            self._workspace.save(str(directory / MODEL_FILE))
        digest = hashlib.sha256((directory / MODEL_FILE).read_bytes()).hexdigest()
        (directory / DIGEST_FILE).write_text(digest + "\n")

    def _load_state(self, directory: Path) -> None:
        model = directory / MODEL_FILE
        if not model.is_file():
            raise ValueError(f"missing {MODEL_FILE}")
        # VW reads a truncated model without complaint and decides differently; the digest won't.
        expected = (directory / DIGEST_FILE).read_text().strip()
        if hashlib.sha256(model.read_bytes()).hexdigest() != expected:
            raise ValueError(f"{MODEL_FILE} does not match {DIGEST_FILE}: truncated or altered")
        try:
            # A list, not a string: VW splits a string on spaces, and paths may contain them.
            workspace = vowpalwabbit.Workspace(arg_list=["--quiet", "-i", str(model)])
        except RuntimeError as exc:
            raise ValueError(f"{MODEL_FILE} is not a readable VW model: {exc}") from exc
        self._replace_workspace(workspace)


# --- Decision Service JSON (DSJSON) export ---------------------------------------------------

#: The DSJSON schema version VW's ``--dsjson`` reader and the Decision Service write.
DSJSON_VERSION = "1"
#: VW's JSON reader treats keys starting with this as metadata, never as features.
_JSON_RESERVED = "_"


def text_namespaces(line: str) -> dict[str, dict[str, float]]:
    """The namespaces of one line of VW text, as ``{letter: {feature: value}}``.

    DSJSON features are read back from the very text lines the policy learns from,
    so an export cannot drift from :func:`shared_line` and :func:`offer_line`:
    names are already sanitised (no spaces, colons or bars) and values already
    rounded exactly as VW sees them. Two groups with one letter merge, as VW does.
    """
    namespaces: dict[str, dict[str, float]] = {}
    for group in line.split("|")[1:]:
        letter, *tokens = group.split()
        values = namespaces.setdefault(letter, {})
        for token in tokens:
            name, _, value = token.partition(":")
            if name.startswith(_JSON_RESERVED):
                raise ValueError(f"feature {name!r}: VW's JSON reader would drop it silently")
            values[name] = float(value) if value else 1.0
    return namespaces


def _action_namespaces(
    catalog: Catalog | None, offer_id: str, features: Features
) -> dict[str, dict[str, float]]:
    """One action's features, exactly as ``VWPolicy`` describes it: the catalog's view of
    the offer, and the user's experience of it."""
    experience = experience_segment(features, offer_id)
    if catalog is not None and offer_id in catalog:
        offer = catalog[offer_id]
        return text_namespaces(offer_line(offer, offer_id, catalog.level(offer)) + experience)
    return text_namespaces(offer_line(None, offer_id) + experience)


def _rounded(value: float) -> float:
    """A label number rounded as the text format writes it, so both formats teach the same."""
    return float(_value(value))


def _timestamp(at: datetime) -> str:
    """UTC in the Decision Service's ``...Z`` form."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dsjson_ranking(chosen: int, n_actions: int) -> list[int]:
    """DSJSON's ``a``: 1-based action ids, the chosen one first, then the rest in logged order."""
    return [chosen + 1, *(i + 1 for i in range(n_actions) if i != chosen)]


def dsjson_record(
    decision: Decision,
    reward: float | None,
    catalog: Catalog | None,
    *,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The DSJSON object of one closed decision (see :func:`dsjson_line`)."""
    actions = decision.actions
    chosen = decision.chosen_index
    ranking = dsjson_ranking(chosen, len(actions))
    probabilities = [_rounded(decision.pmf[actions[i - 1]]) for i in ranking]
    record: dict[str, Any] = {}
    if reward is None:
        record["_skipLearn"] = True
    else:
        record["_label_cost"] = _rounded(-reward)
        record["_label_probability"] = probabilities[0]
        record["_label_Action"] = chosen + 1
        record["_labelIndex"] = chosen
    if timestamp is not None:
        record["Timestamp"] = _timestamp(timestamp)
    shared: dict[str, Any] = dict(text_namespaces(shared_line(decision.features)))
    shared["_multi"] = [
        _action_namespaces(catalog, action, decision.features) for action in actions
    ]
    record.update(
        {
            "Version": DSJSON_VERSION,
            "EventId": decision.decision_id,
            "a": ranking,
            "c": shared,
            "p": probabilities,
            "VWState": {"m": decision.policy_version},
        }
    )
    return record


def dsjson_line(
    decision: Decision,
    reward: float | None,
    catalog: Catalog | None,
    *,
    timestamp: datetime | None = None,
) -> str:
    """One line of Decision Service JSON, as VW's ``--dsjson --cb_explore_adf`` reads it.

    VW's own tools (and anyone else's) can then train, evaluate off-policy or audit
    from tactful's log. The features are those :class:`VWPolicy` learns from:
    ``c`` holds the shared namespaces, ``_multi`` one object per eligible action in
    logged order. The label follows the policy's convention (``cost = -reward``,
    ``_labelIndex`` 0-based, ``_label_Action`` 1-based); ``a`` and ``p`` list the
    actions chosen-first with their probabilities, as the Decision Service does.

    A decision without a reward (its offer was never shown) carries no label but
    ``"_skipLearn": true``: VW learns nothing from it, as the learner does, while
    the log stays complete. Only features leave: no user key, session or raw context.
    """
    record = dsjson_record(decision, reward, catalog, timestamp=timestamp)
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# --- Reading DSJSON back (training from an exported file) ------------------------------------

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
    """The shared namespaces of ``c`` as :class:`Features`, inverting :func:`shared_line`.

    Letters map back through :data:`NAMESPACE_LETTERS` (``C`` to ``client``: an
    unknown namespace, which :func:`shared_line` also writes as ``C``, merges into
    it, as VW merges it). Feature names are the sanitised ones (:func:`_name`): an
    intent logged as ``limit_reached:storage`` comes back as
    ``limit_reached_storage``. That is the name VW learned, so training is
    unaffected, but the original spelling is not recoverable. Features whose value
    was 0 were never written and do not come back (they are absent in VW as well).
    """
    namespaces: dict[str, dict[str, float]] = {}
    for letter, values in context.items():
        if letter == "_multi":
            continue
        if letter.startswith(_JSON_RESERVED):
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
