"""``xiangyue county …``: a generated county of four villages, on a real Dask cluster on
127.0.0.1, gives for every village exactly what the per-village commands give."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "county"))
from make_county import DEFAULT, make_county  # noqa: E402

distributed = pytest.importorskip("distributed")

PERIOD = "2024-Q1"
BIN = Path(sys.executable).parent


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def as_json(result) -> dict:
    return json.loads(result.output, parse_float=Decimal)


@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module: 2 single-threaded worker processes on 127.0.0.1."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as lc:
        assert lc.scheduler_address.startswith("tcp://127.0.0.1:")
        yield lc.scheduler_address


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("county") / "江阳区"
    make_county(root)
    return root


@pytest.fixture()
def county(county_dir, tmp_path) -> Path:
    """A fresh copy per test (evaluate writes runs into the villages' databases)."""
    copy = tmp_path / "江阳区"
    shutil.copytree(county_dir, copy)
    return copy / "county.yaml"


def village_alone(county: Path, vid: str, *extra: str) -> dict:
    folder = county.parent / "villages" / vid
    result = run("evaluate", str(folder / f"{vid}.yaml"), "--db", str(folder / "xiangyue.db"),
                 "--period", PERIOD, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return as_json(result)


def expected_numbers(doc: dict) -> dict:
    households: dict[str, list] = {}
    for h in doc["households"]:
        acc = households.setdefault(h["household"], [Decimal(0), False])
        acc[0] += h["total"]
        acc[1] = acc[1] or h["vetoed"]
    return {"households": len(households), "total": sum((t for t, _v in households.values()), Decimal(0)),
            "vetoed": sum(1 for _t, v in households.values() if v), "unmatched": len(doc["unmatched"])}


# --------------------------------------------------------------------------------------------
# county evaluate


def test_evaluate_equals_each_village_alone(county, cluster, tmp_path):
    out = tmp_path / "out"
    result = run("county", "evaluate", str(county), "--period", PERIOD, "--format", "json",
                 "--scheduler", cluster, "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    data = as_json(result)
    assert data["county"] == "江阳区" and data["period"] == PERIOD
    assert [v["village"] for v in data["villages"]] == [s.id for s in DEFAULT]  # manifest order
    assert set(data["villages"][0]) >= {"village", "name", "households", "total", "mean", "median",
                                        "vetoed", "unmatched", "error"}
    for v in data["villages"]:
        alone = village_alone(county, v["village"], "--no-save")
        want = expected_numbers(alone)
        assert {k: v[k] for k in want} == want, v["village"]
        assert v["error"] is None
        # --output-dir: the village's full evaluation, as `xiangyue evaluate --format json` prints it
        written = json.loads((out / f"{v['village']}.json").read_text(encoding="utf-8"), parse_float=Decimal)
        assert written == alone
    s = data["summary"]
    assert s == {**s, "villages": 4, "failed": 0,
                 "households": sum(v["households"] for v in data["villages"]),
                 "total": sum(v["total"] for v in data["villages"])}


def test_each_run_is_stored_in_the_villages_database(county, cluster):
    result = run("county", "evaluate", str(county), "--period", PERIOD, "--scheduler", cluster)
    assert result.exit_code == 0, result.output
    for spec in DEFAULT:
        db = county.parent / "villages" / spec.id / "xiangyue.db"
        with contextlib.closing(sqlite3.connect(db)) as conn:
            assert conn.execute("SELECT period FROM runs").fetchall() == [(PERIOD,)]


def test_mean_and_median_worked_by_hand():
    from xiangyue.county.tasks import distribution

    d = distribution([Decimal(x) for x in ("10", "-2", "7.5", "3")])
    # sorted -2, 3, 7.5, 10: median (3 + 7.5) / 2; Q1 at rank 0.75: -2 + 0.75 × 5
    assert d == {"min": Decimal(-2), "q1": Decimal("1.75"), "median": Decimal("5.25"),
                 "q3": Decimal("8.125"), "max": Decimal(10)}
    assert distribution([]) is None


def test_a_broken_village_is_reported_by_name_and_the_others_are_right(county, cluster):
    villages = county.parent / "villages"
    (villages / "shuangqiao" / "shuangqiao.yaml").write_text("xiangyue: 1\nrules: [\n", encoding="utf-8")
    (villages / "baisha" / "xiangyue.db").write_text("这不是数据库\n", encoding="utf-8")
    good = {v: expected_numbers(village_alone(county, v, "--no-save")) for v in ("jingou", "fenglong")}
    result = run("county", "evaluate", str(county), "--period", PERIOD, "--format", "json",
                 "--scheduler", cluster)
    assert result.exit_code == 1
    data = as_json(result)
    by_id = {v["village"]: v for v in data["villages"]}
    assert by_id["shuangqiao"]["households"] is None
    assert "shuangqiao.yaml:3" in by_id["shuangqiao"]["error"]
    assert by_id["baisha"]["errors"][0]["code"] == "E-STORE-NOT-DB"
    for vid, want in good.items():
        assert {k: by_id[vid][k] for k in want} == want and by_id[vid]["error"] is None
    assert data["summary"]["failed"] == 2 and data["summary"]["villages"] == 4
    table = run("county", "evaluate", str(county), "--period", PERIOD, "--scheduler", cluster,
                "--lang", "en")
    assert table.exit_code == 1
    assert "shuangqiao (双桥村):" in table.output and "E-STORE-NOT-DB" in table.output


def test_the_default_local_cluster_gives_the_same(county, tmp_path):
    """No --scheduler: the command starts (and stops) its own cluster on 127.0.0.1."""
    here = run("county", "evaluate", str(county), "--period", PERIOD, "--format", "json", "--workers", "0",
               "--no-save")
    dask = run("county", "evaluate", str(county), "--period", PERIOD, "--format", "json", "--workers", "2",
               "--no-save")
    assert here.exit_code == dask.exit_code == 0
    assert as_json(here) == as_json(dask)


def test_separately_started_dask_scheduler_and_two_workers(county):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, as docs/county.md sets
    them up; the county's results equal the villages evaluated one by one."""
    dask = shutil.which("dask", path=str(BIN)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command is not installed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                       "--dashboard-address", "127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                                           "--nthreads", "1", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        proc = subprocess.run([str(BIN / "xiangyue"), "county", "evaluate", str(county), "--period", PERIOD,
                               "--format", "json", "--scheduler", address, "--workers", "2", "--no-save"],
                              capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout, parse_float=Decimal)
        for v in data["villages"]:
            want = expected_numbers(village_alone(county, v["village"], "--no-save"))
            assert {k: v[k] for k in want} == want
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_or_malformed_scheduler_is_an_input_error(county):
    bad = run("county", "evaluate", str(county), "--period", PERIOD, "--scheduler", "10.0.0.1")
    assert bad.exit_code == 2 and "E-COUNTY-SCHEDULER-ADDRESS" in bad.output


def test_without_dask_the_commands_say_how_to_install_it(county, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = run("county", "evaluate", str(county), "--period", PERIOD, "--lang", "en")
    assert result.exit_code == 2
    assert "pip install 'xiangyue[county]'" in result.output


# --------------------------------------------------------------------------------------------
# the manifest and county init


def test_manifest_problems_are_reported_with_positions(tmp_path):
    (tmp_path / "county.yaml").write_text(
        "county: 江阳区\n"
        "villages:\n"
        "  - {id: a, rules: a/a.yaml, db: a/a.db}\n"
        "  - {id: a, rules: ../../etc/passwd, db: b/b.db}\n"
        "  - {id: c, rules: c/c.yaml, db: a/a.db, colour: red}\n", encoding="utf-8")
    result = run("county", "evaluate", str(tmp_path / "county.yaml"), "--period", PERIOD, "--workers", "0",
                 "--lang", "en")
    assert result.exit_code == 2
    assert "county.yaml:5:42: E-SCHEMA-UNKNOWN-KEY" in result.output
    (tmp_path / "county.yaml").write_text(
        "county: 江阳区\n"
        "villages:\n"
        "  - {id: a, rules: a/a.yaml, db: a/a.db}\n"
        "  - {id: a, rules: ../../etc/passwd, db: b/b.db}\n"
        "  - {id: c, rules: c/c.yaml, db: a/a.db}\n", encoding="utf-8")
    result = run("county", "evaluate", str(tmp_path / "county.yaml"), "--period", PERIOD, "--workers", "0",
                 "--lang", "en")
    assert result.exit_code == 2
    out = result.output
    assert "county.yaml:4:10: E-COUNTY-DUPLICATE-ID" in out
    assert "county.yaml:4:20: E-COUNTY-PATH-OUTSIDE" in out and "../../etc/passwd" in out
    assert "county.yaml:5:34: E-COUNTY-DUPLICATE-DB" in out


def test_a_missing_village_file_is_that_villages_error(tmp_path):
    (tmp_path / "county.yaml").write_text(
        "county: 江阳区\nvillages:\n  - {id: a, name: 甲村, rules: a/a.yaml, db: a/a.db}\n", encoding="utf-8")
    result = run("county", "evaluate", str(tmp_path / "county.yaml"), "--period", PERIOD, "--workers", "0",
                 "--format", "json")
    assert result.exit_code == 1
    assert as_json(result)["villages"][0]["errors"][0]["code"] == "E-FILE-NOTFOUND"


def test_init_writes_a_manifest_from_village_folders(county):
    root = county.parent
    written = county.read_text(encoding="utf-8")
    county.unlink()
    (root / "notes").mkdir()
    result = run("county", "init", str(root), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "4 villages" in result.output and "skipped (no database): notes" in result.output
    from xiangyue.county.manifest import load_county

    made = load_county(county)
    assert [(v.id, v.name) for v in made.villages] == sorted((s.id, s.name) for s in DEFAULT)
    assert made.name == "江阳区"
    assert made.template == str(root / "templates" / "jiangyang-county.yaml")  # what the villages extend
    assert made.policy == str(root / "policies" / "jiangyang-county.policy.yaml")
    assert all(Path(v.rules).is_file() and Path(v.db).is_file() for v in made.villages)
    again = run("county", "init", str(root))
    assert again.exit_code == 2 and "E-COUNTY-INIT-EXISTS" in again.output
    shutil.copy(root / "villages" / "jingou" / "jingou.yaml", root / "villages" / "jingou" / "old.yaml")
    two = run("county", "init", str(root), "--force", "--lang", "en")
    assert two.exit_code == 2 and "E-COUNTY-INIT-RULES" in two.output and "jingou.yaml、old.yaml" in two.output
    assert written  # the test's own manifest was replaced by init's, and kept on failure
    assert county.is_file()


# --------------------------------------------------------------------------------------------
# county lint, report, replay


def test_lint_matches_xiangyue_lint_per_village(county):
    policy = county.parent / "policies" / "jiangyang-county.policy.yaml"
    result = run("county", "lint", str(county), "--format", "json")
    assert result.exit_code == 1  # the reference files break the monthly deduction clause
    data = as_json(result)
    for v in data["villages"]:
        alone = run("lint", "--policy", str(policy), str(county.parent / "villages" / v["village"] /
                                                          f"{v['village']}.yaml"), "--format", "json")
        assert [f["code"] for f in v["findings"]] == [f["code"] for f in as_json(alone)["files"][0]["findings"]]
    assert data["summary"]["findings"] == sum(len(v["findings"]) for v in data["villages"]) > 0


def test_report_json_html_xlsx(county, cluster, tmp_path):
    root = county.parent
    jingou = root / "villages" / "jingou"
    # one village has checklist cases, one has published its boards
    assert run("cases", "import", str(Path(__file__).resolve().parents[2] / "rulesets" / "demo" / "cases.csv"),
               "--db", str(jingou / "xiangyue.db"), "--ruleset", str(jingou / "jingou.yaml")).exit_code == 0
    fenglong = root / "villages" / "fenglong"
    assert run("publish", str(fenglong / "fenglong.yaml"), "--db", str(fenglong / "xiangyue.db"),
               "--period", PERIOD).exit_code == 0
    # a village name that must stay text
    county.write_text(county.read_text(encoding="utf-8").replace("name: 白沙村", 'name: "=<b>白沙村</b>"'),
                      encoding="utf-8")
    result = run("county", "report", str(county), "--period", PERIOD, "--format", "json", "--scheduler", cluster)
    assert result.exit_code == 0, result.output
    data = as_json(result)
    by_id = {v["village"]: v for v in data["villages"]}
    pub = by_id["fenglong"]["publication"]
    assert pub["published"] is True and pub["version"] == 1
    assert pub["days_after_period"] == (dt.date.today() - dt.date(2024, 3, 31)).days
    assert by_id["jingou"]["publication"]["published"] is False
    check = run("check", str(jingou / "jingou.yaml"), "--db", str(jingou / "xiangyue.db"),
                "--as-of", "2024-03-31", "--format", "json")
    assert by_id["jingou"]["checklists"]["by_kind"] == as_json(check)["summary"]["by_kind"] != {}
    alone = expected_numbers(village_alone(county, "baisha", "--no-save"))
    assert by_id["baisha"]["households"] == alone["households"] and by_id["baisha"]["total"] == alone["total"]
    d = by_id["baisha"]["distribution"]
    assert d["min"] <= d["q1"] <= d["median"] <= d["q3"] <= d["max"]
    assert by_id["baisha"]["unmatched_share"] == round(Decimal(alone["unmatched"]) / by_id["baisha"]["records"], 4)

    html_path = tmp_path / "看板.html"
    assert run("county", "report", str(county), "--period", PERIOD, "--format", "html", "--output",
               str(html_path), "--scheduler", cluster).exit_code == 0
    page = html_path.read_text(encoding="utf-8")
    assert "<b>白沙村" not in page and "=&lt;b&gt;白沙村&lt;/b&gt;" in page
    for spec in DEFAULT:
        assert f'data-village="{spec.id}"' in page
    assert page.count("<svg") >= 2

    xlsx = tmp_path / "看板.xlsx"
    assert run("county", "report", str(county), "--period", PERIOD, "--format", "xlsx", "--output", str(xlsx),
               "--scheduler", cluster).exit_code == 0
    from openpyxl import load_workbook

    ws = load_workbook(xlsx).worksheets[0]
    names = [ws.cell(row=r, column=2) for r in range(2, 6)]
    assert [c.value for c in names] == ["金钩村", "双桥村", "丰隆村", "=<b>白沙村</b>"]
    assert all(c.data_type == "s" for c in names)
    assert ws.cell(row=2, column=3).value == by_id["jingou"]["households"]


BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
               None)


@pytest.mark.skipif(BROWSER is None, reason="no chromium on PATH: the dashboard is checked as text only")
def test_report_html_renders_every_village_in_headless_chromium(county, tmp_path):
    page = tmp_path / "看板.html"
    assert run("county", "report", str(county), "--period", PERIOD, "--format", "html", "--output", str(page),
               "--workers", "0").exit_code == 0
    done = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for spec in DEFAULT:  # rows the browser built from the page, not the page's text
        assert f'<tr class="ok" data-village="{spec.id}">' in done.stdout
    assert done.stdout.count("<svg") >= 2


def test_replay_matches_diff_replay_per_village(county, cluster, tmp_path):
    root = county.parent
    template = (root / "templates" / "jiangyang-county.yaml").read_text(encoding="utf-8")
    new_text = template.replace('{"优" → 5, "良" → 2, "差" → -3}', '{"优" → 8, "良" → 2, "差" → -5}')
    assert new_text != template
    new = root / "templates" / "jiangyang-2025.yaml"
    new.write_text(new_text, encoding="utf-8")
    result = run("county", "replay", str(county), "--template", str(new), "--period", PERIOD, "--format",
                 "json", "--scheduler", cluster, "--top", "3")
    assert result.exit_code == 0, result.output
    data = as_json(result)
    by_id = {v["village"]: v for v in data["villages"]}
    assert by_id["jingou"]["uses_template"] is False and by_id["jingou"]["gain"] == by_id["jingou"]["lose"] == 0
    changed = 0
    for vid in ("fenglong", "baisha"):
        folder = root / "villages" / vid
        rebuilt = folder / "rebuilt.yaml"
        rebuilt.write_text((folder / f"{vid}.yaml").read_text(encoding="utf-8").replace(
            "../../templates/jiangyang-county.yaml", "../../templates/jiangyang-2025.yaml"), encoding="utf-8")
        diff = run("diff", str(folder / f"{vid}.yaml"), str(rebuilt), "--replay", "--db",
                   str(folder / "xiangyue.db"), "--period", PERIOD, "--format", "json")
        impact = as_json(diff)["impact"]
        v = by_id[vid]
        assert v["uses_template"] is True
        s = impact["summary"]
        assert (v["households"], v["gain"], v["lose"], v["same"], v["sum_delta"]) == \
            (s["households"], s["gain"], s["lose"], s["same"], s["sum_delta"])
        for board in ("red", "black"):
            assert v["boards"][board]["entered"] == impact["boards"][board]["entered"]
            assert v["boards"][board]["left"] == impact["boards"][board]["left"]
        deltas = sorted((abs(h["delta"]) for h in impact["households"] if h["delta"]), reverse=True)
        assert [abs(h["delta"]) for h in v["largest"]] == deltas[:3]
        changed += bool(v["gain"] or v["lose"])
    assert changed == 2


def test_replay_needs_the_manifests_template(tmp_path):
    (tmp_path / "county.yaml").write_text(
        "county: 江阳区\nvillages:\n  - {id: a, rules: a/a.yaml, db: a/a.db}\n", encoding="utf-8")
    (tmp_path / "new.yaml").write_text("xiangyue: 1\n", encoding="utf-8")
    result = run("county", "replay", str(tmp_path / "county.yaml"), "--template", str(tmp_path / "new.yaml"),
                 "--period", PERIOD, "--workers", "0")
    assert result.exit_code == 2 and "E-COUNTY-NO-TEMPLATE" in result.output



def test_lint_reports_a_broken_rule_file_by_name_and_checks_the_others(county):
    (county.parent / "villages" / "baisha" / "baisha.yaml").write_text("xiangyue: 1\nrules: [\n", encoding="utf-8")
    data = as_json(run("county", "lint", str(county), "--format", "json"))
    by_id = {v["village"]: v for v in data["villages"]}
    assert "baisha.yaml:3" in by_id["baisha"]["error"] and by_id["baisha"]["findings"] == []
    assert all(by_id[v]["error"] is None and by_id[v]["findings"] for v in ("jingou", "shuangqiao", "fenglong"))
    assert data["summary"]["failed"] == 1


def test_a_workbook_needs_an_output_file(county):
    result = run("county", "report", str(county), "--period", PERIOD, "--format", "xlsx", "--workers", "0")
    assert result.exit_code == 2 and "E-OUTPUT-NEEDED" in result.output


def test_init_skips_a_new_village_folder_as_one_not_its_subfolders(tmp_path):
    # `xiangyue init 石桥村` made a folder with a rule file and sub-folders, but no database yet
    assert run("init", str(tmp_path / "石桥村"), "--village", "石桥村").exit_code == 0
    (tmp_path / "青石村").mkdir()
    (tmp_path / "青石村" / "青石村.yaml").write_text("xiangyue: 1\n", encoding="utf-8")
    (tmp_path / "青石村" / "xiangyue.db").write_bytes(b"")
    result = run("county", "init", str(tmp_path), "--lang", "en")
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.output.splitlines() if "skipped" in line]
    assert skipped == ["  skipped (no database): 石桥村"], result.output


def test_init_names_ten_skipped_folders_and_counts_the_rest(county):
    # a county share holds many other folders (scans, minutes): ten are named, the rest counted
    root = county.parent
    county.unlink()
    before = run("county", "init", str(root), "--lang", "en").output.count("skipped (no database)")
    assert before < 10
    county.unlink()
    for i in range(13):
        (root / f"资料{i:02d}").mkdir()
    result = run("county", "init", str(root), "--lang", "en")
    assert result.exit_code == 0, result.output
    named = [line for line in result.output.splitlines() if "skipped (no database)" in line]
    assert len(named) == 10
    assert f"and {before + 13 - 10} more folders without a database skipped" in result.output
