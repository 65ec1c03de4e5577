"""hedgebot's Alembic scripts (``env.py``, ``script.py.mako``, ``versions/``).

A package only so that the wheel ships them: ``bot.store.db`` locates this directory with
``importlib.resources.files("migrations")``, in a source checkout and in an installed wheel alike.
Nothing imports the scripts as modules; Alembic loads them by path.
"""
