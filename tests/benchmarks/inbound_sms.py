"""An inbound text's contact lookup on PostgreSQL, before and after ``Contact.phone_e164``.

    WSG_BENCH_DATABASE=postgres://postgres@127.0.0.1:5432/wsg_bench_inbound \\
    DJANGO_SETTINGS_MODULE=tests.benchmarks.settings \\
    python -m tests.benchmarks.inbound_sms --contacts 300000

The database must exist and is emptied. Three contacts in four have a French mobile typed in
one of three ways ("06 12 34 56 78", "+33 6 12 34 56 78", "06-12-34-56-78"), the fourth none.
``phone_e164`` is filled by ``renormalise_phones`` (the backfill migration's code: its time is
reported too), the table analysed, then each lookup of a known number is timed, before (the
digits of every phone compared in SQL, then normalised in Python: the code this replaced) and
after (``contacts_by_number``) taking turns, and the medians printed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from functools import reduce

import django

django.setup()

from django.conf import settings  # noqa: E402

# The typed numbers are national: read them as French.
settings.WAGTAIL_SEGMENTS = {**getattr(settings, "WAGTAIL_SEGMENTS", {}), "SMS_DEFAULT_REGION": "FR"}

import phonenumbers  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F, Q, Value  # noqa: E402
from django.db.models.functions import Replace  # noqa: E402

from wagtail_segments.contacts.models import Contact  # noqa: E402
from wagtail_segments.contacts.phone import e164_or_none, renormalise_phones  # noqa: E402
from wagtail_segments.messaging.sms_receiving import contacts_by_number  # noqa: E402

SEPARATORS = (" ", "-", "(", ")", ".", "/", "\u00a0")


def before(numbers: set[str]) -> dict[str, list[Contact]]:
    """The lookup before phone_e164 (branch sms): phones whose digits end with the number's."""
    endings = {str(phonenumbers.national_significant_number(phonenumbers.parse(n))) for n in numbers}
    digits = reduce(lambda expression, sep: Replace(expression, Value(sep), Value("")), SEPARATORS, F("phone"))
    candidates = (
        Contact.objects.filter(merged_into__isnull=True).exclude(phone="")
        .annotate(phone_digits=digits)
        .filter(reduce(lambda q, ending: q | Q(phone_digits__endswith=ending), endings, Q()))
        .order_by("pk")
    )
    found = defaultdict(list)
    for contact in candidates:
        number = e164_or_none(contact.phone)
        if number in numbers:
            found[number].append(contact)
    return found


def load(n: int) -> None:
    call_command("migrate", run_syncdb=True, verbosity=0)
    # 06 12 then i in six digits: a valid French mobile for every i below a million.
    digits = "'12' || lpad(CAST(i AS text), 6, '0')"
    groups = [f"substr({digits}, {start}, 2)" for start in (1, 3, 5, 7)]
    spaced, dashed = " || ' ' || ".join(groups), " || '-' || ".join(groups)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE wagtail_segments_contact RESTART IDENTITY CASCADE")
        cursor.execute(
            "INSERT INTO wagtail_segments_contact (uuid, email, email_key, first_name, last_name, phone, phone_e164, "
            "properties, points, country, first_seen, time_zone, do_not_email, do_not_email_reason, do_not_sms, "
            "do_not_sms_reason) "
            "SELECT gen_random_uuid(), '', NULL, '', '', CASE i %% 4 "
            f"WHEN 0 THEN '06 ' || {spaced} WHEN 1 THEN '+33 6 ' || {spaced} WHEN 2 THEN '06-' || {dashed} "
            "ELSE '' END, '', '{}', 0, '', now(), '', false, '', false, '' "
            "FROM generate_series(1, %s) AS i", [n])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--lookups", type=int, default=30)
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "set WSG_BENCH_DATABASE to a postgres:// URL"
    assert args.contacts < 1_000_000, "the generated numbers have six digits of the contact's id"

    load(args.contacts)
    started = time.perf_counter()
    filled = renormalise_phones(Contact.objects.all())
    print(f"backfill: {filled} phones in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE wagtail_segments_contact")

    rng = random.Random(1)
    times = {"before": [], "after": []}
    for turn in range(args.lookups):
        i = rng.randrange(1, args.contacts // 4) * 4  # a contact with a phone
        number = f"+33612{i:06d}"
        for name in (("before", "after") if turn % 2 else ("after", "before")):
            lookup = before if name == "before" else contacts_by_number
            started = time.perf_counter()
            found = lookup({number})
            times[name].append(time.perf_counter() - started)
            assert [c.pk for c in found[number]] == [i], (name, number, found)
    for name, values in times.items():
        print(f"{name}: median {statistics.median(values) * 1000:.2f} ms over {len(values)} lookups "
              f"({args.contacts:,} contacts)")


if __name__ == "__main__":
    main()
