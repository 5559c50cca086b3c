"""Traceability: GS1 EPCIS 2.0 events, CBV 2.0 event hashes and the XML binding.

What the areas above and the faces use:

- ``capture``: capture documents (EPCIS 2.0 §8.2.6 ``/capture``) in one transaction
  with their transparency-log leaves; ``capture_jobs``: the jobs;
- ``query``: EPCIS queries (§8.2.7) and one event by ID; ``genealogy``: an
  object's upstream and downstream (transformations, aggregations);
- ``subscriptions``, ``webhook_tokens``: standing queries delivered to webhooks;
- ``reads``: stored events for other areas (frozen dataclasses);
- ``proofs``: an event's inclusion proof; ``offline``: verify it without a
  server; ``audit``: rebuild the log from the events;
- pure: ``event_hash`` (CBV 2.0 §8.9), ``validate``, ``xml_binding`` and
  ``xml_writer`` (EPCIS 2.0 XML); identifiers three ways, one module each:
  ``identifier_syntax`` (is this a well-formed EPC URN or GS1 Digital Link?),
  ``canonical_uri`` (its one canonical form, for the hash and the index),
  ``event_identifiers`` (which identifiers an event names, in which role).
"""

__all__ = [
    "audit",
    "capture",
    "capture_jobs",
    "event_hash",
    "genealogy",
    "offline",
    "proofs",
    "query",
    "reads",
    "subscriptions",
    "validate",
]
