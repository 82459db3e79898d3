"""The HTTP API: one module per area, each exposing `bp` (a flask_openapi3.APIBlueprint under /api).

To add an area, write the module (see README.md here) and add one line to MODULES; the app factory
registers them in this order.
"""

from __future__ import annotations

import importlib

from flask_openapi3 import OpenAPI

MODULES: tuple[str, ...] = (
    "builder.api.session",  # login, logout, session, the docs redirect (blueprint "api")
    "builder.api.events",  # POST /api/events (ingest key or token)
    "builder.api.records",  # contacts, deals, tasks: CRUD and condition search
    "builder.api.directory",  # pipelines and stages, teams, owners
    "builder.api.catalog",  # connectors and their actions' schemas
    "builder.api.credentials",  # write-only connector secrets
    "builder.api.stats",  # per version / per node counts and funnels
    "builder.api.users",
    "builder.api.flows",
    "builder.api.flowhooks",
    "builder.api.runs",
    "builder.api.enrollments",
    "builder.api.tokens",
    "builder.api.templates",  # the template library: list bundles, install one as drafts
)


def register_api(app: OpenAPI) -> None:
    for name in MODULES:
        app.register_api(importlib.import_module(name).bp)
