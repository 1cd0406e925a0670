"""Event sources of the local Lambda service: what reads a queue or stream for each mapping.

- ``base``: what a source is (built from a mapping read from the emulator; start, stop, describe).
- ``registry``: the source type for a mapping's ``EventSourceArn``; unsupported ones with a reason.
- ``dynamodb_streams``: DynamoDB streams (per-shard checkpoints, bisect, retries, on-failure).
- ``sqs``: SQS queues (batch size, batching window, partial batch responses, concurrency).
- ``status``: the runner's view of every mapping, published for ``headwater local status``.
"""
