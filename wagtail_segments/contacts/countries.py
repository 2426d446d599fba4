"""Countries by name for the admin, stored as ISO 3166-1 alpha-2 codes.

The codes and names come from django-countries, whose own gettext catalogues translate them
(found because ``django_countries`` is in INSTALLED_APPS), read lazily: nothing is loaded
until a name is first wanted, and then only its small table of names. One code is added:
XK, not assigned by ISO but the code CDNs and geolocation databases send for Kosovo, named
in this package's catalogue. The list is this package's own ``Countries`` object, so a
site's COUNTRIES_ONLY or COUNTRIES_FIRST (meant for its own CountryFields) does not change
which stored codes the admin knows.
"""

from __future__ import annotations

import functools
import unicodedata

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_countries import Countries


class AdminCountries(Countries):
    only = []  # every country, whatever COUNTRIES_ONLY says
    first = []
    override = {"XK": _("Kosovo")}


countries = AdminCountries()


@functools.cache
def country_codes() -> frozenset[str]:
    return frozenset(countries.countries)


def country_name(code: str, language: str | None = None) -> str:
    """The country's name in ``language`` (the active one by default); "" for a code that is
    no known country."""
    code = (code or "").upper()
    if code not in country_codes():
        return ""
    if language:
        with translation.override(language):
            return countries.name(code)
    return countries.name(code)


def sort_key(name: str) -> str:
    """Accents and case ignored, so that "Åland Islands" sorts among the A's."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """Every country as (code, name), by name in ``language`` (the active one by default)."""
    with translation.override(language or translation.get_language()):
        names = [(code, str(name)) for code, name in countries]
    return sorted(names, key=lambda item: sort_key(item[1]))


def unknown_code_label(code: str) -> str:
    return _("%(code)s (not a known country code)") % {"code": code}


def country_choices_keeping(stored: str = "", empty_label: str = "---------") -> list[tuple[str, str]]:
    """The choices of a country field: none, then every country by name; a stored code that
    is no known country stays listed, marked, so that saving does not clear it."""
    choices = [("", empty_label), *country_choices()]
    if stored and stored not in country_codes():
        choices.append((stored, unknown_code_label(stored)))
    return choices


def country_label(code: str) -> str:
    """How a stored code reads in the admin: "France (FR)", or the code alone."""
    name = country_name(code)
    return f"{name} ({code})" if name else (code or "")
