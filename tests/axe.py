"""axe-core run inside a page the browser tests opened: no serious or critical violation.

The script is axe-core's own build from npm, pinned in tests/js/package-lock.json and
installed by ``make test`` (``make axe``); it is read from disk and injected, never fetched
from a CDN.
"""

from __future__ import annotations

from pathlib import Path

AXE_SCRIPT = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page, context: str | None = None) -> list[dict]:
    """The serious and critical violations axe finds in ``page`` (or in ``context``, a CSS
    selector of the part to check)."""
    if not AXE_SCRIPT.exists():
        raise AssertionError(f"{AXE_SCRIPT} is missing: run `make axe` (npm ci in tests/js).")
    page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate(
        """async (context) => {
            const result = await axe.run(context || document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        context,
    )
    return [violation for violation in results if violation["impact"] in BLOCKING]


def assert_accessible(page, context: str | None = None) -> None:
    violations = axe_violations(page, context)
    assert not violations, "axe-core found:\n" + "\n".join(
        f"- {v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in violations
    )
