"""``xiangyue diff`` and ``show-effective``: exit codes, formats, replay, and git integration
(in a temporary repository: diff.xiangyue.command and diff.xiangyue.textconv)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main

TESTS = Path(__file__).parent.parent
ROOT = TESTS.parent
REVIEW = TESTS / "review"
V1 = str(REVIEW / "village-v1.yaml")
V2 = str(REVIEW / "village-v2.yaml")
XIANGYUE = str(Path(sys.executable).parent / "xiangyue")


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_equivalent_files_exit_0():
    result = run("diff", V1, V1)
    assert result.exit_code == 0
    assert "两个版本等价：没有变化" in result.stdout


def test_different_files_exit_1_with_every_change():
    result = run("diff", V1, V2)
    assert result.exit_code == 1
    assert "  ~ 志愿服务：每月上限由 10 分改为 8 分\n" in result.stdout
    assert "  → 规则编号由 banquet 改为 lavish_banquet（大操大办，内容未变）\n" in result.stdout
    assert result.stdout.rstrip().endswith("共 20 处变化（规则 15 处，版本信息 5 处）")


def test_english_json():
    result = run("diff", V1, V2, "--format", "json", "--lang", "en")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    cap = next(c for c in data["changes"] if c["path"] == "rules.volunteer.limit")
    assert cap["message"] == "志愿服务: limit per month changed from 10 to 8 points"
    assert {c["kind"] for c in data["changes"]} == {"added", "removed", "changed", "renamed"}


def test_markdown_memo():
    result = run("diff", V1, V2, "--format", "markdown")
    assert result.exit_code == 1
    assert result.stdout.startswith("# 规则修订审查：东风村 东风村积分制管理细则\n")


def test_invalid_file_exit_2_errors_with_positions_and_no_diff(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(V2).read_text(encoding="utf-8").replace("category: 孝老爱亲\n    when",
                                                                  "category: 孝老\n    when"),
                   encoding="utf-8")
    result = run("diff", V1, str(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{bad}:" in result.stderr and ": E-RULE-CATEGORY: 规则 filial：类别“孝老”没有在 categories 中列出" in result.stderr
    missing = run("diff", V1, str(tmp_path / "nowhere.yaml"))
    assert missing.exit_code == 2 and "E-FILE-NOTFOUND" in missing.stderr


def test_replay_numbers_in_json():
    result = run("diff", V1, V2, "--replay", "--records", str(REVIEW / "records.csv"),
                 "--households", str(REVIEW / "households.csv"), "--period", "2024-Q2",
                 "--format", "json")
    assert result.exit_code == 1, result.output
    impact = json.loads(result.stdout, parse_float=Decimal)["impact"]
    assert [(h["household"], h["old"], h["new"], h["delta"]) for h in impact["households"]] == [
        ("H1", 12, 10, -2), ("H2", -20, -15, 5), ("H3", -10, 0, 10), ("H4", 6, 8, 2), ("H5", 1, 1, 0)]
    assert impact["summary"]["sum_delta"] == 15
    assert impact["boards"]["black"]["left"] == ["H3"]


def test_replay_text():
    result = run("diff", V1, V2, "--replay", "--records", str(REVIEW / "records.csv"),
                 "--households", str(REVIEW / "households.csv"), "--period", "2024-Q2")
    assert "共 5 户：3 户增加，1 户减少，1 户不变；变化合计 +15 分（原 -11 分，现 4 分）" in result.stdout
    assert "黑榜：新上榜 无；落榜 H3" in result.stdout
    assert "红榜：没有变化" in result.stdout


def test_replay_needs_a_period_and_records(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no xiangyue.db here
    result = run("diff", V1, V2, "--replay")
    assert result.exit_code == 2 and "--period" in result.output
    result = run("diff", V1, V2, "--replay", "--period", "2024-Q2")
    assert result.exit_code == 2 and "--records" in result.output


def test_replay_reads_the_village_database_of_this_folder(tmp_path, monkeypatch):
    """Like every other command, --replay finds ./xiangyue.db without --db."""
    monkeypatch.chdir(tmp_path)
    for kind, table in (("households", "households.csv"), ("records", "records.csv")):
        done = run(kind, "import", str(REVIEW / table), "--ruleset", V1)
        assert done.exit_code == 0, done.output
    result = run("diff", V1, V2, "--replay", "--period", "2024-Q2", "--format", "json")
    assert result.exit_code == 1, result.output
    impact = json.loads(result.stdout, parse_float=Decimal)["impact"]
    assert impact["summary"]["sum_delta"] == 15  # as from the files (test_replay_numbers_in_json)


def test_replay_with_a_bad_period_is_exit_2():
    result = run("diff", V1, V2, "--replay", "--records", str(REVIEW / "records.csv"), "--period", "2024-Q5")
    assert result.exit_code == 2 and "E-PERIOD" in result.stderr


def test_show_effective_is_the_same_for_equivalent_files(tmp_path):
    a = run("show-effective", V1)
    assert a.exit_code == 0
    assert "rules:\n  banquet:\n    name: 大操大办\n" in a.stdout
    assert "    points: 2 × 数量\n" in a.stdout
    en = run("show-effective", V1, "--lang", "en")
    assert "    points: 2 * quantity\n" in en.stdout


def test_show_effective_of_an_invalid_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("xiangyue: 1\nrules:\n  - id: x\n    when: 事项 ==\n", encoding="utf-8")
    assert run("show-effective", str(bad)).exit_code == 2
    textconv = run("show-effective", "--git", str(bad))
    assert textconv.exit_code == 0
    assert textconv.stdout.startswith("# ")
    assert textconv.stdout.endswith("xiangyue: 1\nrules:\n  - id: x\n    when: 事项 ==\n")


def test_git_driver_called_by_hand_with_wrong_arguments_is_a_usage_error():
    # git always passes 7 (or 9) arguments; anything else was typed by a person
    result = run("diff", "--git-driver", "a", "b")
    assert result.exit_code == 2
    assert "7 个（或 9 个）参数，这里是 2 个" in result.output


def test_help_has_an_example_and_the_exit_codes():
    for cmd in ("diff", "show-effective"):
        text = run(cmd, "--help", "--lang", "en").output
        assert "Example" in text and "Exit codes" in text
        text = run(cmd, "--help", "--lang", "zh").output
        assert "示例" in text and "退出码" in text


# --------------------------------------------------------------------------------------------
# git integration, in a temporary repository


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # a git run from a hook or `git rebase -x` exports GIT_DIR & co.: they would point these
    # commands at the project's own repository instead of the temporary one
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env = dict(env, XIANGYUE_LANG="zh", GIT_CONFIG_NOSYSTEM="1", HOME=str(repo.parent),
               GIT_AUTHOR_NAME="审查员", GIT_AUTHOR_EMAIL="r@example.org", GIT_COMMITTER_NAME="审查员",
               GIT_COMMITTER_EMAIL="r@example.org", GIT_PAGER="cat", PAGER="cat")
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          encoding="utf-8", check=check)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:  # pragma: no cover
        pytest.skip("git is not installed")
    repo = tmp_path / "village-rules"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitattributes").write_text("*.yaml diff=xiangyue\n", encoding="utf-8")
    (repo / "rules").mkdir()
    shutil.copy(V1, repo / "rules" / "dongfeng.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "2024.1")
    return repo


def test_git_diff_shows_the_semantic_diff(repo):
    git(repo, "config", "diff.xiangyue.command", f"{XIANGYUE} diff --git-driver")
    shutil.copy(V2, repo / "rules" / "dongfeng.yaml")
    out = git(repo, "diff")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("xiangyue diff a/rules/dongfeng.yaml b/rules/dongfeng.yaml\n")
    assert "  ~ 志愿服务：每月上限由 10 分改为 8 分\n" in out.stdout
    # committed history too: git log -p uses the driver with --ext-diff
    git(repo, "commit", "-q", "-am", "2024.2")
    log = git(repo, "log", "-p", "--ext-diff", "-1")
    assert "→ 规则编号由 banquet 改为 lavish_banquet" in log.stdout


def test_git_diff_driver_survives_an_invalid_version(repo):
    git(repo, "config", "diff.xiangyue.command", f"{XIANGYUE} diff --git-driver")
    text = Path(V2).read_text(encoding="utf-8").replace("points: -10\n\n  - id: filial", "points: -\n\n  - id: filial")
    (repo / "rules" / "dongfeng.yaml").write_text(text, encoding="utf-8")
    out = git(repo, "diff")
    assert out.returncode == 0
    assert "规则文件有错误，无法对比：" in out.stdout
    assert "b/rules/dongfeng.yaml:" in out.stdout


def test_git_diff_driver_on_a_new_file_and_a_village_extending_a_template(repo):
    git(repo, "config", "diff.xiangyue.command", f"{XIANGYUE} diff --git-driver")
    (repo / "templates").mkdir()
    shutil.copy(ROOT / "rulesets" / "templates" / "jiangyang-county.yaml", repo / "templates")
    shutil.copy(ROOT / "rulesets" / "examples" / "fenglong.yaml", repo / "rules")
    text = (repo / "rules" / "fenglong.yaml").read_text(encoding="utf-8")
    git(repo, "add", ".")
    new = git(repo, "diff", "--cached", "--", "rules/fenglong.yaml")
    assert new.returncode == 0
    assert "新文件: rules/fenglong.yaml" in new.stdout
    assert "  rubble:\n" in new.stdout
    git(repo, "commit", "-q", "-m", "fenglong")
    # the old version is a temporary file outside the repository: its template is found
    # from the file's place in the repository
    (repo / "rules" / "fenglong.yaml").write_text(text.replace("limit: {max: 8, per: month}",
                                                               "limit: {max: 6, per: month}"), encoding="utf-8")
    out = git(repo, "diff", "--", "rules/fenglong.yaml")
    assert out.returncode == 0
    assert "  ~ 志愿服务：每月上限由 8 分改为 6 分\n" in out.stdout
    assert "共 1 处变化（规则 1 处，版本信息 0 处）" in out.stdout


def test_git_textconv_shows_the_canonical_form(repo):
    git(repo, "config", "diff.xiangyue.textconv", f"{XIANGYUE} show-effective --git")
    text = Path(V1).read_text(encoding="utf-8")
    # an expression spelled differently: no difference in the canonical form
    moved = text.replace("points: 2 × 数量", "points: 2*quantity")
    (repo / "rules" / "dongfeng.yaml").write_text(moved, encoding="utf-8")
    assert git(repo, "diff").stdout == ""
    (repo / "rules" / "dongfeng.yaml").write_text(moved.replace("limit: {max: 10, per: month}",
                                                                "limit: {max: 8, per: month}"), encoding="utf-8")
    out = git(repo, "diff")
    assert out.returncode == 0
    assert "-      max: 10\n+      max: 8\n" in out.stdout
