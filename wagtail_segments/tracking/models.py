"""What editors chose, in Marketing → Form mappings, about where a form page's answers go."""

from __future__ import annotations

import swapper
from django.db import models
from django.utils.translation import gettext_lazy as _


class FormMapping(models.Model):
    """One form page's choices, laid over the site setting and the page's code
    (tracking/forms.py): ``targets`` maps a field's clean name to where its answer goes, in
    the words of ``FORM_FIELD_MAPPING`` ("first_name", "properties.<key>", None to ignore); a
    field it leaves out keeps its default. ``email_field`` names the field that identifies the
    submitter ("": the default). Keys name fields as they were when saved: a field since
    removed from the form matches no answer and does nothing.

    One row per page, read with one query per submission."""

    page = models.OneToOneField(
        swapper.get_model_name("wagtailcore", "Page"), on_delete=models.CASCADE, related_name="+",
        verbose_name=_("form page"),
    )
    email_field = models.CharField(_("field that identifies the submitter"), max_length=255, blank=True)
    targets = models.JSONField(_("where answers go"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # The page's "usage" would list its mapping, which goes with the page anyway.
    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("form mapping")
        verbose_name_plural = _("form mappings")

    def chosen_targets(self) -> dict[str, str | None]:
        """``targets``, or nothing when the column holds something else (edited by hand)."""
        return self.targets if isinstance(self.targets, dict) else {}

    def __str__(self) -> str:
        return str(_("Form mapping of page %(page)s") % {"page": self.page_id})
