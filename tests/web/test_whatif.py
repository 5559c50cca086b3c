"""What-if footprints: the form's fields as a variant, the figures as the service says, a Sankey."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support import app_client

from mics.db import Database
from mics.errors import InvalidInput
from mics.footprint import service
from mics.web import sankey
from mics.web.whatif import Design, design, spec_from_form

pytestmark = pytest.mark.anyio
BAG = Design(
    product="borsa-aurora",
    materials=("leather-chrome", "cotton-lining"),
    processes=("leather_cutting_sewing", "sewing"),
    countries={"leather-chrome": "IT", "cotton-lining": "IT"},
    lifetime_years=10.0,
    use_kwh_per_year=0.0,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def demo(demo_registry: Database) -> Database:
    return demo_registry


@pytest.fixture
async def client(demo: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo, tmp_path / "var") as c:
        yield c


def test_the_form_as_designed_is_no_variant() -> None:
    form = {
        "material:leather-chrome": "leather-chrome",
        "country:leather-chrome": "",
        "process:sewing": "sewing",
        "lifetime": "10",
        "use": "0",
    }
    assert spec_from_form(form, BAG) == ""


def test_the_form_keeps_only_what_differs_in_the_inline_variant_syntax() -> None:
    form = {
        "material:leather-chrome": "leather-vegetable",
        "country:cotton-lining": "CN",
        "process:sewing": "leather_cutting_sewing",
        "lifetime": "12.5",
        "use": "0",
    }
    assert spec_from_form(form, BAG) == (
        "material:leather-chrome=leather-vegetable,country:cotton-lining=CN,"
        "process:sewing=leather_cutting_sewing,lifetime=12.5"
    )


def test_a_lifetime_that_is_not_a_number_names_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        spec_from_form({"lifetime": "ten"}, BAG)
    assert error.value.field == "lifetime"
    assert error.value.value == "ten"


def test_the_design_lists_the_products_materials_processes_and_use(demo: Database) -> None:
    d = design(demo, "borsa-aurora")
    assert d.materials == ("leather-chrome", "cotton-lining", "polyester-thread", "brass-hardware")
    assert "none" not in d.processes
    assert "leather_cutting_sewing" in d.processes
    assert d.lifetime_years == 10.0


def test_flows_sum_by_source_and_stage_and_set_credits_apart() -> None:
    found, credits = sankey.flows(
        [("Oak", "materials", 2.0), ("Oak", "materials", 1.0), ("Oak", "end_of_life", -0.5)]
    )
    assert found == [sankey.Flow("Oak", "materials", 3.0)]
    assert credits == -0.5


def test_sankey_bands_are_as_wide_as_their_share_of_the_total() -> None:
    found = [sankey.Flow("Oak", "materials", 3.0), sankey.Flow("Steel", "materials", 1.0)]
    svg = sankey.sankey(found, ["materials"], {"materials": "Materials"}, {}, "kg CO2e", "t")
    heights = [
        float(h)
        for h in re.findall(r'class="node" x="0\.0" y="[\d.]+" width="12" height="([\d.]+)"', svg)
    ]
    assert heights[0] == pytest.approx(3 * heights[1], rel=1e-3)
    assert heights[0] + heights[1] == pytest.approx(sankey.HEIGHT - sankey.GAP, rel=1e-3)
    assert sankey.sankey([], ["materials"], {}, {}, "kg", "t") == ""


async def test_the_fragment_shows_the_services_figures_for_the_variant(
    client: httpx.AsyncClient, demo: Database
) -> None:
    spec = "material:leather-chrome=leather-vegetable"
    expected = service.alternatives(demo, "borsa-aurora", [spec], iterations=0)[0]
    page = await client.get(
        "/products/borsa-aurora/footprint/whatif",
        params={"material:leather-chrome": "leather-vegetable", "lifetime": "10"},
    )
    assert page.status_code == 200
    assert f'data-variant="{spec}"' in page.text
    gwp = re.search(r'id="whatif-gwp">([\d.]+)<', page.text)
    assert gwp is not None
    assert float(gwp.group(1)) == pytest.approx(expected.alternative.total, abs=0.005)
    assert (
        abs(expected.alternative.total - expected.baseline.total) > 0.1
    )  # the figure really moved
    assert "Bovine leather, vegetable tanned instead of Bovine leather, chrome tanned" in page.text
    assert "leather-vegetable" not in page.text.replace(f'data-variant="{spec}"', "")  # names only
    assert 'class="chart sankey"' in page.text


async def test_a_shared_url_opens_the_page_with_the_variant_chosen(
    client: httpx.AsyncClient,
) -> None:
    spec = "country:leather-chrome=CN,lifetime=20"
    page = (
        await client.get(
            "/products/borsa-aurora/footprint", params={"variant": spec, "monte_carlo": 0}
        )
    ).text
    assert '<option value="CN" selected>China</option>' in page
    assert 'name="lifetime" min="0.5" max="200" step="0.5" value="20"' in page
    assert "Bovine leather, chrome tanned supplied from China" in page
    assert "lifetime 20 years" in page


async def test_a_demo_variant_id_works_as_the_variant(client: httpx.AsyncClient) -> None:
    page = await client.get("/products/pinza-robotica/footprint/whatif?variant=italian-motor")
    assert page.status_code == 200
    assert "supplied from Italy" in page.text
    assert "Use phase" in page.text  # the Sankey names the use phase's electricity
    assert "(use phase)" not in page.text


async def test_bad_what_ifs_are_4xx_problems_naming_the_field(client: httpx.AsyncClient) -> None:
    url = "/products/borsa-aurora/footprint/whatif"
    for params, status, field in (
        ({"variant": "material:oak-timber=leather-vegetable"}, 422, "variant.material"),
        ({"variant": "country:leather-chrome=Italy"}, 422, "variant.country.leather-chrome"),
        ({"variant": "lifetime=-1"}, 422, "variant.lifetime_years"),
        ({"variant": "no-such-variant"}, 404, "variant"),
        ({"lifetime": "ten"}, 422, "lifetime"),
        ({"material:leather-chrome": "no-such-material"}, 404, None),
    ):
        answer = await client.get(url, params=params, headers={"Accept": "application/json"})
        assert answer.status_code == status, params
        if field:
            assert answer.json()["field"] == field, params


async def test_the_footprint_page_names_materials_and_explains_the_interval(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/products/borsa-aurora/footprint", params={"lang": "it"})).text
    assert 'id="interval-note"' in page
    assert "<h1>Impronta di Borsa Aurora in pelle</h1>" in page  # the maker's Italian name
    assert "simulazioni Monte Carlo" in page
    by_material = page[page.index("Per materiale") :]
    assert "Bovine leather, chrome tanned" in by_material
    assert '<td data-label="Material">leather-chrome</td>' not in page
