"""One TOML file declares a deployment: formats, offers, respect rules, rewards, policy.

Loading is all-or-nothing: every problem in the file is collected (schema errors,
unknown formats, dark patterns) and reported at once with the file, the line
where we can find it, the offer id and the reason. A half-valid catalog never loads.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bandit.catalog import NO_OFFER, Catalog, Offer
from bandit.errors import ConfigError, Problem
from bandit.lint import lint_offer
from bandit.toml_lines import field_lines, line_of_field

#: The longest rest any cooldown asks for: longer is as good as forever, and would overflow dates.
MAX_COOLDOWN = timedelta(days=365 * 100)

Level = Annotated[int, Field(ge=0, le=10)]
Bar = Annotated[float, Field(gt=0.0, le=1.0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def relevance_bar(bars: Sequence[float], level: int) -> float:
    """The bar for a format level: its own, or the last one for levels beyond the list."""
    return bars[min(level, len(bars) - 1)]


class RespectRules(_Section):
    """Hard limits on when offers may appear. Exploration never crosses them."""

    focus_max_level: Level = Field(
        default=0, description="Most interruptive format level allowed during focus-heavy work."
    )
    relevance_bars: list[Bar] = Field(
        default_factory=lambda: [0.2, 0.4, 0.6, 0.85],
        min_length=1,
        description="Minimum intent adjacency by format level; the last bar covers higher levels.",
    )
    offer_cooldown_hours: float = Field(default=72.0, gt=0.0)
    cooldown_escalation: float = Field(default=2.0, ge=1.0, le=10.0)
    retire_after_dismissals: int = Field(default=3, ge=1)
    global_cooldown_minutes: float = Field(default=30.0, ge=0.0)
    max_per_session: int = Field(default=1, ge=0)
    max_per_day: int = Field(default=2, ge=0)
    max_per_week: int = Field(default=5, ge=0)

    @field_validator("relevance_bars")
    @classmethod
    def _rising(cls, bars: list[float]) -> list[float]:
        if any(later < earlier for earlier, later in itertools.pairwise(bars)):
            raise ValueError("relevance bars must not fall as formats get more interruptive")
        return bars

    def bar(self, level: int) -> float:
        """The relevance bar an offer of this format level must meet."""
        return relevance_bar(self.relevance_bars, level)

    def offer_cooldown(self, dismissals: int) -> timedelta:
        """Cooldown after the n-th dismissal of one offer: escalates with each "Not now"."""
        try:
            hours = self.offer_cooldown_hours * self.cooldown_escalation ** max(dismissals - 1, 0)
        except OverflowError:
            return MAX_COOLDOWN
        return timedelta(hours=min(hours, MAX_COOLDOWN / timedelta(hours=1)))

    @property
    def global_cooldown(self) -> timedelta:
        """Quiet time for every offer after any dismissal."""
        minutes = min(self.global_cooldown_minutes, MAX_COOLDOWN / timedelta(minutes=1))
        return timedelta(minutes=minutes)


class RewardMapping(_Section):
    """How events inside a decision's reward window become one number.

    ``shown`` has no entry: being shown is not an outcome, only what makes the
    default reward apply (a decision never shown is not learned from).
    """

    accepted: float = 1.0
    converted: float = 1.0
    converted_value_weight: float = Field(
        default=0.0, ge=0.0, description="Reward per unit of conversion value (e.g. revenue)."
    )
    dismissed: float = -0.1
    opted_out: float = -1.0
    default: float = Field(default=0.0, description="Reward when the window closes with no event.")
    window_seconds: float = Field(default=600.0, gt=0.0)
    aggregation: Literal["sum", "earliest"] = "sum"

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest reward one decision can earn (ignoring conversion value)."""
        terms = [self.accepted, self.converted, self.dismissed, self.opted_out]
        low = (
            min(self.default, *terms)
            if self.aggregation == "earliest"
            else min(self.default, sum(t for t in terms if t < 0))
        )
        high = (
            max(self.default, *terms)
            if self.aggregation == "earliest"
            else max(self.default, sum(t for t in terms if t > 0))
        )
        return low, high


Exploration = Literal["epsilon", "softmax", "bag", "cover", "regcb", "squarecb"]
#: The ``cb_type`` values VW refuses for an exploration, and why.
_REFUSED_CB_TYPES: dict[str, dict[str, str]] = {
    "squarecb": dict.fromkeys(
        ("ips", "dm", "dr"), "SquareCB explores from regression estimates, use 'mtr'"
    ),
    "cover": {"dm": "cover needs unbiased estimates, use 'ips', 'dr' or 'mtr'"},
}


class PolicySettings(_Section):
    """Learning and exploration settings of the Vowpal Wabbit policy.

    The default is epsilon-greedy at 0.05, not learning decisions where "no offer" was the
    only eligible action. It was chosen on the learning benchmark (``python -m
    bench.learning --skip-supervised --alternatives``: 20 simulated populations in each
    of two regimes, every setting paired by seed with common random numbers). Its lead in
    reward, mean [95% interval], in the demo's regime and in a steady stream of users:

    * over SquareCB at a gamma scale of 100, learning every decision (the former default):
      +31 [+18, +45] and +76 [+38, +113]. SquareCB's greediness grows with the square
      root of the examples learned; it turned greedy within the first simulated day and
      then flipped between offers on noise. At a scale of 10: +6 [-2, +13] and
      +4 [-7, +14], a tie at best.
    * over epsilon 0.02 and 0.1: +7 [+1, +14] and +10 [-1, +21]; +5 [-1, +11] and
      +8 [-3, +18]. The respect rules already keep every exploratory offer relevant,
      timely and rare, so exploring costs little and learning gains much.
    * over learning lone decisions too: +6 [+0, +11] and +7 [-5, +19]. About three
      decisions in four have no offer left after the rules; learning them teaches only
      the value of "no offer" where nothing else was possible, and for SquareCB it
      advances the clock that makes it greedy.

    Lower ``epsilon`` to ask less; explorations that VW supports are all available.
    """

    exploration: Exploration = "epsilon"
    epsilon: float = Field(default=0.05, ge=0.0, le=1.0)
    softmax_lambda: float = Field(default=10.0, gt=0.0)
    bag: int = Field(default=5, ge=2, le=64)
    cover: int = Field(default=4, ge=1, le=64)
    squarecb_gamma_scale: float = Field(
        default=100.0,
        gt=0.0,
        description="SquareCB's greediness: higher exploits sooner, lower explores more.",
    )
    interactions: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}$")]] = Field(
        default_factory=lambda: ["MO", "IO", "TO", "AO", "HO", "PO", "CO"],
        description="VW namespace interactions, by first letter (O is the offer).",
    )
    learning_rate: float = Field(default=0.5, gt=0.0, le=100.0)
    power_t: float = Field(default=0.5, ge=0.0, le=1.0)
    cb_type: Literal["ips", "dm", "dr", "mtr"] = "mtr"
    learn_lone_decisions: bool = Field(
        default=False,
        description=(
            "Whether a decision whose only eligible action was 'no offer' is learned from. "
            "It teaches nothing about choosing, and SquareCB counts it towards its greediness."
        ),
    )
    bits: int = Field(default=18, ge=10, le=28)
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _learnable(self) -> Self:
        """Refuse pairs VW itself refuses, here, with the reason, not when the model starts."""
        refused = _REFUSED_CB_TYPES.get(self.exploration, {})
        if self.cb_type in refused:
            raise ValueError(
                f"{self.exploration} exploration cannot learn with cb_type {self.cb_type!r}: "
                f"{refused[self.cb_type]}"
            )
        return self


class TactfulConfig(_Section):
    """A whole deployment, validated."""

    formats: dict[Annotated[str, Field(min_length=1, max_length=32)], Level] = Field(
        default_factory=lambda: {"inline": 0, "post_action_summary": 1, "banner": 1, "modal": 3},
        description="Each format with its interruptiveness level (0 = least).",
    )
    rules: RespectRules = Field(default_factory=RespectRules)
    reward: RewardMapping = Field(default_factory=RewardMapping)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    offers: list[Offer] = Field(default_factory=list)

    def catalog(self) -> Catalog:
        """The offers as an immutable, versioned catalog."""
        return Catalog(self.offers, self.formats)


def _offer_id(raw: Mapping[str, Any], loc: tuple[int | str, ...]) -> str | None:
    """The id of the offer a validation error points into, if it has one."""
    if len(loc) < 2 or loc[0] != "offers" or not isinstance(loc[1], int):
        return None
    offers = raw.get("offers")
    if isinstance(offers, list) and loc[1] < len(offers) and isinstance(offers[loc[1]], dict):
        offer_id = offers[loc[1]].get("id")
        return offer_id if isinstance(offer_id, str) and offer_id else None
    return None


def _where(raw: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    """Name the place of an error the way a person reads the file: by offer id, then field."""
    if len(loc) >= 2 and loc[0] == "offers" and isinstance(loc[1], int):
        offer_id = _offer_id(raw, loc)
        label = f"offer {offer_id!r}" if offer_id else f"offer #{loc[1] + 1}"
        rest = ".".join(str(part) for part in loc[2:])
        return label + (f" {rest}" if rest else "")
    return ".".join(str(part) for part in loc) or "file"


def _line_of(text: str, offer_id: str | None) -> int | None:
    """Best-effort line of an offer's ``id = "..."`` in the TOML source."""
    if not offer_id:
        return None
    pattern = re.compile(rf"""^\s*id\s*=\s*["']{re.escape(offer_id)}["']""")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _semantic_problems(
    config: TactfulConfig, text: str, positions: Sequence[int] | None = None
) -> list[Problem]:
    """Cross-field checks and the dark-pattern lint, for every offer.

    ``positions`` are the offers' places in the file (when some were left out); a
    finding about one field is reported at that field's line.
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    lines = field_lines(text)
    for index, offer in enumerate(config.offers):
        where = f"offer {offer.id!r}"
        line = _line_of(text, offer.id)
        at = positions[index] if positions is not None else index
        if offer.id == NO_OFFER:
            problems.append(
                Problem(where, f"the id {NO_OFFER!r} is reserved for showing nothing", line)
            )
        if offer.id in seen:
            problems.append(Problem(where, "duplicate offer id", line))
        seen.add(offer.id)
        if offer.format not in config.formats:
            known = ", ".join(sorted(config.formats))
            problems.append(
                Problem(where, f"unknown format {offer.format!r} (known: {known})", line)
            )
        for finding in lint_offer(offer):
            field_line = line_of_field(lines, at, tuple(finding.field.split(".")))
            problems.append(
                Problem(
                    f"{where} {finding.field}",
                    f"{finding.message} [rule: {finding.rule}]",
                    field_line or line,
                )
            )
    return problems


def _problems_of_valid_offers(raw: Mapping[str, Any], text: str) -> list[Problem]:
    """Semantic problems of the offers that do validate, when something else in the file does not.

    Without this, fixing a schema error would only reveal the dark patterns on the next load.
    """
    offers = raw.get("offers")
    if not isinstance(offers, list):
        return []
    valid: list[Any] = []
    positions: list[int] = []
    for position, item in enumerate(offers):
        try:
            Offer.model_validate(item)
        except ValidationError:
            continue
        valid.append(item)
        positions.append(position)
    partial = {"offers": valid} | ({"formats": raw["formats"]} if "formats" in raw else {})
    try:
        config = TactfulConfig.model_validate(partial)
    except ValidationError:
        return []
    return _semantic_problems(config, text, positions)


def parse_config(text: str, path: Path | str = "<config>") -> TactfulConfig:
    """Validate TOML text; raise :class:`ConfigError` listing every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # ``lineno`` exists from Python 3.14; before that the line is only in the message.
        line = getattr(exc, "lineno", None)
        if line is None and (found := re.search(r"at line (\d+)", str(exc))):
            line = int(found.group(1))
        raise ConfigError(path, [Problem("toml", str(exc), line)]) from None
    try:
        config = TactfulConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        lines = field_lines(text)
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            line = _line_of(text, _offer_id(raw, loc))
            if len(loc) > 2 and loc[0] == "offers" and isinstance(loc[1], int):
                field = tuple(part for part in loc[2:] if isinstance(part, str))
                line = line_of_field(lines, loc[1], field) or line
            problems.append(Problem(_where(raw, loc), error["msg"], line))
        problems.extend(_problems_of_valid_offers(raw, text))
        raise ConfigError(path, problems) from None
    problems = _semantic_problems(config, text)
    if problems:
        raise ConfigError(path, problems)
    return config


def load_config(path: Path | str) -> TactfulConfig:
    """Read and validate a config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [Problem("file", f"cannot read: {exc}")]) from None
    return parse_config(text, path)
