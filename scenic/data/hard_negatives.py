"""Hard negatives for imported data: for each train prompt, the most similar prompt whose command differs.

Similarity is the cosine of TF-IDF vectors over character n-grams (works for Chinese, which has no spaces).
`exact_negatives` compares every pair: quadratic time, which is what made `scenic data import` of 20 MB of JSONL
run for more than ten minutes; it stays as the reference the scalable miner is measured against
(benchmarks/import_scale.py). `nearest_negatives` is near-linear in the number of rows with bounded memory:

1. TF-IDF vectors by feature hashing (no vocabulary to hold), kept as float32 sparse rows for exact scoring.
2. A dense `dims`-wide random projection of them, indexed with faiss: exact inner products (IndexFlatIP) up to
   `flat_max` rows, an HNSW graph over 8-bit codes beyond (n log n to build and search, a byte per dimension).
3. The `k` nearest prompts of each row are found there; the `rescore` nearest of those with another command are
   scored exactly on the TF-IDF vectors and the best one is kept. Rows whose neighbours all share their command
   search again with 4x the neighbours (up to `k_max`); the few still without one get none (counted).

Written with faiss rather than by hand: approximate nearest-neighbour search is what it is built and tuned for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class Negatives:
    """negative[i]: the row chosen as row i's hard negative (-1: none found); similarity: its TF-IDF cosine."""

    negative: np.ndarray
    similarity: np.ndarray
    info: dict = field(default_factory=dict)


def command_ids(commands: Sequence[str]) -> np.ndarray:
    ids: dict[str, int] = {}
    return np.fromiter((ids.setdefault(c, len(ids)) for c in commands), dtype=np.int64, count=len(commands))


def exact_negatives(prompts: Sequence[str], commands: Sequence[str], ngram_range: tuple[int, int] = (2, 3),
                    chunk: int = 512) -> Negatives:
    """The reference miner (SCENIC's before the scalable one): every anchor against every prompt, a dense
    `chunk` x n block of similarities at a time."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(prompts)
    resp = command_ids(commands)
    x = TfidfVectorizer(analyzer="char", ngram_range=ngram_range, lowercase=True).fit_transform(prompts)
    neg = np.full(n, -1, dtype=np.int64)
    sim = np.zeros(n, dtype=np.float32)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        sims = (x[rows] @ x.T).toarray()
        sims[resp[rows][:, None] == resp[None, :]] = -1.0
        best = sims.argmax(axis=1)
        found = sims[np.arange(len(rows)), best] > -1.0
        neg[rows[found]] = best[found]
        sim[rows[found]] = sims[np.arange(len(rows)), best][found]
    return Negatives(neg, sim, {"method": "exact"})


N_FEATURES = 1 << 20  # hashed n-gram buckets: collisions are rare at this width for 2-3-grams of one language


def _normalise(text: str) -> str:
    """Lowercased, whitespace runs collapsed to one space (as scikit-learn's char analyzer does)."""
    return " ".join(text.lower().split())


def hashed_ngram_counts(prompts: Sequence[str], ngram_range: tuple[int, int]):
    """Character n-gram counts, hashed into N_FEATURES columns (scipy CSR, float32).

    Written with numpy rather than scikit-learn's HashingVectorizer: its analyzer builds every n-gram as a Python
    string, about 30 us a prompt, which alone took minutes on a million-row import. Here the prompts' code points
    are one array and each n-gram's hash is a few vectorised multiply-adds over it.
    """
    import scipy.sparse as sp

    texts = [_normalise(t) for t in prompts]
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    end_of = np.repeat(starts + lengths, lengths)
    keys = []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        if len(codes) < n:
            continue
        pos = np.arange(len(codes) - n + 1)
        pos = pos[pos + n <= end_of[pos]]  # n-grams inside one prompt
        h = np.full(len(pos), n, dtype=np.uint64)
        for j in range(n):  # FNV-1a over the code points, then murmur3's finaliser so every output bit mixes
            h = (h ^ codes[pos + j]) * np.uint64(1099511628211)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        keys.append(row_of[pos].astype(np.uint64) << np.uint64(20) | (h & np.uint64(N_FEATURES - 1)))
    if not keys:
        return sp.csr_matrix((len(texts), N_FEATURES), dtype=np.float32)
    uniq, counts = np.unique(np.concatenate(keys), return_counts=True)
    rows = (uniq >> np.uint64(20)).astype(np.int64)
    cols = (uniq & np.uint64(N_FEATURES - 1)).astype(np.int32)
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    return sp.csr_matrix((counts.astype(np.float32), cols, np.cumsum(indptr)), shape=(len(texts), N_FEATURES))


def tfidf_rows(prompts: Sequence[str], ngram_range: tuple[int, int], chunk: int = 50_000,
               progress: Progress | None = None):
    """L2-normalised float32 TF-IDF rows (scipy CSR) over hashed character n-grams, smoothed idf as
    scikit-learn's TfidfTransformer computes it."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    n = len(prompts)
    parts = []
    for start in range(0, n, chunk):
        parts.append(hashed_ngram_counts(prompts[start:start + chunk], ngram_range))
        if progress:
            progress("vectorising", min(n, start + chunk), n)
    x = sp.vstack(parts, format="csr") if len(parts) > 1 else parts[0]
    del parts
    df = np.bincount(x.indices, minlength=N_FEATURES)
    idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
    x.data *= idf[x.indices]
    return normalize(x, copy=False)


def _projection(n_features: int, dims: int, seed: int):
    """A sparse random projection (Achlioptas / Li): sign entries, density 1/sqrt(n_features)."""
    from sklearn.random_projection import SparseRandomProjection

    rp = SparseRandomProjection(dims, random_state=seed, dense_output=True)
    rp.fit(np.zeros((1, n_features), dtype=np.float32))
    return rp.components_.T.astype(np.float32).tocsr()


def _dense(x, proj, rows: slice) -> np.ndarray:
    import faiss

    e = np.ascontiguousarray((x[rows] @ proj).toarray(), dtype=np.float32)
    faiss.normalize_L2(e)
    return e


def _build_index(x, proj, dims: int, flat_max: int, seed: int, chunk: int, progress: Progress | None):
    import faiss

    from scenic.threads import current_threads

    faiss.omp_set_num_threads(current_threads())
    n = x.shape[0]
    if n <= flat_max:
        index = faiss.IndexFlatIP(dims)
    else:
        # 12 links a node and a build beam of 24: on 30k generated rows as good as 16 / 40 (0.97 vs 0.98 of the best
        # similarity) for about two thirds of the build time, which dominates a million-row import
        index = faiss.IndexHNSWSQ(dims, faiss.ScalarQuantizer.QT_8bit, 12, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 24
        sample = np.sort(np.random.default_rng([seed, 13]).choice(n, size=min(n, 50_000), replace=False))
        index.train(np.ascontiguousarray(_dense(x[sample], proj, slice(None))))
    for start in range(0, n, chunk):
        index.add(_dense(x, proj, slice(start, start + chunk)))
        if progress:
            progress("indexing", min(n, start + chunk), n)
    return index


def _exact_scores(x, anchors: np.ndarray, cands: np.ndarray, batch: int = 1 << 15) -> np.ndarray:
    """TF-IDF cosine of each (anchor, candidate) pair: row-wise sparse dot products, `batch` pairs at a time (the
    gathered rows of a whole search chunk took a gigabyte)."""
    out = np.empty(len(anchors), dtype=np.float32)
    for s in range(0, len(anchors), batch):
        a, c = anchors[s:s + batch], cands[s:s + batch]
        out[s:s + batch] = np.asarray(x[a].multiply(x[c]).sum(axis=1), dtype=np.float32).ravel()
    return out


def _best_of(x, resp: np.ndarray, rows: np.ndarray, neighbours: np.ndarray, rescore: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Among each row's first `rescore` neighbours with another command (nearest first), the most similar by exact
    TF-IDF (-1 where none)."""
    valid = (neighbours >= 0) & (resp[np.maximum(neighbours, 0)] != resp[rows][:, None])
    valid &= np.cumsum(valid, axis=1) <= rescore
    scores = np.full(neighbours.shape, -np.inf, dtype=np.float32)
    ai, ci = np.nonzero(valid)
    if len(ai):
        scores[ai, ci] = _exact_scores(x, rows[ai], neighbours[ai, ci])
    best = scores.argmax(axis=1)
    found = np.isfinite(scores[np.arange(len(rows)), best])
    neg = np.where(found, neighbours[np.arange(len(rows)), best], -1)
    return neg, np.where(found, scores[np.arange(len(rows)), best], 0.0).astype(np.float32)


def nearest_negatives(prompts: Sequence[str], commands: Sequence[str], seed: int = 0,
                      ngram_range: tuple[int, int] = (2, 3), k: int | None = None, rescore: int | None = None,
                      k_max: int = 1024, dims: int = 256, flat_max: int = 20_000, chunk: int = 4096,
                      progress: Progress | None = None) -> Negatives:
    """Each row's most similar prompt with another command, found among its `k` approximate nearest neighbours
    (see the module docstring); memory is the sparse TF-IDF rows plus `dims` bytes (or floats, when flat) a row.

    Defaults: up to `flat_max` rows (cheap) 64 neighbours, all rescored; beyond, 48 neighbours and the 16 nearest
    with another command rescored, which kept 0.97 of the best similarity on 30k generated rows for two thirds of
    the time (benchmarks/import_scale.py measures both on scenic-zh)."""
    n = len(prompts)
    small = n <= flat_max
    k = k or (64 if small else 48)
    rescore = rescore or (k if small else 16)
    resp = command_ids(commands)
    neg = np.full(n, -1, dtype=np.int64)
    sim = np.zeros(n, dtype=np.float32)
    info = {"method": "ann", "k": k, "rescored": rescore, "dims": dims, "index": "flat" if small else "hnsw-sq8",
            "widened": 0, "without_negative": 0}
    if n < 2 or resp.max(initial=0) < 1:
        info["without_negative"] = n
        return Negatives(neg, sim, info)
    x = tfidf_rows(prompts, ngram_range, progress=progress)
    proj = _projection(x.shape[1], dims, seed)
    index = _build_index(x, proj, dims, flat_max, seed, chunk, progress)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = max(k, 64)
    todo, width = np.arange(n), min(k, n)
    while len(todo):
        for start in range(0, len(todo), chunk):
            rows = todo[start:start + chunk]
            _, found = index.search(np.ascontiguousarray(_dense(x, proj, rows)), width)
            neg[rows], sim[rows] = _best_of(x, resp, rows, found, rescore)
            if progress:
                progress("searching" if width == min(k, n) else f"searching wider ({width})", start + len(rows),
                         len(todo))
        todo = todo[neg[todo] < 0]
        if width >= min(k_max, n) or not len(todo):
            break
        info["widened"] += len(todo)
        width = min(4 * width, k_max, n)
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = max(width, 64)
    info["without_negative"] = int((neg < 0).sum())
    return Negatives(neg, sim, info)
