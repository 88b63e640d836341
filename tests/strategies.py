"""Hypothesis strategies for decision points, shared by the features and policy tests."""

from __future__ import annotations

from hypothesis import strategies as st

from features import History, SessionContext

NAMES = st.text(alphabet="abcXYZ019_.:-", min_size=1, max_size=12)
FINITE = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
SIGNALS = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(
            ["task_completed", "limit_reached", "action_repeated", "solo_success"]
        ),
        "seconds_ago": st.floats(min_value=0.0, max_value=86400.0),
    },
    optional={"limit": NAMES, "usage": st.floats(0.0, 1.0), "action": NAMES},
)
CONTEXTS = st.fixed_dictionaries(
    {
        "placement": NAMES,
        "signals": st.lists(SIGNALS, max_size=4),
        "activity": st.fixed_dictionaries(
            {
                "focus_heavy": st.booleans(),
                "stage": st.sampled_from(["idle", "started", "mid_task", "completed"]),
            }
        ),
        "account": st.fixed_dictionaries(
            {
                "plan": NAMES,
                "seats": st.integers(0, 1_000_000),
                "tenure_days": st.floats(0.0, 36500.0),
            }
        ),
        "numeric": st.dictionaries(NAMES, FINITE, max_size=4),
        "categorical": st.dictionaries(NAMES, NAMES, max_size=4),
    }
).map(SessionContext.model_validate)
HISTORIES = st.builds(
    History,
    seconds_since_last_offer=st.none() | st.floats(0.0, 1e8),
    seconds_since_last_dismissal=st.none() | st.floats(0.0, 1e8),
    dismissals=st.integers(0, 100),
    offers_this_session=st.integers(0, 100),
)
