"""What leaves the database is safe: file names, whole files, templates that are rule files,
control characters shown, git paths that look like options, unfinished publications."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue import Village
from xiangyue.cli.main import main
from xiangyue.data.ingest import import_households, import_records
from xiangyue.data.store import open_store
from xiangyue.errors import Diagnostic, RulesetError, format_diagnostic
from xiangyue.points import publish as publish_mod
from xiangyue.report.output import atomic_write, path_inside, safe_filename
from xiangyue.report.terminal import VisibleStream, visible
from xiangyue.rules.pipeline import load_ruleset

HERE = Path(__file__).parent
ROOT = HERE.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"
XIANGYUE = str(Path(sys.executable).parent / "xiangyue")


# --- file names and whole files -------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("金钩村-2024-Q1-红黑榜-v1.html", "金钩村-2024-Q1-红黑榜-v1.html"),
    ("../../outside/x", "_.._outside_x"),
    ("a/b\\c:d*e?f", "a_b_c_d_e_f"),
    ("..", "file"),
    ("CON", "_CON"),
    ("x\x1b[2Jy", "x_[2Jy"),
])
def test_file_names_from_data_stay_in_their_folder(tmp_path, name, expected):
    assert safe_filename(name) == expected
    path = path_inside(tmp_path, name)
    assert path.parent == tmp_path


def test_atomic_write_leaves_the_old_file_or_the_whole_new_one(tmp_path, monkeypatch):
    target = tmp_path / "notice.html"
    atomic_write(target, "第一版")
    real_replace = os.replace

    def killed(src, dst):  # the process dies just before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "第二版" * 1000)
    monkeypatch.setattr(os, "replace", real_replace)
    assert target.read_text(encoding="utf-8") == "第一版"
    assert [p.name for p in tmp_path.iterdir()] == ["notice.html"]  # no temporary file left


# --- control characters -------------------------------------------------------------------------

def test_control_characters_are_shown_not_sent():
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("x\u202ey") == "x\\u202ey"
    assert visible("行1\n\t行2") == "行1\n\t行2"
    d = Diagnostic("E-TEMPLATE-MISSING", "a.yaml", 3, 5, args={"path": "\x1b]0;x\x07"},
                   source_line="extends: \x1b]0;x\x07")
    text = format_diagnostic(d, "zh")
    assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text


def test_only_the_characters_kept_pass_and_every_other_control_character_is_shown():
    controls = [chr(c) for c in [*range(0x20), *range(0x7f, 0xa0), 0x61c, 0x200e, 0x200f,
                                 *range(0x202a, 0x202f), *range(0x2066, 0x206a)]]
    for keep in ("", "\n\t", "\n\t\r"):
        for ch in controls:
            shown = f"\\x{ord(ch):02x}" if ord(ch) < 0x80 else f"\\u{ord(ch):04x}"
            assert visible(f"a{ch}b", keep=keep) == (f"a{ch}b" if ch in keep else f"a{shown}b")
        assert visible("行 ] - ^ \\ x", keep=keep) == "行 ] - ^ \\ x"


def test_the_cli_guard_lets_only_colour_codes_through():
    import io

    buf = io.StringIO()
    VisibleStream(buf).write("\x1b[31m红\x1b[0m \x1b]0;title\x07 \x1b[2J\r\n")
    assert buf.getvalue() == "\x1b[31m红\x1b[0m \\x1b]0;title\\x07 \\x1b[2J\r\n"


# --- extends loads only rule files ---------------------------------------------------------------

def _village_extending(tmp_path: Path, target: str) -> Path:
    f = tmp_path / "village.yaml"
    f.write_text(f"xiangyue: 1\nextends: {target}\nvillage: 测试村\n", encoding="utf-8")
    return f


def _refusal(path: Path) -> Diagnostic:
    with pytest.raises(RulesetError) as err:
        load_ruleset(path)
    [d] = err.value.diagnostics
    return d


@pytest.mark.parametrize("name, content", [
    ("secrets.yaml", "db_password: hunter2\napi_key: s3cret\n"),
    ("secrets.txt", "db_password: hunter2\n"),
    ("broken.yaml", "db_password: [hunter2\n"),
    ("list.yaml", "- hunter2\n"),
])
def test_extends_refuses_a_file_that_is_not_a_rule_file_without_quoting_it(tmp_path, name,
                                                                           content):
    (tmp_path / name).write_text(content, encoding="utf-8")
    d = _refusal(_village_extending(tmp_path, name))
    assert d.code == "E-TEMPLATE-NOT-RULES" and (d.file, d.line) == (str(tmp_path / "village.yaml"), 2)
    shown = format_diagnostic(d, "zh") + format_diagnostic(d, "en")
    assert "hunter2" not in shown and "db_password" not in shown


def test_extends_refuses_devices_fifos_and_folders(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    assert _refusal(_village_extending(tmp_path, "dir.yaml")).code == "E-TEMPLATE-NOT-RULES"
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.yaml")  # reading it would block forever
        assert _refusal(_village_extending(tmp_path, "pipe.yaml")).code == "E-TEMPLATE-NOT-RULES"
    if os.path.exists("/dev/zero"):
        os.symlink("/dev/zero", tmp_path / "zero.yaml")
        assert _refusal(_village_extending(tmp_path, "zero.yaml")).code == "E-TEMPLATE-NOT-RULES"


def test_a_real_template_still_works():
    rs = load_ruleset(ROOT / "rulesets" / "examples" / "fenglong.yaml")
    assert rs.extends


# --- git driver and textconv accept option-like paths --------------------------------------------

def test_git_diff_of_a_rule_file_named_like_an_option(tmp_path):
    if shutil.which("git") is None:  # pragma: no cover
        pytest.skip("git is not installed")
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path), XIANGYUE_LANG="zh",
               GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@example.org", GIT_COMMITTER_NAME="a",
               GIT_COMMITTER_EMAIL="a@example.org", GIT_PAGER="cat")
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                              encoding="utf-8")

    git("init", "-q")
    (repo / ".gitattributes").write_text("*.yaml diff=xiangyue\n", encoding="utf-8")
    shutil.copy(HERE / "review" / "village-v1.yaml", repo / "--help.yaml")
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    shutil.copy(HERE / "review" / "village-v2.yaml", repo / "--help.yaml")
    git("config", "diff.xiangyue.command", f"{XIANGYUE} diff --git-driver")
    out = git("diff")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("xiangyue diff a/--help.yaml b/--help.yaml\n"), out.stdout[:300]
    assert "每月上限由 10 分改为 8 分" in out.stdout
    git("config", "--unset", "diff.xiangyue.command")
    git("config", "diff.xiangyue.textconv", f"{XIANGYUE} show-effective --git")
    out = git("diff")
    assert out.returncode == 0 and "Usage" not in out.stdout + out.stderr, out.stderr


def test_show_effective_git_with_an_option_like_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(HERE / "review" / "village-v1.yaml", tmp_path / "--help.yaml")
    r = CliRunner().invoke(main, ["show-effective", "--git", "--help.yaml"])
    assert r.exit_code == 0 and "Usage" not in r.output and "rules" in r.output


# --- an unfinished publication is finished by the next run ---------------------------------------

@pytest.fixture
def db(tmp_path):
    rs = load_ruleset(JINGOU)
    path = tmp_path / "village.db"
    with open_store(path) as store:
        import_households(store, HERE / "boards" / "households.csv", rs)
        import_records(store, HERE / "boards" / "records.csv", rs)
    return str(path)


def test_a_publish_killed_after_its_commit_is_finished_by_the_next_publish(db, tmp_path,
                                                                           monkeypatch):
    out = tmp_path / "公示"
    real = publish_mod.write_notice_files

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the clerk closed the window right after the commit

    monkeypatch.setattr(publish_mod, "write_notice_files", killed)
    with pytest.raises(KeyboardInterrupt):
        Village(db, JINGOU).publish("2024-Q1", output_dir=out)
    assert not out.exists()
    monkeypatch.setattr(publish_mod, "write_notice_files", real)
    again = Village(db, JINGOU).publish("2024-Q1")
    assert again.status == "unchanged"
    [done] = again.completed
    assert (done.period, done.version) == ("2024-Q1", 1)
    assert sorted(p.name for p in out.iterdir()) == ["金钩村-2024-Q1-红黑榜-v1.html",
                                                     "金钩村-2024-Q1-红黑榜-v1.xlsx"]
    # and only once
    assert Village(db, JINGOU).publish("2024-Q1").completed == []


def test_a_temporary_file_left_by_a_killed_write_is_cleared(db, tmp_path, monkeypatch):
    out = tmp_path / "公示"
    out.mkdir()
    stale = out / ".金钩村-2024-Q1-红黑榜-v1.html.abc123.tmp"
    stale.write_text("<html>半截", encoding="utf-8")
    r = Village(db, JINGOU).publish("2024-Q1", output_dir=out)
    assert sorted(p.name for p in out.iterdir()) == [Path(f).name for f in sorted(r.files)]


def test_publish_show_finishes_and_says_so(db, tmp_path, monkeypatch):
    out = tmp_path / "公示"
    monkeypatch.setattr(publish_mod, "write_notice_files",
                        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        Village(db, JINGOU).publish("2024-Q1", output_dir=out,
                now=dt.datetime(2024, 4, 3, 9, 0, tzinfo=dt.timezone.utc))
    monkeypatch.undo()
    r = CliRunner().invoke(main, ["publish", "--show", "2024-Q1", "--db", db, "--lang", "zh"])
    assert r.exit_code == 0, r.output
    assert "公示文件未写完，现已补写" in r.output
    assert len(list(out.iterdir())) == 2


def test_json_on_the_terminal_stays_valid_json():
    import io
    import json

    buf = io.StringIO()
    VisibleStream(buf).write(json.dumps({"head": "a\x85b\u202ec\x1b"}, ensure_ascii=False))
    assert json.loads(buf.getvalue()) == {"head": "a\x85b\u202ec\x1b"}
    assert "\u202e" not in buf.getvalue() and "\x85" not in buf.getvalue()


def test_printable_text_is_returned_as_is_and_every_control_character_is_caught():
    from xiangyue.report.terminal import _CONTROL, _printable

    text = "户号 JG001\n总分 12.5\n" * 3
    assert visible(text) is text  # nothing to show: no copy
    # the quick check never lets through what the expression would show
    for ch in map(chr, range(0x3000)):
        if _CONTROL.match(ch) and ch not in "\n\t":
            assert not _printable(f"a{ch}b\n", "\n\t"), repr(ch)
            assert visible(f"a{ch}b") != f"a{ch}b"
