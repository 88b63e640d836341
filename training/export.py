"""Exports of the decision log for tools outside tactful (VW's own command line, notebooks).

An export is a snapshot of the closed decisions: a decision whose reward window is
still open has no outcome yet and is left out. Nothing identifying leaves: each line
carries the decision's features, actions, probabilities and reward, never the user
key, session id or raw context.
"""

from __future__ import annotations

from typing import TextIO

from bandit.catalog import Catalog
from bandit.storage import SqlStore
from bandit.vw.dsjson_writer import dsjson_line
from training.sources import PAGE_SIZE, closed_records


def export_dsjson(
    store: SqlStore,
    out: TextIO,
    *,
    catalog: Catalog | None,
    after_seq: int = 0,
    page_size: int = PAGE_SIZE,
) -> int:
    """Write one DSJSON line per closed decision after ``after_seq``; return how many.

    ``catalog`` describes the offers as the learner does (the deployment's current
    catalog), so a model trained from the export sees the learner's features.
    Decisions closed without a reward are written with ``"_skipLearn": true``
    (see :func:`bandit.vw.dsjson_writer.dsjson_line`). ``after_seq`` resumes an earlier export, but
    a decision still open then that closes later lies behind that cursor and is
    missed: export from 0 for a complete log.
    """
    count = 0
    for record in closed_records(store, after_seq=after_seq, page_size=page_size):
        line = dsjson_line(record.decision, record.reward, catalog, timestamp=record.created_at)
        out.write(line + "\n")
        count += 1
    return count
