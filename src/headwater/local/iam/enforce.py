"""The check inside a worker: every botocore call the handler makes, against the role's policies.

``install(spec_path)`` appends two handlers to botocore's built-in handler list, which every
botocore session registers when it is created, so every client the handler builds (headwater.aws
makes a fresh boto3 Session per client) is covered without touching the handler's code:
- ``before-parameter-build`` sees the call's parameters as the handler passed them, works out the
  (action, resource) pairs and decides;
- ``before-call`` answers a denied call with a 403 in the service's error shape instead of sending
  it, so botocore raises the same modeled exception (``ClientError``, e.g.
  ``client.exceptions.AccessDeniedException`` for DynamoDB) that AWS's answer would produce.
Each denial also logs one line naming the action, the resource and the reason.

Calls the checker makes itself (reading a bucket's default encryption, the key of a secret,
queue or topic) are not checked.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from headwater.local.iam import actions, arns, evaluate

log = logging.getLogger("headwater.local.iam")

_DENIAL = "headwater_iam_denial"
# Protocols whose AccessDenied error code is "AccessDenied"; the JSON protocols use
# "AccessDeniedException" (DynamoDB, KMS, EventBridge, Lambda...). SQS keeps its query-era code.
_ACCESS_DENIED_PLAIN = frozenset({"query", "rest-xml", "ec2"})
_PLAIN_SERVICES = frozenset({"sqs", "sns", "s3", "sts", "iam", "cloudwatch"})


class _Http:
    """The part of a botocore HTTP response that the code after ``before-call`` reads."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None


def error_code(prefix: str, protocol: str) -> str:
    if prefix in _PLAIN_SERVICES or protocol in _ACCESS_DENIED_PLAIN:
        return "AccessDenied"
    return "AccessDeniedException"


def denial_message(principal: str, decision: evaluate.Decision) -> str:
    """AWS's wording for an identity-policy denial."""
    if decision.result == evaluate.EXPLICIT_DENY:
        why = "with an explicit deny in an identity-based policy"
    else:
        why = f"because no identity-based policy allows the {decision.action} action"
    return (
        f"User: {principal} is not authorized to perform: {decision.action} "
        f"on resource: {decision.resource} {why}"
    )


class Checker:
    """Holds the function's policies (re-read when the runner rewrites them) and decides calls."""

    def __init__(self, spec_path: str) -> None:
        self.path = Path(spec_path)
        self._mtime: float | None = None
        self.spec: dict[str, Any] = {}
        self._local = threading.local()
        self._encryption: dict[str, actions.BucketEncryption] = {}
        self._keys: dict[tuple[str, str], str | None] = {}
        self._warned: set[str] = set()
        self._reload()

    def _reload(self) -> None:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return  # keep the last policies: the runner rewrites the file atomically
        if mtime != self._mtime:
            self.spec = json.loads(self.path.read_text())
            self._mtime = mtime
            self._encryption.clear()  # a redeploy may change bucket encryption too
            self._keys.clear()

    # -- reading the emulator for implicit actions -----------------------------------------

    def _bucket_encryption(self, bucket: str) -> actions.BucketEncryption:
        if bucket in self._encryption:
            return self._encryption[bucket]
        import boto3  # the handler imports it anyway; only here do we need a client of our own

        result = actions.BucketEncryption()
        self._local.inside = True
        try:
            s3 = boto3.session.Session().client("s3")
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
            for rule in rules.get("Rules", []):
                default = rule.get("ApplyServerSideEncryptionByDefault") or {}
                key = default.get("KMSMasterKeyID")
                if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and key:
                    result = actions.BucketEncryption(
                        arns.kms_key(key, self.spec.get("region", "us-east-1")),
                        bool(rule.get("BucketKeyEnabled")),
                    )
        except Exception as exc:  # no encryption configured, or no such bucket: S3 will say
            log.debug("no SSE-KMS default for bucket %s: %s", bucket, exc)
        finally:
            self._local.inside = False
        self._encryption[bucket] = result
        return result

    def _resource_key(self, prefix: str, params: dict[str, Any]) -> str | None:
        """The customer managed key of the secret, queue or topic ``params`` names (see
        ``actions.KeyLookup``); None when there is none or it cannot be read (the service
        call itself then says what is wrong)."""
        name = params.get("SecretId") or params.get("QueueUrl") or params.get("TopicArn")
        if not isinstance(name, str):
            return None
        if (prefix, name) in self._keys:
            return self._keys[prefix, name]
        import boto3

        session = boto3.session.Session()
        self._local.inside = True
        try:
            if prefix == "secretsmanager":
                key = session.client(prefix).describe_secret(SecretId=name).get("KmsKeyId")
            elif prefix == "sqs":
                attributes = session.client(prefix).get_queue_attributes(
                    QueueUrl=name, AttributeNames=["KmsMasterKeyId"]
                )
                key = attributes.get("Attributes", {}).get("KmsMasterKeyId")
            else:
                attributes = session.client(prefix).get_topic_attributes(TopicArn=name)
                key = attributes.get("Attributes", {}).get("KmsMasterKeyId")
            key = actions.customer_key_arn(
                key, lambda k: session.client("kms").describe_key(KeyId=k)["KeyMetadata"]["Arn"]
            )
        except Exception as exc:  # no such resource (yet): not remembered, looked up again
            log.debug("no customer managed key found for %s %s: %s", prefix, name, exc)
            return None
        finally:
            self._local.inside = False
        self._keys[prefix, name] = key
        return key

    # -- deciding ----------------------------------------------------------------------------

    def decide(
        self, prefix: str, operation: str, params: dict[str, Any]
    ) -> evaluate.Decision | None:
        """The first denied requirement of the call, or None when everything is allowed."""
        self._reload()
        region = self.spec.get("region", "us-east-1")
        needed = actions.requirements(
            prefix, operation, params, region, self._bucket_encryption, self._resource_key
        )
        index_path = self.spec.get("action_index")
        index = actions.load_index(index_path) if index_path else {}
        for req in needed:
            if index and not actions.known_action(index, req.action):
                self._warn_once(
                    req.action,
                    f"IAM check: {req.action} (from {prefix} {operation}) is not an action in "
                    "the IAM definition; add a rule to headwater.local.iam.actions",
                )
            context = {
                "aws:SecureTransport": "true",  # clients talk TLS to AWS
                "aws:PrincipalArn": self.spec.get("role_arn", ""),
                "aws:PrincipalAccount": self.spec.get("account", arns.ACCOUNT),
                "aws:PrincipalType": "AssumedRole",
                "aws:RequestedRegion": region,
                **req.context,
            }
            decision = evaluate.evaluate(
                self.spec.get("documents", []), req.action, req.resource, context
            )
            for note in decision.notes:
                self._warn_once(note, f"IAM check: {req.action} on {req.resource}: {note}")
            if not decision.allowed:
                return decision
        return None

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)

    # -- botocore hooks ------------------------------------------------------------------------

    def before_parameter_build(self, params: Any, model: Any, context: Any, **_: Any) -> None:
        if getattr(self._local, "inside", False) or context is None:
            return
        service = model.service_model
        prefix = service.signing_name or service.endpoint_prefix
        decision = self.decide(prefix, model.name, dict(params or {}))
        if decision is None:
            return
        principal = self.spec.get("principal_arn", "")
        message = denial_message(principal, decision)
        prefix = actions.SIGNING_NAME_TO_PREFIX.get(prefix, prefix)
        log.error(
            "AccessDenied: %s needs %s on %s (%s, %s %s)",
            self.spec.get("function", ""),
            decision.action,
            decision.resource,
            decision.result.replace("_", " "),
            prefix,
            model.name,
        )
        code = error_code(prefix, service.protocol)
        request_id = str(uuid.uuid4())
        error: dict[str, Any] = {"Code": code, "Message": message}
        if model.http.get("method") == "HEAD":
            # A HEAD answer has no body: botocore reports S3's 403 as code "403", "Forbidden".
            error = {"Code": "403", "Message": "Forbidden"}
        context[_DENIAL] = {
            "Error": error,
            "ResponseMetadata": {
                "RequestId": request_id,
                "HTTPStatusCode": 403,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        }

    def before_call(self, context: Any = None, **_: Any) -> tuple[_Http, dict] | None:
        denial = (context or {}).pop(_DENIAL, None)
        if denial is None:
            return None
        return _Http(403), denial


_installed: Checker | None = None


def install(spec_path: str) -> Checker:
    """Check every botocore call made from now on in this process (once per process)."""
    global _installed
    if _installed is None:
        from botocore import handlers

        _installed = Checker(spec_path)
        handlers.BUILTIN_HANDLERS.append(
            ("before-parameter-build", _installed.before_parameter_build)
        )
        handlers.BUILTIN_HANDLERS.append(("before-call", _installed.before_call))
        log.info(
            "IAM checks on for %s", _installed.spec.get("function", os.path.basename(spec_path))
        )
    return _installed
