"""One namespace of named features, read-only; shared ones remember how they were encoded."""

from __future__ import annotations

from typing import Any, NoReturn


class Namespace(dict[str, float]):
    """The features of one namespace (``{"plan=pro": 1.0, "seats": 1.6}``), read-only.

    A ``dict`` subclass rather than a read-only view of one: the policy reads every
    namespace on every decision, and a plain dict's construction, lookups and
    iteration are the fastest Python has. Every method that would change it raises
    ``TypeError``.
    """

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("feature namespaces are read-only")

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[type[Namespace], tuple[dict[str, float]]]:
        """Copy and pickle by value (the default would refill it item by item, and fail)."""
        return type(self), (dict(self),)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


class SharedNamespace(Namespace):
    """A namespace that many decisions share, such as ``{"moment=peak": 1.0}``.

    :func:`features.extract` builds one per value of an enumerated namespace (the
    moment, the activity, the placement, an empty history) and hands the same
    instance to every decision with that value. ``renderings`` lets an encoder
    remember its text for it, keyed by the encoder and its format version, so it is
    rendered once per process rather than once per decision. A cache of what the
    namespace already says: it takes no part in equality.
    """

    __slots__ = ("renderings",)

    def __init__(self, *args: Any, **kwargs: float) -> None:
        super().__init__(*args, **kwargs)
        self.renderings: dict[str, str] = {}
