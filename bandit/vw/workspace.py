"""The one door into VW's native workspace: the only module that imports ``vowpalwabbit``.

pyvw's ``Workspace.predict`` and ``Workspace.learn`` wrap every parsed line in a Python
``Example`` before making their native calls, which costs three times the native work on a
decision's few lines. :class:`NativeWorkspace` makes the same native calls without the
wrappers, through two private names of VW's Python API: ``Workspace._parse`` and
``pylibvw.vw._finish_example_multi_ex``. Nothing else in tactful touches them.

It follows the rule pyvw's own ``finish_example`` keeps: every example it parses is handed
back to VW exactly once, and never after the workspace is finished. A VW workspace is not
safe to share between threads, so every call into it holds one lock.
``tests/bandit/test_vw_native.py`` pins these calls to ``Workspace.predict`` and
``Workspace.learn`` so a VW upgrade cannot drift silently.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pylibvw  # type: ignore[import-not-found]  # VW's native module, shipped with vowpalwabbit
import vowpalwabbit

#: Most distinct action sets whose parsed action examples a workspace keeps for predictions.
KEPT_MAX = 256
#: An action set: the eligible action ids of a decision, in order.
Actions = tuple[str, ...]


class NativeWorkspace:
    """A VW workspace, called natively, with the parsed action examples it keeps.

    An action's line depends only on the catalog, so :meth:`predict_kept` parses the lines
    of an action set once and passes them to VW again on every decision with that set; only
    the shared example is parsed, and finished, each time. VW allows predicting more than
    once on an example not yet finished, and restores action examples after merging the
    shared features in. That saves about a third of VW's native work per decision.
    """

    def __init__(self, workspace: vowpalwabbit.Workspace) -> None:
        # Re-entrant: forgetting the kept examples may run inside another call's lock.
        self._lock = threading.RLock()
        self._workspace = workspace
        #: Parsed, never finished action examples of the current workspace, by action set.
        self._kept: dict[Actions, list[Any]] = {}

    @classmethod
    def start(cls, arguments: str) -> NativeWorkspace:
        """A fresh workspace with VW's command line ``arguments``."""
        return cls(vowpalwabbit.Workspace(arguments))

    @property
    def kept(self) -> frozenset[Actions]:
        """The action sets whose parsed action examples are kept."""
        return frozenset(self._kept)

    @property
    def workspace(self) -> vowpalwabbit.Workspace:
        """The pyvw workspace itself, for tests that compare against pyvw's own calls."""
        return self._workspace

    def predict(self, text: str) -> list[float]:
        """VW's action probabilities for one multi-line example, parsed from ``text``."""
        with self._lock:
            return self._run(text, learn=False)

    def learn(self, text: str) -> None:
        """Learn from one labelled multi-line example, parsed from ``text``."""
        with self._lock:
            self._run(text, learn=True)

    def predict_kept(
        self, shared: str, actions: Actions, action_text: Callable[[Actions], str]
    ) -> list[float]:
        """:meth:`predict` of ``shared`` followed by the lines ``action_text(actions)``.

        The action lines are parsed on the first prediction with this action set and kept;
        beyond :data:`KEPT_MAX` sets (an unusual catalog) the whole text is parsed each time.
        """
        with self._lock:
            workspace = self._workspace
            parsed = self._kept.get(actions)
            if parsed is None:
                if len(self._kept) >= KEPT_MAX:
                    return self._run(f"{shared}\n{action_text(actions)}", learn=False)
                parsed = self._kept[actions] = workspace._parse(action_text(actions))
            example = workspace._parse(shared)
            try:
                pylibvw.vw.predict_multi(workspace, example + parsed)
                scores: list[float] = example[0].get_action_scores()
            finally:
                pylibvw.vw._finish_example_multi_ex(workspace, example)
        return scores

    def _run(self, text: str, *, learn: bool) -> list[float]:
        """Parse, predict or learn, finish; the caller holds the lock."""
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

    def forget_kept(self) -> None:
        """Hand the kept action examples back to VW, which would otherwise never free them.

        Each set goes back the way VW finishes any multi-line example: behind a shared
        example, after a prediction. Finishing action examples on their own makes VW read a
        prediction that only a shared example holds, and crashes it at random. Each set is
        taken out before it goes back, so none is handed back twice.
        """
        with self._lock:
            kept, self._kept = self._kept, {}
            workspace = self._workspace
            if workspace.finished:
                return  # VW has freed them with the workspace
            for examples in kept.values():
                batch = workspace._parse("shared |") + examples
                pylibvw.vw.predict_multi(workspace, batch)
                pylibvw.vw._finish_example_multi_ex(workspace, batch)

    def replace(self, workspace: vowpalwabbit.Workspace) -> None:
        """Swap in another model; the kept examples and the old model are handed back."""
        with self._lock:
            self.forget_kept()
            self._workspace.finish()
            self._workspace = workspace

    def load(self, model: Path) -> None:
        """Swap in the model saved at ``model``; ``ValueError`` if VW cannot read it."""
        try:
            # A list, not a string: VW splits a string on spaces, and paths may contain them.
            workspace = vowpalwabbit.Workspace(arg_list=["--quiet", "-i", str(model)])
        except RuntimeError as exc:
            raise ValueError(f"{model.name} is not a readable VW model: {exc}") from exc
        self.replace(workspace)

    def fit_file(self, arguments: list[str]) -> None:
        """Swap in a model trained by VW's own driver loop (``arguments`` name the data)."""
        workspace = vowpalwabbit.Workspace(arg_list=arguments)
        workspace.run_parser()
        self.replace(workspace)

    def save(self, model: Path) -> None:
        """Write the model to ``model``."""
        with self._lock:
            self._workspace.save(str(model))

    def __del__(self) -> None:
        # The kept action examples keep the whole workspace alive: hand them back first.
        with contextlib.suppress(Exception):  # at interpreter exit VW may be gone already
            self.forget_kept()
