"""Run statistics: per flow version and per node, and the conversion between two nodes, over a range."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from builder.api.auth import SECURITY, requires
from builder.api.context import services
from builder.api.fields import Moment
from builder.api.query_errors import translated
from runtime.queries import stats

bp = APIBlueprint(
    "stats",
    __name__,
    url_prefix="/api",
    abp_tags=[Tag(name="stats", description="how flows perform")],
    abp_security=SECURITY,
)

RANGE = "ISO-8601 datetime; visits (and run starts) from this moment on"


class FlowPath(BaseModel):
    key: str = Field(min_length=1, max_length=120)


class StatsQuery(BaseModel):
    version: int | None = Field(
        default=None, ge=1, lt=2**31, description="one version; default every version"
    )
    since: Moment | None = Field(default=None, description=RANGE)
    until: Moment | None = Field(default=None, description="ISO-8601 datetime, exclusive")


class FunnelQuery(StatsQuery):
    model_config = ConfigDict(populate_by_name=True)
    source: str = Field(alias="from", min_length=1, max_length=120, description="node id A")
    target: str = Field(alias="to", min_length=1, max_length=120, description="node id B")


class RunCounts(BaseModel):
    entered: int = Field(description="runs started in the range")
    running: int
    waiting: int
    completed: int
    exited: int
    failed: int
    cancelled: int


class FlowRunCounts(RunCounts):
    waiting_now: int = Field(description="runs waiting at this moment, whenever they started")


class VersionCounts(RunCounts):
    version: int


class NodeCounts(BaseModel):
    node: str
    type: str
    entered: int = Field(description="runs that reached the node in the range")
    visits: int = Field(description="visits in the range (a loop visits more than once)")
    completed: int = Field(description="visits that went on through an exit")
    failed: int = Field(description="visits that failed (or whose outcome a dead worker lost)")
    waiting_now: int = Field(description="runs waiting at the node now (delay, wait_for, retry)")


class StatsOut(BaseModel):
    flow: str
    version: int | None
    since: str | None
    until: str | None
    runs: FlowRunCounts
    versions: list[VersionCounts]
    nodes: list[NodeCounts]


class FunnelOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    flow: str
    version: int | None
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    since: str | None
    until: str | None
    entered: int = Field(description="runs that visited `from` in the range")
    converted: int = Field(description="of those, runs that visited `to` later")
    rate: float | None = Field(description="converted / entered; null when none entered")


@bp.get("/flows/<key>/stats", responses={200: StatsOut}, summary="Runs and per-node counts of a flow")
@translated
@requires("viewer")
def flow_stats(path: FlowPath, query: StatsQuery) -> Any:
    return stats.flow_stats(services(), path.key, query.version, query.since, query.until)


@bp.get(
    "/flows/<key>/funnel", responses={200: FunnelOut}, summary="How many runs that visited A went on to B"
)
@translated
@requires("viewer")
def funnel(path: FlowPath, query: FunnelQuery) -> Any:
    return stats.funnel(
        services(), path.key, query.source, query.target, query.version, query.since, query.until
    )
