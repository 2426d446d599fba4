"""Countries by name for the admin, stored as ISO 3166-1 alpha-2 codes.

The names come from ``phonenumbers`` (already a dependency, for SMS): its geocoder names the
region of a region's example number, in many languages. It has no entry for the regions
without a telephone numbering plan of their own (Antarctica, Bouvet Island, …) and no name
for a few it does number (Saint Barthélemy, Kosovo, …): those are named here, in this
package's catalogue. Its two regions that are no ISO 3166-1 codes (AC Ascension Island and
TA Tristan da Cunha, both part of SH) are left out.
"""

from __future__ import annotations

import functools
import unicodedata

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

NOT_COUNTRIES = frozenset({"AC", "TA"})
# Named here: not numbered by phonenumbers, or numbered without a name.
NAMED_HERE = {
    "AQ": _("Antarctica"),
    "BL": _("Saint Barthélemy"),
    "BV": _("Bouvet Island"),
    "EH": _("Western Sahara"),
    "GS": _("South Georgia and the South Sandwich Islands"),
    "HM": _("Heard Island and McDonald Islands"),
    "MF": _("Saint Martin (French part)"),
    "PN": _("Pitcairn"),
    "TF": _("French Southern Territories"),
    "UM": _("United States Minor Outlying Islands"),
    # Not assigned by ISO, but the code CDNs and geolocation databases send for Kosovo.
    "XK": _("Kosovo"),
}


@functools.cache
def country_codes() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS - NOT_COUNTRIES) | frozenset(NAMED_HERE)


def phonenumbers_locale(language: str) -> tuple[str, str | None, str | None]:
    """Django's language code ("pt-br", "zh-hans", "sr-latn") as phonenumbers' (language,
    script, region)."""
    parts = language.replace("_", "-").split("-")
    script = region = None
    for part in parts[1:]:
        if len(part) == 4:
            script = part.title()
        elif len(part) == 2:
            region = part.upper()
    return parts[0].lower(), script, region


def country_name(code: str, language: str | None = None) -> str:
    """The country's name in ``language`` (the active one by default), in English where
    phonenumbers has no name in that language; "" for a code that is no known country."""
    code = (code or "").upper()
    language = language or get_language() or "en"
    return _names(language).get(code, "")


@functools.lru_cache(maxsize=32)
def _names(language: str) -> dict[str, str]:
    import phonenumbers
    from django.utils import translation
    from phonenumbers import geocoder

    lang, script, region = phonenumbers_locale(language)
    names = {}
    for code in country_codes():
        if code in NAMED_HERE:
            with translation.override(language):
                names[code] = str(NAMED_HERE[code])
            continue
        number = phonenumbers.example_number(code)
        names[code] = (geocoder.country_name_for_number(number, lang, script, region)
                       or geocoder.country_name_for_number(number, "en"))
    return names


def sort_key(name: str) -> str:
    """Accents and case ignored, so that "Åland Islands" sorts among the A's."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """Every country as (code, name), by name in ``language`` (the active one by default)."""
    names = _names(language or get_language() or "en")
    return sorted(names.items(), key=lambda item: sort_key(item[1]))


def country_choices_keeping(stored: str = "", empty_label: str = "---------") -> list[tuple[str, str]]:
    """The choices of a country field: none, then every country by name; a stored code that
    is no known country stays listed, marked, so that saving does not clear it."""
    choices = [("", empty_label), *country_choices()]
    if stored and stored not in country_codes():
        choices.append((stored, _("%(code)s (not a known country code)") % {"code": stored}))
    return choices


def country_label(code: str) -> str:
    """How a stored code reads in the admin: "France (FR)", or the code alone."""
    name = country_name(code)
    return f"{name} ({code})" if name else (code or "")
