"""reviews.request: a Trustpilot email invitation, or a Google review link mailed over SMTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from connectors import httpmap
from connectors.base import ActionContext, PermanentError
from connectors.mail.send import send_mail

INVITATIONS_URL = "https://invitations-api.trustpilot.com"
AUTH_URL = "https://api.trustpilot.com"
DEFAULT_BODY = ("Hi {name},\n\nThank you for choosing us. Would you take a minute to tell others how "
                "we did?\n{link}\n\nThank you!")


def _message(response: requests.Response) -> str | None:
    """Trustpilot's `{"message", "errorCode"}`, OAuth's `error_description`, or its API gateway's (Apigee)
    `{"fault": {"faultstring", "detail": {"errorcode"}}}` and, from the token endpoint,
    `{"ErrorCode": "invalid_request", "Error": "Invalid client id : ... ClientId is Invalid"}`."""
    data = httpmap.json_or_none(response)
    if isinstance(data, dict):
        fault = data.get("fault")
        if isinstance(fault, dict) and fault.get("faultstring"):
            detail = fault.get("detail")
            code = detail.get("errorcode") if isinstance(detail, dict) else None
            return f"{fault['faultstring']} ({code})" if code else str(fault["faultstring"])
        if isinstance(data.get("Error"), str) and data["Error"]:
            code = data.get("ErrorCode")
            return f"{data['Error']} ({code})"[:300] if code else data["Error"][:300]
        for key in ("message", "error_description", "error", "details"):
            if data.get(key):
                return str(data[key])[:300]
    return httpmap.body_text(response)


def send_time(value: str) -> str:
    """An ISO date-time as Trustpilot's preferredSendTime: UTC, written MM/DD/YYYY HH:MM:SS."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PermanentError(f"send_after is not an ISO date-time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%m/%d/%Y %H:%M:%S")


def call(ctx: ActionContext, method: str, url: str, *, token: str | None = None, **kwargs: Any) -> Any:
    """The Trustpilot request helper: timeouts, error mapping with Trustpilot's `message`."""
    try:
        timeout = float(ctx.credentials.get("timeout") or 15)
        response = ctx.http.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        httpmap.transport_error("Trustpilot", exc)
    creds = ctx.credentials
    # the gateway quotes the API key back ("Invalid client id : <key>"): an identifier, but kept out too
    keys = ("trustpilot_api_key", "trustpilot_api_secret", "trustpilot_access_token")
    secrets = [creds.get(k) for k in keys] + [token]
    httpmap.raise_for("Trustpilot", response, _message, secrets)
    return httpmap.json_or_none(response)


def access_token(ctx: ActionContext) -> str:
    """The stored access token, else one from the client-credentials grant with the API key and secret."""
    creds = ctx.credentials
    if creds.get("trustpilot_access_token"):
        return str(creds["trustpilot_access_token"])
    if not creds.get("trustpilot_api_key") or not creds.get("trustpilot_api_secret"):
        raise PermanentError("the Trustpilot credential needs an access token, or an API key and secret")
    base = str(creds.get("trustpilot_auth_url") or AUTH_URL).rstrip("/")
    data = call(ctx, "POST", f"{base}/v1/oauth/oauth-business-users-for-applications/accesstoken",
                auth=(str(creds["trustpilot_api_key"]), str(creds["trustpilot_api_secret"])),
                data={"grant_type": "client_credentials"})
    if not isinstance(data, dict) or not data.get("access_token"):
        raise PermanentError("Trustpilot gave no access token")
    return str(data["access_token"])


def subject_reference(ctx: ActionContext) -> str | None:
    """`deal:<id>` or `contact:<id>` of the run's subject: the invitation's reference when the flow gives
    none, so that the review Trustpilot sends back (which carries no e-mail) finds its record."""
    for kind in ("deal", "contact"):
        if ctx.run.subject.get(f"{kind}_id") is not None:
            return f"{kind}:{ctx.run.subject[f'{kind}_id']}"
    return None


def _trustpilot(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    creds = ctx.credentials
    params = {**params, "reference": params.get("reference") or subject_reference(ctx)}
    unit = creds.get("business_unit_id")
    if not unit:
        raise PermanentError("the Trustpilot credential needs a business_unit_id")
    body: dict[str, Any] = {"consumerEmail": params["to"], "consumerName": params["name"], "type": "email",
                            "locale": params.get("locale") or "en-US"}
    optional = {"referenceNumber": params.get("reference"), "senderEmail": creds.get("sender_email"),
                "replyTo": creds.get("reply_to"), "senderName": creds.get("sender_name"),
                "locationId": creds.get("location_id")}
    body.update({k: v for k, v in optional.items() if v})
    invitation = {"templateId": creds.get("template_id"), "redirectUri": creds.get("redirect_uri"),
                  "tags": params.get("tags"),
                  "preferredSendTime": send_time(params["send_after"]) if params.get("send_after") else None}
    body["serviceReviewInvitation"] = {k: v for k, v in invitation.items() if v}
    base = str(creds.get("trustpilot_base_url") or INVITATIONS_URL).rstrip("/")
    token = access_token(ctx)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if creds.get("business_user_id"):  # on whose behalf, needed with a client-credentials token
        headers["x-business-user-id"] = str(creds["business_user_id"])
    call(ctx, "POST", f"{base}/v1/private/business-units/{unit}/email-invitations", json=body,
         headers=headers, token=token)
    out = {"provider": "trustpilot", "to": params["to"]}
    if params.get("reference"):
        out["reference"] = params["reference"]
    return out


def _google(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    creds = ctx.credentials
    link, smtp = creds.get("google_review_url"), creds.get("smtp")
    if not link or not smtp:
        raise PermanentError("a Google review request needs google_review_url and smtp in the credential")
    text = str(params.get("body") or DEFAULT_BODY)
    text = text.replace("{link}", str(link)).replace("{name}", str(params["name"]))
    if str(link) not in text:
        text = f"{text.rstrip()}\n\n{link}\n"
    mail = {"to": params["to"], "subject": params.get("subject") or "How did we do?", "body": text}
    sent = send_mail(ctx, smtp, mail)
    out = {"provider": "google", "to": params["to"], "message_id": sent["message_id"]}
    if params.get("reference"):
        out["reference"] = params["reference"]
    return out


PROVIDERS: dict[str, Callable[[ActionContext, dict[str, Any]], dict[str, Any]]] = {
    "trustpilot": _trustpilot,
    "google": _google,
}


def run_request(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    return PROVIDERS[params["provider"]](ctx, params)
