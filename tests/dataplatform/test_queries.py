"""A query compiled once runs with new values for its parameters, its columns converted as the
ORM converts them; a parameter that does not reach the SQL as a parameter is refused."""

from __future__ import annotations

from datetime import datetime

import pytest

from dataplatform.models import Project
from dataplatform.queries import CompiledValues


@pytest.mark.django_db
def test_a_compiled_query_runs_with_new_values() -> None:
    first, second = Project.objects.create(name="First"), Project.objects.create(name="Second")
    from_id = CompiledValues(lambda start: Project.objects.filter(pk__gte=start).order_by("pk")
                             .values_list("pk", "name", "created_at"), start=int)
    rows = from_id.rows(start=first.pk)
    assert [(pk, name) for pk, name, _ in rows] == [(first.pk, "First"), (second.pk, "Second")]
    assert all(isinstance(created, datetime) and created.tzinfo is not None for *_, created in rows)
    assert [pk for pk, *_ in from_id.rows(start=second.pk)] == [second.pk]
    assert from_id.rows(start=second.pk + 1) == []


@pytest.mark.django_db
def test_text_parameters_and_a_parameter_that_is_not_one() -> None:
    Project.objects.create(name="First")
    by_name = CompiledValues(lambda name: Project.objects.filter(name=name).values_list("name"), name=str)
    assert by_name.rows(name="First") == [("First",)] and by_name.rows(name="Other") == []
    not_a_parameter = CompiledValues(lambda name: Project.objects.filter(name=name).values_list("pk"), name=int)
    with pytest.raises(ValueError, match="must reach its SQL as a parameter"):  # an int made text
        not_a_parameter.rows(name="First")
