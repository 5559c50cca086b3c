"""``registry.search`` and ``registry.get_project`` on the demo registry, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from mics import registry
from mics.db import Database
from mics.errors import InvalidInput, NotFound
from mics.registry.demo import load_demo_registry
from mics.registry.schemas import ItemIn


@pytest.fixture
def demo(db: Database) -> Database:
    load_demo_registry(db)
    return db


def test_search_finds_every_kind_that_holds_the_word_in_any_case(demo: Database) -> None:
    found = registry.search(demo, "OAK")
    assert [p.id for p in found.products] == ["sedia-quercia"]
    assert [m.id for m in found.materials] == ["oak-timber"]
    assert [p.name for p in found.partners] == ["Segheria del Cadore S.r.l. (example)"]
    assert found.total == 3


def test_search_finds_projects_by_title_and_partners_by_competence(demo: Database) -> None:
    assert [p.id for p in registry.search(demo, "generative design").projects] == ["generative-bag"]
    partners = {p.id for p in registry.search(demo, "tanning").partners}
    assert "conceria-del-brenta" in partners


def test_search_finds_items_by_the_start_of_their_serial_or_their_lot(demo: Database) -> None:
    registry.create_item(demo, ItemIn(product="borsa-aurora", serial="ZZ-1", lot="L-77"))
    registry.create_item(demo, ItemIn(product="borsa-aurora", serial="ZZ-2"))
    assert [i.serial for i in registry.search(demo, "ZZ-").items] == ["ZZ-1", "ZZ-2"]
    assert [i.serial for i in registry.search(demo, "L-77").items] == ["ZZ-1"]
    assert registry.search(demo, "Z-1").items == ()  # a serial matches from its start only


def test_search_takes_percent_and_underscore_literally(demo: Database) -> None:
    assert registry.search(demo, "%").total == 0
    assert registry.search(demo, "_").total == 0


def test_search_of_nothing_finds_nothing_and_a_long_text_is_refused(demo: Database) -> None:
    assert registry.search(demo, "   ").total == 0
    with pytest.raises(InvalidInput) as error:
        registry.search(demo, "x" * 201)
    assert error.value.field == "q"


def test_search_returns_at_most_limit_of_each_kind(demo: Database) -> None:
    everything = registry.search(demo, "a")
    few = registry.search(demo, "a", limit=2)
    assert len(everything.partners) > 2
    assert len(few.partners) == 2
    assert [p.id for p in few.partners] == [p.id for p in everything.partners[:2]]


def test_get_project_reads_one_project_or_says_it_is_unknown(demo: Database) -> None:
    project = registry.get_project(demo, "generative-bag")
    assert project.spoke == 1
    assert set(project.partners) == {"politecnico-lombardo", "pelletteria-fiorentina"}
    with pytest.raises(NotFound):
        registry.get_project(demo, "no-such-project")
