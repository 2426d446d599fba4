"""What pyproject.toml declares: lower bounds that CI tests (.ci/lowest.txt), and package data
that holds every file the app reads at run time (test_install.py runs the checkout from
PYTHONPATH, so it would not notice a template left out of the wheel)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(?:\[(?P<extras>[^\]]+)\])?>=(?P<version>[^,;\s]+)")


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def release(version: str) -> tuple[int, ...]:
    """"2.4" and "2.4.0" are one version."""
    numbers = [int(part) for part in version.split(".")]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def declared_lower_bounds() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for group in project["optional-dependencies"].values() for r in group]
    bounds = {}
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        assert match, f"{requirement!r} has no lower bound"
        bounds[normalised(match["name"])] = release(match["version"])
        if match["name"] == "psycopg" and match["extras"] == "binary":
            bounds["psycopg-binary"] = release(match["version"])
    return bounds


def pinned_lowest() -> dict[str, str]:
    lines = (ROOT / ".ci" / "lowest.txt").read_text().splitlines()
    pins = [line.split("#")[0].strip().split("==") for line in lines]
    return {normalised(name): release(version) for name, version in (pin for pin in pins if pin != [""])}


def test_ci_pins_every_declared_lower_bound():
    assert pinned_lowest() == declared_lower_bounds()


def test_the_lowest_wagtail_has_the_page_model_the_migrations_need():
    # Migrations 0003 and 0005 depend on a Wagtail 8 migration (the swappable page model).
    assert declared_lower_bounds()["wagtail"][0] == 8
    assert "Framework :: Wagtail :: 7" not in (ROOT / "pyproject.toml").read_text()


def test_every_file_of_the_app_that_is_not_python_is_declared_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = ROOT / "wagtail_segments"
    declared = {path for pattern in config["wagtail_segments"] for path in package.glob(pattern) if path.is_file()}
    needed = {path for path in package.rglob("*")
              if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}
    assert needed, "the app has templates and static files"
    assert sorted(str(path.relative_to(package)) for path in needed - declared) == []
