"""Security over real HTTP: rate limits, forged ids, reward tokens, private user ids, no traces.

Most tests run on the ``secured`` server (keys, a tight rate limit, reward tokens);
each spends the rate-limit bucket of a key of its own. The building blocks (token
bucket, caller identity, token signing) are also checked in-process, where time and
keys are under the test's control.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from serving.app import create_app
from serving.auth import (
    key_index,
    presented_key,
    reward_token,
    reward_token_key,
    valid_reward_token,
)
from serving.cli import app as cli
from serving.ratelimit import Bucket, RateLimiter, caller_of, retry_after, take
from serving.service import user_key
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG
from tests.serving.conftest import (
    CLIENT_KEY,
    SECURED_ADMIN_KEY,
    SECURED_BURST,
    SECURED_KEYS,
    SECURED_RATE,
)
from tests.serving.server import (
    BASE_SETTINGS,
    Server,
    decide,
    decide_offer,
    free_port,
    json_of,
    new_user,
)

WRONG_KEY = "wrong-key-0123456789"
SUITE_SECRET = BASE_SETTINGS["TACTFUL_USER_KEY_SECRET"]
ALL_KEYS = (*SECURED_KEYS.values(), SECURED_ADMIN_KEY, WRONG_KEY)


def bearer(key: str) -> dict[str, str]:
    """An ``Authorization: Bearer`` header."""
    return {"Authorization": f"Bearer {key}"}


def as_(name: str) -> dict[str, str]:
    """The headers of one of the secured server's client keys."""
    return bearer(SECURED_KEYS[name])


def server_logs(server: Server) -> str:
    """Everything the server wrote: JSON lines on stderr (the access log too), and stdout."""
    stdout = server.directory / f"{server.name}.stdout.log"
    return server.stderr() + (stdout.read_text(errors="replace") if stdout.exists() else "")


def assert_no_key(text: str) -> None:
    """No API key, right or wrong, is echoed in ``text``."""
    for key in ALL_KEYS:
        assert key not in text


# --- rate limiting ------------------------------------------------------------------------


def test_a_new_bucket_is_full_and_refills_at_the_rate() -> None:
    bucket, wait = take(None, now=10.0, rate=2.0, burst=3)
    assert (bucket, wait) == (Bucket(2.0, 10.0), 0.0)

    empty = Bucket(0.0, 10.0)
    assert take(empty, now=10.25, rate=2.0, burst=3) == (Bucket(0.5, 10.25), 0.25)
    assert take(empty, now=10.5, rate=2.0, burst=3) == (Bucket(0.0, 10.5), 0.0)
    assert take(empty, now=99.0, rate=2.0, burst=3)[0] == Bucket(2.0, 99.0)  # capped at burst


@pytest.mark.parametrize(("wait", "seconds"), [(0.001, 1), (1.0, 1), (1.01, 2), (7.5, 8)])
def test_retry_after_rounds_up_to_whole_seconds(wait: float, seconds: int) -> None:
    assert retry_after(wait) == seconds


def test_the_bucket_map_forgets_idle_callers_and_stays_bounded() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=1.0, burst=2, max_buckets=3, clock=lambda: now[0])

    for caller in ("a", "b", "c", "d"):
        assert limiter.acquire(caller) == 0.0
    assert len(limiter) == 3  # the least recently used went

    now[0] = 1.0
    limiter.acquire("b")
    now[0] = 2.5  # "c" and "d" idle for 2.5 s: full again, forgotten; "b" idle 1.5 s
    limiter.acquire("e")
    assert len(limiter) == 2


def test_a_caller_is_its_valid_key_else_its_address() -> None:
    keys = ["admin-key-0123456789", "client-key-0123456789"]
    client = ("203.0.113.7", 5000)

    def caller(*headers: tuple[bytes, bytes]) -> str:
        return caller_of({"type": "http", "headers": list(headers), "client": client}, keys)

    assert caller((b"authorization", b"Bearer client-key-0123456789")) == "key:1"
    assert caller((b"x-api-key", b"admin-key-0123456789")) == "key:0"
    assert caller((b"authorization", b"Bearer " + WRONG_KEY.encode())) == "address:203.0.113.7"
    assert caller() == "address:203.0.113.7"


def test_the_limiter_reads_the_key_as_the_auth_dependency_does() -> None:
    both = [(b"x-api-key", b"header-key"), (b"authorization", b"Bearer bearer-key")]

    assert presented_key(both) == "bearer-key"  # Bearer wins, as in serving.auth.require
    assert presented_key([(b"authorization", b"Basic abc"), (b"x-api-key", b"k")]) == "k"
    assert presented_key([(b"x-api-key", b"first"), (b"x-api-key", b"second")]) == "first"
    assert presented_key([]) is None
    assert key_index("b", ["a", "b", "b"]) == 2  # every key compared, none skipped
    assert key_index("z", ["a", "b"]) is None


def test_a_key_over_its_burst_gets_429_and_another_key_does_not(secured_server: Server) -> None:
    client = secured_server.client
    before = secured_server.metric("tactful_rate_limited_total", caller="key")

    started = time.monotonic()
    admitted = 0
    refused: httpx.Response | None = None
    for _ in range(SECURED_BURST * 3):
        response = client.get("/v1/offers", headers=as_("flood"))
        if response.status_code != 200:
            refused = response
            break
        admitted += 1
    elapsed = time.monotonic() - started

    assert refused is not None, f"no 429 after {admitted} requests"
    body = json_of(refused, 429)
    assert body["error"] == "rate limit exceeded"
    assert_no_key(refused.text)
    assert SECURED_BURST <= admitted <= SECURED_BURST + 1 + elapsed * SECURED_RATE
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 1 / SECURED_RATE + 1
    assert client.get("/v1/offers", headers=as_("calm")).status_code == 200
    assert secured_server.metric("tactful_rate_limited_total", caller="key") == before + 1

    time.sleep(wait)
    assert client.get("/v1/offers", headers=as_("flood")).status_code == 200


# --- forged decision ids and reward tokens ------------------------------------------------


def test_forged_or_guessed_decision_ids_are_404_and_counted(keyed_server: Server) -> None:
    client = keyed_server.client
    headers = bearer(CLIENT_KEY)
    real = decide(client, new_user("forged"), headers=headers)["decision_id"]
    flipped = real[:-1] + ("0" if real[-1] != "0" else "1")
    guesses = [uuid.uuid4().hex, flipped, "0" * 32]
    before = keyed_server.metric("tactful_unknown_decision_ids_total")

    responses = [
        client.post(f"/v1/decisions/{guess}/events", json={"kind": "shown"}, headers=headers)
        for guess in guesses
    ]

    for response in responses:
        assert json_of(response, 404)["error"] == "unknown decision"
    after = keyed_server.metric("tactful_unknown_decision_ids_total")
    assert after == before + len(guesses)
    assert json_of(client.get(f"/v1/decisions/{real}", headers=headers))["events"] == []


def test_reward_tokens_are_off_by_default(keyed_server: Server) -> None:
    decision = decide(keyed_server.client, new_user("untokened"), headers=bearer(CLIENT_KEY))

    assert decision["reward_token"] is None


def test_an_event_needs_its_decisions_reward_token(secured_server: Server) -> None:
    client = secured_server.client
    headers = as_("client")
    _, decision = decide_offer(client, "tokened", headers=headers)
    other = decide(client, new_user("tokened"), headers=headers)
    path = f"/v1/decisions/{decision['decision_id']}/events"
    token = decision["reward_token"]
    assert isinstance(token, str)
    assert len(token) == 64
    assert token != other["reward_token"]
    missing = secured_server.metric("tactful_forged_reward_tokens_total", reason="missing")
    invalid = secured_server.metric("tactful_forged_reward_tokens_total", reason="invalid")

    refused = [
        client.post(path, json={"kind": "shown"}, headers=headers),
        client.post(path, json={"kind": "shown"}, headers={**headers, "X-Reward-Token": "0" * 64}),
        client.post(
            path,
            json={"kind": "shown"},
            headers={**headers, "X-Reward-Token": other["reward_token"]},
        ),
    ]
    accepted = client.post(
        path, json={"kind": "shown"}, headers={**headers, "X-Reward-Token": token}
    )

    for response in refused:
        assert json_of(response, 403)["error"] == "missing or invalid reward token"
        assert token not in response.text
        assert_no_key(response.text)
    assert json_of(accepted)["kind"] == "shown"
    assert secured_server.metric("tactful_forged_reward_tokens_total", reason="missing") == (
        missing + 1
    )
    assert secured_server.metric("tactful_forged_reward_tokens_total", reason="invalid") == (
        invalid + 2
    )
    events = json_of(client.get(f"/v1/decisions/{decision['decision_id']}", headers=headers))
    assert [e["kind"] for e in events["events"]] == ["shown"]


def test_a_guessed_id_without_a_token_never_reaches_the_store(secured_server: Server) -> None:
    unknown = secured_server.metric("tactful_unknown_decision_ids_total")
    headers = {**as_("client"), "X-Reward-Token": "0" * 64}

    response = secured_server.client.post(
        f"/v1/decisions/{uuid.uuid4().hex}/events", json={"kind": "shown"}, headers=headers
    )

    assert json_of(response, 403)["error"] == "missing or invalid reward token"
    assert secured_server.metric("tactful_unknown_decision_ids_total") == unknown


def test_reward_tokens_are_keyed_apart_from_user_keys() -> None:
    key = reward_token_key(SUITE_SECRET)
    token = reward_token(key, "decision-1")

    assert valid_reward_token(key, "decision-1", token)
    assert not valid_reward_token(key, "decision-2", token)
    assert not valid_reward_token(reward_token_key("another-secret"), "decision-1", token)
    assert token != user_key(SUITE_SECRET, "decision-1")


# --- user ids stay private ----------------------------------------------------------------


def test_the_raw_user_id_is_nowhere_but_in_the_request(
    secured_server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = secured_server.client
    headers = as_("client")
    user_id, decision = decide_offer(client, "private.person@example.com", headers=headers)
    decision_id = decision["decision_id"]
    signed = {**headers, "X-Reward-Token": decision["reward_token"]}
    responses = [
        client.post(f"/v1/decisions/{decision_id}/events", json={"kind": k}, headers=signed)
        for k in ("shown", "accepted")
    ]
    responses += [
        client.put(f"/v1/users/{user_id}/preferences", json={"opted_out": v}, headers=headers)
        for v in (True, False)
    ]
    responses.append(client.get(f"/v1/decisions/{decision_id}", headers=headers))
    closed = client.post("/v1/admin/windows/close?force=true", headers=bearer(SECURED_ADMIN_KEY))
    assert json_of(closed)["closed"] >= 1

    monkeypatch.setenv("TACTFUL_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.setenv("TACTFUL_DATABASE_URL", f"sqlite:///{secured_server.database}")
    export = tmp_path / "log.dsjson"
    result = CliRunner().invoke(cli, ["logs", "export", "--output", str(export)])
    assert result.exit_code == 0, result.output

    hashed = user_key(SUITE_SECRET, user_id)
    for response in responses:
        assert response.status_code == 200, response.text
        assert user_id not in response.text
    assert user_id not in json.dumps(decision)
    exported = export.read_text(encoding="utf-8")
    assert decision_id in exported
    assert user_id not in exported
    assert hashed not in exported  # not even the keyed hash leaves
    stored = b"".join(p.read_bytes() for p in secured_server.directory.glob("tactful.db*"))
    assert hashed.encode() in stored  # the store is where we looked...
    assert user_id.encode() not in stored  # ...and the raw id is not in it
    logs = server_logs(secured_server)
    assert "PUT /v1/users/{user_id}/preferences" in logs  # the access log is there, redacted
    assert user_id not in logs


def test_api_keys_never_reach_the_logs(secured_server: Server) -> None:
    client = secured_server.client
    for key in (SECURED_KEYS["calm"], SECURED_ADMIN_KEY):
        assert client.get("/v1/offers", headers=bearer(key)).status_code == 200
        assert client.get("/v1/offers", headers={"X-API-Key": key}).status_code == 200
    wrong = client.get("/v1/offers", headers=bearer(WRONG_KEY))

    assert json_of(wrong, 401)["error"] == "missing or invalid API key"
    logs = server_logs(secured_server)
    messages = [json.loads(line)["message"] for line in logs.splitlines() if line.strip()]
    assert '"GET /v1/offers HTTP/1.1" 401' in "\n".join(messages)  # the requests were logged...
    assert_no_key(logs)  # ...without their keys


# --- scopes and errors --------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/admin/model/reload"),
        ("POST", "/v1/admin/windows/close"),
        ("GET", "/v1/admin/model"),
    ],
)
def test_a_client_key_on_an_admin_route_is_403_without_echo(
    secured_server: Server, method: str, path: str, header: str
) -> None:
    key = SECURED_KEYS["calm"]
    value = f"Bearer {key}" if header == "Authorization" else key

    response = secured_server.client.request(method, path, headers={header: value})

    assert json_of(response, 403) == {"error": "this route needs an admin key", "detail": None}
    assert_no_key(response.text)


HIDDEN_DETAIL = "connection to db-internal.example:5432 failed for user tactful_admin"


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn server in a thread (no lifespan); yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), lifespan="off", log_config=None)
    )
    thread = threading.Thread(target=server.run, name="security-500", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server thread died"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_an_unexpected_error_is_a_json_500_without_a_trace(tmp_path: Path) -> None:
    settings = Settings(
        config=EXAMPLE_CONFIG,
        database_url=f"sqlite:///{tmp_path / 'tactful.db'}",
        learner=False,
        mlruns=None,
        log_level="ERROR",
    )
    app = create_app(settings)

    def crash() -> None:
        raise RuntimeError(HIDDEN_DETAIL)

    app.add_api_route("/v1/crash", crash)  # a bug stand-in: every real route is tested elsewhere

    with serving(app) as url:
        response = httpx.get(f"{url}/v1/crash", timeout=10)

    assert json_of(response, 500) == {"error": "internal error", "detail": None}
    for leak in ("Traceback", "RuntimeError", HIDDEN_DETAIL, ".py", "crash"):
        assert leak not in response.text
