"""Nothing leaks (issue 14, part 6): intake refuses what is not a regular file, copies keep permissions or
tighter, refused inputs leave nothing behind, runtime folders are git-ignored, `sql --allow-files` writes no file,
and the inbox's own files cannot be overwritten by a document's name.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.inbox import PASSWORDS_FILE, add_to_inbox, refuse_at_intake, remember_password
from sources.inputs import SourceFormatError
from sources.landing import land_file
from sources.reports.intake import load_passwords

pytestmark = [pytest.mark.slow, pytest.mark.faults]
REPO_ROOT = Path(__file__).resolve().parents[2]


def _everything(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.scenario("fails_clearly", "leak")
def test_a_symlink_to_a_system_file_is_refused_at_intake(tmp_path):
    link = tmp_path / "x.pdf"
    link.symlink_to("/etc/passwd")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with pytest.raises(SourceFormatError, match="symbolic link"):
        add_to_inbox(inbox, link)
    with pytest.raises(SourceFormatError, match="symbolic link"):
        land_file(link, source_id="ons_mye2023", origin="x", mode="snapshot", landing_root=tmp_path / "landing")
    assert _everything(inbox) == [] and _everything(tmp_path / "landing") == []


@pytest.mark.scenario("fails_clearly", "leak")
@pytest.mark.parametrize("kind", ["directory", "device", "fifo"])
def test_directories_devices_and_pipes_are_refused_at_intake(tmp_path, kind):
    if kind == "directory":
        path = tmp_path / "folder.pdf"
        path.mkdir()
    elif kind == "device":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "pipe.txt"
        os.mkfifo(path)
    with pytest.raises(SourceFormatError, match="not a regular file"):
        refuse_at_intake(path)


@pytest.mark.scenario("survives", "leak")
def test_landed_copies_keep_the_sources_permissions_or_tighter(tmp_path):
    secret = tmp_path / "mye23tablesew.xlsx"
    secret.write_bytes(b"private bytes")
    secret.chmod(0o600)
    landed = land_file(secret, source_id="ons_mye2023", origin="x", mode="snapshot", landing_root=tmp_path / "data" / "landing")
    assert stat.S_IMODE(os.stat(landed.path(tmp_path / "data")).st_mode) == 0o600
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    public = tmp_path / "report.txt"
    public.write_text("Life expectancy in Hull was 76.2 years in 2020-22.")
    public.chmod(0o644)
    _, copy = add_to_inbox(inbox, public, password="pw")
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600  # anything under the inbox is its owner's only
    assert stat.S_IMODE(os.stat(inbox / PASSWORDS_FILE).st_mode) == 0o600


@pytest.mark.scenario("fails_clearly", "leak")
def test_an_oversized_document_is_refused_before_any_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_REPORT_MAX_BYTES", "1000")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 5000)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with pytest.raises(SourceFormatError, match="over the limit of 1,000"):
        add_to_inbox(inbox, big)
    assert _everything(inbox) == []  # the old code left two copies (inbox and landing store) of a refused file


@pytest.mark.scenario("survives", "leak")
def test_a_document_named_like_the_passwords_file_does_not_break_later_ingests(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    remember_password(inbox, "a" * 64, "secret")
    hostile = tmp_path / PASSWORDS_FILE
    hostile.write_bytes(b"this is not TOML = = =\n\x00\xff")
    _, copy = add_to_inbox(inbox, hostile)
    assert copy.name == "passwords.toml"  # never a dot-file: those are the inbox's own
    assert load_passwords(inbox / PASSWORDS_FILE) == {"a" * 64: "secret"}
    later = tmp_path / "later.txt"
    later.write_text("Healthy life expectancy in Leeds was 60.1 years.")
    add_to_inbox(inbox, later, password="pw2")  # a later ingest still reads and writes the passwords file
    assert load_passwords(inbox / PASSWORDS_FILE)["a" * 64] == "secret"


def test_a_broken_passwords_file_is_named(tmp_path):
    path = tmp_path / PASSWORDS_FILE
    path.write_text("not = = toml")
    with pytest.raises(SourceFormatError, match=r"passwords file is not valid TOML"):
        load_passwords(path)


@pytest.mark.scenario("survives", "leak")
def test_runtime_folders_are_git_ignored():
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["data/inbox/.passwords.toml", "data/landing/ab/abc/x.csv", "data/build/observatory.working.duckdb",
             "warehouse/observatory.duckdb", "warehouse/inbox/.passwords.toml", "data/writer.lock"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=REPO_ROOT, capture_output=True, text=True)
    assert sorted(result.stdout.split()) == sorted(paths), result.stdout


@pytest.fixture()
def tiny_published(tmp_path, monkeypatch):
    published = tmp_path / "observatory.duckdb"
    con = duckdb.connect(str(published))
    con.execute("CREATE TABLE core_geo__areas AS SELECT 'E06000010' AS area_code")
    con.close()
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(published))
    return published


@pytest.mark.scenario("fails_clearly", "leak")
@pytest.mark.parametrize("template", [
    "EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{out}'",
    "EXPLAIN ANALYSE COPY (SELECT 1 AS x) TO '{out}' (FORMAT csv)",
    "explain analyze (format json) COPY (SELECT 1 AS x) TO '{out}'",
    "COPY (SELECT 1 AS x) TO '{out}'",
    "SELECT 1; COPY (SELECT 1 AS x) TO '{out}'",
    "EXPORT DATABASE '{folder}'",
    "PRAGMA profiling_output = '{out}'",
    "WITH t AS (SELECT 1) COPY (SELECT * FROM t) TO '{out}'",
    "CALL enable_profiling()",
    "SET profiling_output = '{out}'",
])
def test_sql_with_allow_files_writes_no_file_in_any_statement_form(tiny_published, tmp_path, template):
    out, folder = tmp_path / "leak.csv", tmp_path / "leak_folder"
    query = template.format(out=out, folder=folder)
    result = CliRunner().invoke(app, ["sql", "--allow-files", query])
    assert result.exit_code != 0, result.output
    assert not out.exists() and not folder.exists()


def test_sql_with_allow_files_still_reads_files_and_explains_selects(tiny_published, tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n")
    assert CliRunner().invoke(app, ["sql", "--allow-files", f"SELECT * FROM read_csv('{data}')"]).exit_code == 0
    assert CliRunner().invoke(app, ["sql", "EXPLAIN ANALYZE SELECT count(*) FROM core_geo__areas"]).exit_code == 0
    assert CliRunner().invoke(app, ["sql", "PRAGMA table_info('core_geo__areas')"]).exit_code == 0
