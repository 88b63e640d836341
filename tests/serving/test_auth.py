"""API keys over real HTTP: client keys decide, admin keys operate, no key gets nothing."""

from __future__ import annotations

import pytest

from tests.serving.conftest import ADMIN_KEY, CLIENT_KEY
from tests.serving.server import Server, decide_offer, decision_body, json_of, new_user

WRONG_KEY = "wrong-key-0123456789"


def bearer(key: str) -> dict[str, str]:
    """An ``Authorization: Bearer`` header."""
    return {"Authorization": f"Bearer {key}"}


def api_key(key: str) -> dict[str, str]:
    """An ``X-API-Key`` header."""
    return {"X-API-Key": key}


def assert_refused(status: int, response_text: str, code: int) -> None:
    """A refusal with a JSON body that echoes no key."""
    assert status == code, response_text
    for key in (CLIENT_KEY, ADMIN_KEY, WRONG_KEY):
        assert key not in response_text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/decisions"),
        ("GET", "/v1/decisions/0123456789abcdef"),
        ("POST", "/v1/decisions/0123456789abcdef/events"),
        ("PUT", "/v1/users/someone/preferences"),
        ("GET", "/v1/offers"),
        ("GET", "/v1/admin/model"),
        ("POST", "/v1/admin/windows/close"),
    ],
)
@pytest.mark.parametrize("headers", [{}, bearer(WRONG_KEY), api_key(WRONG_KEY)])
def test_a_missing_or_wrong_key_is_401(
    keyed_server: Server, method: str, path: str, headers: dict[str, str]
) -> None:
    response = keyed_server.client.request(method, path, headers=headers, json={})

    body = json_of(response, 401)
    assert body["error"] == "missing or invalid API key"
    assert response.headers["www-authenticate"] == "Bearer"
    assert_refused(response.status_code, response.text, 401)


@pytest.mark.parametrize("headers", [bearer(CLIENT_KEY), api_key(CLIENT_KEY)])
def test_a_client_key_may_decide_and_post_events(
    keyed_server: Server, headers: dict[str, str]
) -> None:
    client = keyed_server.client
    _, decision = decide_offer(client, "keyed", headers=headers)

    shown = client.post(
        f"/v1/decisions/{decision['decision_id']}/events", json={"kind": "shown"}, headers=headers
    )
    record = client.get(f"/v1/decisions/{decision['decision_id']}", headers=headers)
    offers = client.get("/v1/offers", headers=headers)

    assert json_of(shown)["kind"] == "shown"
    assert [e["kind"] for e in json_of(record)["events"]] == ["shown"]
    assert offers.status_code == 200


@pytest.mark.parametrize("headers", [bearer(CLIENT_KEY), api_key(CLIENT_KEY)])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/admin/model"),
        ("POST", "/v1/admin/model/reload"),
        ("POST", "/v1/admin/windows/close"),
    ],
)
def test_a_client_key_on_admin_routes_is_403(
    keyed_server: Server, method: str, path: str, headers: dict[str, str]
) -> None:
    response = keyed_server.client.request(method, path, headers=headers)

    assert json_of(response, 403)["error"] == "this route needs an admin key"
    assert_refused(response.status_code, response.text, 403)


@pytest.mark.parametrize("headers", [bearer(ADMIN_KEY), api_key(ADMIN_KEY)])
def test_an_admin_key_may_operate_and_decide(keyed_server: Server, headers: dict[str, str]) -> None:
    client = keyed_server.client

    model = client.get("/v1/admin/model", headers=headers)
    closed = client.post("/v1/admin/windows/close", headers=headers)
    decided = client.post("/v1/decisions", json=decision_body(new_user("admin")), headers=headers)

    assert set(json_of(model)) == {"policy_version", "checkpoint_id", "learned"}
    assert "closed" in json_of(closed)
    assert "decision_id" in json_of(decided)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_health_routes_stay_open_without_a_key(keyed_server: Server, path: str) -> None:
    assert keyed_server.client.get(path).status_code == 200


def test_the_keyed_server_logs_no_open_access_warning_and_no_key(keyed_server: Server) -> None:
    logs = keyed_server.stderr()

    assert "NO API KEYS CONFIGURED" not in logs
    assert CLIENT_KEY not in logs
    assert ADMIN_KEY not in logs
