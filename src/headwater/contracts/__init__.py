"""The shared core every capability builds on: dataset declarations, rules, row validation.

Capabilities (ingest, lookup, and the ones to come) import from here, never from each other, so
one capability can change without breaking another (tests/static/test_import_rules.py).
"""
