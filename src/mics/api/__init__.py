"""The ASGI app: REST API under ``/api``, the web UI, and ``/health``.

``create_app()`` reads the settings from the environment; tests pass their own
``Settings`` or ``Database``. ``mics serve`` runs it with uvicorn.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from mics import __version__
from mics.api import carriers as carriers_api
from mics.api import compute, docs, edge, epcis_queries, epcis_resources, openapi, problems
from mics.api import custody as custody_api
from mics.api import epcis as epcis_api
from mics.api import factory as factory_api
from mics.api import fast_scan as scan_path
from mics.api import footprint as footprint_api
from mics.api import ledger as ledger_api
from mics.api import links as links_api
from mics.api import match as match_api
from mics.api import passport as passport_api
from mics.api import registry as registry_api
from mics.api import trace as trace_api
from mics.api.deps import OPTIONAL_KEY, DatabaseDep, get_reader
from mics.config import Settings
from mics.db import Database
from mics.ledger.store.signing_key import load_or_create_signer
from mics.passport.prebuilder import Prebuilder
from mics.runtime import heap, process_pool
from mics.storage import checkpoints
from mics.trace import capture
from mics.trace.webhook_tokens import load_or_create_token_seal

__all__ = ["MicsApp", "create_app"]


class MicsApp(FastAPI):
    """The FastAPI app, with tag scans answered ahead of its routing and middleware.

    Every request first passes the edge (``mics.api.edge``): text no database
    column can hold (NUL, unpaired surrogates) is refused there, once for all routes.

    A scan (``GET /01/...?e=..&c=..``) is the one request a busy deployment
    serves by the thousand per second; ``api.fast_scan`` answers it with
    the route's own handler and problem responses. Everything else, and every
    other method on those paths, goes through FastAPI as usual (``/api/ping``,
    the constant the scan benchmark compares with, included: it is the cost of
    an ordinary route of this app).
    """

    prebuilder: Prebuilder | None = None  # told of every request: it yields to them

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        if self.prebuilder is not None:
            self.prebuilder.last_request = time.monotonic()
        await edge.guard(self._dispatch, scope, receive, send)  # text no column can hold: 422

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document with the problems every route answers (``mics.api.openapi``),
        completed once: FastAPI keeps the document, so later calls answer it as it is."""
        if self.openapi_schema is not None:
            return self.openapi_schema
        document = super().openapi()
        openapi.declare_optional_keys(document, self.router.routes, get_reader, OPTIONAL_KEY)
        self.openapi_schema = openapi.declare_problems(document)
        return self.openapi_schema

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scan_path.takes_scan(scope):
            await scan_path.fast_scan(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """For the server's life: SQLite's WAL checkpoints on a thread of their own
    (``mics.storage.checkpoints``), the capture worker processes started and ready
    (``mics.runtime.process_pool``: the first large capture does not wait ~0.3 s each
    for them), the passport prebuilder (``mics.passport.prebuilder``, unless
    ``MICS_PASSPORT_PREBUILD=0``: tagged items' passports assembled before their first
    scan), and what lives as long as the process set aside from the cyclic garbage
    collector's full passes (``mics.runtime.heap``: 183 ms pauses)."""
    process_pool.worker_count()  # a bad MICS_CAPTURE_WORKERS stops the start, naming it
    capture.start_workers()
    checkpointer = checkpoints.start(app.state.db.engine)
    prebuilder: Prebuilder = app.state.prebuilder
    if app.state.settings.passport_prebuild:
        prebuilder.start()
    try:
        heap.freeze_baseline()
        yield
    finally:
        prebuilder.stop()
        if checkpointer is not None:
            checkpointer.stop()
        app.state.compute.shutdown()  # Monte Carlo runs still waiting are dropped
        process_pool.shutdown()  # the capture worker processes


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    db = db or Database.from_url(settings.database_url)
    app = MicsApp(
        lifespan=_lifespan,
        docs_url=None,  # mics.api.docs serves /docs and /redoc from the package
        redoc_url=None,
        title="MICS",
        version=__version__,
        description="Made in Italy Circolare e Sostenibile: registry, traceability, "
        "transparency log, product passports and footprints.",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.signer = load_or_create_signer(settings.home, settings.instance)
    app.state.webhook_tokens = load_or_create_token_seal(settings.home)
    app.state.compute = compute.ComputePool(settings.compute_workers)
    # started by the lifespan (the server), not by an app only called in a test
    app.state.prebuilder = app.prebuilder = Prebuilder(db, settings.base_url)
    problems.install(app)
    docs.install(app)
    # The resolver first: every tag scan takes its /01/ route, and each router
    # ahead of it costs a scan its route matching (~0.1 ms for the six of them).
    app.include_router(links_api.router)
    app.include_router(carriers_api.router)
    app.include_router(registry_api.router)
    app.include_router(ledger_api.router)  # before /epcis: its /events/{id}/proof is narrower
    app.include_router(epcis_api.router)
    app.include_router(epcis_queries.router)
    app.include_router(epcis_resources.router)
    app.include_router(trace_api.router)
    app.include_router(footprint_api.router)
    app.include_router(factory_api.router)
    app.include_router(custody_api.router)
    app.include_router(passport_api.router)
    app.include_router(match_api.router)

    @app.get("/health", tags=["meta"])
    def health(db: DatabaseDep) -> dict[str, str]:
        with db.read() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": db.engine.dialect.name}

    from mics.web import (
        custody_pages,
        events_pages,
        factory_pages,
        footprint_pages,
        i18n,
        log_pages,
        match_pages,
        pages,
        registry_pages,
        search_pages,
        signin,
        static_dir,
        trace_pages,
        whatif,
    )
    from mics.web.visitor import load_or_create_session_seal

    app.state.web_session = load_or_create_session_seal(settings.home)
    for web_router in (signin, events_pages, trace_pages, log_pages):
        app.include_router(web_router.router)
    app.include_router(whatif.router)
    app.include_router(footprint_pages.router)
    app.include_router(registry_pages.router)
    app.include_router(search_pages.router)
    app.include_router(i18n.router)
    app.include_router(match_pages.router)
    app.include_router(factory_pages.router)
    app.include_router(custody_pages.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    return app
