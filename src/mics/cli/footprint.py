"""``mics footprint PRODUCT``: a product's life-cycle footprint, circularity and variants.

mics footprint borsa-aurora
mics footprint 8012345000258 --json --monte-carlo 1000
mics footprint pinza-robotica --compare recycled-aluminium --compare lifetime=10
mics footprint sedia-quercia --dataset ecoinvent.zip   # your own database, merged
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mics.cli.common import console, database


def footprint(
    product: Annotated[str, typer.Argument(help="product id or GTIN")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    monte_carlo: Annotated[
        int, typer.Option("--monte-carlo", help="Monte Carlo iterations (0: none)")
    ] = 0,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            help="a variant to compare: a demo id, 'demo' for all, or 'material:OLD=NEW', "
            "'country:MATERIAL=IT', 'process:OLD=NEW', 'lifetime=20' (repeatable)",
        ),
    ] = None,
    cutoff: Annotated[float, typer.Option(help="contribution cut-off share")] = 0.01,
    seed: Annotated[int, typer.Option(help="random seed of Monte Carlo")] = 0,
    iterations: Annotated[
        int, typer.Option(help="Monte Carlo iterations of each comparison")
    ] = 200,
    grid_scenario: Annotated[
        str | None,
        typer.Option(
            "--grid-scenario",
            help="use-phase grid scenario of grid_scenarios.csv, e.g. pniec-2030 (Italy's "
            "PNIEC 2030 trajectory); default: today's grid intensity throughout",
        ),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            help="Brightway datapackage, openLCA JSON-LD zip or MICS CSV folder, "
            "merged with the shipped inventory",
        ),
    ] = None,
) -> None:
    """The product's GWP100 by life-cycle stage, its circularity and design variants."""
    # imported here: the LCA engine (bw2calc, SciPy) would slow every other command's start
    from mics.footprint import service
    from mics.footprint.importers import load_database, merge
    from mics.footprint.model import Dataset

    db = database()
    data: Dataset | None = None
    if dataset is not None:
        data = merge(service.shipped_dataset(), load_database(dataset))
    result = service.footprint(
        db,
        product,
        monte_carlo=monte_carlo,
        cutoff=cutoff,
        seed=seed,
        dataset=data,
        grid_scenario=grid_scenario,
    )
    circ = service.circularity(db, product, dataset=data)
    body: dict[str, Any] = result.as_json()
    body["circularity"] = circ.as_json()
    if compare:
        refs = [] if compare == ["demo"] else compare
        found = service.alternatives(
            db, product, refs, iterations=iterations, seed=seed, dataset=data
        )
        body["alternatives"] = [a.as_json() for a in found]
    if as_json:
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=1) + "\n")
        return
    _print(body)


def _print(body: dict[str, Any]) -> None:
    unit = body["unit"]
    total = body["gwp100"]
    console.print(
        f"[bold]{body['name']}[/bold] ({body['product']}, GTIN {body['gtin']}): "
        f"[bold]{total:.3f} {unit}[/bold] GWP100 over {body['lifetime_years']:g} years "
        f"({body['per_year']:.3f} per year) - dataset {body['dataset']}"
    )
    if "data_quality" in body:
        console.print(
            f"data quality: {body['data_quality']:.0%} of the GWP emitted by figures checked in "
            f"their source ({body['data_quality_chain']:.0%} with every figure on the way checked)"
        )
    if "gwp100_interval" in body:
        low, high = body["gwp100_interval"]
        mc = body["monte_carlo"]
        console.print(
            f"Monte Carlo ({mc['iterations']} iterations, seed {mc['seed']}): mean "
            f"{mc['mean']:.3f}, median {mc['median']:.3f}, 95 % interval [{low:.3f}, {high:.3f}]; "
            f"samples {', '.join(mc['sampled'])}; the total above is the product of medians"
        )
    if body.get("grid_scenario"):
        console.print(f"use-phase grid scenario: {body['grid_scenario']}")
    stages = Table(title="by life-cycle stage")
    for column in ("stage", unit, "share"):
        stages.add_column(column, justify="right" if column != "stage" else "left")
    for stage, value in body["by_stage"].items():
        stages.add_row(stage, f"{value:.3f}", f"{value / total:.1%}" if total else "-")
    console.print(stages)
    materials = Table(title="by material")
    materials.add_column("material")
    materials.add_column(unit, justify="right")
    for material, value in body["by_material"].items():
        materials.add_row(material, f"{value:.3f}")
    console.print(materials)
    circ = body["circularity"]
    console.print(
        f"Material Circularity Indicator {circ['mci']:.2f}; recycled content "
        f"{circ['recycled_content']:.0%}, bio-based {circ['bio_based_content']:.0%}; "
        f"CFF total {circ['cff']['total']:.3f} {unit}"
    )
    console.print(f"[dim]MCI after the {circ['mci_method']}[/dim]")
    for alt in body.get("alternatives", []):
        delta = alt["delta"]
        verdict = {True: "significant", False: "not significant", None: "no Monte Carlo"}[
            alt["significant"]
        ]
        console.print(
            f"variant {alt['variant']} ({alt['label']}): {delta['per_year']:+.3f} {unit} per "
            f"year ({verdict}), MCI {delta['mci']:+.2f}"
        )
    for note in body["assumptions"]:
        console.print(f"[dim]assumption: {note}[/dim]")
