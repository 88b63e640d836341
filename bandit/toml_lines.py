"""Where each offer's fields sit in a TOML file, so a problem is reported at its field's line.

``tomllib`` keeps no positions, so this reads the text the way a person does: each
``[[offers]]`` header starts the next offer, ``[offers.follow_up]`` (or any
``[offers.x]``) opens a table inside it, and ``key = value`` lines are its fields.
Best effort by design: offers written as an inline array, or keys TOML allows but
people rarely write (quoted, spread over lines), fall back to the offer's ``id``
line, which the loader already finds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_OFFER_HEADER = re.compile(r"^\s*\[\[\s*offers\s*\]\]\s*(#.*)?$")
_OFFER_TABLE = re.compile(r"^\s*\[\[?\s*offers\s*\.\s*([A-Za-z0-9_.\s-]+?)\s*\]\]?\s*(#.*)?$")
_OTHER_HEADER = re.compile(r"^\s*\[")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*=")

#: An offer's field, as a path: ``("follow_up", "acknowledgement")``.
FieldPath = tuple[str, ...]


def field_lines(text: str) -> list[dict[FieldPath, int]]:
    """For each ``[[offers]]`` block in order, the first line of each field path in it."""
    offers: list[dict[FieldPath, int]] = []
    table: FieldPath | None = None  # None: outside any offer
    in_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        quotes = line.count('"""') + line.count("'''")
        if in_string:
            in_string = quotes % 2 == 0
            continue
        if quotes % 2:
            in_string = True
        if _OFFER_HEADER.match(line):
            offers.append({})
            table = ()
        elif (found := _OFFER_TABLE.match(line)) and offers:
            table = tuple(part.strip() for part in found.group(1).split("."))
            offers[-1].setdefault(table, number)
        elif _OTHER_HEADER.match(line):
            table = None
        elif table is not None and (key := _KEY.match(line)):
            path = table + tuple(part.strip() for part in key.group(1).split("."))
            offers[-1].setdefault(path, number)
    return offers


def line_of_field(
    lines: Sequence[Mapping[FieldPath, int]], offer: int, path: FieldPath
) -> int | None:
    """The line of an offer's field, else of its nearest enclosing field that has one."""
    if not 0 <= offer < len(lines):
        return None
    fields = lines[offer]
    for end in range(len(path), 0, -1):
        if (line := fields.get(path[:end])) is not None:
            return line
    return None
