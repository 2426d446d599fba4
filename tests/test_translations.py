"""Every word the package shows can be translated.

Three checks over the source, each for a mistake that is easy to make and invisible in an
English test run: words typed into a template outside ``{% translate %}``; a message, label or
error given to Django as a plain string; a ``gettext`` call run at import time (it freezes the
server's language into a class attribute). Then Django's own ``makemessages`` must extract the
package without a warning, which is what a translator's catalogue is made from.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wagtail_segments"
TEMPLATES = PACKAGE / "templates"

WORD = re.compile(r"[^\W\d_]{2,}")
# Whole blocks whose words are translated as one message, or are not shown.
TRANSLATED_BLOCK = re.compile(
    r"{%\s*(blocktranslate|blocktrans)\b.*?%}.*?{%\s*end(blocktranslate|blocktrans)\s*%}"
    r"|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}",
    re.S,
)
TEMPLATE_CODE = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
# Attributes a person reads or a screen reader says.
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label"}


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._raw = 0  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._raw += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and WORD.search(value):
                self.found.append((self.getpos()[0], f'{name}="{value}"'))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._raw:
            self._raw -= 1

    def handle_data(self, data):
        if not self._raw and WORD.search(data):
            self.found.append((self.getpos()[0], data.strip()))


def _blank_out(match: re.Match) -> str:
    # Keep the line numbers; leave a space where a tag was, so words on each side stay apart.
    return "\n" * match.group(0).count("\n") or " "


def untranslated_template_text(source: str, plain_text: bool = False) -> list[tuple[int, str]]:
    """The words in a template's ``source`` that no translate tag covers, with their lines."""
    source = TRANSLATED_BLOCK.sub(_blank_out, source)
    source = TEMPLATE_CODE.sub(_blank_out, source)
    if plain_text:
        return [(number, line.strip()) for number, line in enumerate(source.splitlines(), 1) if WORD.search(line)]
    parser = _VisibleText()
    parser.feed(source)
    parser.close()
    return parser.found


def test_the_check_finds_words_outside_translate_tags():
    source = """{% load i18n %}<h1>{% trans "Contacts" %}</h1>
        <p>{% blocktrans with n=count %}{{ n }} contacts{% endblocktrans %}</p>
        <p>{{ contact.email }} · 12</p>{# a note #}
        <button title="Delete">{% icon name="bin" %}</button>
        <p>Nobody yet</p><script>var label = "not shown";</script>"""
    assert untranslated_template_text(source) == [(4, 'title="Delete"'), (5, "Nobody yet")]
    assert untranslated_template_text("{% trans 'Hello' %} {{ name }}\nBye", plain_text=True) == [(2, "Bye")]


def test_no_template_shows_words_outside_translate_tags():
    found = []
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        for line, text in untranslated_template_text(path.read_text(), plain_text=path.suffix == ".txt"):
            found.append(f"{path.relative_to(ROOT)}:{line}: {text}")
    assert not found, "Wrap these in {% translate %} or {% blocktranslate %}:\n" + "\n".join(found)


# --- Python ---------------------------------------------------------------------------------

GETTEXT = {"gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
           "npgettext", "npgettext_lazy", "gettext_noop"}
EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}
MESSAGE_FUNCTIONS = {"success", "error", "warning", "info", "debug", "add_message"}
# Keyword arguments and class attributes that Django, Wagtail or the package show to a person.
SHOWN_NAMES = {"label", "verbose_name", "verbose_name_plural", "help_text", "empty_label", "heading",
               "menu_label", "page_title", "header_title", "page_subtitle", "description", "summary",
               "placeholder", "success_message", "error_message", "title", "help", "label_heading",
               "value_label"}
# The package's own constructors for things the admin shows.
NOT_FIELD_LABEL = {"ForeignKey", "OneToOneField", "ManyToManyField", "ParentalKey", "ParentalManyToManyField"}
# Strings that are shown to developers, not editors (system checks, management commands'
# output, exceptions for programming errors), and migrations, which freeze the models' labels.
DEVELOPER_FACING = ("migrations", "management", "checks.py")


CODE = re.compile(r"[a-z0-9]+(?:[_.][a-z0-9]+)+")  # an app label, a dotted path: not words


def _is_words(node: ast.AST) -> bool:
    """A literal with words in it: a string, an f-string or ``"…" % x``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORD.search(node.value)) and not CODE.fullmatch(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_is_words(part) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _is_words(node.left)
    return False


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _gettext_names(tree: ast.Module) -> dict[str, str]:
    """The local names of Django's gettext functions in a module (``_`` → ``gettext_lazy``)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                if alias.name in GETTEXT:
                    names[alias.asname or alias.name] = alias.name
    return names


def plain_strings_shown(source: str) -> list[tuple[int, str]]:
    """Plain strings in ``source`` given where Django or Wagtail show them to a person."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _called(node)
            shown = []
            position = 2 if name == "add_message" else 1  # after the request (and the level)
            if name in MESSAGE_FUNCTIONS and isinstance(node.func, ast.Attribute) \
                    and getattr(node.func.value, "id", "") == "messages" and len(node.args) > position:
                shown.append(node.args[position])
            if name == "ValidationError" and node.args:
                shown.append(node.args[0])
            if name.endswith(("Field", "Block")) and name not in NOT_FIELD_LABEL and node.args:
                shown.append(node.args[0])  # a field's verbose name, a block's label
            shown += [keyword.value for keyword in node.keywords if keyword.arg in SHOWN_NAMES]
            found += [(value.lineno, ast.unparse(value)) for value in shown if _is_words(value)]
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and _is_words(statement.value):
                    targets = [getattr(target, "id", "") for target in statement.targets]
                    if SHOWN_NAMES.intersection(targets):
                        found.append((statement.lineno, ast.unparse(statement)))
                # Choices: NAME = "value", "Label"
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Tuple) \
                        and len(statement.value.elts) == 2 and _is_words(statement.value.elts[1]) \
                        and any(getattr(base, "attr", getattr(base, "id", "")).endswith("Choices") for base in node.bases):
                    found.append((statement.lineno, ast.unparse(statement)))
    return sorted(found)


def gettext_at_import(source: str) -> list[tuple[int, str]]:
    """Calls to the non-lazy gettext functions that run when the module is imported (at module
    or class level, outside any function): they translate once, into the language of whatever
    request or worker imported the module first."""
    tree = ast.parse(source)
    eager = {local for local, real in _gettext_names(tree).items() if real in EAGER}
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in eager:
            found.append((node.lineno, ast.unparse(node)))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def python_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not any(part in relative.split("/") for part in DEVELOPER_FACING):
            yield path


def test_the_check_finds_plain_strings_where_a_person_reads_them():
    source = '''
from django.utils.translation import gettext as _, gettext_lazy
class Kind(models.TextChoices):
    CALL = "call", "Call"
    NOTE = "note", gettext_lazy("Note")
class Form(forms.Form):
    name = forms.CharField(label="Name", help_text=gettext_lazy("Your name"))
    class Meta:
        verbose_name = "contact"
def view(request):
    messages.success(request, f"Saved {request.user}")
    messages.error(request, _("Not saved"))
    raise ValidationError("Too long")
'''
    assert [line for line, _text in plain_strings_shown(source)] == [4, 7, 9, 11, 13]


def test_the_check_finds_gettext_run_at_import():
    source = '''
from django.utils.translation import gettext as _, gettext_lazy
LABEL = _("Contacts")
LAZY = gettext_lazy("Contacts")
class Panel:
    heading = _("Segments")
    def render(self):
        return _("Fine here")
'''
    assert [line for line, _text in gettext_at_import(source)] == [3, 6]


def test_python_gives_only_translatable_strings_where_a_person_reads_them():
    found = [f"{path.relative_to(ROOT)}:{line}: {text}"
             for path in python_modules() for line, text in plain_strings_shown(path.read_text())]
    assert not found, "Mark these with gettext / gettext_lazy:\n" + "\n".join(found)


def test_no_string_is_translated_once_at_import():
    found = [f"{path.relative_to(ROOT)}:{line}: {text}"
             for path in sorted(PACKAGE.rglob("*.py")) for line, text in gettext_at_import(path.read_text())]
    assert not found, "Use gettext_lazy outside functions:\n" + "\n".join(found)


# --- The catalogue ----------------------------------------------------------------------------

def test_makemessages_extracts_the_package_without_a_warning(tmp_path):
    """What translators get: Django's makemessages over a copy of the package (GNU gettext's
    xgettext, installed by ``make test``), with no warning such as a message whose
    placeholders a translator could not reorder."""
    assert shutil.which("xgettext"), "GNU gettext is missing: `make test` installs it (make gettext)."
    copy = tmp_path / "wagtail_segments"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "locale", "static"))
    (copy / "locale").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "--locale", "xx", "--no-location"],
        cwd=copy, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr
    catalogue = (copy / "locale" / "xx" / "LC_MESSAGES" / "django.po").read_text()
    # One from a template, one from Python, one plural.
    assert 'msgid "Yes, erase everything"' in catalogue
    assert 'msgid "The contact and everything about them were erased."' in catalogue
    assert 'msgid_plural "%(count)s events on the timeline"' in catalogue


def test_the_source_catalogue_is_shipped():
    catalogue = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"
    assert catalogue.exists(), "Run `make messages` to write the source catalogue."
    assert 'msgid "Yes, erase everything"' in catalogue.read_text()
