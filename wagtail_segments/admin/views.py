from django.core.paginator import Paginator
from wagtail_modeladmin.views import InspectView

from .timeline import event_details

TIMELINE_PAGE_SIZE = 50


class ContactInspectView(InspectView):
    """A contact's fields, properties and its timeline of events, newest first."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        events = self.instance.events.select_related("page").order_by("-time", "-id")
        paginator = Paginator(events, TIMELINE_PAGE_SIZE)
        context["timeline"] = timeline = paginator.get_page(self.request.GET.get("p"))
        context["entries"] = [(event, event_details(event)) for event in timeline]
        context["contact"] = self.instance
        context["tags"] = list(self.instance.tags.values_list("name", flat=True))
        return context
