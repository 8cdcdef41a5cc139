#!/usr/bin/env python3
"""faultproxy.py: a fault-injecting HTTP/1.1 reverse proxy for the tests.

It sits between a client (cairn, curl) and a local server (moto, s3rver,
js-ipfs), forwards requests and, on a fraction RATE of them (decided per
request with a seeded random generator), injects one fault chosen
uniformly from a list:

  500           answer 500 (S3-shaped InternalError) without forwarding
  503           answer 503 SlowDown with "Retry-After: 1" without forwarding
  reset-before  read the request head, then close with a TCP RST
  reset-after   forward, send the response head and part of the body, RST
  truncate      forward, send the head (full Content-Length) and part of
                the body, then close normally (FIN)
                (both: a random cut; chunked bodies are cut inside the
                first data chunk; with an empty body, such as the answer
                to a PUT, the status line itself is cut)
  flip          forward; in a 200 response with a body, flip one random bit
                (chunked bodies: a bit of the first data chunk)
  trickle       forward; send the response at 1 KiB/s (config trickle_bps)
  stall         forward the request, then send nothing and keep the
                connection open until the client gives up (at most
                stall_max seconds, default 600)
  put500        PUT/POST only: forward (the server stores it), drain the
                answer, then answer 500 to the client

Answers made by the proxy carry "X-Fault-Injected: FAULT" (so do forwarded
answers it damages); their body is S3-shaped XML, or Kubo-shaped JSON
({"Message": ..., "Code": 0, "Type": "error"}) for paths under /api/v0/.
A fault that does not apply (flip on a non-200 or empty body, put500 on a
GET) lets the response through unchanged and is counted in "skipped".

The Host header and everything else in the request is forwarded as is
(SigV4 signatures cover Host), except "Expect: 100-continue": the proxy
answers "100 Continue" itself and removes the header upstream.  Client
connections are kept alive even when the server closes each of its own
(moto does): "Connection: close" from upstream is then dropped and the
proxy reconnects upstream for the next request.  It can also be the
client's HTTP proxy (curl -x / CURLOPT_PROXY, plain http only): a request
in absolute form ("GET http://server/path") goes upstream in origin form,
its Host header (the real server's) untouched.

Control plane, on the same port, never forwarded:
  POST /__fault__/config  JSON, all keys optional:
        {"rate": 0.1, "faults": ["500", ...], "seed": 1,
         "limit": N or null      (inject at most N more faults),
         "match": "REGEX" or null (only requests whose "METHOD /path?query"
                                  matches, re.search),
         "trickle_bps": 1024, "stall_max": 600, "reset_stats": true}
        -> 200 and the whole configuration as JSON
  GET  /__fault__/config  -> the configuration
  GET  /__fault__/stats   -> {"requests": n, "forwarded": n,
        "faults": {"500": n, ...}, "skipped": {...}, "control": n,
        "bytes_to_client": n, "bytes_to_upstream": n, "upstream_errors": n}

One line per injected fault goes to stderr: "faultproxy: FAULT METHOD PATH".

Usage: faultproxy.py --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT2
                     [--seed N] [--rate 0.1] [--faults 500,503,...]
                     [--pidfile F] [--verbose]
PORT may be 0: the chosen port is printed on stdout ("listening HOST:PORT").
Python 3 standard library only.
"""

import argparse
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
from xml.sax.saxutils import escape as xml_escape

FAULTS = ("500", "503", "reset-before", "reset-after", "truncate", "flip",
          "trickle", "stall", "put500")
BUFSIZE = 256 * 1024
MAX_HEAD = 256 * 1024
CLIENT_IDLE_TIMEOUT = 300.0
UPSTREAM_TIMEOUT = 300.0
# a kept-alive upstream connection idle for longer is not reused (Node
# servers close idle connections after 5 s, racing with a new request)
UPSTREAM_REUSE_IDLE = 2.0
CONTROL_PREFIX = "/__fault__/"


class ProtocolError(Exception):
    pass


class Closed(Exception):
    """A peer closed the connection (or it broke); side is "client" or
    "upstream"."""

    def __init__(self, side, what):
        super().__init__("%s: %s" % (side, what))
        self.side = side


class Stream:
    """A socket with a read buffer."""

    def __init__(self, sock, side):
        self.sock = sock
        self.side = side
        self.buf = bytearray()
        self.eof = False

    def _fill(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(BUFSIZE)
        except (ConnectionError, socket.timeout, OSError) as e:
            raise Closed(self.side, e) from e
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_head(self):
        """Reads up to and including the blank line; None on clean EOF
        before any byte."""
        start = 0
        while True:
            i = self.buf.find(b"\r\n\r\n", start)
            if i >= 0:
                head = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > MAX_HEAD:
                raise ProtocolError("header block too large")
            start = max(0, len(self.buf) - 3)
            if not self._fill():
                if self.buf:
                    raise Closed(self.side, "EOF inside a header block")
                return None

    def read_line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i + 2])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > MAX_HEAD:
                raise ProtocolError("line too long")
            if not self._fill():
                raise Closed(self.side, "EOF inside a line")

    def read_some(self, limit):
        """Up to limit bytes (at least one); Closed on EOF."""
        if not self.buf:
            if self.eof:
                raise Closed(self.side, "EOF")
            try:
                data = self.sock.recv(min(limit, BUFSIZE))
            except (ConnectionError, socket.timeout, OSError) as e:
                raise Closed(self.side, e) from e
            if not data:
                self.eof = True
                raise Closed(self.side, "EOF")
            return data
        n = min(limit, len(self.buf))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_to_eof(self):
        """Yields pieces until EOF."""
        if self.buf:
            data = bytes(self.buf)
            self.buf.clear()
            yield data
        while not self.eof:
            try:
                data = self.sock.recv(BUFSIZE)
            except (ConnectionError, socket.timeout, OSError) as e:
                raise Closed(self.side, e) from e
            if not data:
                self.eof = True
                return
            yield data


class Head:
    """A parsed request or response head."""

    def __init__(self, raw):
        lines = raw[:-4].split(b"\r\n")
        self.first = lines[0].decode("latin-1")
        self.headers = []
        for line in lines[1:]:
            if not line:
                continue
            if line[:1] in (b" ", b"\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip().decode("latin-1"))
                continue
            name, sep, value = line.partition(b":")
            if not sep:
                raise ProtocolError("bad header line %r" % line[:80])
            self.headers.append((name.decode("latin-1").strip(),
                                 value.decode("latin-1").strip()))

    def get(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def has_token(self, name, token):
        token = token.lower()
        for n, v in self.headers:
            if n.lower() == name.lower():
                if token in (t.strip().lower() for t in v.split(",")):
                    return True
        return False

    def without(self, *names):
        names = {n.lower() for n in names}
        return [(n, v) for n, v in self.headers if n.lower() not in names]

    def encode(self, headers=None, first=None):
        out = [(first or self.first)]
        for n, v in (self.headers if headers is None else headers):
            out.append("%s: %s" % (n, v))
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


def body_kind(head, is_request, request_method=None, status=None):
    """("none"|"length"|"chunked"|"eof", length)."""
    if not is_request:
        if request_method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return "none", 0
    te = head.get("Transfer-Encoding")
    if te is not None and te.lower() != "identity":
        if not head.has_token("Transfer-Encoding", "chunked"):
            raise ProtocolError("unsupported Transfer-Encoding %r" % te)
        return "chunked", None
    cl = head.get("Content-Length")
    if cl is not None:
        try:
            n = int(cl.split(",")[0].strip())
        except ValueError:
            raise ProtocolError("bad Content-Length %r" % cl)
        if n < 0:
            raise ProtocolError("negative Content-Length")
        return ("length", n) if n else ("none", 0)
    if is_request:
        return "none", 0
    return "eof", None


def body_pieces(stream, kind, length):
    """Yields the raw body bytes as they travel (chunk framing included)."""
    if kind == "none":
        return
    if kind == "length":
        left = length
        while left:
            data = stream.read_some(left)
            left -= len(data)
            yield data
        return
    if kind == "eof":
        yield from stream.read_to_eof()
        return
    # chunked: pass the framing through; data is yielded in pieces
    while True:
        line = stream.read_line()
        yield line
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError("bad chunk size %r" % line[:40])
        if size == 0:
            while True:  # trailers, then the blank line
                t = stream.read_line()
                yield t
                if t == b"\r\n":
                    return
        left = size
        while left:
            data = stream.read_some(left)
            left -= len(data)
            yield data
        crlf = stream.read_line()
        if crlf != b"\r\n":
            raise ProtocolError("missing CRLF after a chunk")
        yield crlf


class ChunkTracker:
    """Knows, while raw chunked bytes go by, which of them are chunk data."""

    def __init__(self):
        self.state = "size"  # size, data, crlf, trailer
        self.left = 0

    def data_ranges(self, piece):
        """(start, end) ranges of chunk data within piece.  Relies on
        body_pieces yielding size lines, trailers and CRLFs as whole
        pieces."""
        if self.state == "data":
            n = min(len(piece), self.left)
            self.left -= n
            if self.left == 0:
                self.state = "crlf"
            return [(0, n)]
        if self.state == "size":
            size = int(piece.split(b";", 1)[0].strip(), 16)
            if size == 0:
                self.state = "trailer"
            else:
                self.state, self.left = "data", size
        elif self.state == "crlf":
            self.state = "size"
        return []


def fault_response(code, reason, s3code, message, extra=(), fault=None,
                   close=False, rpc=False):
    """An answer made by the proxy: S3-shaped XML, or for the IPFS RPC
    API (rpc=True) Kubo-shaped JSON."""
    if rpc:
        ctype = "application/json"
        body = (json.dumps({"Message": message, "Code": 0, "Type": "error"})
                + "\n").encode()
    else:
        ctype = "application/xml"
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                "<Message>%s</Message><Resource></Resource><RequestId>faultproxy"
                "</RequestId></Error>\n" % (s3code, xml_escape(message))).encode()
    lines = ["HTTP/1.1 %d %s" % (code, reason),
             "Content-Type: " + ctype,
             "Content-Length: %d" % len(body)]
    lines += ["%s: %s" % kv for kv in extra]
    if fault:
        lines.append("X-Fault-Injected: %s" % fault)
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Plan:
    """The fault plan and the statistics, shared by all connections."""

    def __init__(self, rate, faults, seed):
        self.lock = threading.Lock()
        self.rate = rate
        self.faults = list(faults)
        self.seed = seed
        self.rng = random.Random(seed)
        self.limit = None
        self.match = None
        self.match_re = None
        self.trickle_bps = 1024
        self.stall_max = 600.0
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"requests": 0, "forwarded": 0, "control": 0,
                      "faults": {f: 0 for f in FAULTS},
                      "skipped": {f: 0 for f in FAULTS},
                      "bytes_to_client": 0, "bytes_to_upstream": 0,
                      "upstream_errors": 0}

    def config(self):
        return {"rate": self.rate, "faults": self.faults, "seed": self.seed,
                "limit": self.limit, "match": self.match,
                "trickle_bps": self.trickle_bps, "stall_max": self.stall_max}

    def update(self, cfg):
        if not isinstance(cfg, dict):
            raise ValueError("config must be a JSON object")
        unknown = set(cfg) - {"rate", "faults", "seed", "limit", "match",
                              "trickle_bps", "stall_max", "reset_stats"}
        if unknown:
            raise ValueError("unknown keys: %s" % ", ".join(sorted(unknown)))
        with self.lock:
            if "faults" in cfg:
                faults = cfg["faults"]
                if isinstance(faults, str):
                    faults = [f for f in faults.split(",") if f]
                bad = [f for f in faults if f not in FAULTS]
                if bad or not isinstance(faults, list):
                    raise ValueError("unknown faults: %r" % bad)
                self.faults = [str(f) for f in faults]
            if "rate" in cfg:
                rate = float(cfg["rate"])
                if not 0.0 <= rate <= 1.0:
                    raise ValueError("rate must be within [0, 1]")
                self.rate = rate
            if "seed" in cfg:
                self.seed = cfg["seed"]
                self.rng = random.Random(self.seed)
            if "limit" in cfg:
                self.limit = None if cfg["limit"] is None else int(cfg["limit"])
            if "match" in cfg:
                self.match = cfg["match"]
                self.match_re = re.compile(self.match) if self.match else None
            if "trickle_bps" in cfg:
                self.trickle_bps = max(1, int(cfg["trickle_bps"]))
            if "stall_max" in cfg:
                self.stall_max = float(cfg["stall_max"])
            if cfg.get("reset_stats"):
                self.reset_stats()
            return self.config()

    def decide(self, method, target):
        """(fault or None, a random generator for this request)."""
        with self.lock:
            self.stats["requests"] += 1
            fault = None
            if (self.faults and self.rate > 0 and self.limit != 0
                    and (self.match_re is None
                         or self.match_re.search("%s %s" % (method, target)))
                    and self.rng.random() < self.rate):
                fault = self.rng.choice(self.faults)
                self.stats["faults"][fault] += 1
                if self.limit is not None:
                    self.limit -= 1
            return fault, random.Random(self.rng.getrandbits(64))

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def skipped(self, fault):
        with self.lock:
            self.stats["skipped"][fault] += 1

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.stats))


class Abort(Exception):
    """Ends the client connection; rst=True closes it with a RST."""

    def __init__(self, rst=False):
        super().__init__()
        self.rst = rst


def rst_close(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Connection:
    """One client connection and its upstream connection."""

    def __init__(self, proxy, sock, peer):
        self.proxy = proxy
        self.plan = proxy.plan
        self.csock = sock
        self.client = Stream(sock, "client")
        self.peer = peer
        self.usock = None
        self.upstream = None
        self.reused = False
        self.upstream_idle_since = 0.0
        self.target = ""

    # -- plumbing ----------------------------------------------------------

    def send_client(self, data):
        try:
            self.csock.sendall(data)
        except (OSError, socket.timeout) as e:
            raise Closed("client", e) from e
        self.plan.count("bytes_to_client", len(data))

    def send_upstream(self, data):
        try:
            self.usock.sendall(data)
        except (OSError, socket.timeout) as e:
            raise Closed("upstream", e) from e
        self.plan.count("bytes_to_upstream", len(data))

    def close_upstream(self):
        if self.usock is not None:
            try:
                self.usock.close()
            except OSError:
                pass
        self.usock = self.upstream = None

    def open_upstream(self):
        """Connects, or keeps a kept-alive connection the server has not
        closed in the meantime."""
        if (self.usock is not None
                and time.monotonic() - self.upstream_idle_since > UPSTREAM_REUSE_IDLE):
            self.close_upstream()
        if self.usock is not None:
            try:
                self.usock.setblocking(False)
                try:
                    peek = self.usock.recv(1, socket.MSG_PEEK)
                except BlockingIOError:
                    peek = None
                finally:
                    self.usock.setblocking(True)
                    self.usock.settimeout(UPSTREAM_TIMEOUT)
                if peek is None and not self.upstream.buf:
                    self.reused = True
                    return
            except OSError:
                pass
            self.close_upstream()
        self.usock = socket.create_connection(self.proxy.upstream, timeout=30)
        self.usock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.usock.settimeout(UPSTREAM_TIMEOUT)
        self.upstream = Stream(self.usock, "upstream")
        self.reused = False

    def error(self, *args, **kwargs):
        return fault_response(*args, rpc=self.target.startswith("/api/v0/"), **kwargs)

    def log(self, fault, method, target):
        sys.stderr.write("faultproxy: %s %s %s\n" % (fault, method, target))
        sys.stderr.flush()

    # -- main loop ---------------------------------------------------------

    def run(self):
        rst = False
        try:
            self.csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.csock.settimeout(CLIENT_IDLE_TIMEOUT)
            while self.one_request():
                pass
        except Abort as a:
            rst = a.rst
        except (Closed, ProtocolError, OSError) as e:
            if self.proxy.verbose:
                sys.stderr.write("faultproxy: connection %s: %s\n" % (self.peer, e))
        finally:
            self.close_upstream()
            if rst:
                rst_close(self.csock)
            else:
                try:
                    self.csock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.csock.close()

    def one_request(self):
        """Handles one request; False when the connection must end."""
        self.csock.settimeout(CLIENT_IDLE_TIMEOUT)
        self.target = ""
        raw = self.client.read_head()
        if raw is None:
            return False
        req = Head(raw)
        parts = req.first.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.send_client(self.error(400, "Bad Request", "BadRequest",
                                        "bad request line", close=True))
            return False
        method, target, version = parts
        if target.startswith(("http://", "https://")):
            # absolute form (the client uses this as its HTTP proxy): the
            # server gets the origin form, Host stays the client's
            rest = target.split("://", 1)[1]
            target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
            req.first = "%s %s %s" % (method, target, version)
        self.target = target
        self.csock.settimeout(UPSTREAM_TIMEOUT)
        client_close = (req.has_token("Connection", "close")
                        or (version == "HTTP/1.0"
                            and not req.has_token("Connection", "keep-alive")))
        bkind, blen = body_kind(req, True)
        expect = req.has_token("Expect", "100-continue") and bkind != "none"

        if target.startswith(CONTROL_PREFIX):
            body = b"".join(self.client_body(bkind, blen, expect))
            self.control(method, target, body)
            return not client_close

        fault, rng = self.plan.decide(method, target)
        if fault is not None and fault not in ("put500", "flip"):
            self.log(fault, method, target)
        if self.proxy.verbose and fault is None:
            sys.stderr.write("faultproxy: pass %s %s\n" % (method, target))

        if fault == "reset-before":
            raise Abort(rst=True)
        if fault in ("500", "503"):
            for _ in self.client_body(bkind, blen, expect):
                pass
            if fault == "500":
                resp = self.error(500, "Internal Server Error", "InternalError",
                                  "We encountered an internal error. Please try again.",
                                  fault=fault)
            else:
                resp = self.error(503, "Slow Down", "SlowDown",
                                  "Please reduce your request rate.",
                                  extra=[("Retry-After", "1")], fault=fault)
            self.send_client(resp)
            return not client_close
        if fault == "put500":
            if method in ("PUT", "POST"):
                self.log(fault, method, target)
            else:
                self.log(fault + " (not applicable, passed)", method, target)
                self.plan.skipped(fault)
                fault = None

        # forward the request
        fwd = req.encode(req.without("Expect", "Proxy-Connection"))
        self.plan.count("forwarded")
        body_read = bkind == "none"
        for attempt in (1, 2):
            try:
                try:
                    self.open_upstream()
                except OSError as e:
                    raise Closed("upstream", e) from e
                self.send_upstream(fwd)
                if not body_read:
                    body_read = True
                    for piece in self.client_body(bkind, blen, expect):
                        self.send_upstream(piece)
                if fault == "stall":
                    self.close_upstream()
                    self.stall()
                    raise Abort()
                resp, resp_raw = self.read_response_head()
                break
            except Closed as e:
                if e.side == "client":
                    raise
                if (attempt == 1 and bkind == "none" and self.reused
                        and not self.upstream.buf):
                    # a kept-alive upstream connection died: once more, fresh
                    self.close_upstream()
                    continue
                self.plan.count("upstream_errors")
                if not body_read:
                    for _ in self.client_body(bkind, blen, expect):
                        pass
                self.send_client(self.error(502, "Bad Gateway", "BadGateway",
                                            "upstream: %s" % e, close=True))
                raise Abort()

        status = int(resp.first.split(" ")[1])
        rkind, rlen = body_kind(resp, False, method, status)
        upstream_close = (rkind == "eof" or resp.has_token("Connection", "close")
                          or resp.first.startswith("HTTP/1.0 ")
                          and not resp.has_token("Connection", "keep-alive"))

        if fault == "put500":
            for _ in body_pieces(self.upstream, rkind, rlen):
                pass
            if upstream_close:
                self.close_upstream()
            self.upstream_idle_since = time.monotonic()
            self.send_client(self.error(500, "Internal Server Error", "InternalError",
                                        "We encountered an internal error. Please try again.",
                                        fault=fault))
            return not client_close
        if fault == "flip":
            if status == 200 and rkind != "none":
                self.log(fault, method, target)
            else:
                self.log("flip (not applicable to HTTP %d%s, passed)"
                         % (status, " without a body" if rkind == "none" else ""),
                         method, target)
                self.plan.skipped(fault)
                fault = None

        # The client connection outlives an upstream "Connection: close"
        # when the body has a known end: the proxy then drops the header
        # and reconnects upstream for the next request.
        headers = resp.headers
        if upstream_close and rkind != "eof" and not client_close:
            headers = resp.without("Connection", "Keep-Alive")
        if fault is not None:
            headers = headers + [("X-Fault-Injected", fault)]
        out_head = resp_raw if headers is resp.headers else resp.encode(headers)
        if fault in ("truncate", "reset-after"):
            self.cut_response(fault, out_head, rkind, rlen, rng)
        elif fault == "trickle":
            self.trickle(out_head, rkind, rlen)
        elif fault == "flip":
            self.flip_response(out_head, rkind, rlen, rng)
        else:
            self.send_client(out_head)
            for piece in body_pieces(self.upstream, rkind, rlen):
                self.send_client(piece)
        if upstream_close:
            self.close_upstream()
        else:
            self.upstream_idle_since = time.monotonic()
        return rkind != "eof" and not client_close

    def client_body(self, kind, length, expect):
        """The request body, after a "100 Continue" when the client asked."""
        if expect:
            self.send_client(b"HTTP/1.1 100 Continue\r\n\r\n")
        return body_pieces(self.client, kind, length)

    def read_response_head(self):
        """The final response head (1xx answers are dropped: the proxy
        already said 100 Continue itself)."""
        while True:
            raw = self.upstream.read_head()
            if raw is None:
                raise Closed("upstream", "closed before answering")
            head = Head(raw)
            parts = head.first.split(" ", 2)
            if len(parts) < 2 or not parts[1].isdigit():
                raise ProtocolError("bad status line %r" % head.first)
            if not 100 <= int(parts[1]) < 200:
                return head, raw

    # -- faults that change the response -------------------------------------

    def cut_response(self, fault, head, rkind, rlen, rng):
        if rkind == "length":
            cut = rng.randrange(rlen)
        elif rkind == "none":
            cut = None  # no body: cut the head itself
        else:
            cut = -1    # chunked / until EOF: inside the first data piece
        if cut is None:
            # inside the status line: curl (7.88) takes a head cut after
            # the status line as complete
            self.send_client(head[:rng.randrange(1, head.index(b"\r\n") + 1)])
        else:
            self.send_client(head)
            sent = 0
            tracker = ChunkTracker() if rkind == "chunked" else None
            for piece in body_pieces(self.upstream, rkind, rlen):
                if cut < 0:
                    ranges = tracker.data_ranges(piece) if tracker else [(0, len(piece))]
                    if ranges and ranges[0][1] > ranges[0][0]:
                        a, b = ranges[0]
                        self.send_client(piece[:rng.randrange(a, b)])
                        break
                    self.send_client(piece)
                    continue
                if sent + len(piece) >= cut:
                    self.send_client(piece[:cut - sent])
                    break
                self.send_client(piece)
                sent += len(piece)
        raise Abort(rst=(fault == "reset-after"))

    def flip_response(self, head, rkind, rlen, rng):
        self.send_client(head)
        if rkind == "length":
            bit = rng.randrange(rlen * 8)
        else:
            bit = -1
        tracker = ChunkTracker() if rkind == "chunked" else None
        pos = 0
        done = False
        for piece in body_pieces(self.upstream, rkind, rlen):
            if not done:
                if bit >= 0:
                    if pos <= bit // 8 < pos + len(piece):
                        piece = bytearray(piece)
                        piece[bit // 8 - pos] ^= 1 << (bit % 8)
                        done = True
                    pos += len(piece)
                else:
                    ranges = tracker.data_ranges(piece) if tracker else [(0, len(piece))]
                    if ranges and ranges[0][1] > ranges[0][0]:
                        a, b = ranges[0]
                        i = rng.randrange(a, b)
                        piece = bytearray(piece)
                        piece[i] ^= 1 << rng.randrange(8)
                        done = True
            self.send_client(piece)

    def trickle(self, head, rkind, rlen):
        bps = self.plan.trickle_bps
        step = max(1, bps // 8)
        delay = step / bps

        def slow(data):
            for i in range(0, len(data), step):
                self.send_client(data[i:i + step])
                time.sleep(delay)

        slow(head)
        for piece in body_pieces(self.upstream, rkind, rlen):
            slow(piece)

    def stall(self):
        """Sends nothing; returns when the client closes or after stall_max."""
        deadline = time.monotonic() + self.plan.stall_max
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.csock.settimeout(min(left, 1.0))
            try:
                data = self.csock.recv(BUFSIZE)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return

    # -- control plane -------------------------------------------------------

    def control(self, method, target, body):
        path = target.split("?", 1)[0]
        code, obj = 200, None
        if path == CONTROL_PREFIX + "config" and method == "POST":
            try:
                obj = self.plan.update(json.loads(body.decode() or "{}"))
                sys.stderr.write("faultproxy: config %s\n" % json.dumps(obj))
            except (ValueError, TypeError, re.error) as e:
                code, obj = 400, {"error": str(e)}
        elif path == CONTROL_PREFIX + "config" and method == "GET":
            with self.plan.lock:
                obj = self.plan.config()
        elif path == CONTROL_PREFIX + "stats" and method == "GET":
            obj = self.plan.snapshot()
        else:
            code, obj = 404, {"error": "unknown control request %s %s" % (method, path)}
        self.plan.count("control")
        data = (json.dumps(obj, sort_keys=True) + "\n").encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[code]
        self.send_client(("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\n\r\n" % (code, reason, len(data))).encode()
                         + data)


class Proxy:
    def __init__(self, listen, upstream, plan, verbose):
        self.listen = listen
        self.upstream = upstream
        self.plan = plan
        self.verbose = verbose
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(listen)
        self.sock.listen(128)
        self.address = self.sock.getsockname()

    def serve(self):
        while True:
            try:
                sock, peer = self.sock.accept()
            except InterruptedError:
                continue
            t = threading.Thread(target=Connection(self, sock, peer).run, daemon=True)
            t.start()


def hostport(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return (host or "127.0.0.1", int(port))


def main():
    ap = argparse.ArgumentParser(description="fault-injecting HTTP/1.1 reverse proxy")
    ap.add_argument("--listen", type=hostport, required=True, help="HOST:PORT (PORT 0: any)")
    ap.add_argument("--upstream", type=hostport, required=True, help="HOST:PORT")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--faults", default=",".join(FAULTS),
                    help="comma-separated subset of: " + ",".join(FAULTS))
    ap.add_argument("--pidfile")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    args = ap.parse_args()

    plan = Plan(0.0, [], args.seed)
    try:
        plan.update({"rate": args.rate, "faults": args.faults})
    except ValueError as e:
        ap.error(str(e))
    proxy = Proxy(args.listen, args.upstream, plan, args.verbose)
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(tmp, args.pidfile)
    print("listening %s:%d" % proxy.address, flush=True)
    sys.stderr.write("faultproxy: %s:%d -> %s:%d rate=%g faults=%s seed=%d\n"
                     % (proxy.address + args.upstream
                        + (plan.rate, ",".join(plan.faults), args.seed)))
    sys.stderr.flush()
    try:
        proxy.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
