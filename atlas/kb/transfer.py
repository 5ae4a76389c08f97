"""Export a model's or a run's part of an atlas to files, and import it into another atlas
(``atlas export``, ``atlas import``), SQLite and PostgreSQL alike.

**What an export holds** (``DIR/manifest.json`` lists every file with its row count):

* ``tables/NAME.{parquet|csv|jsonl}``: the rows of every table of the atlas's schema that
  belong to the scope, in the schema's own columns: the model(s) (``--model M``: the model, its
  layers, neurons, runs; ``--run R``: that run only; ``--all``: every model, run and corpus), the corpora of those runs (sentences,
  tokens, annotations, concept counts), the whole concept inventory and the method rows, score
  sets and their packed vectors, neuron statistics, top activations, probe results,
  explanations, similarities between exported neurons, and notes on exported targets or on
  concepts (a private note is exported only where the exporting role may read it). A table
  another migration adds is exported by the same rule: a row is in when each of its foreign
  keys points to an exported row.
* ``scores.{fmt}``: the scores in long form for people and other tools: model, run, method,
  params, concept, neuron, value (complete sets only; the view ``score``).
* ``activations/`` (``--activations``): the activation arrays (``.npy``) of the exported runs,
  at their paths under the store root.
* ``records/openai/`` or ``records/neuronpedia/`` (``--records``): a record per neuron in the
  formats of OpenAI's automated-interpretability and of Neuronpedia (:mod:`atlas.kb.records`
  documents the mapping).

Values are written the same way in the three formats: JSON columns as JSON text, times as ISO
8601, packed score vectors as the hex of their little-endian float32 bytes; CSV writes a missing
value as ``\\N`` (so an empty text stays empty).

**Import** reads the manifest, checks the target is an up-to-date atlas that holds none of the
exported models or corpora, and writes everything in **one transaction**: concepts and methods
that the target already has (same name; same name, version and parameters) are reused, every
other row gets a new id (the exported id plus the target's largest id of that table, so an
empty atlas keeps the ids, and query answers that show ids are the same), and foreign keys
follow. Activation files are copied into the target's store first (the same bytes, checked by
SHA-256); a failure leaves the database untouched.

Example::

    export_atlas(db, "dump/", model="minilm", fmt="parquet", activations=True)
    import_atlas(other, "dump/")
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (JSON, Boolean, DateTime, Float, Integer, LargeBinary, Table, func, insert, or_, select,
                        text)
from sqlalchemy.types import TypeDecorator

from atlas.errors import KnowledgeBaseError
from atlas.store.engine import write
from atlas.store.failures import database_label, translating
from atlas.store.scores import pack, unpack
from atlas.store.tables import Base

FORMATS = ("parquet", "csv", "jsonl")
#: Tables never exported: the atlas's own facts (store root, roles) stay with each atlas.
SKIP = ("atlas_info",)
#: Foreign keys that the schema leaves undeclared (COPY speed): table -> {column: referred table}.
IMPLICIT_FKS = {"top_activation": {"run_id": "run", "neuron_id": "neuron"}}
#: Tables whose rows are matched by a natural key in the target (reused, not duplicated).
NATURAL_KEYS = {"concept": ("name",), "method": ("name", "version", "params_hash"), "saved_query": ("name",)}
#: Tables whose rows must not exist in the target already (by this key).
UNIQUE_OWNED = {"model": "name", "corpus": "name"}
MANIFEST = "manifest.json"
NULL = "\\N"


def _tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in SKIP]


def _refs(table: Table) -> dict[str, str]:
    """``{column: referred table}`` of a table's foreign keys (declared and implicit)."""
    out = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
    out.update(IMPLICIT_FKS.get(table.name, {}))
    return out


def _scopes(conn: Any, model: str | None, run: str | None) -> tuple[dict[str, Any], list[int]]:
    """Per table, a SELECT of the exported ids (None: every row), and the exported model ids."""
    tables = Base.metadata.tables
    m, r = tables["model"], tables["run"]
    if model is None and run is None:  # the whole atlas
        model_ids = [int(i) for i in conn.execute(select(m.c.id)).scalars()]
        c = tables["corpus"]
        return {"model": select(m.c.id), "run": select(r.c.id), "corpus": select(c.c.id)}, model_ids
    if run is not None:
        row = conn.execute(select(r.c.id, r.c.model_id).where(r.c.id == int(run))).first() if str(run).isdigit() else None
        if row is None:
            raise KnowledgeBaseError(f"there is no run {run!r}", hint="atlas run list shows the runs and their ids")
        model_ids, run_filter = [int(row.model_id)], r.c.id == int(row.id)
    else:
        found = conn.execute(select(m.c.id).where(m.c.name == model)).scalar()
        if found is None:
            names = list(conn.execute(select(m.c.name)).scalars())
            from atlas.errors import did_you_mean

            raise KnowledgeBaseError(f"unknown model {model!r}", hint=did_you_mean(str(model), names) or "show models lists them")
        model_ids, run_filter = [int(found)], r.c.model_id == int(found)
    scope: dict[str, Any] = {
        "model": select(m.c.id).where(m.c.id.in_(model_ids)),
        "run": select(r.c.id).where(run_filter),
        "corpus": select(r.c.corpus_id).where(run_filter),
    }
    for table in _tables():
        if table.name in scope or "id" not in table.c:
            continue
        where = _where(table, scope)
        if where is not None:
            scope[table.name] = select(table.c.id).where(where)
    return scope, model_ids


def _where(table: Table, scope: dict[str, Any]) -> Any:
    """Rows whose every foreign key is NULL or points to an exported row (None: no condition)."""
    parts = []
    for column, other in _refs(table).items():
        if scope.get(other) is not None:
            col = table.c[column]
            parts.append(col.in_(scope[other]) if not col.nullable else or_(col.is_(None), col.in_(scope[other])))
    if table.name in ("model", "run", "corpus"):
        parts.append(table.c.id.in_(scope[table.name]))
    if not parts:
        return None
    from sqlalchemy import and_

    return and_(*parts)


# -- encoding -------------------------------------------------------------------------------
def _kind(column: Any) -> str:
    t = column.type
    if isinstance(t, TypeDecorator):
        t = t.impl
    if column.table.name == "score_vector" and column.name == "vals":
        return "vector"
    if isinstance(t, JSON):
        return "json"
    if isinstance(t, DateTime):
        return "time"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, Integer):
        return "int"
    if isinstance(t, Float):
        return "float"
    if isinstance(t, LargeBinary):
        return "bytes"
    return "text"


def _encode(frame: pd.DataFrame, table: Table, dialect: str) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        kind = _kind(table.c[name])
        col = out[name]
        if kind == "vector":
            out[name] = [None if _missing(v) else np.asarray(unpack(v, dialect), "<f4").tobytes().hex() for v in col]
        elif kind == "bytes":
            out[name] = [None if _missing(v) else bytes(v).hex() for v in col]
        elif kind == "json":
            out[name] = [None if _missing(v) else json.dumps(v, sort_keys=True) for v in col]
        elif kind == "time":
            out[name] = [None if _missing(v) or v is pd.NaT else _iso(v) for v in col]
        elif kind == "int":
            out[name] = pd.array([None if _missing(v) else int(v) for v in col],
                                 dtype="Int64")
        elif kind == "bool":
            out[name] = pd.array([None if _missing(v) else bool(v) for v in col], dtype="boolean")
        elif kind == "text":
            out[name] = pd.array([None if _missing(v) else str(v) for v in col], dtype=object)
    return out


def _iso(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


def _decode(frame: pd.DataFrame, table: Table, dialect: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name in frame.columns:
        kind = _kind(table.c[name])
        values = [None if _missing(v) else v for v in frame[name].tolist()]
        if kind == "vector":
            out[name] = [None if v is None else pack(np.frombuffer(bytes.fromhex(v), "<f4"), dialect) for v in values]
        elif kind == "bytes":
            out[name] = [None if v is None else bytes.fromhex(v) for v in values]
        elif kind == "json":
            out[name] = [None if v is None else json.loads(v) for v in values]
        elif kind == "time":
            out[name] = [None if v is None else dt.datetime.fromisoformat(str(v)) for v in values]
        elif kind == "int":
            out[name] = [None if v is None else int(v) for v in values]
        elif kind == "float":
            out[name] = [None if v is None else float(v) for v in values]
        elif kind == "bool":
            out[name] = [None if v is None else (v if isinstance(v, bool) else str(v).lower() in ("true", "1")) for v in values]
        else:
            out[name] = [None if v is None else str(v) for v in values]
    return out


def _plain(v: Any) -> Any:
    """A cell as a JSON value (numpy and pandas scalars as Python's; missing as null)."""
    if _missing(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        try:
            frame.to_parquet(path, index=False)
        except ImportError as exc:
            raise KnowledgeBaseError("--format parquet needs pyarrow",
                                     hint="pip install 'neuron-atlas[parquet]', or use --format csv or jsonl") from exc
    elif fmt == "csv":
        frame.to_csv(path, index=False, na_rep=NULL)
    else:  # json.dumps writes floats by repr: exact, where pandas' writer rounds to 15 digits
        with open(path, "w", encoding="utf-8") as fh:
            for row in frame.itertuples(index=False, name=None):
                fh.write(json.dumps({c: _plain(v) for c, v in zip(frame.columns, row)}, ensure_ascii=False) + "\n")


def _read(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[NULL])
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()


# -- export ---------------------------------------------------------------------------------
def export_atlas(db: Any, out: str | Path, *, model: str | None = None, run: str | int | None = None,
                 everything: bool = False, fmt: str = "parquet", activations: bool = False,
                 records: str | None = None) -> dict[str, Any]:
    """Write a model's (or a run's, or with ``everything`` the whole atlas's) part of ``db``
    under ``out``; returns the manifest. ``records`` (``openai`` or ``neuronpedia``) adds a
    record per neuron of each exported model (:mod:`atlas.kb.records`)."""
    if (model is not None) + (run is not None) + bool(everything) != 1:
        raise KnowledgeBaseError("export a model, a run or everything (one of them)",
                                 hint="give --model NAME, --run ID or --all")
    if fmt not in FORMATS:
        raise KnowledgeBaseError(f"unknown format {fmt!r}", hint="use --format parquet, csv or jsonl")
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        raise KnowledgeBaseError(f"{str(root)!r} is not empty", hint="export into a new or empty folder")
    (root / "tables").mkdir(parents=True, exist_ok=True)
    dialect = db.engine.dialect.name
    manifest: dict[str, Any] = {"kind": "neuron-atlas export", "version": 1, "format": fmt,
                                "scope": {"model": model, "run": None if run is None else str(run), "all": bool(everything)}, "tables": {}}
    with translating("exporting", where=database_label(db.engine)):
        with db.engine.connect() as conn, conn.begin():
            from atlas.store import migrate

            manifest["schema_revision"] = migrate.current_revision(db.engine)
            scope, model_ids = _scopes(conn, model, None if run is None else str(run))
            for table in _tables():
                where = _where(table, scope)
                q = select(table)
                if where is not None:
                    q = q.where(where)
                pk = list(table.primary_key.columns)
                result = conn.execute(q.order_by(*pk))
                frame = pd.DataFrame([tuple(r) for r in result.all()], columns=list(result.keys()))
                path = root / "tables" / f"{table.name}.{fmt}"
                _write(_encode(frame, table, dialect), path, fmt)
                manifest["tables"][table.name] = {"file": f"tables/{path.name}", "rows": len(frame)}
            scores = _long_scores(conn, scope)
            _write(scores, root / f"scores.{fmt}", fmt)
            manifest["scores"] = {"file": f"scores.{fmt}", "rows": len(scores)}
            files = conn.execute(select(Base.metadata.tables["activation_file"]).where(
                Base.metadata.tables["activation_file"].c.run_id.in_(scope["run"]))).mappings().all()
    if activations:
        manifest["activations"] = _copy_arrays(db, [dict(f) for f in files], root)
    if records is not None:
        from atlas.kb.records import write_records

        with db.engine.connect() as conn:
            names = list(conn.execute(select(Base.metadata.tables["model"].c.name)
                                      .where(Base.metadata.tables["model"].c.id.in_(model_ids))).scalars())
        manifest["records"] = {"format": records, "neurons": sum(write_records(db, n, root, records) for n in names)}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _long_scores(conn: Any, scope: dict[str, Any]) -> pd.DataFrame:
    """The exported runs' complete scores in long form (model, run, method, params, concept, neuron, value)."""
    from sqlalchemy import bindparam

    q = text("""SELECT m.name AS model, s.run_id AS run, me.name AS method, me.params AS params, c.name AS concept,
                m.name || '/' || n.site || '.' || CAST(n.layer AS VARCHAR(20)) || '/' || CAST(n.unit AS VARCHAR(20)) AS neuron,
                s.value AS value
                FROM score s JOIN neuron n ON n.id = s.neuron_id JOIN model m ON m.id = n.model_id
                JOIN method me ON me.id = s.method_id JOIN concept c ON c.id = s.concept_id
                WHERE s.run_id IN :runs
                ORDER BY s.run_id, me.name, s.method_id, c.name, n.layer, n.site, n.unit""").bindparams(
        bindparam("runs", expanding=True))
    runs = [int(r) for r in conn.execute(scope["run"]).scalars()]
    result = conn.execute(q, {"runs": runs or [-1]})
    frame = pd.DataFrame([tuple(r) for r in result.all()], columns=list(result.keys()))
    frame["params"] = [v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in frame["params"]]
    return frame


def _copy_arrays(db: Any, files: list[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    copied = []
    for f in files:
        src = db.store.path(f["path"])
        if not src.is_file():
            raise KnowledgeBaseError(f"the activation file {src} of run {f['run_id']} is missing",
                                     hint="give --store DIR where the arrays live, or export without --activations")
        dst = root / "activations" / f["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        copied.append({"path": f["path"], "sha256": _sha(dst)})
    return copied


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- import ---------------------------------------------------------------------------------
def import_atlas(db: Any, folder: str | Path) -> dict[str, int]:
    """Add an export to ``db`` in one transaction; returns ``{table: rows written}``."""
    root = Path(folder)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise KnowledgeBaseError(f"{str(root)!r} is not an atlas export (no readable {MANIFEST})",
                                 hint="give the folder 'atlas export --out DIR' wrote") from exc
    fmt = manifest["format"]
    frames = {}
    for table in _tables():
        entry = manifest["tables"].get(table.name)
        frames[table.name] = _read(root / entry["file"], fmt) if entry and entry["rows"] else pd.DataFrame()
    _place_arrays(db, root, manifest.get("activations", []))
    dialect = db.engine.dialect.name
    counts: dict[str, int] = {}
    with translating(f"importing {root}", where=database_label(db.engine)):
        with write(db.engine) as conn:
            _check_absent(conn, frames)
            maps: dict[str, Any] = {}
            for table in _tables():
                counts[table.name] = _import_table(conn, table, frames[table.name], maps, dialect)
            if dialect == "postgresql":
                for table in _tables():
                    if "id" in table.c and isinstance(table.c.id.type, Integer) and table.c.id.autoincrement:
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                          f"GREATEST((SELECT max(id) FROM \"{table.name}\"), 1))"))
    return counts


def _check_absent(conn: Any, frames: dict[str, pd.DataFrame]) -> None:
    tables = Base.metadata.tables
    for name, key in UNIQUE_OWNED.items():
        frame = frames.get(name)
        if frame is None or frame.empty:
            continue
        wanted = [str(v) for v in frame[key]]
        have = set(conn.execute(select(tables[name].c[key]).where(tables[name].c[key].in_(wanted))).scalars())
        if have:
            raise KnowledgeBaseError(f"this atlas already has {name} {', '.join(sorted(have))}",
                                     hint=f"import into an atlas without it, or remove the {name} there first")


def _import_table(conn: Any, table: Table, frame: pd.DataFrame, maps: dict[str, Any], dialect: str) -> int:
    if frame.empty:
        return 0
    cols = _decode(frame, table, dialect)
    n = len(frame)
    for column, other in _refs(table).items():
        if column in cols and other in maps and other != table.name:
            cols[column] = [None if v is None else maps[other](v) for v in cols[column]]
    if "id" in table.c and "id" in cols:
        old_ids = list(cols["id"])
        keep = list(range(n))
        if table.name in NATURAL_KEYS:
            keep, existing = _match_natural(conn, table, cols)
        else:
            existing = {}
        offset = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
        new_of = dict(existing)
        for i in keep:
            new_of[old_ids[i]] = old_ids[i] + offset
        cols["id"] = [new_of[v] for v in old_ids]
        maps[table.name] = new_of.__getitem__
        cols = {k: [v[i] for i in keep] for k, v in cols.items()}
        n = len(keep)
    if n == 0:
        return 0
    if table.name == "model" and "parent_id" in cols:  # a parent in the export, or left out of it (NULL)
        mapped = dict(zip(old_ids, cols["id"]))
        cols["parent_id"] = [mapped.get(v) for v in cols["parent_id"]]
    rows = [{k: cols[k][i] for k in cols} for i in range(n)]
    for start in range(0, n, 5000):
        conn.execute(insert(table), rows[start:start + 5000])
    return n


def _match_natural(conn: Any, table: Table, cols: dict[str, list[Any]]) -> tuple[list[int], dict[Any, Any]]:
    """Rows of ``cols`` the target lacks (indices), and ``{old id: target id}`` of those it has."""
    key = NATURAL_KEYS[table.name]
    have = {tuple(r[1:]): r[0] for r in conn.execute(select(table.c.id, *(table.c[k] for k in key)))}
    keep, existing = [], {}
    for i, old in enumerate(cols["id"]):
        k = tuple(cols[c][i] for c in key)
        if k in have:
            existing[old] = have[k]
        else:
            keep.append(i)
    return keep, existing


def _place_arrays(db: Any, root: Path, files: list[dict[str, Any]]) -> None:
    for f in files:
        src = root / "activations" / f["path"]
        if _sha(src) != f["sha256"]:
            raise KnowledgeBaseError(f"{src} does not match the export's checksum", hint="export the run again")
        dst = db.store.path(f["path"])
        if dst.exists():
            if _sha(dst) == f["sha256"]:
                continue
            raise KnowledgeBaseError(f"the store already has a different file at {dst}",
                                     hint="import into an atlas with another store (--store DIR)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_suffix(".import.tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dst)


__all__ = ["FORMATS", "export_atlas", "import_atlas"]
