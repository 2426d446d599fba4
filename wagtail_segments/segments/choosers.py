"""Choosers for rule fields: what an editor picks from instead of typing ids, keys or names.

They stay plain form widgets and blocks, so rules are stored as before (a page id, a form
field's name, a comma-separated tag list) and the compiler is unchanged. Choices are read
when a form is rendered, never at import time.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from wagtail import blocks


def form_page_models() -> list[type]:
    """Every page model that is a Wagtail form (for the "form submitted" page chooser)."""
    from wagtail.contrib.forms.models import FormMixin
    from wagtail.models import get_page_models

    return [model for model in get_page_models() if issubclass(model, FormMixin)]


class FormTitle(str):
    """A form page's title as an option group's label, knowing its page."""

    page_id: int


def form_title(page) -> FormTitle:
    title = FormTitle(page.title)
    title.page_id = page.pk
    return title


def form_field_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Each form page's fields as (page title, [(field name, label)]), for a grouped select."""
    from wagtail.models import Page

    grouped = []
    models = form_page_models()
    if not models:
        return grouped
    try:
        pages = Page.objects.type(*models).specific().order_by("title")
        for page in pages:
            fields = [(field.clean_name, field.label) for field in page.get_form_fields()]
            if fields:
                grouped.append((form_title(page), fields))
    except Exception:  # no tables yet (before migrate)
        return []
    return grouped


class FormFieldSelect(forms.Select):
    """A select of form fields grouped by form page; each option names its page
    (``data-form-page``) so the builder's script can offer only the chosen form's fields."""

    def optgroups(self, name, value, attrs=None):
        groups = super().optgroups(name, value, attrs)
        for group_name, options, _index in groups:
            page_id = getattr(group_name, "page_id", None)
            for option in options:
                if page_id is not None:
                    option["attrs"]["data-form-page"] = str(page_id)
        return groups


class QueriedChoiceBlock(blocks.ChoiceBlock):
    """A choice among text values read from the database when the rules are cleaned.

    Wagtail's ChoiceBlock.clean reads the choices twice: to validate the value, then to give
    it its choice's type. For text the second read changes nothing, and it repeats the
    queries on every clean (the live preview cleans the rules at each change)."""

    def clean(self, value):
        return super(blocks.ChoiceBlock, self).clean(value)


class FormFieldChoiceBlock(QueriedChoiceBlock):
    """The field of a form page, chosen by its label; stored as the field's name."""

    def __init__(self, **kwargs):
        super().__init__(choices=form_field_choices, widget=FormFieldSelect, **kwargs)

    class Meta:
        classname = "wsg-form-field-chooser"


class CommaListBlock(blocks.FieldBlock):
    """A field stored as the comma-separated text its rule reads ("vip, lead")."""

    def get_prep_value(self, value):
        return value if isinstance(value, str) else ", ".join(value or ())

    def to_python(self, value):
        return value if isinstance(value, str) else ", ".join(value or ())


class ContactTagsBlock(CommaListBlock):
    """Contact tags typed with Wagtail's tag widget, completed from the contact tags in use;
    stored as the comma-separated text the rule reads."""

    def __init__(self, required: bool = True, help_text=None, **kwargs):
        from wagtail_segments.contacts.tag_widget import ContactTagWidget

        self.field = forms.CharField(required=required, help_text=help_text, widget=ContactTagWidget())
        super().__init__(**kwargs)

    class Meta:
        icon = "tag"



def stored_country_codes(items) -> set[str]:
    """The codes in the "country" rules of raw rules (nested groups included)."""
    from .rules.base import split_list

    codes = set()
    for item in items or ():
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, dict):
            continue
        if item.get("type") == "country":
            codes.update(code.upper() for code in split_list(value.get("countries")))
        elif isinstance(value.get("rules"), list):
            codes |= stored_country_codes(value["rules"])
    return codes


def unknown_rule_countries() -> set[str]:
    """The codes that segments' country rules hold and that are no known country (an old
    "UK", a typo)."""
    from wagtail_segments.contacts.countries import country_codes

    from .models import Segment

    stored = set()
    try:
        for rules in Segment.objects.values_list("rules", flat=True).iterator():
            stored |= stored_country_codes(getattr(rules, "raw_data", rules))
    except Exception:  # no tables yet (before migrate)
        return set()
    return stored - country_codes()


def rule_country_choices() -> list[tuple[str, str]]:
    """Every country by name, then every code a segment's country rule holds that is no known
    country, marked. The rules editor renders a block's options once for the whole page and
    selects each rule's codes among them, so a code missing from the options would be
    dropped, silently, by the next save."""
    from wagtail_segments.contacts.countries import country_choices, unknown_code_label

    unknown = sorted(unknown_rule_countries())
    return [*country_choices(), *((code, unknown_code_label(code)) for code in unknown)]


class CountriesBlock(CommaListBlock):
    """Countries chosen by name, several at once; stored as the comma-separated codes the
    country rule reads ("US, CA"), so that rules saved when codes were typed read the same.
    Stored codes are shown upper-case: "us" is the United States, as the rule reads it."""

    def __init__(self, required: bool = True, help_text=None, **kwargs):
        self.field = forms.MultipleChoiceField(
            required=required, help_text=help_text, choices=rule_country_choices,
            widget=forms.SelectMultiple(attrs={"size": 8, "class": "wsg-countries"}),
        )
        super().__init__(**kwargs)

    def value_for_form(self, value):
        from .rules.base import split_list

        return [code.upper() for code in split_list(value)]

    def clean(self, value):
        """Known countries, and the unknown codes segments already hold (kept, not offered
        for new rules in any other way); the options are read only when a code is unknown."""
        from wagtail_segments.contacts.countries import country_codes

        codes = list(dict.fromkeys(self.value_for_form(value)))
        if not codes:
            self.field.clean([])  # "This field is required." when it is
            return ""
        unknown = set(codes) - country_codes()
        if unknown and unknown - unknown_rule_countries():
            raise ValidationError(self.field.error_messages["invalid_choice"],
                                  code="invalid_choice", params={"value": sorted(unknown)[0]})
        return ", ".join(codes)

    def value_from_form(self, value):
        return ", ".join(value or ())

    class Meta:
        icon = "globe"
