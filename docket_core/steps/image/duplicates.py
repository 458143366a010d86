"""Near-duplicate grouping of 64-bit perceptual hashes, without comparing all pairs.

By pigeonhole, two 64-bit hashes within `max_distance` bits agree exactly on at least one of
`max_distance + 1` bands, so only hashes sharing a band value are compared. The cost grows with how
many hashes share band values: near-linear for varied photos, worse when many images are almost alike
(e.g. thousands of blank pages with slightly different hashes). Identical hashes are merged before
banding. This scales to hundreds of thousands of hashes.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from docket_core.errors import InputError

__all__ = ["near_duplicate_groups"]


def near_duplicate_groups(hashes: Iterable[tuple[str, int]], *, max_distance: int) -> dict[str, int]:
    """Group names whose hashes differ in at most `max_distance` bits, transitively.

    Args:
        hashes: `(name, 64-bit hash)` pairs; a later pair for the same name replaces an earlier one.
        max_distance: The largest Hamming distance still counted as a near duplicate, 0..63.

    Returns:
        `{name: group id}` only for names that have at least one near duplicate; ids count from 0 in
        the order of each group's first member by sorted name.

    Raises:
        InputError: When `max_distance` is outside 0..63 (checked before `hashes` is read).
    """
    if not 0 <= max_distance < 64:
        raise InputError(f"max_distance must be within 0..63 bits of a 64-bit hash, got {max_distance!r}")
    by_name = dict(hashes)
    names = sorted(by_name)
    values = np.array([by_name[name] for name in names], dtype=np.uint64)
    unique, file_to_unique = np.unique(values, return_inverse=True)
    roots = _near_components(unique, max_distance)[file_to_unique]
    sizes = np.bincount(roots, minlength=len(unique))
    group_ids: dict[int, int] = {}
    groups: dict[str, int] = {}
    for name, root in zip(names, roots.tolist(), strict=True):
        if sizes[root] > 1:
            groups[name] = group_ids.setdefault(root, len(group_ids))
    return groups


def _near_components(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """For distinct uint64 `hashes`, the smallest index of each one's near-duplicate component."""
    labels = np.arange(len(hashes))
    bands = max_distance + 1
    shift = 0
    for band in range(bands):
        width = 64 // bands + (1 if band < 64 % bands else 0)
        keys = (hashes >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        shift += width
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        # Equal keys sit together once sorted: comparing each with the one `offset` places on finds
        # every pair within a bucket, and no pair at some offset means none at any larger one.
        for offset in range(1, len(hashes)):
            same = sorted_keys[offset:] == sorted_keys[:-offset]
            if not same.any():
                break
            left, right = order[:-offset][same], order[offset:][same]
            # Pairs already linked need no check: this keeps tight clusters of near-identical
            # images (thousands of almost blank pages) from costing a distance per pair.
            apart = labels[left] != labels[right]
            left, right = left[apart], right[apart]
            close = np.bitwise_count(hashes[left] ^ hashes[right]) <= max_distance
            labels = _link(labels, left[close], right[close])
    return labels


def _link(labels: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Union-find over arrays: merge the components of each pair; each label stays its component's
    smallest index (a root only ever points at a smaller root, so no cycles and a full compression)."""
    a, b = labels[left], labels[right]
    while (a != b).any():
        np.minimum.at(labels, np.maximum(a, b), np.minimum(a, b))
        while not np.array_equal(parents := labels[labels], labels):
            labels = parents
        a, b = labels[left], labels[right]
    return labels
