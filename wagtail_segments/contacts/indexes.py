"""An index in an order with NULLs last, on both databases the app supports.

PostgreSQL needs ``NULLS LAST`` written in the index for a query ordered that way to read it;
SQLite refuses the words in ``CREATE INDEX`` but already sorts NULLs last when descending
(NULL is its smallest value). So the index is written with them on PostgreSQL and without
them elsewhere, and each database gets the order its queries use.
"""

from __future__ import annotations

from django.db import models
from django.db.models.expressions import OrderBy


class NullsLastIndex(models.Index):
    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        plain = [
            OrderBy(expression.expression, descending=expression.descending)
            if isinstance(expression, OrderBy) else expression
            for expression in self.expressions
        ]
        return models.Index(*plain, name=self.name).create_sql(model, schema_editor, using=using, **kwargs)
