"""Bring your own database: a Brightway datapackage and an openLCA JSON-LD zip made here."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import bw_processing as bwp
import numpy as np
import pytest

from mics import registry
from mics.db import Database
from mics.errors import InvalidInput
from mics.footprint import service
from mics.footprint.importers import load_brightway, load_database, load_openlca, merge
from mics.footprint.lca import compile_system
from mics.registry.schemas import MaterialPatch

# Electricity needs a little steel, steel needs electricity (a loop); 1 widget needs both.
S_ELEC = 11.0 / 0.998
S_STEEL = 3.0 + 0.001 * S_ELEC
WIDGET_GWP = 0.5 * S_ELEC + (1.8 + 27.0 * 0.01) * S_STEEL + 0.1
STEEL_GWP = (1.8 + 0.27 + 0.5 * 2.0) / (1 - 0.002)  # s_steel = 1/(1 - 2 x 0.001)


def brightway_package(fs: Any) -> None:
    dp = bwp.create_datapackage(fs=fs, name="tiny-bw")
    tech = [  # row, col, data, flip; widget (3) is made 2 items at a time
        (1, 1, 1.0, False), (2, 2, 1.0, False), (3, 3, 2.0, False),
        (2, 1, 0.001, True), (1, 2, 2.0, True), (2, 3, 6.0, True), (1, 3, 10.0, True),
    ]  # fmt: skip
    dist = np.zeros(len(tech), dtype=bwp.UNCERTAINTY_DTYPE)
    dist["uncertainty_type"][5] = 2
    dist["loc"][5], dist["scale"][5] = math.log(6.0), math.log(1.2)
    dist["minimum"], dist["maximum"], dist["shape"] = np.nan, np.nan, np.nan
    dp.add_persistent_vector(
        matrix="technosphere_matrix",
        name="technosphere",
        indices_array=np.array([(r, c) for r, c, _, _ in tech], dtype=bwp.INDICES_DTYPE),
        data_array=np.array([d for _, _, d, _ in tech]),
        flip_array=np.array([f for _, _, _, f in tech]),
        distributions_array=dist,
    )
    bio = [(100, 1, 0.5), (100, 2, 1.8), (101, 2, 0.01), (100, 3, 0.2)]
    dp.add_persistent_vector(
        matrix="biosphere_matrix",
        name="biosphere",
        indices_array=np.array([(r, c) for r, c, _ in bio], dtype=bwp.INDICES_DTYPE),
        data_array=np.array([d for _, _, d in bio]),
    )
    dp.add_persistent_vector(
        matrix="characterization_matrix",
        name="gwp100",
        indices_array=np.array([(100, 0), (101, 0)], dtype=bwp.INDICES_DTYPE),
        data_array=np.array([1.0, 27.0]),
        unit="kg CO2e",
    )
    labels = [
        {"id": 1, "code": "tiny_elec", "name": "electricity", "unit": "kilowatt hour"},
        {"id": 2, "code": "tiny_steel", "name": "steel", "unit": "kilogram"},
        {"id": 3, "code": "tiny_widget", "name": "widget", "unit": "unit"},
        {"id": 100, "name": "carbon dioxide", "unit": "kilogram"},
        {"id": 101, "name": "methane", "unit": "kilogram"},
    ]
    dp.add_json_metadata(data=labels, valid_for="technosphere", name="tiny-labels")
    dp.finalize_serialization()


@pytest.fixture
def bw_zip(tmp_path: Path) -> Path:
    brightway_package(bwp.generic_zipfile_filesystem(dirpath=tmp_path, filename="tiny.zip"))
    return tmp_path / "tiny.zip"


def olca_archive(path: Path, processes: list[dict[str, Any]]) -> Path:
    flows: list[dict[str, Any]] = [
        {"@type": "Flow", "@id": "f-co2", "name": "Carbon dioxide", "flowType": "ELEMENTARY_FLOW",
         "category": "Elementary flows/Emission to air/unspecified",
         "flowProperties": [{"isRefFlowProperty": True, "flowProperty": {"refUnit": "kg"}}]},
        {"@type": "Flow", "@id": "f-ch4", "name": "Methane", "flowType": "ELEMENTARY_FLOW",
         "category": "Elementary flows/Emission to air/unspecified"},
    ]  # fmt: skip
    category = {
        "@type": "ImpactCategory",
        "@id": "ic-gwp",
        "name": "Climate change",
        "refUnit": "kg CO2 eq",
        "impactFactors": [
            {"flow": {"@id": "f-co2"}, "value": 1.0},
            {"flow": {"@id": "f-ch4"}, "value": 27.0},
        ],
    }
    with zipfile.ZipFile(path, "w") as archive:
        folders: tuple[tuple[str, list[dict[str, Any]]], ...] = (
            ("processes", processes),
            ("flows", flows),
        )
        for folder, items in folders:
            for item in items:
                archive.writestr(f"{folder}/{item['@id']}.json", json.dumps(item))
        archive.writestr("lcia_categories/ic-gwp.json", json.dumps(category))
    return path


def exchange(flow: str, amount: float, unit: str, **extra: Any) -> dict[str, Any]:
    kind = "ELEMENTARY_FLOW" if flow.startswith("f-") else "PRODUCT_FLOW"
    return {
        "flow": {"@id": flow, "flowType": kind},
        "amount": amount,
        "unit": {"name": unit},
    } | extra


def olca_processes(widget_unit: str = "Item(s)") -> list[dict[str, Any]]:
    ref = {"isQuantitativeReference": True}
    return [
        {"@id": "p-elec", "name": "electricity", "exchanges": [
            exchange("elec", 1.0, "kWh", **ref),
            exchange("steel", 1.0, "g", isInput=True),
            exchange("f-co2", 0.5, "kg")]},
        {"@id": "p-steel", "name": "steel", "exchanges": [
            exchange("steel", 1.0, "kg", **ref),
            exchange("elec", 2.0, "kWh", isInput=True, defaultProvider={"@id": "p-elec"}),
            exchange("f-co2", 1.8, "kg"), exchange("f-ch4", 10.0, "g")]},
        {"@id": "p-widget", "name": "widget", "exchanges": [
            exchange("widget", 2.0, widget_unit, **ref),
            exchange("steel", 6.0, "kg", isInput=True, uncertainty={
                "distributionType": "LOG_NORMAL_DISTRIBUTION", "geomMean": 6.0, "geomSd": 1.2}),
            exchange("elec", 10.0, "kWh", isInput=True),
            exchange("f-co2", 0.2, "kg")]},
    ]  # fmt: skip


def test_brightway_zip_and_folder_score_as_computed_by_hand(bw_zip: Path, tmp_path: Path) -> None:
    dataset = load_brightway(bw_zip)
    system = compile_system(dataset)
    assert system.score({"tiny_widget": 1.0}, "gwp100") == pytest.approx(WIDGET_GWP, rel=1e-12)
    widget = next(p for p in dataset.processes if p.id == "tiny_widget")
    assert (widget.unit, widget.name) == ("item", "widget")
    steel_in = next(
        e for e in dataset.exchanges if (e.process, e.input) == ("tiny_widget", "tiny_steel")
    )
    assert steel_in.amount == pytest.approx(3.0)
    assert steel_in.uncertainty.sigma_g == pytest.approx(1.2)
    folder = tmp_path / "folder"  # the same files unpacked (bw_processing's folder writer leaks)
    with zipfile.ZipFile(bw_zip) as archive:
        archive.extractall(folder)
    again = compile_system(load_database(folder))
    assert again.score({"tiny_widget": 1.0}, "gwp100") == pytest.approx(WIDGET_GWP, rel=1e-12)


def test_openlca_zip_scores_as_computed_by_hand(tmp_path: Path) -> None:
    archive = olca_archive(tmp_path / "tiny-olca.zip", olca_processes())
    dataset = load_openlca(archive, {"Climate change": "gwp100"})
    system = compile_system(dataset)
    assert system.score({"p-widget": 1.0}, "gwp100") == pytest.approx(WIDGET_GWP, rel=1e-12)
    assert {f.compartment for f in dataset.flows} == {"air"}
    auto = compile_system(load_database(archive))  # method named after the category
    assert auto.score({"p-widget": 1.0}, "climate_change") == pytest.approx(WIDGET_GWP)


def test_openlca_missing_provider_and_unknown_unit_are_named(tmp_path: Path) -> None:
    orphan = olca_processes()
    orphan[2]["exchanges"].append(exchange("paint", 1.0, "kg", isInput=True))
    with pytest.raises(InvalidInput, match=r"missing provider.*'widget'.*paint"):
        load_openlca(olca_archive(tmp_path / "a.zip", orphan))
    with pytest.raises(InvalidInput, match="unknown unit 'furlong'"):
        load_openlca(olca_archive(tmp_path / "b.zip", olca_processes("furlong")))
    (tmp_path / "c.txt").write_text("not a database")
    with pytest.raises(InvalidInput, match="not a folder or a zip"):
        load_database(tmp_path / "c.txt")


def test_mics_product_runs_on_an_imported_database(demo_db: Database, bw_zip: Path) -> None:
    merged = merge(service.shipped_dataset(), load_brightway(bw_zip))
    with pytest.raises(InvalidInput, match="in both"):
        merge(merged, load_brightway(bw_zip))
    before = service.footprint(demo_db, "sedia-quercia", dataset=merged)
    registry.update_material(demo_db, "steel-screws", MaterialPatch(lca_process="tiny_steel"))
    after = service.footprint(demo_db, "sedia-quercia", dataset=merged)
    screws = 0.05 * 1.0  # process 'none': no material loss
    old = service.system_for(merged).score({"steel_screws": screws}, "gwp100")
    delta = after.by_stage["materials"] - before.by_stage["materials"]
    assert delta == pytest.approx(screws * STEEL_GWP - old, rel=1e-9)
    assert after.dataset == "MICS open LCI + tiny-bw"
