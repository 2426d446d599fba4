"""Command line, database lifecycle, child processes and the table (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/"
MEASUREMENTS = ["preview", "admin_preview", "admin_list", "rebuild", "peak", "tracking", "incremental", "campaigns", "throughput"]
OPTIONAL = ["rebuild_all"]  # long at 1M contacts: only when named in --only

# figure: (operator, target, judged only on PostgreSQL, judged only at >= 1M contacts / 10M events)
TARGETS = {
    "tracking_overhead_ms": ("<=", 1.0, True, False),
    "tracking_overhead_vs_insert": ("<=", 1.5, True, False),
    "tracking_writes_per_view": ("<=", 1.0, False, False),
    "rebuild_seconds": ("<=", 20.0, True, True),
    "rebuild_ratio_vs_sql": ("<=", 1.5, True, True),
    "rebuild_peak_mb": ("<=", 300.0, False, True),
    "incremental_ms_per_event": ("<=", 5.0, True, False),
    "segment_preview_ms": ("<=", 1000.0, True, True),
    "admin_segment_preview_ms": ("<=", 1000.0, True, True),
    "admin_contacts_list_ms": ("<=", 500.0, True, True),
    "event_to_action_orm_p95_s": ("<=", 5.0, True, False),
    "event_to_action_redis_p95_s": ("<=", 5.0, True, False),
    "wait_due_lag_p95_s": ("<=", 5.0, True, False),
    "wait_due_lag_schedule_p95_s": ("<=", 5.0, True, False),
    "campaign_steps_per_s": (">=", 300.0, True, False),
    "campaign_speedup_2_workers": (">=", 1.6, True, False),
    "campaign_duplicate_steps": ("<=", 0.0, False, False),
}
ORDER = [
    "tracking_overhead_ms", "tracking_overhead_vs_insert", "tracking_writes_per_view",
    "page_view_off_ms", "page_view_on_ms", "event_insert_ms",
    "page_view_queries_off", "page_view_queries_on",
    "rebuild_seconds", "rebuild_sql_seconds", "rebuild_ratio_vs_sql",
    "rebuild_steady_seconds", "rebuild_steady_ratio_vs_sql",
    "rebuild_peak_mb", "rebuild_peak_rss_mb",
    "incremental_ms_per_event",
    "segment_preview_ms", "segment_preview_sql_ms", "segment_members", "segment_members_share",
    "admin_segment_preview_ms", "admin_segment_preview_within_limit", "admin_contacts_list_ms",
    "event_to_action_orm_p50_s", "event_to_action_orm_p95_s",
    "event_to_action_redis_p50_s", "event_to_action_redis_p95_s",
    "wait_due_lag_p50_s", "wait_due_lag_p95_s", "wait_due_lag_schedule_p50_s", "wait_due_lag_schedule_p95_s",
    "campaign_steps_per_s", "campaign_steps_per_s_2_workers", "campaign_speedup_2_workers",
    "campaign_duplicate_steps", "campaign_worker_cpu_ms_per_step", "campaign_queries_per_step",
    "rebuild_all_seconds", "load_seconds", "contacts", "events",
]


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--contacts", type=int, help="default 100,000 (--quick: 5,000)")
    parser.add_argument("--events", type=int, help="default 10 per contact")
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer views: under a minute")
    parser.add_argument("--json", metavar="FILE", help="write the figures as one JSON object")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each measurement (at least 5)")
    parser.add_argument("--views", type=int, help="page views per mode and repetition (default 200; --quick 20)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(MEASUREMENTS + OPTIONAL)}")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--reuse", metavar="NAME", help="measure an existing database kept by --keep")
    parser.add_argument("--migrate", action="store_true", help="replay the migrations instead of creating the schema from the models")
    parser.add_argument("--no-analyse", dest="analyse", action="store_false",
                        help="SQLite: leave the loaded tables without planner statistics")
    parser.add_argument("--campaign-steps", type=int, default=None,
                        help="due email steps per campaign repetition (default 10,000; --quick 1,000)")
    parser.add_argument("--profile", metavar="FILE", help="also profile one first build of the five-rule segment into FILE")
    args = parser.parse_args(argv)
    args.contacts = args.contacts or (5_000 if args.quick else 100_000)
    args.events = args.events or args.contacts * 10
    args.views = args.views or (20 if args.quick else 200)
    args.campaign_steps = args.campaign_steps or (1_000 if args.quick else 10_000)
    args.pages_per_section = 4 if args.quick else 40
    args.only = args.only.split(",") if args.only else list(MEASUREMENTS)
    unknown = set(args.only) - set(MEASUREMENTS + OPTIONAL)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    if args.reps < 5:
        print(f"warning: --reps {args.reps}: the figures are meant as medians of at least 5", file=sys.stderr)
    return args


# --------------------------------------------------------------------------- databases


class Database:
    """The run's own database: created before Django connects, dropped at the end."""

    def __init__(self, args):
        self.args = args
        self.created = False
        if args.db == "postgres":
            base = os.environ.get("WSG_BENCH_POSTGRES", DEFAULT_POSTGRES).rstrip("/")
            self.name = args.reuse or f"wsg_bench_{os.getpid()}"
            self.url = f"{base}/{self.name}"
            self.server = f"{base}/postgres"
        else:
            if args.reuse:
                self.path = args.reuse
                self.tempdir = None
            else:
                self.tempdir = tempfile.mkdtemp(prefix="wsg_bench_")
                self.path = os.path.join(self.tempdir, "bench.sqlite3")
            self.name = self.path
            self.url = self.path

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        if self.args.reuse:
            return
        if self.args.db == "postgres":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
            self._admin(f'CREATE DATABASE "{self.name}"')
        self.created = True

    def drop(self) -> None:
        if self.args.keep or self.args.reuse or not self.created:
            return
        if self.args.db == "postgres":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.tempdir:
            shutil.rmtree(self.tempdir, ignore_errors=True)


# --------------------------------------------------------------------------- children


def in_child(func, *args):
    """Run func(*args) in a forked child with no inherited database connection; returns
    its result (JSON-able) or raises with the child's traceback."""
    from django.db import connections

    connections.close_all()
    sys.stdout.flush()
    sys.stderr.flush()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        code = 0
        try:
            payload = {"result": func(*args)}
        except BaseException:  # noqa: BLE001  (reported to the parent)
            payload = {"error": traceback.format_exc()}
            code = 1
        try:
            connections.close_all()
        except Exception:  # noqa: BLE001
            pass
        with os.fdopen(write, "w") as out:
            json.dump(payload, out)
        sys.stdout.flush()
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as incoming:
        text = incoming.read()
    os.waitpid(pid, 0)
    payload = json.loads(text) if text else {"error": "the child died without a word"}
    if "error" in payload:
        raise ChildFailed(payload["error"])
    return payload["result"]


class ChildFailed(Exception):
    pass


# --------------------------------------------------------------------------- setup


def setup(args) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from . import data, scenario

    started = time.monotonic()
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    print(f"  · schema in {time.monotonic() - started:.1f}s", flush=True)
    meta = data.generate(args.contacts, args.events, pages_per_section=args.pages_per_section, analyse=args.analyse)
    print(f"  · data in {meta['load_seconds']:.1f}s", flush=True)

    from wagtail_segments.segments.evaluation import rebuild_segment

    five = scenario.create_segments(meta)
    started = time.monotonic()
    rebuild_segment(five)
    print(f"  · five-rule segment built by the engine in {time.monotonic() - started:.1f}s "
          f"({five.member_count:,} members)", flush=True)
    if not {"incremental", "rebuild_all"} & set(args.only):
        print("  · the 49 other segments are defined, not built (no incremental measurement)", flush=True)
        meta["build_49_segments_seconds"] = 0.0
        data.save_meta(meta)
        connection.close()
        return meta
    build_other_segments(meta, five, args.analyse)
    data.save_meta(meta)
    connection.close()
    return meta


def build_other_segments(meta: dict, five, analyse: bool = True) -> None:
    """The 49 others only need to be built (the incremental path skips unbuilt segments): their
    memberships are written by one INSERT … SELECT over the engine's own compiled query,
    the state a rebuild would leave, without the first-build cost of 49 segments."""
    from django.db import connection

    from wagtail_segments.segments.models import Segment

    from . import scenario

    started = time.monotonic()
    sizes = []
    for segment in Segment.objects.dynamic().exclude(pk=five.pk).filter(last_rebuilt_at__isnull=True).order_by("pk"):
        sizes.append((scenario.build_by_sql(segment), segment.slug))
    meta["build_49_segments_seconds"] = time.monotonic() - started
    with connection.cursor() as cursor:  # as autovacuum would, before anything is measured
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE wagtail_segments_membership")
        elif analyse:
            cursor.execute("ANALYZE")
    sizes.sort(reverse=True)
    print(f"  · {len(sizes)} other segments built by SQL in {meta['build_49_segments_seconds']:.1f}s; largest: "
          + ", ".join(f"{slug} {n:,}" for n, slug in sizes[:4]), flush=True)


# --------------------------------------------------------------------------- output


def verdict(key: str, value, vendor: str, contacts: int, events: int) -> tuple[str, str]:
    if key not in TARGETS:
        return "", ""
    op, target, postgres_only, full_size_only = TARGETS[key]
    text = f"{op} {target:g}"
    if not isinstance(value, (int, float)):
        return text, "?"
    judged = (not postgres_only or vendor == "postgresql") and (
        not full_size_only or (contacts >= 1_000_000 and events >= 10_000_000))
    ok = value <= target if op == "<=" else value >= target
    if not judged:
        return text, "(ok)" if ok else "(over)"
    return text, "ok" if ok else "MISSED"


def table(figures: dict, vendor: str, contacts: int, events: int) -> str:
    keys = [k for k in ORDER if k in figures] + [k for k in figures if k not in ORDER]
    rows = [("figure", "value", "unit", "target", "")]
    for key in keys:
        fig = figures[key]
        value = fig["value"]
        shown = f"{value:,}" if isinstance(value, int) else (f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value))
        target, mark = verdict(key, value, vendor, contacts, events)
        rows.append((key, shown, fig["unit"], target, mark))
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(str(c).rjust(w) if i == 1 else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse(argv if argv is not None else sys.argv[1:])
    started = time.monotonic()
    db = Database(args)
    os.environ["WSG_BENCH_DATABASE"] = db.url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.benchmarks.settings"
    if args.migrate:
        os.environ["WSG_BENCH_MIGRATE"] = "1"
    db.create()
    try:
        import django

        django.setup()
        from django.db import connection

        from . import campaigns, data, measure, throughput

        vendor = connection.vendor
        sizes = "sizes of the kept database" if args.reuse else f"{args.contacts:,} contacts, {args.events:,} events"
        print(f"wagtail_segments benchmarks: {vendor} ({db.name}), {sizes}, {args.reps} repetitions", flush=True)
        if args.reuse:
            meta = data.load_meta()
            if {"incremental", "rebuild_all"} & set(args.only):
                build_other_segments(meta, measure.five_segment(), args.analyse)
                data.save_meta(meta)
            connection.close()
        else:
            meta = setup(args)
        figures = {
            "contacts": measure.figure(meta["contacts"], "contacts"),
            "events": measure.figure(meta["events"], "events"),
            "load_seconds": measure.figure(round(meta["load_seconds"], 1), "s"),
        }
        jobs = {
            "preview": (measure.preview, meta, args.reps),
            "admin_preview": (measure.admin_preview, meta, args.reps),
            "admin_list": (measure.admin_contacts_list, meta, args.reps),
            "rebuild": (measure.rebuild, meta, args.reps),
            "peak": (measure.rebuild_peak, meta),
            "tracking": (measure.tracking_overhead, meta, args.reps, args.views),
            "incremental": (measure.incremental, meta, args.reps, 200 if args.quick else 1000),
            "rebuild_all": (measure.rebuild_all, meta),
            "campaigns": (campaigns.timeliness, meta, args.reps, args.quick),
            "throughput": (throughput.campaign_steps, args.reps, args.campaign_steps),
        }
        failed = []
        for name in MEASUREMENTS + OPTIONAL:
            if name not in args.only:
                continue
            step = time.monotonic()
            try:
                figures.update(in_child(*jobs[name]))
                print(f"  · {name} in {time.monotonic() - step:.1f}s", flush=True)
            except ChildFailed as failure:
                failed.append(name)
                print(f"  ! {name} failed:\n{failure}", file=sys.stderr, flush=True)
        if args.profile:
            from .profiling import profile_rebuild

            print(f"  · profile: {in_child(profile_rebuild, meta, os.path.abspath(args.profile))}", flush=True)
        print()
        print(table(figures, vendor, meta["contacts"], meta["events"]))
        print(f"\n{vendor} · {platform.python_implementation()} {platform.python_version()} · "
              f"{os.cpu_count()} CPUs · total {time.monotonic() - started:.0f}s")
        if args.keep:
            print(f"kept the database: --reuse {db.name}")
        if args.json:
            with open(args.json, "w") as out:
                json.dump(figures, out, indent=2)
        return 1 if failed else 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001
            pass
        db.drop()
