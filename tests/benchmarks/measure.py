"""The measurements. Each runs in its own forked child process (see runner.py) with a fresh
database connection, opened before the clock starts; each returns a dict of figures.

Comparisons are interleaved inside one run: tracking on, tracking off and a bare insert take
turns request by request (in rotating order), and the rebuild and its hand-written SQL take
turns repetition by repetition, so drift in the machine's load falls on both sides alike.
"""

from __future__ import annotations

import datetime
import gc
import random
import re
import resource
import statistics
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.test.client import ClientHandler, RequestFactory
from django.utils import timezone

from wagtail_segments.segments.database import preview_queries, segment_queries

from . import data, scenario

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


def figure(value, unit: str, **extra) -> dict:
    return {"value": value, "unit": unit, **extra}


def median(values) -> float:
    return statistics.median(values)


def fresh_connection() -> None:
    """Close this process's connection and open a new one, outside any timing."""
    connection.close()
    connection.ensure_connection()


def timed(func):
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def hand_ids(meta: dict, now) -> list[int]:
    with segment_queries(), connection.cursor() as cursor:
        cursor.execute(scenario.hand_sql(connection.vendor), scenario.hand_params(meta, now, connection))
        return [row[0] for row in cursor.fetchall()]


def hand_count(meta: dict, now) -> int:
    with preview_queries(), connection.cursor() as cursor:  # the preview's session settings, to be fair
        cursor.execute(scenario.hand_sql(connection.vendor, count=True), scenario.hand_params(meta, now, connection))
        return cursor.fetchone()[0]


def five_segment():
    from wagtail_segments.segments.models import Segment

    return Segment.objects.get(slug=scenario.FIVE_SLUG)


def reset_segment(segment) -> int:
    """Empty the segment's memberships (a first build again); returns the highest event id,
    above which the rebuild's own entered/left events will be removed afterwards."""
    from wagtail_segments.contacts.models import Event
    from wagtail_segments.segments.models import Membership, Segment

    with transaction.atomic():
        Membership.objects.filter(segment=segment).delete()
        Segment.objects.filter(pk=segment.pk).update(member_count=0, last_rebuilt_at=None)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM wagtail_segments_membership")
    return Event.objects.aggregate(m=Max("id"))["m"] or 0


def drop_events_after(mark: int) -> None:
    from wagtail_segments.contacts.models import Event

    Event.objects.filter(id__gt=mark, kind__in=["segment_entered", "segment_left"]).delete()


# --------------------------------------------------------------------------- preview


def preview(meta: dict, reps: int) -> dict:
    """Count the five-rule segment's members as the editor's live preview would: the
    compiled query over the whole contact table, unsaved segment, one COUNT."""
    from wagtail_segments.segments.evaluation import count_matches
    from wagtail_segments.segments.models import Segment

    now = timezone.now()
    unsaved = Segment(name="preview", slug="preview", match="all", rules=scenario.five_rules(meta))
    engine, hand = [], []
    expected = None
    for rep in range(reps):
        order = ("engine", "sql") if rep % 2 == 0 else ("sql", "engine")
        for which in order:
            fresh_connection()
            if which == "engine":
                seconds, count = timed(lambda: count_matches(unsaved, now=now))
                engine.append(seconds)
            else:
                seconds, count = timed(lambda: hand_count(meta, now))
                hand.append(seconds)
            if expected is None:
                expected = count
            assert count == expected, f"preview count {count} != {expected} ({which})"
    contacts = meta["contacts"]
    return {
        "segment_preview_ms": figure(round(median(engine) * 1000, 1), "ms"),
        "segment_preview_sql_ms": figure(round(median(hand) * 1000, 1), "ms"),
        "segment_members": figure(expected, "contacts"),
        "segment_members_share": figure(round(100 * expected / contacts, 2), "%"),
    }


def admin_preview(meta: dict, reps: int) -> dict:
    """The segment editor's live-preview request for the five-rule segment, as the browser
    sends it: a logged-in editor posts the unsaved form (rules in the StreamField editor's
    shape) and gets the count and the first 20 contacts back. The preview's time limit is
    lifted so the figure is the full answer, not the limit; the figure says whether the
    default limit would have answered "still counting"."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from tests.admin_helpers import segment_form
    from wagtail_segments.conf import DEFAULTS

    User = get_user_model()
    editor = User.objects.filter(username="bench-editor").first() or User.objects.create_superuser(
        "bench-editor", "bench-editor@example.com", "bench")
    data = segment_form(*scenario.five_rules(meta), name="preview", slug="preview")
    unlimited = {**getattr(settings, "WAGTAIL_SEGMENTS", {}), "ADMIN_PREVIEW_TIMEOUT_MS": 600_000}
    # A running server has imported and compiled what the request needs (templates, URL
    # patterns, rule modules): one untimed request first, its query stopped at once.
    warm = Client()
    warm.force_login(editor)
    with override_settings(WAGTAIL_SEGMENTS={**unlimited, "ADMIN_PREVIEW_TIMEOUT_MS": 1}):
        warm.post("/admin/marketing/segments/preview/", data)
    times = []
    with override_settings(WAGTAIL_SEGMENTS=unlimited):
        for _rep in range(reps):
            fresh_connection()
            client = Client()
            client.force_login(editor)
            seconds, response = timed(lambda: client.post("/admin/marketing/segments/preview/", data))
            html = response.content.decode()
            assert response.status_code == 200 and "data-wsg-preview-count=" in html, html[:500]
            assert 'data-wsg-preview-count="counting"' not in html
            times.append(seconds)
    ms = round(median(times) * 1000, 1)
    return {
        "admin_segment_preview_ms": figure(ms, "ms"),
        "admin_segment_preview_within_limit": figure(int(ms <= DEFAULTS["ADMIN_PREVIEW_TIMEOUT_MS"]), "yes=1"),
    }


def admin_contacts_list(meta: dict, reps: int) -> dict:
    """The contacts listing's first page as a logged-in editor opens it from the menu: the
    default filter (identified contacts), newest first, its count and page of 100 rows;
    server time of the whole request, on a new connection each time."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    User = get_user_model()
    editor = User.objects.filter(username="bench-editor").first() or User.objects.create_superuser(
        "bench-editor", "bench-editor@example.com", "bench")
    times = []
    for _rep in range(reps):
        fresh_connection()
        client = Client()
        client.force_login(editor)
        seconds, response = timed(lambda: client.get("/admin/wagtail_segments/contact/"))
        assert response.status_code == 200, response.status_code
        times.append(seconds)
    return {"admin_contacts_list_ms": figure(round(median(times) * 1000, 1), "ms")}


# --------------------------------------------------------------------------- rebuild


def rebuild(meta: dict, reps: int) -> dict:
    """First builds (memberships empty) of the five-rule segment against the hand-written
    SQL computing the same member set, turn about; then steady-state rebuilds."""
    from wagtail_segments.segments.evaluation import rebuild_segment
    from wagtail_segments.segments.models import Membership

    now = timezone.now()
    first, hand, steady = [], [], []
    checked = False
    for rep in range(reps):
        order = ("rebuild", "sql") if rep % 2 == 0 else ("sql", "rebuild")
        for which in order:
            if which == "rebuild":
                segment = five_segment()
                mark = reset_segment(segment)
                segment = five_segment()
                fresh_connection()
                seconds, outcome = timed(lambda: rebuild_segment(segment, now=now))
                first.append(seconds)
                if not checked:
                    members = set(Membership.objects.filter(segment=segment, excluded=False)
                                  .values_list("contact_id", flat=True))
                    expected = set(hand_ids(meta, now))
                    assert members == expected, (
                        f"rebuild and hand-written SQL disagree: {len(members)} vs {len(expected)} "
                        f"members, {len(members - expected)} only in the rebuild, "
                        f"{len(expected - members)} only in the SQL")
                    assert expected, "the five-rule segment is empty: the data shape is wrong"
                    checked = True
                drop_events_after(mark)
            else:
                fresh_connection()
                seconds, ids = timed(lambda: hand_ids(meta, now))
                hand.append(seconds)
    for rep in range(reps):
        segment = five_segment()
        fresh_connection()
        seconds, outcome = timed(lambda: rebuild_segment(segment, now=now))
        assert outcome.entered == outcome.left == 0, outcome
        steady.append(seconds)
    return {
        "rebuild_seconds": figure(round(median(first), 3), "s"),
        "rebuild_sql_seconds": figure(round(median(hand), 3), "s"),
        "rebuild_ratio_vs_sql": figure(round(median(first) / median(hand), 2), "x"),
        "rebuild_steady_seconds": figure(round(median(steady), 3), "s"),
        "rebuild_steady_ratio_vs_sql": figure(round(median(steady) / median(hand), 2), "x"),
    }


def rebuild_peak(meta: dict) -> dict:
    """Peak resident memory added by one first build, in a child that does nothing else:
    ru_maxrss after the build minus ru_maxrss before it (a forked child starts at the
    parent's current RSS)."""
    from wagtail_segments.segments.evaluation import rebuild_segment

    segment = five_segment()
    mark = reset_segment(segment)
    segment = five_segment()
    fresh_connection()
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rebuild_segment(segment)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    drop_events_after(mark)
    return {
        "rebuild_peak_mb": figure(round((after - before) / 1024, 1), "MB"),
        "rebuild_peak_rss_mb": figure(round(after / 1024, 1), "MB"),
    }


# --------------------------------------------------------------------------- tracking


WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
TABLE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.IGNORECASE)


@contextmanager
def tracking(on: bool):
    config = settings.WAGTAIL_SEGMENTS
    previous = config.get("PAGE_VIEWS")
    config["PAGE_VIEWS"] = "server" if on else "off"
    config["INJECT_BEACON"] = False
    try:
        yield
    finally:
        config["PAGE_VIEWS"] = previous


def tracking_overhead(meta: dict, reps: int, views: int) -> dict:
    """Server time of a Wagtail page view through the full handler, tracking on against
    off, and one bare ORM insert of the same event row, turn about, for a returning visitor
    (signed cookie set) with 50 dynamic segments defined."""
    from wagtail_segments.conf import settings as conf
    from wagtail_segments.contacts.identity import _signer
    from wagtail_segments.contacts.models import Contact, Event
    from wagtail_segments.segments.models import Segment
    from wagtail_segments.tracking import recorder

    assert Segment.objects.dynamic().count() == 50
    url = meta["sample_page_url"]
    page_id = next(pk for pk, u in meta["ranked_pages"] if u == url)
    contact_id = Contact.objects.filter(pk__gte=meta["contacts"] // 2).order_by("pk").values_list("pk", flat=True)[0]
    cookie = f"{conf.COOKIE_NAME}={_signer().sign(str(contact_id))}"
    factory = RequestFactory()
    handler = ClientHandler(enforce_csrf_checks=False)

    def environ():
        return factory._base_environ(
            PATH_INFO=url, REQUEST_METHOD="GET", QUERY_STRING="", SERVER_NAME="localhost",
            HTTP_USER_AGENT=BROWSER_UA, HTTP_COOKIE=cookie, HTTP_ACCEPT="text/html",
        )

    def view(on: bool) -> float:
        env = environ()
        with tracking(on):
            started = time.perf_counter()
            response = handler(env)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        return elapsed

    def insert() -> float:
        started = time.perf_counter()
        Event.objects.create(contact_id=contact_id, kind="page_view", site_id=meta["site_id"], page_id=page_id,
                             path=url, device="desktop", ip="127.0.0.0")
        return time.perf_counter() - started

    fresh_connection()
    before = Event.objects.filter(contact_id=contact_id, kind="page_view").count()
    view(True)
    assert Event.objects.filter(contact_id=contact_id, kind="page_view").count() == before + 1, "tracking wrote no event"
    for _ in range(max(20, views // 5)):  # warm up: templates, caches, plans
        view(False), view(True), insert()

    rounds = interleave({"off": lambda: view(False), "on": lambda: view(True), "insert": insert}, reps, views)
    overheads = [r["on"] - r["off"] for r in rounds]
    ratios = [(r["on"] - r["off"]) / r["insert"] for r in rounds]

    # Writes per view: every INSERT/UPDATE/DELETE of many views, the debounced enqueue of
    # the background pass included, from a fresh debounce (as in a new web process).
    recorder.reset_debounce()
    count = max(100, views * 5)
    with counting() as statements:
        started = time.monotonic()
        for _ in range(count):
            view(True)
        duration = time.monotonic() - started
    writes: dict[str, int] = {}
    for sql in statements:
        if WRITE.match(sql):
            table = TABLE.match(sql)
            key = table.group(1) if table else "?"
            writes[key] = writes.get(key, 0) + 1
    with counting() as statements_off:
        for _ in range(50):
            view(False)
    with counting() as statements_on:
        for _ in range(50):
            view(True)
    return {
        "tracking_overhead_ms": figure(round(median(overheads), 3), "ms"),
        "tracking_overhead_vs_insert": figure(round(median(ratios), 2), "x"),
        "tracking_writes_per_view": figure(
            round(sum(writes.values()) / count, 4), "writes",
            detail={"views": count, "seconds": round(duration, 1), "writes_by_table": writes}),
        "page_view_off_ms": figure(round(median(r["off"] for r in rounds), 3), "ms"),
        "page_view_on_ms": figure(round(median(r["on"] for r in rounds), 3), "ms"),
        "event_insert_ms": figure(round(median(r["insert"] for r in rounds), 3), "ms"),
        "page_view_queries_off": figure(len(statements_off) / 50, "queries"),
        "page_view_queries_on": figure(len(statements_on) / 50, "queries"),
    }


@contextmanager
def counting():
    """Every statement sent on this connection (no debug cursor, no 9,000-query cap)."""
    seen: list[str] = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def interleave(steps: dict, reps: int, views: int) -> list[dict]:
    names = list(steps)
    rounds = []
    for rep in range(reps):
        samples = {name: [] for name in names}
        for i in range(views):
            for name in names[i % len(names):] + names[:i % len(names)]:
                samples[name].append(steps[name]())
        rounds.append({k: median(v) * 1000 for k, v in samples.items()})
    return rounds


# --------------------------------------------------------------------------- incremental


def incremental(meta: dict, reps: int, per_rep: int = 1000) -> dict:
    """New events (skewed like the history: 95 % page views, 3.5 % time on page, 1.5 %
    forms) written in bulk, then the background pass over them timed: it moves last seen,
    and re-evaluates the touched contacts against every dynamic segment a change of those
    kinds can move (all 50 are built)."""
    from wagtail_segments.contacts.models import Event, ProcessingPosition
    from wagtail_segments.contacts.tasks import POSITION_NAME, process_new_events
    from wagtail_segments.segments.models import Segment

    assert Segment.objects.dynamic().filter(last_rebuilt_at__isnull=False).count() == 50
    n = meta["contacts"]
    p, _ = data.coprime_step(n)
    ranked = meta["ranked_pages"]
    rng = random.Random(data.SEED + 1)
    forms = [meta["contact_form_id"], meta["newsletter_form_id"]]
    roles = data.expand(data.ROLES)
    utms = data.expand(data.UTM_SOURCES)
    samples, touched = [], []
    for rep in range(reps):
        now = timezone.now()
        new = []
        for _ in range(per_rep):
            contact = (int(n * rng.random() ** data.CONTACT_SKEW) * p) % n + 1
            pick = rng.random()
            when = now - datetime.timedelta(seconds=rng.random() * 60)
            if pick < data.FORM_SHARE:
                page = forms[rng.random() < 0.4]
                new.append(Event(contact_id=contact, kind="form_submission", time=when, site_id=meta["site_id"],
                                 page_id=page, data={"form": "contact", "answers": {"role": rng.choice(roles)}}))
            else:
                page_id, url = ranked[int(len(ranked) * rng.random() ** data.PAGE_SKEW)]
                kind = "time_on_page" if pick < data.FORM_SHARE + data.TIME_ON_PAGE_SHARE else "page_view"
                new.append(Event(contact_id=contact, kind=kind, time=when, site_id=meta["site_id"], page_id=page_id,
                                 path=url, device="desktop", utm_source=rng.choice(utms)))
        fresh_connection()
        newest = Event.objects.aggregate(m=Max("id"))["m"] or 0
        ProcessingPosition.objects.update_or_create(name=POSITION_NAME, defaults={"position": newest})
        new.sort(key=lambda e: e.time)  # as a site writes them: ids rise with time
        Event.objects.bulk_create(new, batch_size=1000)
        touched.append(len({e.contact_id for e in new}))
        fresh_connection()
        seconds, advanced = timed(process_new_events)
        assert advanced >= per_rep, (advanced, per_rep)
        samples.append(seconds)
    return {
        "incremental_ms_per_event": figure(round(median(samples) * 1000 / per_rep, 3), "ms",
                                           detail={"events": per_rep, "contacts_touched": median(touched)}),
    }


# --------------------------------------------------------------------------- full rebuild


def rebuild_all(meta: dict) -> dict:
    """The scheduled full rebuild (every SEGMENT_REBUILD_MINUTES): all 50 dynamic segments,
    steady state (memberships already built), once."""
    from wagtail_segments.segments.tasks import rebuild_all_segments

    fresh_connection()
    seconds, results = timed(rebuild_all_segments)
    assert len(results) == 50, len(results)
    return {"rebuild_all_seconds": figure(round(seconds, 1), "s", detail="all 50 segments, steady state, one pass")}
