"""Models and checkpoints as the learner scenarios see them.

Exactly-once learning is checked by replay: a fresh policy taught every finished
decision of the log once, in ``seq`` order, must predict what the served model
predicts. Checkpoints are read straight from the table, and each is judged sound
or refused by the same checksum and trial the service applies.
"""

from __future__ import annotations

import io
import json
import random
import uuid
import zipfile
from datetime import timedelta

from sqlalchemy import func, select, update

from bandit.artifact import dump_policy, load_policy
from bandit.catalog import NO_OFFER
from bandit.config import TactfulConfig
from bandit.decider import Decider
from bandit.errors import IncompatibleModel
from bandit.factory import make_policy
from bandit.policy import Policy
from bandit.reward import EventKind
from bandit.rules import Eligibility
from bandit.storage import SqlStore, checksum
from bandit.storage.tables import checkpoints as checkpoints_table
from bandit.storage.tables import decisions as decisions_table
from bandit.storage.tables import leases as leases_table
from bench.reliability.harness.traffic import CONTEXTS
from features import SessionContext, extract


def no_settle() -> timedelta:
    """No settling: the log is written and closed before anyone reads it."""
    return timedelta(0)


def populate(store: SqlStore, config: TactfulConfig, count: int, seed: int = 3) -> int:
    """Write ``count`` decisions with events through the real decider, then close every window.

    Returns how many finished decisions carry a reward (what a learner must learn).
    """
    rng = random.Random(seed)
    decider = Decider(config, make_policy(config), store.respect)
    for n in range(count):
        user = f"learn-{n // 3}"
        context = SessionContext.model_validate(rng.choice(CONTEXTS))
        decision = decider.decide(user, f"s-{n}", context)
        if decision.offer_id is not None:
            store.outcomes.record_event(decision.decision_id, EventKind.SHOWN)
            roll = rng.random()
            if roll < 0.35:
                store.outcomes.record_event(decision.decision_id, EventKind.ACCEPTED)
            elif roll < 0.6:
                store.outcomes.record_event(decision.decision_id, EventKind.DISMISSED)
    store.outcomes.close_windows(force=True)
    return rewarded(store, 10 * count + 10)


def rewarded(store: SqlStore, limit: int) -> int:
    """Finished decisions that carry a reward: what a learner of the whole log learns."""
    return sum(
        1 for f in store.log.finished(0, limit=limit, settle=no_settle()) if f.reward is not None
    )


def replay(store: SqlStore, config: TactfulConfig, limit: int) -> tuple[Policy, int]:
    """A fresh policy taught the whole log once, in order, uninterrupted; and its count."""
    policy = make_policy(config)
    learned = 0
    for finished in store.log.finished(0, limit=limit, settle=no_settle()):
        if finished.reward is not None:
            policy.learn(finished.decision, finished.reward)
            learned += 1
    return policy, learned


def last_checkpoint(store: SqlStore) -> tuple[int, int]:
    """The newest checkpoint's id and log position, without reading its model bytes."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(checkpoints_table.c.id, checkpoints_table.c.last_seq)
            .order_by(checkpoints_table.c.id.desc())
            .limit(1)
        ).first()
    return (0, 0) if row is None else (int(row.id), int(row.last_seq))


def probes() -> list[SessionContext]:
    """Contexts to compare two models on: every client context plus a few quiet ones."""
    quiet = [
        {"placement": "editor"},
        {"placement": "editor", "signals": [{"kind": "task_completed", "seconds_ago": 60}]},
        {
            "placement": "editor",
            "signals": [
                {"kind": "limit_reached", "limit": "storage", "usage": 0.9, "seconds_ago": 1}
            ],
            "activity": {"focus_heavy": False, "stage": "completed"},
        },
    ]
    return [SessionContext.model_validate(c) for c in (*CONTEXTS, *quiet)]


def model_gap(a: Policy, b: Policy, config: TactfulConfig) -> tuple[float, float]:
    """Largest |Δp| and |Δscore| between two models over the probes, all actions eligible."""
    actions = (NO_OFFER, *config.catalog().offers)
    gap_p = gap_s = 0.0
    for context in probes():
        features = extract(context)
        pa, sa = a._pmf(features, actions)
        pb, sb = b._pmf(features, actions)
        gap_p = max(gap_p, max(abs(float(x) - float(y)) for x, y in zip(pa, pb, strict=True)))
        gap_s = max(gap_s, max(abs(float(x) - float(y)) for x, y in zip(sa, sb, strict=True)))
    return gap_p, gap_s


def good_checkpoint(config: TactfulConfig, rng: random.Random) -> tuple[str, bytes]:
    """A sound model: fresh, taught a few outcomes, serialised."""
    policy = make_policy(config)
    actions = (NO_OFFER, *config.catalog().offers)
    for n in range(rng.randint(1, 20)):
        features = extract(SessionContext.model_validate(rng.choice(CONTEXTS)))
        decision = policy.decide(features, Eligibility(actions), decision_id=f"swap-{n}")
        policy.learn(decision, rng.choice((0.0, 1.0, -0.1)))
    return policy.version, dump_policy(policy)


def incompatible_checkpoint() -> tuple[str, bytes]:
    """A valid zip whose policy.json names a policy kind no one knows."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        meta = {"kind": "quantum", "params": {}, "n_learned": 0, "model_id": uuid.uuid4().hex[:8]}
        archive.writestr("policy.json", json.dumps(meta))
    return f"quantum-{meta['model_id']}+0", buffer.getvalue()


def unsound_checkpoints(store: SqlStore, config: TactfulConfig) -> dict[int, str]:
    """Every stored checkpoint the service would refuse, by id, with its version.

    Judged as :meth:`serving.service.Service.verified` does: the checksum, then loading
    the model against the catalog and one prediction over every action.
    """
    catalog = config.catalog()
    actions = (NO_OFFER, *catalog.offers)
    features = extract(SessionContext(placement="trial"))
    refused: dict[int, str] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(select(checkpoints_table).order_by(checkpoints_table.c.id)).all()
    for row in rows:
        data = bytes(row.data)
        try:
            if checksum(data) != row.checksum:
                raise IncompatibleModel("checksum mismatch")
            load_policy(data, catalog).decide(features, Eligibility(actions), decision_id="t")
        except Exception:
            refused[int(row.id)] = str(row.version)
    return refused


def plant_unsound_checkpoint(store: SqlStore, config: TactfulConfig, rng: random.Random) -> str:
    """Store a real model whose checksum does not match, at the log's end; return its version.

    The model itself loads and predicts, so only the checksum can refuse it: were it
    served, decisions would carry its version; were it resumed from, the learner would
    skip the whole log.
    """
    version, data = good_checkpoint(config, rng)
    with store.engine.connect() as conn:
        end = conn.execute(select(func.max(decisions_table.c.seq))).scalar_one_or_none()
    saved = store.models.save_checkpoint(version, int(end or 0), data)
    with store.engine.begin() as conn:
        conn.execute(
            update(checkpoints_table)
            .where(checkpoints_table.c.id == saved.id)
            .values(checksum="0" * 64)
        )
    return version


def lease_holder(store: SqlStore, name: str = "learner") -> int | None:
    """The process id of the learner lease's holder, as its holder name records it."""
    with store.engine.connect() as conn:
        holder = conn.execute(
            select(leases_table.c.holder).where(leases_table.c.name == name)
        ).scalar_one_or_none()
    if holder is None:
        return None
    return int(str(holder).split(":")[-2])
