"""``llmbench server``: every run in a database (SQLite embedded, PostgreSQL for teams), the
ingest API the plugin posts to, and pages to browse, compare and follow runs.

Imports ``results/`` and ``report/``; never pytest or the plugin adapter.
"""
