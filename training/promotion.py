"""Moving the champion by hand: refuse a model trained on too little to mean anything.

The gate in :mod:`training.gate` guards automatic promotions; ``tactful promote``
bypasses it, so it checks the one thing a hand can easily miss: a version trained on
an empty or near-empty log (a typo'd database, a test run) would serve as champion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # MLflow takes seconds to import; the command line imports this module early
    from training.tracking import Tracking

#: Decisions a version must have been trained on before ``tactful promote`` accepts it.
MIN_TRAINING_DECISIONS = 100
#: The training-run metric that records how many decisions the candidate learned from.
TRAINED_ON_METRIC = "train_rows"


def trained_on(tracking: Tracking, version: str) -> int | None:
    """How many decisions ``version`` was trained on, or ``None`` when its run does not say."""
    from training.tracking import MODEL_NAME

    client = tracking.client()
    model_version = client.get_model_version(MODEL_NAME, version)  # raises if unknown
    if not model_version.run_id:
        return None
    value = client.get_run(model_version.run_id).data.metrics.get(TRAINED_ON_METRIC)
    return None if value is None else int(value)


def promotion_problem(version: str, trained: int | None, minimum: int) -> str | None:
    """Why ``version`` should not be promoted by hand, or ``None`` when it may be."""
    if trained is None:
        return f"version {version} does not record how many decisions it was trained on"
    if trained < minimum:
        return (
            f"version {version} was trained on {trained} decision(s), "
            f"fewer than the minimum of {minimum}"
        )
    return None
