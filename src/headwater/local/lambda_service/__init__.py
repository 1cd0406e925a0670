"""The Lambda service of the local mode: functions discovered in the emulator, run in workers.

- ``runner``: discovers functions and event source mappings, invokes (sync and async).
- ``workers``: a pool of worker processes per function, with its environment and timeout.
- ``worker_main``: the worker process itself, started with ``python -m`` by ``workers``.
- ``context``: the context object a handler receives.
"""
