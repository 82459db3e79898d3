"""The query layer runs on both databases with real Redis: the durable runtime's fixtures."""

from tests.durable.conftest import clock, database_url, postgres_server, probe, services

__all__ = ["clock", "database_url", "postgres_server", "probe", "services"]
