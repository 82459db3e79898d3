"""Rate budgets against the real Redis, and credential encryption and redaction."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from connectors.base import Rate
from connectors.credentials import CredentialBox, CredentialError, instance_secret, redact
from connectors.mail import CONNECTOR as MAIL
from connectors.ratelimit import RateBudget
from connectors.registry import default_registry
from connectors.reviews import CONNECTOR as REVIEWS


def test_budget_per_action_credential_and_scope(redis_url: str) -> None:
    budget = RateBudget(redis_url)
    try:
        rate = Rate(2, 10.0, scope="channel")
        assert budget.acquire("slack.post", "ops", rate, "#sales") == 0.0
        assert budget.acquire("slack.post", "ops", rate, "#sales") == 0.0
        wait = budget.acquire("slack.post", "ops", rate, "#sales")
        assert 9.0 < wait <= 10.0
        assert budget.acquire("slack.post", "ops", rate, "#support") == 0.0  # another channel
        assert budget.acquire("slack.post", "other", rate, "#sales") == 0.0  # another credential
        slack = default_registry(plugins=False).action("slack.post")
        assert budget.acquire_for(slack, "ops", {"channel": "#x", "text": "a"}) == 0.0
        assert 0 < budget.acquire_for(slack, "ops", {"channel": "#x", "text": "b"}) <= 1.0
        assert budget.acquire_for(MAIL.actions["mail.send"], "ops", {}) == 0.0  # no rate declared
    finally:
        budget.close()


def test_actions_of_one_connector_share_its_budget(redis_url: str) -> None:
    """Xero counts every call to a tenant: the accounting actions draw on one budget per credential."""
    budget = RateBudget(redis_url)
    try:
        registry = default_registry(plugins=False)
        customer = registry.action("accounting.find_or_create_customer")
        invoice = registry.action("accounting.create_invoice")
        assert customer.rate == invoice.rate and customer.rate is not None
        for _ in range(customer.rate.limit):
            assert budget.acquire_for(customer, "books", {"name": "Ada"}) == 0.0
        assert budget.acquire_for(invoice, "books", {"customer": "c-1"}) > 0  # the same budget
        assert budget.acquire_for(invoice, "other-books", {"customer": "c-1"}) == 0.0
    finally:
        budget.close()


def test_budget_is_shared_between_instances(redis_url: str) -> None:
    first, second = RateBudget(redis_url), RateBudget(redis_url)
    try:
        assert first.acquire("sms.send", "main", Rate(1, 5.0)) == 0.0
        assert second.acquire("sms.send", "main", Rate(1, 5.0)) > 4.0
    finally:
        first.close()
        second.close()


def test_credentials_round_trip_with_a_configured_secret() -> None:
    box = CredentialBox("any passphrase at all")
    values = {"host": "smtp.example.com", "password": "p@ss", "port": 587}
    token = box.encrypt(values)
    assert "p@ss" not in token and "smtp.example.com" not in token
    assert CredentialBox("any passphrase at all").decrypt(token) == values
    with pytest.raises(CredentialError) as info:
        CredentialBox("another key").decrypt(token)
    assert "p@ss" not in str(info.value)
    with pytest.raises(CredentialError):
        box.decrypt(token[:-4] + "AAAA")


def test_generated_key_in_the_instance_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWRIGHT_SECRET_KEY", raising=False)
    monkeypatch.setenv("FLOWRIGHT_HOME", str(tmp_path / "home"))
    token = CredentialBox().encrypt({"a": 1})
    key_file = tmp_path / "home" / "secret.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert instance_secret() == key_file.read_text().strip()
    assert CredentialBox().decrypt(token) == {"a": 1}
    monkeypatch.setenv("FLOWRIGHT_SECRET_KEY", "from the environment")
    assert CredentialBox().decrypt(CredentialBox("from the environment").encrypt({"b": 2})) == {"b": 2}


def test_redact_removes_write_only_values() -> None:
    values = {"host": "smtp.example.com", "password": "p@ss", "from": "a@b.c"}
    assert redact(MAIL.credentials_schema, values) == {"host": "smtp.example.com", "from": "a@b.c"}
    nested = {"business_unit_id": "u1", "trustpilot_api_secret": "s", "smtp": {"host": "h", "password": "p"}}
    assert redact(REVIEWS.credentials_schema, nested) == {"business_unit_id": "u1", "smtp": {"host": "h"}}
