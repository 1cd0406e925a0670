"""The rules only a lookup load can break; the shared ones are in ``headwater.contracts.rules``.

Raised as the core's ContractViolation, so a load manifest's error reads like any other report.
"""

from __future__ import annotations

from headwater.contracts.rules import define_rule

KEY_TOO_LONG = define_rule("key_too_long")  # DynamoDB caps sort keys at 1024 bytes
# A "/" in a key cannot be requested: API Gateway decodes %2F before it matches the route.
SLASH_IN_KEY = define_rule("slash_in_key")
MEMBER_TOO_LARGE = define_rule("member_too_large")  # one member alone exceeds an item part
# No longer raised: a load that loses the pointer race now re-reads it and retries (or is skipped
# as the older upload). Kept so manifests recorded with it still name a known rule.
CONCURRENT_LOAD = define_rule("concurrent_load")
