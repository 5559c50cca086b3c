"""HTML pages: dashboard, partners, products and what they are made of.

Pages have no key: they show the public tier of ``passport.access``, as the API
does without one (a product's materials, not its bill of materials line by line).
A product page lists its serialised items, each with its GS1 Digital Link (GS1
Digital Link standard 1.2 §4: ``/01/{gtin}/21/{serial}``, which opens the
passport) and the QR code the passport area draws for it. Every page speaks
Italian and English (``mics.web.i18n``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from mics import registry
from mics.api.deps import DatabaseDep
from mics.passport import access
from mics.passport.digital_link import DigitalLink
from mics.passport.view import material_mix, product_texts
from mics.registry.schemas import BomNode
from mics.web import i18n, templates_dir

router = APIRouter(include_in_schema=False)
templates = i18n.install(Jinja2Templates(directory=templates_dir()))
ITEMS_SHOWN = 24  # items listed on a product page, each with its QR code

KIND_LABELS = {
    "university": "University",
    "research_centre": "Research centre",
    "public_body": "Public body",
    "enterprise": "Enterprise",
}


def render(request: Request, name: str, **context: Any) -> HTMLResponse:
    """The page ``name`` in the reader's language (``Content-Language``, RFC 9110 §8.5)."""
    lang = i18n.language(request)
    context.setdefault("kind_labels", KIND_LABELS)
    context["lang"] = lang
    return templates.TemplateResponse(
        request, name, context, headers={"Content-Language": lang, "Vary": "Accept-Language"}
    )


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, db: DatabaseDep) -> HTMLResponse:
    partners = registry.list_partners(db, limit=500)
    return render(
        request,
        "dashboard.html",
        sectors=registry.list_sectors(db),
        spokes=registry.list_spokes(db),
        partners=partners,
        public=sum(p.is_public for p in partners.items),
        projects=registry.list_projects(db, limit=500),
        products=registry.list_products(db, limit=12),
        items=registry.list_items(db, limit=1).total,
    )


@router.get("/partners", response_class=HTMLResponse)
def partners_page(
    request: Request,
    db: DatabaseDep,
    kind: str | None = None,
    sector: str | None = None,
    q: str | None = None,
    spoke: str | None = None,
) -> HTMLResponse:
    number = int(spoke) if spoke and spoke.isdigit() and len(spoke) < 4 else None
    spokes = {s.id: s for s in registry.list_spokes(db)}
    return render(
        request,
        "partners.html",
        partners=registry.list_partners(
            db, kind=kind or None, sector=sector or None, spoke=number, q=q, limit=500
        ),
        sectors=registry.list_sectors(db),
        kind=kind or "",
        sector=sector or "",
        q=q or "",
        spoke=spokes.get(number) if number is not None else None,
        projects=registry.list_projects(db, spoke=number, limit=500).items
        if number in spokes
        else [],
    )


@router.get("/products", response_class=HTMLResponse)
def products_page(request: Request, db: DatabaseDep) -> HTMLResponse:
    return render(
        request,
        "products.html",
        products=registry.list_products(db, limit=500),
        sectors={s.id: s for s in registry.list_sectors(db)},
    )


@router.get("/products/{product_id}", response_class=HTMLResponse)
def product_page(request: Request, db: DatabaseDep, product_id: str) -> HTMLResponse:
    product = registry.get_product(db, product_id)
    items = registry.list_items(db, product=product.id, limit=ITEMS_SHOWN)
    base_url = request.app.state.settings.base_url
    return render(
        request,
        "product.html",
        product=product,
        tree=BomNode.model_validate(
            access.filter_view("bom", registry.product_tree(db, product_id).model_dump(), "public")
        ),
        materials=access.filter_to_tier({"materials": material_mix(db, product.id)}, "public").get(
            "materials", []
        ),
        brand=registry.get_partner(db, product.brand),
        texts=product_texts(product, i18n.language(request))[0],
        items=items,
        links={i.id: DigitalLink(gtin=i.gtin, serial=i.serial).uri(base_url) for i in items.items},
    )
