#!/usr/bin/env python3
# moto_rawurl.py: starts moto_server (same arguments, e.g. -H 127.0.0.1 -p PORT)
# with Werkzeug's request.url made of the raw request URI, so that moto's
# SigV4 check sees the path and query exactly as the client signed them
# (plain moto_server decodes %2F in the query, %2B and UTF-8 in the path,
# and then rejects correctly signed requests for such keys).  With
# MOTO_PIDFILE set, the process writes its PID there before serving.
import os
import sys

from werkzeug.sansio.request import Request
from werkzeug.utils import cached_property

_original_url = Request.url


def _raw_url(self):
    environ = getattr(self, "environ", None) or {}
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return self.host_url.rstrip("/") + raw
    return _original_url.__get__(self, type(self))


_raw_url.__name__ = "url"
Request.url = cached_property(_raw_url)
Request.url.__set_name__(Request, "url")

from moto.server import main  # noqa: E402  (after the patch, on purpose)

if __name__ == "__main__":
    if os.environ.get("MOTO_PIDFILE"):
        with open(os.environ["MOTO_PIDFILE"], "w") as f:
            f.write("%d\n" % os.getpid())
    main(sys.argv[1:])
