"""Two paths, one truth: for random contacts, events and rule trees, the incremental path, a
full rebuild and a plain-Python oracle agree on who is a member."""

import datetime

from django.db.models import Max
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from tests import factories
from wagtail_segments.messaging.models import EmailMessage
from wagtail_segments.models import Contact, Event, PropertyDefinition

from wagtail_segments.segments.evaluation import evaluate_contacts, evaluate_new_events, rebuild_segment
from wagtail_segments.segments.models import Segment

NOW = timezone.make_aware(datetime.datetime(2026, 6, 15, 12, 0))
TAGS = ["vip", "partner", "donor"]
COUNTRIES = ["US", "CA", "GB", ""]

contacts_strategy = st.lists(
    st.fixed_dictionaries({
        "email": st.booleans(),
        "first_name": st.sampled_from(["", "Ann", "anna", "Bob"]),
        "country": st.sampled_from(COUNTRIES),
        "points": st.integers(0, 20),
        "size": st.one_of(st.none(), st.integers(0, 50)),
        "tags": st.sets(st.sampled_from(TAGS)),
        "views": st.lists(st.tuples(st.integers(0, 1), st.integers(0, 40)), max_size=5),  # (page index, days ago)
        "forms": st.lists(st.integers(0, 40), max_size=2),
        # email opens: (message index, days ago, by a machine)
        "opens": st.lists(st.tuples(st.integers(0, 1), st.integers(0, 40), st.booleans()), max_size=3),
    }),
    min_size=1, max_size=8,
)

opened_leaf = st.builds(
    lambda message, days, machine: ("opened", message, days, machine),
    st.sampled_from([None, 0, 1]), st.sampled_from([None, 7, 30]), st.booleans(),
)

leaf = st.one_of(
    st.builds(lambda op, v: ("first_name", op, v), st.sampled_from(["eq", "neq", "contains", "empty", "not_empty"]), st.sampled_from(["ann", "bo", "x"])),
    st.builds(lambda op, v: ("size", op, v), st.sampled_from(["gt", "lte", "eq", "empty"]), st.integers(0, 50)),
    st.builds(lambda op, tags: ("tags", op, tags), st.sampled_from(["any", "all", "none"]), st.sets(st.sampled_from(TAGS), min_size=1)),
    st.builds(lambda op, v: ("points", op, v), st.sampled_from(["gte", "lt", "eq"]), st.integers(0, 20)),
    st.builds(lambda codes: ("country", codes), st.sets(st.sampled_from(["US", "CA", "GB"]), min_size=1)),
    st.just(("identified",)),
    st.builds(lambda page, op, n, days: ("views", page, op, n, days), st.integers(0, 1), st.sampled_from(["at_least", "at_most"]), st.integers(0, 3), st.sampled_from([None, 7, 30])),
    st.builds(lambda days: ("form", days), st.sampled_from([None, 14])),
    opened_leaf,
)


def tree_strategy(leaves=leaf):
    node = st.tuples(leaves, st.booleans())
    return st.recursive(
        node,
        lambda children: st.tuples(
            st.tuples(st.just("group"), st.sampled_from(["all", "any"]), st.lists(children, min_size=0, max_size=3)),
            st.booleans(),
        ),
        max_leaves=6,
    )


class Oracle:
    """The rules evaluated in plain Python over what the test created."""

    def __init__(self, spec, contact):
        self.spec, self.contact = spec, contact

    def window(self, days_ago, days):
        return days is None or days_ago + 0.5 <= days

    def leaf(self, item):
        s = self.spec
        kind = item[0]
        if kind == "first_name":
            _, op, value = item
            name = s["first_name"].casefold()
            return {"eq": name == value, "neq": name != value, "contains": value in name,
                    "empty": name == "", "not_empty": name != ""}[op]
        if kind == "size":
            _, op, value = item
            size = s["size"]
            if op == "empty":
                return size is None
            if size is None:
                return False
            return {"gt": size > value, "lte": size <= value, "eq": size == value}[op]
        if kind == "tags":
            _, op, tags = item
            return {"any": bool(s["tags"] & tags), "all": tags <= s["tags"], "none": not (s["tags"] & tags)}[op]
        if kind == "points":
            _, op, value = item
            return {"gte": s["points"] >= value, "lt": s["points"] < value, "eq": s["points"] == value}[op]
        if kind == "country":
            return s["country"] in item[1]
        if kind == "identified":
            return s["email"]
        if kind == "views":
            _, page, op, n, days = item
            count = sum(1 for p, ago in s["views"] if p == page and self.window(ago, days))
            return count >= n if op == "at_least" else count <= n
        if kind == "form":
            return any(self.window(ago, item[1]) for ago in s["forms"])
        if kind == "opened":
            _, message, days, include_machine = item
            return any(
                (message is None or m == message) and self.window(ago, days) and (include_machine or not machine)
                for m, ago, machine in s["opens"]
            )
        raise AssertionError(kind)

    def node(self, node):
        item, negate = node
        if item[0] == "group":
            _, match, children = item
            if not children:
                return None
            results = [r for r in (self.node(child) for child in children) if r is not None]
            if not results:
                return None
            value = all(results) if match == "all" else any(results)
        else:
            value = self.leaf(item)
        return not value if negate else value


class SegmentEquivalenceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        # Once for the class: hypothesis rolls back each example, not each test method's setUp.
        PropertyDefinition.objects.create(key="size", label="Size", type="number")
        cls.pages = [factories.content_page("Pricing"), factories.content_page("Blog")]
        cls.form = factories.form_page("Demo", fields=[("Email", "email")])
        cls.messages = [EmailMessage.objects.create(name=name, subject=name) for name in ("Welcome", "News")]

    def to_json(self, node):
        item, negate = node
        if item[0] == "group":
            return {"type": "group", "value": {"match": item[1], "negate": negate, "rules": [self.to_json(c) for c in item[2]]}}
        kind = item[0]
        window = {"window": "ever", "days": None, "start": None, "end": None}
        if kind == "first_name":
            value = {"field": "first_name", "operator": item[1], "value": item[2]}
            kind = "contact_field"
        elif kind == "size":
            value = {"field": "properties.size", "operator": item[1], "value": str(item[2])}
            kind = "contact_field"
        elif kind == "tags":
            value = {"operator": item[1], "tags": ",".join(sorted(item[2]))}
        elif kind == "points":
            value = {"operator": item[1], "points": item[2]}
        elif kind == "country":
            value = {"countries": ",".join(sorted(item[1]))}
        elif kind == "identified":
            kind, value = "status", {"status": "identified"}
        elif kind == "views":
            _, page, op, n, days = item
            value = {"target": "page", "page": self.pages[page].pk, "path": "", "count_operator": op, "count": n,
                     **window, **({"window": "last_days", "days": days} if days else {})}
            kind = "page_views"
        elif kind == "opened":
            _, message, days, include_machine = item
            value = {"activity": "opened", "scope": "any" if message is None else "message",
                     "message": None if message is None else str(self.messages[message].pk), "campaign": None,
                     "link_contains": "", "include_machine_opens": include_machine,
                     "count_operator": "at_least", "count": 1,
                     **window, **({"window": "last_days", "days": days} if days else {})}
            kind = "email_activity"
        else:
            days = item[1]
            value = {"page": self.form.pk, "answer_field": "", "answer_operator": "eq", "answer_value": "",
                     "count_operator": "at_least", "count": 1, **window, **({"window": "last_days", "days": days} if days else {})}
            kind = "form_submitted"
        return {"type": kind, "value": {**value, "negate": negate}}

    def make_contact(self, index, spec):
        return Contact.objects.create(
            email=f"c{index}@example.com" if spec["email"] else "",
            first_name=spec["first_name"], country=spec["country"], points=spec["points"],
            properties={} if spec["size"] is None else {"size": spec["size"]},
        )

    def behave(self, contact, spec):
        for page, ago in spec["views"]:
            Event.objects.create(contact=contact, kind="page_view", page=self.pages[page],
                                 time=NOW - datetime.timedelta(days=ago + 0.5))
        for ago in spec["forms"]:
            Event.objects.create(contact=contact, kind="form_submission", page=self.form,
                                 time=NOW - datetime.timedelta(days=ago + 0.5), data={"answers": {}})
        for message, ago, machine in spec["opens"]:
            Event.objects.create(contact=contact, kind="email_opened", time=NOW - datetime.timedelta(days=ago + 0.5),
                                 data={"message": self.messages[message].pk, "machine": machine})
        if spec["tags"]:
            contact.tags.add(*spec["tags"])

    @given(specs=contacts_strategy, tree=tree_strategy(), match=st.sampled_from(["all", "any"]))
    def test_incremental_full_and_oracle_agree(self, specs, tree, match):
        self.check(specs, tree, match)

    @given(specs=contacts_strategy, tree=tree_strategy(opened_leaf), match=st.sampled_from(["all", "any"]))
    def test_message_rules_agree_too(self, specs, tree, match):
        """The message rules (messaging/rules.py) alone, so that each example exercises them."""
        self.check(specs, tree, match)

    def check(self, specs, tree, match):
        rules = [self.to_json(tree)]
        contacts = [self.make_contact(i, spec) for i, spec in enumerate(specs)]
        # Built before anything happened; then behaviour arrives and the incremental path runs.
        incremental = Segment.objects.create(name="inc", slug="inc", match=match, rules=rules)
        rebuild_segment(incremental, now=NOW)
        before = Event.objects.aggregate(m=Max("id"))["m"] or 0
        for contact, spec in zip(contacts, specs):
            self.behave(contact, spec)
        # What the app does: the pass over new events re-evaluates the contacts whose new
        # events the rules look at; a tag change re-evaluates its contact.
        new_events = Event.objects.filter(id__gt=before)
        evaluate_new_events(
            new_events, set(new_events.values_list("contact_id", flat=True)),
            set(new_events.values_list("kind", flat=True)), now=NOW,
        )
        evaluate_contacts([c.pk for c, spec in zip(contacts, specs) if spec["tags"]], {"tags"}, now=NOW)

        full = Segment.objects.create(name="full", slug="full", match=match, rules=rules)
        rebuild_segment(full, now=NOW)

        oracle = set()
        for contact, spec in zip(contacts, specs):
            result = Oracle(spec, contact).node(tree)
            if result:  # None (an empty tree) matches no one
                oracle.add(contact.pk)

        members = lambda seg: set(seg.members().values_list("pk", flat=True))  # noqa: E731
        self.assertEqual(members(full), oracle)
        self.assertEqual(members(incremental), oracle)
        incremental.refresh_from_db()
        self.assertEqual(incremental.member_count, len(oracle))
