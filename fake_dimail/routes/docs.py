"""The interactive docs, `/docs` (Swagger UI) and `/redoc`, as dimail serves them, but working offline.

FastAPI's own pages load their scripts from a CDN; these load the same
Swagger UI 5 and ReDoc 2 bundles from the fastapi-offline package, served
here under /docs/assets/ (guess G-docs-offline).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response

from ..strict_json import LazyRoute

MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

router = APIRouter(include_in_schema=False, route_class=LazyRoute)


def _asset(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}/docs/assets/{name}"


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "") + request.app.openapi_url


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=_asset(request, "swagger-ui-bundle.js"),
        swagger_css_url=_asset(request, "swagger-ui.css"),
        swagger_favicon_url=_asset(request, "favicon.png"),
        oauth2_redirect_url=request.scope.get("root_path", "") + OAUTH2_REDIRECT,
    )


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=_asset(request, "redoc.standalone.js"),
        redoc_favicon_url=_asset(request, "favicon.png"),
        with_google_fonts=False,  # fonts from Google would be the one thing still fetched from outside
    )


@cache
def _read(name: str) -> bytes:
    # Found at the first asset asked for: importing fastapi-offline costs a tenth of the app's import.
    return (files("fastapi_offline") / "static" / name).read_bytes()


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    if name not in MEDIA_TYPES:
        raise HTTPException(404)
    # A week: the bundles only change with the package.
    return Response(_read(name), media_type=MEDIA_TYPES[name],
                    headers={"cache-control": "public, max-age=604800"})
