"""Rate budgets shared by every worker: a moving window per action, credential and scope in Redis
(the `limits` library). `acquire` never sleeps: it says how long to wait and the runtime re-times
the run through its timer."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from connectors.base import Action, Rate

KEY_PREFIX = "flowright:rate"


def limits_uri(redis_url: str) -> str:
    """redis-py URLs as `limits` spells them (a unix socket is `redis+unix://`)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


class RateBudget:
    """Token budgets in Redis: `acquire(...)` returns 0.0 when the call may go, else seconds to wait."""

    def __init__(self, redis_url: str) -> None:
        self.storage = RedisStorage(limits_uri(redis_url), key_prefix=KEY_PREFIX)
        self.limiter = MovingWindowRateLimiter(self.storage)

    def acquire(self, budget: str, credential_name: str | None, rate: Rate,
                scope_value: Any = None) -> float:
        """Take one call from the budget named `budget` (a connector key) for (credential, scope value);
        0.0 if allowed."""
        item = RateLimitItemPerSecond(rate.limit, max(1, math.ceil(rate.per_seconds)))
        scope = "" if scope_value is None else str(scope_value)
        identifiers = (budget, credential_name or "default", scope)
        if self.limiter.hit(item, *identifiers):
            return 0.0
        stats = self.limiter.get_window_stats(item, *identifiers)
        return max(0.001, stats.reset_time - time.time())

    def acquire_for(self, action: Action, credential_name: str | None, params: Mapping[str, Any]) -> float:
        """`acquire` for an action's declared rate (0.0 when it declares none), scope read from params.
        The budget is the connector's: its actions share one provider limit (Xero counts every call
        to a tenant, whichever action makes it)."""
        if action.rate is None:
            return 0.0
        scope = params.get(action.rate.scope) if action.rate.scope else None
        return self.acquire(action.key.split(".", 1)[0], credential_name, action.rate, scope)

    def close(self) -> None:
        client: Any = self.storage.get_connection()
        client.close()
