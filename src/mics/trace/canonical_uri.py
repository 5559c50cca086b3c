"""Canonical GS1 Digital Link URIs for the CBV 2.0 event hash (CBV 2.0 §8.9, rules 17 and 18).

EPC URIs (``urn:epc:id:…``), EPC class URIs (``urn:epc:class:lgtin:…``) and EPC pattern URIs
(``urn:epc:idpat:…``) become canonical GS1 Digital Link URIs on ``https://id.gs1.org`` (GS1
Digital Link URI Syntax 1.2 §4.11, EPC Tag Data Standard 2.0 §6 and §8). A Digital Link URI is
constrained: custom domain replaced, query string dropped, CPV dropped and only the finest level of
identification kept (``01/…/21/…`` wins over ``01/…/10/…``).

The rules, patterns and their quirks follow the reference implementation's
``dl_normaliser`` (RalphTro/epcis-event-hash-generator, MIT) exactly, because a hash is only
useful if every party computes the same string; the patterns are compiled once and chosen by
scheme prefix instead of being tried one after another. One departure (issue 20 item 5): a
12-digit company prefix with an empty reference (``urn:epc:id:grai:987659999999..7``, and the
GRAI, GDTI and SGCN patterns) is canonicalised as TDS 2.1 allows, where the reference's
patterns wanted a third dot and so matched nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mics.trace.identifier_syntax import gs1_check_digit

__all__ = [
    "CBV",
    "CONTEXT_PREFIXES",
    "FIELD_SCOPES",
    "FIELD_TERMS",
    "GS1",
    "NAMESPACE_ALIASES",
    "STANDARD_PREFIXES",
    "URN_VOCABULARY",
    "canonical",
    "canonical_uri",
    "web_uri",
]

CBV = "https://ref.gs1.org/cbv/"
GS1 = "https://gs1.org/voc/"
STANDARD_PREFIXES = {"cbv": CBV, "gs1": GS1}
# Prefixes the EPCIS 2.0 JSON-LD context itself defines (protected terms).
CONTEXT_PREFIXES = {
    "epcis": "https://ref.gs1.org/epcis/", "cbv": CBV, "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": GS1, "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#", "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}  # fmt: skip
# Namespaces written two ways -> the one form the hash (and the XML answers) use. The CBV
# master-data attributes: the EPCIS 2.0 JSON-LD context binds ``cbvmda`` to
# ``urn:epcglobal:cbv:mda:`` (the XSDs declare no namespace for them), and with the colon the
# namespace and local name concatenate to the attribute's CBV identifier
# (``urn:epcglobal:cbv:mda:lotNumber``, CBV 2.0 §10); GS1's XML examples write it without.
MDA = "urn:epcglobal:cbv:mda:"
NAMESPACE_ALIASES = {"urn:epcglobal:cbv:mda": MDA}

# One character of an EPC "GS3A3" component: a safe character or an allowed %-escape.
_CHAR = (
    r"(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]"
    r"|[!')(*+,.0-9:;=A-Za-z_-])"
)
_CPI_CHAR = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"


def _split(total: int, last: str | None = None) -> str:
    """Company prefix (6-12 digits) '.' reference, together ``total`` digits."""
    alts = [rf"\d{{{k}}}\.\d{{{total - k}}}" for k in range(6, 13)]
    if last is not None:
        alts[-1] = last
    return "(?:" + "|".join(alts) + ")"


def _varying(char: str, total: int) -> str:
    """Company prefix '.' then 1..(total - prefix length) characters."""
    return "(?:" + "|".join(rf"\d{{{k}}}\.{char}{{1,{total - k}}}" for k in range(6, 13)) + ")"


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit (GS1 General Specifications §7.9.1), as text."""
    return str(gs1_check_digit(digits))


def _encode(text: str) -> str:
    """Percent-encode what GS1 Digital Link Table 7-1 forbids in a path segment."""
    for char, code in (("!", "%21"), ("(", "%28"), (")", "%29"), ("*", "%2A")):
        text = text.replace(char, code)
    return text.replace("+", "%2B").replace(",", "%2C").replace(":", "%3A")


def _gtin(uri: str, start: int, dot: int) -> str:
    prefix = uri[start:dot]
    item = uri[dot + 1 : dot + 1 + 13 - len(prefix)]
    raw = item[:1] + prefix + item[1:]
    return raw + check_digit(raw)


def _key12(uri: str, start: int, dot: int, lead: str = "") -> str:
    prefix = uri[start:dot]
    raw = lead + prefix + uri[dot + 1 : dot + 1 + 12 - len(prefix)]
    return raw + check_digit(raw)


def _whole(uri: str, start: int, dot: int) -> str:
    raw = uri[start:dot] + uri[dot + 1 :]
    return raw + check_digit(raw)


def _sgln(uri: str, dot: int) -> str:
    ext = uri[30:]
    gln = "https://id.gs1.org/414/" + _key12(uri, 16, dot)
    return gln if ext == "0" else gln + "/254/" + _encode(ext)


def _sscc(uri: str, dot: int) -> str:
    raw = uri[dot + 1 : dot + 2] + uri[16:dot] + uri[dot + 2 :]
    return "https://id.gs1.org/00/" + raw + check_digit(raw)


def _cpi(uri: str, dot: int, start: int) -> str:
    sep = uri.rfind(".")
    return "https://id.gs1.org/8010/" + _encode(uri[start:dot] + uri[dot + 1 : sep])


_DL = "https://id.gs1.org/"
_Build = Callable[[str, int], str]
# scheme prefix -> (pattern of the rest, builder(uri, index of the first dot))
_EPC: dict[str, tuple[str, _Build]] = {
    "urn:epc:id:sgtin:": (
        _split(13) + r"\." + _CHAR + "{1,20}$",
        lambda u, d: _DL + "01/" + _gtin(u, 17, d) + "/21/" + _encode(u[32:]),
    ),
    "urn:epc:id:sscc:": (_split(17) + "$", _sscc),
    "urn:epc:id:sgln:": (_split(12, r"\d{12}\.") + r"\." + _CHAR + "{1,20}$", _sgln),
    "urn:epc:id:grai:": (  # reference impl: "\d{12}\.\." here, so "..7" never matched
        _split(12, r"\d{12}\.") + r"\." + _CHAR + "{1,16}$",
        lambda u, d: _DL + "8003/" + _key12(u, 16, d, "0") + _encode(u[30:]),
    ),
    "urn:epc:id:giai:": (
        _varying(_CHAR, 30) + "$",
        lambda u, d: _DL + "8004/" + u[16:d] + _encode(u[d + 1 :]),
    ),
    "urn:epc:id:gsrn:": (_split(17) + "$", lambda u, d: _DL + "8018/" + _whole(u, 16, d)),
    "urn:epc:id:gsrnp:": (_split(17) + "$", lambda u, d: _DL + "8017/" + _whole(u, 17, d)),
    "urn:epc:id:gdti:": (
        _split(12, r"\d{12}\.\.") + _CHAR + "{1,20}$",
        lambda u, d: _DL + "253/" + _key12(u, 16, d) + _encode(u[30:]),
    ),
    "urn:epc:id:cpi:": (
        _varying(_CPI_CHAR, 30) + r"\.\d{1,12}$",
        lambda u, d: _cpi(u, d, 15) + "/8011/" + u[u.rfind(".") + 1 :],
    ),
    "urn:epc:id:sgcn:": (
        _split(12, r"\d{12}\.") + r"\.\d{1,12}$",
        lambda u, d: _DL + "255/" + _key12(u, 16, d) + u[30:],
    ),
    "urn:epc:id:ginc:": (
        _varying(_CHAR, 30) + "$",
        lambda u, d: _DL + "401/" + u[16:d] + _encode(u[d + 1 :]),
    ),
    "urn:epc:id:gsin:": (_split(16) + "$", lambda u, d: _DL + "402/" + _whole(u, 16, d)),
    "urn:epc:id:itip:": (
        _split(13) + r"\.\d{2}\.\d{2}\." + _CHAR + "{1,20}$",
        lambda u, d: (
            _DL + "8006/" + _gtin(u, 16, d) + u[31:33] + u[34:36] + "/21/" + _encode(u[37:])
        ),
    ),
    "urn:epc:id:upui:": (
        _split(13) + r"\." + _CHAR + "{1,28}$",
        lambda u, d: _DL + "01/" + _gtin(u, 16, d) + "/235/" + _encode(u[31:]),
    ),
    "urn:epc:id:pgln:": (
        _split(12, r"\d{12}\.") + "$",
        lambda u, d: _DL + "417/" + _key12(u, 16, d),
    ),
    "urn:epc:class:lgtin:": (
        _split(13) + r"\." + _CHAR + "{1,20}$",
        lambda u, d: _DL + "01/" + _gtin(u, 20, d) + "/10/" + _encode(u[35:]),
    ),
    "urn:epc:idpat:sgtin:": (_split(13) + r"\.\*$", lambda u, d: _DL + "01/" + _gtin(u, 20, d)),
    "urn:epc:idpat:grai:": (  # an empty reference: "<12 digits>..*" (TDS 2.1 §6.3)
        _split(12, r"\d{12}\.") + r"\.\*$",
        lambda u, d: _DL + "8003/" + _key12(u, 19, d, "0"),
    ),
    "urn:epc:idpat:gdti:": (  # an empty reference: "<12 digits>..*" (TDS 2.1 §6.3)
        _split(12, r"\d{12}\.") + r"\.\*$",
        lambda u, d: _DL + "253/" + _key12(u, 19, d),
    ),
    "urn:epc:idpat:sgcn:": (  # an empty reference: "<12 digits>..*" (TDS 2.1 §6.3)
        _split(12, r"\d{12}\.") + r"\.\*$",
        lambda u, d: _DL + "255/" + _key12(u, 19, d),
    ),
    "urn:epc:idpat:cpi:": (_varying(_CPI_CHAR, 30) + r"\.\*$", lambda u, d: _cpi(u, d, 18)),
    "urn:epc:idpat:itip:": (
        _split(13) + r"\.\d{2}\.\d{2}\.\*$",
        lambda u, d: _DL + "8006/" + _gtin(u, 19, d) + u[34:36] + u[37:39],
    ),
    "urn:epc:idpat:upui:": (_split(13) + r"\.\*$", lambda u, d: _DL + "01/" + _gtin(u, 19, d)),
}
_EPC_COMPILED = {
    scheme: (re.compile(re.escape(scheme) + rest), build) for scheme, (rest, build) in _EPC.items()
}
_SCHEME = re.compile(r"urn:epc:(?:id|class|idpat):[a-z]+:")

_KEYS = "01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004"
_ANY_DL = re.compile(
    r"^https?:(\/\/((([^\/?#]*)@)?([^\/?#:]*)(:([^\/?#]*))?))?((([^?#]*)(\/(01|gtin|8006|itip|"
    r"8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc|253|gdti|401|ginc|402|gsin"
    r"|8003|grai|8004|giai)\/)(\d{4}[^\/]+)(\/[^/]+\/[^/]+)?[/]?(\?([^?\n]*))?(#([^\n]*))?)|"
    r"(\/[A-Za-z_-]{10}$))"
)
_ON_ID_GS1 = re.compile(
    r"^https:\/\/id.gs1.org\/(" + _KEYS + r")\/(\d{4}[^\/]+)(\/[^\/]+\/[^\/]+)?[\/]?"
    r"(\?([^?\n]*))?(#([^\n]*))?|(\/[A-Za-z_-]{10}$)"
)
_SHORT_NAMES = (
    ("/gtin/", "/01/"), ("/itip/", "/8006/"), ("/cpid/", "/8010/"), ("/gln/", "/414/"),
    ("/party/", "/417/"), ("/gsrnp/", "/8017/"), ("/gsrn/", "/8018/"), ("/gcn/", "/255/"),
    ("/sscc/", "/00/"), ("/gdti/", "/253/"), ("/ginc/", "/401/"), ("/gsin/", "/402/"),
    ("/grai/", "/8003/"), ("/giai/", "/8004/"), ("/cpv/", "/22/"), ("/lot/", "/10/"),
    ("/ser/", "/21/"),
)  # fmt: skip
_PRIMARY = (
    "/00/", "/01/", "/253/", "/255/", "/401/", "/402/", "/414/", "/417/", "/8003/", "/8004/",
    "/8006/", "/8010/", "/8017/", "/8018/",
)  # fmt: skip
_X = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"
_ITEM = r"https:\/\/id.gs1.org\/(?:8006\/\d{18}|01\/\d{14})"
_CPV_LAST = re.compile(_ITEM + r"\/22\/(" + _X + "{0,20})$")
_CPV_MORE = re.compile(_ITEM + r"\/22\/([\x2F" + _X[1:] + "{0,20})$")
_LOT_AND_SERIAL = re.compile(_ITEM + r"\/10\/(" + _X + r"{0,20})\/21\/(" + _X + "{0,20})$")
_VALID = re.compile(
    "|".join(
        r"https:\/\/id.gs1.org\/" + tail
        for tail in (
            r"00\/(\d{18})$", r"01\/(\d{14})\/21\/(" + _X + "{0,20})$",
            r"01\/(\d{14})\/10\/(" + _X + "{0,20})$", r"01\/(\d{14})$",
            r"01\/(\d{14})\/235\/(" + _X + "{0,28})$", r"253\/(\d{13})(" + _X + "{0,17})$",
            r"255\/(\d{13})(\d{0,12})$", r"401\/(" + _X + "{0,30})$", r"402\/(\d{17})$",
            r"414\/(\d{13})$", r"414\/(\d{13})\/254\/(" + _X + "{0,20})$", r"417\/(\d{13})$",
            r"8003\/(\d{14})(" + _X + "{0,16})$", r"8004\/(" + _X + "{0,30})$",
            r"8006\/(\d{18})\/21\/(" + _X + "{0,20})$", r"8006\/(\d{18})\/10\/(" + _X + "{0,20})$",
            r"8006\/(\d{18})$",
            r"8010\/([\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30})\/8011/(\d{0,12})$",
            r"8010\/([\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30})$",
            r"8017\/(\d{18})$", r"8018\/(\d{18})$",
        )
    )
)  # fmt: skip
_GTIN_PAD = (
    (re.compile(r"^https:\/\/id.gs1.org\/01\/\d{13}"), "/01/0"),
    (re.compile(r"^https:\/\/id.gs1.org\/01\/\d{12}"), "/01/00"),
    (re.compile(r"^https:\/\/id.gs1.org\/01\/\d{8}"), "/01/000000"),
)
_GTIN14 = re.compile(r"^https:\/\/id.gs1.org\/01\/\d{14}")


_FOUND: dict[str, str | None] = {}
_FOUND_LIMIT = 50_000


def canonical(uri: str) -> str:
    """The canonical form of any identifier: GS1 Digital Link when it names a GS1 key, else itself.

    Identifiers are indexed (``event_identifiers``) and looked up in this form, so that
    ``urn:epc:id:sgtin:...`` and ``https://id.gs1.org/01/.../21/...`` find the same object.
    """
    return canonical_uri(uri) or uri


def canonical_uri(uri: str) -> str | None:
    """The constrained canonical GS1 Digital Link URI of ``uri``; None if it names no GS1 key."""
    try:
        return _FOUND[uri]
    except KeyError:
        pass
    found = _canonical_uri(uri)
    if len(_FOUND) >= _FOUND_LIMIT:
        _FOUND.clear()
    _FOUND[uri] = found
    return found


def _canonical_uri(uri: str) -> str | None:
    dot = uri.find(".")
    if dot < 0:
        return None
    if uri.startswith("urn:epc:"):
        scheme = _SCHEME.match(uri)
        entry = _EPC_COMPILED.get(scheme.group()) if scheme else None
        if entry is not None and entry[0].match(uri):
            return entry[1](uri, dot)
        return None
    if not _ANY_DL.match(uri):
        return None
    return _constrain(uri)


def _constrain(uri: str) -> str | None:
    if "?" in uri:
        uri = uri[: uri.index("?")]
    for short, ai in _SHORT_NAMES:
        uri = uri.replace(short, ai)
    if not _ON_ID_GS1.match(uri):
        for key in _PRIMARY:
            at = uri.find(key)
            if at != -1:
                uri = "https://id.gs1.org" + uri[at:]
                break
    if not _GTIN14.match(uri):
        for pattern, padded in _GTIN_PAD:
            if pattern.match(uri):
                uri = uri.replace("/01/", padded)
                break
    after_cpv = uri[uri.find("/22/") + 4 :]
    if _CPV_LAST.match(uri):
        uri = uri[: uri.find("/22/")] + after_cpv[after_cpv.find("/") : -1]
    if _CPV_MORE.match(uri):
        uri = uri[: uri.find("/22/")] + after_cpv[after_cpv.find("/") :]
    if _LOT_AND_SERIAL.match(uri):
        after_lot = uri[uri.find("/10/") + 4 :]
        uri = uri[: uri.find("/10/")] + after_lot[after_lot.find("/") :]
    return uri if _VALID.match(uri) else None


URN_VOCABULARY = (
    ("urn:epcglobal:cbv:bizstep:", CBV + "BizStep-"), ("urn:epcglobal:cbv:disp:", CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", CBV + "BTT-"), ("urn:epcglobal:cbv:sdt:", CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", CBV + "ER-"),
)  # fmt: skip


def _terms(base: str, words: str) -> dict[str, str]:
    return {word: base + word for word in words.split()}


# Bare-string terms of the EPCIS 2.0 JSON-LD context (CBV 2.0 §7-§8), by the field they fill.
_BIZ_STEPS = _terms(
    CBV + "BizStep-",
    "accepting arriving assembling collecting commissioning consigning creating_class_instance "
    "cycle_counting decommissioning departing destroying disassembling dispensing encoding "
    "entering_exiting holding inspecting installing killing loading other packing picking "
    "receiving removing repackaging repairing replacing reserving retail_selling sampling "
    "sensor_reporting shipping staging_outbound stock_taking stocking storing transporting "
    "unloading unpacking void_shipping",
)
_DISPOSITIONS = _terms(
    CBV + "Disp-",
    "active available completeness_verified completeness_inferred conformant container_closed "
    "container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit "
    "inactive mismatch_instance mismatch_class mismatch_quantity needs_replacement "
    "no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved "
    "retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown",
)
_MEASUREMENTS = _terms(
    GS1,
    "AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude "
    "AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum "
    "AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless "
    "DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent "
    "ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance "
    "Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux "
    "LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass "
    "MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy "
    "MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity "
    "Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension "
    "Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux "
    "Wavenumber "
    # In the GS1 Web Vocabulary's gs1:MeasurementType but not (yet) in the EPCIS 2.0 context.
    "EffectiveDoseRate",
)
_COMPONENTS = _terms(
    CBV + "Comp-",
    "x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle easting "
    "northing latitude longitude altitude",
)
_SOURCE_TYPES = _terms(CBV + "SDT-", "owning_party possessing_party location")
# (scope, key) -> scope of its value: where in an event a bare term may stand.
FIELD_SCOPES = {
    ("event", "persistentDisposition"): "persistentDisposition",
    ("event", "bizTransactionList"): "bizTransaction",
    ("event", "sourceList"): "sourceOrDestination",
    ("event", "destinationList"): "sourceOrDestination",
    ("event", "errorDeclaration"): "errorDeclaration",
    ("event", "sensorElementList"): "sensorElement",
    ("sensorElement", "sensorReport"): "sensorReport",
}
FIELD_TERMS: dict[tuple[str, str], dict[str, str]] = {
    ("event", "bizStep"): _BIZ_STEPS,
    ("event", "disposition"): _DISPOSITIONS,
    ("persistentDisposition", "set"): _DISPOSITIONS,
    ("persistentDisposition", "unset"): _DISPOSITIONS,
    ("bizTransaction", "type"): _terms(
        CBV + "BTT-",
        "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt",
    ),
    ("sourceOrDestination", "type"): _SOURCE_TYPES,
    ("errorDeclaration", "reason"): _terms(CBV + "ER-", "did_not_occur incorrect_data"),
    ("sensorReport", "type"): _MEASUREMENTS,
    ("sensorReport", "exception"): _terms(GS1, "ALARM_CONDITION ERROR_CONDITION"),
    ("sensorReport", "component"): _COMPONENTS,
}


def web_uri(scope: str, key: str, value: str) -> str:
    """The CBV web URI of bare term ``value`` in field ``key`` of ``scope``, else ``value``."""
    terms = FIELD_TERMS.get((scope, key))
    return terms.get(value, value) if terms else value
