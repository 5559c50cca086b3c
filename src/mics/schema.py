"""The whole schema: every area's tables, imported so that ``Base.metadata`` knows them.

Alembic's environment (``migrations/env.py``) compares migrations with this
metadata; nothing below the faces imports it (each area owns its tables,
``ARCHITECTURE.md``), which is why it is not in ``mics.db``.
"""

from __future__ import annotations


def import_tables() -> None:
    """Import every area's tables so that ``Base.metadata`` knows them."""
    from mics.custody import store as custody_store  # noqa: F401
    from mics.factory import store as factory_store  # noqa: F401
    from mics.ledger.store import tables as ledger_tables  # noqa: F401
    from mics.passport import store as passport_store  # noqa: F401
    from mics.registry import store as registry_store  # noqa: F401
    from mics.trace import store as trace_store  # noqa: F401
