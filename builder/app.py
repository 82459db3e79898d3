"""The Flask app factory (DESIGN §8): blueprints `api` (the /api modules of builder.api), `hooks`,
`tracking` and `ui`, JSON errors everywhere, OpenAPI 3.1 at /api/openapi.json, rate limits on Redis.

`create_app(config)` is the one place configuration is read. `config["SERVICES"]` may carry a ready
`runtime.services.Services` (what `flowright up` and tests pass); otherwise one is built from the
environment.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from flask import Flask, Request, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_openapi3 import Info, OpenAPI
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

from builder import hooks, ui
from builder.api import auth, register_api
from builder.api.context import services
from builder.api.errors import ApiError, ErrorOut, register_error_handlers, validation_error_response
from builder.api.routing import CONVERTERS
from builder.api.spec import FlowrightOpenAPI
from builder.tracking import make_tracking_blueprint
from runtime import operations
from runtime.limits import json_problem
from runtime.services import Services, secret_key

API_DESCRIPTION = (
    "Flowright's REST API. Authenticate with `Authorization: Bearer <token>` (flowright tokens create) "
    "or log in with POST /api/login and send the X-CSRF-Token header from GET /api/session on writes. "
    "Errors are `{\"error\": {\"code\", \"message\", \"details\": [{\"path\", \"message\"}]}}`."
)
# Public endpoints and their limits (per client address); override with the config keys.
RATE_LIMITS = {
    "api.login": ("RATE_LIMIT_LOGIN", "10 per minute"),
    "hooks.receive_hook": ("RATE_LIMIT_HOOKS", "300 per minute"),
    "hooks.receive_reviews": ("RATE_LIMIT_HOOKS", "300 per minute"),
    "events.post_events": ("RATE_LIMIT_EVENTS", "600 per minute"),
}


def _defaults() -> dict[str, Any]:
    public = os.environ.get("FLOWRIGHT_PUBLIC_URL", "http://localhost:5000")
    return {
        "SECRET_KEY": secret_key(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": public.startswith("https://"),
        "PERMANENT_SESSION_LIFETIME": timedelta(days=7),
        "MAX_CONTENT_LENGTH": int(os.environ.get("FLOWRIGHT_MAX_BODY", 5 * 1024 * 1024)),
        "RATELIMIT_ENABLED": os.environ.get("FLOWRIGHT_RATELIMIT", "1") != "0",
    }


class ApiRequest(Request):
    """A request whose JSON body is checked once, before any view or model sees it: nested past
    runtime.limits.MAX_DEPTH levels or holding a non-finite number (1e400) it is a 422 naming the spot,
    and a bare JSON string is refused (flask-openapi3 would parse it as JSON a second time)."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            body = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("the JSON is nested too deeply") from None
        problem = json_problem(body)
        if isinstance(body, str):
            problem = ("", "the body is a JSON string; send a JSON object")
        if problem is not None:
            path, message = problem
            raise ApiError(422, "invalid_request", f"{path or 'body'}: {message}", [problem])
        return body


def healthz() -> Any:
    services().redis.ping()
    return jsonify({"ok": True})


def _limiter(app: Flask, found: Services) -> Limiter:
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri="redis://",
        storage_options={"connection_pool": found.redis.connection_pool},  # type: ignore[dict-item]
        key_prefix="flowright:ratelimit",
        strategy="moving-window",
        headers_enabled=True,
    )
    for endpoint, (key, default) in RATE_LIMITS.items():
        view = app.view_functions.get(endpoint)
        if view is not None:
            limited = limiter.limit(str(app.config.get(key) or default))(view)
            app.view_functions[endpoint] = limited  # type: ignore[assignment]
    return limiter


def create_app(config: dict[str, Any] | None = None) -> OpenAPI:
    app = FlowrightOpenAPI(
        __name__,
        info=Info(title="Flowright API", version="1", description=API_DESCRIPTION),
        security_schemes=auth.SECURITY_SCHEMES,
        doc_prefix="/api",
        doc_url="/openapi.json",
        validation_error_status=422,
        validation_error_model=ErrorOut,
        validation_error_callback=validation_error_response,
    )
    app.request_class = ApiRequest
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.update(_defaults())
    app.config.update(config or {})
    proxies = int(app.config.get("PROXIES") or os.environ.get("FLOWRIGHT_PROXIES") or 0)
    if proxies:  # behind N reverse proxies: client addresses (rate limits) from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    if app.config.get("SERVICES") is not None:
        app.extensions["flowright.services"] = app.config["SERVICES"]
    register_error_handlers(app)
    app.url_map.converters.update(CONVERTERS)

    @app.before_request
    def gate() -> None:
        if request.path.startswith("/api/") and request.blueprint not in (None, "openapi", "swagger"):
            auth.authenticate()

    app.add_url_rule("/healthz", "healthz", healthz)
    register_api(app)
    app.register_api(hooks.bp)
    app.register_blueprint(ui.bp)

    def emit(event: dict[str, Any]) -> None:
        operations.post_events(services(), [event])

    app.register_blueprint(make_tracking_blueprint(emit, secret_key().decode()))
    with app.app_context():
        app.extensions["flowright.limiter"] = _limiter(app, services())
    return app
