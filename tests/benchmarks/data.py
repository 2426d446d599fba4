"""The benchmark's data: a Wagtail page tree made through Wagtail, and contacts, companies,
tags and events made inside the database by set-based SQL (PostgreSQL ``generate_series``,
SQLite a recursive CTE), so that 1,000,000 contacts and 10,000,000 events load in minutes.

The shape is fixed here, not by the command line, so that runs compare:

- 365 days of history, denser towards now (a site that grows): about 27 % of events fall in
  the last 30 days;
- activity is skewed: an event's contact is the one of rank ``N·u^CONTACT_SKEW``, so a few
  contacts are far more active than the rest; ranks are scattered over contact ids by a
  multiplicative permutation, so active contacts are not bunched at low ids;
- pages are skewed the same way (a few pages take most views); the Products section takes
  about 28 % of all views;
- what a contact is follows its activity, as on a real site: active contacts are more
  often identified (an email), tagged, given points and submit forms;
- events: 95 % page views, 3.5 % time on page, 1.5 % form submissions (with answers);
- events are written in the order a live site writes them, oldest first, so ids rise with
  time and the table is physically in time order (made and sorted a slice of time at a time);
- the five-rule segment of ``scenario.py`` holds 1-3 % of contacts.

Indexes, unique and foreign-key constraints of the loaded tables are dropped before the
load and rebuilt after it (faster than maintaining them row by row), then the tables are
analysed: PostgreSQL ``VACUUM ANALYZE``, as autovacuum would have by then; SQLite ``ANALYZE``,
which nothing in a site runs by itself (``--no-analyse`` leaves SQLite without statistics,
where its planner picks quadratic plans for some rules: see docs/scaling.md). Every index
and constraint the app declares exists again before anything is measured.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

DAYS = 365
CONTACT_SKEW = 2.2  # rank = N * u ** CONTACT_SKEW
PAGE_SKEW = 2.0
TIME_SKEW = 1.9  # age = DAYS * u ** TIME_SKEW: (30/365) ** (1/1.9) ≈ 27 % in the last 30 days
FORM_SHARE = 0.015
TIME_ON_PAGE_SHARE = 0.035
SEED = 2026
EVENTS_PER_SLICE = 1_000_000  # events made and sorted per INSERT (see load_rows)

SECTIONS = ["products", "blog", "docs", "solutions", "resources", "events", "about", "careers"]
TAGS = [
    "newsletter", "lead", "webinar", "customer", "trial", "partner", "event-2026", "vip",
    "churn-risk", "beta", "analytics", "scheduling", "integrations", "mobile", "enterprise",
    "smb", "education", "healthcare", "retail", "finance", "agency", "developer",
    "marketing", "sales", "support", "hr", "it", "operations", "founder", "student",
]
COUNTRIES = [
    ("GB", 20), ("US", 24), ("DE", 8), ("FR", 6), ("IE", 3), ("CA", 4), ("AU", 3), ("NL", 4),
    ("ES", 4), ("IT", 4), ("IN", 5), ("BR", 4), ("SE", 2), ("", 9),
]
FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hugo", "Isla", "Jay",
               "Kai", "Lena", "Max", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara"]
LAST_NAMES = ["Smith", "Jones", "Patel", "Khan", "Brown", "Garcia", "Müller", "Rossi",
              "Martin", "Kim", "Nowak", "Silva", "Walsh", "Chen", "Okafor", "Dubois"]
PLANS = [("free", 50), ("pro", 30), ("team", 15), ("enterprise", 5)]
INDUSTRIES = ["software", "retail", "health", "education", "finance", "logistics"]
UTM_SOURCES = [("", 82), ("newsletter", 6), ("google", 5), ("linkedin", 3), ("twitter", 2),
               ("partner", 2)]
UTM_CAMPAIGNS = ["spring-sale", "webinar-2026", "product-launch", "retargeting"]
DEVICES = [("desktop", 60), ("mobile", 35), ("tablet", 5)]
REFERRERS = [("", 70), ("https://www.google.com/", 18), ("https://www.linkedin.com/", 5),
             ("https://news.ycombinator.com/", 2), ("https://t.co/", 5)]
TEAM_SIZES = [("1-10", 40), ("11-50", 30), ("51-200", 20), ("200+", 10)]
ROLES = [("marketing", 25), ("it", 20), ("sales", 15), ("founder", 15), ("student", 15),
         ("other", 10)]
FREQUENCIES = [("weekly", 60), ("monthly", 40)]

LOADED_TABLES = ["wagtail_segments_contact", "wagtail_segments_event",
                 "wagtail_segments_taggedcontact", "wagtail_segments_company"]


def log(message: str) -> None:
    print(f"  · {message}", flush=True)


# --------------------------------------------------------------------------- pages


def make_pages(pages_per_section: int) -> dict:
    """Home, eight sections of content pages, a contact form and a newsletter form."""
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Locale, Page, Site

    from example_site.pages.models import ContentPage, FormField, FormPage, HomePage, SectionPage

    locale, _ = Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    root = Page.get_first_root_node()
    if root is None:
        root = Page.add_root(instance=Page(title="Root", slug="root", locale=locale))
    home = root.add_child(instance=HomePage(title="Home", slug="bench-home", locale=locale))
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)
    else:
        site.root_page = home
        site.save()
    site = Site.objects.get(is_default_site=True)

    pages: list[tuple[int, str, str]] = [(home.pk, "/", "home")]
    sections = {}
    for name in SECTIONS:
        section = home.add_child(instance=SectionPage(title=name.title(), slug=name))
        sections[name] = section
        pages.append((section.pk, f"/{name}/", name))
        for n in range(1, pages_per_section + 1):
            child = section.add_child(instance=ContentPage(
                title=f"{name.title()} {n}", slug=f"{name}-{n}", body="<p>" + "Lorem ipsum. " * 40 + "</p>",
            ))
            pages.append((child.pk, f"/{name}/{name}-{n}/", name))

    def form_page(slug, title, fields):
        page = FormPage(title=title, slug=slug, to_address="", from_address="", subject=title)
        for sort_order, (label, clean_name, field_type, choices) in enumerate(fields):
            page.form_fields.add(FormField(
                sort_order=sort_order, label=label, clean_name=clean_name, field_type=field_type,
                choices=choices, required=clean_name == "email",
            ))
        return home.add_child(instance=page)

    contact_form = form_page("contact", "Contact us", [
        ("Email", "email", "email", ""),
        ("Team size", "team_size", "dropdown", "\n".join(v for v, _ in TEAM_SIZES)),
        ("Role", "role", "dropdown", "\n".join(v for v, _ in ROLES)),
        ("Message", "message", "multiline", ""),
    ])
    newsletter_form = form_page("newsletter", "Newsletter", [
        ("Email", "email", "email", ""),
        ("Frequency", "frequency", "radio", "\n".join(v for v, _ in FREQUENCIES)),
    ])
    pages.append((contact_form.pk, "/contact/", "forms"))
    pages.append((newsletter_form.pk, "/newsletter/", "forms"))

    # Popularity order: home, then the Products section page, then the other pages in a
    # seeded shuffle that favours Products pages (they take about 28 % of all views).
    rng = random.Random(SEED)
    weight = {"products": 0.05, "forms": 1.5}
    rest = sorted(pages[2:], key=lambda p: rng.random() * weight.get(p[2], 1.0))
    ranked = pages[:2] + rest
    return {
        "site_id": site.pk,
        "home_id": home.pk,
        "section_ids": {name: page.pk for name, page in sections.items()},
        "section_paths": {name: page.path for name, page in sections.items()},
        "contact_form_id": contact_form.pk,
        "newsletter_form_id": newsletter_form.pk,
        "ranked_pages": [(pk, url) for pk, url, _ in ranked],
        "sample_page_url": f"/products/products-{min(3, pages_per_section)}/",
    }


# --------------------------------------------------------------------------- SQL dialects


def expand(weighted: list[tuple[str, int]]) -> list[str]:
    """Values repeated by weight into exactly 100 slots (index 1..100 picks by share)."""
    total = sum(w for _, w in weighted)
    slots: list[str] = []
    for value, w in weighted:
        slots += [value] * round(100 * w / total)
    return (slots + [weighted[0][0]] * 100)[:100]


class Dialect:
    vendor = ""

    def __init__(self, cursor):
        self.cursor = cursor

    def run(self, sql: str, params=None) -> None:
        self.cursor.execute(sql, params)

    def uniform(self) -> str:
        raise NotImplementedError

    def fill(self, expression: str) -> str:
        """Every ``{u}`` in ``expression`` becomes its own uniform draw in [0, 1)."""
        parts = expression.split("{u}")
        return "".join(part + (self.uniform() if i < len(parts) - 1 else "") for i, part in enumerate(parts))


class Postgres(Dialect):
    vendor = "postgresql"
    true, false, empty_json = "true", "false", "'{}'::jsonb"

    def uniform(self) -> str:
        return "random()"

    def draws(self, name: str, n: int, columns: dict[str, str]) -> str:
        """A source of n rows (i, columns...) whose random draws are fixed per row: the
        OFFSET 0 fence keeps PostgreSQL from re-evaluating them once per reference."""
        cols = ", ".join(f"{self.fill(expr)} AS {col}" for col, expr in columns.items())
        return f"(SELECT i, {cols} FROM generate_series(1, {n}) AS g(i) OFFSET 0) AS {name}"

    def pick(self, values: list, index: str) -> str:
        literal = ", ".join(quote(v) for v in values)
        return f"(ARRAY[{literal}])[CAST({index} AS int)]"

    def int(self, expression: str) -> str:
        return f"CAST(floor({expression}) AS bigint)"

    def ago(self, now: datetime.datetime, seconds: str) -> str:
        return f"(TIMESTAMPTZ '{now.isoformat()}' - ({seconds}) * INTERVAL '1 second')"

    def json(self, *pairs: str) -> str:
        return f"jsonb_build_object({', '.join(pairs)})"

    def uuid(self) -> str:
        return "gen_random_uuid()"

    def concat(self, *parts: str) -> str:
        return "(" + " || ".join(parts) + ")"


class Sqlite(Dialect):
    vendor = "sqlite"
    true, false, empty_json = "1", "0", "'{}'"

    def uniform(self) -> str:
        return "((random() & 9007199254740991) / 9007199254740992.0)"

    def draws(self, name: str, n: int, columns: dict[str, str]) -> str:
        """SQLite re-evaluates random() once per reference of a subquery column, so the draws
        are stored in a temporary table first."""
        cols = ", ".join(f"{self.fill(expr)} AS {col}" for col, expr in columns.items())
        self.run(f"DROP TABLE IF EXISTS temp.{name}")
        self.run(
            f"CREATE TEMP TABLE {name} AS WITH RECURSIVE g(i) AS "
            f"(SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) SELECT i, {cols} FROM g"
        )
        return name

    def pick(self, values: list, index: str) -> str:
        whens = " ".join(f"WHEN {i} THEN {quote(v)}" for i, v in enumerate(values, start=1))
        return f"(CASE {index} {whens} END)"

    def int(self, expression: str) -> str:
        return f"CAST(floor({expression}) AS INTEGER)"

    def ago(self, now: datetime.datetime, seconds: str) -> str:
        return f"strftime('%Y-%m-%d %H:%M:%f', {now.timestamp()} - ({seconds}), 'unixepoch')"

    def json(self, *pairs: str) -> str:
        return f"json_object({', '.join(pairs)})"

    def uuid(self) -> str:
        return "lower(hex(randomblob(16)))"

    def concat(self, *parts: str) -> str:
        return "(" + " || ".join(parts) + ")"


def quote(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


# --------------------------------------------------------------------------- indexes


def drop_secondary_indexes(d: Dialect) -> list[str]:
    """Drop the loaded tables' secondary indexes and constraints; returns the SQL that
    rebuilds them."""
    restore: list[str] = []
    if d.vendor == "postgresql":
        d.run(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype "
            "FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s) AND contype IN ('u', 'f')",
            [LOADED_TABLES],
        )
        constraints = d.cursor.fetchall()
        d.run(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
            [LOADED_TABLES],
        )
        indexes = d.cursor.fetchall()
        for table, name, definition, kind in constraints:
            d.run(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, definition in indexes:
            d.run(f'DROP INDEX "{name}"')
        restore += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {definition}'
                    for t, n, definition, kind in constraints if kind == "u"]
        restore += [definition for _, definition in indexes]
        restore += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {definition}'
                    for t, n, definition, kind in constraints if kind == "f"]
    else:
        d.run(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join(quote(t) for t in LOADED_TABLES)})"
        )
        for name, sql in d.cursor.fetchall():
            d.run(f'DROP INDEX "{name}"')
            restore.append(sql)
    return restore


# --------------------------------------------------------------------------- the load


def coprime_step(n: int) -> tuple[int, int]:
    """A multiplier that permutes 0..n-1 (and its inverse): rank r is contact (r·p mod n) + 1."""
    p = 1_000_003
    while math.gcd(p, n) != 1:
        p += 2
    p %= n
    if n > 2 and p in (0, 1):
        p = n - 1 if math.gcd(n - 1, n) == 1 else 1
    return p, pow(p, -1, n) if n > 1 else 0


def generate(contacts: int, events: int, *, pages_per_section: int, analyse: bool = True) -> dict:
    """Make the whole data set; returns what the scenario needs to know about it."""
    started = time.monotonic()
    now = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        meta = make_pages(pages_per_section)
    log(f"pages: {len(meta['ranked_pages'])} in {time.monotonic() - started:.1f}s")

    with connection.cursor() as cursor:
        d = Postgres(cursor) if connection.vendor == "postgresql" else Sqlite(cursor)
        if d.vendor == "postgresql":
            d.run("SET maintenance_work_mem = '1GB'")
            d.run("SET synchronous_commit = off")
            d.run("SET max_parallel_maintenance_workers = 2")
            d.run("SET work_mem = '256MB'")
        else:
            d.run("PRAGMA foreign_keys = OFF")
            d.run("PRAGMA synchronous = OFF")
            d.run("PRAGMA cache_size = -400000")
            d.run("PRAGMA temp_store = MEMORY")
        with transaction.atomic():
            restore = drop_secondary_indexes(d)
            timings = load_rows(d, now, contacts, events, meta)
        step = time.monotonic()
        with transaction.atomic():
            for sql in restore:
                d.run(sql)
        timings["indexes"] = time.monotonic() - step
        step = time.monotonic()
        if d.vendor == "postgresql":
            for table in LOADED_TABLES:
                d.run(f"VACUUM ANALYZE {table}")
            d.run("RESET ALL")
        else:
            d.run("PRAGMA foreign_keys = ON")
            d.run("PRAGMA synchronous = NORMAL")
            if analyse:
                d.run("ANALYZE")
        timings["analyse"] = time.monotonic() - step
    meta.update(now=now.isoformat(), contacts=contacts, events=events, load_timings=timings,
                load_seconds=time.monotonic() - started)
    return meta


def load_rows(d: Dialect, now, n: int, m: int, meta: dict) -> dict:
    timings = {}
    p, p_inverse = coprime_step(n)
    companies = max(10, n // 40)
    # q: the contact's activity rank over N, 0 = most active
    # (a float8 division: a literal such as 1000.0 is NUMERIC in PostgreSQL, and exp() over
    # NUMERIC is a hundred times slower)
    q = f"CAST((CAST(i - 1 AS bigint) * {p_inverse}) % {n} AS float8) / CAST({n} AS float8)"

    step = time.monotonic()
    src = d.draws("d_company", companies, {"industry": d.int("{u} * 6") + " + 1"})
    d.run(
        "INSERT INTO wagtail_segments_company (id, name, domain, properties) "
        f"SELECT i, {d.concat(quote('Company '), 'CAST(i AS text)')}, "
        f"{d.concat(quote('company'), 'CAST(i AS text)', quote('.example'))}, "
        f"{d.json(quote('industry'), d.pick(INDUSTRIES, 'industry'))} FROM {src}"
    )
    if d.vendor == "postgresql":
        d.run("SELECT setval(pg_get_serial_sequence('wagtail_segments_company', 'id'), %s)", [companies])
    timings["companies"] = time.monotonic() - step

    # ---- events, in the order a live site writes them
    # A site appends its events as they happen: ids rise with time and the table is physically
    # in time order, which decides how many table pages (and visibility-map pages) a scan of a
    # time range touches. So the history is made oldest first, in slices of the time draw u
    # (age = DAYS·u^TIME_SKEW, u from 1 down to 0), each slice holding its exact share of every
    # kind and inserted sorted by time. Slices of equal width in u hold equal numbers of events,
    # so the shape is that of one draw over [0, 1); each slice, about EVENTS_PER_SLICE rows, is
    # sorted inside the database, never in this process.
    ranked = meta["ranked_pages"]
    page_ids = [pk for pk, _ in ranked]
    page_urls = [url for _, url in ranked]
    forms = int(m * FORM_SHARE)
    time_on_page = int(m * TIME_ON_PAGE_SHARE)
    views = m - forms - time_on_page
    contact_of = lambda u: f"((CAST(floor({n} * power({u}, {CONTACT_SKEW})) AS bigint) * {p}) % {n}) + 1"  # noqa: E731
    page_of = d.int(f"{len(ranked)} * power({{u}}, {PAGE_SKEW})") + " + 1"
    columns = ("contact_id, kind, time, site_id, page_id, path, referrer, utm_source, utm_medium, "
               "utm_campaign, utm_term, utm_content, device, country, data")  # ip left NULL
    slices = max(1, math.ceil(m / EVENTS_PER_SLICE))
    email = d.concat(quote("contact"), "CAST(contact AS text)", quote("@example"),
                     "CAST(contact % 997 AS text)", quote(".com"))
    contact_answers = d.json(
        quote("email"), email, quote("team_size"), d.pick(expand(TEAM_SIZES), "team"),
        quote("role"), d.pick(expand(ROLES), "role"), quote("message"), quote("Please call me back."),
    )
    newsletter_answers = d.json(quote("email"), email, quote("frequency"), d.pick(expand(FREQUENCIES), "freq"))
    step = time.monotonic()
    for j in range(slices):
        # slice j of `slices`, oldest first: u in [low, high)
        low, high = 1 - (j + 1) / slices, 1 - j / slices
        age = f"{DAYS * 86400} * power({low!r} + {high - low!r} * {{u}}, {TIME_SKEW})"

        def share(total: int) -> int:
            return round(total * (j + 1) / slices) - round(total * j / slices)

        parts = []
        if share(views):
            src = d.draws("d_view", share(views), {
                "contact": contact_of("{u}"),
                "page": page_of,
                "age": age,
                "utm": d.pick(expand(UTM_SOURCES), d.int("{u} * 100") + " + 1"),
                "campaign": d.int("{u} * 4") + " + 1",
                "device": d.int("{u} * 100") + " + 1",
                "referrer": d.int("{u} * 100") + " + 1",
            })
            parts.append(
                f"SELECT contact AS contact_id, 'page_view' AS kind, {d.ago(now, 'age')} AS time, "
                f"{meta['site_id']} AS site_id, {d.pick(page_ids, 'page')} AS page_id, "
                f"{d.pick(page_urls, 'page')} AS path, {d.pick(expand(REFERRERS), 'referrer')} AS referrer, "
                "utm AS utm_source, "
                "CASE WHEN utm = 'newsletter' THEN 'email' WHEN utm = '' THEN '' ELSE 'referral' END AS utm_medium, "
                f"CASE WHEN utm = '' THEN '' ELSE {d.pick(UTM_CAMPAIGNS, 'campaign')} END AS utm_campaign, "
                f"'' AS utm_term, '' AS utm_content, {d.pick(expand(DEVICES), 'device')} AS device, "
                f"'' AS country, {d.empty_json} AS data FROM {src}"
            )
        if share(time_on_page):
            src = d.draws("d_top", share(time_on_page), {
                "contact": contact_of("{u}"),
                "page": page_of,
                "age": age,
                "seconds": d.int("5 + 300 * {u} * {u}"),
            })
            parts.append(
                f"SELECT contact, 'time_on_page', {d.ago(now, 'age')}, {meta['site_id']}, "
                f"{d.pick(page_ids, 'page')}, {d.pick(page_urls, 'page')}, '', '', '', '', '', '', 'desktop', '', "
                f"{d.json(quote('seconds'), 'seconds')} FROM {src}"
            )
        if share(forms):
            # form submissions: 60 % the contact form, 40 % the newsletter form
            src = d.draws("d_form", share(forms), {
                "contact": contact_of("{u}"),
                "age": age,
                "which": "{u}",
                "team": d.int("{u} * 100") + " + 1",
                "role": d.int("{u} * 100") + " + 1",
                "freq": d.int("{u} * 100") + " + 1",
            })
            parts.append(
                f"SELECT contact, 'form_submission', {d.ago(now, 'age')}, {meta['site_id']}, "
                f"CASE WHEN which < 0.6 THEN {meta['contact_form_id']} ELSE {meta['newsletter_form_id']} END, "
                f"CASE WHEN which < 0.6 THEN '/contact/' ELSE '/newsletter/' END, '', '', '', '', '', '', "
                f"'desktop', '', "
                f"CASE WHEN which < 0.6 THEN {d.json(quote('form'), quote('contact'), quote('answers'), contact_answers)} "
                f"ELSE {d.json(quote('form'), quote('newsletter'), quote('answers'), newsletter_answers)} END FROM {src}"
            )
        if parts:
            d.run(f"INSERT INTO wagtail_segments_event ({columns}) SELECT {columns} "
                  f"FROM ({' UNION ALL '.join(parts)}) AS e ORDER BY time")
        done = round(m * (j + 1) / slices)
        log(f"events, oldest first: {done:,} / {m:,} ({time.monotonic() - step:.0f}s)")
    timings["events"] = time.monotonic() - step

    # ---- contacts, after the events: first and last seen follow each one's history
    step = time.monotonic()
    src = d.draws("d_contact", n, {
        "q": q,
        "ident": f"CASE WHEN {{u}} < 0.12 + 0.78 * exp(-25 * {q}) THEN 1 ELSE 0 END",
        "has_company": "CASE WHEN {u} < 0.6 THEN 1 ELSE 0 END",
        "company": d.int(f"{companies} * {{u}} * {{u}}") + " + 1",
        "plan": d.int("{u} * 100") + " + 1",
        "employees": d.int("exp({u} * 9)") + " + 1",
        "points": d.int(f"-ln(1 - {{u}}) * (4 + 90 * exp(-30 * {q}))"),
        "country": d.int("{u} * 100") + " + 1",
        "age": f"{{u}} * {DAYS * 86400}",
        "dne": "CASE WHEN {u} < 0.03 THEN 1 ELSE 0 END",
        "first": d.int("{u} * 20") + " + 1",
        "last": d.int("{u} * 16") + " + 1",
    })
    email = d.concat(quote("contact"), "CAST(i AS text)", quote("@example"),
                     "CAST(i % 997 AS text)", quote(".com"))
    boolean = (lambda expr: f"({expr} = 1)") if d.vendor == "postgresql" else (lambda expr: expr)
    d.run(
        "INSERT INTO wagtail_segments_contact (id, uuid, email, email_key, user_id, first_name, "
        "last_name, phone, phone_e164, company_id, properties, points, country, first_seen, last_seen, time_zone, "
        "do_not_email, do_not_email_reason, do_not_sms, do_not_sms_reason, merged_into_id) "
        f"SELECT i, {d.uuid()}, "
        f"CASE WHEN ident = 1 THEN {email} ELSE '' END, "
        f"CASE WHEN ident = 1 THEN {email} END, NULL, "
        f"CASE WHEN ident = 1 THEN {d.pick(FIRST_NAMES, 'first')} ELSE '' END, "
        f"CASE WHEN ident = 1 THEN {d.pick(LAST_NAMES, 'last')} ELSE '' END, '', '', "
        f"CASE WHEN ident = 1 AND has_company = 1 THEN company END, "
        f"CASE WHEN ident = 1 THEN {d.json(quote('plan'), d.pick(expand(PLANS), 'plan'), quote('employees'), 'employees')} "
        f"ELSE {d.empty_json} END, "
        f"points, {d.pick(expand(COUNTRIES), 'country')}, "
        f"COALESCE(a.seen_first, {d.ago(now, 'age')}), COALESCE(a.seen_last, {d.ago(now, 'age')}), '', "
        f"{boolean('dne')}, '', {d.false}, '', NULL FROM {src} LEFT JOIN "
        "(SELECT contact_id, min(time) AS seen_first, max(time) AS seen_last FROM wagtail_segments_event "
        "GROUP BY contact_id) AS a ON a.contact_id = i"
    )
    if d.vendor == "postgresql":
        d.run("SELECT setval(pg_get_serial_sequence('wagtail_segments_contact', 'id'), %s)", [n])
    timings["contacts"] = time.monotonic() - step

    # ---- tags: up to four draws per contact, more (and likelier) for active contacts
    step = time.monotonic()
    d.run("INSERT INTO wagtail_segments_contacttag (name, slug) VALUES "
          + ", ".join(f"({quote(t)}, {quote(t)})" for t in TAGS))
    d.run("SELECT id, name FROM wagtail_segments_contacttag")
    tag_ids = {name: pk for pk, name in d.cursor.fetchall()}
    ordered_tag_ids = [tag_ids[t] for t in TAGS]
    rounds = []
    # Sales tags follow activity closely: most of the very active contacts are leads.
    for name, base, boost in [("lead", 0.06, 0.8), ("trial", 0.03, 0.3), ("customer", 0.03, 0.15)]:
        src = d.draws(f"d_{name}", n, {"q": q, "keep": "{u}"})
        rounds.append(f"SELECT i AS contact_id, {tag_ids[name]} AS tag_id FROM {src} "
                      f"WHERE keep < {base} + {boost} * exp(-25 * q)")
    for r, (base, boost) in enumerate([(0.30, 0.65), (0.12, 0.6), (0.05, 0.5), (0.02, 0.4)]):
        src = d.draws(f"d_tag{r}", n, {
            "q": q, "keep": "{u}", "tag": d.int(f"{len(TAGS)} * power({{u}}, 1.6)") + " + 1",
        })
        rounds.append(
            f"SELECT i AS contact_id, {d.pick(ordered_tag_ids, 'tag')} AS tag_id FROM {src} "
            f"WHERE keep < {base} + {boost} * exp(-20 * q)"
        )
    d.run(
        "INSERT INTO wagtail_segments_taggedcontact (content_object_id, tag_id) "
        f"SELECT DISTINCT contact_id, tag_id FROM ({' UNION ALL '.join(rounds)}) AS t"
    )
    timings["tags"] = time.monotonic() - step

    if d.vendor == "sqlite":
        for name in ("d_company", "d_contact", "d_lead", "d_trial", "d_customer", "d_tag0", "d_tag1",
                     "d_tag2", "d_tag3", "d_view", "d_top", "d_form"):
            d.run(f"DROP TABLE IF EXISTS temp.{name}")
    log("rows: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return timings


def save_meta(meta: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (data text NOT NULL)")
        cursor.execute("DELETE FROM bench_meta")
        cursor.execute("INSERT INTO bench_meta (data) VALUES (%s)", [json.dumps(meta)])


def load_meta() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM bench_meta")
        return json.loads(cursor.fetchone()[0])
