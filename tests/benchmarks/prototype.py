"""``--prototype``: engine changes proposed by the benchmarks, applied as patches to this
process only (wagtail_segments itself is not edited), so that ``--reuse NAME --prototype``
measures the same database with and without them. Each patch names what it would change.
"""

from __future__ import annotations

PATCHES = {}


def patch(name):
    def register(func):
        PATCHES[name] = func
        return func
    return register


@patch("section-page-ids")
def section_page_ids():
    """rules/behaviour.py, PageViewsRule.target_filter: a section compiles to the literal ids
    of its pages (read once per evaluation, like the section's path already is) instead of a
    ``path LIKE 'prefix%'`` subquery, which PostgreSQL estimates at one page whatever the
    section holds, and then plans the event scan for one page."""
    import swapper
    from django.db.models import Q

    from wagtail_segments.segments.rules import behaviour

    original = behaviour.PageViewsRule.target_filter

    def target_filter(self, value, context):
        if (value.get("target") or "page") == "section" and value.get("page"):
            path = behaviour.page_path(value["page"], context)
            cache = context.cache.setdefault("section_pages", {})
            if path not in cache:
                Page = swapper.load_model("wagtailcore", "Page")
                cache[path] = list(Page.objects.filter(path__startswith=path).order_by("pk")
                                   .values_list("pk", flat=True))
            return Q(page_id__in=cache[path])
        return original(self, value, context)

    behaviour.PageViewsRule.target_filter = target_filter


@patch("async-commit")
def async_commit():
    """tracking/recorder.py, _save_event: on PostgreSQL, insert the event in a transaction
    with ``SET LOCAL synchronous_commit TO OFF``, so that the request does not wait for the
    WAL flush (a crash can lose the last few hundred milliseconds of page views, never
    corrupt anything)."""
    from django.db import IntegrityError, connection, transaction

    from wagtail_segments.tracking import recorder

    original = recorder._save_event

    def _save_event(event):
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return original(event)
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                event.save(force_insert=True)
        except IntegrityError:
            return False
        return True

    recorder._save_event = _save_event


@patch("rebuild-batch")
def rebuild_batch():
    """segments/evaluation.py, REBUILD_BATCH: 20,000 → 250,000 contacts per batch
    (``WSG_PROTO_REBUILD_BATCH`` overrides). Every batch runs the whole compiled query
    narrowed to its id range, and PostgreSQL answers a "page views under a section in the
    last N days" rule by scanning that section's window in the (page, time, contact) index
    once per batch, whatever the range: 50 batches at 1M contacts scan it 50 times. A batch
    holds at most that many ids in memory (a few MB per 100,000)."""
    import functools
    import os

    from wagtail_segments.segments import evaluation, tasks

    size = int(os.environ.get("WSG_PROTO_REBUILD_BATCH", "250000"))
    original = evaluation.rebuild_segment

    @functools.wraps(original)
    def rebuild_segment(segment, *, now=None, batch_size=size):
        return original(segment, now=now, batch_size=batch_size)

    evaluation.rebuild_segment = rebuild_segment
    tasks.rebuild_segment = rebuild_segment


@patch("pageview-index")
def pageview_index():
    """contacts/models.py, Event.Meta.indexes: ``wsg_event_page_time`` (page, time, contact)
    becomes (kind, page, time, contact). Rules over page views filter on kind, page and a
    time window and need only the contact: with kind in the index PostgreSQL answers them
    from the index alone (an index-only scan) instead of fetching every matching event row
    from the table to check its kind. Created here if missing (it takes a minute at 10M events)."""
    import time

    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS wsg_proto_event_kind_page_time ON wagtail_segments_event "
            "(kind, page_id, time, contact_id)"
        )
        cursor.execute("ANALYZE wagtail_segments_event")
    print(f"  · pageview-index ready in {time.monotonic() - started:.0f}s", flush=True)


@patch("pass-dependencies")
def pass_dependencies():
    """segments/receivers.py on_events_processed and the rules' ``depends_on``: the pass over
    new events changes only a contact's last seen and country, yet it re-evaluates the
    touched contacts against every segment with any contact rule ("contact"), tags and
    points included. Let the pass report "contact.last_seen" and "contact.country", and the
    date rule (on first/last seen) and country rules depend on those as well as on "contact";
    a contact saved by hand still reports "contact" and moves them all."""
    from wagtail_segments.segments import compiler, receivers
    from wagtail_segments.segments.rules import load_builtin_rules, registry

    load_builtin_rules()

    def finer(item):
        kind = item.get("type")
        value = item.get("value") or {}
        if kind == "date" and value.get("field") in ("last_seen", "first_seen"):
            return {"contact.last_seen"}
        if kind == "country" or (kind == "contact_field" and value.get("field") == "country"):
            return {"contact.country"}
        return set()

    def dependencies(segment):
        found = set()
        for item in compiler.rule_items(compiler.raw_rules(segment)):
            rule = registry.get(item.get("type"))
            if rule is not None:
                found |= rule.depends_on | finer(item)
        return found

    def on_events_processed(sender, contact_ids, kinds, **kwargs):
        from wagtail_segments.segments.evaluation import evaluate_contacts

        evaluate_contacts(contact_ids, {f"events:{kind}" for kind in kinds} | {"contact.last_seen", "contact.country"})

    compiler.dependencies = dependencies
    from wagtail_segments.segments import evaluation

    evaluation.dependencies = dependencies
    receivers.on_events_processed = on_events_processed
    from wagtail_segments.contacts.tasks import events_processed

    events_processed.disconnect(dispatch_uid="wagtail_segments.segments.events")
    events_processed.connect(on_events_processed, dispatch_uid="wagtail_segments.segments.events")


@patch("narrow-tags")
def narrow_tags():
    """rules/contact.py TagsRule: when the evaluation is narrowed (an id range or id list),
    the tag subquery is narrowed too and compiled as ``pk IN (narrowed subquery)`` instead of
    a correlated ``EXISTS``: PostgreSQL answers the EXISTS with a hash of every contact with
    those tags (177,000 rows at 1M contacts) for each batch of the incremental path, to keep
    the ~1,000 contacts it was asked about. Whole-table queries (previews) keep EXISTS.
    (The same rewrite for event rules was measured and is worse: probing events per
    remaining candidate beats narrowing them to all ~1,000 ids, so they keep EXISTS.)"""
    from django.db.models import Q

    from wagtail_segments.contacts.models import TaggedContact
    from wagtail_segments.segments.rules import contact
    from wagtail_segments.segments.rules.base import NOTHING, split_list

    def narrowed(context):
        return context.ids is not None or context.id_range is not None

    original_tags = contact.TagsRule.compile

    def tags_compile(self, value, context):
        if not narrowed(context):
            return original_tags(self, value, context)
        names = split_list(value.get("tags"))
        if not names:
            return NOTHING

        def has(name_q):
            tagged = context.narrow(TaggedContact.objects.filter(name_q), "content_object_id")
            return Q(pk__in=tagged.values("content_object_id"))

        if value.get("operator") == "all":
            q = Q()
            for name in names:
                q &= has(Q(tag__name__iexact=name))
            return q
        any_q = Q()
        for name in names:
            any_q |= Q(tag__name__iexact=name)
        q = has(any_q)
        return ~q if value.get("operator") == "none" else q

    contact.TagsRule.compile = tags_compile


@patch("contact-page-index")
def contact_page_index():
    """contacts/models.py, Event.Meta.indexes: ``wsg_event_contact_kind_time`` gains
    ``include=["page"]``, so that "page views of these contacts since T under these pages"
    (the incremental path) is answered from the index alone. Created here if missing."""
    import time

    from django.db import connection

    if connection.vendor != "postgresql":
        return
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS wsg_proto_event_contact_kind_time_page ON wagtail_segments_event "
            "(contact_id, kind, time) INCLUDE (page_id)"
        )
        cursor.execute("ANALYZE wagtail_segments_event")
    print(f"  · contact-page-index ready in {time.monotonic() - started:.0f}s", flush=True)


def apply(names: list[str] | None = None) -> list[str]:
    chosen = names or list(PATCHES)
    for name in chosen:
        PATCHES[name]()
    return chosen
