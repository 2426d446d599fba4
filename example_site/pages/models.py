"""The example site's pages: a home page, sections (Products, Blog) of content pages, and
form pages (contact, newsletter) built with wagtail.contrib.forms. Content pages carry a
stream of personalised content: variants shown to chosen segments, a fallback for the rest."""

from django.db import models
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.blocks import RichTextBlock
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from wagtail_segments.segments.content_blocks import PersonalisedContentBlock


class HomePage(Page):
    intro = RichTextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["pages.SectionPage", "pages.ContentPage", "pages.FormPage"]


class SectionPage(Page):
    intro = RichTextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["pages.ContentPage", "pages.FormPage"]


class ContentPage(Page):
    body = RichTextField(blank=True)
    personalised = StreamField(
        [("personalised", PersonalisedContentBlock()), ("text", RichTextBlock())],
        blank=True,
        use_json_field=True,
        verbose_name="personalised content",
        help_text="Shown below the body. Personalised blocks show each visitor the variant of "
        "the first segment they are in, and the fallback to everyone else.",
    )

    content_panels = Page.content_panels + [FieldPanel("body"), FieldPanel("personalised")]
    subpage_types = []


class FormField(AbstractFormField):
    page = ParentalKey("FormPage", on_delete=models.CASCADE, related_name="form_fields")


class FormPage(AbstractEmailForm):
    intro = RichTextField(blank=True)
    thank_you_text = RichTextField(blank=True)

    content_panels = AbstractEmailForm.content_panels + [
        FormSubmissionsPanel(),
        FieldPanel("intro"),
        InlinePanel("form_fields", label="Form fields"),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            "Email",
        ),
    ]
    subpage_types = []
