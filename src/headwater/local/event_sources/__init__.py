"""Event sources of the local Lambda service: what polls a queue or stream for a mapping."""
