"""The tracking blueprint: open pixel, click redirect and unsubscribe pages for mail.send's links.

Tokens are made and read by `connectors.mail.tracking`; this module only serves them and hands the
resulting events to `emit` (the app factory passes the real event ingestion). The routes are
public: a mail client has no session, so the app must not apply session CSRF to them.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, request

from connectors.mail import tracking
from runtime.errors import EventInvalid

# The smallest transparent GIF (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response(_PAGE.format(title=html.escape(title), body=body), status=status,
                    mimetype="text/html", headers={"Cache-Control": "no-store"})


def make_tracking_blueprint(emit: Callable[[dict[str, Any]], None], secret_key: str) -> Blueprint:
    """Serve /t/o/<token>.gif, /t/c/<token> and /t/u/<token>, emitting the matching events."""
    bp = Blueprint("tracking", __name__)

    def read(kind: str, token: str) -> dict[str, Any] | None:
        try:
            return tracking.read_token(secret_key, kind, token)
        except tracking.BadToken:
            return None

    def record(event: dict[str, Any]) -> None:
        """Hand the event to `emit`; one ingestion refuses (the contact was deleted since the mail went out,
        or the token names no one) is dropped and logged: the reader still gets the pixel, the redirect
        or the page, and a deleted contact is not made again from an e-mail address."""
        try:
            emit(event)
        except EventInvalid as exc:
            current_app.logger.info("tracking: %s event dropped: %s", event.get("type"), exc)

    def client() -> dict[str, Any]:
        return {"user_agent": request.headers.get("User-Agent", "")}

    @bp.get("/t/o/<token>.gif")
    def opened(token: str) -> Response:
        data = read("open", token)
        if data is not None:  # a bad token still gets the pixel: never show a broken image
            record(tracking.event_for("open", data, extra=client()))
        return Response(PIXEL, mimetype="image/gif",
                        headers={"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0"})

    @bp.get("/t/c/<token>")
    def clicked(token: str) -> Any:
        data = read("click", token)
        url = (data or {}).get("u")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            abort(400, description="This link is invalid or was altered.")
        assert data is not None
        record(tracking.event_for("click", data, extra=client()))
        return redirect(url, code=302)

    @bp.route("/t/u/<token>", methods=["GET", "POST"])
    def unsubscribe(token: str) -> Response:
        data = read("unsubscribe", token)
        if data is None:
            return _page("Invalid link", "<p>This unsubscribe link is invalid or was altered.</p>", 400)
        email = html.escape(str(data.get("e") or "your address"))
        if request.method == "POST":  # the confirm button, or an RFC 8058 one-click POST
            one_click = request.form.get("List-Unsubscribe") == "One-Click"
            record(tracking.event_for("unsubscribe", data, extra={"one_click": one_click}))
            return _page("Unsubscribed", f"<p>{email} will receive no more of these emails.</p>")
        return _page(
            "Unsubscribe",
            f"<p>Stop sending emails to <strong>{email}</strong>?</p>"
            '<form method="post"><button type="submit">Unsubscribe</button></form>',
        )

    return bp
