#!/usr/bin/env python3
"""Writes vectors.json for Tests/S3Tests from AWS's Signature Version 4 test suite.

Usage: make_vectors.py SUITE_DIR > vectors.json

SUITE_DIR is a copy of aws-sig-v4-test-suite in the layout AWS published it in (the copy
in bazelbuild/bazel, third_party/aws-sig-v4-test-suite): one directory per case holding
NAME.req, NAME.creq, NAME.sts and NAME.authz. Use bazel's copy: some other copies on
GitHub changed the two post-x-www-form-urlencoded requests (adding Content-Length) without
recomputing their .sts and .authz. A case whose .sts is not the hash of its .creq is
kept for the canonical request only and listed in "skipped". The S3 cases, typed in from
the S3 API reference, are appended. The tests read only the JSON, never the network.
"""
import hashlib
import json
import os
import sys
import urllib.parse

SUITE = {
    "accessKeyID": "AKIDEXAMPLE",
    "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "region": "us-east-1",
    "service": "service",
    "date": "20150830T123600Z",
}
SUITE_SOURCE = "AWS Signature Version 4 test suite (aws-sig-v4-test-suite, as copied in bazelbuild/bazel third_party/)"

# Cases left out, with the reason; written to the JSON's "skipped" array.
SKIPPED = {
    "post-sts-header-after": "the security token is added after signing, so it is not signed; "
                             "the signer always signs X-Amz-Security-Token (S3 requires it signed), "
                             "and post-sts-header-before covers the signed form",
}


def parse_request(text):
    """Splits a .req file into method, decoded path, query items, headers and body."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rsplit(" ", 1)[0]  # drop " HTTP/1.1"; the path itself may hold spaces
    path, _, query = target.partition("?")
    items = []
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        items.append([urllib.parse.unquote(name), urllib.parse.unquote(value)])
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            # A folded line (get-header-value-multiline): the suite's expected canonical
            # request joins it with ",", i.e. treats it as a repeat of the header.
            headers.append([headers[-1][0], line.strip()])
        else:
            name, _, value = line.partition(":")
            headers.append([name, value])
    return method, urllib.parse.unquote(path), items, headers, body


def suite_case(directory, name, skipped):
    def read(ext):
        with open(os.path.join(directory, name + ext), encoding="utf-8", newline="") as f:
            return f.read()

    method, path, query, headers, body = parse_request(read(".req"))
    case = {"name": name, "source": SUITE_SOURCE, "mode": "generic", **SUITE,
            "sessionToken": None, "method": method, "path": path, "query": query}
    kept = []
    for header_name, value in headers:
        lowered = header_name.lower()
        if lowered == "x-amz-date":
            assert value == SUITE["date"], (name, value)  # the signer sets it from "date"
        elif lowered == "x-amz-security-token":
            case["sessionToken"] = value  # the signer adds it from the credentials
        else:
            kept.append([header_name, value])
    creq, sts, authz = read(".creq"), read(".sts"), read(".authz")
    if hashlib.sha256(creq.encode()).hexdigest() != sts.rsplit("\n", 1)[-1]:
        # A copy whose .req/.creq were edited after signing: the .sts and .authz no
        # longer follow from the .creq, so only the canonical request can be checked.
        skipped.append({"name": name + " (sts, authz)",
                        "reason": "the .sts is not SHA-256 of the .creq in this copy of the "
                                  "suite; the canonical request is still checked"})
        sts = authz = None
    case.update({"headers": kept, "body": body, "unsignedPayload": False,
                 "creq": creq, "sts": sts, "authz": authz})
    return case


S3_SOURCE = ("Amazon S3 API Reference, 'Signature Calculations for the Authorization Header: "
             "Transferring Payload in a Single Chunk', section 'Examples' "
             "(https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html)")
S3_KEYS = {
    "accessKeyID": "AKIAIOSFODNN7EXAMPLE",
    "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "region": "us-east-1",
    "service": "s3",
    "date": "20130524T000000Z",
    "sessionToken": None,
}
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HOST = "examplebucket.s3.amazonaws.com"


def s3_case(name, method, path, query, headers, body, creq_path, creq_query, creq_headers,
            signed, payload_hash, sts_hash, signature):
    creq = "\n".join([method, creq_path, creq_query, creq_headers, "", signed, payload_hash])
    sts = "\n".join(["AWS4-HMAC-SHA256", S3_KEYS["date"], "20130524/us-east-1/s3/aws4_request", sts_hash])
    authz = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
             f"SignedHeaders={signed},Signature={signature}")
    return {"name": name, "source": S3_SOURCE, "mode": "s3", **S3_KEYS, "method": method,
            "path": path, "query": query, "headers": headers, "body": body,
            "unsignedPayload": False, "creq": creq, "sts": sts, "authz": authz}


def s3_cases():
    return [
        s3_case("s3-get-object", "GET", "/test.txt", [], [["Host", HOST], ["Range", "bytes=0-9"]], "",
                "/test.txt", "",
                f"host:{HOST}\nrange:bytes=0-9\nx-amz-content-sha256:{EMPTY}\nx-amz-date:20130524T000000Z",
                "host;range;x-amz-content-sha256;x-amz-date", EMPTY,
                "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        s3_case("s3-put-object", "PUT", "/test$file.text", [],
                [["Host", HOST], ["Date", "Fri, 24 May 2013 00:00:00 GMT"],
                 ["x-amz-storage-class", "REDUCED_REDUNDANCY"]],
                "Welcome to Amazon S3.",
                "/test%24file.text", "",
                "date:Fri, 24 May 2013 00:00:00 GMT\n"
                f"host:{HOST}\n"
                "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
                "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY",
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
                "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        s3_case("s3-get-bucket-lifecycle", "GET", "/", [["lifecycle", ""]], [["Host", HOST]], "",
                "/", "lifecycle=",
                f"host:{HOST}\nx-amz-content-sha256:{EMPTY}\nx-amz-date:20130524T000000Z",
                "host;x-amz-content-sha256;x-amz-date", EMPTY,
                "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        s3_case("s3-list-objects", "GET", "/", [["max-keys", "2"], ["prefix", "J"]], [["Host", HOST]], "",
                "/", "max-keys=2&prefix=J",
                f"host:{HOST}\nx-amz-content-sha256:{EMPTY}\nx-amz-date:20130524T000000Z",
                "host;x-amz-content-sha256;x-amz-date", EMPTY,
                "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ]


def main():
    suite_dir = sys.argv[1]
    vectors, skipped = [], []
    for directory, _, files in sorted(os.walk(suite_dir)):
        for request in sorted(f for f in files if f.endswith(".req")):
            name = request[:-len(".req")]
            if name in SKIPPED:
                skipped.append({"name": name, "reason": SKIPPED[name]})
            else:
                vectors.append(suite_case(directory, name, skipped))
    vectors.sort(key=lambda v: v["name"])
    document = {
        "about": "Signature Version 4 vectors for Tests/S3Tests, written by make_vectors.py. "
                 "mode 'generic' signs with path normalization and no X-Amz-Content-Sha256; "
                 "mode 's3' signs without normalization and adds X-Amz-Content-Sha256. "
                 "path and query are decoded; X-Amz-Date and X-Amz-Security-Token are not in "
                 "headers because the signer adds them from date and sessionToken; "
                 "the payload hash is SHA-256 of body. creq, sts and authz are the published "
                 "canonical request, string to sign and Authorization header; sts and authz are null "
                 "where the suite's own files disagree (see skipped).",
        "vectors": vectors + s3_cases(),
        "skipped": skipped,
    }
    json.dump(document, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
