"""URL converters for path segments that share a level with a fixed word: `/api/flows/import` is the
import, not the flow `import`, so the `/flows/<key>` rules must not match it. Without this werkzeug
answered OPTIONS /api/flows/import with `Allow: GET, PUT, DELETE, POST` (the flow rules' methods too),
which the OpenAPI document does not say."""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter

from runtime.flows import RESERVED_KEYS


def _segment(name: str, *reserved: str) -> type[BaseConverter]:
    words = "|".join(re.escape(word) for word in reserved)
    return type(name, (BaseConverter,), {"regex": rf"(?!(?:{words})$)[^/]+", "__doc__":
                                         f"One path segment, but not {', '.join(reserved)}."})


# converter name -> class; the app factory installs them before registering the API.
CONVERTERS: dict[str, type[BaseConverter]] = {
    "flow_key": _segment("FlowKeyConverter", *sorted(RESERVED_KEYS)),
    "contact_key": _segment("ContactKeyConverter", "search"),
    "run_id": _segment("RunIdConverter", "retry-failed"),
}
