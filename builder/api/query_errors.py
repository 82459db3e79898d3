"""Query-layer refusals (runtime.queries.errors) as API errors: 422 invalid, 404 not found, 409 conflict."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from builder.api.errors import ApiError
from runtime.queries.errors import Conflict, NotFound, QueryError

F = TypeVar("F", bound=Callable[..., Any])
STATUS: dict[type[QueryError], int] = {NotFound: 404, Conflict: 409}


def as_api_error(exc: QueryError) -> ApiError:
    status = STATUS.get(type(exc), 422)
    error = ApiError(status, exc.code, exc.message)
    error.details = list(exc.details)
    return error


def translated(view: F) -> F:
    """Decorator (under the route decorator): a QueryError leaving the view becomes its ApiError."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except QueryError as exc:
            raise as_api_error(exc) from None

    return wrapper  # type: ignore[return-value]
