"""The loader: validate, stage, swap in one transaction; nothing changes on failure."""

import duckdb
import pandas as pd
import pytest

from warehouse.engine import ddl, loader
from warehouse.engine.contracts import ContractViolation
from warehouse.engine.registry import Field, Table
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

