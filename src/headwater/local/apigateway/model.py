"""What the local API front serves, read from the emulator's API Gateway (REST v1).

``discover(client)`` turns the API Gateway control-plane view (APIs, resources with their
methods and integrations, request validators, models, stages, API keys, usage plans and their keys)
into plain immutable objects; ``RestApi.match`` resolves a request to a route the way API
Gateway does: literal path parts beat ``{param}`` parts, which beat a greedy ``{proxy+}``, and a
method of the resource beats its ``ANY`` method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headwater.local.apigateway.usage_plans import PlanLimits

# Integration timeouts are capped at 29 s by API Gateway unless raised by quota request.
DEFAULT_INTEGRATION_TIMEOUT = 29.0


@dataclass(frozen=True)
class Integration:
    type: str  # AWS_PROXY, MOCK, AWS, HTTP, HTTP_PROXY
    uri: str = ""
    timeout: float = DEFAULT_INTEGRATION_TIMEOUT
    # MOCK: the 200 integration response's templates ({content type: body}).
    response_templates: tuple[tuple[str, str], ...] = ()
    response_status: int = 200

    @property
    def function_arn(self) -> str | None:
        """The Lambda function of an ``arn:aws:apigateway:...:lambda:path/.../functions/<arn>/
        invocations`` URI."""
        marker = "/functions/"
        if marker not in self.uri:
            return None
        return self.uri.split(marker, 1)[1].removesuffix("/invocations")

    @classmethod
    def from_api(cls, integration: dict) -> Integration:
        responses = integration.get("integrationResponses") or {}
        chosen = responses.get("200") or next(iter(responses.values()), {})
        timeout_ms = integration.get("timeoutInMillis")
        return cls(
            type=integration.get("type", ""),
            uri=integration.get("uri", ""),
            timeout=timeout_ms / 1000 if timeout_ms else DEFAULT_INTEGRATION_TIMEOUT,
            response_templates=tuple((chosen.get("responseTemplates") or {}).items()),
            response_status=int(chosen.get("statusCode", 200)),
        )


@dataclass(frozen=True)
class Method:
    http_method: str
    resource_id: str
    resource_path: str
    api_key_required: bool
    integration: Integration | None
    # Parameters marked required (``method.request.<where>.<name>: true``), as (where, name),
    # enforced only when the method has a validator that validates parameters.
    required_parameters: tuple[tuple[str, str], ...] = ()
    validate_parameters: bool = False
    # requestModels (content type -> model name), checked only when the method's validator
    # validates the body (validateRequestBody).
    request_models: tuple[tuple[str, str], ...] = ()
    validate_body: bool = False


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


@dataclass(frozen=True)
class Resource:
    id: str
    path: str
    methods: dict[str, Method] = field(default_factory=dict)

    def match(self, segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """(specificity, path parameters) if this resource's path matches the segments."""
        template = _segments(self.path)
        params: dict[str, str] = {}
        score: list[int] = []
        for index, part in enumerate(template):
            if part.startswith("{") and part.endswith("+}"):  # greedy: the rest, at least one
                if index >= len(segments):
                    return None
                params[part[1:-2]] = "/".join(segments[index:])
                score.append(0)
                return tuple(score), params
            if index >= len(segments):
                return None
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = segments[index]
                score.append(1)
            elif part == segments[index]:
                score.append(2)
            else:
                return None
        if len(template) != len(segments):
            return None
        return tuple(score), params


@dataclass(frozen=True)
class Stage:
    name: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RestApi:
    id: str
    name: str
    resources: tuple[Resource, ...]
    stages: dict[str, Stage]
    # Model name -> its schema text (the JSON Schema draft 4 document API Gateway stores).
    models: dict[str, str] = field(default_factory=dict)

    def match(self, http_method: str, path: str) -> tuple[Method, dict[str, str]] | None:
        return self.match_segments(http_method, _segments(path))

    def match_segments(
        self, http_method: str, segments: list[str] | tuple[str, ...] | None
    ) -> tuple[Method, dict[str, str]] | None:
        """As ``match``, for a path already split into decoded segments."""
        segments = [part for part in segments or () if part]
        best: tuple[tuple[int, ...], Resource, dict[str, str]] | None = None
        for resource in self.resources:
            found = resource.match(segments)
            if found is None:
                continue
            score, params = found
            # Compared part by part: a literal (2) beats a parameter (1) beats a greedy tail (0)
            # at the first part where two candidates differ.
            padded = score + (0,) * (len(segments) - len(score))
            if best is None or padded > best[0]:
                best = (padded, resource, params)
        if best is None:
            return None
        _, resource, params = best
        method = resource.methods.get(http_method.upper()) or resource.methods.get("ANY")
        if method is None:
            return None
        return method, params


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    value: str
    enabled: bool


@dataclass(frozen=True)
class UsagePlan:
    id: str
    name: str
    api_stages: frozenset[tuple[str, str]]  # (api id, stage)
    limits: PlanLimits
    key_ids: frozenset[str]


@dataclass(frozen=True)
class Snapshot:
    apis: tuple[RestApi, ...] = ()
    keys_by_value: dict[str, ApiKey] = field(default_factory=dict)
    plans: tuple[UsagePlan, ...] = ()

    def plans_for(self, key_id: str, api_id: str, stage: str) -> list[UsagePlan]:
        return [p for p in self.plans if key_id in p.key_ids and (api_id, stage) in p.api_stages]


def _pages(client: Any, operation: str, **kwargs: Any) -> list[dict]:
    items: list[dict] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get("items", []))
    return items


def _required_parameters(request_parameters: dict[str, bool]) -> tuple[tuple[str, str], ...]:
    required = []
    for name, is_required in request_parameters.items():
        parts = name.split(".", 3)  # method.request.<where>.<name>
        if is_required and len(parts) == 4 and parts[:2] == ["method", "request"]:
            required.append((parts[2], parts[3]))
    return tuple(required)


def _method(client: Any, api_id: str, resource: dict, verb: str, embedded: dict, validators):
    method = embedded
    if "methodIntegration" not in method:  # not embedded by this emulator: ask for it
        method = client.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=verb)
    integration = method.get("methodIntegration")
    if integration is None:
        try:
            integration = client.get_integration(
                restApiId=api_id, resourceId=resource["id"], httpMethod=verb
            )
        except client.exceptions.NotFoundException:
            integration = None
    validator = validators.get(method.get("requestValidatorId") or "", {})
    return Method(
        http_method=verb.upper(),
        resource_id=resource["id"],
        resource_path=resource["path"],
        api_key_required=bool(method.get("apiKeyRequired")),
        integration=Integration.from_api(integration) if integration else None,
        required_parameters=_required_parameters(method.get("requestParameters") or {}),
        validate_parameters=bool(validator.get("validateRequestParameters")),
        request_models=tuple((method.get("requestModels") or {}).items()),
        validate_body=bool(validator.get("validateRequestBody")),
    )


def discover_api(client: Any, api: dict) -> RestApi:
    api_id = api["id"]
    validators = {v["id"]: v for v in _pages(client, "get_request_validators", restApiId=api_id)}
    resources = []
    for item in _pages(client, "get_resources", restApiId=api_id, embed=["methods"]):
        methods = {
            verb.upper(): _method(client, api_id, item, verb, embedded or {}, validators)
            for verb, embedded in (item.get("resourceMethods") or {}).items()
        }
        resources.append(Resource(id=item["id"], path=item["path"], methods=methods))
    stages = {
        s["stageName"]: Stage(s["stageName"], dict(s.get("variables") or {}))
        for s in client.get_stages(restApiId=api_id).get("item", [])
    }
    models = {
        m["name"]: m.get("schema") or "" for m in _pages(client, "get_models", restApiId=api_id)
    }
    return RestApi(api_id, api.get("name", api_id), tuple(resources), stages, models)


def discover_keys(client: Any) -> tuple[dict[str, ApiKey], tuple[UsagePlan, ...]]:
    """API keys (by value) and usage plans with their keys."""
    keys = {}
    for key in _pages(client, "get_api_keys", includeValues=True):
        if key.get("value"):
            keys[key["value"]] = ApiKey(
                key["id"], key.get("name", ""), key["value"], bool(key.get("enabled"))
            )
    plans = []
    for plan in _pages(client, "get_usage_plans"):
        key_ids = frozenset(
            k["id"] for k in _pages(client, "get_usage_plan_keys", usagePlanId=plan["id"])
        )
        stages = frozenset((s["apiId"], s["stage"]) for s in plan.get("apiStages") or [])
        plans.append(
            UsagePlan(plan["id"], plan.get("name", ""), stages, PlanLimits.from_api(plan), key_ids)
        )
    return keys, tuple(plans)


def discover(client: Any) -> Snapshot:
    """Read everything the front serves from the API Gateway control plane."""
    apis = tuple(discover_api(client, api) for api in _pages(client, "get_rest_apis"))
    keys, plans = discover_keys(client)
    return Snapshot(apis, keys, plans)
