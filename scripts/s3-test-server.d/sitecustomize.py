"""Loaded (via PYTHONPATH) into the moto server that scripts/s3-test-server.py starts (for the
tests and the benchmark); nowhere else.

moto (5.x) checks SigV4 signatures against the URL werkzeug rebuilds for the request, and
werkzeug turns an encoded %2F (and a few more) in the query back into "/". A listing whose
prefix holds a "/" (restic's keys/, data/, snapshots/, ...) then never matches what the client
signed ("SignatureDoesNotMatch"): a target prefix like "site-a/", and restic's keys/, data/, ...
This puts the query back in SigV4's canonical form (every name and value percent-encoded except
A-Z a-z 0-9 - _ . ~) before moto computes the signature: the check stays on, for both tools.
"""
import urllib.parse


def _canonical_query(query):
    pairs = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        pairs.append(urllib.parse.quote(urllib.parse.unquote(key), safe="-_.~") + eq +
                     urllib.parse.quote(urllib.parse.unquote(value), safe="-_.~"))
    return "&".join(pairs)


def _patch():
    try:
        from moto.iam import access_control
    except Exception:   # not the moto server (or no moto): nothing to do
        return
    base = access_control.IAMRequestBase
    if getattr(base, "_barge_bench_query_fix", False):
        return
    original = base.__init__

    def __init__(self, account_id, method, path, *args, **kwargs):
        head, sep, query = path.partition("?")
        if sep and query:
            path = head + "?" + _canonical_query(query)
        original(self, account_id, method, path, *args, **kwargs)

    base.__init__ = __init__
    base._barge_bench_query_fix = True


_patch()
