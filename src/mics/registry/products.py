"""Products, their bills of materials, and serialised items."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound
from mics.registry import domain
from mics.registry.schemas import (
    BomNode,
    ComponentOut,
    ItemIn,
    ItemOut,
    Page,
    ProductIn,
    ProductOut,
    ProductPatch,
)
from mics.registry.service import _get, _page, _refs, merge
from mics.registry.store import (
    ComponentRow,
    ItemRow,
    MaterialRow,
    PartnerRow,
    ProductRow,
    SectorRow,
)


def _product_out(r: ProductRow) -> ProductOut:
    components = [
        ComponentOut(
            position=c.position,
            name=c.name,
            material=c.material_id,
            product=c.subproduct_id,
            mass_kg=c.mass_kg,
            process=c.process,
        )
        for c in r.components
    ]
    return ProductOut(
        id=r.id,
        gtin=r.gtin,
        name=r.name,
        sector=r.sector_id,
        brand=r.brand_id,
        lifetime_years=r.lifetime_years,
        description=r.description,
        repair_notes=r.repair_notes,
        end_of_life_notes=r.end_of_life_notes,
        texts=r.texts or {},
        components=components,
        mass_kg=round(sum(c.mass_kg for c in components), 6),
    )


def find_product(s: Session, ref: str) -> ProductRow:
    """A product by id, or by GTIN when ``ref`` is all digits."""
    row = s.get(ProductRow, ref)
    if row is None and ref.isdigit():
        try:
            gtin = domain.normalise_gtin(ref)
        except InvalidInput:
            gtin = ref
        row = s.scalar(select(ProductRow).where(ProductRow.gtin == gtin))
    if row is None:
        raise NotFound(f"no product with id or GTIN {ref!r}", field="product", value=ref)
    return row


def put_product(s: Session, p: ProductIn, *, replace: bool) -> ProductRow:
    domain.check_slug(p.id)
    gtin = domain.normalise_gtin(p.gtin)
    lifetime = domain.check_positive(p.lifetime_years, "lifetime_years", "years")
    row = s.get(ProductRow, p.id)
    if row is not None and not replace:
        raise Conflict(f"product {p.id!r} already exists", field="id", value=p.id)
    clash = s.scalar(select(ProductRow.id).where(ProductRow.gtin == gtin, ProductRow.id != p.id))
    if clash is not None:
        raise Conflict(
            f"GTIN {gtin} already belongs to product {clash!r}", field="gtin", value=p.gtin
        )
    _refs(s, SectorRow, [p.sector], "sector")
    _refs(s, PartnerRow, [p.brand], "brand")
    lines = []
    for i, c in enumerate(p.components):
        where = f"components[{i}]"
        if (c.material is None) == (c.product is None):
            raise InvalidInput(
                "a component is either a material or a product, not both or none",
                field=where,
                value=c.model_dump(),
                expected="exactly one of 'material' and 'product'",
            )
        mass = domain.check_positive(c.mass_kg, f"{where}.mass_kg", "kg")
        if c.material is not None:
            _refs(s, MaterialRow, [c.material], f"{where}.material")
        if c.product is not None:
            _refs(s, ProductRow, [c.product], f"{where}.product")
        lines.append(
            ComponentRow(
                position=i,
                name=c.name,
                material_id=c.material,
                subproduct_id=c.product,
                mass_kg=mass,
                process=c.process,
            )
        )
    if row is None:
        row = ProductRow(id=p.id)
        s.add(row)
    row.gtin, row.name, row.sector_id, row.brand_id = gtin, p.name, p.sector, p.brand
    row.lifetime_years, row.description = lifetime, p.description
    row.repair_notes, row.end_of_life_notes = p.repair_notes, p.end_of_life_notes
    row.texts = {
        domain.check_language(lang, f"texts.{lang}"): t.model_dump(exclude_none=True)
        for lang, t in sorted(p.texts.items())
    }
    row.components = []
    s.flush()
    row.components = lines
    s.flush()
    _check_no_cycle(s, p.id)
    return row


def _check_no_cycle(s: Session, product_id: str) -> None:
    edges: dict[str, list[str]] = defaultdict(list)
    pairs = s.execute(
        select(ComponentRow.product_id, ComponentRow.subproduct_id).where(
            ComponentRow.subproduct_id.is_not(None)
        )
    )
    for parent, child in pairs:
        if child is not None:
            edges[parent].append(child)
    cycle = domain.find_bom_cycle(edges, product_id)
    if cycle:
        raise InvalidInput(
            "a product cannot contain itself",
            field="components",
            value=" -> ".join(cycle),
            expected="a bill of materials without loops",
        )


def create_product(db: Database, p: ProductIn) -> ProductOut:
    with db.transaction() as s:
        return _product_out(put_product(s, p, replace=False))


def get_product(db: Database, ref: str) -> ProductOut:
    with db.read() as s:
        return _product_out(find_product(s, ref))


def update_product(db: Database, ref: str, patch: ProductPatch) -> ProductOut:
    with db.transaction() as s:
        current = _product_out(find_product(s, ref)).model_dump(exclude={"mass_kg"})
        for line in current["components"]:
            line.pop("position")
        merged = merge(ProductIn, current, patch)
        return _product_out(put_product(s, merged, replace=True))


def list_products(
    db: Database,
    *,
    sector: str | None = None,
    brand: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[ProductOut]:
    query = select(ProductRow).order_by(ProductRow.sector_id, ProductRow.id)
    if sector is not None:
        query = query.where(ProductRow.sector_id == sector)
    if brand is not None:
        query = query.where(ProductRow.brand_id == brand)
    with db.read() as s:
        rows, total = _page(s, query, limit, offset)
        return Page(items=[_product_out(r) for r in rows], total=total, limit=limit, offset=offset)


def product_tree(db: Database, ref: str) -> BomNode:
    """The product's bill of materials with every sub-product expanded."""
    with db.read() as s:
        root = find_product(s, ref)
        return _node(s, root, root.name, sum(c.mass_kg for c in root.components), "")


def _node(s: Session, product: ProductRow, name: str, mass: float, process: str) -> BomNode:
    total = sum(c.mass_kg for c in product.components) or 1.0
    scale = mass / total
    children = []
    for c in product.components:
        if c.material_id is not None:
            m = _get(s, MaterialRow, c.material_id, "material")
            children.append(
                BomNode(
                    name=c.name,
                    kind="material",
                    ref=m.id,
                    mass_kg=c.mass_kg * scale,
                    process=c.process,
                    recycled_share=m.recycled_share,
                    bio_based_share=m.bio_based_share,
                    country=m.country,
                )
            )
        else:
            sub = _get(s, ProductRow, c.subproduct_id, "product")
            children.append(_node(s, sub, c.name, c.mass_kg * scale, c.process))
    return BomNode(
        name=name, kind="product", ref=product.id, mass_kg=mass, process=process, children=children
    )


# --- items --------------------------------------------------------------------------------


def _item_out(r: ItemRow, gtin: str) -> ItemOut:
    return ItemOut(
        id=r.id,
        product=r.product_id,
        gtin=gtin,
        serial=r.serial,
        lot=r.lot,
        created_at=r.created_at,
    )


def put_item(s: Session, item: ItemIn) -> ItemRow:
    product = find_product(s, item.product)
    serial = domain.check_serial(item.serial)
    lot = domain.check_serial(item.lot, "lot") if item.lot else None
    existing = s.scalar(
        select(ItemRow).where(ItemRow.product_id == product.id, ItemRow.serial == serial)
    )
    if existing is not None:
        raise Conflict(
            f"serial {serial!r} already exists for GTIN {product.gtin}",
            field="serial",
            value=serial,
        )
    row = ItemRow(product_id=product.id, serial=serial, lot=lot)
    s.add(row)
    try:
        s.flush()
    except IntegrityError as error:  # a concurrent writer took the serial first
        raise Conflict(
            f"serial {serial!r} already exists for GTIN {product.gtin}",
            field="serial",
            value=serial,
        ) from error
    return row


def create_item(db: Database, item: ItemIn) -> ItemOut:
    with db.transaction() as s:
        row = put_item(s, item)
        s.refresh(row)
        return _item_out(row, find_product(s, row.product_id).gtin)


def get_item(db: Database, item_id: int) -> ItemOut:
    with db.read() as s:
        row = _get(s, ItemRow, item_id, "item")
        return _item_out(row, find_product(s, row.product_id).gtin)


def find_item(db: Database, gtin: str, serial: str) -> ItemOut:
    with db.read() as s:
        query = (
            select(ItemRow, ProductRow.gtin)
            .join(ProductRow)
            .where(ProductRow.gtin == domain.normalise_gtin(gtin), ItemRow.serial == serial)
        )
        found = s.execute(query).first()
        if found is None:
            raise NotFound(f"no item {serial!r} of GTIN {gtin}", field="serial", value=serial)
        return _item_out(found[0], found[1])


def list_items(
    db: Database,
    *,
    product: str | None = None,
    lot: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[ItemOut]:
    query = (
        select(ItemRow, ProductRow.gtin)
        .join(ProductRow)
        .order_by(ItemRow.product_id, ItemRow.serial)
    )
    with db.read() as s:
        if product is not None:
            query = query.where(ItemRow.product_id == find_product(s, product).id)
        if lot is not None:
            query = query.where(ItemRow.lot == lot)
        rows, total = _page(s, query, limit, offset, tuples=True)
        return Page(
            items=[_item_out(r, g) for r, g in rows], total=total, limit=limit, offset=offset
        )
