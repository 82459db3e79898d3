"""The one error shape of the HTTP API (DESIGN §8): `{"error": {"code", "message", "details": [{"path",
"message"}]}}`. Views raise `ApiError` (or a runtime error the handlers below translate); the app
factory installs the handlers so Flask's own 404/405 and flask-openapi3's validation errors use it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask import Flask, Response, jsonify
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException


class ErrorDetail(BaseModel):
    path: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorOut(BaseModel):
    """Every error answer: `{"error": {"code", "message", "details": [{"path", "message"}]}}`."""

    error: ErrorBody


class ApiError(Exception):
    """An error answered as JSON with `status`; `details` point into the request with JSON pointers."""

    def __init__(
        self, status: int, code: str, message: str, details: Iterable[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = [{"path": path, "message": text} for path, text in details or ()]


def error_response(
    status: int, code: str, message: str, details: Sequence[dict[str, str]] | None = None
) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": list(details or [])}})
    response.status_code = status
    return response


def bad_request(message: str, path: str = "", code: str = "bad_request") -> ApiError:
    """A 400 about one spot of the request (`path` is a JSON pointer such as `/nodes/2/next`)."""
    return ApiError(400, code, message, [(path, message)])


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def conflict(message: str, code: str = "conflict") -> ApiError:
    return ApiError(409, code, message)


def pointer(location: Iterable[Any]) -> str:
    """A pydantic error location as a JSON pointer (RFC 6901 escaping)."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in location]
    return "/" + "/".join(parts) if parts else ""


def validation_error_response(exc: ValidationError) -> Response:
    """flask-openapi3's validation_error_callback: every pydantic error with its JSON pointer."""
    details = [
        {"path": pointer(err.get("loc", ())), "message": _message(err)}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    first = details[0] if details else {"path": "", "message": "invalid request"}
    message = f"{first['path'] or 'request'}: {first['message']}"
    return error_response(422, "invalid_request", message, details)


def _message(err: Any) -> str:
    """pydantic's message; for a ValueError of our validators, its text without "Value error, "."""
    cause = (err.get("ctx") or {}).get("error")
    if err.get("type") == "value_error" and cause is not None:
        return str(cause)
    return str(err.get("msg", "invalid value"))


def problems_error(problems: Iterable[Any], message: str = "the flow is not valid") -> ApiError:
    """A 422 listing runtime.validation problems (`.pointer`, `.message`)."""
    details = [(str(getattr(p, "pointer", "")), str(getattr(p, "message", p))) for p in problems]
    return ApiError(422, "flow_invalid", message, details)


def _http_code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register_error_handlers(app: Flask) -> None:
    """JSON errors for ApiError, every HTTPException (404, 405, 413, 429...) and the runtime's refusals."""
    from runtime.errors import FlowInvalid

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if exc.response is not None and exc.response.mimetype == "application/json":
            return exc.response  # type: ignore[return-value]  # ours: flask-openapi3 aborts with it
        status = exc.code or 500
        message = exc.description or exc.name or "error"
        if status == 429:
            message = f"too many requests: {exc.description}"
        response = error_response(status, _http_code(exc), message)
        if status == 405 and exc.get_headers():
            for name, value in exc.get_headers():
                if name.lower() == "allow":
                    response.headers["Allow"] = value
        return response

    @app.errorhandler(FlowInvalid)
    def flow_invalid(exc: FlowInvalid) -> Response:
        err = problems_error([p for p in exc.problems if getattr(p, "severity", "error") == "error"]
                             or exc.problems)
        return error_response(err.status, err.code, err.message, err.details)
