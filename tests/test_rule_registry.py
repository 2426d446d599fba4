"""A developer adds a rule type by subclassing Rule and registering it; no migration needed."""

import pytest
from django.core.management import call_command
from django.db.models import Q
from wagtail import blocks

from tests import factories
from tests.segment_helpers import members, segment
from wagtail_segments.segments.rules import Rule, registry


class EmailDomainRule(Rule):
    """The example from docs/segments.md."""

    name = "email_domain"
    label = "Email domain"
    icon = "mail"
    depends_on = frozenset({"contact"})

    def child_blocks(self):
        return [("domain", blocks.CharBlock(label="Domain"))]

    def compile(self, value, context):
        return Q(email_key__endswith="@" + value["domain"].strip().lower())


@pytest.fixture
def email_domain_rule():
    registry.register(EmailDomainRule)
    yield
    registry.unregister("email_domain")


@pytest.mark.django_db
def test_a_registered_rule_type_compiles_and_is_offered(email_domain_rule, admin_client):
    ours = factories.contact(email="ann@ours.example")
    factories.contact(email="bob@theirs.example")
    seg = segment({"type": "email_domain", "value": {"domain": "OURS.example", "negate": False}})
    assert members(seg) == {ours.pk}
    assert "Email domain" in admin_client.get("/admin/wagtail_segments/segment/create/").content.decode()


@pytest.mark.django_db
def test_registering_a_rule_type_needs_no_migration(email_domain_rule):
    call_command("makemigrations", "wagtail_segments", "--check", "--dry-run", verbosity=0)


def test_a_rule_type_must_have_a_name():
    class Nameless(Rule):
        pass

    with pytest.raises(ValueError):
        registry.register(Nameless)
