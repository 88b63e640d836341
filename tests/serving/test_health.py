"""Liveness, readiness, metrics and logs of a running server."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.serving.conftest import CLIENT_KEY
from tests.serving.server import (
    Server,
    decide,
    decide_offer,
    decision_body,
    json_of,
    new_user,
    sample,
    wait_for,
)


def test_healthz_answers_ok(shared_server: Server) -> None:
    assert json_of(shared_server.client.get("/healthz")) == {"status": "ok"}


def test_readyz_is_200_with_the_serving_policy_version(shared_server: Server) -> None:
    ready = json_of(shared_server.client.get("/readyz"))
    model = json_of(shared_server.client.get("/v1/admin/model"))

    assert ready["ready"] is True
    assert ready["problems"] == []
    assert ready["policy_version"] == model["policy_version"]


def test_metrics_count_decisions_by_offer_and_time_requests(shared_server: Server) -> None:
    client = shared_server.client
    decide(client, new_user("metrics"), renderable=[])
    _, shown = decide_offer(client, "metrics")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "tactful_decisions_total", offer="no_offer") >= 1
    assert sample(text, "tactful_decisions_total", offer=shown["offer"]["id"]) >= 1
    assert sample(text, "tactful_request_seconds_count", route="/v1/decisions") >= 2
    assert 'tactful_request_seconds_bucket{le="0.001",route="/v1/decisions"}' in text
    assert sample(text, "tactful_removals_total", code="not_renderable") >= 1


def log_lines(server: Server) -> list[dict[str, Any]]:
    """The lines of the server's stderr, each a JSON object (uvicorn's own lines too)."""
    return [json.loads(line) for line in server.stderr().splitlines() if line.strip()]


def test_the_server_logs_json_lines_only(shared_server: Server) -> None:
    entries = log_lines(shared_server)

    assert any(e["message"] == "tactful ready" for e in entries)
    assert any(e["message"] == "Application startup complete." for e in entries)
    for entry in entries:
        assert {"ts", "level", "logger", "message"} <= set(entry)
        assert entry["logger"].startswith(("tactful", "uvicorn"))


def test_a_log_line_written_while_deciding_carries_the_decision_id(
    shared_server: Server,
) -> None:
    user_id = new_user("logged")
    decision = decide(shared_server.client, user_id)
    decision_id = decision["decision_id"]

    def logged() -> bool:
        return any(e.get("decision_id") == decision_id for e in log_lines(shared_server))

    wait_for(logged, 10, f"a log line with decision_id {decision_id}")
    carrying = [e for e in log_lines(shared_server) if e.get("decision_id") == decision_id]
    [decided] = [e for e in carrying if e["logger"].startswith("tactful")]
    assert decided["message"] == "decided"
    assert decided["offer"] == (decision["offer"] or {"id": "no_offer"})["id"]
    assert decided["probability"] == decision["probability"]
    assert user_id not in shared_server.stderr()


def test_a_server_without_keys_warns_that_it_is_open(shared_server: Server) -> None:
    assert "NO API KEYS CONFIGURED" in shared_server.stderr()


def test_server_timing_is_off_by_default(shared_server: Server) -> None:
    response = shared_server.client.post("/v1/decisions", json=decision_body(new_user("timing")))

    assert response.status_code == 200
    assert "server-timing" not in response.headers


def test_server_timing_reports_the_apps_own_share_of_each_response(keyed_server: Server) -> None:
    """On, every response says how long the app took: no longer than the client waited."""
    body = decision_body(new_user("timing"))
    for headers, status in (({"X-API-Key": CLIENT_KEY}, 200), ({}, 401)):
        tick = time.perf_counter()
        response = keyed_server.client.post("/v1/decisions", json=body, headers=headers)
        waited_ms = (time.perf_counter() - tick) * 1000.0

        assert response.status_code == status
        timing = re.fullmatch(r"app;dur=(\d+\.\d{3})", response.headers["server-timing"])
        assert timing is not None, response.headers["server-timing"]
        assert 0.0 <= float(timing[1]) <= waited_ms
