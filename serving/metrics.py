"""Prometheus metrics, one registry per app so tests and several apps never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Everything the service counts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.decisions = Counter(
            "tactful_decisions", "Decisions by chosen action", ["offer"], registry=r
        )
        self.removals = Counter(
            "tactful_removals", "Offers removed by the respect rules", ["code"], registry=r
        )
        self.events = Counter(
            "tactful_events", "Events received", ["kind", "duplicate"], registry=r
        )
        self.rejected_ids = Counter(
            "tactful_unknown_decision_ids", "Events for decision ids never issued", registry=r
        )
        self.forged_reward_tokens = Counter(
            "tactful_forged_reward_tokens",
            "Events refused for a missing or wrong reward token",
            ["reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "tactful_rate_limited",
            "Requests refused by the rate limit, by caller kind (key or address)",
            ["caller"],
            registry=r,
        )
        self.rewards_joined = Counter(
            "tactful_rewards_joined", "Decisions whose reward window closed", registry=r
        )
        self.learned = Counter("tactful_learned", "Decisions the learner learned from", registry=r)
        self.learner_lag = Gauge(
            "tactful_learner_lag", "Closed decisions not yet learned from", registry=r
        )
        self.learner_rounds = Counter(
            "tactful_learner_rounds",
            "Learner rounds finished: each learned every decision it could, then set the lag",
            registry=r,
        )
        self.learner_active = Gauge(
            "tactful_learner_active", "1 while this process holds the learner lease", registry=r
        )
        self.model_swaps = Counter(
            "tactful_model_swaps", "Model swaps by result", ["result"], registry=r
        )
        self.request_seconds = Histogram(
            "tactful_request_seconds",
            "Request latency by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decision_seconds = Histogram(
            "tactful_decision_seconds",
            "Time to decide, including the durable write",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
