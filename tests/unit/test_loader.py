"""The loader: validate, stage, swap in one transaction; nothing changes on failure."""

import dataclasses

import duckdb
import pandas as pd
import pytest

from warehouse.engine import ddl, loader
from warehouse.engine.contracts import ContractViolation
from warehouse.engine.queries import published_tables, table_counts
from warehouse.engine.registry import REGISTRY, Field, Table, check_views
from warehouse.engine.registry.fields import AREA_CODE, SEX

TABLE = Table(
    name="core_test__things",
    description="Test table.",
    grain="area x sex",
    primary_key=("area_code", "sex"),
    fields=(AREA_CODE, SEX, Field("amount", "bigint", "An amount.", unit="persons", ge=0),
            Field("note", "text", "A note.", nullable=True)),
)


def _frame(**overrides):
    data = {"area_code": ["E06000001", "E06000002"], "sex": ["persons", "female"], "amount": [10, 20], "note": [None, "x"]}
    data.update(overrides)
    return pd.DataFrame(data)


@pytest.fixture()
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "t.duckdb"))
    yield c
    c.close()


def test_load_creates_typed_commented_table(con):
    assert loader.replace_table(con, TABLE, _frame(), inputs=["f.csv"], fingerprint="fp1") == 2
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'core_test__things'").fetchall())
    assert types == {"area_code": "VARCHAR", "sex": "VARCHAR", "amount": "BIGINT", "note": "VARCHAR"}
    comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'core_test__things'").fetchall()[0][0]
    assert "Grain: area x sex" in comment
    col_comment = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'core_test__things' AND column_name = 'amount'").fetchall()[0][0]
    assert "Unit: persons" in col_comment and ">= 0" in col_comment
    assert loader.last_fingerprint(con, "core_test__things") == "fp1"


def test_all_failures_reported_at_once_and_nothing_changes(con):
    loader.replace_table(con, TABLE, _frame(), fingerprint="fp1")
    bad = _frame(area_code=["E06000001", "X1"], sex=["persons", "unknown"], amount=[-1, 5])
    with pytest.raises(ContractViolation) as err:
        loader.replace_table(con, TABLE, bad, inputs=["bad.csv (sha256 abc)"], fingerprint="fp2")
    message = str(err.value)
    assert "core_test__things: 3 problem(s) in data from bad.csv (sha256 abc)" in message
    assert "'area_code'" in message and "'X1'" in message
    assert "'sex'" in message and "'unknown'" in message
    assert "'amount'" in message and "-1" in message
    assert con.execute("SELECT sum(amount) FROM core_test__things").fetchall()[0][0] == 30
    assert loader.last_fingerprint(con, "core_test__things") == "fp1"


def test_duplicate_keys_are_refused(con):
    with pytest.raises(ContractViolation, match=r"duplicate primary key \(area_code, sex\): 2 row\(s\)"):
        loader.replace_table(con, TABLE, _frame(area_code=["E06000001", "E06000001"], sex=["persons", "persons"]))


def test_missing_column_is_named(con):
    with pytest.raises(ContractViolation, match=r"missing column\(s\) \['amount'\]"):
        loader.replace_table(con, TABLE, _frame().drop(columns=["amount"]))


def test_failure_after_staging_rolls_back(con, monkeypatch):
    loader.replace_table(con, TABLE, _frame(), fingerprint="fp1")

    def explode(_table):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(ddl, "comment_sql", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        loader.replace_table(con, TABLE, _frame(amount=[1, 2]), fingerprint="fp2")
    assert con.execute("SELECT sum(amount) FROM core_test__things").fetchall()[0][0] == 30
    assert "_staging__core_test__things" not in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


OTHER = Table(
    name="core_test__others",
    description="Another test table.",
    grain="area",
    primary_key=("area_code",),
    fields=(AREA_CODE, Field("amount", "bigint", "An amount.", unit="persons", ge=0)),
)


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_replace_tables_loads_every_table_with_its_comments_and_load_record(con):
    rows = loader.replace_tables(con, [(TABLE, _frame()), (OTHER, pd.DataFrame({"area_code": ["E06000001"], "amount": [7]}))],
                                 inputs=["f.csv"], fingerprint="fp1")
    assert rows == {"core_test__things": 2, "core_test__others": 1}
    assert con.execute("SELECT sum(amount) FROM core_test__things").fetchall()[0][0] == 30
    assert con.execute("SELECT amount FROM core_test__others").fetchall() == [(7,)]
    assert "Grain: area" in con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'core_test__others'").fetchall()[0][0]
    assert loader.last_fingerprint(con, "core_test__things") == loader.last_fingerprint(con, "core_test__others") == "fp1"
    assert not {t for t in _tables(con) if t.startswith("_staging__")}


def test_replace_tables_changes_no_table_when_a_later_frame_breaks_its_contract(con):
    """The first frame is already written (on the writer thread) when the second fails validation: rolled back."""
    loader.replace_tables(con, [(TABLE, _frame()), (OTHER, pd.DataFrame({"area_code": ["E06000001"], "amount": [7]}))], fingerprint="fp1")
    with pytest.raises(ContractViolation, match="core_test__others: 1 problem"):
        loader.replace_tables(con, [(TABLE, _frame(amount=[1, 2])), (OTHER, pd.DataFrame({"area_code": ["E06000001"], "amount": [-7]}))],
                              inputs=["bad.csv"], fingerprint="fp2")
    assert con.execute("SELECT sum(amount) FROM core_test__things").fetchall()[0][0] == 30
    assert con.execute("SELECT amount FROM core_test__others").fetchall() == [(7,)]
    assert loader.last_fingerprint(con, "core_test__things") == "fp1"
    assert not {t for t in _tables(con) if t.startswith("_staging__")}
    assert loader.replace_table(con, TABLE, _frame(amount=[3, 4])) == 2  # the connection is usable: no transaction left open


def test_replace_tables_rolls_back_when_writing_fails(con, monkeypatch):
    loader.replace_tables(con, [(TABLE, _frame())], fingerprint="fp1")
    monkeypatch.setattr(ddl, "comment_sql", lambda table: (_ for _ in ()).throw(RuntimeError("disk full (simulated)")) if table is OTHER else [])
    with pytest.raises(RuntimeError, match="disk full"):
        loader.replace_tables(con, [(TABLE, _frame(amount=[1, 2])), (OTHER, pd.DataFrame({"area_code": ["E06000001"], "amount": [7]}))])
    assert con.execute("SELECT sum(amount) FROM core_test__things").fetchall()[0][0] == 30
    assert "core_test__others" not in _tables(con) and not {t for t in _tables(con) if t.startswith("_staging__")}


def test_insert_new_rows_is_idempotent(con):
    assert loader.insert_new_rows(con, TABLE, _frame()) == 2
    assert loader.insert_new_rows(con, TABLE, _frame()) == 0
    assert loader.insert_new_rows(con, TABLE, _frame(area_code=["E06000003", "E06000001"], sex=["persons", "persons"])) == 1


@pytest.mark.parametrize("values", [
    pd.Series(["a", "b", None], dtype="string"),
    pd.Series(["a", "b", None], dtype="str"),
    pd.Series(["a", "b"], dtype=object),
    pd.Series(["a", 3, None], dtype=object),
    pd.Series([1, 2], dtype="int64"),
    pd.Series([1.5, None], dtype="float64"),
], ids=["string", "str", "object text", "object mixed", "int64", "float64"])
def test_the_text_dtype_check_gives_pandera_s_verdict(values):
    """The contracts' text type answers Pandera's dtype check with one bool for a column already of its type, where
    Pandera's STRING answers one True per value; on every other column both give the same per-value answer."""
    import numpy as np
    from pandera.engines import pandas_engine

    from warehouse.engine.contracts import _PANDAS_DTYPE

    ours = _PANDAS_DTYPE["text"].check(pandas_engine.Engine.dtype(values.dtype), values)
    pandera = pandas_engine.STRING().check(pandas_engine.Engine.dtype(values.dtype), values)
    if isinstance(ours, bool):
        assert ours is bool(np.all(pandera))
    else:
        assert list(np.asarray(ours)) == list(np.asarray(pandera))



# --- registry tables stored as views (Table.view_of) ---------------------------------------------------------------

BY_RELEASE, ESTIMATES = REGISTRY["core_population__estimates_by_release"], REGISTRY["core_population__estimates"]


def _releases() -> pd.DataFrame:
    """One area's all-age persons in three years, as two releases published them (mid-2023 revises 2021)."""
    rows = [("mid-2021", 2021, 100), ("mid-2023", 2021, 101), ("mid-2023", 2022, 102), ("mid-2023", 2023, 103)]
    return pd.DataFrame({
        "area_code": "E06000001", "year": [y for _, y, _ in rows], "sex": "persons", "age": "all",
        "population": [p for _, _, p in rows], "release": [r for r, _, _ in rows], "geography_vintage": "2023",
        "method": "published", "source_id": "ons_mye", "source_sha256": "a" * 64, "source_locator": "sheet MYE4, row 9",
    })


def _view_kind(con) -> str | None:
    rows = con.execute("SELECT 'view' FROM duckdb_views() WHERE view_name = 'core_population__estimates' "
                       "UNION ALL SELECT 'table' FROM duckdb_tables() WHERE table_name = 'core_population__estimates'").fetchall()
    return rows[0][0] if rows else None


def test_a_table_stored_as_a_view_is_made_with_its_table_commented_and_recorded(con):
    rows = loader.replace_tables(con, [(BY_RELEASE, _releases())], fingerprint="fp1", views=[ESTIMATES])
    assert rows == {BY_RELEASE.name: 4, ESTIMATES.name: 3}
    assert _view_kind(con) == "view"
    chosen = con.execute("SELECT year, release, population FROM core_population__estimates ORDER BY year").fetchall()
    assert chosen == [(2021, "mid-2021", 100), (2022, "mid-2023", 102), (2023, "mid-2023", 103)]  # its own year's release, else the latest
    comment = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'core_population__estimates'").fetchall()[0][0]
    assert "A view of rows of `core_population__estimates_by_release`" in comment
    column = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'core_population__estimates' AND column_name = 'population'").fetchall()[0][0]
    assert "Unit: persons" in column
    log = loader.load_log(con)
    assert log[ESTIMATES.name].row_count == 3 and log[ESTIMATES.name].fingerprint == "fp1"
    assert loader.table_exists(con, ESTIMATES.name)
    assert ESTIMATES.name in published_tables(con) and table_counts(con)[ESTIMATES.name] == 3


def test_a_view_takes_the_place_of_a_stored_table_of_its_name(con):
    loader.replace_table(con, dataclasses.replace(BY_RELEASE, name=ESTIMATES.name), _releases().iloc[:1])
    assert _view_kind(con) == "table"  # as an older warehouse stored it
    loader.replace_tables(con, [(BY_RELEASE, _releases())], views=[ESTIMATES])
    assert _view_kind(con) == "view"
    assert con.execute("SELECT count(*) FROM core_population__estimates").fetchall()[0][0] == 3


def test_a_stored_table_takes_the_place_of_a_view_of_its_name(con):
    loader.replace_tables(con, [(BY_RELEASE, _releases())], views=[ESTIMATES])
    stored = dataclasses.replace(ESTIMATES, view_of=None)  # as a registry that stores it again would declare it
    assert loader.replace_table(con, stored, _releases().iloc[:2].assign(year=[2021, 2022])) == 2
    assert _view_kind(con) == "table"
    assert loader.load_log(con)[ESTIMATES.name].row_count == 2


def test_a_view_whose_query_repeats_a_key_is_refused_and_nothing_changes(con, monkeypatch):
    loader.replace_tables(con, [(BY_RELEASE, _releases())], fingerprint="fp1", views=[ESTIMATES])
    monkeypatch.setattr(ddl, "sql_text", lambda name: "SELECT * FROM core_population__estimates_by_release")  # every release
    changed = _releases().assign(population=lambda f: f["population"] + 1)
    with pytest.raises(ContractViolation) as err:
        loader.replace_tables(con, [(BY_RELEASE, changed)], inputs=["mye.xlsx"], fingerprint="fp2", views=[ESTIMATES])
    assert "core_population__estimates: 1 problem(s) in data from mye.xlsx" in str(err.value)
    assert "primary key (area_code, year, sex, age) repeated: first [('E06000001', 2021, 'persons', 'all', 2)]" in str(err.value)
    assert con.execute("SELECT sum(population) FROM core_population__estimates_by_release").fetchall()[0][0] == 406  # as before
    assert con.execute("SELECT count(*) FROM core_population__estimates").fetchall()[0][0] == 3
    assert loader.last_fingerprint(con, ESTIMATES.name) == "fp1"


def test_a_view_whose_columns_are_not_the_registry_s_is_refused(con, monkeypatch):
    monkeypatch.setattr(ddl, "sql_text", lambda name: "SELECT area_code, year FROM core_population__estimates_by_release")
    with pytest.raises(ContractViolation, match="the view's columns .* are not the registry's"):
        loader.replace_tables(con, [(BY_RELEASE, _releases())], views=[ESTIMATES])
    assert _view_kind(con) is None and not loader.table_exists(con, BY_RELEASE.name)


@pytest.mark.parametrize("view, error", [
    (dataclasses.replace(ESTIMATES, view_of="core_population__nowhere"), "is not a registered stored table"),
    (dataclasses.replace(ESTIMATES, fields=ESTIMATES.fields[:-1]), "its fields must be those of core_population__estimates_by_release"),
])
def test_the_registry_refuses_a_view_of_no_stored_table_or_with_other_fields(view, error):
    with pytest.raises(ValueError, match=error):
        check_views({BY_RELEASE.name: BY_RELEASE, view.name: view})
    check_views({BY_RELEASE.name: BY_RELEASE, ESTIMATES.name: ESTIMATES})  # as registered: accepted


# --- registry tables stored as the union of others (Table.union_of) -------------------------------------------------

KEY_FIELD = Field("indicator_id", "text", "Indicator.", pattern=r"^[a-z0-9_]+$")
VALUE_FIELD = Field("value", "double", "Value.", nullable=True)
FEED_A = Table(name="core_a__values", description="Feed A.", grain="indicator", primary_key=("indicator_id",), fields=(KEY_FIELD, VALUE_FIELD))
FEED_B = Table(name="core_b__values", description="Feed B.", grain="indicator", primary_key=("indicator_id",),
               fields=(KEY_FIELD, VALUE_FIELD, Field("note", "text", "Only feed B has it.", nullable=True)))
UNION = Table(name="core_all__values", description="Both feeds.", grain="indicator", primary_key=("indicator_id",),
              fields=(KEY_FIELD, VALUE_FIELD), union_of=(FEED_A.name, FEED_B.name))


def _feed(ids: list[str], **extra) -> pd.DataFrame:
    return pd.DataFrame({"indicator_id": ids, "value": [float(i) for i in range(len(ids))], **extra})


def test_a_union_is_every_row_of_its_tables_in_their_order_with_its_key_checked_across_them(con):
    loader.replace_tables(con, [(FEED_A, _feed(["b_one", "a_two"]))])
    rows = loader.replace_tables(con, [(FEED_B, _feed(["c_three"], note=["x"]))], fingerprint="fp1", views=[UNION])
    assert rows == {FEED_B.name: 1, UNION.name: 3}
    assert con.execute("SELECT * FROM core_all__values").fetchall() == [("b_one", 0.0), ("a_two", 1.0), ("c_three", 0.0)]
    comment = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'core_all__values'").fetchall()[0][0]
    assert "the union of the rows of `core_a__values`, `core_b__values`" in comment
    with pytest.raises(ContractViolation, match=r"primary key \(indicator_id\) repeated: first \[\('a_two', 2\)\]"):
        loader.replace_tables(con, [(FEED_B, _feed(["a_two"], note=[None]))], fingerprint="fp2", views=[UNION])  # feed A's id
    assert con.execute("SELECT count(*) FROM core_all__values").fetchall()[0][0] == 3  # nothing changed
    assert loader.last_fingerprint(con, UNION.name) == "fp1"


@pytest.mark.parametrize("union, error", [
    (dataclasses.replace(UNION, union_of=(FEED_A.name, "core_c__nowhere")), "is not a registered stored table"),
    (dataclasses.replace(UNION, fields=(KEY_FIELD, VALUE_FIELD.but(nullable=False))), "declared the same"),
    (dataclasses.replace(UNION, fields=(KEY_FIELD, VALUE_FIELD, FEED_B.fields[-1])), "must be a field of core_a__values"),
])
def test_the_registry_refuses_a_union_of_no_stored_table_or_of_fields_its_tables_do_not_share(union, error):
    with pytest.raises(ValueError, match=error):
        check_views({FEED_A.name: FEED_A, FEED_B.name: FEED_B, union.name: union})
    check_views({FEED_A.name: FEED_A, FEED_B.name: FEED_B, UNION.name: UNION})  # as declared: accepted


def test_a_union_of_some_of_its_tables_holds_their_rows(con):
    """A code location limited to some domains builds only their feeds: the union is theirs, or empty with its columns."""
    rows = loader.replace_tables(con, [], views=[UNION], unions={UNION.name: []})
    assert rows == {UNION.name: 0}
    assert [r[:2] for r in con.execute("DESCRIBE core_all__values").fetchall()] == [("indicator_id", "VARCHAR"), ("value", "DOUBLE")]
    loader.replace_tables(con, [(FEED_B, _feed(["c_three"], note=["x"]))], views=[UNION], unions={UNION.name: [FEED_B.name]})
    assert con.execute("SELECT * FROM core_all__values").fetchall() == [("c_three", 0.0)]


def test_a_union_whose_table_is_missing_fails_and_nothing_changes(con):
    """A feed the build says it unions but that was never built is an error, not a union silently without it."""
    loader.replace_tables(con, [(FEED_B, _feed(["c_three"], note=["x"]))], views=[UNION], unions={UNION.name: [FEED_B.name]})
    with pytest.raises(duckdb.CatalogException, match="core_a__values"):
        loader.replace_tables(con, [(FEED_B, _feed(["c_four"], note=["y"]))], views=[UNION])  # all of it: feed A too
    assert con.execute("SELECT * FROM core_all__values").fetchall() == [("c_three", 0.0)]
    with pytest.raises(ValueError, match="is not a union of"):
        ddl.view_sql(UNION, [FEED_A.name, "core_c__nowhere"])
