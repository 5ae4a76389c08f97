"""``atlas score --device`` (issue 19): the blockwise matrix products and the AP sorts in torch.
No accelerator was lent to this task, so the torch code runs on CPU tensors (``device="cpu"``)
and is compared with the numpy path: counts and intersections exactly, products within float32
rounding, AP within float64 rounding; a whole score job gives the same stored scores."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.errors import MethodError
from atlas.methods.device import current_device, use_device
from atlas.methods.job import score
from atlas.methods.ranking import average_precision
from atlas.methods.stats import accumulate, neuron_stats

from .fixtures import make_run
from .test_job import _stored


def _data(dtype, seed=0, n=3000, d=17, c=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, :4] = np.round(X[:, :4] * 2) / 2  # heavy ties
    X[:, 4] = 0.0  # one value only
    Y = rng.random((n, c)) < np.linspace(0.001, 0.3, c)
    Y[:, -1] = False  # a concept without words
    return X.astype(dtype), Y


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_average_precision_on_torch_equals_numpy(dtype) -> None:
    X, Y = _data(dtype)
    want = average_precision(X, Y)
    with use_device("cpu"):
        got = average_precision(X, Y)
    assert np.isnan(got[:, -1]).all() and np.isnan(want[:, -1]).all()
    np.testing.assert_allclose(got[:, :-1], want[:, :-1], rtol=1e-12, atol=1e-15)
    assert current_device() is None  # restored after the block


def test_average_precision_on_torch_in_small_blocks() -> None:
    from atlas.methods.device import average_precision_torch
    from atlas.methods.ranking import PositivePairs

    X, Y = _data(np.float16, seed=3)
    import torch

    got = average_precision_torch(X, PositivePairs(Y), torch.device("cpu"), budget=1)  # one neuron per block
    np.testing.assert_allclose(got[:, :-1], average_precision(X, Y)[:, :-1], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_accumulate_on_torch_equals_numpy(dtype) -> None:
    X, Y = _data(dtype, seed=1)
    T = neuron_stats(X, alpha=0.01).threshold
    want = accumulate(X, Y, T, sums=True, ties=True, block_rows=700)
    with use_device("cpu"):
        got = accumulate(X, Y, T, sums=True, ties=True, block_rows=700)
    for name in ("inter", "above", "inter_eq", "equal"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    np.testing.assert_allclose(got.pos_sum, want.pos_sum, rtol=1e-5, atol=1e-3)


def test_unknown_or_missing_device_is_one_line_error() -> None:
    with pytest.raises(MethodError, match="unknown device"):
        with use_device("tpu"):
            pass
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(MethodError, match="no CUDA device"):
            with use_device("cuda"):
                pass


def test_score_job_on_torch_stores_the_same_scores(db, tmp_path) -> None:
    tiny = make_run(db, tmp_path)
    methods = ["iou", "selectivity", "ap"]
    want = score(db, tiny.run_id, methods=methods, progress=False)
    want_values = {m: _stored(db, want["methods"][m]["method_id"], "upos:NOUN") for m in methods}
    got = score(db, tiny.run_id, methods=methods, progress=False, device="cpu")  # replaces the sets
    for m in methods:
        values = _stored(db, got["methods"][m]["method_id"], "upos:NOUN")
        assert values.keys() == want_values[m].keys()
        a = np.array([values[k] for k in sorted(values)], dtype=np.float64)
        b = np.array([want_values[m][k] for k in sorted(values)], dtype=np.float64)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=m)
