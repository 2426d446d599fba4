"""Wagtail choosers for a contact's company and user account: a modal that searches, pages
and picks, as Wagtail's page, image and snippet choosers do, instead of a select that would
load every company (tens of thousands beside a million contacts) into each contact form.

Neither model is indexed by Wagtail search (companies arrive by bulk import, which sends no
signal to index them), so both search with the ORM: ``icontains`` over a few columns, one
query per page of ten.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.chooser import ChooseResultsView, ChooseView, ChosenView
from wagtail.admin.viewsets.chooser import ChooserViewSet

CONTACT_PERMISSIONS = ("wagtail_segments.add_contact", "wagtail_segments.change_contact")


class SearchForm(BaseFilterForm):
    """Wagtail's chooser search box (``q``, which its modal script submits as the editor
    types), matched with ``icontains`` against the view's ``search_fields``."""

    q = forms.CharField(label=_("Search term"), required=False,
                        widget=forms.TextInput(attrs={"placeholder": _("Search")}))
    search_fields: tuple[str, ...] = ()

    def filter(self, objects: QuerySet) -> QuerySet:
        objects = super().filter(objects)
        query = (self.cleaned_data.get("q") or "").strip()
        if query and self.search_fields:
            self.is_searching = True
            self.search_query = query
            objects = objects.filter(reduce(or_, (Q(**{f"{name}__icontains": query}) for name in self.search_fields)))
        return objects


def search_form(fields: tuple[str, ...]) -> type[SearchForm]:
    return type("ChooserSearchForm", (SearchForm,), {"search_fields": fields})


class ContactEditorOnly:
    """Only who may add or change a contact opens the chooser: it lists names (and for the
    user chooser, email addresses) that an editor without that permission need not see."""

    def dispatch(self, request, *args, **kwargs):
        if not any(request.user.has_perm(permission) for permission in CONTACT_PERMISSIONS):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class CompanyChooseMixin(ContactEditorOnly):
    filter_form_class = search_form(("name", "domain"))
    ordering = ("name", "pk")

    @property
    def columns(self):
        return [self.title_column, Column("domain", label=_("Domain"))]


class CompanyChooseView(CompanyChooseMixin, ChooseView):
    pass


class CompanyChooseResultsView(CompanyChooseMixin, ChooseResultsView):
    pass


class CompanyChosenView(ContactEditorOnly, ChosenView):
    pass


class CompanyChooserViewSet(ChooserViewSet):
    model = "wagtail_segments.Company"
    icon = "site"
    choose_one_text = _("Choose a company")
    choose_another_text = _("Choose another company")
    edit_item_text = _("Edit this company")
    choose_view_class = CompanyChooseView
    choose_results_view_class = CompanyChooseResultsView
    chosen_view_class = CompanyChosenView
    per_page = 10


def user_search_fields() -> tuple[str, ...]:
    """The columns of the site's user model an editor would search by (a custom user model
    may lack the first and last names)."""
    model = get_user_model()
    names = {field.name for field in model._meta.get_fields()}
    wanted = (model.USERNAME_FIELD, model.get_email_field_name(), "first_name", "last_name")
    return tuple(dict.fromkeys(name for name in wanted if name in names))


class UserChooseMixin(ContactEditorOnly):
    @property
    def filter_form_class(self):
        return search_form(user_search_fields())

    @property
    def ordering(self):
        return (get_user_model().USERNAME_FIELD, "pk")

    @property
    def columns(self):
        email = get_user_model().get_email_field_name()
        return [self.title_column, Column(email, label=_("Email"))]


class UserChooseView(UserChooseMixin, ChooseView):
    pass


class UserChooseResultsView(UserChooseMixin, ChooseResultsView):
    pass


class UserChosenView(ContactEditorOnly, ChosenView):
    pass


class UserChooserViewSet(ChooserViewSet):
    """The site's user accounts. Not registered as the widget of every foreign key to the
    user model (``register_widget``): other apps' forms in the host site keep theirs."""

    model = settings.AUTH_USER_MODEL
    icon = "user"
    choose_one_text = _("Choose a user account")
    choose_another_text = _("Choose another user account")
    edit_item_text = _("Edit this user account")
    choose_view_class = UserChooseView
    choose_results_view_class = UserChooseResultsView
    chosen_view_class = UserChosenView
    register_widget = False
    per_page = 10


company_chooser_viewset = CompanyChooserViewSet("wagtail_segments_company_chooser", url_prefix="marketing/companies/chooser")
user_chooser_viewset = UserChooserViewSet("wagtail_segments_user_chooser", url_prefix="marketing/users/chooser")
