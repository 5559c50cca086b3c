"""The stored transparency log: the pure core of :mod:`mics.ledger` kept in the database.

- ``tables``: the log's tables (leaves, perfect Merkle nodes, head, checkpoints,
  cosignatures, witness keys); no table class leaves this package;
- ``log``: append in the caller's transaction, sign checkpoints, serve
  inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4) and C2SP tiles;
- ``cosignatures``: registered witness keys and the cosignatures they send
  (c2sp.org/tlog-witness);
- ``keys``: the log's Ed25519 signing key file (c2sp.org/signed-note);
- ``rows``: stored values read raw, type and shape checked (what an audit reads).

The log is generic: a leaf is bytes plus the integer key its appender gave it;
it knows nothing of EPCIS events (what proves or audits events is in
:mod:`mics.trace`).
"""
