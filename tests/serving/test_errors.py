"""Errors over real HTTP: the right status, always a JSON body, never a trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.serving.conftest import MAX_BODY_BYTES
from tests.serving.server import Server, decide, decision_body, json_of, new_user

UNKNOWN_ID = "0" * 32


def problems(body: dict[str, Any]) -> dict[str, str]:
    """The 422 ``detail`` as ``{where: message}``."""
    assert body["error"] == "invalid request"
    return {p["where"]: p["message"] for p in body["detail"]}


def test_an_unknown_decision_id_is_404_with_a_json_body(shared_server: Server) -> None:
    client = shared_server.client

    read = client.get(f"/v1/decisions/{UNKNOWN_ID}")
    event = client.post(f"/v1/decisions/{UNKNOWN_ID}/events", json={"kind": "shown"})

    for response in (read, event):
        body = json_of(response, 404)
        assert body["error"] == "unknown decision"
        assert "detail" in body


def test_an_event_for_an_unknown_decision_is_counted(shared_server: Server) -> None:
    before = shared_server.metric("tactful_unknown_decision_ids_total")

    shared_server.client.post(f"/v1/decisions/{UNKNOWN_ID}/events", json={"kind": "accepted"})

    assert shared_server.metric("tactful_unknown_decision_ids_total") == before + 1


def test_accepting_a_no_offer_decision_is_409(shared_server: Server) -> None:
    client = shared_server.client
    decision = decide(client, new_user("no-offer"), renderable=[])

    response = client.post(
        f"/v1/decisions/{decision['decision_id']}/events", json={"kind": "accepted"}
    )

    assert json_of(response, 409)["error"] == "event contradicts the decision"
    record = json_of(client.get(f"/v1/decisions/{decision['decision_id']}"))
    assert record["events"] == []


def test_a_malformed_body_is_422_naming_the_field_path(shared_server: Server) -> None:
    body = decision_body(new_user("malformed"))
    del body["context"]["placement"]
    body["context"]["signals"][0]["seconds_ago"] = "soon"

    found = problems(json_of(shared_server.client.post("/v1/decisions", json=body), 422))

    assert "body.context.placement" in found
    assert "body.context.signals.0.seconds_ago" in found


def test_an_unexpected_field_is_422(shared_server: Server) -> None:
    body = {**decision_body(new_user("extra")), "dark_pattern": True}

    found = problems(json_of(shared_server.client.post("/v1/decisions", json=body), 422))

    assert "body.dark_pattern" in found


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_numeric_feature_is_422(shared_server: Server, number: str) -> None:
    body = decision_body(new_user("nan"))
    body["context"]["numeric"] = {"docs_open": 1.0}
    text = httpx.Request("POST", "/", json=body).content.decode()
    text = text.replace('"docs_open":1.0', f'"docs_open":{number}').replace(
        '"docs_open": 1.0', f'"docs_open": {number}'
    )
    assert number in text

    response = shared_server.client.post(
        "/v1/decisions", content=text, headers={"content-type": "application/json"}
    )

    found = problems(json_of(response, 422))
    assert any(where.startswith("body.context.numeric") for where in found), found


def test_an_unknown_offer_id_in_renderable_is_422(shared_server: Server) -> None:
    body = decision_body(new_user("renderable"), renderable=["storage_200", "free_lunch"])

    response = shared_server.client.post("/v1/decisions", json=body)

    payload = json_of(response, 422)
    assert payload["error"] == "unknown offer"
    assert "free_lunch" in payload["detail"]


def test_a_body_over_the_limit_is_413_json(shared_server: Server) -> None:
    body = decision_body(new_user("large"))
    body["context"]["categorical"] = {"padding": "x" * 64}
    body["context"]["numeric"] = {f"n{i}": float(i) for i in range(MAX_BODY_BYTES // 8)}

    response = shared_server.client.post("/v1/decisions", json=body)

    payload = json_of(response, 413)
    assert payload["error"] == "request body too large"


def test_a_chunked_body_over_the_limit_is_413_json(shared_server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"user_id": "chunked", "session_id": "s", "context": {"placement": "'
        for _ in range(MAX_BODY_BYTES // 512 + 2):
            yield b"x" * 512
        yield b'"}}'

    response = shared_server.client.post(
        "/v1/decisions", content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert json_of(response, 413)["error"] == "request body too large"


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("GET", f"/v1/decisions/{UNKNOWN_ID}", None, 404),
        ("GET", "/v1/decisions/not%20an%20id", None, 422),
        ("POST", "/v1/decisions", "not json", 422),
        ("POST", "/v1/decisions", {}, 422),
        ("POST", f"/v1/decisions/{UNKNOWN_ID}/events", {"kind": "clicked"}, 422),
        ("POST", f"/v1/decisions/{UNKNOWN_ID}/events", {"kind": "shown", "value": -1}, 422),
        ("PUT", "/v1/users/a%20b/preferences", {"opted_out": True}, 422),
        ("PUT", "/v1/users/someone/preferences", {"opted_out": "maybe"}, 422),
        ("DELETE", "/v1/decisions", None, 405),
        ("GET", "/v1/nowhere", None, 404),
    ],
)
def test_every_error_response_is_json(
    shared_server: Server, method: str, path: str, payload: object, status: int
) -> None:
    if isinstance(payload, str):
        response = shared_server.client.request(
            method, path, content=payload, headers={"content-type": "application/json"}
        )
    else:
        response = shared_server.client.request(method, path, json=payload)

    body = json_of(response, status)
    assert isinstance(body["error"], str)
    assert "Traceback" not in response.text
