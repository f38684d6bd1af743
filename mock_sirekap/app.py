"""The FastAPI application of the mock, assembled from its routers and middleware.

The routers are module-level (``routes_*``); what they share (settings, registry, database
handles, the runtime model) is this process's ``MockState`` on ``app.state.mock``, which they
reach through the dependencies of ``mock_sirekap.dependencies``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from mock_sirekap import metrics, routes_admin, routes_device, routes_plenary, routes_public
from mock_sirekap.admission import AdmissionMiddleware, BodyLimits
from mock_sirekap.config import MockConfig
from mock_sirekap.docs import install_docs
from mock_sirekap.errors import install_error_handlers
from mock_sirekap.hot_paths import HotPaths
from mock_sirekap.operators import Operators
from mock_sirekap.registry import Registry
from mock_sirekap.state import MockState

TITLE = "Mock Sirekap upload service"
DESCRIPTION = """\
A mock of Sirekap's upload path (Indonesia's electronic vote recap): KPPS devices log in, upload
the page photos of a polling station's C.Hasil form, submit its vote counts, and read results back
in the shape of KPU's public JSON. PPK operators log in per kecamatan and hold the plenary recap:
they submit each TPS's hand-counted totals, the mock compares them with the uploaded result,
gavels the TPS that match and sums the kecamatan's D.Hasil once every TPS is gaveled. Its capacity
(workers, queue, service times, 503 + Retry-After) is a model, and server-side faults (errors,
latency, brown-out, a plenary suspended for maintenance) can be injected through the admin API.
"""
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
ROUTERS = (routes_device.router, routes_public.router, routes_plenary.router, routes_admin.router)


def create_app(
    config: MockConfig, registry: Registry | None = None, operators: Operators | None = None
) -> FastAPI:
    """The app of one server process; opens its database when the server starts."""
    registry = registry if registry is not None else config.load_registry()
    state = MockState.open(config, registry, operators)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.reload_faults()
        follower = asyncio.create_task(state.follow_faults()) if state.follows_faults else None
        try:
            yield
        finally:
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
            state.close()
            metrics.mark_process_dead(os.getpid())

    app = FastAPI(
        title=TITLE,
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
        # The mock reports through its Prometheus metrics; FastAPI's OpenTelemetry hooks would
        # look up the global providers (environment variables) on every request.
        telemetry=NO_TELEMETRY,
    )
    app.state.mock = state  # what the routes reach through ``dependencies.Mock``
    install_docs(app, TITLE)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    limits = BodyLimits(page=config.max_upload_bytes, timeout=config.body_timeout)
    # Added first, so it sits inside the admission middleware (the last added is outermost).
    handlers = routes_device.HOT_HANDLERS
    app.add_middleware(HotPaths, handlers=handlers, error_handlers=app.exception_handlers)
    app.add_middleware(AdmissionMiddleware, runtime=state.runtime, limits=limits)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --workers N``: each process reads the settings from the environment."""
    return create_app(MockConfig.from_env())
