"""Benchmarks, run from the repository root as modules: ``uv run python -m bench.ingest_bench``.

They share test support (``tests.support``) with the test tiers, so a benchmark and its smoke
test build their inputs the same way.
"""
