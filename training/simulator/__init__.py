"""A population of simulated users whose behaviour follows tactful's upsell principles."""

from training.simulator.choosers import (
    Chooser,
    InformedRulesPolicy,
    OracleChooser,
    PolicyChooser,
    PushyChooser,
    RulesPolicy,
)
from training.simulator.effects import Effects
from training.simulator.population import SimUser, population, session
from training.simulator.run import Tally, simulate

__all__ = [
    "Chooser",
    "Effects",
    "InformedRulesPolicy",
    "OracleChooser",
    "PolicyChooser",
    "PushyChooser",
    "RulesPolicy",
    "SimUser",
    "Tally",
    "population",
    "session",
    "simulate",
]
