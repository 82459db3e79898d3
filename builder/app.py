"""The Flask app factory, minimal until the API lands: health, event ingestion and the tracking links.

`create_app(config)` is the one place configuration is read. `config["SERVICES"]` may carry a ready
`runtime.services.Services` (what `flowright up` and tests pass); otherwise one is built from the
environment on first use.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from builder.tracking import make_tracking_blueprint
from runtime import operations
from runtime.ingest import EventInvalid
from runtime.services import Services, secret_key

MAX_EVENTS = 1000


def services() -> Services:
    found = current_app.extensions.get("flowright.services")
    if found is None:
        found = current_app.extensions["flowright.services"] = Services.from_env()
    return found


def _error(status: int, code: str, message: str, details: list[dict[str, str]] | None = None) -> Any:
    return jsonify({"error": {"code": code, "message": message, "details": details or []}}), status


def healthz() -> Any:
    services().redis.ping()
    return jsonify({"ok": True})


def post_events() -> Any:
    """One event or a list; answers 202 with each id and whether it was new (a repeat starts nothing)."""
    body = request.get_json(silent=True)
    if body is None:
        return _error(400, "bad_json", "the body must be a JSON event or a list of events")
    events = body if isinstance(body, list) else [body]
    if not events or len(events) > MAX_EVENTS:
        return _error(400, "bad_batch", f"post 1 to {MAX_EVENTS} events at a time")
    try:
        accepted = operations.post_events(services(), events)
    except EventInvalid as exc:
        return _error(422, "invalid_event", str(exc), [{"path": "", "message": str(exc)}])
    return jsonify({"events": [{"id": a.id, "type": a.type, "new": a.new} for a in accepted]}), 202


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})
    if app.config.get("SERVICES") is not None:
        app.extensions["flowright.services"] = app.config["SERVICES"]
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/api/events", "post_events", post_events, methods=["POST"])

    def emit(event: dict[str, Any]) -> None:
        operations.post_events(services(), [event])

    app.register_blueprint(make_tracking_blueprint(emit, secret_key().decode()))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return _error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")

    return app
