"""Where a running server spends its time: py-spy samples, summed by function.

py-spy reads the server's stacks from outside (``--nonblocking``: the process is never
paused), so the profile is of the path production runs, under the same load, with no
instrumentation inside it. Samples are folded by function (file and name, line numbers
dropped) into two shares of all samples of the server's busy threads:

- *own*: the function was at the top of the stack, doing the work itself;
- *total*: the function was anywhere on the stack (its callees included).

Only the thread holding the GIL is sampled (``--gil``): with one interpreter lock, that
is the Python work the server's one core did; time inside SQLite or system calls, with
the lock released, is not in these shares. Each thread's share comes first (the event
loop answering HTTP, the writer deciding and committing, the learner).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Samples per second; py-spy's default (100) gives too few samples in a short run.
RATE = 250
_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_SITE = re.compile(r".*?/(?:site-packages|lib/python3\.\d+)/")


@dataclass(frozen=True)
class Entry:
    """One function's share of the samples."""

    function: str
    own: float
    total: float


@dataclass(frozen=True)
class Profile:
    """A summed profile: its sample count and its functions, by share."""

    samples: int
    entries: tuple[Entry, ...]
    #: Each thread's share of the samples (the event loop's, the writer's...), largest first.
    threads: tuple[tuple[str, float], ...] = ()

    def top(self, n: int, by: str = "own") -> list[Entry]:
        """The ``n`` largest entries by ``own`` or ``total`` share."""
        return sorted(self.entries, key=lambda e: getattr(e, by), reverse=True)[:n]


def _function(frame: str) -> str:
    """``name (file:line)`` as ``file:name``, the file shortened past site-packages."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = _SITE.sub("", match["file"])
    path = path.removeprefix(str(Path.cwd()) + "/")  # the project's own files, relative
    return f"{path}:{match['name']}"


def fold(lines: Iterable[str]) -> Profile:
    """Sum py-spy's collapsed stacks (``frame;frame;... count``) by function."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        raw = [f for f in stack.split(";") if f and not f.startswith("process ")]
        named = [f.partition("): ")[2] or f for f in raw if f.startswith("thread (")]
        frames = [_function(f) for f in raw if not f.startswith("thread (")]
        if not frames:
            continue
        samples += count
        threads[named[0].strip('"') if named else "-"] += count
        own[frames[-1]] += count
        for function in set(frames):
            total[function] += count
    entries = tuple(
        Entry(function, own[function] / samples, total[function] / samples) for function in total
    )
    shares = tuple((name, n / samples) for name, n in threads.most_common())
    return Profile(samples, entries, shares)


def markdown(profile: Profile, n: int = 15) -> str:
    """Two tables: the top functions by own share, then by total share."""
    lines = [f"{profile.samples} samples of the thread holding the GIL."]
    if profile.threads and profile.threads[0][0] != "-":
        shares = ", ".join(f"{name} {share:.0%}" for name, share in profile.threads)
        lines.append(f"By thread: {shares}.")
    lines.append("")
    for by, heading in (("own", "own time"), ("total", "time including callees")):
        lines += [f"Top {n} by {heading}:", "", "| function | own | total |", "|---|---|---|"]
        lines += [f"| `{e.function}` | {e.own:.1%} | {e.total:.1%} |" for e in profile.top(n, by)]
        lines.append("")
    return "\n".join(lines)


@contextmanager
def recording(pid: int, seconds: float) -> Iterator[list[Profile]]:
    """Sample ``pid`` for ``seconds`` while the block runs; the profile lands in the list.

    The block should put the server under load for at least ``seconds``; py-spy stops
    by itself when its duration ends.
    """
    beside = Path(sys.executable).parent / "py-spy"  # the venv's, when not on PATH
    spy = str(beside) if beside.is_file() else shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("py-spy is not installed: `make install` puts it in .venv")
    found: list[Profile] = []
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        out = Path(tmp) / "stacks.txt"
        command = [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(RATE),
            "--nonblocking",
            "--gil",
            "--threads",
            "--format",
            "raw",
            "--output",
            str(out),
        ]
        # Fixed arguments: py-spy from the venv and our own server's pid.
        process = subprocess.Popen(  # noqa: S603
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            yield found
        finally:
            _, err = process.communicate(timeout=seconds + 60)
        if process.returncode != 0 or not out.is_file():
            raise RuntimeError(f"py-spy failed ({process.returncode}): {err.strip()[-2000:]}")
        found.append(fold(out.read_text().splitlines()))
