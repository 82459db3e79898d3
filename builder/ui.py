"""The `ui` blueprint: the editor at `/` (the built bundle under ui/dist when present, else a start page)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

DIST = Path(__file__).resolve().parent.parent / "ui" / "dist"

bp = Blueprint("ui", __name__)

_START = """<!doctype html><html><head><meta charset="utf-8"><title>Flowright</title></head>
<body style="font-family:sans-serif;max-width:40rem;margin:4rem auto">
<h1>Flowright</h1><p>The editor is not built yet. The API is at <a href="/api/docs">/api/docs</a>.</p>
</body></html>"""


@bp.get("/")
def index() -> Response:
    if (DIST / "index.html").exists():
        return send_from_directory(DIST, "index.html")
    return Response(_START, mimetype="text/html")
