"""/docs and /redoc work offline: every asset their pages load is served by the fake itself."""

from __future__ import annotations

import re

import httpx
import pytest

from fake_dimail import FakeDimail

ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture(scope="module")
def client() -> httpx.Client:
    return FakeDimail().client()


def loaded_urls(html: str) -> list[str]:
    """Every URL the page makes the browser fetch: scripts, styles, icons, the OpenAPI document."""
    return re.findall(r'(?:src|href|spec-url)="([^"]+)"|url: \'([^\']+)\'', html)


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_a_docs_page_loads_only_what_the_fake_serves(client: httpx.Client, page: str, script: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/html; charset=utf-8"
    urls = [a or b for a, b in loaded_urls(answer.text)]
    assert f"/docs/assets/{script}" in urls and "/openapi.json" in urls and "/docs/assets/favicon.png" in urls
    assert "//" not in answer.text.replace("<!DOCTYPE html>", "").split("<body>", 1)[0]  # no CDN, no Google fonts
    for url in urls:
        assert url.startswith("/"), url
        loaded = client.get(url)
        assert loaded.status_code == 200, url
        if url.startswith("/docs/assets/"):
            suffix = url[url.rindex("."):]
            assert loaded.headers["content-type"].startswith(ASSET_TYPES[suffix]), url
            assert len(loaded.content) > (1000 if suffix == ".png" else 100_000), url


def test_the_scripts_are_the_real_bundles(client: httpx.Client) -> None:
    swagger = client.get("/docs/assets/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in swagger
    assert "Redoc" in client.get("/docs/assets/redoc.standalone.js").text
    assert ".swagger-ui" in client.get("/docs/assets/swagger-ui.css").text


def test_an_unknown_asset_is_dimails_404(client: httpx.Client) -> None:
    for name in ("nope.js", "..%2Fcore.py", "swagger-ui-bundle.js.map"):
        answer = client.get(f"/docs/assets/{name}")
        assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"}), name


def test_the_docs_routes_stay_out_of_the_openapi_document(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]
    assert client.get("/docs/oauth2-redirect").status_code == 200
