"""mail.send: refuse recipients who are unsubscribed or bounced contacts, build the message, hand it to
SMTP."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext, PermanentError
from connectors.mail import message, smtp


def recipient_refusal(ctx: ActionContext, addresses: list[str], *, service: bool = False) -> str | None:
    """Why this mail must not go out, judged by whom it goes to (not whom the run is about): the first
    recipient that is a contact who unsubscribed or whose address bounced. Addresses that are no
    contact (the team's own inbox) are never refused."""
    for address in addresses:
        reason = refusal(ctx.records.contact_by_email(address), service=service)
        if reason:
            return f"mail not sent to {address}: {reason}"
    return None


def refusal(contact: dict[str, Any] | None, *, service: bool = False) -> str | None:
    """Why this contact must not be mailed, or None. Service mail ignores the subscription."""
    if not contact:
        return None
    if contact.get("subscribed") is False and not service:
        return "the contact has unsubscribed"
    if contact.get("status") == "bounced" or contact.get("bounced") is True:
        return "the contact's address has bounced"
    return None


def tracking_for(ctx: ActionContext, params: dict[str, Any], contact: dict[str, Any] | None,
                 to: str, msg_id: str) -> message.Tracking | None:
    public_url, secret_key = ctx.settings.get("public_url"), ctx.settings.get("secret_key")
    if not public_url or not secret_key:
        ctx.logger.warning("mail.send: no public_url/secret_key setting; sending without tracking links")
        return None
    data = {"c": (contact or {}).get("id"), "e": to, "m": msg_id,
            "r": ctx.run.id, "n": ctx.run.node}
    # Opens and clicks are tracked for contacts only: an owner's notification mail, once opened, would
    # otherwise create a contact for the owner (and start contact.created flows). Anyone may unsubscribe.
    known = contact is not None
    return message.Tracking(
        public_url=str(public_url), secret_key=str(secret_key),
        data={k: v for k, v in data.items() if v is not None},
        opens=known and params.get("track_opens", True), clicks=known and params.get("track_clicks", True),
        unsubscribe=params.get("unsubscribe_link", True) and params.get("category") != "service",
    )


def send_mail(ctx: ActionContext, credentials: Any, params: dict[str, Any], *,
              track: bool = True) -> dict[str, Any]:
    """Send one mail with SMTP `credentials` (shared with reviews.request's Google link mail)."""
    to = message.valid_address(str(params.get("to") or ""))
    if to is None:
        raise PermanentError(f"not a valid email address: {params.get('to')!r}")
    copies = [*(params.get("cc") or []), *(params.get("bcc") or [])]
    addresses = [to]
    for extra in copies:
        address = message.valid_address(extra)
        if address is None:
            raise PermanentError(f"not a valid email address: {extra!r}")
        addresses.append(address)
    reason = recipient_refusal(ctx, addresses, service=params.get("category") == "service")
    if reason:
        raise PermanentError(reason)
    contact = ctx.records.contact_by_email(to)  # opens, clicks and unsubscribes are the recipient's
    sender = params.get("from") or credentials.get("from")
    if not sender or message.valid_address(sender) is None:
        raise PermanentError("no valid sender: set `from` on the action or the credential")
    reply_to = params.get("reply_to") or credentials.get("reply_to")
    if reply_to and message.valid_address(str(reply_to)) is None:
        raise PermanentError(f"not a valid reply-to address: {reply_to!r}")
    msg_id = message.message_id(ctx.idempotency_key, sender)
    tracking = tracking_for(ctx, params, contact, to, msg_id) if track else None
    msg = message.build(params, sender, reply_to, msg_id, tracking)
    refused = smtp.deliver(credentials, msg, message.recipients(msg))
    out: dict[str, Any] = {"message_id": msg_id, "to": to, "accepted": True}
    if refused:  # sent to the others: an error now would invite a repeat to them
        ctx.logger.warning("mail.send: the SMTP server refused some recipients: %s", "; ".join(
            f"{rcpt} ({reply})" for rcpt, reply in refused.items()))
        out["refused"] = sorted(refused)
    return out


def run_send(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    return send_mail(ctx, ctx.credentials, params)
