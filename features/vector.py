"""Fixed-width numeric vectors for the numpy baselines and scikit-learn reward models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import numpy as np
from numpy.typing import NDArray

from features.extract import Features

DEFAULT_WIDTH = 256


def flat(features: Features) -> dict[str, float]:
    """One flat name -> value mapping, namespaced so equal names never collide."""
    out = {"bias": 1.0}
    for namespace, values in features.namespaces.items():
        out.update({f"{namespace}/{name}": value for name, value in values.items()})
    return out


def to_matrix(rows: Iterable[Features], width: int = DEFAULT_WIDTH) -> NDArray[np.float64]:
    """Hash features into a dense ``(n_rows, width)`` matrix.

    Hashing keeps the width fixed when clients add new free-form features, so a
    fitted model never has to be rebuilt because a column appeared.
    """
    flats = [flat(row) for row in rows]
    if not flats:  # the hasher refuses an empty sequence; no rows is a (0, width) matrix
        return np.zeros((0, width), dtype=np.float64)
    # Imported here: scikit-learn costs seconds at start-up and only the baselines need it.
    from sklearn.feature_extraction import FeatureHasher

    hasher = FeatureHasher(n_features=width, input_type="dict", alternate_sign=False)
    sparse = hasher.transform(flats)
    return cast(NDArray[np.float64], np.asarray(sparse.toarray(), dtype=np.float64))


def to_vector(features: Features, width: int = DEFAULT_WIDTH) -> NDArray[np.float64]:
    """One decision point as a vector of length ``width``."""
    row: NDArray[np.float64] = to_matrix([features], width)[0]
    return row
