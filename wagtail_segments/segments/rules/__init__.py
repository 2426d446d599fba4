"""Rule types. Each compiles to a Django ``Q`` over contacts; see base.py for the contract."""

from .base import BrokenRule, Rule, RuleContext, registry, register  # noqa: F401


def load_builtin_rules() -> None:
    from . import behaviour, contact, membership  # noqa: F401  (registering is importing)
