"""The activation store's files: a plain .npy with a page-aligned data offset, and row writes."""

from __future__ import annotations

import os

import numpy as np
import pytest

from atlas.store.activations import HEADER_BYTES, PAGE, ActivationStore, RowWriter, npy_header, npy_header_size


def _ranges(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    edges = [0, *cuts, n]
    return list(zip(edges[:-1], edges[1:]))


def test_allocated_array_is_a_plain_npy_with_page_aligned_data(tmp_path) -> None:
    store = ActivationStore(tmp_path)
    store.allocate("runs/1/L00.mlp.npy", n_rows=1000, width=384)
    path = store.path("runs/1/L00.mlp.npy")
    assert npy_header_size(path) == HEADER_BYTES and HEADER_BYTES % PAGE == 0
    arr = np.load(path)
    assert arr.shape == (1000, 384) and arr.dtype == np.float16 and not arr.any()
    assert os.path.getsize(path) == HEADER_BYTES + 1000 * 384 * 2
    # allocating again keeps the file (a resumed run); another shape is refused
    store.allocate("runs/1/L00.mlp.npy", n_rows=1000, width=384)
    with pytest.raises(ValueError, match="shape"):
        store.allocate("runs/1/L00.mlp.npy", n_rows=999, width=384)
    assert len(npy_header((10**12, 10**6))) == HEADER_BYTES


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("width", [384, 7, 2048])  # rows of 768 bytes, of 14 bytes, of whole pages
def test_row_writes_in_any_ranges_give_the_array(tmp_path, width, direct) -> None:
    n = 1237
    store = ActivationStore(tmp_path)
    store.allocate("a.npy", n_rows=n, width=width)
    want = np.random.default_rng(width).standard_normal((n, width)).astype(np.float16)
    writer = RowWriter(store.path("a.npy"), offset=HEADER_BYTES, width=width, direct=direct)
    memory = writer.memory(600)
    try:
        # ranges that start and end inside pages, cross several pages, or hold one row; written
        # out of order, some through reused memory
        ranges = _ranges(n, [1, 5, 6, 600, 1100, 1236])
        for i, (a, b) in enumerate(reversed(ranges)):
            block = writer.buffer(a, b - a, memory if i % 2 else None)
            assert not block.any()  # fresh or reused, a block starts zeroed
            block[:] = want[a:b]
            writer.write(block, a)
    finally:
        writer.close()
    np.testing.assert_array_equal(np.load(store.path("a.npy")), want)


def test_row_writer_falls_back_when_the_offset_is_not_aligned(tmp_path) -> None:
    path = tmp_path / "old.npy"
    np.save(path, np.zeros((50, 3), np.float16))  # numpy's own small header: data not page aligned
    offset = npy_header_size(path)
    assert offset % PAGE
    want = np.arange(150, dtype=np.float16).reshape(50, 3)
    writer = RowWriter(path, offset=offset, width=3)
    assert writer.dfd is None
    for a, b in _ranges(50, [17, 30]):
        block = writer.buffer(a, b - a)
        block[:] = want[a:b]
        writer.write(block, a)
    writer.close()
    np.testing.assert_array_equal(np.load(path), want)


def test_row_writer_falls_back_when_direct_writes_are_refused(tmp_path, monkeypatch) -> None:
    """A filesystem that opens with O_DIRECT but refuses the writes (EINVAL): the writer goes on
    with ordinary writes, and the bytes are right."""
    import errno

    store = ActivationStore(tmp_path)
    store.allocate("a.npy", n_rows=300, width=2048)
    writer = RowWriter(store.path("a.npy"), offset=HEADER_BYTES, width=2048)
    if writer.dfd is None:
        pytest.skip("this filesystem has no O_DIRECT at all; the fallback at open is what runs here")
    real = os.pwrite
    refused = []

    def pwrite(fd, data, pos):
        if fd == writer.dfd:
            refused.append(pos)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, data, pos)

    monkeypatch.setattr(os, "pwrite", pwrite)
    want = np.random.default_rng(3).standard_normal((300, 2048)).astype(np.float16)
    for a, b in _ranges(300, [100, 200]):
        block = writer.buffer(a, b - a)
        block[:] = want[a:b]
        writer.write(block, a)
    writer.close()
    assert len(refused) == 1 and writer.dfd is None  # refused once, then never tried again
    np.testing.assert_array_equal(np.load(store.path("a.npy")), want)
