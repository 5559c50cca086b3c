"""Product footprints, circularity and variants on the demo registry, checked by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from tests.databases import Templates

from mics import registry
from mics.db import Database
from mics.errors import InvalidInput, NotFound
from mics.footprint import service
from mics.footprint.inventory import Part, life_cycle
from mics.footprint.parameters import shipped_parameters
from mics.footprint.profile import check_profiles, profile_for
from mics.footprint.variants import parse
from mics.registry.schemas import ComponentIn, MaterialPatch, ProductIn

DEMO = ("borsa-aurora", "sedia-quercia", "pinza-robotica")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Database]:
    """One demo registry (SQLite) shared by the tests that only read it."""
    db = templates.sqlite("demo", tmp_path_factory.mktemp("fp") / "demo.db")
    yield db
    db.dispose()


def gwp(process: str) -> float:
    """Cradle-to-gate GWP100 of one unit of ``process`` by a direct sparse solve of A s = f."""
    system = service.system_for()
    f = np.zeros(len(system.processes))
    f[system.index[process]] = 1.0
    supply = spsolve(sp.csc_matrix(system.technosphere), f)
    return float(system.characterisation["gwp100"] @ (system.biosphere @ supply))


@pytest.mark.parametrize("product", DEMO)
def test_by_stage_and_by_material_sum_to_the_total(demo: Database, product: str) -> None:
    result = service.footprint(demo, product).as_json()
    assert result["gwp100"] > 0
    assert sum(result["by_stage"].values()) == pytest.approx(result["gwp100"], rel=1e-12)
    assert sum(result["by_material"].values()) == pytest.approx(result["gwp100"], rel=1e-12)
    assert sum(result["by_process"].values()) == pytest.approx(result["gwp100"], rel=1e-12)
    assert result["gwp100"] == pytest.approx(result["indicators"]["gwp100"]["value"], rel=1e-9)
    assert set(result["by_stage"]) == {
        "materials",
        "manufacturing",
        "transport",
        "use",
        "end_of_life",
    }


def test_bag_materials_stage_equals_a_hand_computation(demo: Database) -> None:
    # mass x yield of the route (manufacturing.csv) / kg per unit (conversions.csv)
    expected = (
        0.62 * 1.25 / 1.1 * gwp("leather_chrome_tanned")
        + 0.12 * 1.1 * gwp("cotton_fabric")
        + 0.01 * 1.1 * gwp("polyester_thread")
        # the registry's 30 % recycled brass: a virgin/recycled mix (recycling_routes.csv)
        + 0.09 * 1.1 * (0.7 * gwp("brass") + 0.3 * gwp("brass_recycled"))
    )
    stages = service.footprint(demo, "borsa-aurora").by_stage
    assert stages["materials"] == pytest.approx(expected, rel=1e-9)
    assert stages["use"] == 0.0


def test_gripper_use_phase_is_kwh_per_year_times_lifetime_of_italian_grid(
    demo: Database,
) -> None:
    stages = service.footprint(demo, "8012345000258").by_stage  # by GTIN
    assert stages["use"] == pytest.approx(57.6 * 8 * gwp("electricity_it"), rel=1e-9)
    assert stages["use"] == pytest.approx(57.6 * 8 * 0.341, rel=0.01)


def test_chair_end_of_life_follows_the_wood_shares(demo: Database) -> None:
    wood = 4.2 + 0.9
    rest = 0.05 * (0.1 * gwp("landfill_metal") + 0.05 * gwp("incineration_metal"))
    # varnish 10 % bio-based: that share to the wood (biogenic) processes, the rest to plastics
    fossil = 0.15 * 0.9 + 0.04
    chemicals = 0.5 * fossil * (gwp("landfill_plastic") + gwp("incineration_plastic"))
    chemicals += 0.5 * 0.15 * 0.1 * (gwp("landfill_wood") + gwp("incineration_wood"))
    expected = wood * (0.3 * gwp("landfill_wood") + 0.5 * gwp("incineration_wood"))
    stages = service.footprint(demo, "sedia-quercia").by_stage
    assert stages["end_of_life"] == pytest.approx(expected + rest + chemicals, rel=1e-9)


def test_vegetable_tanning_differs_from_chrome_as_the_data_say(demo: Database) -> None:
    (alt,) = service.alternatives(demo, "borsa-aurora", ["vegetable-tanning"], iterations=100)
    bought = 0.62 * 1.25
    expected = bought / 1.17 * gwp("leather_vegetable_tanned") - bought / 1.1 * gwp(
        "leather_chrome_tanned"
    )
    delta = alt.alternative.by_stage["materials"] - alt.baseline.by_stage["materials"]
    assert delta == pytest.approx(expected, rel=1e-9)
    assert delta != 0.0
    assert alt.alternative.by_material["leather-vegetable"] > 0
    assert "leather-chrome" not in alt.alternative.by_material


def test_recycled_aluminium_is_lower_significantly_and_more_circular(demo: Database) -> None:
    (alt,) = service.alternatives(demo, "pinza-robotica", ["recycled-aluminium"], iterations=200)
    # the recycled material is 95 % recycled: 5 % of it stays primary (recycling_routes.csv)
    expected = 0.65 * 1.5 * 0.95 * (gwp("aluminium_recycled") - gwp("aluminium_primary"))
    assert alt.alternative.total - alt.baseline.total == pytest.approx(expected, rel=1e-9)
    assert alt.alternative.total < alt.baseline.total
    assert alt.comparison is not None
    assert alt.comparison.significant
    assert alt.comparison.high < 0
    assert alt.alternative_mci > alt.baseline_mci


def test_longer_life_lowers_the_yearly_footprint_and_raises_the_mci(demo: Database) -> None:
    (alt,) = service.alternatives(demo, "sedia-quercia", ["longer-life"], iterations=100)
    assert alt.alternative.total == pytest.approx(alt.baseline.total)  # a chair uses no energy
    assert alt.alternative.per_year == pytest.approx(alt.baseline.total / 25)
    assert alt.baseline.per_year == pytest.approx(alt.baseline.total / 15)
    assert alt.alternative_mci > alt.baseline_mci
    body = alt.as_json()
    assert body["delta"]["per_year"] < 0
    assert body["significant"] is True


def test_inline_variant_swaps_supplier_country(demo: Database) -> None:
    (alt,) = service.alternatives(demo, "sedia-quercia", ["country:oak-timber=CN"], iterations=0)
    assert alt.comparison is None
    bought = 4.2 * 1.5 / 1000
    sea, lorry = gwp("transport_sea"), gwp("transport_lorry")
    expected = bought * (16000 * sea + 700 * lorry) - bought * 300 * lorry
    delta = alt.alternative.by_stage["transport"] - alt.baseline.by_stage["transport"]
    assert delta == pytest.approx(expected, rel=1e-9)


def test_monte_carlo_is_seeded_and_its_interval_brackets_the_median(demo: Database) -> None:
    one = service.footprint(demo, "borsa-aurora", monte_carlo=200, seed=3).as_json()
    two = service.footprint(demo, "borsa-aurora", monte_carlo=200, seed=3).as_json()
    other = service.footprint(demo, "borsa-aurora", monte_carlo=200, seed=4).as_json()
    low, high = one["gwp100_interval"]
    assert one["gwp100_interval"] == two["gwp100_interval"]
    assert one["gwp100_interval"] != other["gwp100_interval"]
    assert low < one["monte_carlo"]["median"] < high
    assert low < one["gwp100"] < high


def test_circularity_of_the_gripper(demo: Database) -> None:
    circ = service.circularity(demo, "pinza-robotica")
    masses = {"aluminium-primary": 0.65, "steel-316l": 0.3, "copper-wire": 0.05}
    recycled = 0.3 * 0.6 + 0.05 * 0.35
    assert circ.mci.mass == pytest.approx(1.65)
    assert circ.mci.recycled_content == pytest.approx(recycled / 1.65)
    assert circ.mci.utility == pytest.approx(8 / 6)  # lifetime 8 against 6 on average
    housing = next(m for m in circ.cff if m.material == "aluminium-primary")
    e_v, e_rec = gwp("aluminium_primary"), gwp("aluminium_recycled")
    # R2 = 95 % collected (profile) x 94 % remelting yield; ErecEoL remelting, E*v primary
    # the disposal term (1 - R2 - R3) ED takes the landfill share and the recycling losses
    r2 = 0.95 * 0.94
    per_kg = e_v + (1 - 0.2) * r2 * (e_rec - e_v) + (1 - r2) * gwp("landfill_metal")
    assert housing.result.total == pytest.approx(masses["aluminium-primary"] * per_kg, rel=1e-9)
    assert 0.0 < circ.mci.mci < 1.0
    assert circ.as_json()["cff"]["total"] == pytest.approx(circ.cff_total)


def test_sub_products_are_expanded(demo_db: Database) -> None:
    registry.create_product(
        demo_db,
        ProductIn(
            id="set-viaggio",
            gtin="8012345000098",
            name="Travel set",
            sector="fashion",
            brand="maison-aurora",
            lifetime_years=10,
            components=[
                ComponentIn(name="Bag", product="borsa-aurora", mass_kg=0.84, process="none"),
                ComponentIn(name="Strap", material="leather-chrome", mass_kg=0.1, process="sewing"),
            ],
        ),
    )
    bag = service.footprint(demo_db, "borsa-aurora").by_stage["materials"]
    both = service.footprint(demo_db, "set-viaggio").by_stage["materials"]
    assert both - bag == pytest.approx(0.1 * 1.1 / 1.1 * gwp("leather_chrome_tanned"), rel=1e-9)


def test_material_without_lca_process_is_named(demo_db: Database) -> None:
    registry.update_material(demo_db, "brass-hardware", MaterialPatch(lca_process=None))
    with pytest.raises(InvalidInput, match=r"brass-hardware.*lca_process"):
        service.footprint(demo_db, "borsa-aurora")
    registry.update_material(demo_db, "brass-hardware", MaterialPatch(lca_process="brasss"))
    with pytest.raises(InvalidInput, match=r"missing provider.*'brasss'"):
        service.footprint(demo_db, "borsa-aurora")


def test_unknown_product_variant_and_iterations(demo: Database) -> None:
    with pytest.raises(NotFound, match="nope"):
        service.footprint(demo, "nope")
    with pytest.raises(NotFound, match="vegetable-tanning"):
        service.alternatives(demo, "borsa-aurora", ["cheaper"])
    with pytest.raises(InvalidInput, match="iterations"):
        service.footprint(demo, "borsa-aurora", monte_carlo=1)
    with pytest.raises(InvalidInput, match="no material 'oak-timber'"):
        service.alternatives(demo, "borsa-aurora", ["material:oak-timber=beech-timber"])


def test_bad_parts_lifetimes_units_and_shares_raise() -> None:
    params = shipped_parameters()
    system = service.system_for()
    units = {p.id: p.unit for p in system.processes}
    profile = profile_for("x", "fashion")
    part = Part(
        "Body", "leather-chrome", "leather", "leather_chrome_tanned", 1.0, "none", "IT", 0.0, 1.0
    )
    assert life_cycle("x", [part], 1.0, profile, params, units).lines
    with pytest.raises(InvalidInput, match="lifetime"):
        life_cycle("x", [part], 0.0, profile, params, units)
    with pytest.raises(InvalidInput, match="unknown manufacturing process 'laser_cutting'"):
        life_cycle("x", [replace(part, process="laser_cutting")], 1.0, profile, params, units)
    with pytest.raises(InvalidInput, match=r"unknown units.*conversions\.csv"):
        life_cycle("x", [part], 1.0, profile, replace(params, kg_per_unit={}), units)
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        life_cycle("x", [replace(part, recycled_share=1.5)], 1.0, profile, params, units)
    with pytest.raises(InvalidInput, match="mass"):
        life_cycle("x", [replace(part, mass_kg=-1.0)], 1.0, profile, params, units)
    with pytest.raises(InvalidInput, match="lifetime"):
        parse("lifetime=0", "x")
    with pytest.raises(InvalidInput, match="cannot read"):
        parse("colour=red", "x")
    bad = {"products": {"x": {"collected_for_reuse": 1.2, "source": "test"}}}
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        check_profiles(bad, "test")
    bad = {
        "products": {
            "x": {
                "end_of_life": {"metal": {"landfill": 0.5, "incineration": 0.2, "recycling": 0.2}},
                "source": "t",
            }
        }
    }
    with pytest.raises(InvalidInput, match="add up to 1"):
        check_profiles(bad, "test")


def test_profile_defaults_are_documented_not_silent() -> None:
    profile = profile_for("unknown-product", "factory-automation")
    assert profile.use_kwh_per_year == 40.0
    assert any("use_kwh_per_year = 40.0 (default for sector" in a for a in profile.assumptions)
    assert any(a.startswith("source of the MICS default") for a in profile.assumptions)


def test_the_compiled_system_is_cached() -> None:
    assert service.system_for() is service.system_for()


def test_a_result_is_kept_while_the_product_and_the_settings_are_the_same(
    demo_db: Database,
) -> None:
    """Repeated requests (the public's default page) cost one run, until the registry changes."""
    first = service.footprint(demo_db, "borsa-aurora", monte_carlo=100)
    assert service.footprint(demo_db, "borsa-aurora", monte_carlo=100) is first
    assert service.footprint(demo_db, "borsa-aurora", monte_carlo=100, seed=1) is not first
    assert service.footprint(demo_db, "08012345000012", monte_carlo=100) is first  # by GTIN
    variants = service.alternatives(demo_db, "borsa-aurora", iterations=50)
    assert service.alternatives(demo_db, "borsa-aurora", iterations=50) is variants
    registry.update_material(demo_db, "brass-hardware", MaterialPatch(country="CN"))
    moved = service.footprint(demo_db, "borsa-aurora", monte_carlo=100)
    assert moved is not first
    assert moved.total > first.total  # shipped from farther away
    assert service.alternatives(demo_db, "borsa-aurora", iterations=50) is not variants
