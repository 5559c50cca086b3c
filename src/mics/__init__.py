"""MICS - Made in Italy Circolare e Sostenibile.

Registry, traceability (GS1 EPCIS 2.0), a transparency log (RFC 6962), product
passports and footprints for circular Made-in-Italy products.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
