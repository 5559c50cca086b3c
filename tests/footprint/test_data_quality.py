"""Data quality of the open inventory: quality lines, pedigree widening, checked share."""

from __future__ import annotations

import csv
import math
import shutil
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from tests.databases import Templates

from mics.db import Database
from mics.errors import InvalidInput
from mics.footprint import service
from mics.footprint.data_quality import checked_share
from mics.footprint.dataset import COLUMNS, load_dataset
from mics.footprint.lca import compile_system
from mics.footprint.model import (
    CharacterisationFactor,
    Dataset,
    Exchange,
    ExchangeQuality,
    Flow,
    Process,
)

DATA = files("mics.footprint").joinpath("data")
DEMO = ("borsa-aurora", "sedia-quercia", "pinza-robotica")


def rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(DATA.joinpath(name).read_text(encoding="utf-8").splitlines()))


def variance(indicator: str, score: int) -> float:
    """The pedigree variance as the data file gives it (Ciroth et al. 2016)."""
    for r in rows("pedigree_factors.csv"):
        if r["indicator"] == indicator and int(r["score"]) == score:
            return float(r["variance"])
    raise AssertionError(f"no {indicator} {score}")


def test_every_shipped_exchange_carries_its_quality_line() -> None:
    dataset = service.shipped_dataset()
    assert all(e.quality is not None for e in dataset.exchanges)
    checked = {(e.process, e.input) for e in dataset.exchanges if e.quality and e.quality.checked}
    assert ("electricity_it", "co2_fossil_air") in checked
    assert ("gold_mined", "co2_fossil_air") in checked
    for e in dataset.exchanges:
        assert e.quality is not None
        if e.quality.checked:
            assert "(unverified)" not in e.source
        else:
            assert all(s is not None and 1 <= s <= 5 for s in e.quality.scores)


def test_a_scored_row_is_widened_by_its_pedigree() -> None:
    raw = next(
        r
        for r in rows("exchanges.csv")
        if (r["process"], r["input"]) == ("argon", "electricity_it")
    )
    quality = next(
        r
        for r in rows("exchange_quality.csv")
        if (r["process"], r["input"]) == ("argon", "electricity_it")
    )
    indicators = ("reliability", "completeness", "temporal", "geographical", "technological")
    extra = sum(variance(i, int(quality[i])) for i in indicators)
    expected = math.exp(math.sqrt(math.log(float(raw["sigma_g"])) ** 2 + extra))
    loaded = next(
        e
        for e in service.shipped_dataset().exchanges
        if (e.process, e.input) == ("argon", "electricity_it")
    )
    assert loaded.uncertainty.sigma_g is not None
    assert loaded.uncertainty.sigma_g == pytest.approx(expected, rel=1e-12)
    assert loaded.uncertainty.sigma_g > float(raw["sigma_g"])


def test_an_exact_row_with_scores_becomes_lognormal() -> None:
    loaded = next(
        e
        for e in service.shipped_dataset().exchanges
        if (e.process, e.input) == ("ti64_powder", "gas_atomisation")
    )
    assert loaded.quality is not None
    extra = sum(
        variance(i, s)
        for i, s in zip(
            ("reliability", "completeness", "temporal", "geographical", "technological"),
            loaded.quality.scores,
            strict=True,
        )
        if s is not None
    )
    assert loaded.uncertainty.distribution == "lognormal"
    assert loaded.uncertainty.sigma_g == pytest.approx(math.exp(math.sqrt(extra)))


# ---------------------------------------------------------------- broken copies


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in COLUMNS:
        shutil.copyfile(str(DATA.joinpath(name)), tmp_path / name)
    return tmp_path


def rewrite(folder: Path, name: str, change: object) -> None:
    path = folder / name
    with path.open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    header = list(table[0])
    table = change(table)  # type: ignore[operator]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)


def grid(r: dict[str, str]) -> bool:
    return (r["process"], r["input"]) == ("electricity_it", "co2_fossil_air")


def argon(r: dict[str, str]) -> bool:
    return (r["process"], r["input"]) == ("argon", "electricity_it")


@pytest.mark.parametrize(
    ("name", "change", "words"),
    [
        ("exchange_quality.csv", lambda t: [r for r in t if not grid(r)], "no line for"),
        ("exchange_quality.csv", lambda t: [*t, next(r for r in t if grid(r))], "one quality"),
        (
            "exchange_quality.csv",
            lambda t: [{**r, "reliability": "6"} if argon(r) else r for r in t],
            "pedigree score",
        ),
        (
            "exchange_quality.csv",
            lambda t: [{**r, "temporal": ""} if argon(r) else r for r in t],
            "all five",
        ),
        (
            "exchange_quality.csv",
            lambda t: [{**r, "checked": ""} if grid(r) else r for r in t],
            "pedigree scores 1..5",
        ),
        (
            "exchange_quality.csv",
            lambda t: [{**r, "checked": "p. 3"} if argon(r) else r for r in t],
            "(unverified)",
        ),
        (
            "exchange_quality.csv",
            lambda t: [{**r, "input": "heat_natural_gas"} if argon(r) else r for r in t],
            "a row of exchanges.csv",
        ),
        (
            "pedigree_factors.csv",
            lambda t: [r for r in t if (r["indicator"], r["score"]) != ("temporal", "4")],
            "temporal score 4",
        ),
    ],
)
def test_a_broken_quality_file_is_refused_naming_the_line(
    copy: Path, name: str, change: object, words: str
) -> None:
    rewrite(copy, name, change)
    with pytest.raises(InvalidInput) as caught:
        load_dataset(copy)
    assert name in str(caught.value)
    assert words in str(caught.value)


def test_an_inventory_without_quality_files_loads_without_quality(copy: Path) -> None:
    (copy / "exchange_quality.csv").unlink()
    dataset = load_dataset(copy)
    assert all(e.quality is None for e in dataset.exchanges)


# ---------------------------------------------------------------- checked share


def tiny(checked_link: bool) -> Dataset:
    """Product <- 2 kWh grid; grid emits 0.5 kg CO2 (checked); product emits 1 kg CH4 (not)."""
    source = "hand-made test system"
    grid_q = ExchangeQuality(checked="test table 1")
    link_q = (
        ExchangeQuality(checked="test table 2")
        if checked_link
        else ExchangeQuality("", 4, 4, 3, 3, 3)
    )
    return Dataset(
        "tiny",
        (
            Process("product", "product", "kg", "IT", "material", source),
            Process("grid", "grid", "kWh", "IT", "energy", source),
        ),
        (Flow("co2", "co2", "kg", "air"), Flow("ch4", "ch4", "kg", "air")),
        (
            Exchange("product", "grid", "technosphere", 2.0, "kWh", source, quality=link_q),
            Exchange("grid", "co2", "biosphere", 0.5, "kg", source, quality=grid_q),
            Exchange(
                "product",
                "ch4",
                "biosphere",
                0.1,
                "kg",
                source,
                quality=ExchangeQuality("", 4, 4, 3, 3, 3),
            ),
        ),
        (
            CharacterisationFactor("gwp100", "co2", 1.0, "kg CO2e", source),
            CharacterisationFactor("gwp100", "ch4", 30.0, "kg CO2e", source),
        ),
    )


@pytest.mark.parametrize("checked_link", [False, True])
def test_checked_share_is_the_contribution_of_checked_rows(checked_link: bool) -> None:
    dataset = tiny(checked_link)
    system = compile_system(dataset)
    demand = {"product": 3.0}
    # total = 3 x (2 x 0.5 + 0.1 x 30) = 12; checked emission = 3 x 2 x 0.5 = 3
    assert system.score(demand, "gwp100") == pytest.approx(12.0)
    assert checked_share(dataset, system, demand, "gwp100") == pytest.approx(3.0 / 12.0)
    chain = checked_share(dataset, system, demand, "gwp100", chain=True)
    assert chain == pytest.approx(3.0 / 12.0 if checked_link else 0.0)


# ---------------------------------------------------------------- demo products


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Database]:
    db = templates.sqlite("demo", tmp_path_factory.mktemp("dq") / "demo.db")
    yield db
    db.dispose()


@pytest.mark.parametrize("product", DEMO)
def test_at_least_80_percent_of_each_demo_footprint_comes_from_checked_figures(
    demo: Database, product: str
) -> None:
    result = service.footprint(demo, product)
    assert result.data_quality is not None
    assert result.data_quality_chain is not None
    assert result.data_quality_chain <= result.data_quality + 1e-12
    assert result.data_quality >= 0.8


def test_every_demo_product_has_a_footprint_mostly_from_checked_figures(demo: Database) -> None:
    """The custody demo's rings too: each demo product's figure is computable and checked."""
    from mics.registry import list_products

    products = [p.id for p in list_products(demo, limit=100).items]
    assert set(DEMO) < set(products)  # the three above and the ones other demos add
    for product in products:
        quality = service.footprint(demo, product).data_quality
        assert quality is not None
        assert quality >= 0.8, product


def test_bio_based_materials_name_their_carbon_content_and_method() -> None:
    from mics.footprint.bio_based import bio_based_contents

    contents = bio_based_contents(service.shipped_dataset())
    assert contents["pa11_biobased"].carbon_content == 1.0
    assert contents["pa11_biobased"].method == "EN 16640"
    assert contents["mycelium_composite"].method == "EN 16785-1"
    assert {"pla_granulate", "bacterial_cellulose"} <= set(contents)


def test_quality_lines_without_pedigree_factors_are_refused(copy: Path) -> None:
    (copy / "pedigree_factors.csv").unlink()
    with pytest.raises(InvalidInput, match=r"pedigree_factors.csv: file is missing"):
        load_dataset(copy)
