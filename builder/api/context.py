"""What a view needs from the app: the process's `Services` (built by the app factory or passed in)."""

from __future__ import annotations

from flask import current_app

from runtime.services import Services


def services() -> Services:
    """The app's Services; built from the environment on first use when the factory was given none."""
    found = current_app.extensions.get("flowright.services")
    if found is None:
        found = current_app.extensions["flowright.services"] = Services.from_env()
    return found
