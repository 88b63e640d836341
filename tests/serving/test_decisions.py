"""The main path over real HTTP: decide, report what the user did, audit the record."""

from __future__ import annotations

import httpx
import pytest

from bandit import Catalog
from tests.serving.server import (
    Server,
    decide,
    decide_offer,
    decision_body,
    json_of,
    new_user,
)


def follow_up_of(catalog: Catalog, offer_id: str, accepted: bool = True) -> dict[str, str | None]:
    """The follow-up of an offer after a yes (or a no), as the API renders it."""
    follow_up = catalog[offer_id].follow_up
    return {
        "confirmation": follow_up.confirmation if accepted else None,
        "acknowledgement": None if accepted else follow_up.acknowledgement,
        "revisit": follow_up.revisit,
        "tip": follow_up.tip,
    }


def post_event(client: httpx.Client, decision_id: str, kind: str) -> dict[str, object]:
    """POST one event and return its body."""
    return json_of(client.post(f"/v1/decisions/{decision_id}/events", json={"kind": kind}))


def test_accepting_a_shown_offer_returns_its_follow_up(
    shared_server: Server, catalog: Catalog
) -> None:
    client = shared_server.client
    _, decision = decide_offer(client, "accepting")
    offer_id = decision["offer"]["id"]

    shown = post_event(client, decision["decision_id"], "shown")
    accepted = post_event(client, decision["decision_id"], "accepted")

    assert shown["follow_up"] is None
    assert shown["duplicate"] is False
    assert accepted["follow_up"] == follow_up_of(catalog, offer_id)
    assert accepted["follow_up"]["confirmation"] == catalog[offer_id].follow_up.confirmation


@pytest.mark.parametrize("offer_id", ["team_invite", "storage_200"])
def test_dismissed_follow_up_never_confirms_a_purchase(
    shared_server: Server, catalog: Catalog, offer_id: str
) -> None:
    client = shared_server.client
    _, decision = decide_offer(client, "dismissing", renderable=[offer_id])

    post_event(client, decision["decision_id"], "shown")
    dismissed = post_event(client, decision["decision_id"], "dismissed")

    follow_up = dismissed["follow_up"]
    assert follow_up == follow_up_of(catalog, offer_id, accepted=False)
    assert follow_up["confirmation"] is None
    assert follow_up["acknowledgement"] == catalog[offer_id].follow_up.acknowledgement
    assert catalog[offer_id].follow_up.confirmation not in str(follow_up)


def test_a_retried_dismissal_still_only_acknowledges(
    shared_server: Server, catalog: Catalog
) -> None:
    client = shared_server.client
    _, decision = decide_offer(client, "retry-dismiss")

    post_event(client, decision["decision_id"], "dismissed")
    retried = post_event(client, decision["decision_id"], "dismissed")

    assert retried["duplicate"] is True
    assert retried["follow_up"] == follow_up_of(catalog, decision["offer"]["id"], accepted=False)


def test_a_decision_with_nothing_renderable_answers_offer_null(shared_server: Server) -> None:
    decision = decide(shared_server.client, new_user("nothing"), renderable=[])

    assert decision["offer"] is None
    assert decision["explanation"]["eligible"] == ["no_offer"]
    codes = {removal["code"] for removal in decision["explanation"]["removed"]}
    assert codes == {"not_renderable"}


def test_a_decision_offers_only_what_the_client_can_render(shared_server: Server) -> None:
    _, decision = decide_offer(shared_server.client, "renderable", renderable=["storage_200"])

    assert decision["offer"]["id"] == "storage_200"
    assert set(decision["explanation"]["eligible"]) == {"no_offer", "storage_200"}


def test_the_decision_record_shows_events_status_and_after_closing_the_reward(
    shared_server: Server,
) -> None:
    client = shared_server.client
    _, decision = decide_offer(client, "audit")
    decision_id = decision["decision_id"]
    post_event(client, decision_id, "shown")
    post_event(client, decision_id, "accepted")

    before = json_of(client.get(f"/v1/decisions/{decision_id}"))
    closed = json_of(client.post("/v1/admin/windows/close", params={"force": "true"}))
    after = json_of(client.get(f"/v1/decisions/{decision_id}"))

    assert before["decision_id"] == decision_id
    assert before["chosen"] == decision["offer"]["id"]
    assert before["probability"] == pytest.approx(decision["probability"])
    assert [e["kind"] for e in before["events"]] == ["shown", "accepted"]
    assert all(e["in_window"] for e in before["events"])
    assert (before["status"], before["reward"]) == ("open", None)
    assert closed["closed"] >= 1
    assert after["status"] == "joined"
    assert after["reward"] == pytest.approx(1.0)  # shown 0.0 + accepted 1.0 in tactful.toml


def test_no_response_body_ever_contains_the_user_id(shared_server: Server) -> None:
    client = shared_server.client
    user_id, decision = decide_offer(client, "private-user")
    decision_id = decision["decision_id"]
    responses = [
        client.post("/v1/decisions", json=decision_body(user_id, renderable=[])),
        client.post(f"/v1/decisions/{decision_id}/events", json={"kind": "shown"}),
        client.post(f"/v1/decisions/{decision_id}/events", json={"kind": "dismissed"}),
        client.get(f"/v1/decisions/{decision_id}"),
        client.put(f"/v1/users/{user_id}/preferences", json={"opted_out": True}),
        client.post("/v1/decisions", json=decision_body(user_id)),
        client.put(f"/v1/users/{user_id}/preferences", json={"opted_out": False}),
    ]

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    for response in responses:
        assert user_id not in response.text


def test_posting_the_same_event_twice_stores_it_once(shared_server: Server) -> None:
    client = shared_server.client
    _, decision = decide_offer(client, "retrying")
    decision_id = decision["decision_id"]

    first = post_event(client, decision_id, "shown")
    second = post_event(client, decision_id, "shown")
    record = json_of(client.get(f"/v1/decisions/{decision_id}"))

    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert second["at"] == first["at"]
    assert [e["kind"] for e in record["events"]] == ["shown"]


def test_a_retried_acceptance_still_carries_the_follow_up(
    shared_server: Server, catalog: Catalog
) -> None:
    client = shared_server.client
    _, decision = decide_offer(client, "retry-accept")
    decision_id = decision["decision_id"]

    post_event(client, decision_id, "accepted")
    retried = post_event(client, decision_id, "accepted")
    record = json_of(client.get(f"/v1/decisions/{decision_id}"))

    assert retried["duplicate"] is True
    assert retried["follow_up"] == follow_up_of(catalog, decision["offer"]["id"])
    assert [e["kind"] for e in record["events"]] == ["accepted"]


def test_offers_tell_clients_how_to_draw_both_choices_and_the_total_price(
    shared_server: Server, catalog: Catalog
) -> None:
    views = shared_server.client.get("/v1/offers").json()

    assert [view["id"] for view in views] == list(catalog.offers)
    for view in views:
        offer = catalog[view["id"]]
        assert (view["cta_style"], view["dismiss_style"]) == ("primary", "secondary")
        assert view["trial"] is None
        assert offer.price is not None
        assert view["price"]["total"] == offer.price.total
        assert view["price"]["label"] == offer.price.label()
