"""crm.* actions."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext, PermanentError


def _todo(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    raise PermanentError("not implemented yet")


run_update = run_move_stage = run_create_task = run_assign_owner = _todo
run_add_tag = run_add_score = run_add_note = _todo
