"""Small scenarios with analytic answers, written as issue-15 TOML."""

from __future__ import annotations

from mics.factory import Scenario, parse


def loop_scenario(
    *,
    initial_kg: float = 100.0,
    yield_: float = 0.8,
    life_days: float = 5.0,
    every_days: float = 1.0,
    mass_kg: float = 1.0,
    refresh: float = 0.0,
    quality: str = "",
    demand: str = "",
    stochastic: bool = False,
    horizon_days: float = 2000.0,
) -> Scenario:
    """One material, one fast printer, one fast recycler, no supports or scrap: the
    only delay in the loop is the part's service life, the only loss the yield."""
    demand = demand or f'{{ kind = "scheduled", every_days = {every_days} }}'
    return parse(f"""
[scenario]
name = "loop"
horizon_days = {horizon_days}
seed = 1
resupply = "none"
stochastic = {str(stochastic).lower()}
sample_days = 10

[[material]]
id = "m"
kind = "metal_powder"
initial_kg = {initial_kg}
refresh_fraction = {refresh}
{quality}

[[machine]]
id = "printer"
process = "lpbf"
materials = ["m"]
build_volume_mm = [100, 100, 100]
layer_mm = 1.0
recoat_s = 0.0
scan_mm3_per_s = 1e9
power_kw = 1.0
availability = 1.0

[[recycler]]
id = "atomiser"
process = "gas_atomiser"
material = "m"
yield = {yield_}
kwh_per_kg = 5.0
kg_per_hour = 1e9

[[part]]
id = "p"
material = "m"
mass_kg = {mass_kg}
bbox_mm = [90, 90, 10]
support_fraction = 0.0
life_days = {life_days}
demand = {demand}
""")
