"""sms.send: E.164 numbers, quiet hours, Twilio's Messages API (form-encoded, basic auth)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import requests

from connectors import httpmap
from connectors.base import ActionContext, Deferred, PermanentError
from connectors.sms import quiet
from connectors.subject import subject_contact

DEFAULT_BASE_URL = "https://api.twilio.com"


def e164(number: str, region: str | None) -> str:
    """`number` in E.164, read with `region` when it has no country code; PermanentError if it cannot be
    a number (no country, wrong length). Whether a possible number is assigned is Twilio's to say
    (error 21211): our metadata lags behind new ranges and refuses the 555 numbers of test setups."""
    try:
        parsed = phonenumbers.parse(number, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        raise PermanentError(f"not a phone number: {number!r}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise PermanentError(f"not a valid phone number: {number!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _error_text(error: Mapping[str, Any]) -> str:
    """`Authenticate (error 20003): Your AccountSid or AuthToken was incorrect.`: Twilio's `message` is
    often a bare title, its `detail` says what is wrong."""
    text = str(error["message"]) + (f" (error {error['code']})" if error.get("code") else "")
    detail = error.get("detail")
    return f"{text}: {detail}" if isinstance(detail, str) and detail.strip() else text


def _message(response: requests.Response) -> str | None:
    """Twilio's error bodies: `{"code": 21211, "message", "more_info", "status"}` (the 2010 API, with
    `detail` on some errors), or `{"errors": [{"code", "message", "infoUrl"}]}` (newer product APIs)."""
    data = httpmap.json_or_none(response)
    if not isinstance(data, dict):
        return httpmap.body_text(response, 200)
    listed = data.get("errors")
    errors: list[Any] = listed if isinstance(listed, list) else [data]
    texts = [_error_text(e) for e in errors if isinstance(e, dict) and e.get("message")]
    return "; ".join(texts) or None


def basic_auth(creds: Mapping[str, Any]) -> tuple[str, str]:
    """An API key (SK..., its secret), as Twilio recommends for production, else the account SID and
    auth token; the account SID stays in the path either way."""
    if creds.get("api_key_sid") and creds.get("api_key_secret"):
        return str(creds["api_key_sid"]), str(creds["api_key_secret"])
    if creds.get("auth_token"):
        return str(creds["account_sid"]), str(creds["auth_token"])
    raise PermanentError("the Twilio credential needs an auth_token, or an api_key_sid and api_key_secret")


def call(ctx: ActionContext, path: str, form: dict[str, str]) -> dict[str, Any]:
    """The Twilio request helper: basic auth, errors mapped, redirects not followed."""
    creds = ctx.credentials
    base = str(creds.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    try:
        response = ctx.http.post(f"{base}{path}", data=form, auth=basic_auth(creds),
                                 headers={"Accept": "application/json"}, allow_redirects=False,
                                 timeout=float(creds.get("timeout") or 15))
    except requests.RequestException as exc:
        httpmap.transport_error("Twilio", exc)
    httpmap.raise_for("Twilio", response, _message, [creds.get("auth_token"), creds.get("api_key_secret")])
    data = httpmap.json_or_none(response)
    if not isinstance(data, dict):  # accepted, so the message may be on its way: never send it twice
        raise PermanentError("Twilio accepted the request but answered something that is not JSON; "
                             "the message may have been sent", status=response.status_code)
    return data


def check_quiet_hours(ctx: ActionContext, contact: dict[str, Any]) -> None:
    """Raise Deferred(retry_after=until the window ends) during the credential's quiet hours, in the
    contact's timezone: the message is not sent, and the wait is not a failed attempt."""
    window = ctx.credentials.get("quiet_hours")
    if not window:
        return
    tz = quiet.zone(contact.get("timezone")) or quiet.zone(ctx.credentials.get("timezone")) or ZoneInfo("UTC")
    wait = quiet.seconds_left(ctx.clock(), window["from"], window["to"], tz)
    if wait > 0:
        raise Deferred(f"quiet hours ({window['from']}-{window['to']} {tz.key}): "
                             f"sending in {int(wait)} s", retry_after=wait)


def run_send(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    creds = ctx.credentials
    to = e164(str(params["to"]), creds.get("default_region"))
    contact = subject_contact(ctx) or {}  # a deal's run: the deal's contact, as mail.send does
    if not params.get("ignore_quiet_hours"):
        check_quiet_hours(ctx, contact)
    form = {"To": to, "Body": str(params["body"])}
    sender = str(params.get("from") or creds.get("from") or "")
    if sender:
        # a number is normalised; a short code or an alphanumeric sender id is sent as written
        form["From"] = e164(sender, creds.get("default_region")) if sender.startswith("+") else sender
    elif creds.get("messaging_service_sid"):
        form["MessagingServiceSid"] = str(creds["messaging_service_sid"])
    else:
        raise PermanentError("no sender: set `from` on the action or the credential")
    if params.get("status_callback"):
        form["StatusCallback"] = str(params["status_callback"])
    data = call(ctx, f"/2010-04-01/Accounts/{creds['account_sid']}/Messages.json", form)
    out: dict[str, Any] = {"sid": str(data.get("sid") or ""), "status": str(data.get("status") or "queued"),
                           "to": str(data.get("to") or to)}
    with contextlib.suppress(TypeError, ValueError):
        out["segments"] = int(data.get("num_segments") or 1)
    return out
