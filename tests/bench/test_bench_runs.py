"""``python -m bench``: only a full run asked to (``--update``) touches the committed results.

No benchmark runs here: the tables are rebuilt from results written by the test.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench.__main__ import commands, destinations, main, parse
from bench.common import Headline, results_folder, write_results

README = "# p\n\n## Benchmarks\n\nthe recorded table\n\n## Later\n\nKept.\n"


def results_in(folder: Path, quick: bool) -> None:
    """One benchmark's results, as a run writes them."""
    write_results(
        "decide",
        "Title",
        "Why.",
        {"quick": quick},
        [Headline.of("decide", "overhead", "1.5x", "< 2x", True)],
        [{"contender": "vw", "us": 10.0}],
        folder,
    )


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A project's committed results and README, and a scratch folder."""
    committed = tmp_path / "bench" / "results"
    results_in(committed, quick=False)
    readme = tmp_path / "README.md"
    readme.write_text(README)
    return {"committed": committed, "scratch": tmp_path / "scratch", "readme": readme}


def snapshot(tree: dict[str, Path]) -> dict[str, bytes]:
    files = [tree["readme"], *sorted(tree["committed"].iterdir())]
    return {str(path): path.read_bytes() for path in files}


def test_a_run_without_update_leaves_the_committed_results_and_readme_alone(
    tree: dict[str, Path],
) -> None:
    before = snapshot(tree)
    results_in(tree["scratch"], quick=True)

    assert main(["--report-only"], tree["committed"], tree["scratch"], tree["readme"]) == 0

    assert snapshot(tree) == before
    assert "| [decide](decide.md) | overhead |" in (tree["scratch"] / "README.md").read_text()


def test_an_update_rewrites_the_committed_tables_and_the_readme_section(
    tree: dict[str, Path],
) -> None:
    assert main(["--report-only", "--update"], *tree.values()) == 0

    text = tree["readme"].read_text()
    assert "the recorded table" not in text
    assert "| decide | overhead | 1.5x | < 2x | yes |" in text
    assert text.endswith("## Later\n\nKept.\n")
    assert (tree["committed"] / "README.md").is_file()


def test_a_quick_run_cannot_update(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        parse(["--quick", "--update"])

    assert refused.value.code == 2
    assert "never --update" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "updates_readme"),
    [([], False), (["--quick"], False), (["--update"], True), (["--update", "--no-readme"], False)],
)
def test_only_update_writes_the_committed_folder(argv: list[str], updates_readme: bool) -> None:
    committed, scratch, readme = Path("results"), Path("scratch"), Path("README.md")

    out, readme_to_update = destinations(parse(argv), committed, scratch, readme)

    assert out == (committed if "--update" in argv else scratch)
    assert (readme_to_update == readme) is updates_readme


def test_every_benchmark_is_told_where_to_write() -> None:
    for command in commands(["decide", "http"], quick=True, out=Path("scratch")):
        assert command[-2:] == ["--out", "scratch"]
        assert "--quick" in command


def test_a_quick_benchmark_run_on_its_own_writes_to_scratch(tmp_path: Path) -> None:
    committed, scratch = tmp_path / "results", tmp_path / "scratch"

    assert results_folder(committed, True, committed, scratch) == scratch
    assert results_folder(committed, False, committed, scratch) == committed
    assert results_folder(tmp_path / "mine", True, committed, scratch) == tmp_path / "mine"


def test_parse_keeps_its_flags() -> None:
    args = parse(["--only", "decide"])

    assert isinstance(args, argparse.Namespace)
    assert args.only == ["decide"]
    assert not args.update
