#!/usr/bin/env python3
"""Independent reference of barge's peer frames (protocol version 1).

Regenerates the vectors beside it: `python3 make_frames.py` writes frames.json
and invalid.json. The bytes are built here from the layout, never from the
Swift encoder, so the Swift tests check one implementation against another.

Layout: u32 big-endian length of (type byte + payload), type u8, payload.
Integers are big-endian; an id is 32 bytes; a string or byte field is a u32
length then the bytes; a basis is a u8 count then that many ids.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

TYPES = {"hello": 1, "error": 2, "keepalive": 3, "offer": 10, "offerReply": 11, "wantTrees": 12,
         "wantChunks": 13, "blob": 14, "needSignature": 15, "signature": 16, "ack": 17,
         "queryOwnership": 20, "ownership": 21, "handover": 22, "handoverDone": 23,
         "listSnapshots": 30, "snapshotList": 31, "fetch": 32}
CODES = ["malformed", "unsupportedVersion", "unauthorized", "unknownVolume", "notOwner",
         "staleEpoch", "corruptData", "storage", "limitExceeded", "shuttingDown",
         "internalError", "unexpectedMessage", "hookFailed", "notReady"]  # numbered from 1
ENCODINGS = {"raw": 0, "zstd": 1, "delta": 2, "zstdDelta": 3, "lz4": 4}
BLOB_KINDS = {"chunk": 1, "tree": 2}
DECISIONS = {"send": 0, "alreadyHave": 1}
PHASES = {"prepare": 1, "commit": 2, "abort": 3}

MAX_FRAME = 32 << 20
MAX_NODE, MAX_VOLUME, MAX_ERROR = 63, 255, 4096
MAX_RECORD = 512 << 10
MAX_BLOB_PAYLOAD = MAX_FRAME - 1024
MAX_CHUNK, MAX_TREE, MAX_SIGNATURE = 4 << 20, 64 << 20, 4 << 20
MAX_TREES, MAX_CHUNKS, MAX_BASIS = 1024, 256, 4
MAX_SNAPSHOTS_PER_PAGE = 4096
U64_MAX = (1 << 64) - 1


def u8(v): return v.to_bytes(1, "big")
def u16(v): return v.to_bytes(2, "big")
def u32(v): return v.to_bytes(4, "big")
def u64(v): return v.to_bytes(8, "big")
def data(b): return u32(len(b)) + b
def string(s): return data(s.encode("utf-8"))
def ident(h): return bytes.fromhex(h)
def basis(ids): return u8(len(ids)) + b"".join(ident(i) for i in ids)


def frame(type_byte, payload):
    return u32(1 + len(payload)) + u8(type_byte) + payload


def fill(byte):
    """An id of one repeated byte, easy to spot in a dump."""
    return bytes([byte]) * 32


def generated(k):
    """Id number k of a generated list: u16 big-endian k, then 30 bytes 0xa5."""
    return (u16(k) + b"\xa5" * 30).hex()


SNAP = bytes(range(32)).hex()
A, B, C, D, E = (fill(x).hex() for x in (0xaa, 0xbb, 0xcc, 0xdd, 0xee))


def ids_of(spec, key):
    """The ids a spec names: a list, or {"generate": n} for generated(0..n-1)."""
    value = spec[key]
    if isinstance(value, dict):
        return [generated(k) for k in range(value["generate"])]
    return value


def payload_of(m):
    k = m["kind"]
    if k == "hello":
        return u16(m["version"]) + string(m["node"])
    if k == "error":
        return u16(m.get("wireCode", CODES.index(m["code"]) + 1)) + string(m["text"])
    if k == "offer":
        return (string(m["volume"]) + ident(m["snapshot"]) + u64(m["epoch"]) + string(m["owner"])
                + data(bytes.fromhex(m["record"])))
    if k == "offerReply":
        return ident(m["snapshot"]) + u8(DECISIONS[m["decision"]]) + u64(m["knownEpoch"])
    if k == "wantTrees":
        ids = ids_of(m, "ids")
        bases = m.get("treeBasis", [[] for _ in ids])
        return u16(len(ids)) + b"".join(ident(i) + basis(b) for i, b in zip(ids, bases))
    if k == "wantChunks":
        requests = m["requests"]
        if isinstance(requests, dict):  # {"generate": n, "length": l}: generated ids, no basis
            requests = [{"id": generated(i), "length": requests["length"], "basis": []}
                        for i in range(requests["generate"])]
        out = u16(len(requests))
        for r in requests:
            out += ident(r["id"]) + u32(r["length"]) + basis(r["basis"])
        return out
    if k == "blob":
        return (ident(m["id"]) + u8(BLOB_KINDS[m["blobKind"]]) + u8(ENCODINGS[m["encoding"]])
                + u32(m["rawLength"]) + basis(m["basis"]) + data(bytes.fromhex(m["payload"])))
    if k == "needSignature":
        return ident(m["chunk"])
    if k == "signature":
        return ident(m["chunk"]) + basis(m["basis"]) + data(bytes.fromhex(m["signature"]))
    if k == "ack":
        return ident(m["snapshot"])
    if k == "queryOwnership":
        return string(m["volume"])
    if k == "ownership":
        standby = u8(0) if m["standby"] is None else u8(1) + ident(m["standby"])
        return string(m["volume"]) + string(m["owner"]) + u64(m["epoch"]) + standby
    if k == "handover":
        return string(m["volume"]) + ident(m["snapshot"]) + u64(m["epoch"]) + u8(PHASES[m["phase"]])
    if k == "handoverDone":
        return string(m["volume"]) + u64(m["epoch"]) + u8(PHASES[m["phase"]])
    if k == "listSnapshots":
        return string(m["volume"])
    if k == "snapshotList":
        records = [bytes.fromhex(r) for r in m["records"]]
        return string(m["volume"]) + u16(len(records)) + b"".join(data(r) for r in records) + u8(1 if m["more"] else 0)
    if k == "keepalive":
        return b""
    if k == "fetch":
        return string(m["volume"]) + (u8(0) if m["snapshot"] is None else u8(1) + ident(m["snapshot"]))
    raise ValueError(k)


def valid():
    """(name, description, message spec[, decode only]) for every kind and edge."""
    out = []

    def add(name, about, message, encodes=True):
        out.append((name, about, message, encodes))

    add("hello", "version 1 from node alpha", {"kind": "hello", "version": 1, "node": "alpha"})
    add("hello version 0", "lowest u16 version", {"kind": "hello", "version": 0, "node": "n"})
    add("hello version max", "highest u16 version: decoding does not judge versions",
        {"kind": "hello", "version": 0xFFFF, "node": "node-2.example"})
    add("hello longest node", f"node name of exactly {MAX_NODE} bytes",
        {"kind": "hello", "version": 1, "node": "n" * MAX_NODE})
    add("hello UTF-8 node", "multi-byte UTF-8 node name (é, 𝄞)",
        {"kind": "hello", "version": 1, "node": "nœud-é-𝄞"})
    for number, code in enumerate(CODES, start=1):
        add(f"error {code}", f"error code {number} ({code})",
            {"kind": "error", "code": code, "text": f"{code} happened"})
    add("error empty text", "an error message may be empty", {"kind": "error", "code": "shuttingDown", "text": ""})
    add("error longest text", f"error message of exactly {MAX_ERROR} bytes",
        {"kind": "error", "code": "internalError", "text": "e" * MAX_ERROR})
    add("error longest text multi-byte", f"{MAX_ERROR} bytes of 4-byte scalars",
        {"kind": "error", "code": "storage", "text": "𝄞" * (MAX_ERROR // 4)})
    add("error unknown code", "code 999 from a newer peer decodes as internalError (decode only)",
        {"kind": "error", "code": "internalError", "wireCode": 999, "text": "new"}, encodes=False)
    add("error code 0", "code 0 is not in the table: decodes as internalError (decode only)",
        {"kind": "error", "code": "internalError", "wireCode": 0, "text": "zero"}, encodes=False)
    add("offer", "an offer with a small record",
        {"kind": "offer", "volume": "home", "snapshot": SNAP, "epoch": 7, "owner": "alpha",
         "record": "0102030405"})
    add("offer empty record", "an empty record, epoch 0",
        {"kind": "offer", "volume": "v", "snapshot": A, "epoch": 0, "owner": "b", "record": ""})
    add("offer edges", f"{MAX_VOLUME}-byte volume, {MAX_NODE}-byte owner, epoch u64 max",
        {"kind": "offer", "volume": "v" * MAX_VOLUME, "snapshot": B, "epoch": U64_MAX,
         "owner": "o" * MAX_NODE, "record": "ff" * 16})
    add("offerReply send", "decision send", {"kind": "offerReply", "snapshot": SNAP, "decision": "send", "knownEpoch": 3})
    add("offerReply alreadyHave", "decision alreadyHave, epoch u64 max",
        {"kind": "offerReply", "snapshot": A, "decision": "alreadyHave", "knownEpoch": U64_MAX})
    add("wantTrees one", "a single tree", {"kind": "wantTrees", "ids": [A]})
    add("wantTrees three", "three trees in order", {"kind": "wantTrees", "ids": [A, B, C]})
    add("wantTrees with basis", "the second names the tree at the same path in the replica's newest snapshot",
        {"kind": "wantTrees", "ids": [A, B], "treeBasis": [[], [C]]})
    add("wantTrees max", f"{MAX_TREES} generated ids, the most a request holds",
        {"kind": "wantTrees", "ids": {"generate": MAX_TREES}})
    add("wantChunks empty basis", "one chunk, no basis",
        {"kind": "wantChunks", "requests": [{"id": A, "length": 4096, "basis": []}]})
    add("wantChunks with bases", "two chunks: one basis, then the most (4); lengths 1 and 4 MiB",
        {"kind": "wantChunks", "requests": [{"id": A, "length": 1, "basis": [B]},
                                            {"id": C, "length": MAX_CHUNK, "basis": [A, B, D, E]}]})
    add("wantChunks max", f"{MAX_CHUNKS} generated requests of 65536 bytes, no basis",
        {"kind": "wantChunks", "requests": {"generate": MAX_CHUNKS, "length": 65536}})
    add("blob raw chunk", "raw chunk, payload of rawLength bytes",
        {"kind": "blob", "id": A, "blobKind": "chunk", "encoding": "raw", "rawLength": 5, "basis": [],
         "payload": "68656c6c6f"})
    add("blob raw empty", "raw chunk of zero bytes",
        {"kind": "blob", "id": B, "blobKind": "chunk", "encoding": "raw", "rawLength": 0, "basis": [], "payload": ""})
    add("blob raw tree", "raw tree",
        {"kind": "blob", "id": C, "blobKind": "tree", "encoding": "raw", "rawLength": 3, "basis": [], "payload": "7b7d0a"})
    add("blob zstd chunk", "zstd chunk at the raw chunk limit (payload is opaque to the decoder)",
        {"kind": "blob", "id": D, "blobKind": "chunk", "encoding": "zstd", "rawLength": MAX_CHUNK, "basis": [],
         "payload": "28b52ffd0000"})
    add("blob zstd tree", "zstd tree at the raw tree limit",
        {"kind": "blob", "id": E, "blobKind": "tree", "encoding": "zstd", "rawLength": MAX_TREE, "basis": [],
         "payload": "28b52ffd"})
    add("blob lz4 chunk", "lz4 block of 16 bytes \"a\" (payload is opaque to the decoder)",
        {"kind": "blob", "id": D, "blobKind": "chunk", "encoding": "lz4", "rawLength": 16, "basis": [],
         "payload": "16610100506161616161"})
    add("blob delta", "delta against one basis chunk",
        {"kind": "blob", "id": A, "blobKind": "chunk", "encoding": "delta", "rawLength": 100, "basis": [B],
         "payload": "7273023600"})
    add("blob zstdDelta", "zstd delta against the most basis chunks (4)",
        {"kind": "blob", "id": A, "blobKind": "chunk", "encoding": "zstdDelta", "rawLength": 8192,
         "basis": [B, C, D, E], "payload": "0000000528b52ffd00"})
    add("blob tree zstdDelta", "a tree as a delta against the tree at the same path in the replica's newest snapshot",
        {"kind": "blob", "id": A, "blobKind": "tree", "encoding": "zstdDelta", "rawLength": 70000,
         "basis": [B], "payload": "0000000528b52ffd00"})
    add("needSignature", "the sender lacks the basis of chunk A", {"kind": "needSignature", "chunk": A})
    add("signature", "a signature over one basis chunk",
        {"kind": "signature", "chunk": A, "basis": [B], "signature": "7273014700000800"})
    add("signature max basis empty bytes", "four basis chunks, empty signature bytes",
        {"kind": "signature", "chunk": C, "basis": [A, B, D, E], "signature": ""})
    add("ack", "acknowledge a snapshot", {"kind": "ack", "snapshot": SNAP})
    add("queryOwnership", "who owns volume home", {"kind": "queryOwnership", "volume": "home"})
    add("queryOwnership longest volume", f"{MAX_VOLUME}-byte volume", {"kind": "queryOwnership", "volume": "q" * MAX_VOLUME})
    add("ownership with standby", "owner, epoch and the standby's snapshot (flag 1, then the id)",
        {"kind": "ownership", "volume": "home", "owner": "alpha", "epoch": 4, "standby": SNAP})
    add("ownership without standby", f"flag 0, no id; {MAX_NODE}-byte owner, epoch u64 max",
        {"kind": "ownership", "volume": "v", "owner": "o" * MAX_NODE, "epoch": U64_MAX, "standby": None})
    for phase in PHASES:
        add(f"handover {phase}", f"phase {phase}",
            {"kind": "handover", "volume": "home", "snapshot": SNAP, "epoch": 9, "phase": phase})
        add(f"handoverDone {phase}", f"phase {phase}",
            {"kind": "handoverDone", "volume": "home", "epoch": 9, "phase": phase})
    add("keepalive", "no payload", {"kind": "keepalive"})
    add("listSnapshots", "the peer's history of volume home", {"kind": "listSnapshots", "volume": "home"})
    add("snapshotList two records, more", "two opaque records (u32 length each), more pages follow",
        {"kind": "snapshotList", "volume": "home", "records": ["0102", "ff" * 40], "more": True})
    add("snapshotList empty, last", "no snapshot: count 0, flag 0",
        {"kind": "snapshotList", "volume": "v", "records": [], "more": False})
    add("fetch one snapshot", "flag 1, then the id", {"kind": "fetch", "volume": "home", "snapshot": SNAP})
    add("fetch newest", "flag 0: the newest complete snapshot", {"kind": "fetch", "volume": "home", "snapshot": None})
    return out


def invalid():
    """(name, description, frame bytes, expected WireError.Code)."""
    M, L = "malformed", "limitExceeded"
    hello_head = u16(1)
    blob_head = fill(0xaa) + u8(1)  # id, kind chunk
    out = [
        ("length 0", "a frame must hold at least its type byte", u32(0), L),
        ("length over limit", "32 MiB + 1", u32(MAX_FRAME + 1), L),
        ("length 0xFFFFFFFF", "hostile length, refused from the prefix alone", u32(0xFFFFFFFF), L),
        ("length 0x80000000", "high bit set", u32(0x80000000) + b"\x01", L),
        ("type 0", "unknown type", frame(0, b""), M),
        ("type 3", "gap between error and offer", frame(3, b"\x00\x01"), M),
        ("type 18", "one past ack", frame(18, fill(0xaa)), M),
        ("type 255", "unknown type", frame(255, b""), M),
        ("hello empty", "no version", frame(1, b""), M),
        ("hello half version", "one byte of the u16", frame(1, b"\x00"), M),
        ("hello no node", "version, then nothing", frame(1, hello_head), M),
        ("hello truncated node length", "two of four length bytes", frame(1, hello_head + b"\x00\x00"), M),
        ("hello empty node", "node names are not empty", frame(1, hello_head + string("")), M),
        ("hello node too long", f"{MAX_NODE + 1}-byte node", frame(1, hello_head + string("n" * (MAX_NODE + 1))), L),
        ("hello node length huge", "u32 max node length, checked before the bytes",
         frame(1, hello_head + u32(0xFFFFFFFF)), L),
        ("hello node truncated", "length 5, 3 bytes", frame(1, hello_head + u32(5) + b"abc"), M),
        ("hello node 0xff", "not UTF-8", frame(1, hello_head + data(b"a\xffb")), M),
        ("hello node overlong", "overlong encoding of NUL", frame(1, hello_head + data(b"\xc0\x80")), M),
        ("hello node surrogate", "UTF-8 of a surrogate", frame(1, hello_head + data(b"\xed\xa0\x80")), M),
        ("hello node cut scalar", "a 4-byte scalar cut after 2", frame(1, hello_head + data(b"x\xf0\x9d")), M),
        ("hello trailing", "a byte after the node", frame(1, hello_head + string("a") + b"\x00"), M),
        ("error half code", "one byte of the code", frame(2, b"\x00"), M),
        ("error no text", "code, then nothing", frame(2, u16(1)), M),
        ("error text too long", f"{MAX_ERROR + 1}-byte message", frame(2, u16(1) + string("e" * (MAX_ERROR + 1))), L),
        ("error text not UTF-8", "lone continuation byte", frame(2, u16(1) + data(b"\x80")), M),
        ("error trailing", "a byte after the text", frame(2, u16(1) + string("x") + b"\x01"), M),
    ]
    snap, owner = fill(0x11), string("alpha")
    offer_tail = snap + u64(1) + owner + data(b"")
    out += [
        ("offer empty volume", "volume names are not empty", frame(10, string("") + offer_tail), M),
        ("offer volume too long", f"{MAX_VOLUME + 1}-byte volume", frame(10, string("v" * (MAX_VOLUME + 1)) + offer_tail), L),
        ("offer volume not UTF-8", "0xfe", frame(10, data(b"\xfe") + offer_tail), M),
        ("offer truncated snapshot", "20 of 32 id bytes", frame(10, string("v") + snap[:20]), M),
        ("offer truncated epoch", "3 of 8 epoch bytes", frame(10, string("v") + snap + b"\x00\x00\x00"), M),
        ("offer empty owner", "owner names are not empty", frame(10, string("v") + snap + u64(1) + string("") + data(b"")), M),
        ("offer owner too long", f"{MAX_NODE + 1}-byte owner",
         frame(10, string("v") + snap + u64(1) + string("o" * (MAX_NODE + 1)) + data(b"")), L),
        ("offer record too long", f"record length {MAX_RECORD + 1}, no bytes follow",
         frame(10, string("v") + snap + u64(1) + owner + u32(MAX_RECORD + 1)), L),
        ("offer record truncated", "record length 10, 4 bytes", frame(10, string("v") + snap + u64(1) + owner + u32(10) + b"abcd"), M),
        ("offer no record", "the record field is missing", frame(10, string("v") + snap + u64(1) + owner), M),
        ("offer trailing", "a byte after the record", frame(10, string("v") + offer_tail + b"\x00"), M),
        ("offerReply decision 2", "unknown decision", frame(11, snap + u8(2) + u64(0)), M),
        ("offerReply decision 255", "unknown decision", frame(11, snap + u8(255) + u64(0)), M),
        ("offerReply truncated epoch", "7 of 8 epoch bytes", frame(11, snap + u8(0) + b"\x00" * 7), M),
        ("offerReply trailing", "a byte after the epoch", frame(11, snap + u8(0) + u64(0) + b"\x00"), M),
        ("wantTrees count 0", "a request names at least one tree", frame(12, u16(0)), L),
        ("wantTrees count over limit", f"count {MAX_TREES + 1}", frame(12, u16(MAX_TREES + 1)), L),
        ("wantTrees count 0xFFFF", "u16 max count", frame(12, u16(0xFFFF) + fill(1)), L),
        ("wantTrees count does not fit", "count 2, one request", frame(12, u16(2) + fill(1) + u8(0)), M),
        ("wantTrees short id", "count 1, 31 bytes", frame(12, u16(1) + fill(1)[:31]), M),
        ("wantTrees basis over limit", "5 basis ids", frame(12, u16(1) + fill(1) + u8(5) + fill(5)), L),
        ("wantTrees basis missing", "an id without its basis count", frame(12, u16(1) + fill(1)), M),
        ("wantTrees half count", "one byte of the count", frame(12, b"\x00"), M),
        ("wantTrees trailing", "a byte after the requests", frame(12, u16(1) + fill(1) + u8(0) + b"\x00"), M),
    ]
    request = fill(0x22) + u32(100)
    out += [
        ("wantChunks count 0", "a request names at least one chunk", frame(13, u16(0)), L),
        ("wantChunks count over limit", f"count {MAX_CHUNKS + 1}", frame(13, u16(MAX_CHUNKS + 1)), L),
        ("wantChunks count does not fit", "count 3, one request", frame(13, u16(3) + request + u8(0)), M),
        ("wantChunks length 0", "a chunk has at least one byte", frame(13, u16(1) + fill(0x22) + u32(0) + u8(0)), L),
        ("wantChunks length over limit", f"length {MAX_CHUNK + 1}", frame(13, u16(1) + fill(0x22) + u32(MAX_CHUNK + 1) + u8(0)), L),
        ("wantChunks basis over limit", "5 basis chunks", frame(13, u16(1) + request + u8(5) + fill(1) * 5), L),
        ("wantChunks basis 255", "u8 max basis count", frame(13, u16(1) + request + u8(255)), L),
        ("wantChunks basis truncated", "basis count 2, one id", frame(13, u16(1) + request + u8(2) + fill(1)), M),
        ("wantChunks no basis count", "the request stops after its length", frame(13, u16(1) + request), M),
        ("wantChunks trailing", "a byte after the last request", frame(13, u16(1) + request + u8(0) + b"\x00"), M),
    ]

    def blob(kind, encoding, raw_length, ids, payload):
        return frame(14, fill(0xaa) + u8(kind) + u8(encoding) + u32(raw_length) + u8(len(ids)) + b"".join(ids) + data(payload))

    one = [fill(0xbb)]
    out += [
        ("blob kind 0", "unknown blob kind", blob(0, 0, 1, [], b"x"), M),
        ("blob kind 3", "unknown blob kind", blob(3, 0, 1, [], b"x"), M),
        ("blob encoding 5", "unknown encoding", blob(1, 5, 1, [], b"x"), M),
        ("blob lz4 with basis", "basis on a non-delta", blob(1, 4, 10, one, b"z"), M),
        ("blob delta without basis", "a delta names its basis", blob(1, 2, 10, [], b"d"), M),
        ("blob zstdDelta without basis", "a delta names its basis", blob(1, 3, 10, [], b"d"), M),
        ("blob raw with basis", "basis on a non-delta", blob(1, 0, 1, one, b"x"), M),
        ("blob zstd with basis", "basis on a non-delta", blob(1, 1, 10, one, b"z"), M),
        ("blob raw length mismatch", "rawLength 5, 4 payload bytes", blob(1, 0, 5, [], b"abcd"), M),
        ("blob raw length mismatch over", "rawLength 0, 1 payload byte", blob(1, 0, 0, [], b"a"), M),
        ("blob chunk rawLength over limit", f"chunk rawLength {MAX_CHUNK + 1}", blob(1, 1, MAX_CHUNK + 1, [], b"z"), L),
        ("blob tree rawLength over limit", f"tree rawLength {MAX_TREE + 1}", blob(2, 1, MAX_TREE + 1, [], b"z"), L),
        ("blob rawLength u32 max", "rawLength 0xFFFFFFFF", blob(1, 0, 0xFFFFFFFF, [], b""), L),
        ("blob basis over limit", "5 basis chunks", blob(1, 2, 10, one * 5, b"d"), L),
        ("blob basis truncated", "basis count 2, one id",
         frame(14, blob_head + u8(2) + u32(10) + u8(2) + fill(0xbb)), M),
        ("blob payload too long", f"payload length {MAX_BLOB_PAYLOAD + 1}, no bytes follow",
         frame(14, blob_head + u8(1) + u32(10) + u8(0) + u32(MAX_BLOB_PAYLOAD + 1)), L),
        ("blob payload truncated", "payload length 9, 2 bytes",
         frame(14, blob_head + u8(1) + u32(10) + u8(0) + u32(9) + b"ab"), M),
        ("blob no encoding", "the frame stops after the kind", frame(14, blob_head), M),
        ("blob trailing", "a byte after the payload", frame(14, blob(1, 0, 1, [], b"x")[5:] + b"\x00"), M),
        ("needSignature short", "31 id bytes", frame(15, fill(0xaa)[:31]), M),
        ("needSignature trailing", "33 bytes", frame(15, fill(0xaa) + b"\x00"), M),
        ("signature empty basis", "a signature is over at least one chunk", frame(16, fill(0xaa) + u8(0) + data(b"s")), M),
        ("signature basis over limit", "5 basis chunks", frame(16, fill(0xaa) + u8(5) + fill(0xbb) * 5 + data(b"s")), L),
        ("signature too long", f"signature length {MAX_SIGNATURE + 1}, no bytes follow",
         frame(16, fill(0xaa) + u8(1) + fill(0xbb) + u32(MAX_SIGNATURE + 1)), L),
        ("signature truncated", "signature length 8, 1 byte", frame(16, fill(0xaa) + u8(1) + fill(0xbb) + u32(8) + b"s"), M),
        ("signature trailing", "a byte after the signature", frame(16, fill(0xaa) + u8(1) + fill(0xbb) + data(b"s") + b"\x00"), M),
        ("ack empty", "no snapshot id", frame(17, b""), M),
        ("ack short", "16 id bytes", frame(17, fill(0x11)[:16]), M),
        ("ack trailing", "33 bytes", frame(17, fill(0x11) + b"\x00"), M),
        ("type 19", "gap between ack and queryOwnership", frame(19, b""), M),
        ("type 24", "one past handoverDone", frame(24, string("v")), M),
        ("type 33", "one past fetch", frame(33, string("v")), M),
    ]
    volume, epoch = string("home"), u64(5)
    out += [
        ("queryOwnership empty volume", "volume names are not empty", frame(20, string("")), M),
        ("queryOwnership volume too long", f"{MAX_VOLUME + 1}-byte volume", frame(20, string("v" * (MAX_VOLUME + 1))), L),
        ("queryOwnership volume not UTF-8", "0xc3 then ASCII", frame(20, data(b"\xc3(")), M),
        ("queryOwnership trailing", "a byte after the volume", frame(20, volume + b"\x00"), M),
        ("ownership empty owner", "owner names are not empty", frame(21, volume + string("") + epoch + u8(0)), M),
        ("ownership owner too long", f"{MAX_NODE + 1}-byte owner", frame(21, volume + string("o" * (MAX_NODE + 1)) + epoch + u8(0)), L),
        ("ownership truncated epoch", "4 of 8 epoch bytes", frame(21, volume + owner + b"\x00" * 4), M),
        ("ownership standby flag 2", "the flag is 0 or 1", frame(21, volume + owner + epoch + u8(2) + fill(0x11)), M),
        ("ownership standby missing", "flag 1, no id", frame(21, volume + owner + epoch + u8(1)), M),
        ("ownership no flag", "the frame stops after the epoch", frame(21, volume + owner + epoch), M),
        ("ownership id without flag", "flag 0, then an id", frame(21, volume + owner + epoch + u8(0) + fill(0x11)), M),
        ("handover phase 0", "unknown phase", frame(22, volume + fill(0x11) + epoch + u8(0)), M),
        ("handover phase 4", "unknown phase", frame(22, volume + fill(0x11) + epoch + u8(4)), M),
        ("handover no phase", "the frame stops after the epoch", frame(22, volume + fill(0x11) + epoch), M),
        ("handover empty volume", "volume names are not empty", frame(22, string("") + fill(0x11) + epoch + u8(1)), M),
        ("handover trailing", "a byte after the phase", frame(22, volume + fill(0x11) + epoch + u8(2) + b"\x00"), M),
        ("handoverDone phase 255", "unknown phase", frame(23, volume + epoch + u8(255)), M),
        ("handoverDone truncated epoch", "the frame stops inside the epoch", frame(23, volume + b"\x00\x00"), M),
        ("handoverDone volume too long", f"{MAX_VOLUME + 1}-byte volume", frame(23, string("v" * (MAX_VOLUME + 1)) + epoch + u8(1)), L),
        ("handoverDone trailing", "a byte after the phase", frame(23, volume + epoch + u8(3) + b"\x00"), M),
        ("keepalive trailing", "keepalive has no payload", frame(3, b"\x00"), M),
        ("listSnapshots empty volume", "volume names are not empty", frame(30, string("")), M),
        ("listSnapshots trailing", "a byte after the volume", frame(30, volume + b"\x00"), M),
        ("snapshotList too many", f"{MAX_SNAPSHOTS_PER_PAGE + 1} records in a page",
         frame(31, volume + u16(MAX_SNAPSHOTS_PER_PAGE + 1) + data(b"r") * (MAX_SNAPSHOTS_PER_PAGE + 1) + u8(0)), L),
        ("snapshotList count past the frame", "count 3, one record", frame(31, volume + u16(3) + data(b"r") + u8(0)), M),
        ("snapshotList record too long", "a record longer than the snapshot record limit",
         frame(31, volume + u16(1) + u32(MAX_RECORD + 1) + b"\x00" * 8 + u8(0)), L),
        ("snapshotList more flag 2", "the flag is 0 or 1", frame(31, volume + u16(0) + u8(2)), M),
        ("snapshotList no flag", "the frame stops after the records", frame(31, volume + u16(1) + data(b"r")), M),
        ("fetch flag 2", "the flag is 0 or 1", frame(32, volume + u8(2)), M),
        ("fetch id missing", "flag 1, no id", frame(32, volume + u8(1)), M),
        ("fetch id without flag", "flag 0, then an id", frame(32, volume + u8(0) + fill(0x11)), M),
    ]
    return out


def main():
    frames = [{"name": n, "description": d, "hex": frame(TYPES[m["kind"]], payload_of(m)).hex(),
               "encodes": e, "message": {k: v for k, v in m.items() if k != "wireCode"}}
              for n, d, m, e in valid()]
    about_frames = ("Valid frames of protocol version 1, built by make_frames.py from the layout. "
                    "`hex` is the whole frame (u32 length, type, payload); `message` states the decoded "
                    "message: ids and byte fields as hex, strings as JSON strings, enum cases by their Swift "
                    "names. {\"generate\": n} stands for n ids where id k is u16 big-endian k then 30 bytes "
                    "0xa5 (for wantChunks, each with `length` and no basis). encodes=false: decode only "
                    "(the message re-encodes to other bytes).")
    about_invalid = ("Malformed frames built by make_frames.py: `hex` is fed whole to FrameSplitter and must "
                     "throw WireError with `code`; when the length prefix is valid, Message.decode on its "
                     "type and payload must throw the same code.")
    names = [f["name"] for f in frames] + [n for n, *_ in invalid()]
    assert len(names) == len(set(names)), "names must be unique"
    write("frames.json", about_frames, frames)
    write("invalid.json", about_invalid, [
        {"name": n, "description": d, "hex": b.hex(), "code": c} for n, d, b, c in invalid()])


def write(name, about, entries):
    # One entry a line keeps diffs readable when a vector changes.
    lines = ",\n".join("    " + json.dumps(e, ensure_ascii=False) for e in entries)
    text = f'{{\n  "about": {json.dumps(about)},\n  "frames": [\n{lines}\n  ]\n}}\n'
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
