"""What the query language reads of ``atlas correlate``'s results (issue 16, METHODS.md §6).

* ``maxcorr(M)``, ``linreg(M)``, ``mincorr(M)`` in conditions, ``order by`` and the grouped
  statements: per neuron, its value in ``neuron_similarity`` from the correlation of its model
  with ``M``; ``(*)`` aggregates over every model correlated with it: ``maxcorr(*)`` the largest
  (MaxCorr of Bau et al.), ``mincorr(*)`` the smallest maxcorr (MinCorr: a strong correlate in
  every other model), ``linreg(*)`` the smallest linreg (the worst case over models, as Bau et
  al. rank by the worst model's error).
* ``similar to NEURON [in MODELS] [limit N]``: the neuron's stored partners (``similarity``).
* ``layers of A vs B [site=S] [layer filters] [by METHOD]``: ``layer_similarity`` as a matrix.

Which correlation: of the complete correlations between the two models (either order, over
done runs), the latest (highest id) that covers the neuron's site. A correlation being
computed, or one whose job was killed, is ``building`` and never read.

These helpers resolve names to correlation ids (the binder calls them) and build the SQL (the
compiler calls them); neither needs the other's types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Float, and_, case, cast, false, func, literal, or_, select
from sqlalchemy.orm import aliased

from atlas.store.tables import Correlation, Layer, LayerSimilarity, Model, Neuron, NeuronSimilarity, Run, Similarity

#: What a ``(*)`` call takes over the models: the best, or the worst case.
STAR_AGGREGATE = {"maxcorr": "max", "mincorr": "min", "linreg": "min"}
#: The stored per-neuron measure each call reads.
STORED_METHOD = {"maxcorr": "maxcorr", "mincorr": "maxcorr", "linreg": "linreg"}
#: ``layers of A vs B by ...``: the stored layer measures (cka first: the default).
LAYER_METHODS = ("cka", "svcca", "pwcca", "maxcorr", "linreg")
#: Partners ``similar to`` lists unless told.
SIMILAR_LIMIT = 10


@dataclass(frozen=True)
class Link:
    """One complete correlation between a model of the query and another model, for one site."""

    model_id: int
    other_model_id: int
    other_name: str
    site: str
    correlation_id: int


def links(conn: Connection, model_ids: list[int]) -> list[Link]:
    """Per (model of ``model_ids``, other model, site): the latest complete correlation."""
    if not model_ids:
        return []
    ra, rb = aliased(Run), aliased(Run)
    ma, mb = aliased(Model), aliased(Model)
    rows = conn.execute(
        select(Correlation.id, Correlation.sites, ra.model_id, rb.model_id, ma.name, mb.name)
        .join(ra, ra.id == Correlation.run_id).join(rb, rb.id == Correlation.other_run_id)
        .join(ma, ma.id == ra.model_id).join(mb, mb.id == rb.model_id)
        .where(Correlation.status == "complete", ra.status == "done", rb.status == "done",
               or_(ra.model_id.in_(model_ids), rb.model_id.in_(model_ids)))
        .order_by(Correlation.id)
    ).all()
    best: dict[tuple[int, int, str], Link] = {}
    for cid, sites, a, b, name_a, name_b in rows:  # ascending ids: the latest wins
        for site in str(sites).split(","):
            if a in model_ids:
                best[(a, b, site)] = Link(a, b, name_b, site, int(cid))
            if b in model_ids:
                best[(b, a, site)] = Link(b, a, name_a, site, int(cid))
    return sorted(best.values(), key=lambda x: (x.model_id, x.other_name, x.site))


def chosen(found: list[Link], model_id: int, other_id: int | None) -> list[Link]:
    """The links of ``model_id`` to ``other_id`` (``None``: to every other model)."""
    if other_id is None:
        return [x for x in found if x.model_id == model_id and x.other_model_id != model_id]
    return [x for x in found if x.model_id == model_id and x.other_model_id == other_id]


def neuron_value(method: str, star: bool, picked: list[Link], neuron: Any) -> Any:
    """The scalar subquery of one similarity call for the outer query's ``neuron`` row."""
    if not picked:
        return cast(literal(None), Float)
    ns = NeuronSimilarity.__table__.alias("nsim")
    by_site: dict[str, list[int]] = {}
    for x in picked:
        by_site.setdefault(x.site, []).append(x.correlation_id)
    parts = [and_(neuron.c.site == site, ns.c.correlation_id.in_(sorted(ids))) for site, ids in sorted(by_site.items())]
    agg = getattr(func, STAR_AGGREGATE[method] if star else "max")
    return (
        select(agg(ns.c.value))
        .where(ns.c.neuron_id == neuron.c.id, ns.c.method == STORED_METHOD[method],
               parts[0] if len(parts) == 1 else or_(*parts))
        .scalar_subquery()
    )


def similar_select(model_id: int, site: str, layer: int, unit: int, picked: list[Link], limit: int) -> Any:
    """``similar to``: the neuron's partners in the picked correlations, by |r| (ties: model,
    layer, unit)."""
    n, on, om = Neuron.__table__, Neuron.__table__.alias("other"), Model.__table__.alias("other_model")
    s = Similarity.__table__
    me = select(n.c.id).where(n.c.model_id == model_id, n.c.site == site, n.c.layer == layer, n.c.unit == unit).scalar_subquery()
    ids = sorted({x.correlation_id for x in picked})
    absval = case((s.c.value < 0, -s.c.value), else_=s.c.value)
    return (
        select(om.c.name.label("model"), on.c.site.label("site"), on.c.layer.label("layer"), on.c.unit.label("unit"),
               s.c.value.label("value"), absval.label("abs"), s.c.rank.label("rank"), s.c.other_run_id.label("run"),
               s.c.correlation_id.label("correlation"))
        .select_from(s.join(on, on.c.id == s.c.other_neuron_id).join(om, om.c.id == on.c.model_id))
        .where(s.c.neuron_id == me, s.c.correlation_id.in_(ids) if ids else false(), on.c.model_id != model_id)
        .order_by(absval.desc(), om.c.name, on.c.layer, on.c.unit)
        .limit(limit + 1)
    )


def layers_select(model_id: int, other_id: int, site: str, method: str, correlation_id: int | None,
                  layer_filters: list[Any]) -> Any:
    """``layers of A vs B``: (layer, other_layer, value) rows of one correlation, both layer
    axes filtered by ``layer_filters`` (callables of a layer-index column)."""
    ls, la, lb = LayerSimilarity.__table__, Layer.__table__.alias("la"), Layer.__table__.alias("lb")
    conds = [ls.c.correlation_id == correlation_id if correlation_id is not None else false(), ls.c.method == method,
             la.c.model_id == model_id, lb.c.model_id == other_id, la.c.site == site, lb.c.site == site]
    conds += [f(la.c.index) for f in layer_filters] + [f(lb.c.index) for f in layer_filters]
    return (
        select(la.c.index.label("layer"), lb.c.index.label("other_layer"), ls.c.value.label("value"))
        .select_from(ls.join(la, la.c.id == ls.c.layer_id).join(lb, lb.c.id == ls.c.other_layer_id))
        .where(*conds)
        .order_by(la.c.index, lb.c.index)
    )


__all__ = ["LAYER_METHODS", "Link", "SIMILAR_LIMIT", "STAR_AGGREGATE", "chosen", "layers_select", "links", "neuron_value",
           "similar_select"]
