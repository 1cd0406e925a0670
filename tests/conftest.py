"""Fixtures every tier shares: one PostgreSQL server per test session (tests/support/postgres.py).

Registered here rather than imported per module: a fixture imported into a module is a separate
definition there, and each would start its own server.
"""

pytest_plugins = ["tests.support.postgres"]
