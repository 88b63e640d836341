"""Opting out over HTTP: no offer at all until the user opts back in."""

from __future__ import annotations

from bandit import Catalog
from tests.serving.server import Server, decide, json_of, new_user


def set_opted_out(server: Server, user_id: str, opted_out: bool) -> None:
    """PUT the user's preference and check the echo."""
    response = server.client.put(f"/v1/users/{user_id}/preferences", json={"opted_out": opted_out})
    assert json_of(response) == {"opted_out": opted_out}


def test_an_opted_out_user_gets_no_offer_and_every_offer_is_removed_as_opted_out(
    shared_server: Server, catalog: Catalog
) -> None:
    user_id = new_user("opted-out")
    set_opted_out(shared_server, user_id, True)

    decisions = [decide(shared_server.client, user_id) for _ in range(3)]

    for decision in decisions:
        assert decision["offer"] is None
        assert decision["explanation"]["eligible"] == ["no_offer"]
        removed = {r["offer_id"]: r["code"] for r in decision["explanation"]["removed"]}
        assert removed == dict.fromkeys(catalog.offers, "opted_out")


def test_opting_back_in_restores_eligibility(shared_server: Server) -> None:
    user_id = new_user("opted-in")
    set_opted_out(shared_server, user_id, True)
    set_opted_out(shared_server, user_id, False)

    decision = decide(shared_server.client, user_id)

    codes = {r["code"] for r in decision["explanation"]["removed"]}
    assert "opted_out" not in codes
    assert len(decision["explanation"]["eligible"]) > 1


def test_an_opted_out_event_opts_the_user_out(shared_server: Server) -> None:
    user_id = new_user("event-opt-out")
    first = decide(shared_server.client, user_id, renderable=[])
    event = shared_server.client.post(
        f"/v1/decisions/{first['decision_id']}/events", json={"kind": "opted_out"}
    )
    json_of(event)

    after = decide(shared_server.client, user_id)

    assert after["offer"] is None
    assert {r["code"] for r in after["explanation"]["removed"]} == {"opted_out"}
