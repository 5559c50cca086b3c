"""The factory in space: simulate and plan a closed-loop additive-manufacturing factory.

- ``scenario``: TOML scenarios (issue 15 keys) read into checked frozen dataclasses
- ``loops``: analytic closed forms of material loops (the cross-check of the simulation)
- ``simulation``: the SimPy discrete-event model, ``simulate(scenario, seed) -> Result``
"""

from mics.factory.scenario import Scenario, load, parse, shipped

__all__ = ["Scenario", "load", "parse", "shipped"]
