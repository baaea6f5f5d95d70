"""Data that do not fit in memory, read in chunks: a ``.npy`` file, an array-like that slices
(a Zarr or HDF5 array, ``np.memmap``), or a function that returns a fresh iterator of chunks.

:func:`open_source` turns what the user passed to :func:`gmm.fit_em` into a
:class:`ChunkSource`, whose :meth:`~ChunkSource.chunks` reads the data once, in row blocks
of at most ``chunk_size`` rows, each checked (real numbers, finite, non-empty, the same
number of columns as the others) and returned as float64 (n, D). Memory is bounded by the
chunk size: a ``.npy`` file is read block by block with ``seek`` and ``readinto`` rather
than memory-mapped, so that its pages never count towards the process's resident memory.
Every error names the file or the chunk (and its rows).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmm._util.validation import as_data

_NPY_HINT = ("pass a .npy file, an array-like that slices by rows (a Zarr or HDF5 array, np.memmap), "
             "or a function that returns a fresh iterator of (n,) or (n, D) chunks (for Parquet: "
             "lambda: (b.column(0).to_numpy() for b in pyarrow.parquet.ParquetFile(path).iter_batches()))")


@dataclass(frozen=True)
class ChunkSource:
    """Data read in row blocks; each call of :meth:`chunks` is one pass over all of them.

    Attributes:
        name: how errors name the data (``"x"``, or the file's path).
        blocks: a function returning a fresh iterator of raw blocks (anything array-like).
        n_rows: the number of rows where known before a pass (files and array-likes), else None.
        chunk_size: the most rows handed on at once; larger blocks are split.
    """

    name: str
    blocks: Callable[[], Iterator[Any]]
    n_rows: int | None
    chunk_size: int

    def chunks(self, check: bool = True) -> Iterator[np.ndarray]:
        """One pass: the data as float64 blocks (n, D) of at most ``chunk_size`` rows, in
        order. With ``check`` (the first pass) each block is checked, and a bad one raises a
        ValueError naming the chunk and its rows; later passes read the same data unchecked."""
        row, dim = 0, None
        for i, block in enumerate(self.blocks()):
            label = f"{self.name} (chunk {i}, from row {row:,})"
            arr = as_data(block, name=label, ndim=None) if check else np.asarray(block, np.float64)
            arr = arr.reshape(arr.shape[0], -1)
            if dim is None:
                dim = arr.shape[1]
            elif arr.shape[1] != dim:
                raise ValueError(f"{label} has {arr.shape[1]} column(s) where the chunks before it had "
                                 f"{dim}: every chunk must hold points of the same dimension.")
            for start in range(0, arr.shape[0], self.chunk_size):
                yield arr[start: start + self.chunk_size]
            row += arr.shape[0]
        if row == 0:
            raise ValueError(f"{self.name} holds no chunks: at least one observation is needed.")


def is_streamed(x: Any) -> bool:
    """Whether x names data to read in chunks whatever ``chunk_size`` says: a path, a function
    returning chunks, or an iterator (refused by :func:`open_source`, saying why)."""
    return isinstance(x, (str, os.PathLike, Iterator)) or callable(x)


def open_source(x: Any, chunk_size: int, name: str = "x") -> ChunkSource:
    """x as a :class:`ChunkSource` (see :func:`gmm.fit_em` for what is allowed).

    Raises:
        ValueError: a path that is not a readable, complete ``.npy`` file of real numbers, or a
            one-shot iterator (EM reads the data once per iteration).
    """
    if isinstance(x, (str, os.PathLike)):
        return _npy_source(os.fspath(x), chunk_size)
    if isinstance(x, Iterator):
        raise ValueError(f"{name} is an iterator, which can be read only once, and EM reads the data once per "
                         "iteration: pass a function that returns a fresh iterator of chunks "
                         "(e.g. lambda: read_chunks(path)).")
    if isinstance(x, (list, tuple)) or hasattr(x, "to_numpy"):  # nested lists, pandas: held in memory anyway
        x = as_data(x, name, ndim=None)
    if hasattr(x, "shape") and hasattr(x, "__getitem__") and len(getattr(x, "shape")) in (1, 2):
        n = int(x.shape[0])
        return ChunkSource(name, lambda: (x[i: i + chunk_size] for i in range(0, max(n, 1), chunk_size)),
                           n, chunk_size)
    if callable(x):
        def fresh():
            it = x()
            if not isinstance(it, Iterable):
                raise ValueError(f"{name}() must return an iterable of chunks, got {type(it).__name__}.")
            return iter(it)
        return ChunkSource(name, fresh, None, chunk_size)
    shape = f" of shape {tuple(x.shape)}" if hasattr(x, "shape") else ""
    raise ValueError(f"{name} of type {type(x).__name__}{shape} cannot be read in chunks of rows: {_NPY_HINT}.")


def _npy_source(path: str, chunk_size: int) -> ChunkSource:
    """A ``.npy`` file read by rows; its header checked against its size now, so a truncated
    file is refused before the first pass."""
    if not path.endswith(".npy"):
        raise ValueError(f"x = {path!r}: only .npy files are read from a path; {_NPY_HINT}.")
    if not os.path.isfile(path):
        raise ValueError(f"x = {path!r}: no such file.")
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
        except (ValueError, OSError) as err:
            raise ValueError(f"x = {path!r} is not a readable .npy file ({err}).") from None
        offset = f.tell()
    if dtype.hasobject or not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)) \
            or dtype == bool:
        raise ValueError(f"x = {path!r} holds dtype {dtype}; it must hold real numbers (integers or floats).")
    if len(shape) not in (1, 2) or (fortran and len(shape) == 2 and shape[1] > 1):
        raise ValueError(f"x = {path!r} has shape {shape}{' in Fortran order' if fortran else ''}; it must be "
                         "(N,) or a C-ordered (N, D) array (np.save(path, np.ascontiguousarray(a))).")
    n, row_items = shape[0], (shape[1] if len(shape) == 2 else 1)
    expected = offset + n * row_items * dtype.itemsize
    size = os.path.getsize(path)
    if size < expected:
        raise ValueError(f"x = {path!r} is truncated: its header promises {n:,} rows of {row_items} {dtype} "
                         f"({expected:,} bytes with the header) but the file has {size:,} bytes.")

    def blocks():
        with open(path, "rb") as f:
            for start in range(0, n, chunk_size):
                rows = min(chunk_size, n - start)
                f.seek(offset + start * row_items * dtype.itemsize)
                block = np.empty(rows * row_items, dtype)
                if f.readinto(memoryview(block).cast("B")) != block.nbytes:
                    raise ValueError(f"x = {path!r} ended early, at row {start:,} of {n:,}: was it changed "
                                     "while being read?")
                yield block.reshape((rows, row_items) if len(shape) == 2 else (rows,))

    return ChunkSource(path, blocks, n, chunk_size)


__all__ = ["ChunkSource", "is_streamed", "open_source"]
