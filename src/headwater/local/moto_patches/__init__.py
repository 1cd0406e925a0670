"""Pinned compatibility patches that make moto behave like AWS for the embedded local mode.

Every patch here was written against moto ``PINNED_MOTO_VERSION`` after reading that version's
source; each one is covered by a contract test in ``tests/integration/test_moto_patches_*.py``
that drives a real moto server through boto3, so a moto upgrade that changes a seam fails loudly
instead of silently changing what the local platform does.

One module per AWS service; each module's docstring says what moto does wrong there and why it
matters. :func:`apply` installs them all, once.

- ``events``: EventBridge rule targets (SNS, Lambda, SQS, logs) delivered as AWS delivers them.
- ``s3``: S3 -> EventBridge events in AWS's shape, notification configuration, TLS-only policies.
- ``sns``: ``lambda`` subscriptions receive AWS's SNS event.
- ``sqs``: queue attributes read back as AWS returns them (Terraform's waiters settle).
- ``event_source_mappings``: moto never runs mappings itself; the runner's event sources do.
- ``cors``: no ``Access-Control-Allow-Origin`` echoing any ``Origin`` (moto's global CORS).
- ``dynamodb``: item attributes serialised directly (moto's generic walk cost ~20 ms per item).
- ``server``: moto's module listing read once, not with ~100 system calls per request.
- ``apigateway``: UpdateModel, UpdateMethod, UpdateIntegration (moto lacks them: Terraform hangs).
- ``lambda_invoke``: ``Invoke`` with InvocationType Event goes to the runner (moto uses Docker).
- ``lambda_invoker``: where the patches hand Lambda invocations (the runner, once registered).
"""

from __future__ import annotations

import logging
import threading

from headwater.local.moto_patches import (
    apigateway,
    cors,
    dynamodb,
    event_source_mappings,
    events,
    lambda_invoke,
    s3,
    server,
    sns,
    sqs,
)

log = logging.getLogger(__name__)

PINNED_MOTO_VERSION = "5.2.5"

_apply_lock = threading.Lock()
_applied = False


def apply() -> None:
    """Install every patch once; later calls do nothing."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        import moto

        if moto.__version__ != PINNED_MOTO_VERSION:
            # Not fatal: the contract tests decide whether the seams still hold.
            log.warning(
                "moto %s is installed but headwater's patches were written for %s; "
                "run tests/integration/test_moto_patches_*.py",
                moto.__version__,
                PINNED_MOTO_VERSION,
            )
        cors.apply()
        dynamodb.apply()
        server.apply()
        events.apply()
        s3.apply()
        event_source_mappings.apply()
        sns.apply()
        sqs.apply()
        apigateway.apply()
        lambda_invoke.apply()
        _applied = True
