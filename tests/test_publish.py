"""Publishing boards: frozen versions, unchanged republishing, corrections, notice files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from xiangyue import Village
from xiangyue.errors import InputError
from xiangyue.data.ingest import import_households, import_records
from xiangyue.points.ledger import get_run
from xiangyue.points.publish import (
    get_publication,
    list_publications,
    published_ledger,
    write_notice_files,
)
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.data.store import open_store

HERE = Path(__file__).parent
JINGOU = HERE.parent / "rulesets" / "examples" / "jingou.yaml"
RECORDS = HERE / "boards" / "records.csv"
HOUSEHOLDS = HERE / "boards" / "households.csv"
T1 = dt.datetime(2024, 4, 3, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
T2 = dt.datetime(2024, 4, 10, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def db(tmp_path):
    rs = load_ruleset(JINGOU)
    path = tmp_path / "village.db"
    with open_store(path) as store:
        import_households(store, HOUSEHOLDS, rs)
        import_records(store, RECORDS, rs)
    return str(path)


def test_first_publication_is_version_1_with_files(db, tmp_path):
    out = tmp_path / "公示"
    r = publish(db, by="张文书", output_dir=out, now=T1)
    assert r.status == "published" and r.previous is None
    p = r.publication
    assert (p.period, p.version, p.published_by, p.published_at) == (
        "2024-Q1", 1, "张文书", "2024-04-03T09:30:00+08:00")
    assert [e["household"] for e in p.boards["red"]] == ["A01", "A02", "A03", "A04", "A05", "A06"]
    assert len(p.boards["households"]) == 19
    assert [Path(f).name for f in r.files] == ["金钩村-2024-Q1-红黑榜-v1.html",
                                               "金钩村-2024-Q1-红黑榜-v1.xlsx"]
    html = Path(r.files[0]).read_text(encoding="utf-8")
    assert "2024年4月3日" in html and "更正" not in html
    with open_store(db, create=False) as store:
        assert get_run(store, p.run_id) is not None  # the run behind the board is in the ledger
        assert len(p.ledger_sha256) == 64


def test_republishing_unchanged_boards_writes_nothing(db, tmp_path):
    publish(db, now=T1)
    again = publish(db, output_dir=tmp_path / "o", now=T2)
    assert again.status == "unchanged" and again.publication.version == 1
    assert again.files == [] and not (tmp_path / "o").exists()
    with open_store(db, create=False) as store:
        assert [p.version for p in list_publications(store)] == [1]
        assert list_publications(store)[0].published_at == "2024-04-03T09:30:00+08:00"


def test_a_publication_read_back_is_the_one_published(db):
    """Its boards are read from the database when first asked for (publishing again compares
    content hashes only): the same boards, the same publication."""
    from xiangyue.report.jsonout import dumps

    published = publish(db, now=T1).publication
    again = publish(db, now=T2)
    with open_store(db, create=False) as store:
        stored = get_publication(store, "2024-Q1")
    for read in (again.publication, stored):
        assert read == published and published == read
        assert read.boards == published.boards
        assert dumps(read.boards) == dumps(published.boards)
    stored.boards = {"changed": True}
    assert stored.boards == {"changed": True} and stored != published


def test_a_correction_publishes_version_2_and_keeps_version_1(db, tmp_path):
    first = publish(db, by="张文书", now=T1).publication
    # a late record: A09 gets 县级表彰 10 in March → red board and 第3网格 change
    late = tmp_path / "late.csv"
    late.write_text("记录编号,户号,日期,事项,级别\nR100,A09,2024-03-30,获得表彰,县级\n", encoding="utf-8")
    with open_store(db, create=False) as store:
        import_records(store, late, load_ruleset(JINGOU))
    r = publish(db, by="李组长", output_dir=tmp_path, now=T2)
    assert r.status == "published" and r.previous.version == 1
    v2 = r.publication
    assert v2.version == 2 and v2.content_sha256 != first.content_sha256
    assert ("A09", 4) in [(e["household"], e["rank"]) for e in v2.boards["red"]]
    html = Path(r.files[0]).read_text(encoding="utf-8")
    assert "更正公示（第 2 版，替代此前发布的第 1 版）" in html
    with open_store(db, create=False) as store:
        pubs = list_publications(store, "2024-Q1")
        assert [(p.version, p.published_by) for p in pubs] == [(1, "张文书"), (2, "李组长")]
        old = get_publication(store, "2024-Q1", 1)
        assert "A09" not in [e["household"] for e in old.boards["red"]]
        assert get_publication(store, "2024-Q1").version == 2
        # the notice of version 1 can be printed again, as it was
        files = write_notice_files(old, tmp_path / "again")
        assert Path(files[0]).name == "金钩村-2024-Q1-红黑榜-v1.html"
        assert "2024年4月3日" in Path(files[0]).read_text(encoding="utf-8")
        # the ledger behind each version stays on record, though the run was replaced
        v1_entries = published_ledger(store, "2024-Q1", 1)
        v2_entries = published_ledger(store, "2024-Q1", 2)
        assert "R100" not in [e["record_id"] for e in v1_entries]
        assert [e["record_id"] for e in v2_entries if e["household"] == "A09"][-1] == "R100"
        assert len(v2_entries) == len(v1_entries) + 1


def test_missing_publication_and_version(db):
    with open_store(db, create=False) as store:
        with pytest.raises(InputError) as err:
            get_publication(store, "2024-Q2")
        assert err.value.diagnostics[0].code == "E-PUBLISH-NONE"
    publish(db, now=T1)
    with open_store(db, create=False) as store:
        with pytest.raises(InputError) as err:
            get_publication(store, "2024-Q1", 3)
        d = err.value.diagnostics[0]
        assert d.code == "E-PUBLISH-VERSION" and d.message("zh") == "2024-Q1 没有第 3 版（已有：1）"


def publish(db, **kw):
    """``xiangyue publish jingou.yaml --period 2024-Q1`` through the one door."""
    return Village(db, JINGOU).publish("2024-Q1", **kw)
