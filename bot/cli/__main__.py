"""``python -m bot.cli`` is the ``hedgebot`` command."""

from bot.cli.main import app

app()
