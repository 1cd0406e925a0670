"""No global CORS: the emulator does not hand any web page the right to read it.

moto 5.2.5 wraps every service app in ``flask_cors.CORS(app)`` with its defaults, which answer
each request's ``Origin`` by echoing it in ``Access-Control-Allow-Origin``: any site open in the
developer's browser could then read buckets and tables on 127.0.0.1. AWS sends CORS headers only
where a resource asks for them (an S3 bucket's CORS configuration, which moto's S3 backend
still applies itself). The switch is moto's own ``MOTO_DISABLE_GLOBAL_CORS``, read once at import
into ``werkzeug_app``; we set the imported name so the order of imports does not matter.
"""

from __future__ import annotations


def apply() -> None:
    from moto.moto_server import werkzeug_app

    werkzeug_app.DISABLE_GLOBAL_CORS = True
