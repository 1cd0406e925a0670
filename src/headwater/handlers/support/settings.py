"""A handler's settings: a frozen dataclass whose fields name the environment variables they
come from, read at call time (not import time) so tests and the local runner can set them.

    @dataclass(frozen=True)
    class Settings:
        table: str = env_var("LOOKUP_TABLE")                       # required
        prefix: str = env_var("LOOKUP_PREFIX", "lookup/")           # optional, with a default

    config = read_settings(Settings)

Every name is a literal at the call site, so tests/static/test_handler_environment.py can check
it against what the Terraform module sets.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")
_REQUIRED: Any = dataclasses.MISSING


def env_var(name: str, default: Any = _REQUIRED, *, empty_is_unset: bool = False) -> Any:
    """A dataclass field read from ``name``; without ``default`` the variable is required.

    A required variable that is empty counts as missing. An optional one keeps an empty value
    (an empty prefix is a deliberate setting) unless ``empty_is_unset``: then its default applies.
    """
    metadata = {"env": name, "empty_is_unset": empty_is_unset}
    return dataclasses.field(default=default, metadata=metadata)


def read_settings(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """An instance of ``cls`` from the environment; one error names every missing variable."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    missing: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = field.metadata["env"]
        value = environ.get(name)
        if field.default is _REQUIRED:
            if not value:
                missing.append(name)
            else:
                values[field.name] = value
        elif value is not None and not (value == "" and field.metadata["empty_is_unset"]):
            values[field.name] = value
    if missing:
        raise RuntimeError(f"environment variable(s) not set: {', '.join(missing)}")
    return cls(**values)
