"""Settings from ``TACTFUL_*`` variables: keys as people write them, one line per mistake."""

from __future__ import annotations

import os

import pytest

from serving.settings import SettingsProblem, load_settings

KEY_A = "first-client-key-0123"
KEY_B = "second-client-key-4567"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``TACTFUL_*`` variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TACTFUL_"):
            monkeypatch.delenv(name)


def keys_of(variable: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("TACTFUL_CLIENT_KEYS", variable)
    return [key.get_secret_value() for key in load_settings().client_keys]


def test_one_api_key_is_read_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    assert keys_of(KEY_A, monkeypatch) == [KEY_A]


def test_comma_separated_api_keys_are_each_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert keys_of(f"{KEY_A}, {KEY_B},", monkeypatch) == [KEY_A, KEY_B]


def test_a_json_list_of_api_keys_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    assert keys_of(f'["{KEY_A}", "{KEY_B}"]', monkeypatch) == [KEY_A, KEY_B]


def test_admin_keys_are_read_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACTFUL_ADMIN_KEYS", f"{KEY_A},{KEY_B}")

    assert len(load_settings().admin_keys) == 2


@pytest.mark.parametrize("written", ["somekey", f"{KEY_A},somekey", '["somekey"]'])
def test_a_short_api_key_is_refused_in_one_line_that_never_shows_it(
    written: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TACTFUL_CLIENT_KEYS", written)

    with pytest.raises(SettingsProblem) as refused:
        load_settings()

    message = str(refused.value)
    assert message == (
        "TACTFUL_CLIENT_KEYS: every API key must be at least 16 characters "
        "(give one key, or several separated by commas)"
    )
    assert "somekey" not in message
    assert KEY_A not in message


def test_an_unreadable_json_list_of_keys_is_named_without_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TACTFUL_ADMIN_KEYS", f'["{KEY_A}",')

    with pytest.raises(SettingsProblem) as refused:
        load_settings()

    assert str(refused.value) == "TACTFUL_ADMIN_KEYS: not a readable JSON list of keys"


def test_every_bad_setting_is_one_line_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TACTFUL_PORT", "99999")
    monkeypatch.setenv("TACTFUL_LOG_LEVEL", "LOUD")
    monkeypatch.setenv("TACTFUL_REWARD_TOKENS", "perhaps")

    with pytest.raises(SettingsProblem) as refused:
        load_settings()

    lines = str(refused.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "TACTFUL_PORT",
        "TACTFUL_REWARD_TOKENS",
        "TACTFUL_LOG_LEVEL",
    ]
    assert "99999" not in lines[0]
    assert "LOUD" not in lines[2]


def test_a_setting_given_as_an_option_is_named_as_the_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TACTFUL_PORT", "0")

    with pytest.raises(SettingsProblem) as refused:
        load_settings({"port": "--port"})

    assert str(refused.value).startswith("--port: ")


def test_the_database_limits_are_read_from_their_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TACTFUL_DB_POOL_SIZE", "3")
    monkeypatch.setenv("TACTFUL_DB_MAX_OVERFLOW", "2")
    monkeypatch.setenv("TACTFUL_DB_POOL_TIMEOUT", "1.5")
    monkeypatch.setenv("TACTFUL_DB_STATEMENT_TIMEOUT", "0")

    pool = load_settings().pool()

    assert (pool.size, pool.max_overflow, pool.timeout) == (3, 2, 1.5)
    assert pool.most == 5
    assert pool.statement_timeout == 0.0  # no limit
    assert pool.connect_timeout == 5  # the default


def test_a_connect_timeout_libpq_would_round_up_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TACTFUL_DB_CONNECT_TIMEOUT", "1")

    with pytest.raises(SettingsProblem) as refused:
        load_settings()

    assert str(refused.value) == (
        "TACTFUL_DB_CONNECT_TIMEOUT: Input should be greater than or equal to 2"
    )
