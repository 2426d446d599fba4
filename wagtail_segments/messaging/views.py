"""Public views for the links in messages. Built by the messaging work of issue 8."""

from django.http import Http404


def _not_built(request, token):
    raise Http404


email_open = email_click = unsubscribe = preferences = confirm = _not_built
