"""The local API Gateway (REST v1): serves the emulator's REST APIs on loopback ports.

- ``front``: the HTTP servers, one per API; writes ``apis.json`` for ``headwater local status``.
- ``model``: the APIs, routes, keys and usage plans read from the emulator.
- ``events``: the Lambda proxy event and the mapping of the function's response.
- ``usage_plans``: per-key throttle and quota.
"""
