"""Campaign email throughput: due email steps rendered and sent to a local SMTP server.

``campaign_steps(reps, steps)`` (run by runner.py in its own child process):

- once: ``steps`` contacts with an address, a first name and a declared property, and an
  email whose subject and body use merge fields (fallback, property, a link, a button);
  an aiosmtpd server in a process of its own that only counts what it receives;
- each repetition, for one worker and then for two (turn about, in rotating order): a fresh
  active campaign whose only step is ``send_email``, one run per contact due now, then the
  workers (forked processes, each with its own connection, started together once connected)
  call ``run_due_steps()`` until nothing is due, exactly as the engine's loop task does.
  The clock runs from the start signal to the last worker's end.

Figures: ``campaign_steps_per_s`` (one worker, median), ``campaign_steps_per_s_2_workers``,
``campaign_speedup_2_workers`` (median of the per-repetition ratios) and
``campaign_duplicate_steps``: messages the server received beyond one per run, plus runs
with more than one sent delivery, over every repetition (0 expected);
``campaign_worker_cpu_ms_per_step`` (the lone worker's CPU, all its threads, per step: on a
shared machine a steadier figure than the rate) and ``campaign_queries_per_step``.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import time

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

FORK = multiprocessing.get_context("fork")


def _sink(port: int, counter, ready) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Counting:
        """Counts and keeps nothing: the sink must not be the bottleneck it measures."""

        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 Message accepted"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        asyncio.new_event_loop().run_until_complete(asyncio.sleep(10**6))
    finally:
        controller.stop()


def _worker(start, ends, index: int, alone: bool, spent) -> None:
    from wagtail_segments.campaigns.executor import run_due_steps

    connection.ensure_connection()
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    profile_to = os.environ.get("WSG_BENCH_PROFILE_WORKER")  # a file for the lone worker's cProfile
    profiler = None
    if profile_to and alone:
        import cProfile

        profiler = cProfile.Profile()
    start.wait()
    if profiler:
        profiler.enable()
    before = resource.getrusage(resource.RUSAGE_SELF)
    with connection.execute_wrapper(count):
        while run_due_steps():
            pass
    ends[index] = time.time()
    after = resource.getrusage(resource.RUSAGE_SELF)
    spent[index] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    spent[2 + index] = queries[0]
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_to)
    connections.close_all()
    os._exit(0)


def _setup(steps: int):
    from wagtail_segments.contacts.models import Contact, PropertyDefinition
    from wagtail_segments.messaging.models import EmailMessage
    from wagtail.rich_text import RichText

    PropertyDefinition.objects.get_or_create(key="plan", defaults={"label": "Plan"})
    stamp = int(time.time())
    Contact.objects.bulk_create([
        Contact(email=f"bench{stamp}-{i}@example.com", email_key=f"bench{stamp}-{i}@example.com",
                first_name="" if i % 10 == 0 else f"Name{i}", properties={"plan": ("gold", "silver")[i % 2]})
        for i in range(steps)
    ], batch_size=2000)
    ids = list(Contact.objects.filter(email_key__startswith=f"bench{stamp}-").values_list("pk", flat=True))
    message = EmailMessage.objects.create(
        name="Benchmark newsletter", subject="{{ first_name|default:\"Friend\" }}, news for {{ properties.plan }} members",
        preheader="What is new this month, {{ first_name|default:\"friend\" }}",
        body=[
            ("text", RichText(
                "<h2>Hello {{ first_name|default:\"there\" }}</h2>"
                "<p>Your <b>{{ properties.plan }}</b> plan now includes more. "
                "<a href=\"https://example.com/news?utm_source=email\">Read the news</a>.</p>"
                "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
                "incididunt ut labore et dolore magna aliqua.</p>")),
            ("button", {"text": "See your plan", "url": "https://example.com/plan"}),
        ],
    )
    return ids, message


def _new_campaign(message, contact_ids: list[int]):
    from wagtail_segments.campaigns.models import Campaign, Run, Step

    campaign = Campaign.objects.create(name=f"Benchmark {time.time()}", status=Campaign.Status.ACTIVE)
    step = Step.objects.create(campaign=campaign, kind="action",
                               config={"action": "send_email", "message": message.pk})
    now = timezone.now()
    Run.objects.bulk_create([Run(campaign=campaign, contact_id=pk, step=step, next_due_at=now, state="active")
                             for pk in contact_ids], batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE wagtail_segments_run")
    return campaign


def _run_workers(n: int) -> tuple[float, float, int]:
    """Seconds from the start signal to the last worker's end; CPU seconds (all threads) and
    queries of the workers together."""
    start = FORK.Event()
    ends = FORK.Array("d", n)
    spent = FORK.Array("d", 4)
    connections.close_all()
    workers = [FORK.Process(target=_worker, args=(start, ends, i, n == 1, spent)) for i in range(n)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)  # each has connected and waits
    began = time.time()
    start.set()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0, f"a benchmark worker failed ({worker.exitcode})"
    return max(ends) - began, spent[0] + spent[1], int(spent[2] + spent[3])


def _duplicates(campaign, steps: int, received: int) -> int:
    from django.db.models import Count

    from wagtail_segments.messaging.models import Delivery

    runs = (Delivery.objects.filter(campaign_id=campaign.pk, status="sent").values("run_id")
            .annotate(n=Count("pk")).filter(n__gt=1).count())
    sent = Delivery.objects.filter(campaign_id=campaign.pk, status="sent").count()
    assert sent == steps, f"{sent} of {steps} emails sent"
    return runs + max(0, received - steps)


def campaign_steps(reps: int, steps: int) -> dict:
    from tests.smtp import free_port, smtp_settings

    port = free_port()
    counter, ready = FORK.Value("i", 0), FORK.Event()
    connections.close_all()
    sink = FORK.Process(target=_sink, args=(port, counter, ready), daemon=True)
    sink.start()
    ready.wait(30)
    for key, value in smtp_settings(port).items():
        setattr(settings, key, value)
    if os.environ.get("WSG_BENCH_CAMPAIGN_BATCH"):  # CAMPAIGN_BATCH_SIZE to try (default: the app's)
        settings.WAGTAIL_SEGMENTS["CAMPAIGN_BATCH_SIZE"] = int(os.environ["WSG_BENCH_CAMPAIGN_BATCH"])
    try:
        ids, message = _setup(steps)
        one, two, ratios, cpu, queries = [], [], [], [], []
        duplicates = 0
        for rep in range(reps):
            order = (1, 2) if rep % 2 == 0 else (2, 1)
            rates = {}
            for workers in order:
                campaign = _new_campaign(message, ids)
                before = counter.value
                seconds, cpu_seconds, query_count = _run_workers(workers)
                if workers == 1:
                    cpu.append(1000 * cpu_seconds / steps)
                    queries.append(query_count / steps)
                time.sleep(0.2)  # the sink counts the last messages
                duplicates += _duplicates(campaign, steps, counter.value - before)
                rates[workers] = steps / seconds
                print(f"    · {workers} worker(s): {steps:,} steps in {seconds:.1f}s = {rates[workers]:.0f}/s, "
                      f"{1000 * cpu_seconds / steps:.2f} ms of worker CPU per step", flush=True)
            one.append(rates[1])
            two.append(rates[2])
            ratios.append(rates[2] / rates[1])
    finally:
        sink.terminate()
        sink.join(5)
    from .measure import figure

    return {
        "campaign_steps_per_s": figure(round(statistics.median(one), 1), "steps/s"),
        "campaign_steps_per_s_2_workers": figure(round(statistics.median(two), 1), "steps/s"),
        "campaign_speedup_2_workers": figure(round(statistics.median(ratios), 2), "x"),
        "campaign_duplicate_steps": figure(duplicates, "steps"),
        "campaign_worker_cpu_ms_per_step": figure(round(statistics.median(cpu), 2), "ms"),
        "campaign_queries_per_step": figure(round(statistics.median(queries), 3), "queries"),
    }
