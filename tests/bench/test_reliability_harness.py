"""The reliability harness: its proxy's counts, and one replica scenario at a tiny size.

The full scenarios run in ``make reliability``; here the harness itself is checked,
since a harness that cuts nothing or races one server proves nothing.
"""

from __future__ import annotations

import socket
from pathlib import Path

from bench.reliability.harness.configs import rules_config
from bench.reliability.harness.proxy import Proxy
from bench.reliability.harness.servers import Fleet, wait_for
from bench.reliability.scenarios.cap_race import race
from bench.reliability.scenarios.postgres_cut import interleave


def test_the_proxy_counts_the_connections_held_open_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen(8)
        proxy = Proxy(upstream.getsockname())
        proxy.open()
        try:
            first = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
            second = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
            accepted = [upstream.accept()[0] for _ in range(2)]
            wait_for(lambda: proxy.connections == 2, 5, "two connections through the proxy")
            first.close()
            wait_for(lambda: proxy.connections == 1, 5, "the closed one to be let go")
            third = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
            accepted.append(upstream.accept()[0])
            wait_for(lambda: proxy.connections == 2, 5, "the third connection")
        finally:
            proxy.close()
        for sock in (second, third, *accepted):
            sock.close()

    assert proxy.peak == 2


def test_outages_and_blips_take_turns() -> None:
    assert interleave(3, 1) == ["outage", "blip", "outage", "outage"]
    assert interleave(1, 2) == ["outage", "blip", "blip"]


def test_a_session_cap_race_over_two_replicas_of_one_sqlite_file_is_won_once(
    tmp_path: Path,
) -> None:
    fleet = Fleet.of(
        "race",
        tmp_path,
        {
            "TACTFUL_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
            "TACTFUL_CONFIG": str(rules_config(tmp_path, window_seconds=60)),
            "TACTFUL_LEARNER": "false",
        },
        2,
    )
    fleet.start()
    try:
        races = race([replica.url for replica in fleet.replicas], rounds=1, width=20)
    finally:
        fleet.stop()

    assert races.offers == [1]
    assert races.failures == 0
