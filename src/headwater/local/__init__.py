"""The embedded local mode: the whole platform on one machine, no AWS account, no Docker.

Organised by AWS behaviour:

- ``emulator``: moto in server mode on 127.0.0.1 (default port 4566, LocalStack's edge port).
- ``moto_patches``: pinned moto compatibility patches, one module per service (``apply()``).
- ``lambda_service``: plays the Lambda service (runner, worker processes, handler context).
- ``event_sources``: serves event source mappings for the runner (SQS today), reports the rest.
- ``apigateway``: serves the emulator's REST APIs on loopback ports (keys, usage plans, proxy).
- ``daemon`` / ``cli``: ``headwater local up|down|status|invoke``, one background process with a
  pid file and a log file in ``$HEADWATER_STATE_DIR`` (default ``./.headwater``); ``state``
  names those files.

Nothing here is imported by Lambda handlers; moto is only imported when an emulator starts.
"""
