"""The API documentation pages (/docs: Swagger UI, /redoc: ReDoc), served whole by the mock.

FastAPI's default pages load Swagger UI and ReDoc from a CDN, so they are blank offline (a lab
network, a plane, a locked-down CI runner). Here their scripts and stylesheet come from the
installed ``fastapi-offline`` package's static files, under ``/docs-static``: the pages reference
nothing outside the mock.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PACKAGE = "fastapi_offline"  # ships swagger-ui-dist 5 and redoc 2 as static files
ASSETS_URL = "/docs-static"
# No validator badge: Swagger UI would fetch it from validator.swagger.io.
SWAGGER_PARAMETERS = {"validatorUrl": None}


def assets_dir() -> Path:
    return Path(str(importlib.resources.files(ASSETS_PACKAGE) / "static"))


def install_docs(app: FastAPI, title: str) -> None:
    """Serve /docs and /redoc with their assets from the mock itself (the app is created with
    ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-static")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
