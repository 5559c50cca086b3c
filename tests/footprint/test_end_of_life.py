"""End of life by waste family (IPCC 2006 Vol. 5), the CFF's recycling routes, biogenic carbon."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import spsolve
from tests.databases import Templates

from mics.db import Database
from mics.errors import InvalidInput
from mics.footprint import service
from mics.footprint.cff import CffParameters, circular_footprint
from mics.footprint.end_of_life import CO2_PER_C, biogenic_carbon, material_cff
from mics.footprint.inventory import Part
from mics.footprint.parameters import load_parameters, shipped_parameters
from mics.footprint.profile import Profile, check_profiles, profile_for

DEMO = ("borsa-aurora", "sedia-quercia", "pinza-robotica")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Database]:
    db = templates.sqlite("demo", tmp_path_factory.mktemp("eol") / "demo.db")
    yield db
    db.dispose()


def gwp(process: str) -> float:
    """Cradle-to-grave GWP100 of one unit of ``process`` by a direct sparse solve."""
    system = service.system_for()
    f = np.zeros(len(system.processes))
    f[system.index[process]] = 1.0
    supply = spsolve(sp.csc_matrix(system.technosphere), f)
    return float(system.characterisation["gwp100"] @ (system.biosphere @ supply))


def biosphere(process: str) -> dict[str, float]:
    """The direct emissions of one process as the dataset holds them."""
    data = service.shipped_dataset()
    return {
        e.input: e.amount for e in data.exchanges if e.process == process and e.kind == "biosphere"
    }


@pytest.mark.parametrize("family", sorted({f.family for f in shipped_parameters().waste.values()}))
def test_waste_family_rows_follow_ipcc_equations(family: str) -> None:
    """Landfill: IPCC 2006 Vol. 5 Eq. 3.1 mass balance; incineration: Eq. 5.1."""
    (w,) = {f for f in shipped_parameters().waste.values() if f.family == family}
    generated = w.doc * w.docf * w.mcf * w.methane_fraction  # kg C as CH4 per kg waste
    ch4 = generated * (1 - w.gas_recovery) * (1 - w.oxidation) * 16 / 12
    co2 = (
        w.doc * w.docf * w.mcf * (1 - w.methane_fraction)
        + generated * w.gas_recovery
        + generated * (1 - w.gas_recovery) * w.oxidation
    ) * CO2_PER_C
    landfill = biosphere(w.landfill_process)
    assert landfill.get("ch4_biogenic_air", 0.0) == pytest.approx(ch4, rel=1e-5, abs=1e-12)
    assert landfill.get("co2_biogenic_air", 0.0) == pytest.approx(co2, rel=1e-5, abs=1e-12)
    carbon = w.dry_matter * w.carbon_fraction * w.oxidation_factor * CO2_PER_C
    burnt = biosphere(w.incineration_process)
    fossil = carbon * w.fossil_carbon_fraction
    assert burnt.get("co2_fossil_air", 0.0) == pytest.approx(fossil, rel=1e-5, abs=1e-12)
    bio = carbon * (1 - w.fossil_carbon_fraction)
    assert burnt.get("co2_biogenic_air", 0.0) == pytest.approx(bio, rel=1e-5, abs=1e-12)


def test_oak_gets_no_fossil_co2_from_burning_and_leather_does() -> None:
    assert "co2_fossil_air" not in biosphere("incineration_wood")
    # wood: 0.85 dm x 0.5 C x 44/12, all biogenic (IPCC 2006 Vol. 5 Table 2.4, fossil C 0 %)
    assert biosphere("incineration_wood")["co2_biogenic_air"] == pytest.approx(1.5583, rel=1e-4)
    # leather: 0.84 dm x 0.67 C x 20 % fossil x 44/12 = 0.413 kg fossil CO2 per kg
    assert biosphere("incineration_leather")["co2_fossil_air"] == pytest.approx(0.4127, rel=1e-3)
    # the old mixed-waste process booked 0.40 kg fossil CO2 on every kg of oak burned
    assert gwp("incineration_wood") < 0.05 < 0.4 < gwp("incineration_mixed_waste")


def test_landfill_carbon_differs_by_family_and_wood_uses_the_2019_docf() -> None:
    wood = shipped_parameters().waste["landfill_wood"]
    textile = shipped_parameters().waste["landfill_textile_natural"]
    assert (wood.doc, wood.docf) == (0.43, 0.1)
    assert (textile.doc, textile.docf) == (0.24, 0.5)
    assert biosphere("landfill_wood")["ch4_biogenic_air"] == pytest.approx(0.015480, rel=1e-4)
    assert biosphere("landfill_textile_natural")["ch4_biogenic_air"] == pytest.approx(
        0.24 * 0.5 * 0.5 * 16 / 12 * 0.6 * 0.9, rel=1e-4
    )
    assert "ch4_biogenic_air" not in biosphere("landfill_metal")


def test_textile_end_of_life_follows_the_registry_bio_based_share(demo: Database) -> None:
    lines = service.footprint(demo, "borsa-aurora").model.lines
    cotton = {line.process for line in lines if line.material == "cotton-lining"}
    thread = {line.process for line in lines if line.material == "polyester-thread"}
    assert {"landfill_textile_natural", "incineration_textile_natural"} <= cotton
    assert not any("synthetic" in p for p in cotton)
    assert {"landfill_textile_synthetic", "incineration_textile_synthetic"} <= thread


def test_oak_chair_biogenic_carbon_is_kept_apart_and_balances(demo: Database) -> None:
    fp = service.footprint(demo, "sedia-quercia")
    oak = next(b for b in fp.biogenic if b.material == "oak-timber")
    # EN 16449: 44/12 x 0.5 C x 0.85 dm x 4.2 kg
    assert oak.in_product == pytest.approx(4.2 * 0.85 * 0.5 * 44 / 12)
    # wood fate 30 % landfill (DOCf 0.1 of 0.43 DOC degrades), 50 % burnt, 20 % recycled
    degraded = 0.43 * 0.1 / (0.85 * 0.5)
    assert oak.released == pytest.approx(oak.in_product * (0.5 + 0.3 * degraded))
    assert oak.stored_landfill == pytest.approx(oak.in_product * 0.3 * (1 - degraded))
    assert oak.passed_to_recycling == pytest.approx(oak.in_product * 0.2)
    for b in fp.biogenic:
        parts = b.released + b.stored_landfill + b.passed_to_recycling
        assert parts == pytest.approx(b.in_product)
    body = fp.as_json()["biogenic_carbon"]
    assert body["in_product"] == pytest.approx(sum(b.in_product for b in fp.biogenic))
    assert {b.material for b in fp.biogenic} == {"oak-timber", "beech-timber", "water-varnish"}


def _part(material: str, category: str, process: str, **kw: float) -> Part:
    return Part(
        component="c",
        material=material,
        category=category,
        lca_process=process,
        mass_kg=1.0,
        process="none",
        country="IT",
        recycled_share=kw.get("recycled", 0.0),
        bio_based_share=kw.get("bio", 0.0),
    )


def _profile(product: str, sector: str, **routes: tuple[float, float, float]) -> Profile:
    base = profile_for(product, sector)
    return dataclasses.replace(base, end_of_life=routes)


def test_metals_recovered_from_bottom_ash_count_in_r2() -> None:
    profile = _profile("x", "*", metal=(0.0, 1.0, 0.0))  # all incinerated
    notes: list[str] = []
    part = _part("steel", "metal", "stainless_steel")
    cff = material_cff(part, service.system_for(), shipped_parameters(), profile, notes)
    assert cff.parameters.r2 == pytest.approx(0.6)  # end_of_life.csv bottom_ash_recovery
    assert cff.parameters.r3 == pytest.approx(0.4)
    assert cff.result.recycling_end_of_life < 0


def test_no_recycling_route_gives_no_credit_and_no_burden() -> None:
    profile = _profile("x", "*", chemical=(0.2, 0.3, 0.5))  # half "collected for recycling"
    notes: list[str] = []
    part = _part("varnish", "chemical", "water_based_varnish")
    cff = material_cff(part, service.system_for(), shipped_parameters(), profile, notes)
    assert cff.recycling_process is None
    assert cff.parameters.r2 == 0.0
    assert cff.result.recycling_end_of_life == 0.0
    assert any("no recycling route" in n for n in notes)


def test_more_leather_recycling_lowers_the_bag_leather_footprint() -> None:
    """Issue 17: leather rose 11.74 -> 12.37 -> 13.10 with R2 0 -> 0.3 -> 0.65; now it falls."""
    system, params = service.system_for(), shipped_parameters()
    part = _part("leather", "leather", "leather_chrome_tanned", bio=1.0)
    totals = []
    for collected in (0.0, 0.3, 0.65):
        profile = _profile("x", "*", leather=((1 - collected) / 2, (1 - collected) / 2, collected))
        cff = material_cff(part, system, params, profile, [])
        assert cff.parameters.r2 == pytest.approx(collected * 0.5)  # x recycling yield E_C
        totals.append(cff.result.total)
    assert totals[0] > totals[1] > totals[2]


def _demo_products_cff() -> dict[str, list[tuple[float, CffParameters]]]:
    """Per demo product, (mass, CFF parameters) of each of its materials."""
    from mics.demo import load_demo

    db = Database.from_url("sqlite://")
    db.upgrade()
    load_demo(db)
    try:
        return {
            p: [(m.mass_kg, m.parameters) for m in service.circularity(db, p).cff] for p in DEMO
        }
    finally:
        db.dispose()


PRODUCTS_CFF = _demo_products_cff()


@settings(max_examples=100, deadline=None)
@given(
    product=st.sampled_from(DEMO),
    low=st.floats(min_value=0.0, max_value=1.0),
    high=st.floats(min_value=0.0, max_value=1.0),
)
def test_raising_r2_never_raises_a_product_footprint(product: str, low: float, high: float) -> None:
    """The invariant for a whole product: every material that has a route and meets
    ``ErecEoL <= E*v Qsout/Qp`` recycles the same share of what it could; the rest keep R2."""

    def total(share: float) -> float:
        out = 0.0
        for mass, p in PRODUCTS_CFF[product]:
            if p.e_rec_eol <= p.e_v_star * p.q_sout_qp and (p.e_rec_eol or p.e_v_star):
                p = dataclasses.replace(p, r2=share * (1.0 - p.r3))
            out += circular_footprint(p, mass).total
        return out

    a, b = sorted((low, high))
    assert total(b) <= total(a) + 1e-12


def _demo_cff_parameters() -> list[tuple[str, CffParameters]]:
    from mics.demo import load_demo

    db = Database.from_url("sqlite://")
    db.upgrade()
    load_demo(db)
    try:
        return [
            (m.material, m.parameters)
            for p in DEMO
            for m in service.circularity(db, p).cff
            if m.recycling_process
        ]
    finally:
        db.dispose()


DEMO_CFF = _demo_cff_parameters()


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(min_value=0, max_value=len(DEMO_CFF) - 1),
    low=st.floats(min_value=0.0, max_value=1.0),
    high=st.floats(min_value=0.0, max_value=1.0),
)
def test_raising_r2_never_raises_a_material_footprint(k: int, low: float, high: float) -> None:
    """PEF CFF invariant: with ErecEoL <= E*v Qsout/Qp more recycling never costs more."""
    p = DEMO_CFF[k][1]
    assume(p.e_rec_eol <= p.e_v_star * p.q_sout_qp)
    room = 1.0 - p.r3
    r2_low, r2_high = sorted((low * room, high * room))
    less = circular_footprint(dataclasses.replace(p, r2=r2_low)).total
    more = circular_footprint(dataclasses.replace(p, r2=r2_high)).total
    assert more <= less + 1e-12


def test_recycling_credits_all_demo_materials_but_wood() -> None:
    """ErecEoL <= E*v Qsout/Qp for every demo route except wood chipping.

    Chipping and hauling post-consumer wood (150 km) emits more fossil CO2 than
    the virgin roundwood it replaces at the forest road, so wood recycling is a
    small net burden in the CFF: the invariant's condition is a real condition.
    """
    failing = {m for m, p in DEMO_CFF if p.e_rec_eol > p.e_v_star * p.q_sout_qp}
    assert failing == {"oak-timber", "beech-timber"}
    assert len(DEMO_CFF) - len(failing) >= 8


def test_the_chairs_wood_biogenic_totals_use_the_family_parameters(demo: Database) -> None:
    facts = service.product_facts(demo, "sedia-quercia")
    balance = biogenic_carbon(facts.parts, shipped_parameters(), profile_for(facts.id, "furniture"))
    beech = next(b for b in balance if b.material == "beech-timber")
    assert beech.family == "wood"
    assert beech.in_product == pytest.approx(0.9 * 0.85 * 0.5 * 44 / 12)


@pytest.mark.parametrize(
    ("name", "old", "new", "column"),
    [
        ("waste_carbon.csv", "incineration_wood,0.85,0.43", "incineration_wood,0.85,1.43", "doc"),
        ("grid_scenarios.csv", "2030,0.65", "2030,-0.65", "factor"),
        ("regional.csv", "transport_sea,delivery", "transport_sea,teleport", "role"),
        ("recycling_routes.csv", "brass_recycled,brass_recycled", "brass_recycled,", "recycling_"),
        ("end_of_life.csv", "incineration_metal,0.6,", "incineration_metal,1.6,", "bottom_ash"),
    ],
)
def test_broken_tables_are_refused_naming_file_and_column(
    tmp_path: Path, name: str, old: str, new: str, column: str
) -> None:
    from importlib.resources import files

    data = files("mics.footprint").joinpath("data")
    for entry in data.iterdir():
        if entry.name.endswith((".csv", ".json")):
            (tmp_path / entry.name).write_text(entry.read_text("utf-8"), "utf-8")
    text = (tmp_path / name).read_text("utf-8")
    assert old in text
    (tmp_path / name).write_text(text.replace(old, new, 1), "utf-8")
    with pytest.raises(InvalidInput) as error:
        load_parameters(tmp_path)
    assert name in str(error.value.field) or name in str(error.value)
    assert column in str(error.value.field) or column in str(error.value)


def test_a_geometric_sd_below_1_is_refused() -> None:
    with pytest.raises(InvalidInput, match="geometric standard deviation") as error:
        check_profiles({"defaults": {"*": {"lifetime_sigma_g": 0.8, "source": "s"}}}, "p")
    assert error.value.field == "p defaults.*.lifetime_sigma_g"
