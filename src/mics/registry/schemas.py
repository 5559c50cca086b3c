"""The registry's input and output shapes: one schema per use (``PartnerIn``, ``PartnerOut``)."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from mics.column_ranges import Int32
from mics.registry.domain import COUNTRY, CSET82, SLUG

# The registry's rules (``mics.registry.domain``) stated in the JSON Schema for clients; the
# domain checks them, with messages that say how to fix the value.
SLUG_RULE: JsonDict = {"pattern": SLUG.pattern}
GTIN_RULE: JsonDict = {"pattern": r"^(\d{8}|\d{12,14})$"}  # and a GS1 mod-10 check digit
GLN_RULE: JsonDict = {"pattern": r"^\d{13}$"}  # and a GS1 mod-10 check digit
SERIAL_RULE: JsonDict = {"pattern": CSET82.pattern}
COUNTRY_RULE: JsonDict = {"pattern": COUNTRY.pattern}
SHARE_RULE: JsonDict = {"minimum": 0, "maximum": 1}
POSITIVE_RULE: JsonDict = {"exclusiveMinimum": 0}

T = TypeVar("T")

PartnerKind = Literal["university", "research_centre", "public_body", "enterprise"]
ProjectStatus = Literal["proposed", "active", "completed"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SectorOut(BaseModel):
    id: str
    name: str
    scope: str


class SpokeOut(BaseModel):
    id: int
    title: str
    short: str


class PartnerIn(Strict):
    id: str = Field(description="slug, e.g. 'conceria-del-brenta'", json_schema_extra=SLUG_RULE)
    name: str = Field(min_length=1, max_length=300)
    kind: PartnerKind
    is_public: bool = Field(description="public-sector partner (true) or industrial (false)")
    sectors: list[str] = Field(default_factory=list)
    spokes: list[Int32] = Field(default_factory=list)
    competences: str = ""
    city: str = ""
    website: str = ""
    fictional: bool = False
    gln: str | None = Field(
        default=None,
        description="GS1 Global Location Number (13 digits) naming it in EPCIS",
        json_schema_extra=GLN_RULE,
    )


class PartnerOut(PartnerIn):
    pass


class PartnerPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    kind: PartnerKind | None = None
    is_public: bool | None = None
    sectors: list[str] | None = None
    spokes: list[Int32] | None = None
    competences: str | None = None
    city: str | None = None
    website: str | None = None
    gln: str | None = None


class ProjectIn(Strict):
    id: str = Field(json_schema_extra=SLUG_RULE)
    title: str = Field(min_length=1, max_length=300)
    spoke: Int32
    partners: list[str] = Field(default_factory=list)
    summary: str = ""
    status: ProjectStatus = "proposed"


class ProjectOut(ProjectIn):
    pass


class MaterialIn(Strict):
    id: str = Field(json_schema_extra=SLUG_RULE)
    name: str = Field(min_length=1, max_length=300)
    category: str = Field(min_length=1, max_length=60)
    density_kg_m3: float = Field(json_schema_extra=POSITIVE_RULE)
    recycled_share: float = Field(default=0.0, json_schema_extra=SHARE_RULE)
    bio_based_share: float = Field(default=0.0, json_schema_extra=SHARE_RULE)
    country: str = Field(json_schema_extra=COUNTRY_RULE)
    supplier: str | None = None
    lca_process: str | None = Field(
        default=None, description="id of the footprint dataset process that makes it"
    )


class MaterialOut(MaterialIn):
    pass


class MaterialView(BaseModel):
    """A material as a caller reads it: fields above its tier are absent (``passport.access``)."""

    id: str
    name: str
    category: str
    country: str
    recycled_share: float
    bio_based_share: float
    lca_process: str | None = None
    density_kg_m3: float | None = Field(default=None, description="legitimate interest and up")
    supplier: str | None = Field(default=None, description="authorities and the supplier itself")


class MaterialPatch(Strict):
    name: str | None = None
    category: str | None = None
    density_kg_m3: float | None = None
    recycled_share: float | None = None
    bio_based_share: float | None = None
    country: str | None = None
    supplier: str | None = None
    lca_process: str | None = None


class ComponentIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    material: str | None = None
    product: str | None = Field(default=None, description="a sub-product's id")
    mass_kg: float = Field(json_schema_extra=POSITIVE_RULE)
    process: str = Field(default="", description="the process that shapes it, e.g. 'cnc_milling'")


class ComponentOut(ComponentIn):
    position: int


class ProductTexts(Strict):
    """A product's texts in one more language; a field left out falls back to the main
    (English) text, and the passport says which language it shows."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = None
    repair_notes: str | None = None
    end_of_life_notes: str | None = None


class ProductIn(Strict):
    id: str = Field(json_schema_extra=SLUG_RULE)
    gtin: str = Field(json_schema_extra=GTIN_RULE)
    name: str = Field(min_length=1, max_length=300)
    sector: str
    brand: str
    lifetime_years: float = Field(json_schema_extra=POSITIVE_RULE)
    description: str = ""
    repair_notes: str = ""
    end_of_life_notes: str = ""
    texts: dict[str, ProductTexts] = Field(
        default_factory=dict,
        description='the texts in other languages, by ISO 639-1 code: {"it": {"name": ...}}',
    )
    components: list[ComponentIn] = Field(default_factory=list)


class ProductOut(ProductIn):
    components: list[ComponentOut] = Field(  # type: ignore[assignment]
        default_factory=list,
        description="the bill of materials: absent below legitimate interest, but for its brand",
    )
    mass_kg: float


class ProductPatch(Strict):
    name: str | None = None
    sector: str | None = None
    brand: str | None = None
    lifetime_years: float | None = None
    description: str | None = None
    repair_notes: str | None = None
    end_of_life_notes: str | None = None
    texts: dict[str, ProductTexts] | None = None
    components: list[ComponentIn] | None = None


class ItemIn(Strict):
    product: str = Field(description="product id or GTIN")
    serial: str = Field(json_schema_extra=SERIAL_RULE)
    lot: str | None = Field(default=None, json_schema_extra=SERIAL_RULE)


class ItemOut(BaseModel):
    id: int
    product: str
    gtin: str
    serial: str
    lot: str | None
    created_at: datetime | None


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items`` plus where it sits in the whole."""

    items: list[T]
    total: int
    limit: int
    offset: int


class BomNode(BaseModel):
    """A BOM drawn as a tree: sub-products expanded, masses in kg."""

    name: str
    kind: Literal["product", "material"]
    ref: str
    mass_kg: float
    process: str = ""
    recycled_share: float | None = None
    bio_based_share: float | None = None
    country: str | None = None
    children: list[BomNode] = Field(default_factory=list)
