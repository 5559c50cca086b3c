"""The GS1 Digital Link resolver: what a GS1 key names here, and the links it has.

Follows the GS1-Conformant Resolver Standard 1.2 and GS1 Digital Link URI
Syntax 1.x: a request for ``/01/{gtin}[/22/cpv][/10/lot][/21/serial]`` is
resolved to a product, a lot or an item (404 when it names nothing here); the
links it has are typed with the GS1 Web Vocabulary link types (``gs1:pip``,
``gs1:sustainabilityInfo``, ``gs1:certificationInfo``, ``gs1:epcis``,
``gs1:verificationService``, ``gs1:recallStatus``, plus ``gs1:defaultLink``);
``?linkType=`` selects one, and the whole set is an RFC 9264 linkset
(``application/linkset+json``, link relation types as full URIs, §4.2). The
resolver describes itself at ``/.well-known/gs1resolver`` (resolver standard
§5, the description file).

Pure over rows read by ``resolve``; the HTTP face is ``mics.api.links``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import NotFound
from mics.passport.chain import OBJECT_ROLES, Subject, custody, find_subject
from mics.passport.digital_link import GS1_RESOLVER, DigitalLink, parse_digital_link
from mics.passport.languages import LANGUAGES
from mics.passport.store import NfcTagRow
from mics.registry import reads as registry
from mics.trace import reads as trace_reads

GS1_VOC = "https://gs1.org/voc/"
LINKSET = "linkset"
LINKSET_TYPE = "application/linkset+json"
LINK_TYPES = (
    "gs1:defaultLink",
    "gs1:pip",
    "gs1:sustainabilityInfo",
    "gs1:certificationInfo",
    "gs1:epcis",
    "gs1:verificationService",
    "gs1:recallStatus",
)


@dataclass(frozen=True)
class Target:
    """What a Digital Link names here: a product, one of its lots, or one item."""

    link: DigitalLink
    product_id: str
    product_name: str
    item_id: int | None = None
    has_tag: bool = False

    @property
    def level(self) -> str:
        if self.item_id is not None:
            return "item"
        return "lot" if self.link.lot is not None else "product"

    def uri(self, base_url: str) -> str:
        return self.link.uri(base_url)


@dataclass(frozen=True)
class Link:
    """One typed link of a target (RFC 8288 target attributes as GS1 uses them)."""

    link_type: str  # compact: "gs1:pip"
    href: str
    title: str
    media_type: str
    hreflang: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"href": self.href, "title": self.title, "type": self.media_type}
        if self.hreflang:
            body["hreflang"] = list(self.hreflang)
        return body


def resolve(db: Database, link: DigitalLink) -> Target:
    """The product, lot or item ``link`` names, or NotFound saying which part is unknown."""
    with db.read() as s:
        product = registry.product_by_gtin(s, link.gtin)
        if product is None:
            raise NotFound(
                f"no product with GTIN {link.gtin} on this resolver",
                field="gtin",
                value=link.gtin,
            )
        product_id, name = product.id, product.name
        if link.serial is not None:
            item = registry.item_by_serial(s, product_id, link.serial)
            if item is None or (link.lot is not None and item.lot != link.lot):
                lot = f" in lot {link.lot!r}" if link.lot is not None else ""
                raise NotFound(
                    f"no item with serial {link.serial!r}{lot} of GTIN {link.gtin}",
                    field="serial",
                    value=link.serial,
                )
            tag = s.scalar(select(NfcTagRow.id).where(NfcTagRow.item_id == item.id))
            return Target(link, product_id, name, item_id=item.id, has_tag=tag is not None)
        if link.lot is not None and not registry.lot_exists(s, product_id, link.lot):
            raise NotFound(f"no lot {link.lot!r} of GTIN {link.gtin}", field="lot", value=link.lot)
        return Target(link, product_id, name)


def is_recalled(db: Database, target: Target) -> bool:
    """True when an EPCIS event with disposition ``recalled`` names this item or product
    and speaks for it: an authority's (``capture_job.role``), or one captured by the chain
    of custody of what it names (``passport.chain``, the rule the passport cites by).

    A recall names an item (SGTIN), a lot (LGTIN) or the whole product (its GTIN as a
    class); whoever is outside that chain - any other partner with a key - recalls
    nothing. Recalls are rare, so the chain is walked only when one names the target.
    """
    prefix = f"{GS1_RESOLVER}/01/{target.link.gtin}"
    with db.read() as s:
        if target.item_id is not None:
            item = DigitalLink(gtin=target.link.gtin, serial=target.link.serial)
            named = {item.uri(GS1_RESOLVER), prefix}
            lot = target.link.lot or _lot_of(s, target.item_id)
            if lot:
                named.add(f"{prefix}/10/{lot}")
            recalls = trace_reads.recalls(s, OBJECT_ROLES, epcs=named)
        else:
            recalls = trace_reads.recalls(s, OBJECT_ROLES, prefix=prefix)
    chains: dict[str, frozenset[str]] = {}
    for recall in recalls:
        epc, partner = recall.epc, recall.partner_id
        if recall.role == "authority":
            return True
        if epc not in chains:
            chains[epc] = custody(db, _subject_of(db, target.link.gtin, epc)).chain
        if partner in chains[epc]:
            return True
    return False


def _lot_of(s: Session, item_id: int) -> str | None:
    return registry.item_lot(s, item_id)


def _subject_of(db: Database, gtin: str, epc: str) -> Subject:
    """The item, lot or model a canonical identifier of product ``gtin`` names."""
    link = parse_digital_link(epc)
    try:
        return find_subject(db, gtin, link.serial, link.lot)
    except NotFound:  # an item or lot never registered here: only its brand's chain
        return Subject(gtin, None, None, None)


def links(target: Target, base_url: str, *, credentials: bool = False) -> list[Link]:
    """Every link the target has; ``credentials`` when the app serves signed passports."""
    base = base_url.rstrip("/")
    page = f"{base}/passport{_path(target.link)}"
    found = [
        Link("gs1:defaultLink", page, f"{target.product_name}: passport", "text/html", LANGUAGES),
        Link(
            "gs1:pip", page, f"{target.product_name}: product information", "text/html", LANGUAGES
        ),
        Link(
            "gs1:sustainabilityInfo",
            f"{base}/api/products/{quote(target.product_id, safe='')}/footprint",
            "Carbon footprint and material circularity",
            "application/json",
        ),
        Link(
            "gs1:recallStatus",
            f"{base}/api/recall-status{_path(target.link)}",
            "Recall status",
            "application/json",
        ),
    ]
    if target.item_id is not None:
        epc = DigitalLink(gtin=target.link.gtin, serial=target.link.serial).uri(GS1_RESOLVER)
        found.append(
            Link(
                "gs1:epcis",
                f"{base}/epcis/epcs/{quote(epc, safe='')}/events",
                "Traceability events (EPCIS 2.0)",
                "application/ld+json",
            )
        )
        if credentials:
            found.append(
                Link(
                    "gs1:certificationInfo",
                    f"{base}/api/items/{target.item_id}/credential",
                    "Signed Digital Product Passport (W3C Verifiable Credential)",
                    "application/vc+ld+json",
                )
            )
        if target.has_tag:
            query = urlencode({"gtin": target.link.gtin, "serial": target.link.serial})
            found.append(
                Link(
                    "gs1:verificationService",
                    f"{base}/api/scan?{query}",
                    "NFC tag authenticity check (add the tag's e and c)",
                    "application/json",
                )
            )
    return found


def select_link(target: Target, found: list[Link], link_type: str) -> Link:
    """The link of type ``link_type`` (compact or full URI), or NotFound naming those there are."""
    wanted = link_type_curie(link_type)
    for link in found:
        if link.link_type == wanted:
            return link
    raise NotFound(
        f"{target.link.uri()} has no link of type {link_type!r}; it has "
        + ", ".join(link.link_type for link in found),
        field="linkType",
        value=link_type,
        expected="one of " + ", ".join(link.link_type for link in found),
    )


def link_type_curie(link_type: str) -> str:
    """``https://gs1.org/voc/pip`` → ``gs1:pip``; a bare ``pip`` too."""
    text = link_type.strip()
    for prefix in (GS1_VOC, "http://gs1.org/voc/", "http://www.gs1.org/voc/"):
        if text.startswith(prefix):
            return "gs1:" + text[len(prefix) :]
    if ":" not in text:
        return "gs1:" + text
    return text


def linkset(target: Target, found: list[Link], base_url: str) -> dict[str, object]:
    """The RFC 9264 linkset of the target, keyed by full link relation URIs."""
    context: dict[str, object] = {"anchor": target.uri(base_url)}
    context["itemDescription"] = target.product_name
    for link in found:
        relation = GS1_VOC + link.link_type.removeprefix("gs1:")
        entries = context.setdefault(relation, [])
        assert isinstance(entries, list)
        entries.append(link.as_json())
    return {"linkset": [context]}


def link_header(target: Target, base_url: str) -> str:
    """The ``Link`` header every resolver answer carries: where the linkset is."""
    uri = target.uri(base_url)
    return (
        f'<{uri}?linkType={LINKSET}>; rel="{LINKSET}"; type="{LINKSET_TYPE}", '
        f'<{uri}>; rel="owl:sameAs"'
    )


def description(base_url: str, name: str) -> dict[str, object]:
    """The resolver description file served at ``/.well-known/gs1resolver``."""
    return {
        "name": f"MICS resolver ({name})",
        "resolverRoot": base_url.rstrip("/"),
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [
            {"namespace": GS1_VOC, "prefix": "gs1:", "profile": f"{GS1_VOC}?show=linktypes"}
        ],
        "linkTypeDefaultCanBeLinkset": True,
        "supportedContextValuesEnumerated": [],
        "supportedLanguages": list(LANGUAGES),
        "linkTypes": list(LINK_TYPES),
        "verificationService": f"{base_url.rstrip('/')}/api/scan",
    }


def _path(link: DigitalLink) -> str:
    return link.uri("http://x").removeprefix("http://x")
