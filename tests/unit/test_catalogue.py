"""The bundled snapshot: every catalogued file is present, byte-identical, and tampering is refused."""

import tomllib

import pytest

from sources import catalogue as cat


def test_every_bundled_file_matches_its_catalogued_hash():
    entries = cat.catalogue()
    assert len(entries) >= 20
    for source_id, entry in entries.items():
        path = cat.snapshot_file(source_id)
        assert path.stat().st_size > 0, source_id
        assert entry.licence and entry.publisher and entry.url and entry.cadence, source_id


def test_every_snapshot_file_is_catalogued():
    listed = {e.file for e in cat.catalogue().values()}
    on_disk = {p.resolve() for p in cat.SNAPSHOT_DIR.rglob("*") if p.is_file() and p.name != "catalogue.toml"}
    assert on_disk - listed == set()


def test_an_edited_file_is_refused_with_its_name(scratch_snapshot):
    target = scratch_snapshot / "geography" / "lad19_cauth19_en_lu.csv"
    target.write_bytes(target.read_bytes().replace(b"Bolton", b"Boltno"))
    with pytest.raises(cat.SnapshotError, match="lad19_cauth19_en_lu.csv does not match the catalogue"):
        cat.snapshot_file("ons_geo_lad19_cauth19")


def test_a_missing_file_is_refused(scratch_snapshot):
    (scratch_snapshot / "population" / "mye23tablesew.xlsx").unlink()
    with pytest.raises(cat.SnapshotError, match="missing"):
        cat.snapshot_file("ons_mye2023")


def test_a_path_outside_the_snapshot_is_refused(scratch_snapshot):
    text = (scratch_snapshot / "catalogue.toml").read_text()
    (scratch_snapshot / "catalogue.toml").write_text(text.replace('path = "geography/lad19_cauth19_en_lu.csv"', 'path = "../../etc/passwd"'))
    cat.catalogue.cache_clear()
    with pytest.raises(cat.SnapshotError, match="leaves the snapshot folder"):
        cat.snapshot_file("ons_geo_lad19_cauth19")


def test_unknown_source_names_the_known_ones():
    with pytest.raises(cat.SnapshotError, match="known: "):
        cat.snapshot_file("no_such_source")


def test_catalogue_is_valid_toml_with_full_hashes():
    with open(cat.CATALOGUE_PATH, "rb") as fh:
        raw = tomllib.load(fh)
    for item in raw["file"]:
        assert len(item["sha256"]) == 64, item["source_id"]


def test_readme_credits_every_bundled_file_and_its_licence():
    readme = (cat.SNAPSHOT_DIR.parents[1] / "README.md").read_text(encoding="utf-8")
    for source_id, entry in cat.catalogue().items():
        line = next((l for l in readme.splitlines() if f"`{source_id}`" in l), None)
        assert line is not None, f"README does not credit {source_id}"
        assert entry.licence in line, f"README credit for {source_id} lacks its licence {entry.licence}"


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    readme = (cat.SNAPSHOT_DIR.parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [l for l in block.splitlines()[1:] if l.strip() and not l.startswith("#")]
    assert len(commands) == 2
    ci = (cat.SNAPSHOT_DIR.parents[1] / ".ci" / "run").read_text()
    assert commands[0] in ci and commands[1] in ci
