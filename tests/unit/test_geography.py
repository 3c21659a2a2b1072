"""The geography bridge, built from the real bundled lookups, and its failure modes."""

import datetime as dt
import shutil

import pandas as pd
import pytest

from sources import geography
from sources.catalogue import catalogue, snapshot_file
from sources.inputs import InputFile, SourceFormatError

GEO_SOURCES = ["ons_geo_lad23_itl21", "ons_geo_wd19_hierarchy", "ons_geo_lad18_rgn18", "ons_geo_lad19_cauth19",
               "mysociety_local_authorities", "observatory_geo_amendments", "observatory_analysis_groups"]


def _files(**overrides):
    files = {s: InputFile(s, snapshot_file(s), catalogue()[s].sha256) for s in GEO_SOURCES}
    files.update(overrides)
    return files


@pytest.fixture(scope="module")
def bridge():
    return geography.build_bridge(_files())


@pytest.fixture(scope="module")
def footprints(bridge):
    return geography.lad_footprints(bridge.membership, pd.concat([bridge.areas, bridge.former_areas]))


def test_current_geography_counts(bridge):
    counts = bridge.areas.groupby("area_type").size().to_dict()
    assert counts["lad"] == 296
    assert counts["region"] == 9
    assert counts["country"] == 1
    assert counts["group"] == 2
    assert counts["county"] == 21
    assert {"E47000001", "E47000006", "E47000012", "E47000014"} <= set(bridge.areas["area_code"])


def test_abolished_areas_are_former_not_current(bridge):
    former = set(bridge.former_areas["area_code"])
    assert {"E47000010", "E47000011", "E10000006", "E07000026", "E07000163"} <= former
    assert not former & set(bridge.areas["area_code"])


def _successors(bridge, code):
    m = bridge.membership
    return set(m[(m["child_code"] == code) & (m["relationship"] == "succeeded_by")]["parent_code"])


def test_reorganisations_link_predecessors_to_successors(bridge):
    assert _successors(bridge, "E10000006") == {"E06000063", "E06000064"}  # Cumbria → Cumberland + Westmorland and Furness
    assert _successors(bridge, "E07000026") == {"E06000063"}  # Allerdale → Cumberland
    for district in ["E07000163", "E07000164", "E07000165", "E07000166", "E07000167", "E07000168", "E07000169"]:
        assert _successors(bridge, district) == {"E06000065"}  # North Yorkshire districts → North Yorkshire
    assert _successors(bridge, "E07000190") == {"E07000246"}  # Taunton Deane → Somerset West and Taunton
    assert _successors(bridge, "E07000246") == {"E06000066"}  # … → Somerset


def test_lads_in_answers_by_date(footprints):
    north_east_7 = ["E06000047", "E06000057", "E08000021", "E08000022", "E08000023", "E08000024", "E08000037"]
    assert geography.lads_in(footprints, "E47000014", dt.date(2024, 6, 1)) == north_east_7
    assert geography.lads_in(footprints, "E47000014", dt.date(2024, 5, 6)) == []
    assert geography.lads_in(footprints, "E47000010", dt.date(2021, 6, 30)) == ["E06000047", "E08000023", "E08000024", "E08000037"]
    assert geography.lads_in(footprints, "E47000010", dt.date(2024, 6, 1)) == []
    assert geography.lads_in(footprints, "E47000012", dt.date(2024, 6, 1)) == ["E06000014", "E06000065"]
    assert len(geography.lads_in(footprints, "E92000001", dt.date(2021, 6, 30))) == 309
    assert len(geography.lads_in(footprints, "E92000001", dt.date(2023, 6, 30))) == 296
    assert len(geography.lads_in(footprints, "north", dt.date(2021, 6, 30))) == 72
    # Greater Lincolnshire includes the county of Lincolnshire's seven districts.
    assert len(geography.lads_in(footprints, "E47000017", dt.date(2025, 6, 1))) == 9


def test_footprint_index_answers_as_lads_in(bridge, footprints):
    """The index of a whole frame gives lads_in's answers, on each boundary day and the days either side, for
    frames holding dates or (as read back from DuckDB) datetime64 columns."""
    from sources.geography import FootprintIndex

    areas = sorted(bridge.areas.loc[bridge.areas["area_type"].isin(["combined_authority", "group", "county"]), "area_code"])
    bounds = {d for d in pd.concat([footprints["valid_from"], footprints["valid_to"]]).map(geography.as_date) if d}
    days = sorted({d + dt.timedelta(days=k) for d in bounds for k in (-1, 0, 1) if d.year >= 2015})
    as_read = footprints.assign(valid_from=pd.to_datetime(footprints["valid_from"]), valid_to=pd.to_datetime(footprints["valid_to"]))
    for frame in (footprints, as_read):
        index = FootprintIndex(frame)
        for area in areas:
            starts = [d for d in map(geography.as_date, frame.loc[frame["area_code"] == area, "valid_from"]) if d]
            assert index.first_day(area) == (min(starts) if starts else None)
            for day in days:
                assert index.lads_in(area, day) == geography.lads_in(frame, area, day), (area, day)


def test_every_current_lad_is_in_one_region(bridge):
    m = bridge.membership
    current = m[(m["parent_type"] == "region") & m["valid_to"].isna()]
    per_lad = current.groupby("child_code").size()
    lads = set(bridge.areas.loc[bridge.areas["area_type"] == "lad", "area_code"])
    assert set(per_lad.index) >= lads and (per_lad[list(lads)] == 1).all()


def _copy_with(tmp_path, source_id, transform):
    original = snapshot_file(source_id)
    target = tmp_path / original.name
    shutil.copyfile(original, target)
    target.write_text(transform(target.read_text(encoding="utf-8-sig")), encoding="utf-8")
    return InputFile(source_id, target, "0" * 64)


def test_duplicated_code_in_a_lookup_is_refused(tmp_path):
    bad = _copy_with(tmp_path, "ons_geo_lad19_cauth19", lambda t: t + "99,E08000001,Bolton,E47000003,West Yorkshire,\n")
    with pytest.raises(SourceFormatError, match=r"listed more than once: \['E08000001'\]"):
        geography.build_bridge(_files(ons_geo_lad19_cauth19=bad))


def test_renamed_column_is_refused_with_what_was_found(tmp_path):
    bad = _copy_with(tmp_path, "ons_geo_lad23_itl21", lambda t: t.replace("LAD23CD", "LADCODE", 1))
    with pytest.raises(SourceFormatError, match=r"expected one column matching 'LAD\\\\d\{2\}CD'"):
        geography.build_bridge(_files(ons_geo_lad23_itl21=bad))


def test_lad_mapped_to_two_regions_is_refused(tmp_path):
    def clash(text):
        lines = text.splitlines()
        return "\n".join(lines + [lines[1].replace("TLC", "TLD")]) + "\n"
    bad = _copy_with(tmp_path, "ons_geo_lad23_itl21", clash)
    with pytest.raises(SourceFormatError, match="maps to more than one"):
        geography.build_bridge(_files(ons_geo_lad23_itl21=bad))
