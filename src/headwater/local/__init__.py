"""The embedded local mode: the whole platform on one machine, no AWS account, no Docker.

- ``emulator``: moto in server mode on 127.0.0.1 (default port 4566, LocalStack's edge port).
- ``moto_patches``: pinned moto compatibility patches, one module per service (``apply()``).
- ``runner``: plays the Lambda service (workers, SQS event source mappings).
- ``daemon`` / ``cli``: ``headwater local up|down|status|invoke``, one background process with a
  pid file and a log file in ``$HEADWATER_STATE_DIR`` (default ``./.headwater``).

Nothing here is imported by Lambda handlers; moto is only imported when an emulator starts.
"""
