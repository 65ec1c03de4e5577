"""Persistence: SQLite (default) or PostgreSQL through SQLAlchemy 2 async, migrated by Alembic.

* ``bot.store.repo.Store`` - the daemon's API (ticks, orders, fills, funding);
* ``bot.store.records`` - the frozen records it returns and the errors it raises;
* ``bot.store.db`` - engines (SQLite pragmas), ``upgrade``/``downgrade``, revision checks;
* ``bot.store.models`` - the schema; ``bot.store.coltypes`` - exact Decimal and UTC columns.
"""
