"""The relational store: tables, engines, the bulk write path, migrations and the activation store."""

from atlas.store.bulk import bulk_insert
from atlas.store.engine import database_url, make_engine, write

__all__ = ["bulk_insert", "database_url", "make_engine", "write"]
