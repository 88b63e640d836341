"""The wrk driver: its Lua script and its reading of wrk's report."""

from __future__ import annotations

import pytest

from bench.wrk import lua_string, parse, script

REPORT = """Running 8s test @ http://127.0.0.1:8000/v1/decisions
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    38.21ms   10.02ms  98.10ms   80.00%
    Req/Sec   837.00     40.00     0.90k    70.00%
  Latency Distribution
     50%   36.50ms
     75%   41.00ms
     90%   50.00ms
     99%  812.00us
  6700 requests in 8.00s, 3.10MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:    837.50
Transfer/sec:    396.00KB
"""


def test_the_report_gives_requests_per_second_percentiles_in_ms_and_every_error() -> None:
    result = parse(REPORT)

    assert result.requests_per_second == 837.5
    assert result.requests == 6700
    assert result.p50_ms == 36.5
    assert result.p99_ms == pytest.approx(0.812)
    assert result.errors == 6


def test_an_unexpected_report_is_refused_with_the_output() -> None:
    with pytest.raises(ValueError, match="unexpected wrk output"):
        parse("wrk: connection refused")


def test_a_lua_string_survives_brackets_in_the_text() -> None:
    assert lua_string("a]]b") == "[=[a]]b]=]"
    assert lua_string("plain") == "[[plain]]"


def test_the_script_sets_each_header_as_a_table_key_not_a_call() -> None:
    lua = script(10, 0, {"X-API-Key": "secret-key"})

    assert "wrk.headers[ [[X-API-Key]] ] = [[secret-key]]" in lua


def test_each_thread_steps_over_every_threads_requests_so_users_rotate() -> None:
    # The count lives in the script: wrk's ``setup`` runs in the main Lua state, and a
    # count kept there stayed 0 in each thread's state, so one user got every request.
    lua = script(10, 5, {}, threads=3)

    assert "local users, offset, threads = 10, 5, 3" in lua
    assert "counter = counter + threads" in lua
    assert "step" not in lua
