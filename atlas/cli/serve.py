"""``atlas serve``: the atlas in a browser and a read-only JSON API (needs the ``[serve]`` extra)."""

from __future__ import annotations

import argparse
from typing import Any

from atlas.cli._common import Formatter, add_db_option, open_atlas
from atlas.errors import AtlasError

EPILOG = """\
examples:
  atlas serve                                                   http://127.0.0.1:8000
  atlas serve --db postgresql+psycopg://alice@host/lab --port 8001    a reader's server
  atlas serve --db postgresql+psycopg://bob@host/lab --port 8002      an annotator's, beside it
  curl 'http://127.0.0.1:8000/api/query?q=show%20models'

Pages: / (query box), /neuron/ID, /concept/NAME, /model/NAME, /run/ID; API: /api/query?q=...,
/api/neuron/ID, /api/notes?target=..., /api/whoami. The server acts as the database role of
--db: a reader's server cannot add notes. Needs: pip install 'neuron-atlas[serve]'.
"""


def register(sub: Any) -> None:
    """Add ``serve`` to the ``atlas`` command line."""
    p = sub.add_parser("serve", help="browse and query the atlas in a web browser; a read-only JSON API",
                       description="Serve the atlas over HTTP: a query box, neuron, concept, model and run pages, "
                       "notes for annotators, and a read-only JSON API.", epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="the port (default: 8000)")
    p.add_argument("--timeout", dest="timeout_s", type=float, default=10.0,
                   help="each query's time limit in seconds, within the role's bound (default: 10)")
    add_db_option(p)
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from atlas.web.app import serve
    except ImportError as exc:
        raise AtlasError("atlas serve needs Starlette and Uvicorn",
                         hint="pip install 'neuron-atlas[serve]'") from exc
    db = open_atlas(args)
    print(f"serving {db.url} at http://{args.host}:{args.port} (Ctrl-C stops)")
    serve(db, host=args.host, port=args.port, timeout_s=args.timeout_s)
    return 0
