#!/usr/bin/env python3
"""Build the benchmark table from the JSON-lines file that bench/run.sh writes.

  report.py RESULTS.jsonl [--json results.json] [--md results.md]

Prints the markdown table on stdout. Exit 0 when no target was missed (n/a counts as not
missed), 3 when at least one target was missed, 1 on error.
MB/s is decimal: bytes / 1e6 / seconds.
"""

import argparse
import json
import os
import statistics
import sys

NA = "n/a"


def load_records(path):
    recs = []
    with open(path) as fh:
        for ln, line in enumerate(fh, 1):
            line = line.strip()
            if line:
                try:
                    recs.append(json.loads(line))
                except ValueError as e:
                    raise SystemExit("report: %s:%d: bad JSON line: %s" % (path, ln, e))
    return recs


def load_doc(path):
    """A JSON document from a file: the whole file, else the last parsable line
    (restic --json prints status lines before its summary)."""
    if not path or not os.path.isfile(path):
        return None
    with open(path, errors="replace") as fh:
        text = fh.read()
    try:
        return json.loads(text)
    except ValueError:
        pass
    summary = None
    last = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            d = json.loads(line)
        except ValueError:
            continue
        last = d
        if d.get("message_type") == "summary":
            summary = d
    return summary or last


class Results:
    def __init__(self, recs):
        self.recs = recs
        self.by_name = {}
        for r in recs:
            self.by_name[r.get("name")] = r  # last one wins

    def rec(self, name):
        return self.by_name.get(name)

    def ok(self, name):
        r = self.rec(name)
        return r is not None and r.get("rc", 0) == 0 and "wall_s" in r

    def wall(self, name):
        return self.rec(name)["wall_s"] if self.ok(name) else None

    def doc(self, name):
        r = self.rec(name)
        if r is None or r.get("rc", 0) != 0:
            return None
        return load_doc(r.get("stdout"))

    def bytes_of(self, name):
        r = self.rec(name)
        return r.get("bytes") if r else None

    def rep_walls(self, name):
        """Walls of the repetitions of NAME that succeeded: NAME, NAME_r2, NAME_r3, ..."""
        names = [name] + ["%s_r%d" % (name, i) for i in range(2, 10)]
        return [self.wall(n) for n in names if self.ok(n)]

    def walls(self, prefix):
        return [r["wall_s"] for r in self.recs
                if str(r.get("name", "")).startswith(prefix) and r.get("rc", 0) == 0 and "wall_s" in r]

    def max_rss_kib_names(self, prefix):
        v = [r["rss_kib"] for r in self.recs if str(r.get("name", "")).startswith(prefix) and "rss_kib" in r]
        return max(v) if v else None

    def max_rss_kib(self, tool):
        v = [r["rss_kib"] for r in self.recs if r.get("tool") == tool and "rss_kib" in r]
        return max(v) if v else None


# ------------------------------------------------------------------ formatting

def table(cols, rows, keys):
    """Markdown lines: a header of `cols`, then each row's `keys` (a | in a cell escaped)."""
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(r[k]).replace("|", "\\|") for k in keys) + " |")
    return lines


def fmt_rate(v):
    return NA if v is None else "%.1f MB/s" % v


def fmt_s(v):
    return NA if v is None else "%.3f s" % v


def fmt_bytes(v):
    if v is None:
        return NA
    a = abs(v)
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if a >= div:
            return "%.2f %s" % (v / div, unit)
    return "%d B" % v


def fmt_mib(kib):
    return NA if kib is None else "%.1f MiB" % (kib / 1024.0)


def fmt_x(v):
    return NA if v is None else "%.2fx" % v


def div(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def verdict(cond):
    if cond is None:
        return NA
    return "PASS" if cond else "FAIL"


# ------------------------------------------------------------------ table

def build(res):
    rows = []
    notes = []
    cfg = res.rec("config") or {}
    gen_tree = res.doc("gen_tree") or {}
    gen_db = res.doc("gen_db") or {}
    mut_tree = res.doc("mutate_tree") or {}
    mut_tree2 = res.doc("mutate_tree2") or {}
    mut_big = res.doc("mutate_big") or {}
    mut_db = res.doc("mutate_db") or {}
    gen_many = res.doc("gen_many") or {}
    mut_many = res.doc("mutate_many") or {}
    n_many = gen_many.get("files", cfg.get("many_files"))
    many_label = "%s small files" % ("%dk" % (n_many // 1000) if n_many and n_many % 1000 == 0
                                     else (n_many if n_many else "many"))
    tree_bytes = gen_tree.get("bytes")
    # the tree restores restore the final state (after every mutation)
    tree_after = tree_bytes
    for m in (mut_tree, mut_tree2, mut_big):
        tree_after = m.get("bytes_after", tree_after)
    db_bytes = gen_db.get("bytes")
    db_after = mut_db.get("bytes_after", db_bytes)

    def rate(name, nbytes):
        w = res.wall(name)
        if w is None or nbytes is None or w <= 0:
            return None
        return nbytes / 1e6 / w

    def row(c_measure, c_barge, c_restic, c_rsync, c_ratio, c_target, ok, **raw):
        rows.append({"measure": c_measure, "barge": c_barge, "restic": c_restic, "rsync": c_rsync,
                     "ratio": c_ratio, "target": c_target, "result": verdict(ok), "raw": raw})

    def info_row(*cells, **raw):
        row(*cells, None, **raw)
        rows[-1]["result"] = "-"

    def walk_ratio(x, xr, what):
        if x is None:
            return NA if xr is None else "barge n/a (restic %s %s)" % (fmt_x(xr), what)
        return "%s %s" % (fmt_x(x), what) + ("" if xr is None else " (restic %s)" % fmt_x(xr))

    def xs(v, what):
        return NA if v is None else "%s %s" % (fmt_x(v), what)

    def bdoc(name):
        return res.doc(name) or {}

    def us_per(sec, n):
        return None if sec is None or not n else sec * 1e6 / n

    def med_rate(name, nbytes):
        """(median MB/s, min MB/s, max MB/s, walls) over the repetitions of NAME"""
        w = [v for v in res.rep_walls(name) if v > 0]
        if not w or nbytes is None:
            return None, None, None, w
        return (nbytes / 1e6 / statistics.median(w), nbytes / 1e6 / max(w), nbytes / 1e6 / min(w), w)

    def fmt_med(m):
        v, lo, hi, w = m
        if v is None:
            return NA
        if len(w) < 2:
            return fmt_rate(v) + " (1 run)"
        return "%s [%.0f-%.0f]" % (fmt_rate(v), lo, hi)

    def med_raw(tool, m):
        return {tool: m[0], tool + "_min": m[1], tool + "_max": m[2], tool + "_walls": m[3]}

    # full snapshots (median of the repetitions) ------------------------------------
    for label, suffix, nbytes in (("tree", "tree", tree_bytes), ("SQLite DB", "db", db_bytes)):
        mb = med_rate("barge_snap_full_" + suffix, nbytes)
        mr = med_rate("restic_snap_full_" + suffix, nbytes)
        my = med_rate("rsync_copy_full_" + suffix, nbytes)
        x = div(mb[0], mr[0])
        row("full snapshot, %s, cold (MB/s, median of %d [min-max])" % (label, len(mb[3]) or len(mr[3])),
            fmt_med(mb), fmt_med(mr), fmt_med(my), xs(x, "restic"), ">= 3x restic",
            None if x is None else x >= 3.0, ratio=x,
            **med_raw("barge", mb), **med_raw("restic", mr), **med_raw("rsync", my))

    # full snapshot, many small files (info) ---------------------------------------
    many_bytes = gen_many.get("bytes")

    def files_rate(name):
        w = res.wall(name)
        if w is None or not n_many or w <= 0:
            return None, None
        return n_many / w, (many_bytes / 1e6 / w if many_bytes is not None else None)

    bf, bm = files_rate("barge_snap_full_many")
    rf, rm = files_rate("restic_snap_full_many")

    def fr(f, m):
        return NA if f is None else "%.0f files/s, %s" % (f, fmt_rate(m))

    info_row("full snapshot, %s (%s), cold (files/s, MB/s)" % (many_label, fmt_bytes(many_bytes)),
             fr(bf, bm), fr(rf, rm), "-", xs(div(bf, rf), "restic"), "(info)",
             barge_files_s=bf, barge_mb_s=bm, restic_files_s=rf, restic_mb_s=rm,
             barge=res.wall("barge_snap_full_many"), restic=res.wall("restic_snap_full_many"),
             barge_duration_s=bdoc("barge_snap_full_many").get("duration_s"))

    # stat walk + incremental, small change, warm -----------------------------------
    walk = res.walls("statwalk_warm_")
    walk_med = statistics.median(walk) if walk else None
    info_row("bare stat walk, tree, warm: %s (find -printf, median of %d)" % (fmt_s(walk_med), len(walk)),
             "-", "-", "-", "-", "reference", seconds=walk_med, all=walk)
    rows[-1]["result"] = "-"
    b = res.wall("barge_snap_incr_tree")
    r = res.wall("restic_snap_incr_tree")
    x = div(b, walk_med)
    xr = div(r, walk_med)
    ratio = walk_ratio(x, xr, "stat walk")
    info_row("incremental snapshot, tree (%s files), small change, warm (s)" % gen_tree.get("files", "?"),
             fmt_s(b), fmt_s(r), "-", ratio,
             "(info) at this size barge's fixed costs (process start, SQLite open, fsyncs of the "
             "changed data) exceed the whole find walk (%s); the target is on the %s tree"
             % (fmt_s(walk_med), many_label),
             barge=b, restic=r, stat_walk=walk_med, ratio=x, restic_ratio=xr,
             barge_sync_s=(res.rec("barge_snap_incr_tree") or {}).get("sync_s"),
             barge_duration_s=bdoc("barge_snap_incr_tree").get("duration_s"),
             barge_bytes_read=bdoc("barge_snap_incr_tree").get("bytes_read"))

    # many small files, warm: stat walk, no change (median of 3), small change (target) ----
    mwalk = res.walls("statwalk_many_warm_")
    mwalk_med = statistics.median(mwalk) if mwalk else None
    m_entries = gen_many.get("entries")
    m_entries_after = mut_many.get("entries_after", m_entries)
    info_row("bare stat walk, %s, warm: %s (find -printf, median of %d; %d entries, %s us/entry)"
             % (many_label, fmt_s(mwalk_med), len(mwalk), m_entries or 0,
                NA if us_per(mwalk_med, m_entries) is None else "%.2f" % us_per(mwalk_med, m_entries)),
             "-", "-", "-", "-", "reference", seconds=mwalk_med, all=mwalk, entries=m_entries,
             us_per_entry=us_per(mwalk_med, m_entries))
    nc_names = ["barge_snap_many_nochange_%d" % i for i in (1, 2, 3)]
    nc = [res.wall(n) for n in nc_names if res.ok(n)]
    nc_med = statistics.median(nc) if nc else None
    nc_dur = [bdoc(n).get("duration_s") for n in nc_names if res.ok(n)]
    nc_dur_ok = [d for d in nc_dur if d is not None]
    nc_dur_med = statistics.median(nc_dur_ok) if nc_dur_ok else None
    r = res.wall("restic_snap_many_nochange")
    x, xr = div(nc_med, mwalk_med), div(r, mwalk_med)
    info_row("incremental snapshot, %s, no change, warm (s; barge median of %d, restic 1 run)"
             % (many_label, len(nc)), fmt_s(nc_med), fmt_s(r), "-", walk_ratio(x, xr, "stat walk"),
             "(info) barge duration_s (median): %s" % fmt_s(nc_dur_med),
             barge=nc_med, barge_all=nc, restic=r, stat_walk=mwalk_med, ratio=x, restic_ratio=xr,
             barge_duration_s=nc_dur_med, barge_duration_s_all=nc_dur,
             barge_sync_s_all=[(res.rec(n) or {}).get("sync_s") for n in nc_names if res.ok(n)],
             barge_bytes_read_all=[bdoc(n).get("bytes_read") for n in nc_names if res.ok(n)],
             entries=m_entries, barge_us_per_entry=us_per(nc_med, m_entries),
             barge_duration_us_per_entry=us_per(nc_dur_med, m_entries),
             find_us_per_entry=us_per(mwalk_med, m_entries))
    mi_b = b = res.wall("barge_snap_many_incr")
    r = res.wall("restic_snap_many_incr")
    x, xr = div(b, mwalk_med), div(r, mwalk_med)
    mi_d = d = bdoc("barge_snap_many_incr")
    mi_g = g = res.rec("barge_snap_many_incr_growth") or {}
    row("incremental snapshot, %s, small change, warm (s)" % many_label, fmt_s(b), fmt_s(r), "-",
        walk_ratio(x, xr, "stat walk"), "<= 1.5x stat walk (%s)" % fmt_s(mwalk_med),
        None if x is None else x <= 1.5,
        barge=b, restic=r, stat_walk=mwalk_med, ratio=x, restic_ratio=xr,
        barge_sync_s=(res.rec("barge_snap_many_incr") or {}).get("sync_s"),
        barge_duration_s=d.get("duration_s"), barge_bytes_read=d.get("bytes_read"),
        barge_packs_growth=g.get("packs_bytes") if res.ok("barge_snap_many_incr") else None,
        chunk_bytes_new=d.get("chunk_bytes_new"), chunk_bytes_stored=d.get("chunk_bytes_stored"),
        tree_bytes_stored=d.get("tree_bytes_stored"), changed=mut_many.get("bytes_changed"),
        entries=m_entries_after, barge_us_per_entry=us_per(b, m_entries_after))

    # the same, cold (info) ------------------------------------------------------------
    cwalk = res.walls("statwalk_cold_")
    cwalk_med = statistics.median(cwalk) if cwalk else None
    b = res.wall("barge_snap_incr2_tree")
    r = res.wall("restic_snap_incr2_tree")
    x, xr = div(b, cwalk_med), div(r, cwalk_med)
    ratio = walk_ratio(x, xr, "cold stat walk")
    info_row("incremental snapshot, tree, another small change, cold (s); cold stat walk %s"
             % fmt_s(cwalk_med), fmt_s(b), fmt_s(r), "-", ratio, "(info)",
             barge=b, restic=r, stat_walk_cold=cwalk_med, stat_walk_cold_all=cwalk, ratio=x,
             restic_ratio=xr, barge_duration_s=(res.doc("barge_snap_incr2_tree") or {}).get("duration_s"),
             barge_bytes_read=(res.doc("barge_snap_incr2_tree") or {}).get("bytes_read"))

    # 8 x 4 KiB in the largest file (info) ----------------------------------------------
    b = res.wall("barge_snap_big_tree")
    r = res.wall("restic_snap_big_tree")
    x = div(b, r)
    info_row("incremental snapshot, tree, 8x4 KiB in the largest file (%s), metadata warm, data cold (s)"
             % fmt_bytes(mut_big.get("file_size")), fmt_s(b), fmt_s(r), "-", xs(x, "restic"), "(info)",
             barge=b, restic=r, ratio=x, file=mut_big.get("file"),
             barge_duration_s=(res.doc("barge_snap_big_tree") or {}).get("duration_s"),
             barge_bytes_read=(res.doc("barge_snap_big_tree") or {}).get("bytes_read"))

    b = res.wall("barge_snap_incr_db")
    r = res.wall("restic_snap_incr_db")
    x = div(b, r)
    info_row("incremental snapshot, SQLite DB, cold (s)", fmt_s(b), fmt_s(r), "-", xs(x, "restic"),
             "(info)", barge=b, restic=r, ratio=x)

    # store growth ---------------------------------------------------------------------
    def growth_rows(label, bname, rname, mut, target):
        changed = mut.get("bytes_changed")
        bdoc = res.doc(bname) or {}
        rdoc = res.doc(rname) or {}
        ok_b = res.ok(bname)
        bg = res.rec(bname + "_growth") or {}
        packs = bg.get("packs_bytes") if ok_b else None
        state = bg.get("state_bytes") if ok_b else None
        rg = (res.rec(rname + "_growth") or {}).get("bytes") if res.ok(rname) else None
        c_new = bdoc.get("chunk_bytes_new")
        c_st = bdoc.get("chunk_bytes_stored")
        t_st = bdoc.get("tree_bytes_stored")
        added = bdoc.get("bytes_added")
        allowed = None if c_st is None or t_st is None else c_st + t_st + 4096
        ok = None if packs is None or allowed is None else packs <= allowed
        x = div(packs, rg)
        raw = dict(packs_growth=packs, allowed=allowed, chunk_bytes_new=c_new,
                   chunk_bytes_stored=c_st, tree_bytes_stored=t_st, bytes_added=added,
                   restic_repo_growth=rg, restic_data_added=rdoc.get("data_added"),
                   changed=changed, ratio_restic=x)
        if target:
            row("%s store growth (packs)" % label, fmt_bytes(packs),
                fmt_bytes(rg) + " (repo)" if rg is not None else NA, "-", xs(x, "restic"),
                "<= new chunks + trees stored + 4 KiB (%s)" % fmt_bytes(allowed), ok, **raw)
        else:
            info_row("%s store growth (packs)" % label, fmt_bytes(packs),
                     fmt_bytes(rg) + " (repo)" if rg is not None else NA, "-", xs(x, "restic"),
                     "(info) new chunks + trees stored + 4 KiB: %s%s" % (
                         fmt_bytes(allowed), "" if ok is None else (" (within)" if ok else " (EXCEEDED)")),
                     **raw)
        xc = div(c_new, changed)
        info_row("%s new chunk bytes (raw) vs bytes changed" % label, fmt_bytes(c_new),
                 fmt_bytes(rdoc.get("data_added")) + " (data_added)" if rdoc.get("data_added") is not None else NA,
                 "-", xs(xc, "changed"), "(info) changed: %s" % fmt_bytes(changed), chunk_bytes_new=c_new,
                 changed=changed, ratio=xc, restic_data_added=rdoc.get("data_added"))
        xs_ = div(state, rg)
        info_row("%s state dir growth (du -sb, incl. SQLite WAL)" % label, fmt_bytes(state),
                 fmt_bytes(rg) + " (repo)" if rg is not None else NA, "-", xs(xs_, "restic"),
                 "(info) bytes_added: %s" % fmt_bytes(added), state_growth=state, bytes_added=added,
                 restic_repo_growth=rg, ratio=xs_)

    growth_rows("2nd snapshot, tree, small change:", "barge_snap_incr_tree", "restic_snap_incr_tree",
                mut_tree, True)
    growth_rows("2nd snapshot, SQLite DB:", "barge_snap_incr_db", "restic_snap_incr_db", mut_db, True)
    growth_rows("snapshot after 8x4 KiB in the largest file, tree:", "barge_snap_big_tree",
                "restic_snap_big_tree", mut_big, False)

    # restore --------------------------------------------------------------------
    for label, suffix, nbytes in (("tree (final state)", "tree", tree_after), ("SQLite DB", "db", db_after)):
        mb = med_rate("barge_restore_" + suffix, nbytes)
        mr = med_rate("restic_restore_" + suffix, nbytes)
        my = med_rate("rsync_restore_" + suffix, nbytes)
        xr, xy = div(mb[0], mr[0]), div(mb[0], my[0])
        ok = None if xr is None or xy is None else (xr >= 2.0 and xy >= 1.0)
        ratio = NA if xr is None else "%s restic, %s rsync" % (fmt_x(xr), fmt_x(xy))
        row("restore, %s, cold (MB/s, median of %d [min-max])" % (label, len(mb[3]) or len(mr[3])),
            fmt_med(mb), fmt_med(mr), fmt_med(my), ratio, ">= 2x restic and >= rsync", ok,
            vs_restic=xr, vs_rsync=xy, **med_raw("barge", mb), **med_raw("restic", mr),
            **med_raw("rsync", my))

    # verification ---------------------------------------------------------------
    def ident(tool):
        cells = []
        oks = []
        for suffix in ("tree", "db"):
            rec = res.rec("verify_%s_%s" % (tool, suffix))
            if rec is None:
                continue
            oks.append(rec.get("rc") == 0)
            cells.append("%s %s" % (suffix, "yes" if rec.get("rc") == 0 else "NO"))
        return (", ".join(cells) if cells else NA), (all(oks) if oks else None)

    bi, bok = ident("barge")
    ri, _ = ident("restic")
    yi, _ = ident("rsync")
    row("restore byte-identical", bi, ri, yi, "-", "identical", bok)

    # store size after the full tree snapshot ----------------------------------------
    bsr = res.rec("barge_state_after_full_tree") or {}
    bs = bsr.get("bytes")
    rs = res.bytes_of("restic_repo_after_full_tree")
    x = div(bs, rs)
    info_row("store size after full tree snapshot (du -sb)", fmt_bytes(bs), fmt_bytes(rs), "-",
             xs(x, "restic"), "(info) barge packs: %s" % fmt_bytes(bsr.get("packs_bytes")),
             barge=bs, barge_packs=bsr.get("packs_bytes"), restic=rs, ratio=x)

    # peak RSS -------------------------------------------------------------------
    b = res.max_rss_kib("barge")
    row("peak RSS, max over all commands", fmt_mib(b), fmt_mib(res.max_rss_kib("restic")),
        fmt_mib(res.max_rss_kib("rsync")), "-", "<= 100 MiB", None if b is None else b <= 100 * 1024,
        barge_kib=b, restic_kib=res.max_rss_kib("restic"), rsync_kib=res.max_rss_kib("rsync"))

    # notes ----------------------------------------------------------------------
    if gen_tree:
        notes.append("tree: %d files, %d dirs, %d symlinks, %s" % (
            gen_tree.get("files", 0), gen_tree.get("dirs", 0), gen_tree.get("symlinks", 0),
            fmt_bytes(tree_bytes)))
    for lbl, m in (("small change (2nd snapshot, warm)", mut_tree),
                   ("another small change (3rd snapshot, cold)", mut_tree2)):
        if m:
            notes.append("%s: %d small/medium files modified (largest %s), %d added, %d deleted, "
                         "%s changed; the large files untouched" % (
                             lbl, m.get("modified", 0), fmt_bytes(m.get("largest_modified")),
                             m.get("added", 0), m.get("deleted", 0), fmt_bytes(m.get("bytes_changed"))))
    if gen_many:
        notes.append("%s tree: %d files of 0-4 KiB (%d empty, %d incompressible, the rest text-like), "
                     "%d dirs (depth <= %d), %s; small change: %d files edited (1-64 B overwritten or "
                     "appended), %d added, %d deleted, %s changed" % (
                         many_label, gen_many.get("files", 0), gen_many.get("empty_files", 0),
                         gen_many.get("binary_files", 0), gen_many.get("dirs", 0),
                         gen_many.get("max_depth", 0), fmt_bytes(many_bytes), mut_many.get("modified", 0),
                         mut_many.get("added", 0), mut_many.get("deleted", 0),
                         fmt_bytes(mut_many.get("bytes_changed"))))
        fu = us_per(mwalk_med, m_entries)
        bu = us_per(nc_med, m_entries)
        du = us_per(nc_dur_med, m_entries)
        if fu is not None and bu is not None:
            notes.append("per-entry cost, %s, warm, no change (%d entries): find %.2f us/entry, barge "
                         "%.2f us/entry wall (%.2fx; %s us/entry by its own duration_s %s, which "
                         "leaves out process start and exit)" % (
                             many_label, m_entries, fu, bu, bu / fu,
                             NA if du is None else "%.2f" % du, fmt_s(nc_dur_med)))
        if mi_b is not None:
            notes.append("%s, small change: barge %s wall, duration_s %s, trailing sync %s; store "
                         "growth (packs) %s for %s new chunk bytes (raw)" % (
                             many_label, fmt_s(mi_b), fmt_s(mi_d.get("duration_s")),
                             fmt_s((res.rec("barge_snap_many_incr") or {}).get("sync_s")),
                             fmt_bytes(mi_g.get("packs_bytes")), fmt_bytes(mi_d.get("chunk_bytes_new"))))
    elif cfg.get("many_files") == 0:
        notes.append("many-small-files tree skipped (BENCH_MANY_FILES=0): its rows are n/a")
    if mut_big:
        notes.append("big-file change (4th snapshot): 8 x 4 KiB overwritten in %s (%s)" % (
            mut_big.get("file"), fmt_bytes(mut_big.get("file_size"))))
    if gen_db:
        notes.append("SQLite DB: %d rows, %s (page 4096); mutation: %d rows updated, %d of %d pages "
                     "changed (%s)" % (gen_db.get("rows", 0), fmt_bytes(db_bytes),
                                       mut_db.get("rows_updated", 0), mut_db.get("pages_changed", 0),
                                       mut_db.get("pages_total", 0), fmt_bytes(mut_db.get("bytes_changed"))))
    caches = cfg.get("caches")
    if caches == "cold":
        notes.append("cold = page cache (data, dentries, inodes) dropped before the measurement, tool "
                     "binaries re-warmed; warm = no drop, one untimed `find` of the tree right before "
                     "the timed command (the small-change rows: stat walks and snapshots; the find walks the tree being measured); "
                     "metadata warm, data cold = drop, then the untimed `find`. barge's state and "
                     "restic's repository/cache are never warmed on purpose")
    else:
        notes.append("page cache could NOT be dropped: every measurement ran warm")
    rrepo = res.rec("restic_repo") or {}
    notes.append("%s at its default: repository v%s, compression %s (zstd; restic's sizes are "
                 "compressed); %s" % (
                     cfg.get("restic", "restic"), rrepo.get("version", "?"), rrepo.get("compression", "?"),
                     cfg.get("rsync", "rsync")))
    notes.append("times are wall clock, one run each (stat walks and barge's no-change snapshots: median "
                 "of 3; cold full snapshots and cold restores of tree and DB: median of %s per tool, "
                 "each snapshot into a fresh store/repository, each restore into a fresh target, "
                 "min-max MB/s in brackets, only the first restore verified), including process "
                 "start; snapshot, copy and restore times include a trailing `sync`; MB/s = bytes / "
                 "1e6 / s; restores restore the final state of the tree" % cfg.get("reps", 1))
    notes.append("store growth (packs) = growth of the sizes of the files in barge's packs/ (no "
                 "directory sizes); target: <= chunk_bytes_stored + tree_bytes_stored + 4096 from "
                 "barge's snapshot --json; restic's growth is `du -sb` of the whole repository")
    if not cfg.get("have_barge"):
        notes.append("barge binary not available (%s): barge cells are n/a" % cfg.get("barge"))
    for name in ("barge_snap_full_tree", "barge_snap_incr_tree", "barge_snap_incr2_tree",
                 "barge_snap_big_tree", "barge_snap_full_db", "barge_snap_incr_db",
                 "barge_snap_full_many", "barge_snap_many_nochange_1", "barge_snap_many_nochange_2",
                 "barge_snap_many_nochange_3", "barge_snap_many_incr"):
        d = res.doc(name) or {}
        if d.get("skipped"):
            notes.append("barge skipped files in %s: %s" % (name, d["skipped"][:5]))
    el = res.rec("elapsed")
    if el:
        notes.append("whole run: %d s (load average at the start %s, at the end %s, on %s CPUs)" % (
            el.get("seconds", 0), cfg.get("loadavg", "?"), el.get("loadavg", "?"), cfg.get("nproc", "?")))
    failed = [r["name"] for r in res.recs if r.get("rc", 0) not in (0, None) and "wall_s" in r]
    if failed:
        notes.append("FAILED commands: %s" % ", ".join(failed))
    return rows, notes


# ------------------------------------------------------------------ replication (bench/replication.sh)

def rsync_stats(path):
    """The numbers of `rsync --stats` (commas and units stripped): total_bytes_sent, ..."""
    out = {}
    if not path or not os.path.isfile(path):
        return out
    keys = {"Total bytes sent": "sent", "Total bytes received": "received",
            "Literal data": "literal", "Matched data": "matched",
            "Total transferred file size": "transferred", "Total file size": "file_size"}
    with open(path, errors="replace") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            if k.strip() in keys:
                num = v.strip().split()[0].replace(",", "") if v.strip() else ""
                try:
                    out[keys[k.strip()]] = int(float(num))
                except ValueError:
                    pass
    return out


def build_repl(res):
    """Rows of the replication table: columns barge, rsync, casync."""
    rows = []
    notes = []
    cfg = res.rec("config") or {}
    if cfg.get("only") in ("snapshot", "moves"):
        return rows, notes
    sets = (("tree", "tree"), ("db", "SQLite DB"), ("big", "big file"))
    muts = {"tree": res.doc("repl_mutate_tree") or {}, "db": res.doc("repl_mutate_db") or {},
            "big": res.doc("repl_mutate_big") or {}}
    gen_big = res.doc("repl_gen_big") or {}
    rc_ = res.rec("repl_config") or {}
    size = {v: (res.rec("repl_size_v1_" + v) or {}).get("bytes") for v, _ in sets}

    def row(c_measure, c_barge, c_rsync, c_casync, c_ratio, c_target, ok, **raw):
        rows.append({"measure": c_measure, "barge": c_barge, "rsync": c_rsync, "casync": c_casync,
                     "ratio": c_ratio, "target": c_target, "result": verdict(ok), "raw": raw})

    def info_row(*cells, **raw):
        row(*cells, None, **raw)
        rows[-1]["result"] = "-"

    def wait_doc(name):
        return res.doc(name) if res.ok(name) else None

    def casync_growth(v):
        a = (res.rec("repl_casync_v1_%s_store" % v) or {}).get("bytes")
        b = (res.rec("repl_casync_v2_%s_store" % v) or {}).get("bytes")
        return None if a is None or b is None else b - a

    def mut_desc(v):
        m = muts[v]
        if v == "tree":
            return "%d files modified, %d added, %d deleted, %s changed" % (
                m.get("modified", 0), m.get("added", 0), m.get("deleted", 0), fmt_bytes(m.get("bytes_changed")))
        if v == "db":
            return "%d rows updated, %d pages changed (%s)" % (
                m.get("rows_updated", 0), m.get("pages_changed", 0), fmt_bytes(m.get("bytes_changed")))
        return "%d inserts + %d overwrites, %s edited" % (
            m.get("inserts", 0), m.get("overwrites", 0), fmt_bytes(m.get("bytes_changed")))

    # bytes on the wire, v1 -> v2 ------------------------------------------------------
    limits = {"tree": 1.0, "db": 0.5, "big": 0.5}
    for v, label in sets:
        d = wait_doc("repl_barge_delta_" + v) or {}
        rep = d.get("replicate") or {}
        b = rep.get("bytes_sent")
        st = rsync_stats((res.rec("repl_rsync_delta_" + v) or {}).get("stdout")) if res.ok("repl_rsync_delta_" + v) else {}
        r = st.get("sent")
        c = casync_growth(v)
        x = div(b, r)
        lim = limits[v]
        row("bytes on the wire v1 -> v2, %s (%s; %s)" % (label, fmt_bytes(size[v]), mut_desc(v)),
            fmt_bytes(b), fmt_bytes(r) + " (sent)" if r is not None else NA,
            fmt_bytes(c) + " (store growth)" if c is not None else NA,
            xs_(x, "rsync"), "<= %s rsync" % ("1x" if lim == 1.0 else "%.1fx" % lim),
            None if x is None else x <= lim, barge=b, rsync=r, casync=c, ratio=x,
            barge_bytes_received=rep.get("peers", [{}])[0].get("bytes_received") if rep.get("peers") else None,
            barge_chunks_raw=rep.get("chunks_raw"), barge_chunks_delta=rep.get("chunks_delta"),
            barge_replicate_s=d.get("replicate_s"), barge_standby_s=d.get("standby_s"),
            rsync_received=st.get("received"), rsync_literal=st.get("literal"),
            rsync_matched=st.get("matched"), rsync_wall=res.wall("repl_rsync_delta_" + v),
            casync_wall=res.wall("repl_casync_v2_" + v), changed=muts[v].get("bytes_changed"))

    # first full replication, to the standby ----------------------------------------------
    for v, label in sets:
        d = wait_doc("repl_barge_full_" + v) or {}
        rep = d.get("replicate") or {}
        bs = d.get("standby_s")
        nb = size[v]
        b = None if bs is None or not nb else nb / 1e6 / bs
        rw = res.wall("repl_rsync_full_" + v)
        r = None if rw is None or not nb else nb / 1e6 / rw
        cw = res.wall("repl_casync_v1_" + v)
        c = None if cw is None or not nb else nb / 1e6 / cw
        x = div(b, r)
        cells = ("first full replication incl. standby copy, %s (%s), cold (MB/s)" % (label, fmt_bytes(nb)),
                 NA if b is None else "%s (%.2f s; replicate %.2f s, %s sent)" % (
                     fmt_rate(b), bs, d.get("replicate_s") or 0, fmt_bytes(rep.get("bytes_sent"))),
                 NA if r is None else "%s (%.2f s)" % (fmt_rate(r), rw),
                 NA if c is None else "%s (make v1, warm)" % fmt_rate(c),
                 xs_(x, "rsync"))
        raw = dict(barge=b, rsync=r, casync_make=c, ratio=x, bytes=nb, barge_standby_s=bs,
                   barge_replicate_s=d.get("replicate_s"), barge_bytes_sent=rep.get("bytes_sent"),
                   rsync_wall=rw, casync_wall=cw, polls=d.get("polls"), poll_s_mean=d.get("poll_s_mean"))
        if v == "tree":
            row(*cells, ">= 0.5x rsync and >= 150 MB/s",
                None if x is None else (x >= 0.5 and b >= 150), **raw)
        else:
            info_row(*cells, "(info)", **raw)

    # latency: 10 MiB change, snapshot committed -> standby updated --------------------------
    for v, label in (("tree", "1 GiB tree" if size["tree"] and size["tree"] > 5e8 else "tree"),
                     ("big", "the big file (one %s file)" % fmt_bytes(gen_big.get("bytes")))):
        d = wait_doc("repl_barge_lat_" + v) or {}
        ch = res.doc("repl_change_" + v) or {}
        bs, rs_ = d.get("standby_s"), d.get("replicate_s")
        snap = res.wall("repl_barge_snap3_" + v)
        cell = NA if bs is None else "%.3f s (replicate %.3f s; snapshot before: %s)" % (bs, rs_ or 0, fmt_s(snap))
        measure = ("%s change in %s: snapshot committed -> standby updated on the replica (s)"
                   % (fmt_bytes(ch.get("bytes_changed")), label))
        raw = dict(barge_standby_s=bs, barge_replicate_s=rs_, barge_snapshot_wall=snap,
                   bytes_sent=(d.get("replicate") or {}).get("bytes_sent"), changed=ch.get("bytes_changed"),
                   polls=d.get("polls"), poll_s_mean=d.get("poll_s_mean"))
        row(measure, cell, "-", "-", "-", "< 1 s", None if bs is None else bs < 1.0, **raw)

    # agents' peak RSS --------------------------------------------------------------------
    rss = {n: (res.rec("repl_agent_rss_" + n) or {}).get("vmhwm_kib") for n in ("d0", "d1")}
    have = [k for k in rss.values() if k]
    rs_max = res.max_rss_kib_names("repl_rsync_")
    cs_max = res.max_rss_kib_names("repl_casync_")
    row("peak RSS of each agent (VmHWM at the end)",
        NA if not have else "owner %s, replica %s" % (fmt_mib(rss["d0"]), fmt_mib(rss["d1"])),
        fmt_mib(rs_max), fmt_mib(cs_max), "-", "<= 150 MiB each",
        None if not have else max(have) <= 150 * 1024, d0_kib=rss["d0"], d1_kib=rss["d1"],
        rsync_kib=rs_max, casync_kib=cs_max)

    # standby identical -------------------------------------------------------------------
    cells, oks = [], []
    for rnd in (1, 2, 3):
        for v, _ in sets:
            rec = res.rec("repl_verify%d_%s" % (rnd, v))
            if rec is None:
                continue
            oks.append(rec.get("rc") == 0)
            if rec.get("rc") != 0:
                cells.append("v%d %s NO" % (rnd, v))
    row("standby copy identical to the source (treecmp, %d checks)" % len(oks),
        NA if not oks else ("yes" if all(oks) else ", ".join(cells)), "-", "-", "-", "identical",
        None if not oks else all(oks))

    hwm = []
    for name in ("repl_barge_full_tree", "repl_barge_full_db", "repl_barge_full_big", "repl_barge_delta_tree",
                 "repl_barge_delta_db", "repl_barge_delta_big", "repl_barge_lat_tree", "repl_barge_lat_big"):
        h = res.rec(name + "_hwm")
        if h:
            hwm.append("%s %.0f/%.0f" % (name[len("repl_barge_"):], h.get("d0_vmhwm_kib", 0) / 1024.0,
                                         h.get("d1_vmhwm_kib", 0) / 1024.0))
    if hwm:
        notes_hwm = "agents' VmHWM (MiB, owner/replica) after each replication: " + ", ".join(hwm)
    else:
        notes_hwm = None
    cpu = []
    for name, what in (("repl_barge_full_tree", "full tree"), ("repl_barge_full_db", "full DB"),
                       ("repl_barge_full_big", "full big file"), ("repl_barge_delta_tree", "v2 tree"),
                       ("repl_barge_delta_db", "v2 DB"), ("repl_barge_delta_big", "v2 big file"),
                       ("repl_barge_lat_tree", "10 MiB tree"), ("repl_barge_lat_big", "10 MiB big file")):
        d = wait_doc(name)
        if not d:
            continue
        c = d.get("agent_cpu_s") or {}
        peer = ((d.get("replicate") or {}).get("peers") or [{}])[0]
        cpu.append("%s %.2f s to the standby (replicate %.2f s, %s sent, %s received, %s trees, %s/%s chunks "
                   "whole/delta; CPU s owner %s, replica %s, polls+client %s)" % (
                       what, d.get("standby_s") or 0, d.get("replicate_s") or 0,
                       fmt_bytes(peer.get("bytes_sent")), fmt_bytes(peer.get("bytes_received")),
                       peer.get("trees"), peer.get("chunks_raw"), peer.get("chunks_delta"),
                       c.get("d0"), c.get("d1"), d.get("client_cpu_s")))
    rcv = []
    for v, label in sets:
        st = rsync_stats((res.rec("repl_rsync_delta_" + v) or {}).get("stdout")) if res.ok("repl_rsync_delta_" + v) else {}
        if st:
            rcv.append("%s: sent %s, received %s, literal %s, matched %s" % (
                label, fmt_bytes(st.get("sent")), fmt_bytes(st.get("received")), fmt_bytes(st.get("literal")),
                fmt_bytes(st.get("matched"))))
    if muts["tree"] or gen_big:
        notes.append("replication: agents d0 (owner) and d1 (replica) on 127.0.0.1 / 127.0.0.2 over mutual "
                     "TLS, one volume per dataset; barge times run from `barge replicate` start until "
                     "d1's status (polled every 20 ms) shows the standby at the snapshot; "
                     "bytes on the wire = `bytes_sent` of `replicate --json` (frame bytes the owner sent); "
                     "rsync = `Total bytes sent` of `rsync -a --no-whole-file --stats` into the v1 copy; "
                     "casync = growth of its local store (sum of chunk file sizes), `casync make` of v2 "
                     "after v1 (the tree as .caidx, the DB and the big file as .caibx); status polled "
                     "%s" % ("by running `barge status --json` (BENCH_REPL_POLL=cli)" if rc_.get("poll") == "cli"
                             else "with the request `barge status --json` sends, on the control socket "
                                  "(BENCH_REPL_POLL=socket: no process per poll)"))
    if gen_big:
        notes.append("big file: %s in 4 MiB extents (40%% incompressible, 40%% ~2:1, 20%% text); its "
                     "v2: %s" % (fmt_bytes(gen_big.get("bytes")), mut_desc("big")))
    if cpu:
        notes.append("barge replications: " + "; ".join(cpu))
    if rcv:
        notes.append("rsync --no-whole-file v1 -> v2: " + "; ".join(rcv))
    if notes_hwm:
        notes.append(notes_hwm)
    el = res.rec("repl_elapsed")
    if el:
        notes.append("replication part: %d s (load average at its start %s, at its end %s)" % (
            el.get("seconds", 0), el.get("loadavg_start", "?"), el.get("loadavg", "?")))
    return rows, notes


def xs_(v, what):
    return NA if v is None else "%s %s" % (fmt_x(v), what)


# ------------------------------------------------------------------ moving volumes (bench/moves.sh)

def build_moves(res):
    """Rows of the moves table: columns barge, details."""
    rows = []
    notes = []
    cfg = res.rec("config") or {}
    if cfg.get("only") in ("snapshot", "replication"):
        return rows, notes
    mc = res.rec("moves_config")
    if mc is None:
        return rows, notes

    def row(c_measure, c_barge, c_details, c_target, ok, **raw):
        rows.append({"measure": c_measure, "barge": c_barge, "details": c_details, "target": c_target,
                     "result": verdict(ok), "raw": raw})

    def info_row(*cells, **raw):
        row(*cells, None, **raw)
        rows[-1]["result"] = "-"

    def bdoc(name):
        return (res.doc(name) or {}) if res.ok(name) else {}

    def udoc(name):
        r = res.rec(name)
        return load_doc(r.get("stdout")) or {} if r else {}

    big_mib = mc.get("big_mib")
    unit_mib = mc.get("unit_mib")
    size = {v: udoc("moves_size_" + v) for v in ("mig", "fo1", "fo8")}
    tree_label = fmt_bytes(size["fo1"].get("bytes"))
    big_label = "%s (%d files of %s)" % (fmt_bytes(size["fo8"].get("bytes")), size["fo8"].get("files", 0),
                                         fmt_bytes((unit_mib or 0) * 1048576))

    # migration downtime --------------------------------------------------------------------
    ch = res.doc("moves_change_mig") or {}
    m = bdoc("moves_migrate_mig")
    dt = m.get("downtime_s")
    phases = m.get("phases") or []
    ph = {p.get("name"): p for p in phases}
    down_names = ("stop", "final", "prepare", "start")
    in_down = sum(ph[n].get("seconds", 0) for n in down_names if n in ph)
    pre = [p for p in phases if str(p.get("name", "")).startswith("precopy")]
    cell = NA if dt is None else "%.3f s (%s; hand-over record + demote %.3f s)" % (
        dt, ", ".join("%s %.3f s%s" % (n, ph[n].get("seconds", 0),
                                       " / %s" % fmt_bytes(ph[n].get("bytes_sent")) if ph[n].get("bytes_sent") else "")
                      for n in down_names if n in ph), max(0.0, dt - in_down))
    details = NA if not m else "pre-copy while the container runs: %s; %s sent in all; command %s" % (
        "; ".join("%s %.3f s / %s" % (p.get("name"), p.get("seconds", 0), fmt_bytes(p.get("bytes_sent"))) for p in pre),
        fmt_bytes(m.get("bytes_sent")), fmt_s(res.wall("moves_migrate_mig")))
    row("migration downtime, %s volume (tree + stand-in container), %s written since the last replication "
        "(stop hook start -> start hook end on the target)" % (tree_label, fmt_bytes(ch.get("bytes_changed"))),
        cell, details, "< 1 s", None if dt is None else dt < 1.0,
        downtime_s=dt, bytes_sent=m.get("bytes_sent"), phases=phases, command_s=res.wall("moves_migrate_mig"),
        seconds=m.get("seconds"), changed=ch.get("bytes_changed"))

    # failover promotion ----------------------------------------------------------------------
    prom = {}
    for v, label in (("fo1", "%s volume (tree)" % tree_label), ("fo8", "%s volume" % big_label)):
        d = bdoc("moves_failover_" + v)
        p = d.get("promotion_s")
        prom[v] = p
        w = res.wall("moves_failover_" + v)
        details = NA if not d else ("`barge failover` command %s in all (process start, the dead owner's refused "
                                    "connection, promotion, start hook, notices); epoch %s; may lose the last %.1f s"
                                    % (fmt_s(w), d.get("epoch"), d.get("may_lose_since_s") or 0))
        raw = dict(promotion_s=p, command_s=w, may_lose_since_s=d.get("may_lose_since_s"), epoch=d.get("epoch"),
                   started=d.get("started"), bytes=size[v].get("bytes"), files=size[v].get("files"))
        if v == "fo1":
            row("failover promotion, %s, owner killed (-9), cold" % label,
                NA if p is None else "%.4f s" % p, details, "< 0.5 s", None if p is None else p < 0.5, **raw)
        else:
            p1 = prom.get("fo1")
            ok = None if p is None or p1 is None else (p < 0.5 and p <= p1 + 0.05)
            x = div(p, p1)
            row("failover promotion, %s, owner killed (-9), cold" % label,
                NA if p is None else "%.4f s (%s fo1's)" % (p, fmt_x(x)), details,
                "< 0.5 s, and <= the smaller volume's + 0.05 s (not growing with size)", ok, ratio=x, **raw)

    s1, s2 = bdoc("moves_snap_promoted1_fo8"), bdoc("moves_snap_promoted2_fo8")
    info_row("new owner's first snapshot of the promoted %s volume (data unchanged since the promoted "
             "snapshot), then the next one, warm (s)" % fmt_bytes(size["fo8"].get("bytes")),
             NA if not s1 else "%s, then %s" % (fmt_s(res.wall("moves_snap_promoted1_fo8")),
                                               fmt_s(res.wall("moves_snap_promoted2_fo8"))),
             NA if not s1 else "duration_s %s then %s; bytes_read %s then %s; bytes_added %s then %s (the first "
             "snapshot after a promotion takes the promoted snapshot as parent and does not read again what barge "
             "materialized; it rewrites the trees, whose entries now carry this node's inodes)"
             % (fmt_s(s1.get("duration_s")), fmt_s(s2.get("duration_s")), fmt_bytes(s1.get("bytes_read")),
                fmt_bytes(s2.get("bytes_read")), fmt_bytes(s1.get("bytes_added")), fmt_bytes(s2.get("bytes_added"))),
             "(info)", first=res.wall("moves_snap_promoted1_fo8"), second=res.wall("moves_snap_promoted2_fo8"),
             first_duration_s=s1.get("duration_s"), second_duration_s=s2.get("duration_s"),
             first_bytes_added=s1.get("bytes_added"), second_bytes_added=s2.get("bytes_added"))

    # fail-back bytes --------------------------------------------------------------------------
    dv = res.doc("moves_diverge_fo1") or {}
    fb = bdoc("moves_failback_repl_fo1")
    rep_ = fb.get("replicate") or {}
    peer = (rep_.get("peers") or [{}])[0]
    b = rep_.get("bytes_sent")
    div_b = dv.get("bytes_changed")
    x = div(b, div_b)
    row("fail-back: bytes the new owner sends to the fenced old owner, %s volume, %s diverged there "
        "(%d files overwritten in place, %d new)" % (tree_label, fmt_bytes(div_b), dv.get("files_modified", 0),
                                                   dv.get("files_added", 0)),
        fmt_bytes(b), NA if not fb else "%s the divergence; %s received; %s/%s chunks whole/delta, %s trees; "
        "standby on the old owner at %.3f s (replicate %.3f s)" % (
            fmt_x(x), fmt_bytes(peer.get("bytes_received")), peer.get("chunks_raw"), peer.get("chunks_delta"),
            peer.get("trees"), fb.get("standby_s") or 0, fb.get("replicate_s") or 0),
        "< 3x the divergence", None if x is None else x < 3.0, bytes_sent=b, divergence=div_b, ratio=x,
        bytes_received=peer.get("bytes_received"), chunks_raw=peer.get("chunks_raw"),
        chunks_delta=peer.get("chunks_delta"), standby_s=fb.get("standby_s"))

    # info: fencing, fail-back migration, first replications -------------------------------------
    fe = udoc("moves_fence")
    fv = fe.get("volumes") or {}
    ft = (res.rec("moves_fence_total") or {}).get("ms")
    info_row("fencing: old owner's agent started -> fo1 and fo8 are replicas with a standby copy (s)",
             NA if ft is None else "%.3f s" % (ft / 1000.0),
             "incl. the agent's start (its control socket answered after %s); it asks m1, learns epoch %s, "
             "runs the stop hook, keeps its copy as a diverged snapshot (fo1: %s changed, fo8: unchanged) and "
             "moves it to the standby place" % (
                 NA if ft is None else "%.3f s" % (ft / 1000.0 - fe.get("seconds", 0)),
                 (fv.get("fo1") or {}).get("epoch", "?"), fmt_bytes(div_b)), "(info)",
             seconds=None if ft is None else ft / 1000.0, poll_s=fe.get("seconds"), fenced=fe.get("ok"))
    mb = bdoc("moves_migrate_back_fo1")
    info_row("fail-back migration of fo1 to the old owner (downtime, s)",
             NA if not mb else "%.3f s" % mb.get("downtime_s", 0),
             NA if not mb else "%s sent; command %s; phases: %s" % (
                 fmt_bytes(mb.get("bytes_sent")), fmt_s(res.wall("moves_migrate_back_fo1")),
                 ", ".join("%s %.3f s" % (p.get("name"), p.get("seconds", 0)) for p in mb.get("phases") or [])),
             "(info)", downtime_s=mb.get("downtime_s"), bytes_sent=mb.get("bytes_sent"), phases=mb.get("phases"))
    first = []
    for v in ("mig", "fo1", "fo8"):
        d = bdoc("moves_repl1_" + v)
        if d:
            first.append("%s %s: %.2f s to the standby, %s sent (snapshot %s)" % (
                v, fmt_bytes(size[v].get("bytes")), d.get("standby_s") or 0,
                fmt_bytes((d.get("replicate") or {}).get("bytes_sent")), fmt_s(res.wall("moves_snap1_" + v))))
    info_row("setup: first replication of each volume to the replica", "; ".join(first) or NA,
             "the store dedupes fo8's identical files, so ~1 unit is sent; the standby copy is written in full", "(info)")
    hb = res.rec("moves_hwm_before_kill") or {}
    rss = {n: (res.rec("moves_agent_rss_" + n) or {}).get("vmhwm_kib") for n in ("m0", "m1")}
    info_row("peak RSS of each agent (VmHWM)",
             "m0 %s before the kill, %s after its restart; m1 %s" % (
                 fmt_mib(hb.get("m0_vmhwm_kib")), fmt_mib(rss["m0"]), fmt_mib(rss["m1"])),
             "-", "(info)", m0_before_kill_kib=hb.get("m0_vmhwm_kib"), m0_kib=rss["m0"], m1_kib=rss["m1"])

    # correctness -------------------------------------------------------------------------------
    checks = [("moves_verify_mig", "migrated data (but app.db) = the source's final copy"),
              ("moves_ledger_mig", "no acknowledged commit lost, container never ran twice"),
              ("moves_check_mig_source_empty", "old owner's path empty after the hand-over"),
              ("moves_verify_fo1_failover", "promoted fo1 = the old owner's copy"),
              ("moves_check_fenced", "old owner fenced with a diverged snapshot"),
              ("moves_check_fenced_empty", "fenced path empty"),
              ("moves_verify_fo1_resync", "old owner's standby after the resync = the new owner's data"),
              ("moves_verify_fo1_back", "fo1 after the fail-back migration = the new owner's last copy")]
    done, bad = [], []
    for name, what in checks:
        r = res.rec(name)
        if r is None:
            continue
        done.append(what)
        if r.get("rc", 0) != 0:
            bad.append(what)
    f8 = udoc("moves_size_fo8_promoted")
    if f8:
        ok8 = f8.get("files") == size["fo8"].get("files") and f8.get("bytes") == size["fo8"].get("bytes") \
            and f8.get("allocated_bytes", 0) >= 0.99 * f8.get("bytes", 0)
        done.append("promoted fo8 has every file, written (allocated %s)" % fmt_bytes(f8.get("allocated_bytes")))
        if not ok8:
            bad.append(done[-1])
    row("moves correct (%d checks)" % len(done), NA if not done else ("yes" if not bad else "NO: " + "; ".join(bad)),
        "; ".join(done) or "-", "all hold", None if not done else not bad, failed=bad)

    # notes -------------------------------------------------------------------------------------
    if big_mib != mc.get("big_mib_requested"):
        notes.append("the big failover volume is %s MiB instead of %s MiB: only %s were free for it" % (
            big_mib, mc.get("big_mib_requested"), fmt_bytes(mc.get("avail_bytes"))))
    notes.append("moves: agents m0 and m1 on 127.0.0.3 / 127.0.0.4 over mutual TLS, interval 1h; volumes owned "
                 "by m0, replica m1: mig = a copy of the tree with the stand-in container "
                 "(testdata/agent/container.py as start/stop/pre_snapshot/post_snapshot hooks: a daemon "
                 "committing 2 KB rows to $BARGE_PATH/app.db every ~5 ms), fo1 = another copy of the tree and "
                 "fo8 = %s, both with hooks `true`" % big_label)
    notes.append("migration: change-tree --mib %s on m0's copy (half overwritten in place in 512 KiB pieces, "
                 "half new 1 MiB files), then `barge migrate mig --to m1 --json` (warm); downtime_s and phases "
                 "are barge's own; the row's details: the pre-copy rounds and the command's wall time" % mc.get("change_mib"))
    notes.append("failover: m0's agent killed with SIGKILL, then `barge failover VOL --to m1 --json` on m1 "
                 "(no --force: the dead owner's port refuses), each after sync + page-cache drop; promotion_s "
                 "is barge's own (epoch raised, standby renamed into place, directories synced)")
    notes.append("fail-back: while m0 is down, change-tree --mib %s --round 2 into m0's copy of fo1 (writes m1 "
                 "never got); m0 restarted: it fences itself; then on m1 `barge snapshot fo1` and `barge "
                 "replicate fo1 --to m0` (timed until m0's standby holds it): bytes_sent vs the divergence; then "
                 "`barge migrate fo1 --to m0`. The new owner's data is the snapshot m0 itself made and "
                 "replicated before it died, so m0's store already holds all of its chunks: the resync sends "
                 "trees and the snapshot record, and m0 rebuilds its standby copy from its own store" % mc.get("change_mib"))
    hw = []
    for name, what in (("moves_hwm_setup", "after the first replications"), ("moves_hwm_before_kill", "after the migration"),
                       ("moves_hwm_after_failover", "after the failovers"),
                       ("moves_hwm_after_promoted_snapshots", "after m1's snapshots of the promoted fo8"),
                       ("moves_hwm_after_failback", "after the fail-back resync")):
        h = res.rec(name)
        if h:
            hw.append("%s %s/%s" % (what, *("%.0f" % (h[k] / 1024.0) if h.get(k) else "-"
                                             for k in ("m0_vmhwm_kib", "m1_vmhwm_kib"))))
    if hw:
        notes.append("agents' VmHWM (MiB, m0/m1; m0 killed after the migration, restarted for the fail-back): "
                     + ", ".join(hw))
    if f8:
        notes.append("fo8 on m1 after the failover: %d files, %s, %s allocated (written blocks, not sparse)" % (
            f8.get("files", 0), fmt_bytes(f8.get("bytes")), fmt_bytes(f8.get("allocated_bytes"))))
    el = res.rec("moves_elapsed")
    if el:
        notes.append("moves part: %d s (load average at its start %s, at its end %s)" % (
            el.get("seconds", 0), el.get("loadavg_start", "?"), el.get("loadavg", "?")))
    return rows, notes


def markdown_moves(rows, notes):
    if not rows:
        return ""
    out = ["", "## Moving volumes: migration, failover, fail-back", ""]
    for n in notes:
        out.append("- " + n)
    out.append("")
    cols = ["measure", "barge", "details", "target", "pass/fail"]
    out += table(cols, rows, ["measure", "barge", "details", "target", "result"])
    return "\n".join(out) + "\n"


def markdown_repl(rows, notes):
    if not rows:
        return ""
    out = ["", "## Replication: barge agents vs rsync and casync", ""]
    for n in notes:
        out.append("- " + n)
    out.append("")
    cols = ["measure", "barge", "rsync", "casync", "ratio", "target", "pass/fail"]
    out += table(cols, rows, ["measure", "barge", "rsync", "casync", "ratio", "target", "result"])
    return "\n".join(out) + "\n"


def build_failover(res):
    """Automatic failover on etcd (bench/failover.py): time to the service back, etcd's cost."""
    rows, notes = [], []
    for ttl in (2, 5):
        for fault, what in (("kill", "kill -9 of the owner"), ("isolate", "owner isolated (all its TCP dropped)")):
            r = res.rec("failover_%s_ttl%d" % (fault, ttl))
            if not r:
                continue
            med, target = r.get("median_s"), r.get("target_s")
            runs = [res.rec("failover_%s_ttl%d_run%d" % (fault, ttl, i)) or {} for i in range(r.get("runs") or 0)]
            twice = any(x.get("violations") for x in runs)
            rows.append({"measure": "failover, %s, lease TTL %d s: until a replica's container acknowledges a commit" % (what, ttl),
                         "barge": "%s (%s-%s)" % (fmt_s(med), fmt_s(r.get("min_s")), fmt_s(r.get("max_s"))),
                         "patroni": "ttl 30 s: about 30-40 s", "kubernetes": "pod eviction: 5 min",
                         "target": "< TTL + 2 s = %d s, never twice" % target,
                         "result": verdict(med is not None and med < target and not twice)})
    m = res.rec("failover_migrate")
    if m:
        dt = m.get("downtime_s")
        rows.append({"measure": "planned migrate under [cluster], %s MiB volume, %s MiB changed, container running: downtime"
                     % (m.get("size_mib"), m.get("changed_mib")),
                     "barge": "%s (%s sent)" % (fmt_s(dt), fmt_bytes(m.get("bytes_sent"))) if dt is not None else NA,
                     "patroni": "", "kubernetes": "",
                     "target": "< 1 s, never twice", "result": verdict(dt is not None and dt < 1 and not m.get("violations"))})
    m = res.rec("failover_migrate_pages")
    if m:
        dt = m.get("downtime_s")
        rows.append({"measure": "planned migrate under [cluster], one %s MiB file rewritten by the container in random 4 KiB pages, "
                     "%s/s until its stop hook (a database under load): downtime" % (m.get("size_mib"), m.get("pages_per_second")),
                     "barge": "%s (%s sent)" % (fmt_s(dt), fmt_bytes(m.get("bytes_sent"))) if dt is not None
                     else (m.get("error") or NA).strip().splitlines()[0][:160],
                     "patroni": "", "kubernetes": "",
                     "target": "< 1 s, never twice", "result": verdict(dt is not None and dt < 1 and not m.get("violations"))})
    for ttl in (2, 5):
        r = res.rec("failover_idle_requests_ttl%d" % ttl)
        if r:
            rates = r.get("per_agent") or {}
            shown = ", ".join("%s %.1f" % (k, v) for k, v in sorted(rates.items()) if v is not None)
            rows.append({"measure": "etcd requests per second per agent at idle, %d volumes, TTL %d s" % (r.get("volumes"), ttl),
                         "barge": shown or NA, "patroni": "", "kubernetes": "", "target": "(info)", "result": "info"})
    if rows:
        notes.append("3 etcd members and 3 agents on loopback; medians of the runs (min-max). Patroni's defaults "
                     "(ttl 30 s, loop_wait 10 s) and Kubernetes' default eviction (5 min) are their documented settings, not measured here.")
    return rows, notes


def markdown_failover(rows, notes):
    if not rows:
        return ""
    out = ["", "## Automatic failover on etcd", ""] + ["- " + n for n in notes] + [""]
    cols = ["measure", "barge", "Patroni default", "Kubernetes default", "target", "pass/fail"]
    out += table(cols, rows, ["measure", "barge", "patroni", "kubernetes", "target", "result"])
    return "\n".join(out) + "\n"


def markdown(rows, notes, cfg):
    out = ["# barge benchmark (%s MiB tree, %s MiB SQLite DB, %s)" % (
        cfg.get("size_mib"), cfg.get("db_size_mib"), cfg.get("started", "")), ""]
    for n in notes:
        out.append("- " + n)
    out.append("")
    cols = ["measure", "barge", "restic", "rsync", "ratio", "target", "pass/fail"]
    out += table(cols, rows, ["measure", "barge", "restic", "rsync", "ratio", "target", "result"])
    return "\n".join(out) + "\n"


def build_realfiles(res):
    """Real files (bench/realfiles.py): snapshot and restore against restic, borg and the floors; first replication
    (bench/realrepl.py) against the rsync copy floor."""
    rows, notes = [], []
    data = res.rec("real_data")
    if not data:
        return rows, notes
    mb = data.get("bytes", 0) / 1e6

    def med(step, tool):
        r = res.rec("real_%s_%s" % (step, tool)) or {}
        return r.get("median_s"), r

    def cell(step, tool):
        s, r = med(step, tool)
        if s is None:
            return NA
        return "%.2f s [%.2f-%.2f], %.0f MB/s" % (s, r.get("min_s"), r.get("max_s"), mb / s)

    def ratio(a, b):
        return None if a is None or b is None or a == 0 else b / a

    snap, _ = med("snapshot", "barge")
    x_restic, x_borg = ratio(snap, med("snapshot", "restic")[0]), ratio(snap, med("snapshot", "borg")[0])
    floor_read = med("floor_read", "read")[0]
    rows.append({"measure": "full snapshot, cold (%d files, %.0f MB)" % (data.get("files", 0), mb),
                 "barge": cell("snapshot", "barge"), "restic": cell("snapshot", "restic"), "borg": cell("snapshot", "borg"),
                 "floor": "parallel read: " + cell("floor_read", "read"),
                 "ratio": NA if x_restic is None or x_borg is None else "%.2fx restic, %.2fx borg; %.2fx the read floor's time"
                 % (x_restic, x_borg, snap / floor_read if floor_read else 0),
                 "target": ">= 3x restic and 3x borg",
                 "result": verdict(x_restic is not None and x_borg is not None and x_restic >= 3 and x_borg >= 3)})
    warm, _ = med("snapshot_warm", "barge")
    w_restic, w_borg = ratio(warm, med("snapshot_warm", "restic")[0]), ratio(warm, med("snapshot_warm", "borg")[0])
    if warm is not None:
        rows.append({"measure": "full snapshot, warm (the tree in the page cache)",
                     "barge": cell("snapshot_warm", "barge"), "restic": cell("snapshot_warm", "restic"),
                     "borg": cell("snapshot_warm", "borg"), "floor": "",
                     "ratio": NA if w_restic is None or w_borg is None else "%.2fx restic, %.2fx borg" % (w_restic, w_borg),
                     "target": ">= 3x restic and 3x borg",
                     "result": verdict(w_restic is not None and w_borg is not None and w_restic >= 3 and w_borg >= 3)})
    lz4, _ = med("snapshot_warm", "barge-lz4")
    if lz4 is not None:
        l_restic, l_borg = ratio(lz4, med("snapshot_warm", "restic")[0]), ratio(lz4, med("snapshot_warm", "borg")[0])
        rows.append({"measure": "full snapshot, warm, store made with `barge init --compression lz4` (an option)",
                     "barge": cell("snapshot_warm", "barge-lz4"), "restic": "", "borg": "", "floor": "",
                     "ratio": NA if l_restic is None or l_borg is None else "%.2fx restic, %.2fx borg" % (l_restic, l_borg),
                     "target": "(info: the default's bar, >= 3x restic and 3x borg)",
                     "result": NA if l_restic is None or l_borg is None else ("met" if l_restic >= 3 and l_borg >= 3 else "not met")})
    sizes = {tool: (res.rec("real_store_%s" % tool) or {}).get("bytes") for tool in ("barge", "barge-lz4", "restic", "borg")}
    if sizes["barge"]:
        rows.append({"measure": "store after the full snapshot (bytes of its files)",
                     "barge": "%.0f MB (zstd); %s with lz4" % (sizes["barge"] / 1e6,
                                                            "%.0f MB" % (sizes["barge-lz4"] / 1e6) if sizes["barge-lz4"] else NA),
                     "restic": "%.0f MB" % (sizes["restic"] / 1e6) if sizes["restic"] else NA,
                     "borg": "%.0f MB (lz4)" % (sizes["borg"] / 1e6) if sizes["borg"] else NA, "floor": "",
                     "ratio": "%.2fx restic" % (sizes["barge"] / sizes["restic"]) if sizes["restic"] else NA,
                     "target": "(info)", "result": "-"})
    restore, _ = med("restore", "barge")
    rsync_copy = med("floor_copy", "rsync")[0]
    x_restic = ratio(restore, med("restore", "restic")[0])
    x_rsync = ratio(restore, rsync_copy)
    rows.append({"measure": "restore into an empty directory, cold",
                 "barge": cell("restore", "barge"), "restic": cell("restore", "restic"), "borg": cell("restore", "borg"),
                 "floor": "cp -a: %s; rsync --whole-file: %s" % (cell("floor_copy", "cp"), cell("floor_copy", "rsync")),
                 "ratio": NA if x_restic is None or x_rsync is None else "%.2fx restic, %.2fx rsync" % (x_restic, x_rsync),
                 "target": ">= 2x restic, >= rsync",
                 "result": verdict(x_restic is not None and x_rsync is not None and x_restic >= 2 and x_rsync >= 1)})
    rss = [(res.rec("real_%s_barge" % s) or {}).get("rss_kib") for s in ("snapshot", "restore")]
    rows.append({"measure": "peak RSS, barge snapshot / restore", "barge": " / ".join(fmt_mib(k) for k in rss),
                 "restic": fmt_mib((res.rec("real_snapshot_restic") or {}).get("rss_kib")),
                 "borg": fmt_mib((res.rec("real_snapshot_borg") or {}).get("rss_kib")), "floor": "",
                 "ratio": "", "target": "<= 100 MiB each",
                 "result": verdict(all(k and k <= 100 * 1024 for k in rss))})
    notes.append("data nobody here wrote: %s; plus %s. Times until durable (sync), cold page cache, medians of %s runs [min-max]."
                 % (", ".join("%s %s" % kv for kv in sorted((data.get("packages") or {}).items())),
                    "copies of the bare git repositories in /opt/swift-packages" if data.get("git_repositories") else "no git repositories",
                    (res.rec("real_snapshot_barge") or {}).get("runs")))
    if res.rec("real_repl_config"):   # realrepl.py ran (not BENCH_REAL_REPL=0); missing records are n/a
        one, _ = med("repl1", "barge")
        two, _ = med("repl2", "barge")
        x_rsync = ratio(one, rsync_copy)
        rows.append({"measure": "first replication to one peer, cold, until its standby copy is ready",
                     "barge": cell("repl1", "barge"), "restic": "", "borg": "",
                     "floor": "rsync --whole-file: %s" % cell("floor_copy", "rsync"),
                     "ratio": NA if x_rsync is None else "%.2fx rsync" % x_rsync,
                     "target": ">= 0.7x rsync", "result": verdict(None if x_rsync is None else x_rsync >= 0.7)})
        x_one = div(two, one)
        rows.append({"measure": "first replication to two peers, cold, until both standby copies are ready",
                     "barge": cell("repl2", "barge"), "restic": "", "borg": "", "floor": "",
                     "ratio": NA if x_one is None else "%.2fx the one-peer time" % x_one,
                     "target": "<= 1.3x one peer", "result": verdict(None if x_one is None else x_one <= 1.3)})
        hwm = (res.rec("real_repl_rss") or {}).get("vmhwm_kib") or {}
        rows.append({"measure": "peak RSS (VmHWM) of each agent over the replication runs (snapshot through the owner included)",
                     "barge": " / ".join("%s %s" % (n, fmt_mib(k)) for n, k in sorted(hwm.items())) or NA,
                     "restic": "", "borg": "", "floor": "", "ratio": "", "target": "<= 150 MiB per agent",
                     "result": verdict(all(k is not None and k <= 150 * 1024 for k in hwm.values()) if hwm else None)})
        notes.append("first replication: three agents (d0 owner, d1 and d2 replicas) over mutual TLS on loopback, fresh agents and empty "
                     "stores each run; `barge snapshot` through d0, page cache dropped, then timed from the start of `barge replicate real "
                     "--to d1` (one peer) or `barge replicate real` (two) until the replicas' status (polled every 20 ms) shows the standby "
                     "copy at the snapshot; every standby copy compared with the data (treecmp); medians of %s runs [min-max]."
                     % (res.rec("real_repl1_barge") or {}).get("runs", NA))
    return rows, notes


def markdown_realfiles(rows, notes):
    if not rows:
        return ""
    out = ["", "## Real files", ""] + ["- " + n for n in notes] + [""]
    cols = ["measure", "barge", "restic", "borg", "floors", "ratio", "target", "pass/fail"]
    out += table(cols, rows, ["measure", "barge", "restic", "borg", "floor", "ratio", "target", "result"])
    return "\n".join(out) + "\n"


def build_scale(res):
    """Scale (bench/scale.py): time per file and peak RSS on the big generated set against the reference set."""
    rows, notes = [], []
    cfg = res.rec("scale_config")
    if not cfg:
        return rows, notes
    gen = {t: res.rec("scale_%s_gen" % t) or {} for t in ("ref", "big")}
    files = {t: gen[t].get("files") for t in ("ref", "big")}

    def rec(tag, step):
        return res.rec("scale_%s_%s" % (tag, step)) or {}

    def us(tag, step):
        return rec(tag, step).get("us_per_file")

    def cell(tag, step, rss=True):
        r = rec(tag, step)
        if r.get("median_s") is None:
            return NA
        t = "%.2f s" % r["median_s"]
        if r.get("runs", 1) > 1:
            t += " [%.2f-%.2f] (median of %d)" % (r["min_s"], r["max_s"], r["runs"])
        t += ", %.1f us/file" % r["us_per_file"]
        if rss and r.get("rss_kib"):
            t += ", peak RSS %s" % fmt_mib(r["rss_kib"])
        return t

    def growth_row(measure, step, rss=True, extra=None):
        a, b = us("ref", step), us("big", step)
        x = div(b, a)
        cells = {t: cell(t, step, rss) for t in ("ref", "big")}
        if extra:
            for t in ("ref", "big"):
                if cells[t] != NA and extra(t):
                    cells[t] += "; " + extra(t)
        rows.append({"measure": measure, "ref": cells["ref"], "big": cells["big"],
                     "per_file": NA if a is None or b is None else "%.1f -> %.1f us" % (a, b),
                     "ratio": fmt_x(x), "target": "<= 1.5x the reference's time per file",
                     "result": verdict(None if x is None else x <= 1.5)})

    g = {t: div(gen[t].get("seconds_until_durable"), files[t] and files[t] / 1e6) for t in ("ref", "big")}   # us/file
    rows.append({"measure": "generation of the data (gen_data.py manyfiles, until durable; info)",
                 "ref": NA if g["ref"] is None else "%.1f s, %.1f us/file" % (gen["ref"]["seconds_until_durable"], g["ref"]),
                 "big": NA if g["big"] is None else "%.1f s, %.1f us/file" % (gen["big"]["seconds_until_durable"], g["big"]),
                 "per_file": NA if None in g.values() else "%.1f -> %.1f us" % (g["ref"], g["big"]),
                 "ratio": fmt_x(div(g["big"], g["ref"])), "target": "(info)", "result": ""})
    growth_row("full snapshot, cold, until durable", "snapshot")
    growth_row("no-change incremental snapshot, warm, until durable", "nochange")
    walk = {t: rec(t, "walk").get("median_s") for t in ("ref", "big")}
    nc = {t: rec(t, "nochange").get("median_s") for t in ("ref", "big")}
    xw = {t: div(nc[t], walk[t]) for t in ("ref", "big")}

    def walk_cell(t):
        if walk[t] is None:
            return NA
        return "walk %.2f s (%.1f us/file, median of %d); no-change snapshot %s" % (
            walk[t], rec(t, "walk")["us_per_file"], rec(t, "walk").get("runs", 0), fmt_x(xw[t]) + " the walk")
    rows.append({"measure": "no-change incremental snapshot vs a bare stat walk (find -printf, warm; the floor)",
                 "ref": walk_cell("ref"), "big": walk_cell("big"), "per_file": "",
                 "ratio": fmt_x(xw["big"]), "target": "<= 1.5x the walk (big set)",
                 "result": verdict(None if xw["big"] is None else xw["big"] <= 1.5)})

    def vs_rsync(t):
        x = div(rec(t, "rsync").get("median_s"), rec(t, "restore").get("median_s"))
        return None if x is None else "rsync -a --whole-file %s (%.2fx rsync's speed)" % (cell(t, "rsync", rss=False), x)
    growth_row("restore into a new directory, cold, until durable", "restore", extra=vs_rsync)
    skipped = [t for t in ("ref", "big") if not rec(t, "rsync") and rec(t, "restore")]

    def owner_snap(t):
        s = rec(t, "repl1").get("owner_snapshot_s")
        return None if s is None else "snapshot through the owner before it: %.2f s" % s
    growth_row("first replication to one peer, cold, until its standby copy is ready", "repl1", rss=False, extra=owner_snap)
    rss_steps = ("snapshot", "nochange", "restore")
    k = {t: [rec(t, s).get("rss_kib") for s in rss_steps] for t in ("ref", "big")}
    have = [v for t in k for v in k[t]]
    rows.append({"measure": "peak RSS of barge snapshot (full) / snapshot (no change) / restore",
                 "ref": " / ".join(fmt_mib(v) for v in k["ref"]), "big": " / ".join(fmt_mib(v) for v in k["big"]),
                 "per_file": "", "ratio": "", "target": "<= 100 MiB each",
                 "result": verdict(None if not any(have) else all(v is not None and v <= 100 * 1024 for v in have))})
    hwm = {t: (rec(t, "repl_rss").get("vmhwm_kib") or {}) for t in ("ref", "big")}
    hv = [v for t in hwm for v in hwm[t].values()]
    rows.append({"measure": "peak RSS (VmHWM) of each agent in the first replication (the owner's includes the snapshot through it)",
                 "ref": " / ".join("%s %s" % (n, fmt_mib(v)) for n, v in sorted(hwm["ref"].items())) or NA,
                 "big": " / ".join("%s %s" % (n, fmt_mib(v)) for n, v in sorted(hwm["big"].items())) or NA,
                 "per_file": "", "ratio": "", "target": "<= 150 MiB per agent",
                 "result": verdict(None if not hv else all(v is not None and v <= 150 * 1024 for v in hv))})
    ver = {t: res.rec("scale_%s_verify_restore" % t) for t in ("ref", "big")}
    notes.append("generated small files (gen_data.py manyfiles, seed %s: 0-4 KiB, ~6%% empty, ~10%% incompressible), "
                 "reference %s files in %s directories (%s runs, medians [min-max]), big set %s files in %s directories (%s run); "
                 "about 100 files a directory in both. Times until durable (sync); cold = page cache, dentries and inodes "
                 "dropped, the binaries re-warmed." % (
                     cfg.get("seed"), files["ref"] or cfg.get("ref_files"), gen["ref"].get("dirs", cfg.get("ref_dirs")), cfg.get("ref_runs"),
                     files["big"] or cfg.get("files"), gen["big"].get("dirs", cfg.get("dirs")), cfg.get("runs")))
    notes.append("restores compared with the data (treecmp, first run): %s; every standby copy compared too (a difference fails the part)."
                 % "; ".join("%s %s" % (t, NA if not ver[t] else ("identical, %d entries" % ver[t]["entries"]) if ver[t].get("ok")
                                        else "DIFFERENT") for t in ("ref", "big")))
    if skipped:
        notes.append("rsync floor not run on the %s set (BENCH_SCALE_RSYNC=%s)." % (" and ".join(skipped), cfg.get("rsync")))
    el = {t: res.rec("scale_%s_elapsed" % t) or {} for t in ("ref", "big")}
    whole = res.rec("scale_elapsed") or {}
    clean = res.rec("scale_cleanup") or {}
    notes.append("started %s (load average %s); reference set %s, big set %s (ended %s, load average %s), removal of the trees and "
                 "stores %s after that%s; whole part %s."
                 % (cfg.get("started"), " ".join(cfg.get("loadavg") or []),
                    fmt_s(el["ref"].get("seconds")), fmt_s(el["big"].get("seconds")), el["big"].get("ended", NA),
                    " ".join(el["big"].get("loadavg") or []) or NA, fmt_s(clean.get("seconds")),
                    "" if clean.get("background_s") is None else
                    " (most of them removed in the background from the big set's standby comparison on: %s)" % fmt_s(clean["background_s"]),
                    fmt_s(whole.get("seconds"))))
    free = (res.rec("scale_big_disk") or {}).get("bytes_free_after")
    if free is not None:
        notes.append("free space on the file system: %s at the start, %s at the end of the big set (all its trees and stores, "
                     "and the reference set's, still there; ~%s estimated beforehand)."
                     % (fmt_bytes(cfg.get("disk_free")), fmt_bytes(free), fmt_bytes(cfg.get("disk_needed_est"))))
    cpu = []
    for t in ("ref", "big"):
        parts = []
        for step in ("snapshot", "nochange", "restore", "rsync"):
            runs = [r for r in res.recs if str(r.get("name", "")).startswith("scale_%s_%s_run" % (t, step)) and "user_s" in r]
            if runs:
                parts.append("%s %s" % (step, ", ".join("%.1f s (CPU %.1f s; stalls cpu %.1f s, io %.1f s)" % (
                    r["seconds"], r["user_s"] + r["sys_s"], r.get("stall_cpu_s", 0), r.get("stall_io_s", 0)) for r in runs)))
        if parts:
            cpu.append("%s set: %s" % (t, "; ".join(parts)))
    if cpu:
        notes.append("each timed command's CPU time (user + sys) and the machine's stall time meanwhile (/proc/pressure "
                     "\"some\": time any task waited for a CPU / for I/O; other users of this 2-core VM show there) - "
                     + " | ".join(cpu) + ".")
    err = res.rec("scale_error")
    if err:
        notes.append("ERROR: " + err.get("error", "")[:600])
    return rows, notes


def markdown_scale(rows, notes):
    if not rows and not notes:
        return ""
    out = ["", "## Scale: many files", ""] + ["- " + n for n in notes] + [""]
    cols = ["measure", "reference set", "big set", "time per file", "ratio", "target", "pass/fail"]
    out += table(cols, rows, ["measure", "ref", "big", "per_file", "ratio", "target", "result"])
    return "\n".join(out) + "\n"


def build_gc(res):
    """gc (bench/gc.py): pauses gc imposes on snapshots and replications beside it, gc vs restic prune."""
    rows, notes = [], []
    data, hist = res.rec("gc_data"), res.rec("gc_histories") or {}
    if not data:
        return rows, notes
    off, prune, agent = res.rec("gc_offline"), res.rec("gc_restic_prune"), res.rec("gc_agent")
    checks, errs = res.rec("gc_checks"), (res.rec("gc_errors") or {}).get("errors") or []
    # restic 0.14: prune takes an exclusive lock, backup a shared one, so a backup fails while prune runs
    restic_pause = {"snapshot": "a backup is refused while prune runs (prune takes the repository's exclusive lock)", "replicate": ""}
    for kind, what in (("snapshot", "`barge snapshot small` (one small file changed)"),
                       ("replicate", "`barge replicate small` (to d1, over mutual TLS)")):
        r = res.rec("gc_pause_%s" % kind)
        if not r:
            continue
        b, d, pause = r.get("baseline") or {}, r.get("during") or {}, r.get("pause_s")
        cell = NA if pause is None else ("%s (longest call during gc %s, baseline median %s); during gc: median %s, p95 %s, n=%d; "
                                         "baseline: p95 %s, max %s, n=%d" % (
                                             fmt_s(pause), fmt_s(d.get("max")), fmt_s(b.get("p50")), fmt_s(d.get("p50")),
                                             fmt_s(d.get("p95")), d.get("n") or 0, fmt_s(b.get("p95")), fmt_s(b.get("max")), b.get("n") or 0))
        rows.append({"measure": "pause gc (through the agent, store half garbage) imposes on a concurrent %s" % what,
                     "barge": cell, "restic": restic_pause[kind], "ratio": "",
                     "target": "< %g s" % r.get("target_s", 1), "result": verdict(pause is not None and pause < r.get("target_s", 1))})
    if off or prune:
        rep = (off or {}).get("report") or {}
        bcell = NA if not off else "%s (gc's own %s); store %s -> %s; %d packs deleted, %d rewritten, %s copied" % (
            fmt_s(off.get("seconds")), fmt_s(rep.get("seconds")), fmt_bytes(off.get("state_before")), fmt_bytes(off.get("state_after")),
            rep.get("packs_deleted", 0), rep.get("packs_rewritten", 0), fmt_bytes(rep.get("bytes_copied")))
        rcell = NA if not prune else "%s; repository %s -> %s" % (
            fmt_s(prune.get("seconds")), fmt_bytes(prune.get("repo_before")), fmt_bytes(prune.get("repo_after")))
        x = div((prune or {}).get("seconds"), (off or {}).get("seconds"))
        rows.append({"measure": "gc alone (offline, a copy of the store) vs `restic prune` after `restic forget` of the first snapshot, "
                     "%s cache, until durable" % ((off or prune).get("cache")),
                     "barge": bcell, "restic": rcell, "ratio": NA if x is None else "%.2fx restic (its time / barge's)" % x,
                     "target": "(info)", "result": "info"})
    if agent:
        rep = agent.get("report") or {}
        rows.append({"measure": "gc through the agent beside the rounds (the pause rows' run)",
                     "barge": "%s wall (gc's own %s, %s waiting for earlier writers); store %s -> %s; %d rounds meanwhile; "
                              "%d packs skipped, %d blobs revived" % (
                                  fmt_s(agent.get("wall_s")), fmt_s(rep.get("seconds")), fmt_s(rep.get("waited_seconds")),
                                  fmt_bytes(agent.get("state_before")), fmt_bytes(agent.get("state_after")),
                                  agent.get("rounds_during", 0), rep.get("packs_skipped", 0), rep.get("blobs_revived", 0)),
                     "restic": "", "ratio": "", "target": "(info)", "result": "info"})
    if checks:
        ok = checks.get("verify_rc") == 0 and checks.get("standby_identical")
        rows.append({"measure": "after gc: `barge verify --read-data` of d0's store; d1's standby copy of small vs the source",
                     "barge": "%s; %s" % ("verify ok" if checks.get("verify_rc") == 0 else "verify FAILED (exit %s)" % checks.get("verify_rc"),
                                          "standby identical" if checks.get("standby_identical") else "standby DIFFERS"),
                     "restic": "", "ratio": "", "target": "no damage, identical", "result": verdict(bool(ok))})
    rb, kb = data.get("removed_bytes") or 0, data.get("kept_bytes") or 0
    reclaimed = ((off or {}).get("report") or {}).get("bytes_reclaimed")
    notes.append("data: the real-files tree (%d files, %s%s); volume `big`: snapshot 1 of all of it, then %d of its %d top-level parts "
                 "(debs/PACKAGE, git/ORG; %s, %.0f%% of the bytes) removed, snapshot 2, snapshot 1 forgotten: barge's store %s, of which "
                 "gc reclaimed %s (%s); restic's repository %s." % (
                     data.get("files", 0), fmt_bytes(data.get("bytes")),
                     ", fraction %s" % data.get("fraction") if (data.get("fraction") or 1) < 1 else "",
                     len(data.get("removed_parts") or []), data.get("parts", 0), fmt_bytes(rb), 100.0 * rb / max(1, rb + kb),
                     fmt_bytes(hist.get("barge_state_before")), fmt_bytes(reclaimed),
                     NA if not reclaimed or not hist.get("barge_packs_before") else "%.0f%% of its packs" % (
                         100.0 * reclaimed / hist["barge_packs_before"]),
                     fmt_bytes(hist.get("restic_repo_before"))))
    notes.append("pause: d0 owns `small` (a copy of %s, %d files, %s; d1 replicates it); a round changes one small file, then runs "
                 "`barge snapshot small --json` and `barge replicate small --json` through d0's control socket, each CLI call timed "
                 "(process start included). Baseline: %s rounds; then `barge gc --json` through d0 and rounds back to back until it "
                 "returns; pause = the longest call overlapping gc minus the baseline median. The page cache is dropped before the "
                 "baseline and before gc, each followed by one untimed round. gc runs on the owner only (d1's store holds no garbage)."
                 % (data.get("small_from"), data.get("small_files", 0), fmt_bytes(data.get("small_bytes")),
                    ((res.rec("gc_pause_snapshot") or {}).get("baseline") or {}).get("n")))
    notes.append("barge binary: %s. restic prune runs at its defaults (repacks packs more than 5%% unused); barge rewrites packs "
                 "25%% or more dead, deletes dead ones." % data.get("barge"))
    if errs:
        notes.append("ERRORS: " + "; ".join(e[:300] for e in errs))
    return rows, notes


def build_rollback(res):
    """Roll-back downtime (bench/rollback.py): a live volume rolled back through its owner's agent."""
    r = res.rec("rollback")
    if not r:
        return []
    runs = r.get("runs") or []
    cell = NA if r.get("downtime_median") is None else "%s median (%s-%s), %d runs; whole command %s median; replicas followed: %s" % (
        fmt_s(r["downtime_median"]), fmt_s(r["downtime_min"]), fmt_s(r["downtime_max"]), len(runs),
        fmt_s(sorted(x["wall"] for x in runs)[len(runs) // 2]) if runs else NA,
        "yes" if runs and all(x.get("replicated") for x in runs) else "NO")
    ok = runs and all(x.get("content_ok") for x in runs) and not r.get("errors")
    return [{"measure": "roll-back of a live %d MiB volume (generated, one file) to a snapshot %d MiB away, through the owner's "
                        "agent: stop hook to start hook (pre-restore snapshot, restore, snapshot of the result)" % (
                            r.get("size_mib", 0), r.get("change_mib", 0)),
             "barge": cell + ("" if ok else "; ERRORS: %s" % "; ".join(r.get("errors") or ["content differs"])),
             "restic": "n/a (restic restores to a directory; no live roll-back)", "ratio": NA, "target": "(measured; no target)",
             "result": "" if ok else "FAIL"}]


def build_retention(res):
    """Store growth under retention (bench/retention.py): barge forget + gc vs restic forget --prune on the same history."""
    r = res.rec("retention")
    if not r:
        return []
    t = r.get("seconds") or {}
    live, mb = r.get("live_bytes") or 0, lambda b: "%.1f MB" % (b / 1e6)
    ratio = (r["barge_store_bytes"] / r["restic_repo_bytes"]) if r.get("restic_repo_bytes") else None
    what = ("%d simulated days, a snapshot every %d min (%d), %.0f%% of the live bytes replaced a day by other real files "
            "(%d files), policy keep_hourly 24 / daily 7 / weekly 4 applied once a day" % (
                r["days"], r["interval_minutes"], r["snapshots_taken"], 100 * r["churn"], r["files_replaced"]))
    rows = [{"measure": "store after " + what + "; live data " + mb(live),
             "barge": "%s (%.2fx the live data), %d snapshots kept%s" % (
                 mb(r["barge_store_bytes"]), r["barge_store_bytes"] / max(1, live), r["barge_kept"],
                 "" if r.get("verify_ok") else "; verify --read-data FAILED"),
             "restic": "%s (%.2fx the live data), %d snapshots kept" % (mb(r["restic_repo_bytes"]), r["restic_repo_bytes"] / max(1, live),
                                                                       r["restic_kept"]),
             "ratio": NA if ratio is None else "%.2fx restic's size" % ratio, "target": "(measured)",
             "result": "" if r.get("verify_ok") and r["barge_kept"] == r["restic_kept"] else "FAIL"},
            {"measure": "time spent on retention over the %d days: barge forget + gc vs restic forget --prune" % r["days"],
             "barge": "%s (forget %s, gc %s)" % (fmt_s(t.get("barge_forget", 0) + t.get("barge_gc", 0)), fmt_s(t.get("barge_forget", 0)),
                                                fmt_s(t.get("barge_gc", 0))),
             "restic": fmt_s(t.get("restic_forget_prune", 0)),
             "ratio": NA if not t.get("restic_forget_prune") else "%.2fx restic's time" % (
                 (t.get("barge_forget", 0) + t.get("barge_gc", 0)) / t["restic_forget_prune"]),
             "target": "(measured)", "result": ""},
            {"measure": "time spent on the %d snapshots (`barge snapshot --time` vs `restic backup --time`, process start included)" % r["snapshots_taken"],
             "barge": fmt_s(t.get("barge_snapshot", 0)), "restic": fmt_s(t.get("restic_backup", 0)),
             "ratio": NA if not t.get("barge_snapshot") else "%.1fx faster" % (t.get("restic_backup", 0) / t["barge_snapshot"]),
             "target": "(info)", "result": ""}]
    return rows


def markdown_gc(rows, notes):
    if not rows and not notes:
        return ""
    out = ["", "## Retention, garbage collection and roll-back (issue 9)", ""] + ["- " + n for n in notes] + [""]
    cols = ["measure", "barge", "restic 0.14", "ratio", "target", "pass/fail"]
    out += table(cols, rows, ["measure", "barge", "restic", "ratio", "target", "result"])
    return "\n".join(out) + "\n"


def build_offsite(res):
    """Off-site copies (bench/offsite.py): upload to and restore from a local S3 server (moto), barge vs restic."""
    rows, notes = [], []
    data, s = res.rec("offsite_data"), res.rec("offsite")
    errs = (res.rec("offsite_errors") or {}).get("errors") or []
    if not data and not errs:
        return rows, notes
    if s:
        t = s.get("times") or {}

        def med(key):
            v = t.get(key) or [None, None, None]
            return v[0], v

        def tcell(key, extra=""):
            m, v = med(key)
            if m is None:
                return NA
            return ("%.2f s" % m if s.get("runs", 1) < 2 else "%.2f s [%.2f-%.2f]" % (m, v[1], v[2])) + extra

        for part, label in (("first", "first upload (the whole tree)"), ("small", "upload after the small change")):
            b = s.get(part + "_bytes") or {}
            bb, rb = b.get("barge_bucket_bytes"), b.get("restic_bucket_bytes")
            x = div(bb, rb)
            rows.append({"measure": "bytes uploaded, %s: growth of the tool's bucket" % label,
                         "barge": "%s (bytes_uploaded %s, %s objects)" % (fmt_bytes(bb), fmt_bytes(b.get("barge_bytes_uploaded")),
                                                                         b.get("barge_bucket_objects")),
                         "restic": "%s (data_added %s, %s objects)" % (fmt_bytes(rb), fmt_bytes(b.get("restic_data_added")),
                                                                      b.get("restic_bucket_objects")),
                         "ratio": NA if x is None else "%.2fx restic's bytes" % x, "target": "<= restic",
                         "result": verdict(None if x is None else bb <= rb)})
        for part, label in (("first", "first upload, from files: barge snapshot + push vs restic backup"),
                            ("small", "upload after the small change, from files: barge snapshot + push vs restic backup")):
            bs, rs = med(part + "_barge_s")[0], med(part + "_restic_s")[0]
            x = div(rs, bs)
            rows.append({"measure": "%s (%s page cache, until durable)" % (label, s.get("cache", "cold")),
                         "barge": tcell(part + "_barge_s", "; snapshot %s, push alone %s" % (
                             NA if med(part + "_barge_snapshot_s")[0] is None else "%.2f s" % med(part + "_barge_snapshot_s")[0],
                             NA if med(part + "_barge_push_s")[0] is None else "%.2f s" % med(part + "_barge_push_s")[0])),
                         "restic": tcell(part + "_restic_s"),
                         "ratio": NA if x is None else "%.2fx restic's speed (push alone %.2fx)" % (
                             x, div(rs, med(part + "_barge_push_s")[0]) or 0),
                         "target": ">= 1x restic (time <= restic's)", "result": verdict(None if x is None else x >= 1)})
        bs, rs = med("restore_barge_s")[0], med("restore_restic_s")[0]
        x = div(rs, bs)
        rows.append({"measure": "restore onto a bare machine from the bucket (barge restore --offsite, no state dir; restic restore "
                                "latest, empty cache), %s page cache, until durable" % s.get("cache", "cold"),
                     "barge": tcell("restore_barge_s", "; %s downloaded" % fmt_bytes(s.get("restore_barge_bytes_downloaded"))),
                     "restic": tcell("restore_restic_s"), "ratio": NA if x is None else "%.2fx restic's speed" % x,
                     "target": ">= 1x restic (time <= restic's)", "result": verdict(None if x is None else x >= 1)})
        same = s.get("restore_identical") or {}
        rows.append({"measure": "restored trees vs the source (first run, treecmp.py)",
                     "barge": "identical" if same.get("barge") else "DIFFERS", "restic": "identical" if same.get("restic") else "DIFFERS",
                     "ratio": "", "target": "identical", "result": verdict(bool(same.get("barge")))})
        rss = s.get("peak_rss_kib") or {}

        def peak(*keys):
            v = [rss.get(k) for k in keys if rss.get(k)]
            return fmt_mib(max(v) if v else None)

        rows.append({"measure": "peak RSS (max over the runs and both uploads)",
                     "barge": "snapshot %s / push %s / restore %s" % (
                         peak("first_barge_snapshot_rss_kib", "small_barge_snapshot_rss_kib"),
                         peak("first_barge_push_rss_kib", "small_barge_push_rss_kib"), peak("restore_barge_rss_kib")),
                     "restic": "backup %s / restore %s" % (peak("first_restic_rss_kib", "small_restic_rss_kib"), peak("restore_restic_rss_kib")),
                     "ratio": "", "target": "(info)", "result": "-"})
    if data:
        v = data.get("versions") or {}
        ch = (s or {}).get("change") or {}
        notes.append("data: the real-files tree (%d files, %d dirs, %s%s); the small change: %d files (%.0f%% of the regular files, a fixed "
                     "sample), every other one 4 KiB overwritten in its middle, the others a line appended: %s changed in files of %s."
                     % (data.get("files", 0), data.get("dirs", 0), fmt_bytes(data.get("bytes")),
                        ", fraction %s" % data.get("fraction") if (data.get("fraction") or 1) < 1 else "",
                        ch.get("files_changed", data.get("change_files", 0)), 100 * (data.get("change_share") or 0),
                        fmt_bytes(ch.get("bytes_changed")), fmt_bytes(ch.get("bytes_of_changed_files"))))
        notes.append("server: moto %s on loopback, SigV4 signatures checked (scripts/s3-test-server.py, with its fix of "
                     "moto's query encoding so that restic's listings pass the check), a fresh server per run, a bucket per tool. "
                     "%s, repository v2, default compression; both encrypt. barge: %s." % (
                         v.get("moto", "?"), v.get("restic", "restic ?"), data.get("barge")))
        notes.append("times: medians of %s runs [min-max], each run from fresh buckets, state and caches; page cache dropped before the "
                     "barge snapshot (its push follows at once), before restic's backup and before each restore; every step until "
                     "durable (trailing sync). Bytes: the first run's (all runs in offsite_run*)." % (s or data).get("runs"))
    if errs:
        notes.append("ERRORS: " + "; ".join(e[:300] for e in errs))
    return rows, notes


def markdown_offsite(rows, notes):
    if not rows and not notes:
        return ""
    out = ["", "## Off-site copies to S3 (issue 10)", ""] + ["- " + n for n in notes] + [""]
    if not rows:
        return "\n".join(out) + "\n"
    cols = ["measure", "barge", "restic 0.14", "ratio", "target", "pass/fail"]
    out += table(cols, rows, ["measure", "barge", "restic", "ratio", "target", "result"])
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--md", dest="md_out")
    args = ap.parse_args()
    res = Results(load_records(args.results))
    cfg = res.rec("config") or {}
    if cfg.get("only") in ("replication", "moves", "failover", "realfiles", "gc", "rollback", "retention", "offsite", "scale"):
        rows, notes = [], ["snapshot part skipped (BENCH_ONLY=%s)" % cfg.get("only")]
    else:
        rows, notes = build(res)
    alone = cfg.get("only") in ("failover", "realfiles", "gc", "rollback", "retention", "offsite", "scale")   # parts that generate no data of the others
    repl_rows, repl_notes = ([], []) if alone else build_repl(res)
    moves_rows, moves_notes = ([], []) if alone else build_moves(res)
    failover_rows, failover_notes = build_failover(res)
    real_rows, real_notes = build_realfiles(res)
    scale_rows, scale_notes = build_scale(res)
    offsite_rows, offsite_notes = build_offsite(res)
    gc_rows, gc_notes = build_gc(res)
    gc_rows += build_rollback(res) + build_retention(res)
    if gc_rows and not gc_notes:
        gc_notes = ["BENCH_ONLY=%s" % cfg.get("only")]
    md = markdown(rows, notes, cfg) if rows else "# barge benchmark (%s)\n\n- %s\n" % (
        cfg.get("started", ""), "\n- ".join(notes))
    md += markdown_repl(repl_rows, repl_notes)
    md += markdown_moves(moves_rows, moves_notes)
    md += markdown_failover(failover_rows, failover_notes)
    md += markdown_realfiles(real_rows, real_notes)
    md += markdown_offsite(offsite_rows, offsite_notes)
    md += markdown_gc(gc_rows, gc_notes)
    md += markdown_scale(scale_rows, scale_notes)
    all_rows = rows + repl_rows + moves_rows + failover_rows + real_rows + offsite_rows + gc_rows + scale_rows
    missed = [r["measure"] for r in all_rows if r["result"] == "FAIL"]
    passed = [r["measure"] for r in all_rows if r["result"] == "PASS"]
    if args.md_out:
        with open(args.md_out, "w") as fh:
            fh.write(md)
    if args.json_out:
        data = {k: res.doc(k) for k in ("gen_tree", "gen_db", "mutate_tree", "mutate_tree2",
                                        "mutate_big", "mutate_db", "gen_many", "mutate_many")}
        for k in ("repl_gen_big", "repl_mutate_tree", "repl_mutate_db", "repl_mutate_big",
                  "repl_change_tree", "repl_change_big", "moves_change_mig", "moves_diverge_fo1"):
            data[k] = res.doc(k)
        doc = {"config": cfg, "notes": notes, "data": data, "rows": rows,
               "replication_notes": repl_notes, "replication_rows": repl_rows,
               "moves_notes": moves_notes, "moves_rows": moves_rows,
               "failover_notes": failover_notes, "failover_rows": failover_rows,
               "realfiles_notes": real_notes, "realfiles_rows": real_rows,
               "offsite_notes": offsite_notes, "offsite_rows": offsite_rows, "gc_notes": gc_notes, "gc_rows": gc_rows,
               "scale_notes": scale_notes, "scale_rows": scale_rows,
               "passed": len(passed),
               "failed": len(missed), "missed": missed, "records": res.recs}
        with open(args.json_out, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    sys.stdout.write(md)
    print("\ntargets met: %d of %d checked (%d n/a)%s" % (
        len(passed), len(passed) + len(missed), sum(1 for r in all_rows if r["result"] == NA),
        "; missed: " + "; ".join(missed) if missed else ""))
    return 3 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
