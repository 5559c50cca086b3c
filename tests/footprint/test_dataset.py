"""The shipped open inventory: every row sourced, every link valid, totals plausible.

The cradle-to-gate totals are computed here with a small scipy.sparse solve
(s = A^-1 f, g = B s, h = C g, ISO 14044 matrix form) so this test does not
depend on ``mics.footprint.lca``.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sparse
import scipy.sparse.linalg as sparse_linalg

from mics.errors import InvalidInput
from mics.footprint.dataset import COLUMNS, load_dataset
from mics.footprint.model import Dataset

DATA = files("mics.footprint").joinpath("data")
GWP_METHODS = ("gwp100_fossil", "gwp100_biogenic", "gwp100_luc")

REQUIRED = (
    # fashion and leather
    "raw_hide_bovine",
    "leather_chrome_tanned",
    "leather_vegetable_tanned",
    "cotton_fibre",
    "cotton_fabric",
    "wool_fibre",
    "polyester_fibre",
    "polyester_fibre_recycled",
    "viscose_fibre",
    "polyester_thread",
    "brass",
    "leather_goods_manufacture",
    # furniture
    "oak_sawn_timber",
    "beech_sawn_timber",
    "particleboard",
    "mdf",
    "steel_screws",
    "water_based_varnish",
    "pvac_glue",
    "wood_joinery",
    "surface_finishing",
    # factory automation
    "steel_bf_bof",
    "steel_eaf",
    "stainless_steel",
    "aluminium_primary",
    "aluminium_recycled",
    "copper_primary",
    "copper_wire",
    "gold_mined",
    "gold_recycled",
    "silver_mined",
    "silver_recycled",
    "pla_granulate",
    "pa12_powder",
    "abs_granulate",
    "ti64_powder",
    "ss316l_powder",
    "gas_atomisation",
    "lpbf_ti64",
    "lpbf_316l",
    "sls_pa12",
    "fdm_pla",
    "cnc_machining",
    "electric_motor_small",
    "electronics_control_board",
    # energy, transport, end of life
    "electricity_it",
    "heat_natural_gas",
    "transport_lorry",
    "transport_rail",
    "transport_sea",
    "mechanical_recycling",
    "landfill_mixed_waste",
    "incineration_mixed_waste",
)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_dataset()


@pytest.fixture(scope="module")
def gwp(dataset: Dataset) -> dict[str, float]:
    """Cradle-to-gate GWP100 (fossil + biogenic + LUC) of one reference unit of each process."""
    process_index = {p.id: i for i, p in enumerate(dataset.processes)}
    flow_index = {f.id: i for i, f in enumerate(dataset.flows)}
    n = len(process_index)
    technosphere = sparse.lil_matrix((n, n))
    technosphere.setdiag(1.0)
    biosphere = sparse.lil_matrix((len(flow_index), n))
    for e in dataset.exchanges:
        column = process_index[e.process]
        if e.kind == "technosphere":
            technosphere[process_index[e.input], column] -= e.amount
        else:
            biosphere[flow_index[e.input], column] += e.amount
    characterisation = np.zeros(len(flow_index))
    for c in dataset.factors:
        if c.method in GWP_METHODS:
            characterisation[flow_index[c.flow]] += c.factor
    lu = sparse_linalg.splu(technosphere.tocsc())
    supply = lu.solve(np.eye(n))  # column j: supply for one unit of process j
    scores = characterisation @ (biosphere.tocsr() @ supply)
    return {pid: float(scores[i]) for pid, i in process_index.items()}


def test_shipped_dataset_has_at_least_40_processes(dataset: Dataset) -> None:
    assert len(dataset.processes) >= 40
    assert len({p.id for p in dataset.processes}) == len(dataset.processes)


@pytest.mark.parametrize("name", sorted(n for n, columns in COLUMNS.items() if "source" in columns))
def test_every_row_of_every_data_file_names_a_source(name: str) -> None:
    rows = list(csv.DictReader(DATA.joinpath(name).read_text(encoding="utf-8").splitlines()))
    assert rows
    assert [r for r in rows if not (r["source"] or "").strip()] == []


def test_every_required_process_exists(dataset: Dataset) -> None:
    ids = {p.id for p in dataset.processes}
    assert sorted(set(REQUIRED) - ids) == []


def test_processes_are_linked_into_a_technosphere(dataset: Dataset) -> None:
    inputs: dict[str, set[str]] = {}
    for e in dataset.exchanges:
        inputs.setdefault(e.process, set()).add(e.input)
    assert {"ti64_powder", "electricity_it", "argon"} <= inputs["lpbf_ti64"]
    assert {"ti64_ingot", "gas_atomisation"} <= inputs["ti64_powder"]
    assert {"electricity_it", "argon"} <= inputs["gas_atomisation"]
    assert {"steel_scrap_prepared", "electricity_it"} <= inputs["steel_eaf"]
    # Chrome leather: the hide, then the Italian tannery's own figure (Chen et al. 2020)
    assert {"raw_hide_bovine", "tannery_processing_it"} <= inputs["leather_chrome_tanned"]
    assert "process_chemicals" not in inputs["leather_chrome_tanned"]
    assert "tannin_extract" in inputs["leather_vegetable_tanned"]
    assert inputs["transport_lorry"] == {"diesel_combustion_engine"}
    assert {"co2_fossil_air", "ch4_fossil_air", "n2o_air", "diesel_supply"} <= (
        inputs["diesel_combustion_engine"]
    )


def test_every_exchange_unit_matches_its_provider_or_flow(dataset: Dataset) -> None:
    units = {p.id: p.unit for p in dataset.processes} | {f.id: f.unit for f in dataset.flows}
    assert [e for e in dataset.exchanges if e.unit != units[e.input]] == []


def test_technosphere_matrix_is_non_singular(gwp: dict[str, float]) -> None:
    assert all(np.isfinite(list(gwp.values())))
    assert min(gwp.values()) >= 0.0


@pytest.mark.parametrize(
    ("process", "low", "high"),
    [
        ("electricity_it", 0.25, 0.45),  # kg CO2e/kWh
        ("aluminium_primary", 8.0, 17.0),  # kg CO2e/kg
        ("aluminium_recycled", 0.0, 1.5),
        ("steel_bf_bof", 1.5, 3.0),
        ("steel_eaf", 0.2, 1.0),
        # kg CO2e/m2: PEFCR Leather farm share 2.7-5.4 + Chen et al. 2020 tanneries 3-6.4
        ("leather_chrome_tanned", 6.0, 20.0),
        ("leather_vegetable_tanned", 10.0, 30.0),
        ("gold_mined", 20_000.0, 45_000.0),  # WGC 2018: 32,689
        ("copper_primary", 1.5, 6.0),
        ("transport_lorry", 0.05, 0.12),  # kg CO2e/t*km
        ("transport_sea", 0.005, 0.02),
        ("oak_sawn_timber", 0.02, 0.5),
        ("heat_natural_gas", 0.06, 0.09),  # kg CO2e/MJ
    ],
)
def test_cradle_to_gate_gwp_is_plausible(
    gwp: dict[str, float], process: str, low: float, high: float
) -> None:
    assert low <= gwp[process] <= high


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ("steel_eaf", "steel_bf_bof"),
        ("aluminium_recycled", "aluminium_primary"),
        ("gold_recycled", "gold_mined"),
        ("silver_recycled", "silver_mined"),
        ("polyester_fibre_recycled", "polyester_fibre"),
        ("ti64_powder_recycled", "ti64_powder"),  # re-atomised twins (issue 17 item 7)
        ("ss316l_powder_recycled", "ss316l_powder"),
        ("pla_filament_recycled", "pla_filament"),
        ("transport_rail", "transport_lorry"),
        ("landfill_inert_waste", "landfill_mixed_waste"),
    ],
)
def test_recycled_and_low_carbon_routes_score_lower(
    gwp: dict[str, float], better: str, worse: str
) -> None:
    assert gwp[better] < gwp[worse]


def test_printed_part_carries_powder_and_electricity(gwp: dict[str, float]) -> None:
    expected = 1.10 * gwp["ti64_powder"] + 80.0 * gwp["electricity_it"] + 1.0 * gwp["argon"]
    assert gwp["lpbf_ti64"] == pytest.approx(expected)


def test_characterisation_factors_are_ipcc_ar6(dataset: Dataset) -> None:
    factors = {(c.method, c.flow): c.factor for c in dataset.factors}
    assert factors[("gwp100_fossil", "co2_fossil_air")] == 1.0
    assert factors[("gwp100_fossil", "ch4_fossil_air")] == 29.8
    assert factors[("gwp100_biogenic", "ch4_biogenic_air")] == 27.0
    assert factors[("gwp100_fossil", "n2o_air")] == 273.0
    assert factors[("gwp100_fossil", "sf6_air")] == 25_200.0
    assert factors[("gwp100_luc", "co2_luc_air")] == 1.0
    assert factors[("gwp100_biogenic", "co2_biogenic_air")] == 0.0  # 0/0 approach
    assert {c.method for c in dataset.factors} >= {*GWP_METHODS, "ced", "water"}


def test_uncertainty_is_parsed(dataset: Dataset) -> None:
    grid = next(
        e for e in dataset.exchanges if (e.process, e.input) == ("electricity_it", "co2_fossil_air")
    )
    assert grid.amount == 0.341
    assert grid.uncertainty.distribution == "lognormal"
    assert grid.uncertainty.sigma_g == 1.1  # checked, not scored: not widened


# ---------------------------------------------------------------- broken copies


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in COLUMNS:
        shutil.copyfile(str(DATA.joinpath(name)), tmp_path / name)
    return tmp_path


def edit(folder: Path, name: str, change: Callable[[list[list[str]]], int]) -> int:
    """Apply ``change`` to the rows of one file; returns the 1-based line it edited."""
    path = folder / name
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    index = change(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return index + 1


def set_cell(
    name: str, column: str, value: str, where: Callable[[dict[str, str]], bool]
) -> Callable[[list[list[str]]], int]:
    def change(rows: list[list[str]]) -> int:
        header = rows[0]
        for i, row in enumerate(rows[1:], start=1):
            if where(dict(zip(header, row, strict=True))):
                row[header.index(column)] = value
                return i
        raise AssertionError(f"no row of {name} matched")

    return change


def grid_use(row: dict[str, str]) -> bool:
    return row["input"] == "electricity_it"


@pytest.mark.parametrize(
    ("name", "column", "value", "where", "words"),
    [
        ("exchanges.csv", "source", "", grid_use, "non-empty"),
        ("exchanges.csv", "input", "unobtainium", grid_use, "provider id"),
        ("exchanges.csv", "unit", "MJ", grid_use, "'kWh'"),
        ("exchanges.csv", "amount", "abc", grid_use, "decimal number"),
        ("exchanges.csv", "amount", "nan", grid_use, "finite"),
        ("exchanges.csv", "kind", "emission", grid_use, "one of"),
        ("exchanges.csv", "process", "nowhere", grid_use, "processes.csv"),
        ("exchanges.csv", "sigma_g", "0.9", lambda r: r["sigma_g"] != "", "> 1"),
        ("exchanges.csv", "sd", "0.1", lambda r: r["sigma_g"] != "", "empty for a lognormal"),
        ("exchanges.csv", "sigma_g", "", lambda r: r["sigma_g"] != "", "a number for a lognormal"),
        ("processes.csv", "unit", "kgs", lambda r: r["id"] == "steel_eaf", "one of"),
        ("processes.csv", "source", " ", lambda r: r["id"] == "steel_eaf", "non-empty"),
        ("processes.csv", "id", "Steel EAF", lambda r: r["id"] == "steel_eaf", "lower-case id"),
        (
            "processes.csv",
            "id",
            "steel_bf_bof",
            lambda r: r["id"] == "steel_eaf",
            "not used before",
        ),
        ("flows.csv", "compartment", "space", lambda r: r["id"] == "n2o_air", "one of"),
        ("factors.csv", "flow", "co3_air", lambda r: r["flow"] == "n2o_air", "flows.csv"),
        ("factors.csv", "unit", "MJ", lambda r: r["flow"] == "n2o_air", "one indicator unit"),
        ("factors.csv", "factor", "1,5", lambda r: r["flow"] == "n2o_air", "decimal number"),
    ],
)
def test_broken_copy_is_refused_naming_file_line_and_column(
    copy: Path,
    name: str,
    column: str,
    value: str,
    where: Callable[[dict[str, str]], bool],
    words: str,
) -> None:
    line = edit(copy, name, set_cell(name, column, value, where))
    with pytest.raises(InvalidInput) as caught:
        load_dataset(copy)
    message = str(caught.value)
    assert message.startswith(f"{name} line {line}, column '{column}'")
    assert words in message
    assert caught.value.context["column"] == column
    assert caught.value.context["file"] == name
    assert caught.value.context["line"] == line


def test_triangular_bounds_must_bracket_the_amount(copy: Path) -> None:
    def change(rows: list[list[str]]) -> int:
        header = rows[0]
        row = rows[1]
        row[header.index("distribution")] = "triangular"
        row[header.index("sigma_g")] = ""
        row[header.index("low")] = "0.5"
        row[header.index("high")] = "0.9"  # amount 0.341 is below low
        return 1

    line = edit(copy, "exchanges.csv", change)
    with pytest.raises(InvalidInput, match=rf"exchanges.csv line {line}, column 'low'"):
        load_dataset(copy)


def test_missing_column_and_missing_file_are_named(copy: Path) -> None:
    (copy / "flows.csv").write_text("id,name,unit,source\nx,y,kg,z\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"flows.csv line 1, column 'compartment'"):
        load_dataset(copy)
    (copy / "flows.csv").unlink()
    with pytest.raises(InvalidInput, match=r"flows.csv: file is missing"):
        load_dataset(str(copy))


def test_intact_copy_loads_from_a_plain_path(copy: Path, dataset: Dataset) -> None:
    assert load_dataset(str(copy)) == dataset
