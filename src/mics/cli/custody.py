"""``mics custody``: chain-of-custody accounts, reports and claims (ISO 22095, issue 18).

mics custody report orafi-aretini --period 2026Q3 [--json]
mics custody claim orafi-aretini --material gold --characteristic recycled \
    --kg 0.0028 --period 2026Q3 https://id.gs1.org/01/08012345000708/21/AF0001
mics custody open SITE --material gold --characteristic recycled --scheme rjc-coc \
    --model controlled_blending --factor cast-rings=0.97
mics custody record SITE events.json     # an EPCIS document of custody events
mics custody packs [--json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mics.cli.common import console, database
from mics.errors import InvalidInput

custody_app = typer.Typer(
    help="Chain of custody (ISO 22095): balances, claims, rule packs.", no_args_is_help=True
)


@custody_app.command("report")
def report(
    site: Annotated[str, typer.Argument(help="the site's partner id, e.g. orafi-aretini")],
    period: Annotated[str, typer.Option(help="2026Q3, 2026-07, 2026H2, 2026 or a date range")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Opening balance, inputs, conversions, outputs, claims, closing balance and the
    reconciliation of every account the site keeps, for one balancing period."""
    from mics.custody import reports

    found = reports.balances(database(), site, period)
    if as_json:
        body = {"site": site, "period": period, "accounts": [b.as_json() for b in found]}
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    if not found:
        console.print(f"{site} keeps no chain-of-custody account")
    for kept in found:
        _print(kept.as_json())


def _print(b: dict[str, Any]) -> None:
    console.rule(
        f"{b['site']} / {b['material']} / {b['characteristic']}  "
        f"{b['scheme']}, {b['model'].replace('_', ' ')}, {b['period']}"
    )
    console.print(f"[dim]balance in {b['basis']}[/dim]")
    summary = Table("", "kg", show_header=False)
    for label, key in (
        ("opening balance", "openingKg"),
        ("certified input", "creditedKg"),
        ("all input", "inputKg"),
        ("output made", "outputKg"),
        ("certified in output", "certifiedOutputKg"),
        ("claimed", "claimedKg"),
        ("closing balance", "closingKg"),
    ):
        summary.add_row(label, f"{b[key]:.6g}")
    console.print(summary)
    if b["inputs"]:
        inputs = Table("received", "kg", "share", "category", "evidence", title="inputs")
        for i in b["inputs"]:
            evidence = "; ".join(f"{k}: {v}" for k, v in i["evidence"].items())
            inputs.add_row(
                i["time"][:10],
                f"{i['kg']:.6g}",
                f"{i['share']:.0%}",
                i["category"] or "",
                evidence,
            )
        console.print(inputs)
    if b["conversions"]:
        steps = Table(
            "step", "product group", "in kg", "out kg", "factor", "declared", title="conversions"
        )
        for c in b["conversions"]:
            declared = "" if c["declaredFactor"] is None else f"{c['declaredFactor']:.4g}"
            steps.add_row(
                c["step"] or "",
                c["productGroup"] or "",
                f"{c['inputKg']:.6g}",
                f"{c['outputKg']:.6g}",
                f"{c['measuredFactor']:.4g}",
                declared,
            )
        console.print(steps)
    if b["claims"]:
        claims = Table("claim", "kg", "items", title="claims")
        for c in b["claims"]:
            claims.add_row(c["text"], f"{c['kg']:.6g}", str(c["items"]))
        console.print(claims)
    r = b["reconciliation"]
    if r["countedKg"] is None:
        console.print(f"reconciliation: book stock {r['bookKg']:.6g} kg, no stock count")
    else:
        verdict = "within" if r["within"] else "OUTSIDE"
        console.print(
            f"reconciliation: book {r['bookKg']:.6g} kg, counted {r['countedKg']:.6g} kg, "
            f"difference {r['difference']:.3%} ({verdict} the {r['tolerance']:.1%} tolerance)"
        )
    for note in b["notes"]:
        console.print(f"[yellow]{note}[/yellow]")


@custody_app.command("claim")
def claim(
    site: Annotated[str, typer.Argument(help="the site's partner id")],
    items: Annotated[
        list[str],
        typer.Argument(help="item or lot identifiers (EPC URN, Digital Link, or GTIN/serial)"),
    ],
    material: Annotated[str, typer.Option(help="e.g. gold")],
    characteristic: Annotated[str, typer.Option(help="recycled, bio_based, certified_origin")],
    kg: Annotated[float, typer.Option(help="kilograms of the characteristic claimed")],
    period: Annotated[str, typer.Option(help="the balancing period, e.g. 2026Q3")],
    unit: Annotated[str, typer.Option(help="the claim's unit (kg)")] = "kg",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Claim kilograms of a characteristic on items or lots; refused with how much is
    available when the ledger does not hold it."""
    from mics.custody import service

    made = service.claim(
        database(),
        site=site,
        material=material,
        characteristic=characteristic,
        kg=kg,
        period=period,
        items=items,
        unit=unit,
    )
    if as_json:
        sys.stdout.write(json.dumps(made.as_json(), indent=2) + "\n")
        return
    console.print(f"claim {made.id}: {made.text}")
    console.print(
        f"  {made.kg:.6g} kg on {len(made.items)} item(s); evidence: "
        f"{len(made.evidence)} events, the claim's own {made.event_id}"
    )


@custody_app.command("open")
def open_account(
    site: Annotated[str, typer.Argument(help="the site's partner id")],
    material: Annotated[str, typer.Option()],
    characteristic: Annotated[str, typer.Option()],
    scheme: Annotated[str, typer.Option(help="a rule pack: mics custody packs")],
    model: Annotated[str, typer.Option(help="an ISO 22095 model the pack allows")],
    factor: Annotated[
        list[str] | None,
        typer.Option(help="PRODUCT_GROUP=FACTOR, a conversion factor in (0, 1] (repeatable)"),
    ] = None,
) -> None:
    """Open an account for a site, material and characteristic under a rule pack."""
    from mics.custody import service

    factors: dict[str, float] = {}
    for text in factor or []:
        group, _, value = text.partition("=")
        try:
            factors[group] = float(value)
        except ValueError:
            raise InvalidInput(
                "not GROUP=FACTOR", field="--factor", value=text, expected="e.g. cast-rings=0.97"
            ) from None
    kept = service.open_account(database(), site, material, characteristic, scheme, model, factors)
    console.print(f"account {kept.key}: {kept.pack}, {kept.model}, factors {factors or 'none'}")


@custody_app.command("record")
def record(
    site: Annotated[str, typer.Argument(help="the site's partner id")],
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="an EPCIS 2.0 JSON-LD document")
    ],
) -> None:
    """Capture an EPCIS document of custody events as the site and enter them."""
    from mics.custody import service

    try:
        document = json.loads(file.read_text("utf-8"))
        events = document["epcisBody"]["eventList"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput(
            f"not an EPCIS JSON document ({error})",
            field="file",
            value=str(file),
            expected="epcisBody.eventList",
        ) from None
    entered = service.record(database(), events, site)
    console.print(f"{len(entered)} entries recorded for {site}")


@custody_app.command("packs")
def packs(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The shipped rule packs, every rule with its source."""
    from mics.custody.pack import load, shipped

    found = [load(p) for p in shipped()]
    if as_json:
        sys.stdout.write(json.dumps([p.as_json() for p in found], indent=2) + "\n")
        return
    for pack in found:
        table = Table("rule", "value", "source", title=f"{pack.id}: {pack.name} {pack.version}")
        for rule in pack.rules:
            table.add_row(rule.key, json.dumps(rule.value), rule.source)
        console.print(table)
