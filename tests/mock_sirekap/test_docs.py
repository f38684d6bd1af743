"""/docs and /redoc work offline: every script and stylesheet comes from the mock itself."""

from __future__ import annotations

import re
import subprocess
import tempfile
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import needs_program
from tests.mock_sirekap.conftest import MockServer

CHROMIUM = "chromium"  # Debian's package
ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_nothing_from_elsewhere(
    mock: MockServer, client: httpx.Client, page: str
) -> None:
    html = client.get(f"{mock.url}{page}")
    assert html.status_code == 200
    assets = ASSET.findall(html.text)
    assert len(assets) >= 2, html.text  # a script and a stylesheet or favicon at least
    origin = urlsplit(mock.url).netloc
    for asset in assets:
        url = urljoin(f"{mock.url}{page}", asset)
        assert urlsplit(url).netloc == origin, f"{page} loads {asset} from elsewhere"
        fetched = client.get(url)
        assert fetched.status_code == 200 and len(fetched.content) > 0, url
    assert "cdn." not in html.text and "fonts.googleapis" not in html.text
    if page == "/docs":
        assert '"validatorUrl": null' in html.text  # no badge from validator.swagger.io


@pytest.mark.slow
def test_swagger_ui_renders_the_operations_in_a_real_browser(mock: MockServer) -> None:
    chromium = needs_program(CHROMIUM)
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                "--dump-dom", f"{mock.url}/docs",
            ],
            capture_output=True, text=True, timeout=120, check=False,
        ).stdout  # fmt: skip
    assert 'class="swagger-ui' in dom, dom[:2000]
    assert "opblock-summary-path" in dom  # the operations list is in the DOM
    assert "/api/v1/tps/{tps_code}/{election}/result" in dom
    assert "Mock Sirekap upload service" in dom
