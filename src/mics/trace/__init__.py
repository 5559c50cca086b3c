"""Traceability: GS1 EPCIS 2.0 events, CBV 2.0 event hashes and the XML binding."""

__all__: list[str] = []
