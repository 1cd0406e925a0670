"""The connectors a schedule may name, by name.

A dict built once at import: connectors are code, not configuration, and a schedule naming an
unknown source must fail with the list of known ones (the API answers it as a 400). Each
connector's params schema is checked as valid draft 4 when registered, so a broken schema fails
at start-up and in the unit tests, not on a customer's request.
"""

from __future__ import annotations

from types import MappingProxyType

from headwater.collect.connectors.base import Connector, validator
from headwater.collect.connectors.meta import MetaInsightsConnector
from headwater.collect.connectors.synthetic import SyntheticConnector


class UnknownConnector(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown connector {name!r}; known connectors: {', '.join(known)}")
        self.name = name
        self.known = known


def _registry(*connectors: Connector) -> MappingProxyType[str, Connector]:
    by_name: dict[str, Connector] = {}
    for connector in connectors:
        if connector.name in by_name:
            raise ValueError(f"connector {connector.name!r} is registered twice")
        validator(connector)  # raises jsonschema.SchemaError for a broken params schema
        by_name[connector.name] = connector
    return MappingProxyType(by_name)


# The registered Meta connector talks to Meta itself; the collector builds its own with the
# configured base URL (COLLECT_META_BASE_URL) when a test or local run points it at a fake.
CONNECTORS = _registry(SyntheticConnector(), MetaInsightsConnector())
DEFAULT = SyntheticConnector.name


def names() -> list[str]:
    return sorted(CONNECTORS)


def get(name: str) -> Connector:
    try:
        return CONNECTORS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name from a JSON body
        raise UnknownConnector(str(name), names()) from None
