"""Building the MIME message: text and HTML alternatives, tracking links, unsubscribe headers."""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import formatdate, getaddresses, parseaddr
from typing import Any

from connectors.mail import tracking

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
_BARE_URL = re.compile(r"https?://[^\s<>\"']+")
_BODY_END = re.compile(r"</body\s*>", re.I)
# Headers whose value is a list of <URL>s that receivers parse as is (RFC 2369, RFC 8058): never
# RFC 2047-encoded or folded inside a URL, so they may run to RFC 5322's hard limit of 998 characters.
_URL_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
_LONG_LINES = SMTP.clone(max_line_length=998)


class _MailPolicy(EmailPolicy):
    """policy.SMTP, except that the URL headers are written raw on one line: the default 78-character
    limit turned a long signed unsubscribe URL into `=?utf-8?q?=3Chttps...`, which no mailbox
    provider reads as a one-click unsubscribe."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _URL_HEADERS:
            return _LONG_LINES.clone(linesep=self.linesep).fold(name, value)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _URL_HEADERS:
            return _LONG_LINES.clone(linesep=self.linesep).fold_binary(name, value)
        return super().fold_binary(name, value)


MAIL_POLICY = _MailPolicy(linesep="\r\n")


def valid_address(value: str) -> str | None:
    """The bare address of `value` ('a@b.c' or 'Name <a@b.c>') if it looks deliverable, else None."""
    if len(getaddresses([value or ""])) != 1:
        return None
    _name, address = parseaddr(value or "")
    if not address or not _ADDRESS.match(address):
        return None
    return address


def message_id(idempotency_key: str, sender: str) -> str:
    """A Message-ID derived from the step's idempotency key: a repeat of the same step has the same id,
    so receiving systems can tell it is the same mail."""
    domain = (parseaddr(sender)[1].rpartition("@")[2] or "flowright.local").lower()
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


@dataclass(frozen=True)
class Tracking:
    """What the tracking links carry and where they point."""

    public_url: str
    secret_key: str
    data: Mapping[str, Any]  # c, e, m, r, n (see tracking.event_for)
    opens: bool = True
    clicks: bool = True
    unsubscribe: bool = True

    def url(self, kind: str, **more: Any) -> str:
        return tracking.tracking_url(self.public_url, self.secret_key, kind, {**self.data, **more})


def text_to_html(text: str) -> str:
    """A plain HTML rendering of a text body (so that opens and clicks can be tracked)."""
    escaped = htmllib.escape(text)
    linked = _BARE_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return "<html><body><p>" + linked.replace("\n", "<br>\n") + "</p></body></html>"


def rewrite_links(html: str, redirect: Callable[[str], str]) -> str:
    """Point every http(s) link of `html` at `redirect(original_url)`; other links stay."""

    def replace(match: re.Match[str]) -> str:
        original = htmllib.unescape(match.group(3)).strip()
        if not original.lower().startswith(("http://", "https://")):
            return match.group(0)
        new = htmllib.escape(redirect(original), quote=True)
        return f"{match.group(1)}{match.group(2)}{new}{match.group(2)}"

    return _HREF.sub(replace, html)


def _before_body_end(html: str, snippet: str) -> str:
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + snippet
    at = ends[-1].start()
    return html[:at] + snippet + html[at:]


def build(params: Mapping[str, Any], sender: str, reply_to: str | None, msg_id: str,
          track: Tracking | None) -> EmailMessage:
    """The message: multipart/alternative (text, html), tracking and unsubscribe applied to a copy."""
    text = str(params["body"])
    html = params.get("html") or (text_to_html(text) if track else None)
    headers: dict[str, str] = {}
    if track:
        if track.clicks and html:
            html = rewrite_links(html, lambda url: track.url("click", u=url))
        if track.unsubscribe:
            unsubscribe = track.url("unsubscribe")
            text = f"{text.rstrip()}\n\n--\nUnsubscribe: {unsubscribe}\n"
            if html:
                html = _before_body_end(
                    html, f'<p style="font-size:12px;color:#888"><a href="{htmllib.escape(unsubscribe)}">'
                    "Unsubscribe</a></p>")
            headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        if track.opens and html:
            pixel = htmllib.escape(track.url("open"))
            html = _before_body_end(html, f'<img src="{pixel}" width="1" height="1" alt="" '
                                          'style="display:none;border:0">')
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = sender
    msg["To"] = str(params["to"])
    for field in ("cc", "bcc"):
        if params.get(field):
            msg[field.capitalize()] = ", ".join(params[field])
    if reply_to:
        msg["Reply-To"] = reply_to
    # a templated subject may carry a line break (a multi-line field): one line, never a header injection
    msg["Subject"] = " ".join(str(params["subject"]).splitlines()).strip()
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = msg_id
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def recipients(msg: EmailMessage) -> list[str]:
    """Envelope recipients: To, Cc and Bcc (Bcc is then removed from the headers)."""
    found = [addr for _, addr in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", [])
                                                + msg.get_all("Bcc", [])) if addr]
    del msg["Bcc"]
    return found
