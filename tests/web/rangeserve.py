"""A static file server that answers HTTP range requests (206 Partial Content), as CDNs and object
stores do and `python -m http.server` does not: `python rangeserve.py PORT DIR`. Used by the
browser test of the static copy to check that the page reads its PMTiles archive by ranges."""

from __future__ import annotations

import functools
import os
import re
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class RangeHandler(SimpleHTTPRequestHandler):
    remaining: int | None = None  # bytes of a range still to send

    def send_head(self):
        self.remaining = None
        match = RANGE.match(self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if not match or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        start = int(match.group(1))
        end = min(int(match.group(2) or size - 1), size - 1)
        if start >= size:
            self.send_error(416, "Requested Range Not Satisfiable")
            return None
        handle = open(path, "rb")  # noqa: SIM115 (the base class closes what send_head returns)
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.remaining = end - start + 1
        return handle

    def copyfile(self, source, outputfile):
        remaining = self.remaining
        if remaining is None:
            return super().copyfile(source, outputfile)
        outputfile.write(source.read(remaining))
        return None

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    port, root = int(sys.argv[1]), sys.argv[2]
    handler = functools.partial(RangeHandler, directory=root)
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
