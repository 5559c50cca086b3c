"""Bring your own database: Brightway datapackages and openLCA JSON-LD archives as a Dataset.

Users with a licence for ecoinvent or another database export it and run MICS
products on it; nothing licensed ships with MICS.

**Brightway** (``bw_processing`` datapackage, a ``.zip`` or a folder with
``datapackage.json``): the ``technosphere_matrix``, ``biosphere_matrix`` and
``characterization_matrix`` vectors become processes, flows, exchanges and
factors. Each column is a process; its production entry (the one not flipped,
normally on the diagonal) scales its inputs to one reference unit. Integer ids
become ``bw<id>`` (processes) and ``bwf<id>`` (flows) unless a JSON or CSV
metadata resource lists ``id`` with ``code``, ``name``, ``unit``, ``location``
(``bw2data`` writes one); each characterisation vector's group name is its
method id. Distributions (stats_arrays ids 0-5) are kept::

    from bw2data import Database            # in your Brightway project
    Database("ecoinvent-3.10-cutoff").datapackage()   # -> the .zip to import

**openLCA** (JSON-LD zip, olca-schema 2: ``processes/``, ``flows/``,
``lcia_categories/`` of JSON files): product and waste exchanges link to their
``defaultProvider`` (else the one process whose reference flow it is);
elementary exchanges become biosphere exchanges; each impact category
becomes a method named after it (``method_names`` renames, e.g.
``{"Climate change": "gwp100"}``). Export from openLCA with *File > Export >
JSON-LD*.

Then ``merge(shipped_dataset(), imported)`` keeps MICS's manufacturing,
transport and end-of-life processes next to yours; set each material's
``lca_process`` to the imported process id and run
``mics footprint PRODUCT --dataset FILE`` or ``service.footprint(db, ref,
dataset=...)``. Units are mapped to the engine's (``kilogram`` -> ``kg``, ...);
an unknown unit, a product without provider or an unsupported distribution
raises :class:`mics.errors.InvalidInput` naming it.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import bw_processing as bwp
import numpy as np

from mics.errors import InvalidInput
from mics.footprint.matrices import UNITS
from mics.footprint.model import (
    CharacterisationFactor,
    Dataset,
    Exchange,
    Flow,
    Process,
    Uncertainty,
)

# Unit names of Brightway/ecoinvent and openLCA, mapped to the engine's units.
UNIT_NAMES: Mapping[str, str] = {
    "kilogram": "kg", "gram": "g", "ton": "t", "tonne": "t", "megajoule": "MJ",
    "gigajoule": "GJ", "kilowatt hour": "kWh", "kilowatt-hour": "kWh", "watt hour": "Wh",
    "ton kilometer": "t*km", "tonne kilometer": "t*km", "metric ton*km": "t*km", "tkm": "t*km",
    "kilogram kilometer": "kg*km", "cubic meter": "m3", "litre": "l", "liter": "l",
    "square meter": "m2", "square meter-year": "m2*a", "m2a": "m2*a", "unit": "item",
    "item(s)": "item", "items": "item", "p": "item", "pcs": "item", "hour": "h",
    "kilo becquerel": "kBq",
}  # fmt: skip
_SOURCE = "imported from {}"
_BW_KINDS = {0: "none", 1: "none", 2: "lognormal", 3: "normal", 4: "uniform", 5: "triangular"}


def unit_of(name: str, where: str) -> str:
    """The engine's unit for a unit name of an imported database."""
    if name in UNITS:
        return name
    mapped = UNIT_NAMES.get(name.strip().lower())
    if mapped is None:
        raise InvalidInput(
            f"{where}: unknown unit {name!r}; map it in mics.footprint.importers.UNIT_NAMES "
            f"to one of {', '.join(UNITS)}",
            field=where,
            value=name,
            expected="a unit the LCA engine knows",
        )
    return mapped


# --- Brightway -----------------------------------------------------------------------------


def load_brightway(path: str | Path) -> Dataset:
    """A Brightway datapackage (``.zip`` or folder) as a Dataset."""
    source = Path(path)
    if source.is_dir():
        fs: Any = bwp.generic_directory_filesystem(dirpath=source)
    elif zipfile.is_zipfile(source):
        fs = bwp.generic_zipfile_filesystem(
            dirpath=source.parent, filename=source.name, write=False
        )
    else:
        raise InvalidInput(
            f"{source} is neither a folder nor a zip archive",
            field="path",
            value=str(source),
            expected="a bw_processing datapackage (.zip or folder with datapackage.json)",
        )
    try:
        package = bwp.load_datapackage(fs)
    except Exception as error:  # bw_processing raises assorted errors on foreign files
        raise InvalidInput(
            f"{source}: not a readable bw_processing datapackage ({type(error).__name__}: {error})",
            field="path",
            value=str(source),
            expected="a folder or zip with datapackage.json",
        ) from None
    name = str(package.metadata.get("name") or source.stem)
    vectors: dict[str, dict[str, Any]] = {}
    labels: dict[int, dict[str, Any]] = {}
    for resource in package.resources:
        data, meta = package.get_resource(resource["name"])
        if resource.get("category") == "vector":
            group = vectors.setdefault(resource["group"], {"matrix": resource["matrix"]})
            group[resource["kind"]] = data
            group.setdefault("unit", meta.get("unit"))
        elif resource.get("profile") == "data-resource" and resource.get("mediatype"):
            for record in _records(data):
                if "id" in record:
                    labels[int(record["id"])] = record
    return _from_vectors(name, vectors, labels)


def _records(data: Any) -> Iterator[dict[str, Any]]:
    if hasattr(data, "to_dict"):  # a pandas DataFrame from CSV metadata
        yield from data.to_dict("records")
    elif isinstance(data, list):
        yield from (r for r in data if isinstance(r, dict))
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict) and str(key).isdigit():
                yield {"id": int(key), **value}


def _from_vectors(
    name: str, vectors: Mapping[str, Mapping[str, Any]], labels: Mapping[int, Mapping[str, Any]]
) -> Dataset:
    entries: dict[str, list[tuple[int, int, float, bool, Any]]] = {}
    methods: dict[str, list[tuple[int, float]]] = {}
    method_units: dict[str, str] = {}
    for group, arrays in vectors.items():
        matrix, indices = arrays["matrix"], arrays["indices"]
        data = np.asarray(arrays["data"], dtype=np.float64)
        flip = arrays.get("flip", np.zeros(len(data), dtype=bool))
        dist = arrays.get("distributions")
        if matrix == "characterization_matrix":
            methods[group] = [(int(r), float(v)) for r, v in zip(indices["row"], data, strict=True)]
            method_units[group] = str(arrays.get("unit") or "unit")
            continue
        rows = entries.setdefault(matrix, [])
        for k in range(len(data)):
            u = dist[k] if dist is not None else None
            rows.append(
                (int(indices["row"][k]), int(indices["col"][k]), float(data[k]), bool(flip[k]), u)
            )
    technosphere = entries.get("technosphere_matrix", [])
    if not technosphere:
        raise InvalidInput(
            "the datapackage has no technosphere_matrix vector",
            field="resources",
            value=sorted(vectors),
            expected="technosphere_matrix, biosphere_matrix and characterization_matrix vectors",
        )
    production: dict[int, tuple[int, float]] = {}  # column -> (product row, amount)
    for row, col, value, flipped, _ in technosphere:
        if not flipped and (row == col or col not in production):
            production[col] = (row, value)
    provider = {row: col for col, (row, _) in production.items()}
    for col, (row, amount) in production.items():
        if amount == 0 or not math.isfinite(amount):
            raise InvalidInput(
                f"activity {col} produces {amount} of its product; it must make a non-zero amount",
                field=f"technosphere_matrix[{row}, {col}]",
                value=amount,
            )
    source = _SOURCE.format(name)
    processes = tuple(
        Process(
            _pid(col, labels),
            str(labels.get(col, {}).get("name", f"activity {col}")),
            unit_of(str(labels.get(col, {}).get("unit", "unit")), f"activity {col} unit"),
            str(labels.get(col, {}).get("location", "GLO")),
            "material",
            source,
        )
        for col in sorted(production)
    )
    sums: dict[tuple[str, str, str], list[Any]] = {}
    for row, col, value, flipped, u in technosphere:
        if (row, value) == production.get(col) and not flipped:
            continue
        if row not in provider:
            raise InvalidInput(
                f"missing provider: activity {col} uses product {row}, which no activity "
                "produces; include the supplying database in the datapackage",
                field=f"technosphere_matrix[{row}, {col}]",
                value=row,
                expected="a product with a producing activity",
            )
        amount = (value if flipped else -value) / production[col][1]
        _add(
            sums,
            (_pid(col, labels), _pid(provider[row], labels), "technosphere"),
            amount,
            u,
            production[col][1],
        )
    flow_ids = set()
    for row, col, value, flipped, u in entries.get("biosphere_matrix", []):
        amount = (-value if flipped else value) / production[col][1]
        _add(sums, (_pid(col, labels), f"bwf{row}", "biosphere"), amount, u, production[col][1])
        flow_ids.add(row)
    for pairs in methods.values():
        flow_ids.update(r for r, _ in pairs)
    flows = tuple(
        Flow(
            f"bwf{f}",
            str(labels.get(f, {}).get("name", f"flow {f}")),
            unit_of(str(labels.get(f, {}).get("unit", "kilogram")), f"flow {f} unit"),
            str(labels.get(f, {}).get("categories", "air")),
        )
        for f in sorted(flow_ids)
    )
    units = {p.id: p.unit for p in processes} | {f.id: f.unit for f in flows}
    exchanges = tuple(
        Exchange(process, target, kind, amount, units[target], source, u)  # type: ignore[arg-type]
        for (process, target, kind), (amount, u) in sums.items()
    )
    factors = tuple(
        CharacterisationFactor(group, f"bwf{row}", value, method_units[group], source)
        for group, pairs in methods.items()
        for row, value in pairs
    )
    return Dataset(name, processes, flows, exchanges, factors)


def _pid(col: int, labels: Mapping[int, Mapping[str, Any]]) -> str:
    code = labels.get(col, {}).get("code")
    return str(code) if code else f"bw{col}"


def _add(
    sums: dict[tuple[str, str, str], list[Any]],
    key: tuple[str, str, str],
    amount: float,
    u: Any,
    production: float,
) -> None:
    if key in sums:  # duplicates add up, as bw2calc sums them; their spread is dropped
        sums[key] = [sums[key][0] + amount, Uncertainty()]
        return
    sums[key] = [amount, _bw_uncertainty(u, amount, production, key)]


def _bw_uncertainty(u: Any, amount: float, production: float, key: tuple[str, ...]) -> Uncertainty:
    if u is None:
        return Uncertainty()
    kind = int(u["uncertainty_type"])
    if kind not in _BW_KINDS:
        raise InvalidInput(
            f"exchange {key[1]} -> {key[0]}: distribution id {kind} is not supported; MICS "
            "samples none (0/1), lognormal (2), normal (3), uniform (4) and triangular (5)",
            field="distributions_array.uncertainty_type",
            value=kind,
            expected="0..5",
        )
    scale = abs(production)
    name = _BW_KINDS[kind]
    if name == "lognormal":
        return Uncertainty("lognormal", sigma_g=float(math.exp(u["scale"])))
    if name == "normal":
        return Uncertainty("normal", sd=float(u["scale"]) / scale)
    if name in ("uniform", "triangular"):
        low, high = sorted((float(u["minimum"]) / scale, float(u["maximum"]) / scale))
        low, high = (-high, -low) if amount < 0 and low > 0 else (low, high)
        return Uncertainty(name, low=low, high=high)  # type: ignore[arg-type]
    return Uncertainty()


# --- openLCA JSON-LD -----------------------------------------------------------------------


_OLCA_DISTRIBUTIONS = {
    "LOG_NORMAL_DISTRIBUTION": "lognormal",
    "NORMAL_DISTRIBUTION": "normal",
    "UNIFORM_DISTRIBUTION": "uniform",
    "TRIANGLE_DISTRIBUTION": "triangular",
}


def load_openlca(path: str | Path, method_names: Mapping[str, str] | None = None) -> Dataset:
    """An openLCA JSON-LD zip archive (olca-schema) as a Dataset."""
    source = Path(path)
    if not zipfile.is_zipfile(source):
        raise InvalidInput(
            f"{source} is not a zip archive",
            field="path",
            value=str(source),
            expected="an openLCA JSON-LD export (.zip)",
        )
    with zipfile.ZipFile(source) as archive:
        folders: dict[str, list[dict[str, Any]]] = {}
        for entry in archive.namelist():
            parts = entry.split("/")
            if len(parts) == 2 and parts[1].endswith(".json"):
                folders.setdefault(parts[0], []).append(json.loads(archive.read(entry)))
    if not folders.get("processes"):
        raise InvalidInput(
            f"{source}: no processes/*.json in the archive",
            field="path",
            value=sorted(folders),
            expected="an olca-schema JSON-LD zip with processes/, flows/, lcia_categories/",
        )
    return _from_olca(source.stem, folders, method_names or {})


def _from_olca(
    name: str, folders: Mapping[str, list[dict[str, Any]]], method_names: Mapping[str, str]
) -> Dataset:
    source = _SOURCE.format(name)
    flows_by_id = {f["@id"]: f for f in folders.get("flows", [])}
    references: dict[str, tuple[str, float, str]] = {}  # process -> (flow, amount, unit)
    makers: dict[str, list[str]] = {}
    for p in folders["processes"]:
        ref = [e for e in p.get("exchanges", []) if e.get("isQuantitativeReference")]
        if len(ref) != 1:
            raise InvalidInput(
                f"process {p.get('name')!r} has {len(ref)} quantitative references; it needs one",
                field=f"processes/{p['@id']}.json",
                value=len(ref),
                expected="exactly one exchange with isQuantitativeReference",
            )
        e = ref[0]
        unit = unit_of(e.get("unit", {}).get("name", ""), f"process {p.get('name')!r} unit")
        references[p["@id"]] = (e["flow"]["@id"], float(e["amount"]), unit)
        makers.setdefault(e["flow"]["@id"], []).append(p["@id"])
    processes = tuple(
        Process(
            p["@id"],
            str(p.get("name", p["@id"])),
            references[p["@id"]][2],
            str((p.get("location") or {}).get("name", "GLO")),
            "material",
            source,
        )
        for p in folders["processes"]
    )
    exchanges: list[Exchange] = []
    elementary: set[str] = set()
    for p in folders["processes"]:
        _, ref_amount, _ = references[p["@id"]]
        for e in p.get("exchanges", []):
            if e.get("isQuantitativeReference"):
                continue
            flow = e["flow"]
            flow_type = flow.get("flowType") or flows_by_id.get(flow["@id"], {}).get("flowType")
            where = f"process {p.get('name')!r}, exchange with {flow.get('name', flow['@id'])!r}"
            unit = unit_of(e.get("unit", {}).get("name", ""), where)
            amount = float(e["amount"]) / ref_amount
            uncertainty = _olca_uncertainty(e.get("uncertainty"), ref_amount, where)
            if flow_type == "ELEMENTARY_FLOW":
                elementary.add(flow["@id"])
                exchanges.append(
                    Exchange(p["@id"], flow["@id"], "biosphere", amount, unit, source, uncertainty)
                )
                continue
            if bool(e.get("isInput")) == (flow_type == "WASTE_FLOW") and not e.get(
                "avoidedProduct"
            ):
                raise InvalidInput(
                    f"{where}: a co-product or a waste input; MICS models one reference "
                    "product per process, so allocate (or split) the process in openLCA first",
                    field=f"processes/{p['@id']}.json",
                    value=flow["@id"],
                    expected="product inputs and waste outputs only",
                )
            provider = (e.get("defaultProvider") or {}).get("@id")
            candidates = makers.get(flow["@id"], [])
            if provider is None and len(candidates) == 1:
                provider = candidates[0]
            if provider is None or provider not in references:
                raise InvalidInput(
                    f"missing provider: {where} has no defaultProvider in the archive and "
                    f"{len(candidates)} processes make it; export the providers too or set "
                    "defaultProvider",
                    field=f"processes/{p['@id']}.json",
                    value=flow["@id"],
                    expected="one process that provides the flow",
                )
            if e.get("avoidedProduct"):
                amount = -amount
            exchanges.append(
                Exchange(p["@id"], provider, "technosphere", amount, unit, source, uncertainty)
            )
    flows = tuple(_olca_flow(flows_by_id.get(f, {"@id": f}), f) for f in sorted(elementary))
    factors = []
    for category in folders.get("lcia_categories", []):
        method = method_names.get(
            category.get("name", ""), _slug(category.get("name") or category["@id"])
        )
        for factor in category.get("impactFactors", []):
            if factor["flow"]["@id"] in elementary:
                factors.append(
                    CharacterisationFactor(
                        method,
                        factor["flow"]["@id"],
                        float(factor["value"]),
                        str(category.get("refUnit", "")),
                        source,
                    )
                )
    return Dataset(name, processes, flows, tuple(exchanges), tuple(factors))


def _olca_flow(flow: Mapping[str, Any], flow_id: str) -> Flow:
    unit = "kg"
    for prop in flow.get("flowProperties", []):
        if prop.get("isRefFlowProperty"):
            unit = unit_of(
                str(prop.get("flowProperty", {}).get("refUnit", "kg")), f"flow {flow_id}"
            )
    category = str(flow.get("category", "")).lower()
    compartment = next((c for c in ("air", "water", "soil", "resource") if c in category), "air")
    return Flow(flow_id, str(flow.get("name", flow_id)), unit, compartment)


def _olca_uncertainty(u: Mapping[str, Any] | None, ref_amount: float, where: str) -> Uncertainty:
    if not u:
        return Uncertainty()
    kind = _OLCA_DISTRIBUTIONS.get(str(u.get("distributionType")))
    scale = abs(ref_amount)
    if kind == "lognormal":
        return Uncertainty("lognormal", sigma_g=float(u["geomSd"]))
    if kind == "normal":
        return Uncertainty("normal", sd=float(u["sd"]) / scale)
    if kind in ("uniform", "triangular"):
        return Uncertainty(kind, low=float(u["minimum"]) / scale, high=float(u["maximum"]) / scale)  # type: ignore[arg-type]
    raise InvalidInput(
        f"{where}: unsupported distribution {u.get('distributionType')!r}",
        field="uncertainty.distributionType",
        value=u.get("distributionType"),
        expected=", ".join(_OLCA_DISTRIBUTIONS),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "method"


# --- both ----------------------------------------------------------------------------------


def load_database(path: str | Path) -> Dataset:
    """Any supported database by its layout: Brightway datapackage, openLCA zip, MICS CSV folder."""
    from mics.footprint.dataset import load_dataset

    source = Path(path)
    if source.is_dir():
        if (source / "processes.csv").is_file():
            return load_dataset(str(source))
        return load_brightway(source)
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
        if "datapackage.json" in names:
            return load_brightway(source)
        return load_openlca(source)
    raise InvalidInput(
        f"cannot read database {source}: not a folder or a zip archive",
        field="dataset",
        value=str(source),
        expected="a bw_processing datapackage, an openLCA JSON-LD zip or a MICS CSV folder",
    )


def merge(base: Dataset, extra: Dataset) -> Dataset:
    """``base`` plus ``extra``; a process or flow id in both raises (rename one)."""
    for kind, ours, theirs in (
        ("process", {p.id for p in base.processes}, {p.id for p in extra.processes}),
        ("flow", {f.id for f in base.flows}, {f.id for f in extra.flows}),
    ):
        clash = sorted(ours & theirs)
        if clash:
            raise InvalidInput(
                f"{kind} ids {clash[:5]} are in both {base.name!r} and {extra.name!r}",
                field=f"{kind}s",
                value=clash[:5],
                expected="distinct ids: rename them in the imported database",
            )
    return Dataset(
        f"{base.name} + {extra.name}",
        base.processes + extra.processes,
        base.flows + extra.flows,
        base.exchanges + extra.exchanges,
        base.factors + extra.factors,
    )
