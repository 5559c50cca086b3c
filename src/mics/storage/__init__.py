"""Storage speed-ups shared by the areas: machinery, no domain rules.

- ``write_gate``: SQLite writers queue on a thread lock and a ``flock`` instead
  of spinning on ``SQLITE_BUSY``;
- ``statements``: Core statements compiled once, run on the DBAPI cursor;
- ``bulk``: multi-row inserts of plain tuples straight to the driver;
- ``checkpoints``: SQLite WAL checkpoints on a thread of their own;
- ``scan_group``: group commit: the writes of one event-loop pass share one
  transaction;
- ``locks``: named locks held across every process and host serving one database
  (``mics serve --workers N``): the verdict publisher's and webhook rounds.

None of them changes a domain function's signature; measured figures are in
the areas' ``BENCH.md``.
"""
