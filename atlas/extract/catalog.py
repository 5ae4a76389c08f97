"""The catalogue rows of an extracted model: one ``model`` row, one ``layer`` row per
(site, block) captured, one ``neuron`` row per unit of each layer; shared by every run of the
model and created once.

Example::

    model_id, layer_ids = register_model(db, loaded, "minilm", False, 0, [("mlp", 0), ("resid", 0)])
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from atlas.errors import ExtractionError
from atlas.store.bulk import bulk_insert
from atlas.store.context import AtlasContext
from atlas.store.engine import write
from atlas.store.tables import Layer, Model, Neuron


def _revision(loaded: Any, random_init: bool, seed: int) -> str:
    return str(loaded.revision) if not random_init else f"random-init:seed={seed}:{loaded.revision}"


def _model_row(conn: Connection, loaded: Any, name: str, random_init: bool, seed: int) -> int:
    """The id of the model row called ``name``, created when missing.

    Raises:
        ExtractionError: ``name`` belongs to another model (source, revision or init).
    """
    revision = _revision(loaded, random_init, seed)
    row = conn.execute(select(Model.__table__).where(Model.name == name)).first()
    if row is not None:
        if row.source != loaded.source or row.revision != revision or bool(row.random_init) != random_init:
            raise ExtractionError(
                f"the name {name!r} already belongs to {row.source} (revision {row.revision})",
                hint="choose another short name with --as",
            )
        return int(row.id)
    parent_id = None
    if random_init:
        base = name[: -len("-random")] if name.endswith("-random") else name
        parent_id = conn.execute(select(Model.id).where(Model.name == base, Model.random_init.is_(False))).scalar()
    config_dict = loaded.config.to_dict()
    config_hash = hashlib.sha256(json.dumps(config_dict, sort_keys=True, default=str).encode()).hexdigest()
    return int(
        conn.execute(
            Model.__table__.insert().values(
                name=name,
                source=loaded.source,
                revision=revision,
                architecture=loaded.architecture,
                family=loaded.family,
                n_layers=loaded.n_layers,
                d_model=loaded.d_model,
                d_mlp=loaded.d_mlp,
                random_init=random_init,
                parent_id=parent_id,
                config_hash=config_hash,
                config=json.loads(json.dumps(config_dict, default=str)),
                created_at=dt.datetime.now(dt.timezone.utc),
            )
        ).inserted_primary_key[0]
    )


def _layer_rows(conn: Connection, loaded: Any, model_id: int, targets: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The layer ids of ``targets``; missing layers are created with a neuron row per unit."""
    from atlas.extract.adapters import site_hook

    existing = {
        (r.site, r.index): int(r.id)
        for r in conn.execute(select(Layer.id, Layer.site, Layer.index).where(Layer.model_id == model_id))
    }
    for name, index in targets:
        if (name, index) in existing:
            continue
        width = loaded.adapter.width(loaded.config, name)
        layer_id = conn.execute(
            Layer.__table__.insert().values(
                model_id=model_id,
                index=index,
                site=name,
                width=width,
                hook_point=loaded.adapter.hook_point(loaded.model, name, index),
                activation=site_hook(name).stored,
            )
        ).inserted_primary_key[0]
        bulk_insert(
            conn,
            Neuron.__table__,
            {
                "layer_id": np.full(width, layer_id, dtype=np.int64),
                "model_id": np.full(width, model_id, dtype=np.int64),
                "site": [name] * width,
                "layer": np.full(width, index, dtype=np.int64),
                "unit": np.arange(width, dtype=np.int64),
            },
        )
        existing[(name, index)] = int(layer_id)
    return {t: existing[t] for t in targets}


def register_model(
    db: AtlasContext, loaded: Any, name: str, random_init: bool, seed: int, targets: list[tuple[str, int]]
) -> tuple[int, dict[tuple[str, int], int]]:
    """Get or create the model row and the layer and neuron rows of ``targets``, in one
    transaction; returns ``(model id, {(site, layer): layer id})``.

    Raises:
        ExtractionError: the short name ``name`` belongs to another model.
    """
    with write(db.engine) as conn:
        model_id = _model_row(conn, loaded, name, random_init, seed)
        layer_ids = _layer_rows(conn, loaded, model_id, targets)
    return model_id, layer_ids
