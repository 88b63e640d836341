"""The serving model, in-process on a SQLite file: the one place the serving policy changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bandit import Decider, TactfulConfig, make_policy
from bandit.artifact import dump_policy
from bandit.storage import SqlStore
from serving.metrics import Metrics
from serving.model import ForeignModel, ServingModel
from tests.builders import completed_upload


@pytest.fixture
def store(tmp_path: Path, config: TactfulConfig) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'model.db'}", config.reward)
    yield store
    store.close()


def test_with_no_checkpoint_a_fresh_policy_serves(store: SqlStore, config: TactfulConfig) -> None:
    model = ServingModel(config, store, Metrics())

    assert model.checkpoint_id is None
    assert model.policy.n_learned_ == 0


def test_the_latest_sound_checkpoint_serves_from_the_start(
    store: SqlStore, config: TactfulConfig
) -> None:
    policy = make_policy(config)
    saved = store.models.save_checkpoint(policy.version, 7, dump_policy(policy))

    model = ServingModel(config, store, Metrics())

    assert model.checkpoint_id == saved.id
    assert model.policy.version == policy.version


def test_a_corrupt_checkpoint_never_serves(store: SqlStore, config: TactfulConfig) -> None:
    policy = make_policy(config)
    store.models.save_checkpoint(policy.version, 3, dump_policy(policy))
    store.models.save_checkpoint("vw-corrupt+0", 5, b"not a policy archive")

    model = ServingModel(config, store, Metrics())
    reloaded = model.refresh()

    assert model.checkpoint_id is None  # a fresh policy, not the corrupt one nor an older one
    assert reloaded is False
    assert model.load() is None  # a new learner starts fresh: nothing of the log learned


def test_the_decider_decides_with_the_policy_swapped_in(
    store: SqlStore, config: TactfulConfig
) -> None:
    model = ServingModel(config, store, Metrics())
    decider = Decider(config, model, store.respect)
    replacement = make_policy(config)

    model.swap(replacement, None)
    decision = decider.decide("user", "session", completed_upload(), decision_id="after-swap")

    assert decider.policy is replacement
    assert decision.policy_version == replacement.version


def test_a_saved_checkpoint_becomes_the_serving_ones(
    store: SqlStore, config: TactfulConfig
) -> None:
    model = ServingModel(config, store, Metrics())

    saved = model.save(cursor=0)

    assert model.checkpoint_id == saved.id
    assert model.refresh() is False  # already serving the newest


def test_a_champion_of_another_database_is_refused_and_the_model_stays(
    store: SqlStore, config: TactfulConfig
) -> None:
    model = ServingModel(config, store, Metrics())
    serving = model.policy

    with pytest.raises(ForeignModel, match="trained on database elsewhere"):
        model.adopt(make_policy(config), "elsewhere")

    assert model.policy is serving


def test_a_champion_of_this_database_serves_unsaved_until_checkpointed(
    store: SqlStore, config: TactfulConfig
) -> None:
    model = ServingModel(config, store, Metrics())
    champion = make_policy(config)

    adopted = model.adopt(champion, store.database_id)
    again = model.adopt(champion, store.database_id)

    assert adopted is True
    assert again is False  # the same lineage is serving already
    assert model.policy is champion
    assert model.checkpoint_id is None
