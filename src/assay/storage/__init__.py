"""The monitor's store: results, rollups, alert state, incidents, silences and the outbox.

``base.Store`` is the interface; ``memory.MemoryStore`` keeps everything in process (tests,
``--once``), ``sql.SqlStore`` in SQLite (a file, WAL) or PostgreSQL through SQLAlchemy
Core, with a versioned schema (``migrations.py``). One shared test suite runs against each.
"""
