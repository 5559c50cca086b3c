"""Registry tables: sectors, spokes, partners, projects, materials, products, BOM, items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mics.db import Base, UtcDateTime

partner_sector = Table(
    "partner_sector",
    Base.metadata,
    Column("partner_id", ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sector.id"), primary_key=True),
)
partner_spoke = Table(
    "partner_spoke",
    Base.metadata,
    Column("partner_id", ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True),
    Column("spoke_id", ForeignKey("spoke.id"), primary_key=True),
)
project_partner = Table(
    "project_partner",
    Base.metadata,
    Column("project_id", ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    Column("partner_id", ForeignKey("partner.id"), primary_key=True),
)


class SectorRow(Base):
    __tablename__ = "sector"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(Text, default="")


class SpokeRow(Base):
    __tablename__ = "spoke"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(300))
    short: Mapped[str] = mapped_column(String(80))


class PartnerRow(Base):
    __tablename__ = "partner"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    is_public: Mapped[bool] = mapped_column(Boolean, index=True)
    city: Mapped[str] = mapped_column(String(120), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    competences: Mapped[str] = mapped_column(Text, default="")
    fictional: Mapped[bool] = mapped_column(Boolean, default=False)
    gln: Mapped[str | None] = mapped_column(String(13), nullable=True, unique=True)
    # False for this instance's own operator: it runs MICS but is not a partnership member
    member: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    sectors: Mapped[list[SectorRow]] = relationship(
        secondary=partner_sector, order_by=SectorRow.id, lazy="selectin"
    )
    spokes: Mapped[list[SpokeRow]] = relationship(
        secondary=partner_spoke, order_by=SpokeRow.id, lazy="selectin"
    )


class ProjectRow(Base):
    __tablename__ = "project"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    spoke_id: Mapped[int] = mapped_column(ForeignKey("spoke.id"), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    partners: Mapped[list[PartnerRow]] = relationship(
        secondary=project_partner, order_by=PartnerRow.id, lazy="selectin"
    )


class MaterialRow(Base):
    __tablename__ = "material"
    __table_args__ = (
        CheckConstraint("recycled_share >= 0 AND recycled_share <= 1", name="recycled_share"),
        CheckConstraint("bio_based_share >= 0 AND bio_based_share <= 1", name="bio_based_share"),
        CheckConstraint("density_kg_m3 > 0", name="density"),
    )
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(60), index=True)
    density_kg_m3: Mapped[float] = mapped_column(Float)
    recycled_share: Mapped[float] = mapped_column(Float, default=0.0)
    bio_based_share: Mapped[float] = mapped_column(Float, default=0.0)
    country: Mapped[str] = mapped_column(String(2), index=True)
    supplier_id: Mapped[str | None] = mapped_column(ForeignKey("partner.id"), nullable=True)
    lca_process: Mapped[str | None] = mapped_column(String(120), nullable=True)


class ProductRow(Base):
    __tablename__ = "product"
    __table_args__ = (CheckConstraint("lifetime_years > 0", name="lifetime"),)
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    sector_id: Mapped[str] = mapped_column(ForeignKey("sector.id"), index=True)
    brand_id: Mapped[str] = mapped_column(ForeignKey("partner.id"), index=True)
    lifetime_years: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    repair_notes: Mapped[str] = mapped_column(Text, default="")
    end_of_life_notes: Mapped[str] = mapped_column(Text, default="")
    # {"it": {"name": ..., "description": ...}}: the texts in other languages
    texts: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)
    components: Mapped[list[ComponentRow]] = relationship(
        back_populates="product",
        order_by="ComponentRow.position",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="ComponentRow.product_id",
    )


class ComponentRow(Base):
    """One line of a bill of materials: a material or a sub-product, with its mass."""

    __tablename__ = "bom_component"
    __table_args__ = (
        CheckConstraint("mass_kg > 0", name="mass"),
        CheckConstraint(
            "(material_id IS NULL) <> (subproduct_id IS NULL)", name="material_xor_product"
        ),
        UniqueConstraint("product_id", "position"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    material_id: Mapped[str | None] = mapped_column(ForeignKey("material.id"), nullable=True)
    subproduct_id: Mapped[str | None] = mapped_column(ForeignKey("product.id"), nullable=True)
    mass_kg: Mapped[float] = mapped_column(Float)
    process: Mapped[str] = mapped_column(String(120), default="")
    product: Mapped[ProductRow] = relationship(
        back_populates="components", foreign_keys=[product_id]
    )


class ItemRow(Base):
    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("product_id", "serial"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"), index=True)
    serial: Mapped[str] = mapped_column(String(20))
    lot: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class PartnerKeyRow(Base):
    """An API key of a partner: only its SHA-256 is kept; the key is shown once."""

    __tablename__ = "partner_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partner.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(30))
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
