"""Connections: a subscriber's source tokens, write-only, in Secrets Manager.

One secret per connection, named ``<prefix><subscriber>/<name>`` (the collector reads only
``<prefix><schedule input's subscriber>/<input's connection>``), SecretString
``{"source": ..., "token": ...}``, encrypted with the collect KMS key, tagged ``subscriber`` and
``source``. The API never reads a secret's value: listing and replacing use ListSecrets /
DescribeSecret metadata (the ``source`` tag), so the API role needs no GetSecretValue and a
token cannot reach a response or a log line from here.

- create: CreateSecret; ``ResourceExistsException`` -> ``Exists`` (409);
- replace: PutSecretValue with a new token (the source kept, read from the tag);
- list: ListSecrets filtered by ``name`` = ``<prefix><subscriber>/``. The filter is a prefix
  match, and AWS documents it as case-insensitive, so results are filtered again here on the
  exact, case-sensitive prefix with its ``/``: subscriber ``a`` never sees ``ab``'s;
- delete: DeleteSecret with ForceDeleteWithoutRecovery. With a recovery window the name stays
  taken (CreateSecret of it fails until the window ends), so a subscriber who deletes a
  connection could not create one of the same name for 7 to 30 days; a token the owner asked to
  remove has no reason to stay recoverable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from headwater.collect.connectors import registry
from headwater.collect.connectors.base import ParamError

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MAX_TOKEN = 4096
SUBSCRIBER_TAG = "subscriber"
SOURCE_TAG = "source"


class Exists(Exception):
    """409: the subscriber already has a connection of this name."""


class InvalidConnection(ValueError):
    def __init__(self, errors: list[ParamError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.path, e.rule))
        super().__init__(f"{len(self.errors)} error(s) in the connection")
        self.message = str(self)


@dataclass(frozen=True)
class Connection:
    name: str
    source: str | None
    created: datetime | None
    updated: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "created": _rfc3339(self.created),
            "updated": _rfc3339(self.updated),
        }


def _rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _token_errors(body: dict[str, Any]) -> list[ParamError]:
    token = body.get("token")
    if "token" not in body:
        return [ParamError("token", "required", "'token' is required")]
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN:
        return [ParamError("token", "type", f"a string of 1 to {MAX_TOKEN} characters")]
    if not token.isprintable():
        return [ParamError("token", "printable", "no control or non-printable characters")]
    return []


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidConnection([ParamError("", "type", "the body must be a JSON object")])
    return body


def parse_create(body: Any) -> tuple[str, str, str]:
    """(name, source, token) of a ``POST /connections`` body, or InvalidConnection (every
    error; messages never quote the token)."""
    body = _object(body)
    errors = [
        ParamError(str(k), "additionalProperties", "unknown field")
        for k in body
        if k not in ("name", "source", "token")
    ]
    name, source = body.get("name"), body.get("source")
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        errors.append(ParamError("name", "pattern", f"a string matching {NAME_PATTERN}"))
    if not isinstance(source, str):
        errors.append(ParamError("source", "required", "a connector name (string)"))
    else:
        try:
            registry.get(source)
        except registry.UnknownConnector as exc:
            errors.append(ParamError("source", "enum", str(exc)))
    errors += _token_errors(body)
    if errors:
        raise InvalidConnection(errors)
    return name, source, body["token"]  # type: ignore[return-value]


def parse_replace(body: Any) -> str:
    """The new token of a ``PUT /connections/{name}`` body."""
    body = _object(body)
    errors = [
        ParamError(str(k), "additionalProperties", "unknown field") for k in body if k != "token"
    ]
    errors += _token_errors(body)
    if errors:
        raise InvalidConnection(errors)
    return body["token"]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _tags(described: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in described.get("Tags", [])}


class ConnectionStore:
    """``client`` is a boto3 Secrets Manager client; ``prefix`` COLLECT_SECRET_PREFIX."""

    def __init__(self, client: Any, *, prefix: str, kms_key_id: str) -> None:
        self._client = client
        self._prefix = prefix
        self._kms_key_id = kms_key_id

    def secret_name(self, subscriber: str, name: str) -> str:
        return f"{self._prefix}{subscriber}/{name}"

    def create(self, subscriber: str, name: str, source: str, token: str) -> Connection:
        try:
            self._client.create_secret(
                Name=self.secret_name(subscriber, name),
                SecretString=json.dumps({"source": source, "token": token}),
                KmsKeyId=self._kms_key_id,
                Tags=[
                    {"Key": SUBSCRIBER_TAG, "Value": subscriber},
                    {"Key": SOURCE_TAG, "Value": source},
                ],
            )
        except ClientError as exc:
            if _code(exc) == "ResourceExistsException":
                raise Exists(f"a connection named {name!r} exists") from None
            raise
        found = self.get(subscriber, name)
        assert found is not None
        return found

    def get(self, subscriber: str, name: str) -> Connection | None:
        """The connection's metadata (DescribeSecret: never the value), or None."""
        described = self._client_describe(subscriber, name)
        return None if described is None else self._connection(name, described)

    def exists(self, subscriber: str, name: str) -> bool:
        return self.get(subscriber, name) is not None

    def replace(self, subscriber: str, name: str, token: str) -> Connection | None:
        current = self._client_describe(subscriber, name)
        if current is None:
            return None
        source = _tags(current).get(SOURCE_TAG)
        try:
            self._client.put_secret_value(
                SecretId=self.secret_name(subscriber, name),
                SecretString=json.dumps({"source": source, "token": token}),
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise
        return self.get(subscriber, name)

    def list(self, subscriber: str) -> list[Connection]:
        prefix = f"{self._prefix}{subscriber}/"
        found = []
        paginator = self._client.get_paginator("list_secrets")
        for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
            for secret in page.get("SecretList", []):
                name = secret["Name"]
                # Case-sensitive and with the "/": "a/" never matches "ab/x" or "A/x".
                if not name.startswith(prefix) or secret.get("DeletedDate"):
                    continue
                if _tags(secret).get(SUBSCRIBER_TAG) != subscriber:
                    continue
                found.append(self._connection(name[len(prefix) :], secret))
        return sorted(found, key=lambda c: c.name)

    def delete(self, subscriber: str, name: str) -> bool:
        if self._client_describe(subscriber, name) is None:
            return False
        try:
            self._client.delete_secret(
                SecretId=self.secret_name(subscriber, name), ForceDeleteWithoutRecovery=True
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False
            raise
        return True

    def _client_describe(self, subscriber: str, name: str) -> dict[str, Any] | None:
        if not re.fullmatch(NAME_PATTERN, name):
            return None  # no connection has it; and "x/y" must not address a deeper name
        try:
            described = self._client.describe_secret(SecretId=self.secret_name(subscriber, name))
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise
        if described.get("DeletedDate") or _tags(described).get(SUBSCRIBER_TAG) != subscriber:
            return None
        return described

    @staticmethod
    def _connection(name: str, described: dict[str, Any]) -> Connection:
        return Connection(
            name=name,
            source=_tags(described).get(SOURCE_TAG),
            created=described.get("CreatedDate"),
            updated=described.get("LastChangedDate") or described.get("CreatedDate"),
        )
