"""Identity-policy evaluation, the way IAM decides for one request in one account.

Only what a Lambda execution role needs: identity-based policies (inline and managed) of one role,
no resource policies, permission boundaries, SCPs or session policies. The logic is AWS's:
an explicit Deny in any matching statement wins, else any matching Allow allows, else the request
is implicitly denied.

Matching: actions are case-insensitive (``S3:getobject`` grants ``s3:GetObject``); resources are
case-sensitive. Both take ``*`` (any run of characters, ``/`` included) and ``?`` (one
character). An action without resource-level permissions is requested on ``*``, so only a
statement whose Resource matches the literal ``*`` grants it, as on AWS.

Conditions: the operators the modules use and their common relatives (String*, Arn*, Bool, Null,
Numeric*, with ``...IfExists`` and ``ForAnyValue:``/``ForAllValues:``). A key absent from the
request's context fails its condition (unless ``IfExists`` or ``Null``), as on AWS. A condition
this evaluator cannot judge (an operator it does not know, or a key outside ``KNOWN_KEYS``, whose
value on AWS we cannot tell) fails closed in both directions: its Allow does not apply and its
Deny does apply. A local run may then deny a call AWS would allow, and the log says why; it never
allows a call AWS might deny because of a condition we skipped.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# Keys the local request context can state truthfully. Any other key is "unknown" (see above).
KNOWN_KEYS = frozenset(
    {
        "aws:securetransport",
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:requestedregion",
        "aws:calledvia",
        "aws:viaawsservice",
        "kms:viaservice",
        "kms:calleraccount",
        "s3:prefix",
        "s3:delimiter",
    }
)
_KNOWN_KEY_PREFIXES = ("kms:encryptioncontext:",)

ALLOWED = "allowed"
IMPLICIT_DENY = "implicit_deny"
EXPLICIT_DENY = "explicit_deny"


@dataclass(frozen=True)
class Decision:
    """The outcome for one (action, resource); ``notes`` explain conditions we could not judge."""

    result: str
    action: str
    resource: str
    statement: str | None = None  # Sid (or index) of the deciding statement
    notes: tuple[str, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return self.result == ALLOWED


class Unjudgeable(Exception):
    """A condition this evaluator cannot decide (unknown operator or key)."""


@lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # fnmatch.translate also honours [...] classes, which IAM does not: escape them first.
    escaped = pattern.replace("[", "[[]")
    return re.compile(fnmatch.translate(escaped), re.IGNORECASE if ignore_case else 0)


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's ``*``/``?`` globbing (``*`` spans ``/`` and ``:``)."""
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _arn_like(pattern: str, value: str) -> bool:
    # ArnLike compares the six colon-separated parts one by one; the resource part keeps its ':'.
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(wildcard_match(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _bool(value: str) -> str:
    return str(value).lower()


def _number(value: Any) -> float:
    return float(value)


_SINGLE_OPERATORS: dict[str, Any] = {
    "stringequals": lambda p, v: str(v) == str(p),
    "stringnotequals": lambda p, v: str(v) != str(p),
    "stringequalsignorecase": lambda p, v: str(v).lower() == str(p).lower(),
    "stringnotequalsignorecase": lambda p, v: str(v).lower() != str(p).lower(),
    "stringlike": lambda p, v: wildcard_match(str(p), str(v)),
    "stringnotlike": lambda p, v: not wildcard_match(str(p), str(v)),
    "arnequals": _arn_like,
    "arnlike": _arn_like,
    "arnnotequals": lambda p, v: not _arn_like(p, v),
    "arnnotlike": lambda p, v: not _arn_like(p, v),
    "bool": lambda p, v: _bool(v) == _bool(p),
    "numericequals": lambda p, v: _number(v) == _number(p),
    "numericnotequals": lambda p, v: _number(v) != _number(p),
    "numericlessthan": lambda p, v: _number(v) < _number(p),
    "numericlessthanequals": lambda p, v: _number(v) <= _number(p),
    "numericgreaterthan": lambda p, v: _number(v) > _number(p),
    "numericgreaterthanequals": lambda p, v: _number(v) >= _number(p),
}
# Negated operators are satisfied when no policy value matches; the others when any does.
_NEGATED = {name for name in _SINGLE_OPERATORS if "not" in name}


def key_is_known(key: str) -> bool:
    lowered = key.lower()
    return lowered in KNOWN_KEYS or lowered.startswith(_KNOWN_KEY_PREFIXES)


def _context_value(context: Mapping[str, Any], key: str) -> Any:
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return value
    return None


def condition_holds(
    operator: str, key: str, policy_values: Any, context: Mapping[str, Any]
) -> bool:
    """One operator/key pair of a Condition block; raises Unjudgeable when we cannot tell."""
    op = operator.lower()
    qualifier = ""
    if ":" in op:
        qualifier, op = op.split(":", 1)
        if qualifier not in ("foranyvalue", "forallvalues"):
            raise Unjudgeable(f"unknown condition qualifier {operator}")
    if_exists = op.endswith("ifexists")
    if if_exists:
        op = op[: -len("ifexists")]
    if not key_is_known(key):
        raise Unjudgeable(f"condition key {key} is not known locally")
    value = _context_value(context, key)
    expected = [str(v) for v in _as_list(policy_values)]
    if op == "null":
        return all((value is None) == (_bool(e) == "true") for e in expected)
    compare = _SINGLE_OPERATORS.get(op)
    if compare is None:
        raise Unjudgeable(f"unknown condition operator {operator}")
    if value is None:
        # AWS: an absent key satisfies only ...IfExists (and ForAllValues, vacuously).
        return if_exists or qualifier == "forallvalues"
    values = [str(v) for v in _as_list(value)]
    negated = op in _NEGATED

    def one(v: str) -> bool:
        if negated:
            return all(compare(e, v) for e in expected)
        return any(compare(e, v) for e in expected)

    if qualifier == "forallvalues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    # Operators are ANDed, keys within an operator are ANDed, values within a key are ORed.
    for operator, pairs in (conditions or {}).items():
        for key, values in (pairs or {}).items():
            if not condition_holds(operator, key, values, context):
                return False
    return True


def _matches_any(patterns: Iterable[str], value: str, ignore_case: bool) -> bool:
    return any(wildcard_match(p, value, ignore_case) for p in patterns)


def _statement_applies(stmt: Mapping[str, Any], action: str, resource: str) -> bool:
    if "Action" in stmt:
        if not _matches_any(_as_list(stmt["Action"]), action, ignore_case=True):
            return False
    elif "NotAction" in stmt:
        if _matches_any(_as_list(stmt["NotAction"]), action, ignore_case=True):
            return False
    else:
        return False
    if "Resource" in stmt:
        return _matches_any(_as_list(stmt["Resource"]), resource, ignore_case=False)
    if "NotResource" in stmt:
        return not _matches_any(_as_list(stmt["NotResource"]), resource, ignore_case=False)
    return False


def statements(documents: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, statement) for every statement of every policy document."""
    found = []
    for d_index, document in enumerate(documents):
        for s_index, stmt in enumerate(_as_list(document.get("Statement"))):
            found.append((str(stmt.get("Sid") or f"policy{d_index}.statement{s_index}"), stmt))
    return found


def evaluate(
    documents: Sequence[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide one request: explicit Deny > Allow > implicit deny."""
    context = context or {}
    allow: str | None = None
    notes: list[str] = []
    for label, stmt in statements(documents):
        if not _statement_applies(stmt, action, resource):
            continue
        effect = str(stmt.get("Effect", "")).lower()
        try:
            holds = _conditions_hold(stmt.get("Condition") or {}, context)
        except Unjudgeable as exc:
            notes.append(f"{label}: {exc}")
            holds = effect == "deny"  # fail closed either way (see the module docstring)
        if not holds:
            continue
        if effect == "deny":
            return Decision(EXPLICIT_DENY, action, resource, label, tuple(notes))
        if effect == "allow" and allow is None:
            allow = label
    if allow is not None:
        return Decision(ALLOWED, action, resource, allow, tuple(notes))
    return Decision(IMPLICIT_DENY, action, resource, None, tuple(notes))
