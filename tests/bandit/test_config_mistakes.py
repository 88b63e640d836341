"""Every kind of config mistake: one clear message each, and never a half-configured service.

For each broken file the loader gives exactly one problem naming the file, the line
when it can be found (a problem with one field of an offer at that field's line, any
other problem of an offer at its ``id = ...`` line; sections by name only), the offer
id and the reason. The same file stops ``create_app`` before the
store is opened (no database file appears) and makes ``tactful serve`` exit 1 with
the message, before uvicorn is started.

An empty file is a valid deployment with no offers (every decision is ``no_offer``,
a legitimate way to switch offers off); ``tactful catalog check`` loads it but warns.
Zero caps are not a mistake either: they switch offers off through the rules.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bandit import ConfigError, load_config
from serving.app import create_app
from serving.cli import app as cli
from serving.settings import Settings
from tests.bandit.test_config import deployment, line_of, offer

runner = CliRunner()
PRICE = {"currency": "USD", "period": "month"}
UNKNOWN_FIELD = deployment(offer(colour="red"))
WRONG_TYPE = deployment(offer(price={"amount": "four", **PRICE}))
NEGATIVE_PRICE = deployment(offer(price={"amount": -4.0, **PRICE}))
SCARCITY = deployment(offer(subtext="Hurry, this price will not last."))

#: name -> (file text, where the problem is, a fragment of the reason, offer line or None)
MISTAKES: dict[str, tuple[str, str, str, int | None]] = {
    "toml syntax error": (
        deployment(offer()) + "\nformats = { inline = 0\n",
        "toml",
        "Unclosed inline table",
        None,  # the line is checked against the parser's own report below
    ),
    "unknown top-level section": (
        deployment(offer(), head="[extras]\ncolour = 1\n"),
        "extras",
        "Extra inputs are not permitted",
        None,
    ),
    "unknown field in an offer": (
        UNKNOWN_FIELD,
        "offer 'storage_200' colour",
        "Extra inputs are not permitted",
        line_of(UNKNOWN_FIELD, "colour ="),
    ),
    "wrong type in an offer": (
        WRONG_TYPE,
        "offer 'storage_200' price.amount",
        "valid number",
        line_of(WRONG_TYPE, "price ="),
    ),
    "wrong type in the rules": (
        deployment(offer(), head='[rules]\nmax_per_session = "one"\n'),
        "rules.max_per_session",
        "valid integer",
        None,
    ),
    "negative price": (
        NEGATIVE_PRICE,
        "offer 'storage_200' price.amount",
        "greater than or equal to 0",
        line_of(NEGATIVE_PRICE, "price ="),
    ),
    "unknown format": (
        deployment(offer(format="popup")),
        "offer 'storage_200'",
        "unknown format 'popup' (known: banner, inline, modal, post_action_summary)",
        2,
    ),
    "duplicate id": (
        deployment(offer(), offer()),
        "offer 'storage_200'",
        "duplicate offer id",
        2,
    ),
    "reserved id": (
        deployment(offer(id="no_offer")),
        "offer 'no_offer'",
        "reserved for showing nothing",
        2,
    ),
    "falling relevance bars": (
        deployment(offer(), head="[rules]\nrelevance_bars = [0.5, 0.3]\n"),
        "rules.relevance_bars",
        "relevance bars must not fall",
        None,
    ),
    "exploration VW cannot learn with the cb_type": (
        deployment(offer(), head='[policy]\nexploration = "squarecb"\ncb_type = "dr"\n'),
        "policy",
        "squarecb exploration cannot learn with cb_type 'dr'",
        None,
    ),
    "dark pattern": (
        SCARCITY,
        "offer 'storage_200' subtext",
        "scarcity or FOMO phrase in subtext: 'Hurry' [rule: scarcity]",
        line_of(SCARCITY, "subtext ="),
    ),
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def restored_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The commands read ``TACTFUL_*`` variables under their options: set them, undone after."""
    monkeypatch.setenv("TACTFUL_CONFIG", str(tmp_path / "unset.toml"))
    monkeypatch.setenv("TACTFUL_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_mistake_gives_one_message_with_file_line_offer_and_reason(
    name: str, tmp_path: Path
) -> None:
    text, where, reason, line = MISTAKES[name]
    path = _write(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    problems = caught.value.problems
    assert len(problems) == 1, [p.render() for p in problems]
    problem = problems[0]
    assert problem.where == where
    assert reason in problem.message
    if name == "toml syntax error":
        assert problem.line == len(text.splitlines())
    else:
        assert problem.line == line
    rendered = problem.render(path)
    assert rendered.startswith(f"{path}:{problem.line}: " if problem.line else f"{path}: ")
    assert rendered.endswith(f"{where}: {problem.message}")
    assert str(caught.value) == f"{path}: 1 problem(s)\n{rendered}"


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_bad_config_stops_the_app_before_anything_is_served(name: str, tmp_path: Path) -> None:
    path = _write(tmp_path, MISTAKES[name][0])
    database = tmp_path / "never.db"

    with pytest.raises(ConfigError, match=re.escape(str(path))):
        create_app(Settings(config=path, database_url=f"sqlite:///{database}", learner=False))

    assert not database.exists()


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_serve_with_a_bad_config_exits_1_with_the_message(name: str, tmp_path: Path) -> None:
    path = _write(tmp_path, MISTAKES[name][0])
    _, where, reason, _ = MISTAKES[name]

    result = runner.invoke(cli, ["serve", "--config", str(path)])

    assert result.exit_code == 1, result.output
    assert f"{path}: 1 problem(s)" in result.stderr
    assert where in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.output


def test_every_mistake_in_one_file_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        deployment(
            offer(id="a", format="popup"),
            offer(id="b", price={"amount": -1.0, **PRICE}),
            offer(id="no_offer"),
            offer(id="c", cta="Last chance: upgrade now"),
            head="[rules]\nrelevance_bars = [0.9, 0.1]\n",
        ),
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    where = sorted(problem.where for problem in caught.value.problems)
    assert where == [
        "offer 'a'",
        "offer 'b' price.amount",
        "offer 'c' cta",
        "offer 'no_offer'",
        "rules.relevance_bars",
    ]


def test_zero_caps_are_allowed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        deployment(
            offer(), head="[rules]\nmax_per_session = 0\nmax_per_day = 0\nmax_per_week = 0\n"
        ),
    )

    config = load_config(path)

    assert (config.rules.max_per_session, config.rules.max_per_day) == (0, 0)
    assert config.rules.max_per_week == 0
    create_app(Settings(config=path, database_url=f"sqlite:///{tmp_path / 'ok.db'}"))


def test_an_empty_file_loads_as_a_deployment_without_offers(tmp_path: Path) -> None:
    path = _write(tmp_path, "")

    config = load_config(path)

    assert len(config.catalog()) == 0
    create_app(Settings(config=path, database_url=f"sqlite:///{tmp_path / 'ok.db'}"))


def test_catalog_check_of_an_empty_file_warns_that_no_offer_will_ever_be_shown(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "")

    result = runner.invoke(cli, ["catalog", "check", str(path)])

    assert result.exit_code == 0, result.output
    assert f"{path}: ok, 0 offers" in result.stdout
    assert f"{path}: warning: no offers, so every decision will be 'no_offer'" in result.stderr


def test_catalog_check_of_a_catalog_with_offers_does_not_warn(tmp_path: Path) -> None:
    path = _write(tmp_path, deployment(offer()))

    result = runner.invoke(cli, ["catalog", "check", str(path)])

    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
