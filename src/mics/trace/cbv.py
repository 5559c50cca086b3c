"""The GS1 Core Business Vocabulary (CBV 2.0) terms that EPCIS 2.0 events use.

Sources: GS1 CBV 2.0 §7, the standard vocabularies (business steps,
dispositions, business transaction types, source/destination types, error
reasons, sensor components), and the GS1 Web Vocabulary classes
``gs1:MeasurementType`` and ``gs1:SensorAlertType`` that EPCIS 2.0 sensor data
uses. The term lists match the EPCIS 2.0 JSON-LD context
(https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld).

A term may be written three ways (CBV 2.0 §6, vocabulary syntax):

* bare, as the JSON-LD context maps it: ``shipping``
* as its web URI: ``https://ref.gs1.org/cbv/BizStep-shipping`` (compact ``cbv:BizStep-shipping``)
* as its URN, the EPCIS 1.x and XML form: ``urn:epcglobal:cbv:bizstep:shipping``

Any other absolute URI is a user vocabulary term (CBV 2.0 §8) and is accepted;
a bare word that is not a standard term, or a URI in a GS1 namespace naming no
standard term, is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from mics.errors import InvalidInput
from mics.trace.identifier_syntax import is_absolute_uri

__all__ = [
    "BIZ_STEP",
    "BIZ_TRANSACTION_TYPE",
    "COMPONENT",
    "DISPOSITION",
    "ERROR_REASON",
    "MEASUREMENT_TYPE",
    "SENSOR_ALERT_TYPE",
    "SOURCE_DESTINATION_TYPE",
    "Vocabulary",
]

CBV_WEB = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"


@dataclass(frozen=True)
class Vocabulary:
    """One standard vocabulary: its terms and the URI prefixes that spell them."""

    name: str
    terms: frozenset[str]
    web_prefix: str  # the full web URI of a term is web_prefix + term
    compact_prefix: str  # the same through the JSON-LD context prefix
    urn_prefix: str | None  # the EPCIS 1.x URN form, where one exists
    example: str  # a term to quote in error messages
    # Namespaces whose terms the JSON binding wants bare (EPCIS 2.0 JSON Schema).
    bare_only: tuple[str, ...] = ()
    # Terms the vocabulary lists beyond the JSON-LD context: valid only as a prefixed URI
    # (``gs1:EffectiveDoseRate``), since the context maps no bare word to them.
    prefixed_only: frozenset[str] = frozenset()

    def term(self, value: str) -> str | None:
        """The bare standard term ``value`` spells, or ``None`` when it names none."""
        if value in self.terms:
            return value
        for prefix in (self.web_prefix, self.compact_prefix, self.urn_prefix):
            if prefix and value.startswith(prefix):
                rest = value[len(prefix) :]
                if rest in self.terms or rest in self.prefixed_only:
                    return rest
        return None

    def expect(self, value: object) -> None:
        """Accept a standard term in any of its forms or a user URI; raise otherwise."""
        expected = (
            f"a CBV 2.0 {self.name} such as {self.example!r} (or {self.web_prefix}{self.example}),"
            " or an absolute URI of your own vocabulary"
        )
        if not isinstance(value, str):
            raise InvalidInput(f"not a string: {value!r}", value=value, expected=expected)
        lowered = value.lower()
        if any(lowered.startswith(p) for p in self.bare_only):
            raise InvalidInput(
                f"{value!r} is in a GS1 namespace the JSON binding wants as a bare term",
                value=value,
                expected=f"the bare term, e.g. {self.example!r}",
            )
        if self.term(value) is not None:
            return
        if not is_absolute_uri(value):
            raise InvalidInput(f"unknown {self.name} {value!r}", value=value, expected=expected)
        for prefix in (self.web_prefix, self.compact_prefix, self.urn_prefix):
            if prefix and lowered.startswith(prefix.lower()):
                raise InvalidInput(
                    f"{value!r} names no {self.name} of CBV 2.0", value=value, expected=expected
                )


def _cbv(name: str, web_type: str, urn_type: str | None, example: str, terms: str) -> Vocabulary:
    return Vocabulary(
        name=name,
        terms=frozenset(terms.split()),
        web_prefix=f"{CBV_WEB}{web_type}-",
        compact_prefix=f"cbv:{web_type}-",
        urn_prefix=f"urn:epcglobal:cbv:{urn_type}:" if urn_type else None,
        example=example,
        # The JSON Schema's vocab-other-uri rejects the legacy ns.gs1.org namespace.
        bare_only=("http://ns.gs1.org/cbv/", "https://ns.gs1.org/cbv/"),
    )


def _gs1_voc(name: str, example: str, terms: str, prefixed_only: str = "") -> Vocabulary:
    return Vocabulary(
        name=name,
        terms=frozenset(terms.split()),
        prefixed_only=frozenset(prefixed_only.split()),
        web_prefix=GS1_VOC,
        compact_prefix="gs1:",
        urn_prefix=None,
        example=example,
        # vocab-nonGS1WebVoc-uri: expanded GS1 Web Vocabulary URIs must be bare terms.
        bare_only=(
            "http://gs1.org/voc/",
            "https://gs1.org/voc/",
            "http://www.gs1.org/voc/",
            "https://www.gs1.org/voc/",
        ),
    )


# CBV 2.0 §7.1 business steps.
BIZ_STEP = _cbv(
    "business step",
    "BizStep",
    "bizstep",
    "shipping",
    """accepting arriving assembling collecting commissioning consigning
    creating_class_instance cycle_counting decommissioning departing destroying
    disassembling dispensing encoding entering_exiting holding inspecting installing
    killing loading other packing picking receiving removing repackaging repairing
    replacing reserving retail_selling sampling sensor_reporting shipping
    staging_outbound stock_taking stocking storing transporting unloading unpacking
    void_shipping""",
)

# CBV 2.0 §7.2 dispositions.
DISPOSITION = _cbv(
    "disposition",
    "Disp",
    "disp",
    "in_transit",
    """active available completeness_inferred completeness_verified conformant
    container_closed container_open damaged destroyed dispensed disposed encoded
    expired in_progress in_transit inactive mismatch_class mismatch_instance
    mismatch_quantity needs_replacement no_pedigree_match non_conformant
    non_sellable_other partially_dispensed recalled reserved retail_sold returned
    sellable_accessible sellable_not_accessible stolen unavailable unknown""",
)

# CBV 2.0 §7.3 business transaction types.
BIZ_TRANSACTION_TYPE = _cbv(
    "business transaction type",
    "BTT",
    "btt",
    "po",
    "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt",
)

# CBV 2.0 §7.4 source/destination types.
SOURCE_DESTINATION_TYPE = _cbv(
    "source/destination type",
    "SDT",
    "sdt",
    "owning_party",
    "owning_party possessing_party location",
)

# CBV 2.0 §7.5 error reasons.
ERROR_REASON = _cbv("error reason", "ER", "er", "incorrect_data", "did_not_occur incorrect_data")

# CBV 2.0 §7 sensor measurement components (coordinate axes, ``cbv:Comp-*``).
COMPONENT = _cbv(
    "sensor component",
    "Comp",
    None,
    "latitude",
    """x y z axial_distance azimuth height spherical_radius polar_angle
    elevation_angle easting northing latitude longitude altitude""",
)

# GS1 Web Vocabulary gs1:MeasurementType (the sensorReport ``type``).
MEASUREMENT_TYPE = _gs1_voc(
    "sensor measurement type",
    "Temperature",
    """AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude
    AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration
    AngularMomentum AngularVelocity Area Capacitance Conductance Conductivity Count
    Density Dimensionless DoseEquivalent DoseEquivalentRate DynamicViscosity
    ElectricCharge ElectricCurrent ElectricCurrentDensity ElectricFieldStrength Energy
    Exposure Force Frequency Illuminance Inductance Irradiance KinematicViscosity Length
    LinearMomentum Luminance LuminousFlux LuminousIntensity MagneticFlux
    MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate
    MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume
    Power Pressure RadiantFlux RadiantIntensity RelativeHumidity Resistance Resistivity
    SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque
    Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber""",
    # Listed by the GS1 Web Vocabulary's gs1:MeasurementType but not by the JSON-LD context
    # (nor the JSON Schema's enum); GS1's own EPCIS 2.0 example SensorDataExamples.xml
    # writes type="gs1:EffectiveDoseRate", which the XSD (xsd:anyURI) and the JSON Schema
    # (vocab-nonGS1WebVoc-uri) both accept.
    prefixed_only="EffectiveDose EffectiveDoseRate",
)

# GS1 Web Vocabulary gs1:SensorAlertType (the sensorReport ``exception``).
SENSOR_ALERT_TYPE = _gs1_voc(
    "sensor alert type", "ALARM_CONDITION", "ALARM_CONDITION ERROR_CONDITION"
)


_TERM_PREFIXES = (
    "https://ref.gs1.org/cbv/BizStep-",
    "https://ref.gs1.org/cbv/Disp-",
    "urn:epcglobal:cbv:bizstep:",
    "urn:epcglobal:cbv:disp:",
)


def bare_term(term: str) -> str:
    """A business step or disposition in the bare form the repository stores and queries
    by ('shipping'), whichever of its CBV 2.0 forms it came in; other URIs unchanged."""
    for prefix in _TERM_PREFIXES:
        if term.startswith(prefix):
            return term[len(prefix) :]
    return term
