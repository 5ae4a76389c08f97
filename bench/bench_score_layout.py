"""Physical layouts of the score store (issue 11): write time, bytes per score, query latency.

A measurement study, standalone on purpose: it talks to SQLite (``sqlite3``) and PostgreSQL
(``psycopg``) directly, with the pragmas of ``atlas/store/engine.py``, so that the layouts are
compared without the package in between. The atlas it builds is the real one of issue 11:
one model of 6 blocks × (1536 mlp + 384 resid) = 11,520 units, 9 methods × 369 concepts
(``--scale`` multiplies the concepts) = 3,321 score sets = 38.3 M float32 scores, values drawn
from mixtures (methods in [0, 1]: 95 % Beta(1, 5) + 5 % Beta(6, 2); methods in [-1, 1]:
95 % tanh N(0, .25) + 5 % tanh N(±1.2, .3)). A score *set* is (run, method, concept).

Candidates (``--candidates``, default all):

* ``long``        today's table: (run, method, concept, neuron) key + (method, concept, value)
                  index, rows in the job's order; built at ``--long-scale`` and extrapolated
                  linearly (a lower bound: the random-order index insert gets worse with size).
* ``clustered``   score_value(set_id, neuron_id, value REAL/real) keyed in query order, no
                  secondary index (PostgreSQL: primary key built after the COPY).
* ``clustered_q16`` SQLite only: the same with value quantised to an int16 (value * 32767).
* ``clustered_part`` PostgreSQL only: clustered with run_id, partitioned by LIST (run_id).
* ``packed``      score_vec(set_id, layer_id, vals): one row per (set, layer), the layer's
                  values in unit order as a float32 BLOB (SQLite, big-endian) or real[] (PG).
* ``packed_f16``  SQLite only: the same as float16 (size and precision trade-off).
* ``packed_f64``  the same as float64 (BLOB / double precision[] with STORAGE MAIN): the
                  values exactly as the methods compute them today (float64).
* ``packed_main`` PostgreSQL only: packed with ``SET STORAGE MAIN`` (arrays stay in the heap).
* ``packed_top``  packed + score_top(set_id, rank, neuron_id, value), the 128 best per set
                  (PostgreSQL: on top of packed_main).

Every layout exposes the long-form ``score`` view (run_id, method_id, concept_id, neuron_id,
value). Query forms timed (median of ``--repeat`` warm runs): ``view`` (the user's SQL through
``score``, as the compiler writes it today), ``direct`` (SQL on the physical layout with set ids
bound, what a compiler would emit; packed: ``atlas_f32(vals, n.unit)`` on SQLite,
``vals[n.unit + 1]`` on PostgreSQL), ``unnest`` (PostgreSQL packed: each set unnested once in a
derived table joined on (layer_id, unit)), ``cte`` (PostgreSQL packed: each set unnested once
in a MATERIALIZED common table expression, the predicate inside), ``view_sub`` (PostgreSQL packed: a ``score_sub`` view
by subscript instead of unnest), ``numpy`` (packed: fetch the sets' rows, decode and filter in
numpy, then look up the few matching neurons), ``sqlview`` (SQLite packed: a pure-SQL float32
decoding, no registered function), ``top`` (query c through score_top). Every answer is
checked against numpy. SQLite packed tables are rowid tables: in a WITHOUT ROWID table (an
index B-tree) a row keeps at most ~4 KB on a 16 KB page, and the 6 KB float32 vectors of an
MLP layer went to overflow pages (10.8 instead of 4.4 B/score, measured).

    python bench/bench_score_layout.py --help
    python bench/bench_score_layout.py --scale 0.02 --long-scale 0.01            # a minute
    python bench/bench_score_layout.py --backend sqlite --candidates packed clustered
    python bench/bench_score_layout.py --out bench/results/2026-11-29-score-layout.txt
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PG_ADMIN = os.environ.get("ATLAS_BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
BLOCKS, MLP, RESID = 6, 1536, 384
METHODS = ["selectivity", "iou", "ap", "ap_sentence", "probe", "correlation", "mean_diff", "netdissect", "cohen_d"]
SIGNED = {"selectivity", "correlation", "mean_diff", "cohen_d"}
N_CONCEPTS = 369
TOP_K = 128
SQLITE_CANDIDATES = ["long", "clustered", "clustered_q16", "packed", "packed_f16", "packed_f64", "packed_top"]
PG_CANDIDATES = ["long", "clustered", "clustered_part", "packed", "packed_main", "packed_f64", "packed_top"]


# ----------------------------------------------------------------------------- the atlas


@dataclass
class Atlas:
    """The synthetic atlas: layers, neurons and the values of every set (method, concept)."""

    n_concepts: int
    values: np.ndarray  # float32 [n_methods, n_concepts, n_units], units in neuron-id order
    layers: list[tuple[int, str, int, int, int]] = field(default_factory=list)  # id, site, index, width, offset

    @property
    def n_units(self) -> int:
        return self.values.shape[2]

    @property
    def n_scores(self) -> int:
        return int(self.values.size)

    def set_id(self, method: int, concept: int) -> int:
        """Set ids are 1-based, method-major (the scoring job's order)."""
        return method * self.n_concepts + concept + 1

    def set_values(self, set_id: int) -> np.ndarray:
        m, c = divmod(set_id - 1, self.n_concepts)
        return self.values[m, c]

    def set_values64(self, set_id: int) -> np.ndarray:
        """The set's values as float64 with all 52 mantissa bits used (a 1e-10 jitter), as the
        methods' float64 results are: float32 values widened to float64 would compress on
        PostgreSQL and flatter the size."""
        v = self.set_values(set_id).astype(np.float64)
        return v + np.sin(np.arange(v.size) * 12.9898 + set_id) * 1e-10

    def unit_arrays(self) -> dict[str, np.ndarray]:
        """Per unit (neuron id - 1): layer id, site code (0 mlp, 1 resid), block index, unit."""
        lid, site, block, unit = [], [], [], []
        for layer_id, s, index, width, _ in self.layers:
            lid.append(np.full(width, layer_id))
            site.append(np.full(width, 0 if s == "mlp" else 1))
            block.append(np.full(width, index))
            unit.append(np.arange(width))
        return {k: np.concatenate(v) for k, v in (("layer_id", lid), ("site", site), ("layer", block), ("unit", unit))}


def make_atlas(scale: float, seed: int = 0, blocks: int = BLOCKS, mlp: int = MLP, resid: int = RESID) -> Atlas:
    n_concepts = max(4, round(N_CONCEPTS * scale))
    layers, offset = [], 0
    for b in range(blocks):
        for j, (site, width) in enumerate((("mlp", mlp), ("resid", resid))):
            layers.append((2 * b + j + 1, site, b, width, offset))
            offset += width
    rng = np.random.default_rng(seed)
    values = np.empty((len(METHODS), n_concepts, offset), dtype=np.float32)
    shape = (n_concepts, offset)
    for m, name in enumerate(METHODS):
        hi = rng.random(shape) < 0.05
        if name in SIGNED:
            low = np.tanh(rng.normal(0.0, 0.25, shape))
            high = np.tanh(rng.normal(1.2, 0.3, shape) * rng.choice([-1.0, 1.0], shape))
        else:
            low, high = rng.beta(1.0, 5.0, shape), rng.beta(6.0, 2.0, shape)
        values[m] = np.where(hi, high, low)
    return Atlas(n_concepts, values, layers)


# ----------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class Ref:
    method: int
    concept: int
    op_value: float  # the predicate is value > op_value


@dataclass(frozen=True)
class Query:
    name: str
    refs: tuple[Ref, ...]
    order_by_value: bool = False  # ORDER BY v0 DESC (else by site, layer, unit)
    limit: int = 100
    count_by_layer: bool = False


SEL, IOU, AP = 0, 1, 2
NEGATION, NOUN, PAST = 0, 1, 2
QUERIES = [
    Query("a: sel(neg)>.5 & iou(noun)>.3 top20", (Ref(SEL, NEGATION, 0.5), Ref(IOU, NOUN, 0.3)), True, 20),
    Query("b: count by layer ap(noun)>.8", (Ref(AP, NOUN, 0.8),), count_by_layer=True),
    Query("c: sel(neg)>.4 top5", (Ref(SEL, NEGATION, 0.4),), True, 5),
    Query("d: 4-predicate conjunction", (Ref(SEL, NEGATION, 0.3), Ref(IOU, NOUN, 0.1), Ref(AP, NOUN, 0.2),
                                         Ref(AP, PAST, 0.1)), False, 100),
]


def truth(atlas: Atlas, q: Query) -> Any:
    """The answer computed in numpy: neuron ids in order, or {layer: count}."""
    u = atlas.unit_arrays()
    vals = [atlas.values[r.method, r.concept].astype(np.float64) for r in q.refs]
    mask = np.logical_and.reduce([v > r.op_value for v, r in zip(vals, q.refs)])
    pos = np.flatnonzero(mask)
    if q.count_by_layer:
        return {int(k): int(c) for k, c in zip(*np.unique(u["layer"][pos], return_counts=True))}
    keys = [u["unit"][pos], u["layer"][pos], u["site"][pos]]
    if q.order_by_value:
        keys.append(-vals[0][pos])
    return [int(p) + 1 for p in pos[np.lexsort(keys)][: q.limit]]


def answer_of(rows: list[Any], q: Query) -> Any:
    if q.count_by_layer:
        return {int(r[0]): int(r[1]) for r in rows}
    return [int(r[0]) for r in rows]


def compile_sql(q: Query, atlas: Atlas, join: Callable[[str, Ref, int], tuple[str, ...]], pg: bool) -> str:
    """SQL for ``q``; ``join(alias, ref, set_id)`` gives (JOIN clause, value expression) and
    optionally a common table expression the clause reads."""
    joins, preds, exprs, ctes = [], [], [], []
    for i, r in enumerate(q.refs):
        clause, expr, *cte = join(f"s{i}", r, atlas.set_id(r.method, r.concept))
        ctes += cte
        joins.append(clause)
        if not cte:  # a CTE holds the set's rows that pass already (a second filter misleads the planner)
            preds.append(f"{expr} > {r.op_value}")
        exprs.append(f"{expr} AS v{i}")
    frm = ("WITH " + ", ".join(ctes) + " " if ctes else "") + "FROM neuron n JOIN model m ON m.id = n.model_id " + " ".join(joins)
    where = "WHERE " + " AND ".join(["n.model_id = 1"] + preds)
    with_, frm = (frm.split("FROM neuron", 1)[0], "FROM neuron" + frm.split("FROM neuron", 1)[1]) if ctes else ("", frm)
    if q.count_by_layer:
        return f"{with_}SELECT n.layer, count(*) {frm} {where} GROUP BY n.layer ORDER BY n.layer"
    site = 'n.site COLLATE "C"' if pg else "n.site"
    order = ("v0 DESC, " if q.order_by_value else "") + f"{site}, n.layer, n.unit"
    return f"{with_}SELECT n.id, n.site, n.layer, n.unit, {', '.join(exprs)} {frm} {where} ORDER BY {order} LIMIT {q.limit}"


def view_join(alias: str, r: Ref, _set_id: int) -> tuple[str, str]:
    """The long-form join the compiler writes today (through the ``score`` relation)."""
    return (f"JOIN score {alias} ON {alias}.neuron_id = n.id AND {alias}.run_id = 1 "
            f"AND {alias}.method_id = {r.method + 1} AND {alias}.concept_id = {r.concept + 1}"), f"{alias}.value"


def numpy_answer(fetch_sets: Callable[[list[int]], dict[int, np.ndarray]], lookup: Callable[[list[int]], list[Any]],
                 atlas: Atlas, q: Query, u: dict[str, np.ndarray]) -> Any:
    """The two-phase plan: decode the referenced sets, filter and order in numpy, then read the
    matching neurons. ``u`` stands for the layer table (12 rows, cached by a compiler)."""
    sets = fetch_sets([atlas.set_id(r.method, r.concept) for r in q.refs])
    vals = [sets[atlas.set_id(r.method, r.concept)].astype(np.float64) for r in q.refs]
    mask = np.logical_and.reduce([v > r.op_value for v, r in zip(vals, q.refs)])
    pos = np.flatnonzero(mask)
    if q.count_by_layer:
        return {int(k): int(c) for k, c in zip(*np.unique(u["layer"][pos], return_counts=True))}
    keys = [u["unit"][pos], u["layer"][pos], u["site"][pos]] + ([-vals[0][pos]] if q.order_by_value else [])
    chosen = pos[np.lexsort(keys)][: q.limit]
    rows = {int(r[0]): r for r in lookup([int(p) + 1 for p in chosen])}  # neuron ids = position + 1 here
    return [int(rows[int(p) + 1][0]) for p in chosen]


# ----------------------------------------------------------------------------- common


@dataclass
class Result:
    backend: str
    candidate: str
    scale: float
    n_scores: int
    write_s: float
    bytes_total: int
    load: tuple[float, float, float]
    queries: dict[str, dict[str, float | str]] = field(default_factory=dict)  # form -> query -> ms or "WRONG"
    note: str = ""

    @property
    def b_per_score(self) -> float:
        return self.bytes_total / self.n_scores


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, out


def run_forms(res: Result, atlas: Atlas, forms: dict[str, Callable[[Query], Any]], repeat: int) -> None:
    for form, run in forms.items():
        res.queries[form] = {}
        for q in QUERIES:
            if form == "top" and not q.name.startswith("c"):
                continue
            ms, got = timed(lambda q=q: run(q), repeat)
            ok = got == truth(atlas, q)
            res.queries[form][q.name[0]] = ms if ok else f"WRONG({ms:.0f})"


def top_rows(atlas: Atlas, set_id: int) -> tuple[np.ndarray, np.ndarray]:
    v = atlas.set_values(set_id)
    pos = np.argsort(-v, kind="stable")[:TOP_K]
    return pos + 1, v[pos]


def set_chunks(atlas: Atlas, per: int) -> Iterator[list[int]]:
    n_sets = len(METHODS) * atlas.n_concepts
    for start in range(1, n_sets + 1, per):
        yield list(range(start, min(n_sets, start + per - 1) + 1))


# ----------------------------------------------------------------------------- SQLite

_F32 = struct.Struct(">f").unpack_from
_F16 = struct.Struct(">e").unpack_from
_F64 = struct.Struct(">d").unpack_from


def atlas_f32(blob: bytes | None, i: int) -> float | None:
    """Value ``i`` of a big-endian float32 vector (NaN -> NULL)."""
    if blob is None:
        return None
    v = _F32(blob, 4 * i)[0]
    return None if v != v else v


def atlas_f64(blob: bytes | None, i: int) -> float | None:
    if blob is None:
        return None
    v = _F64(blob, 8 * i)[0]
    return None if v != v else v


def atlas_f16(blob: bytes | None, i: int) -> float | None:
    if blob is None:
        return None
    v = _F16(blob, 2 * i)[0]
    return None if v != v else v


def sqlite_connect(path: str) -> sqlite3.Connection:
    """A connection with the engine's pragmas and the decoding functions registered."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("page_size=16384", "journal_mode=WAL", "synchronous=NORMAL", "temp_store=MEMORY",
                   "cache_size=-65536"):
        conn.execute(f"PRAGMA {pragma}")
    conn.create_function("atlas_f32", 2, atlas_f32, deterministic=True)
    conn.create_function("atlas_f16", 2, atlas_f16, deterministic=True)
    conn.create_function("atlas_f64", 2, atlas_f64, deterministic=True)
    return conn


def _hex_bits(expr: str) -> str:
    """Pure SQL: the unsigned 32-bit integer of 4 bytes (hex digits looked up with instr)."""
    h = f"hex({expr})"
    return " + ".join(f"((instr('0123456789ABCDEF', substr({h}, {k}, 1)) - 1) << {4 * (8 - k)})" for k in range(1, 9))


def sqlite_pure_value(vals: str, unit: str) -> str:
    """Pure SQL decoding of big-endian float32 ``unit`` of blob ``vals`` (no registered function)."""
    b = f"({_hex_bits(f'substr({vals}, 4 * {unit} + 1, 4)')})"
    e = f"(({b} >> 23) & 255)"
    return (f"(CASE WHEN {e} = 255 THEN NULL ELSE (1 - 2 * ({b} >> 31)) * "
            f"(CASE WHEN {e} = 0 THEN ({b} & 8388607) * pow(2, -149) "
            f"ELSE (({b} & 8388607) + 8388608) * pow(2, {e} - 150) END) END)")


SQLITE_BASE = """
CREATE TABLE model (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n_layers INTEGER);
CREATE TABLE layer (id INTEGER PRIMARY KEY, model_id INTEGER, "index" INTEGER, site TEXT, width INTEGER);
CREATE TABLE neuron (id INTEGER PRIMARY KEY, layer_id INTEGER, model_id INTEGER, site TEXT, layer INTEGER,
                     unit INTEGER, UNIQUE (layer_id, unit));
CREATE INDEX ix_neuron_model ON neuron (model_id, site, layer, unit);
"""
SQLITE_SET = """
CREATE TABLE score_set (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, method_id INTEGER NOT NULL,
                        concept_id INTEGER NOT NULL, UNIQUE (run_id, method_id, concept_id));
"""
SQLITE_DDL = {
    "long": """
CREATE TABLE score (run_id INTEGER, method_id INTEGER, concept_id INTEGER, neuron_id INTEGER, value REAL,
                    PRIMARY KEY (run_id, method_id, concept_id, neuron_id)) WITHOUT ROWID;
CREATE INDEX ix_score_method_id_concept_id_value ON score (method_id, concept_id, value);
""",
    "clustered": SQLITE_SET + """
CREATE TABLE score_value (set_id INTEGER NOT NULL, neuron_id INTEGER NOT NULL, value REAL,
                          PRIMARY KEY (set_id, neuron_id)) WITHOUT ROWID;
CREATE VIEW score AS SELECT s.run_id, s.method_id, s.concept_id, v.neuron_id, v.value
  FROM score_set s JOIN score_value v ON v.set_id = s.id;
""",
    "clustered_q16": SQLITE_SET + """
CREATE TABLE score_value (set_id INTEGER NOT NULL, neuron_id INTEGER NOT NULL, q INTEGER,
                          PRIMARY KEY (set_id, neuron_id)) WITHOUT ROWID;
CREATE VIEW score AS SELECT s.run_id, s.method_id, s.concept_id, v.neuron_id, v.q / 32767.0 AS value
  FROM score_set s JOIN score_value v ON v.set_id = s.id;
""",
    "packed": SQLITE_SET + """
CREATE TABLE score_vec (set_id INTEGER NOT NULL, layer_id INTEGER NOT NULL, vals BLOB NOT NULL,
                        PRIMARY KEY (set_id, layer_id));
CREATE VIEW score AS SELECT s.run_id, s.method_id, s.concept_id, n.id AS neuron_id,
                            atlas_f32(v.vals, n.unit) AS value
  FROM score_set s JOIN score_vec v ON v.set_id = s.id JOIN neuron n ON n.layer_id = v.layer_id;
CREATE VIEW score_sql AS SELECT s.run_id, s.method_id, s.concept_id, n.id AS neuron_id,
                            {pure} AS value
  FROM score_set s JOIN score_vec v ON v.set_id = s.id JOIN neuron n ON n.layer_id = v.layer_id;
""".replace("{pure}", sqlite_pure_value("v.vals", "n.unit")),
}
SQLITE_DDL["packed_f16"] = SQLITE_DDL["packed"].replace("atlas_f32", "atlas_f16").split("CREATE VIEW score_sql")[0]
SQLITE_DDL["packed_f64"] = SQLITE_DDL["packed"].replace("atlas_f32", "atlas_f64").split("CREATE VIEW score_sql")[0]
SQLITE_DDL["packed_top"] = SQLITE_DDL["packed"] + """
CREATE TABLE score_top (set_id INTEGER NOT NULL, rank INTEGER NOT NULL, neuron_id INTEGER NOT NULL, value REAL,
                        PRIMARY KEY (set_id, rank)) WITHOUT ROWID;
"""


def sqlite_base(conn: sqlite3.Connection, atlas: Atlas) -> None:
    conn.executescript(SQLITE_BASE)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO model VALUES (1, 'minilm', ?)", (len(atlas.layers) // 2,))
    conn.executemany("INSERT INTO layer VALUES (?, 1, ?, ?, ?)", [(i, x, s, w) for i, s, x, w, _ in atlas.layers])
    u = atlas.unit_arrays()
    sites = np.array(["mlp", "resid"])[u["site"]]
    conn.executemany("INSERT INTO neuron VALUES (?, ?, 1, ?, ?, ?)",
                     zip(range(1, atlas.n_units + 1), u["layer_id"].tolist(), sites.tolist(), u["layer"].tolist(),
                         u["unit"].tolist()))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")


def sqlite_multirow(conn: sqlite3.Connection, table: str, cols: str, arrays: list[np.ndarray]) -> None:
    """Multi-row INSERTs as in atlas/store/bulk.py (999 parameters per statement)."""
    n_cols = len(arrays)
    per = 999 // n_cols
    flat = np.empty((len(arrays[0]), n_cols), dtype=object)
    for j, a in enumerate(arrays):
        flat[:, j] = a.tolist()
    flat_list = flat.ravel().tolist()
    n = len(arrays[0])
    full = (n // per) * per
    one = "(" + ", ".join("?" * n_cols) + ")"
    if full:
        stmt = f"INSERT INTO {table} ({cols}) VALUES " + ", ".join([one] * per)
        w = per * n_cols
        conn.executemany(stmt, (flat_list[i: i + w] for i in range(0, full * n_cols, w)))
    if full < n:
        conn.execute(f"INSERT INTO {table} ({cols}) VALUES " + ", ".join([one] * (n - full)), flat_list[full * n_cols:])


def sqlite_sets(conn: sqlite3.Connection, atlas: Atlas) -> None:
    rows = [(atlas.set_id(m, c), 1, m + 1, c + 1) for m in range(len(METHODS)) for c in range(atlas.n_concepts)]
    conn.executemany("INSERT INTO score_set VALUES (?, ?, ?, ?)", rows)


def sqlite_write(conn: sqlite3.Connection, atlas: Atlas, cand: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    ids = np.arange(1, atlas.n_units + 1)
    if cand != "long":
        sqlite_sets(conn, atlas)
    for chunk in set_chunks(atlas, 100):
        if cand == "long":
            mc = [divmod(s - 1, atlas.n_concepts) for s in chunk]
            k = atlas.n_units
            sqlite_multirow(conn, "score", "run_id, method_id, concept_id, neuron_id, value", [
                np.ones(k * len(chunk), dtype=np.int64), np.repeat([m + 1 for m, _ in mc], k),
                np.repeat([c + 1 for _, c in mc], k), np.tile(ids, len(chunk)),
                np.concatenate([atlas.values[m, c] for m, c in mc]).astype(np.float64)])
        elif cand.startswith("clustered"):
            v = np.concatenate([atlas.set_values(s) for s in chunk])
            v = np.rint(v * 32767).astype(np.int64) if cand == "clustered_q16" else v.astype(np.float64)
            sqlite_multirow(conn, "score_value", "set_id, neuron_id, " + ("q" if cand == "clustered_q16" else "value"),
                            [np.repeat(chunk, atlas.n_units), np.tile(ids, len(chunk)), v])
        else:
            dt = {"packed_f16": ">f2", "packed_f64": ">f8"}.get(cand, ">f4")
            rows = []
            for s in chunk:
                v = (atlas.set_values64(s) if cand == "packed_f64" else atlas.set_values(s)).astype(dt)
                rows += [(s, lid, v[off: off + w].tobytes()) for lid, _, _, w, off in atlas.layers]
            conn.executemany("INSERT INTO score_vec VALUES (?, ?, ?)", rows)
            if cand == "packed_top":
                trows = []
                for s in chunk:
                    nid, tv = top_rows(atlas, s)
                    trows += zip([s] * TOP_K, range(TOP_K), nid.tolist(), tv.astype(np.float64).tolist())
                conn.executemany("INSERT INTO score_top VALUES (?, ?, ?, ?)", trows)
    conn.execute("COMMIT")


def sqlite_size(conn: sqlite3.Connection, cand: str) -> int:
    names = {"long": ["score", "ix_score_method_id_concept_id_value"]}.get(cand)
    if names is None:
        names = ["score_set", "sqlite_autoindex_score_set_1"] + (
            ["score_value"] if cand.startswith("clustered") else ["score_vec", "sqlite_autoindex_score_vec_1"]
        ) + (["score_top"] if cand == "packed_top" else [])
    marks = ", ".join("?" * len(names))
    return int(conn.execute(f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})", names).fetchone()[0])


def sqlite_forms(conn: sqlite3.Connection, atlas: Atlas, cand: str) -> dict[str, Callable[[Query], Any]]:
    def run(sql_of: Callable[[Query], str]) -> Callable[[Query], Any]:
        return lambda q: answer_of(conn.execute(sql_of(q)).fetchall(), q)

    forms: dict[str, Callable[[Query], Any]] = {"view": run(lambda q: compile_sql(q, atlas, view_join, False))}
    if cand.startswith("clustered"):
        expr = "{a}.q / 32767.0" if cand == "clustered_q16" else "{a}.value"
        def cj(a: str, _r: Ref, s: int) -> tuple[str, str]:
            return f"JOIN score_value {a} ON {a}.set_id = {s} AND {a}.neuron_id = n.id", expr.format(a=a)
        forms["direct"] = run(lambda q: compile_sql(q, atlas, cj, False))
    if cand.startswith("packed"):
        fn, dt = {"packed_f16": ("atlas_f16", ">f2"), "packed_f64": ("atlas_f64", ">f8")}.get(cand, ("atlas_f32", ">f4"))
        def pj(a: str, _r: Ref, s: int) -> tuple[str, str]:
            return f"JOIN score_vec {a} ON {a}.set_id = {s} AND {a}.layer_id = n.layer_id", f"{fn}({a}.vals, n.unit)"
        forms["direct"] = run(lambda q: compile_sql(q, atlas, pj, False))
        if cand == "packed":
            def sj(a: str, r: Ref, s: int) -> tuple[str, str]:
                c, e = view_join(a, r, s)
                return c.replace("JOIN score ", "JOIN score_sql "), e
            forms["sqlview"] = run(lambda q: compile_sql(q, atlas, sj, False))
        u = atlas.unit_arrays()

        def fetch(set_ids: list[int]) -> dict[int, np.ndarray]:
            marks = ", ".join("?" * len(set_ids))
            rows = conn.execute(f"SELECT set_id, vals FROM score_vec WHERE set_id IN ({marks}) ORDER BY set_id, layer_id",
                                set_ids).fetchall()
            out: dict[int, list[bytes]] = {}
            for s, b in rows:
                out.setdefault(s, []).append(b)
            return {s: np.frombuffer(b"".join(bs), dtype=dt) for s, bs in out.items()}

        def lookup(ids: list[int]) -> list[Any]:
            if not ids:
                return []
            return conn.execute(f"SELECT id, site, layer, unit FROM neuron WHERE id IN ({', '.join(map(str, ids))})").fetchall()

        forms["numpy"] = lambda q: numpy_answer(fetch, lookup, atlas, q, u)
    if cand == "packed_top":
        def top(q: Query) -> Any:
            r = q.refs[0]
            rows = conn.execute("SELECT t.neuron_id FROM score_top t JOIN neuron n ON n.id = t.neuron_id "
                                "WHERE t.set_id = ? AND t.value > ? ORDER BY t.rank LIMIT ?",
                                (atlas.set_id(r.method, r.concept), r.op_value, q.limit)).fetchall()
            return [int(x[0]) for x in rows]  # served from the top table only when len == limit
        forms["top"] = top
    return forms


def bench_sqlite(atlas: Atlas, cand: str, repeat: int, folder: str) -> Result:
    path = os.path.join(folder, f"{cand}.db")
    conn = sqlite_connect(path)
    sqlite_base(conn, atlas)
    conn.executescript(SQLITE_DDL[cand])
    t = time.perf_counter()
    sqlite_write(conn, atlas, cand)
    write_s = time.perf_counter() - t
    load = os.getloadavg()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    res = Result("sqlite", cand, 0, atlas.n_scores, write_s, sqlite_size(conn, cand), load)
    run_forms(res, atlas, sqlite_forms(conn, atlas, cand), repeat)
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        with_suffix = path + suffix
        if os.path.exists(with_suffix):
            os.remove(with_suffix)
    return res


# ----------------------------------------------------------------------------- PostgreSQL

PG_BASE = """
CREATE TABLE model (id int PRIMARY KEY, name text UNIQUE, n_layers int);
CREATE TABLE layer (id int PRIMARY KEY, model_id int, index int, site varchar(16), width int);
CREATE TABLE neuron (id int PRIMARY KEY, layer_id int, model_id int, site varchar(16), layer int, unit int,
                     UNIQUE (layer_id, unit));
CREATE INDEX ix_neuron_model ON neuron (model_id, site, layer, unit);
"""
PG_SET = """
CREATE TABLE score_set (id int PRIMARY KEY, run_id int NOT NULL, method_id int NOT NULL, concept_id int NOT NULL,
                        UNIQUE (run_id, method_id, concept_id));
"""
PG_VIEW_UNNEST = """
CREATE VIEW score AS SELECT s.run_id, s.method_id, s.concept_id, n.id AS neuron_id, NULLIF(u.value, 'NaN') AS value
  FROM score_set s JOIN score_vec v ON v.set_id = s.id
  CROSS JOIN LATERAL unnest(v.vals) WITH ORDINALITY AS u(value, ord)
  JOIN neuron n ON n.layer_id = v.layer_id AND n.unit = u.ord - 1;
CREATE VIEW score_sub AS SELECT s.run_id, s.method_id, s.concept_id, n.id AS neuron_id,
                                NULLIF(v.vals[n.unit + 1], 'NaN') AS value
  FROM score_set s JOIN score_vec v ON v.set_id = s.id JOIN neuron n ON n.layer_id = v.layer_id;
"""
PG_PACKED = PG_SET + """
CREATE TABLE score_vec (set_id int NOT NULL, layer_id int NOT NULL, vals real[] NOT NULL,
                        PRIMARY KEY (set_id, layer_id));
""" + PG_VIEW_UNNEST
PG_DDL = {
    "long": """
CREATE TABLE score (run_id int, method_id int, concept_id int, neuron_id int, value double precision,
                    PRIMARY KEY (run_id, method_id, concept_id, neuron_id));
CREATE INDEX ix_score_method_id_concept_id_value ON score (method_id, concept_id, value);
""",
    "clustered": PG_SET + """
CREATE TABLE score_value (set_id int NOT NULL, neuron_id int NOT NULL, value real);
CREATE VIEW score AS SELECT s.run_id, s.method_id, s.concept_id, v.neuron_id, v.value
  FROM score_set s JOIN score_value v ON v.set_id = s.id;
""",
    "clustered_part": PG_SET + """
CREATE TABLE score_value (run_id int NOT NULL, set_id int NOT NULL, neuron_id int NOT NULL, value real)
  PARTITION BY LIST (run_id);
CREATE TABLE score_value_r1 PARTITION OF score_value FOR VALUES IN (1);
CREATE VIEW score AS SELECT s.run_id, s.method_id, s.concept_id, v.neuron_id, v.value
  FROM score_set s JOIN score_value v ON v.set_id = s.id AND v.run_id = s.run_id;
""",
    "packed": PG_PACKED,
    "packed_main": PG_PACKED + "ALTER TABLE score_vec ALTER COLUMN vals SET STORAGE MAIN;\n",
    "packed_f64": PG_PACKED.replace("vals real[]", "vals double precision[]").replace("'NaN')", "'NaN'::float8)")
    + "ALTER TABLE score_vec ALTER COLUMN vals SET STORAGE MAIN;\n",
    "packed_top": PG_PACKED + "ALTER TABLE score_vec ALTER COLUMN vals SET STORAGE MAIN;" + """
CREATE TABLE score_top (set_id int NOT NULL, rank smallint NOT NULL, neuron_id int NOT NULL, value real,
                        PRIMARY KEY (set_id, rank));
""",
}
PG_AFTER = {
    "clustered": "ALTER TABLE score_value ADD PRIMARY KEY (set_id, neuron_id)",
    "clustered_part": "ALTER TABLE score_value ADD PRIMARY KEY (run_id, set_id, neuron_id)",
}
PG_TABLES = {
    "long": ["score"],
    "clustered": ["score_set", "score_value"],
    "clustered_part": ["score_set", "score_value_r1"],
    "packed": ["score_set", "score_vec"],
    "packed_main": ["score_set", "score_vec"],
    "packed_f64": ["score_set", "score_vec"],
    "packed_top": ["score_set", "score_vec", "score_top"],
}
_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"


def pg_copy_columns(cur: Any, table: str, cols: str, arrays: list[np.ndarray], types: list[str]) -> None:
    """Binary COPY of fixed-width columns built by numpy (as atlas/store/bulk.py does)."""
    layout = np.dtype([("count", ">i2")] + sum(([(f"l{i}", ">i4"), (f"v{i}", t)] for i, t in enumerate(types)), []))
    block = np.empty(len(arrays[0]), dtype=layout)
    block["count"] = len(types)
    for i, (a, t) in enumerate(zip(arrays, types)):
        block[f"l{i}"] = np.dtype(t).itemsize
        block[f"v{i}"] = a
    with cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_HEADER)
        copy.write(block.tobytes())
        copy.write(b"\xff\xff")


def pg_array_rows(atlas: Atlas, chunk: list[int], f64: bool = False) -> bytes:
    """Binary COPY rows (set_id int4, layer_id int4, vals real[] or float8[]) for the sets of ``chunk``."""
    parts = []
    size, oid = (8, 701) if f64 else (4, 700)
    elem = np.dtype([("len", ">i4"), ("v", f">f{size}")])
    for s in chunk:
        pairs = np.empty(atlas.n_units, dtype=elem)
        pairs["len"] = size
        pairs["v"] = atlas.set_values64(s) if f64 else atlas.set_values(s)
        raw = pairs.tobytes()
        step = 4 + size
        for lid, _, _, w, off in atlas.layers:
            head = struct.pack(">h" + "i" * 10, 3, 4, s, 4, lid, 20 + step * w, 1, 0, oid, w, 1)
            parts += [head, raw[step * off: step * (off + w)]]
    return b"".join(parts)


def pg_write(conn: Any, atlas: Atlas, cand: str) -> None:
    with conn.cursor() as cur:
        if cand != "long":
            sets = np.arange(1, len(METHODS) * atlas.n_concepts + 1)
            m, c = np.divmod(sets - 1, atlas.n_concepts)
            pg_copy_columns(cur, "score_set", "id, run_id, method_id, concept_id",
                            [sets, np.ones_like(sets), m + 1, c + 1], [">i4"] * 4)
        ids = np.arange(1, atlas.n_units + 1)
        for chunk in set_chunks(atlas, 200):
            k = len(chunk) * atlas.n_units
            v = np.concatenate([atlas.set_values(s) for s in chunk])
            if cand == "long":
                mc = np.array([divmod(s - 1, atlas.n_concepts) for s in chunk])
                pg_copy_columns(cur, "score", "run_id, method_id, concept_id, neuron_id, value",
                                [np.ones(k), np.repeat(mc[:, 0] + 1, atlas.n_units),
                                 np.repeat(mc[:, 1] + 1, atlas.n_units), np.tile(ids, len(chunk)), v],
                                [">i4"] * 4 + [">f8"])
            elif cand == "clustered":
                pg_copy_columns(cur, "score_value", "set_id, neuron_id, value",
                                [np.repeat(chunk, atlas.n_units), np.tile(ids, len(chunk)), v], [">i4", ">i4", ">f4"])
            elif cand == "clustered_part":
                pg_copy_columns(cur, "score_value", "run_id, set_id, neuron_id, value",
                                [np.ones(k), np.repeat(chunk, atlas.n_units), np.tile(ids, len(chunk)), v],
                                [">i4", ">i4", ">i4", ">f4"])
            else:
                with cur.copy("COPY score_vec (set_id, layer_id, vals) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(_HEADER + pg_array_rows(atlas, chunk, cand == "packed_f64") + b"\xff\xff")
                if cand == "packed_top":
                    tops = [top_rows(atlas, s) for s in chunk]
                    pg_copy_columns(cur, "score_top", "set_id, rank, neuron_id, value",
                                    [np.repeat(chunk, TOP_K), np.tile(np.arange(TOP_K), len(chunk)),
                                     np.concatenate([t[0] for t in tops]), np.concatenate([t[1] for t in tops])],
                                    [">i4", ">i2", ">i4", ">f4"])
        if cand in PG_AFTER:
            cur.execute(PG_AFTER[cand])
    conn.commit()
    with conn.cursor() as cur:
        for table in PG_TABLES[cand]:
            cur.execute(f"ANALYZE {table}")
    conn.commit()


def pg_forms(conn: Any, atlas: Atlas, cand: str) -> dict[str, Callable[[Query], Any]]:
    def run(sql_of: Callable[[Query], str]) -> Callable[[Query], Any]:
        def go(q: Query) -> Any:
            with conn.cursor() as cur:
                cur.execute(sql_of(q))
                return answer_of(cur.fetchall(), q)
        return go

    forms: dict[str, Callable[[Query], Any]] = {"view": run(lambda q: compile_sql(q, atlas, view_join, True))}
    if cand.startswith("clustered"):
        run_eq = "{a}.run_id = 1 AND " if cand == "clustered_part" else ""
        def cj(a: str, _r: Ref, s: int) -> tuple[str, str]:
            return f"JOIN score_value {a} ON {run_eq.format(a=a)}{a}.set_id = {s} AND {a}.neuron_id = n.id", f"{a}.value"
        forms["direct"] = run(lambda q: compile_sql(q, atlas, cj, True))
    if cand.startswith("packed"):
        def sj(a: str, r: Ref, s: int) -> tuple[str, str]:
            c, e = view_join(a, r, s)
            return c.replace("JOIN score ", "JOIN score_sub "), e
        forms["view_sub"] = run(lambda q: compile_sql(q, atlas, sj, True))

        def pj(a: str, _r: Ref, s: int) -> tuple[str, str]:
            return f"JOIN score_vec {a} ON {a}.set_id = {s} AND {a}.layer_id = n.layer_id", f"{a}.vals[n.unit + 1]"
        forms["direct"] = run(lambda q: compile_sql(q, atlas, pj, True))

        def uj(a: str, _r: Ref, s: int) -> tuple[str, str]:
            sub = ("(SELECT v.layer_id, (u.ord - 1)::int AS unit, NULLIF(u.value, 'NaN') AS value FROM score_vec v "
                   f"CROSS JOIN LATERAL unnest(v.vals) WITH ORDINALITY AS u(value, ord) WHERE v.set_id = {s} OFFSET 0)")
            return f"JOIN {sub} {a} ON {a}.layer_id = n.layer_id AND {a}.unit = n.unit", f"{a}.value"
        forms["unnest"] = run(lambda q: compile_sql(q, atlas, uj, True))

        def mj(a: str, r: Ref, s: int) -> tuple[str, str, str]:
            cte = (f"{a}_set AS MATERIALIZED (SELECT v.layer_id, (u.ord - 1)::int AS unit, NULLIF(u.value, 'NaN') "
                   f"AS value FROM score_vec v CROSS JOIN LATERAL unnest(v.vals) WITH ORDINALITY AS u(value, ord) "
                   f"WHERE v.set_id = {s} AND u.value > {r.op_value})")
            return f"JOIN {a}_set {a} ON {a}.layer_id = n.layer_id AND {a}.unit = n.unit", f"{a}.value", cte
        forms["cte"] = run(lambda q: compile_sql(q, atlas, mj, True))
        u = atlas.unit_arrays()

        def fetch(set_ids: list[int]) -> dict[int, np.ndarray]:
            with conn.cursor(binary=True) as cur:
                cur.execute("SELECT set_id, vals FROM score_vec WHERE set_id = ANY(%s) ORDER BY set_id, layer_id",
                            (set_ids,))
                out: dict[int, list[Any]] = {}
                for s, v in cur.fetchall():
                    out.setdefault(s, []).extend(v)
            return {s: np.asarray(v, dtype=np.float64 if cand == "packed_f64" else np.float32) for s, v in out.items()}

        def lookup(ids: list[int]) -> list[Any]:
            with conn.cursor() as cur:
                cur.execute("SELECT id, site, layer, unit FROM neuron WHERE id = ANY(%s)", (ids,))
                return cur.fetchall()

        forms["numpy"] = lambda q: numpy_answer(fetch, lookup, atlas, q, u)
    if cand == "packed_top":
        def top(q: Query) -> Any:
            r = q.refs[0]
            with conn.cursor() as cur:
                cur.execute("SELECT t.neuron_id FROM score_top t JOIN neuron n ON n.id = t.neuron_id "
                            "WHERE t.set_id = %s AND t.value > %s ORDER BY t.rank LIMIT %s",
                            (atlas.set_id(r.method, r.concept), r.op_value, q.limit))
                return [int(x[0]) for x in cur.fetchall()]
        forms["top"] = top
    return forms


def bench_pg(atlas: Atlas, cand: str, repeat: int, dbname: str) -> Result:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        dsn = PG_ADMIN.replace("dbname=postgres", f"dbname={dbname}")
        with psycopg.connect(dsn) as conn:
            conn.execute(PG_BASE)
            u = atlas.unit_arrays()
            with conn.cursor() as cur:
                cur.execute("INSERT INTO model VALUES (1, 'minilm', %s)", (len(atlas.layers) // 2,))
                cur.executemany("INSERT INTO layer VALUES (%s, 1, %s, %s, %s)",
                                [(i, x, s, w) for i, s, x, w, _ in atlas.layers])
                with cur.copy("COPY neuron (id, layer_id, model_id, site, layer, unit) FROM STDIN") as copy:
                    for i in range(atlas.n_units):
                        copy.write_row((i + 1, int(u["layer_id"][i]), 1, ("mlp", "resid")[u["site"][i]],
                                        int(u["layer"][i]), int(u["unit"][i])))
            conn.execute(PG_DDL[cand])
            conn.commit()
            conn.execute("ANALYZE")
            conn.commit()
            t = time.perf_counter()
            pg_write(conn, atlas, cand)
            write_s = time.perf_counter() - t
            load = os.getloadavg()
            size = conn.execute("SELECT sum(pg_total_relation_size(c)) FROM unnest(%s::regclass[]) c",
                                (PG_TABLES[cand],)).fetchone()[0]
            conn.commit()
            res = Result("postgresql", cand, 0, atlas.n_scores, write_s, int(size), load)
            run_forms(res, atlas, pg_forms(conn, atlas, cand), repeat)
            conn.rollback()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    return res


# ----------------------------------------------------------------------------- report


def format_result(r: Result, full_scores: int) -> str:
    factor = full_scores / r.n_scores
    write_full = r.write_s * factor
    qs = "  ".join(
        f"{form}[" + " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in d.items()) + "]"
        for form, d in r.queries.items())
    scaled = "" if abs(factor - 1) < 1e-6 else f" (measured {r.write_s:.1f} s at {r.n_scores / 1e6:.2f} M, x{factor:.1f})"
    return (f"{r.backend:<10} {r.candidate:<15} {r.n_scores / 1e6:7.2f} M  write {write_full:8.1f} s{scaled}  "
            f"{r.b_per_score:6.2f} B/score  load {r.load[0]:.1f}/{r.load[1]:.1f}\n      ms: {qs}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the 369 concepts (1.0 = 38.3 M scores)")
    p.add_argument("--long-scale", type=float, default=0.125,
                   help="scale of today's long layout (slow), extrapolated linearly to --scale")
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--candidates", nargs="+", help=f"sqlite: {SQLITE_CANDIDATES}; postgresql: {PG_CANDIDATES}")
    p.add_argument("--blocks", type=int, default=BLOCKS, help="blocks of the model (MiniLM: 6)")
    p.add_argument("--mlp", type=int, default=MLP, help="units per MLP layer (MiniLM: 1536; Llama-2-7B: 11008)")
    p.add_argument("--resid", type=int, default=RESID, help="units per residual layer (MiniLM: 384)")
    p.add_argument("--repeat", type=int, default=5, help="warm runs per query (median)")
    p.add_argument("--folder", default=tempfile.gettempdir(), help="where the SQLite files go (deleted after)")
    p.add_argument("--out", help="append the report to this file too")
    args = p.parse_args()
    shape = {"blocks": args.blocks, "mlp": args.mlp, "resid": args.resid}
    atlas = make_atlas(args.scale, **shape)
    long_atlas = make_atlas(min(args.scale, args.long_scale), **shape)
    header = (f"score layouts: {len(METHODS)} methods x {atlas.n_concepts} concepts x {atlas.n_units} units = "
              f"{atlas.n_scores:,} scores (scale {args.scale}); long layout at {long_atlas.n_scores:,}; "
              f"queries: median of {args.repeat} warm runs, ms; load = 1/5-min load average after the write")
    print(header, flush=True)
    lines = [header]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        names = SQLITE_CANDIDATES if backend == "sqlite" else PG_CANDIDATES
        for cand in [c for c in names if not args.candidates or c in args.candidates]:
            a = long_atlas if cand == "long" else atlas
            if backend == "sqlite":
                with tempfile.TemporaryDirectory(prefix="h5_layout_", dir=args.folder) as folder:
                    res = bench_sqlite(a, cand, args.repeat, folder)
            else:
                res = bench_pg(a, cand, args.repeat, f"h5_layout_{os.getpid()}")
            line = format_result(res, atlas.n_scores)
            print(line, flush=True)
            lines.append(line)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
