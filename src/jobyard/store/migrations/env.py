"""Alembic's environment: migrations run on the connection (and inside the transaction) ``upgrade`` holds."""

from alembic import context

connection = context.config.attributes["connection"]
if connection is None:
    raise SystemExit("jobyard's migrations run through jobyard.store.migrations.upgrade, on a connection")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
