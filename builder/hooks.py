"""The `hooks` blueprint: `POST /hooks/<token>`, a flow's secret webhook URL (see runtime.hooks)."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from builder.api.errors import ApiError

bp = APIBlueprint("hooks", __name__, abp_tags=[Tag(name="hooks", description="webhook triggers (public)")])


class HookPath(BaseModel):
    token: str = Field(max_length=200)


@bp.post("/hooks/<token>", summary="Start a flow through its webhook trigger; answers 202")
def receive(path: HookPath) -> Any:
    raise ApiError(404, "not_found", "there is no webhook with this address")
