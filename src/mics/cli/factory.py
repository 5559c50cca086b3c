"""``mics factory simulate|scenarios|plan``: the closed-loop factory from the command line.

mics factory scenarios
mics factory simulate space-station                 # a shipped scenario
mics factory simulate my-plant.toml --seed 3 --horizon 365 --json
mics factory plan space-station
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mics.cli.common import console, err_console

factory_app = typer.Typer(
    help="Simulate and plan a closed-loop additive-manufacturing factory.", no_args_is_help=True
)
Scenario = Annotated[str, typer.Argument(help="a TOML path or a shipped scenario's name")]


@factory_app.command("scenarios")
def scenarios() -> None:
    """List the shipped scenarios."""
    from mics.factory import load, shipped

    table = Table(title="shipped scenarios")
    for column in ("name", "horizon (days)", "resupply", "materials", "machines", "parts"):
        table.add_column(column)
    for name in shipped():
        s = load(name)
        table.add_row(
            name,
            f"{s.horizon_days:g}",
            s.resupply,
            ", ".join(m.id for m in s.materials),
            ", ".join(m.id for m in s.machines),
            ", ".join(p.id for p in s.parts),
        )
    console.print(table)


@factory_app.command("simulate")
def simulate(
    scenario: Scenario,
    seed: Annotated[int | None, typer.Option(help="random seed (default: the scenario's)")] = None,
    horizon: Annotated[
        float | None, typer.Option(help="simulated days (default: the scenario's)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="write an SVG of stock by quality band and material flows")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(help="capture the recycling as EPCIS TransformationEvents (needs --partner)"),
    ] = False,
    partner: Annotated[
        str | None, typer.Option(help="the partner the events are captured for")
    ] = None,
) -> None:
    """Run the scenario: days without resupply, losses, quality, energy and CO2e."""
    from mics.factory import load
    from mics.factory.result import grid_gwp_per_kwh
    from mics.factory.simulation import simulate as run

    chosen = load(scenario)
    if horizon is not None:
        chosen = chosen.with_horizon(horizon)
    grid_gwp_per_kwh(chosen.grid)  # a bad grid id fails before the run
    db = None
    if record:
        from mics import registry
        from mics.cli.common import database
        from mics.errors import InvalidInput

        if partner is None:
            raise InvalidInput(
                "--record needs the partner to capture for",
                field="--partner",
                value=None,
                expected="a partner id of the registry",
            )
        db = database()
        registry.get_partner(db, partner)  # an unknown partner fails before the run
    if seed is not None and not 0 <= seed < 2**32:
        from mics.errors import InvalidInput

        raise InvalidInput("bad seed", field="--seed", value=seed, expected="0 <= seed < 2**32")
    with Progress(
        TextColumn("simulating {task.description}"),
        BarColumn(),
        TextColumn("day {task.completed:.0f} of {task.total:.0f}"),
        TimeRemainingColumn(),
        console=err_console,
        transient=as_json,
        disable=as_json,
    ) as bar:
        task = bar.add_task(chosen.name, total=chosen.horizon_days)
        log: list[Any] | None = [] if record else None
        result = run(chosen, seed, progress=lambda day: bar.update(task, completed=day), record=log)
        bar.update(task, completed=result.end_day)
    body = result.as_json()
    if db is not None and partner is not None and log is not None:
        from mics.factory.service import record_genealogy

        capture_id, count = record_genealogy(db, chosen, log, partner, end_day=result.end_day)
        body["genealogy"] = {"capture_id": capture_id, "events": count}
        err_console.print(f"recorded {count} TransformationEvents (capture {capture_id})")
    if plot is not None:
        from mics.factory import charts

        plot.write_text(
            "<!-- MICS factory run -->\n"
            + charts.stack([charts.stock_chart(body), charts.material_flows(body)]),
            encoding="utf-8",
        )
    if as_json:
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=1) + "\n")
        return
    _print(body)


def _print(body: dict[str, Any]) -> None:
    days = body["self_sufficiency_days"]
    answer = (
        f"[bold]{days:.0f} days[/bold] until the first demand could not be met"
        if days is not None
        else f"[bold]every demand met[/bold] for the {body['horizon_days']:g} days simulated"
    )
    console.print(f"[bold]{body['scenario']}[/bold] (seed {body['seed']}): {answer}")
    if body["stopped"]:
        console.print(f"stopped at day {body['end_day']:.0f}: {body['stopped']}")
    summary = Table(title="summary")
    summary.add_column("figure")
    summary.add_column("value", justify="right")
    rows = [
        ("initial stock (kg)", f"{body['initial_stock_kg']:.3f}"),
        ("delivered parts", f"{body['delivered_parts']}"),
        ("delivered (kg)", f"{body['delivered_kg']:.3f}"),
        ("backlog (parts)", f"{body['backlog_parts']}"),
        ("closure rate", f"{body['closure_rate']:.1%}"),
        ("lead time p50 / p95 (days)", "{p50:.2f} / {p95:.2f}".format(**body["lead_time_days"])),
        ("energy (kWh)", f"{sum(body['energy_kwh'].values()):.1f}"),
        ("GWP100 (kg CO2e)", f"{body['gwp_kg_co2e']:.1f}"),
        ("mass balance error (kg)", f"{body['mass_balance_error_kg']:.1e}"),
    ]
    for row in rows:
        summary.add_row(*row)
    console.print(summary)
    for title, values, unit in (
        ("losses by stage", body["losses_kg"], "kg"),
        ("energy by stage", body["energy_kwh"], "kWh"),
        ("utilisation by machine", body["utilisation"], "share"),
    ):
        table = Table(title=title)
        table.add_column("")
        table.add_column(unit, justify="right")
        for key, value in values.items():
            table.add_row(key, f"{value:.1%}" if unit == "share" else f"{value:.3f}")
        console.print(table)
    quality = Table(title="feedstock loops of delivered parts, stock left")
    for column in ("material", "mean loops", "max loops", "stock left (kg)"):
        quality.add_column(column, justify="left" if column == "material" else "right")
    for material, q in body["quality"].items():
        quality.add_row(
            material,
            f"{q['mean_loops']:.2f}",
            f"{q['max_loops']:.2f}",
            f"{body['stock_kg'][material]:.3f}",
        )
    console.print(quality)


@factory_app.command("plan")
def plan(
    scenario: Scenario,
    days: Annotated[float, typer.Option(help="plan the expected demand of this many days")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Nest a period's expected demand on the build plates and time the builds."""
    from mics.errors import InvalidInput
    from mics.factory import load
    from mics.factory.buildplan import plan as make_plan

    if not 0 < days <= 3650:
        raise InvalidInput("bad period", field="--days", value=days, expected="0 < days <= 3650")
    made = make_plan(load(scenario), days)
    if as_json:
        sys.stdout.write(json.dumps(made.as_json(), ensure_ascii=False, indent=1) + "\n")
        return
    table = Table(title=f"{made.scenario}: builds for {made.period_days:g} days of demand")
    for column in ("#", "machine", "material", "parts", "height mm", "layers", "hours", "plate"):
        left = column in ("machine", "material", "parts")
        table.add_column(column, justify="left" if left else "right")
    for n, build in enumerate(made.builds, 1):
        counts: dict[str, int] = {}
        for placement in build.placements:
            counts[placement.part] = counts.get(placement.part, 0) + 1
        table.add_row(
            str(n),
            build.machine,
            build.material,
            ", ".join(f"{k} x{v}" for k, v in counts.items()),
            f"{build.height_mm:g}",
            str(build.layers),
            f"{build.hours:.1f}",
            f"{build.density:.0%}",
        )
    console.print(table)
    console.print(
        f"{made.parts} parts in {len(made.builds)} builds, plate use {made.density:.0%} "
        f"(a shelf packer: {made.shelf_plates} plates, {made.shelf_density:.0%}); "
        f"{made.hours:.1f} h of printing, {made.hours_saved:.1f} h saved against one part per build"
    )


@factory_app.command("sweep")
def sweep(
    scenario: Scenario,
    vary: Annotated[
        list[str],
        typer.Option(help="KEY=LO:HI:N, e.g. recycler[0].yield=0.8:0.99:5 (repeatable)"),
    ],
    lhs: Annotated[
        int | None, typer.Option(help="N Latin-hypercube points over the ranges (not a grid)")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the Latin hypercube")] = 0,
    out: Annotated[Path | None, typer.Option(help="write the rows: .csv or .parquet")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="write an SVG: days without resupply by variant")
    ] = None,
    dask: Annotated[
        str | None, typer.Option(help="run on a Dask distributed scheduler at this address")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="local worker processes")] = None,
) -> None:
    """Run a scenario over a grid or a Latin hypercube of key values, in parallel."""
    from mics.factory import sweep as sweeps

    doc = sweeps.document(scenario)
    axes = [sweeps.axis(spec) for spec in vary]
    if dask is not None:
        try:
            from distributed import Client
        except ImportError as error:
            from mics.errors import InvalidInput

            raise InvalidInput(
                "Dask is not installed",
                field="--dask",
                value=dask,
                expected="pip install 'mics[cluster]'",
            ) from error
        with Client(dask) as client:  # type: ignore[no-untyped-call]  # untyped library
            rows = sweeps.sweep(doc, axes, lhs=lhs, seed=seed, executor=client.get_executor())
    elif workers is not None:
        with sweeps.default_executor(workers) as pool:
            rows = sweeps.sweep(doc, axes, lhs=lhs, seed=seed, executor=pool)
    else:
        rows = sweeps.sweep(doc, axes, lhs=lhs, seed=seed)
    if out is not None:
        if out.suffix == ".parquet":
            sweeps.write_parquet(rows, out)
        else:
            sweeps.write_csv(rows, out)
    if plot is not None:
        from mics.factory import charts

        plot.write_text(charts.sweep_chart(rows, [a.key for a in axes]), encoding="utf-8")
    table = Table(title=f"{len(rows)} variants")
    keys = [a.key for a in axes]
    for column in (*keys, "days without resupply", "delivered kg", "closure", "losses kg"):
        table.add_column(column, justify="right")
    for row in rows:
        days = row["self_sufficiency_days"]
        table.add_row(
            *(f"{row[k]:.4g}" for k in keys),
            "never short" if days is None else f"{days:.0f}",
            f"{row['delivered_kg']:.2f}",
            f"{row['closure_rate']:.1%}",
            f"{row['losses_kg']:.2f}",
        )
    console.print(table)
