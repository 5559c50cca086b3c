"""The factory in space: simulate and plan a closed-loop additive-manufacturing factory.

- ``scenario``: TOML scenarios (issue 15 keys) read into checked frozen dataclasses
- ``loops``: analytic closed forms of material loops (the cross-check of the simulation)
- ``simulation``: the SimPy discrete-event model, ``simulate(scenario, seed) -> Result``
- ``buildplan``: nesting on the build plate (rectpack) and layer-wise build time
- ``sweep``: grids and Latin hypercubes of scenario keys through any executor
- ``genealogy``: a run's recycling as EPCIS 2.0 TransformationEvents
- ``charts``: server-side SVG (stock by quality band, Sankey of flows, bars)
- ``service`` / ``store``: simulation jobs of the API and their table
"""

from mics.factory.scenario import Scenario, load, parse, shipped

__all__ = ["Scenario", "load", "parse", "shipped"]
