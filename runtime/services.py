"""What every durable process shares: the engine, Redis, the connector registry, the clock, settings.

Built once per process (`Services.from_env`) or by a test with its own clock and registry; jobs reach
it through `runtime.jobs.install`. Published flow versions are immutable, so they are cached here.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cryptography.fernet import Fernet
from redis import Redis
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from connectors.credentials import CredentialBox
from connectors.registry import ConnectorRegistry, default_registry
from runtime import models
from runtime.db import instance_home, make_engine, utcnow
from runtime.flow import Flow

if TYPE_CHECKING:  # imported when first used: `limits` is slow to load and few commands need it
    from connectors.ratelimit import RateBudget


def load_flow(document: Mapping[str, Any], version: int, registry: ConnectorRegistry) -> Flow:
    """A Flow from a stored document: validated by runtime.validation when it is installed."""
    try:
        from runtime.validation import load_flow as validate_and_load
    except ImportError:
        return Flow.from_document(document, version)
    flow = validate_and_load(document, registry)
    return Flow.from_document(flow.document, version)


def redis_url_of(client: Redis) -> str:
    """A URL for the server a redis-py client talks to (TCP or the embedded server's unix socket)."""
    kw = client.connection_pool.connection_kwargs
    auth = f":{quote(str(kw['password']), safe='')}@" if kw.get("password") else ""
    if kw.get("path"):
        return f"unix://{auth}{kw['path']}?db={kw.get('db', 0)}"
    return f"redis://{auth}{kw.get('host', 'localhost')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


def secret_key() -> bytes:
    """FLOWRIGHT_SECRET_KEY, else a key generated once into the instance folder."""
    key = os.environ.get("FLOWRIGHT_SECRET_KEY")
    if key:
        return key.encode()
    path = instance_home() / "secret.key"
    if not path.exists():
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_bytes().strip()


def _env_number(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Services:
    engine: Engine
    redis: Redis
    registry: ConnectorRegistry
    clock: Callable[[], datetime] = utcnow
    settings: dict[str, Any] = field(default_factory=dict)
    claim_seconds: float = field(default_factory=lambda: _env_number("FLOWRIGHT_CLAIM_SECONDS", 300))
    batch_size: int = field(default_factory=lambda: int(_env_number("FLOWRIGHT_BATCH_SIZE", 200)))
    worker_id: str = field(default_factory=lambda: _worker_name())
    _flows: dict[tuple[str, int], Flow] = field(default_factory=dict)
    _box: CredentialBox | None = None
    _rate_budget: RateBudget | None = None

    @classmethod
    def from_env(cls, *, redis: Redis | None = None, **kw: Any) -> Services:
        from runtime.redis_embedded import connect

        allow = os.environ.get("FLOWRIGHT_HTTP_ALLOWLIST", "")
        settings = {
            "public_url": os.environ.get("FLOWRIGHT_PUBLIC_URL", "http://localhost:5000"),
            "http_allowlist": [h for h in allow.split(",") if h],
            "secret_key": secret_key().decode(),
        }
        return cls(
            engine=make_engine(),
            redis=redis or connect(),
            registry=default_registry(),
            settings=settings,
            **kw,
        )

    def now(self) -> datetime:
        return self.clock()

    def flow(self, session: Session, key: str, version: int) -> Flow:
        cached = self._flows.get((key, version))
        if cached is None:
            row = (
                session.execute(
                    select(models.FlowVersion).where(
                        models.FlowVersion.flow_key == key, models.FlowVersion.version == version
                    )
                )
                .scalars()
                .first()
            )
            if row is None:
                raise LookupError(f"flow {key!r} has no version {version}")
            cached = self._flows[(key, version)] = load_flow(row.document, version, self.registry)
        return cached

    def flow_cached(self, key: str, version: int) -> Flow:
        with Session(self.engine) as session:
            return self.flow(session, key, version)

    def current_flow(self, session: Session, key: str) -> Flow:
        row = session.execute(select(models.Flow).where(models.Flow.key == key)).scalars().first()
        if row is None or row.published_version is None:
            raise LookupError(f"flow {key!r} is not published")
        return self.flow(session, key, row.published_version)

    # ------------------------------------------------------------ credentials (Fernet ciphertext at rest)
    @property
    def credential_box(self) -> CredentialBox:
        """Encryption with the instance secret (any string: FLOWRIGHT_SECRET_KEY or the generated key file),
        the same derivation `connectors.credentials` documents, so every process reads every ciphertext."""
        if self._box is None:
            self._box = CredentialBox(secret_key().decode())
        return self._box

    def encrypt(self, values: Mapping[str, Any]) -> str:
        return self.credential_box.encrypt(values)

    def decrypt(self, token: str) -> dict[str, Any]:
        """The values; CredentialError when this instance's key cannot open them."""
        return self.credential_box.decrypt(token)

    @property
    def rate_budget(self) -> RateBudget:
        """The connectors' rate budgets, kept in this Redis and so shared by every worker."""
        if self._rate_budget is None:
            from connectors.ratelimit import RateBudget

            self._rate_budget = RateBudget(redis_url_of(self.redis))
        return self._rate_budget

    def close(self) -> None:
        if self._rate_budget is not None:
            self._rate_budget.close()
        self.engine.dispose()
        self.redis.close()
        from runtime.redis_embedded import release

        release()  # the embedded server stops when this was its last process
