#!/usr/bin/env python3
"""Hostile client for the agent tests: connects to a barge peer port and sends
garbage, truncated and oversized frames, with and without TLS. Prints one line
per attempt: what was sent and what came back (an error frame's code, or how
the connection ended). The agent must answer or close, and keep serving others.

usage: hostile_client.py HOST PORT CA CERT KEY SERVER_NAME SEED
"""
import random
import socket
import ssl
import struct
import sys

host, port, ca, cert, key, server_name, seed = sys.argv[1:8]
port, rng = int(port), random.Random(int(seed))


def frame(kind, payload):
    return struct.pack(">IB", len(payload) + 1, kind) + payload


def hello(node):
    name = node.encode()
    return frame(1, struct.pack(">HI", 1, len(name)) + name)


def tls_connection():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(ca)
    context.load_cert_chain(cert, key)
    raw = socket.create_connection((host, port), timeout=3)
    return context.wrap_socket(raw, server_hostname=server_name)


def answer(conn):
    """The first frame the agent sends back, or how the stream ended."""
    data = b""
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            # Skip a hello reply; report the first error frame.
            while len(data) >= 5:
                (length,) = struct.unpack(">I", data[:4])
                if len(data) < 4 + length:
                    break
                kind = data[4]
                body = data[5:4 + length]
                data = data[4 + length:]
                if kind == 2:
                    (code,) = struct.unpack(">H", body[:2])
                    return f"error-frame code={code}"
    except (ssl.SSLError, ConnectionError, socket.timeout) as error:
        return f"closed ({type(error).__name__})"
    return "closed"


attempts = []
# Plain TCP, no TLS: the handshake fails and the agent closes.
attempts.append(("plain-garbage", None, bytes(rng.getrandbits(8) for _ in range(300))))
# TLS with a valid peer certificate, then bad frames.
attempts.append(("random-bytes", b"", bytes(rng.getrandbits(8) for _ in range(5000))))
attempts.append(("huge-length", b"", struct.pack(">I", 0xFFFFFFFF) + b"\x01"))
attempts.append(("zero-length", b"", struct.pack(">I", 0)))
attempts.append(("unknown-type", b"", frame(99, b"abc")))
attempts.append(("truncated-hello", b"", hello("d0")[:-2]))
attempts.append(("hello-then-garbage", hello("d0"), frame(10, bytes(rng.getrandbits(8) for _ in range(64)))))
attempts.append(("hello-then-bad-counts", hello("d0"), frame(12, struct.pack(">H", 5000))))
attempts.append(("hello-then-blob-unasked", hello("d0"), frame(14, b"\x00" * 32 + b"\x01\x00" + struct.pack(">I", 3) + b"\x00" + struct.pack(">I", 3) + b"abc")))
attempts.append(("wrong-hello-name", hello("d7"), b""))
for index in range(20):
    blob = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 400)))
    attempts.append((f"fuzz-{index}", hello("d0") if index % 2 else b"", blob))

for name, prefix, payload in attempts:
    try:
        if prefix is None:
            conn = socket.create_connection((host, port), timeout=3)
        else:
            conn = tls_connection()
        conn.sendall((prefix or b"") + payload)
        try:
            conn.shutdown(socket.SHUT_WR) if prefix is None else None
        except OSError:
            pass
        result = answer(conn)
        conn.close()
    except (ssl.SSLError, ConnectionError, socket.timeout) as error:
        result = f"closed ({type(error).__name__})"
    print(f"{name}: {result}", flush=True)
