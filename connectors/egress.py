"""Egress checks for user-supplied URLs (http.request, webhook.send): no private, loopback,
link-local, multicast or reserved targets unless allow-listed, re-checked at every redirect."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from connectors.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_REDIRECTS = 5
REDIRECT_CODES = {301, 302, 303, 307, 308}


def _blocked(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global)


def _allowed(host: str, addresses: list[IPAddress], allowlist: Iterable[str]) -> bool:
    for entry in allowlist:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == host.lower():
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if addresses and all(a in network for a in addresses):
            return True
    return False


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise PermanentError(f"cannot resolve host {host!r} ({exc.__class__.__name__})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str, allowlist: Iterable[str] = ()) -> None:
    """Refuse a URL whose host resolves to any non-public address, unless the host or every
    address is allow-listed (host names or CIDRs)."""
    parts = urlsplit(url)  # errors name the scheme and host only: a URL may carry a token or password
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"refused a {parts.scheme or 'schemeless'} URL: only http and https URLs "
                             "with a host are allowed")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PermanentError(f"refused {host}: bad port") from None
    allow = list(allowlist)
    addresses = resolve(host, port)
    if _allowed(host, addresses, allow):
        return
    bad = sorted({str(a) for a in addresses if _blocked(a)})
    if bad:
        raise PermanentError(
            f"refused {host}: it resolves to a private, loopback, link-local or reserved address "
            f"({', '.join(bad)}); an administrator can allow-list it (http_allowlist)"
        )


def allowlist_from(settings: Any) -> list[str]:
    value = settings.get("http_allowlist") if settings else None
    if not value:
        return []
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    return [str(v) for v in value]


def _peer_checked(base: type[HTTPConnection], allow: tuple[str, ...]) -> type[HTTPConnection]:
    """A connection class that checks the address it actually connected to before sending a byte, so
    a name that resolved to a public address for check_url and to a private one now (DNS rebinding)
    is still refused."""

    class PeerChecked(base):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            address = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
            if _blocked(address) and not _allowed(str(self.host), [address], allow):
                sock.close()
                raise PermanentError(f"refused {self.host}: it connected to a private, loopback, link-local "
                                     f"or reserved address ({address}); an administrator can allow-list it "
                                     "(http_allowlist)")
            return sock

    return PeerChecked


class PeerCheckingAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse non-public peers unless allow-listed."""

    def __init__(self, allowlist: Iterable[str] = ()) -> None:
        self.allow = tuple(allowlist)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http = type("Pool", (HTTPConnectionPool,),
                    {"ConnectionCls": _peer_checked(HTTPConnection, self.allow)})
        https = type("Pool", (HTTPSConnectionPool,),
                     {"ConnectionCls": _peer_checked(HTTPSConnection, self.allow)})
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


def _session_like(session: requests.Session, allow: list[str]) -> requests.Session:
    """A session with `session`'s settings whose connections check their peer."""
    checked = requests.Session()
    checked.headers.update(session.headers)
    checked.auth, checked.proxies, checked.verify = session.auth, dict(session.proxies), session.verify
    checked.cert, checked.trust_env = session.cert, session.trust_env
    adapter = PeerCheckingAdapter(allow)
    checked.mount("http://", adapter)
    checked.mount("https://", adapter)
    return checked


def checked_request(session: requests.Session, method: str, url: str, *, allowlist: Iterable[str],
                    timeout: float, **kwargs: Any) -> requests.Response:
    """Send a request, following up to MAX_REDIRECTS redirects by hand and checking every hop (the URL
    before connecting, the peer address once connected).

    Transport errors (requests.RequestException) propagate for the caller's helper to map.
    """
    allow = list(allowlist)
    with _session_like(session, allow) as checked:
        return _follow(checked, method, url, allow, timeout, kwargs)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _drop_credentials(kwargs: dict[str, Any]) -> None:
    """Before a cross-origin hop (another scheme, host or port): forward none of the caller's headers,
    since any of them may be a credential (Authorization, Cookie, X-Api-Key, a signature...), and no
    auth or cookies. Only the Content-Type of a body still being sent (307/308) stays."""
    headers = kwargs.get("headers") or {}
    body = kwargs.get("data") is not None or kwargs.get("json") is not None
    kwargs["headers"] = {k: v for k, v in headers.items() if body and k.lower() == "content-type"}
    kwargs.pop("auth", None)
    kwargs.pop("cookies", None)


def _follow(session: requests.Session, method: str, url: str, allow: list[str], timeout: float,
            kwargs: dict[str, Any]) -> requests.Response:
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, allow)
        response = session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
        location = response.headers.get("Location")
        if response.status_code not in REDIRECT_CODES or not location:
            return response
        response.close()
        previous, url = url, urljoin(url, location)
        if response.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
            method = "GET"  # what browsers and requests do
            kwargs.pop("json", None)
            kwargs.pop("data", None)
        if _origin(previous) != _origin(url):
            _drop_credentials(kwargs)
    raise PermanentError(f"too many redirects (more than {MAX_REDIRECTS})")
