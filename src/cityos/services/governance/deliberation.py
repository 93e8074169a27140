"""Deliberation: where residents agree, and where they split (Polis-style opinion groups).

Participants vote agree (1), disagree (-1) or pass (0) on short statements. The vote matrix
(participants x statements, unseen = 0) is projected on its first two principal components
(scikit-learn ``PCA``) and clustered with k-means for k from 2 to 5, keeping the k with the best
silhouette (as Polis does); only participants with at least ``min_votes`` votes are placed.

For each statement the analysis gives each group's agreement (share of the group's members who
voted agree, among those who voted), and names

* **consensus** statements — agreed by at least ``consensus`` of every group,
* **divisive** statements — the largest gap between the groups' agreement,
* each group's **representative** statements — where it agrees most above the others,

so that a living lab or a council sees both the common ground and the divides, not a majority.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

VOTES = (-1, 0, 1)


class DeliberationError(ValueError):
    """Votes that cannot be analysed: bad values, unknown statements, too few participants."""


@dataclass
class Group:
    members: list[str]
    agreement: dict[str, float]
    representative: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    groups: list[Group]
    coordinates: dict[str, tuple[float, float]]
    consensus: list[str]
    divisive: list[str]
    left_out: list[str]


def analyse(
    statements: list[str],
    votes: Mapping[str, Mapping[str, int]],
    *,
    min_votes: int = 3,
    consensus: float = 0.6,
    seed: int = 0,
) -> Analysis:
    """Opinion groups of ``votes`` (participant -> statement -> -1/0/1); see the module."""
    index = {s: j for j, s in enumerate(statements)}
    if len(index) != len(statements):
        raise DeliberationError("statement ids must be unique")
    for participant, row in votes.items():
        for statement, value in row.items():
            if statement not in index:
                raise DeliberationError(f"{participant} voted on unknown statement {statement!r}")
            if value not in VOTES or isinstance(value, bool):
                raise DeliberationError(f"{participant}: a vote is -1, 0 or 1, not {value!r}")
    placed = [p for p, row in votes.items() if len(row) >= min_votes]
    left_out = sorted(set(votes) - set(placed))
    if len(placed) < 3:
        raise DeliberationError(
            f"{len(placed)} participants voted on {min_votes} statements or more; 3 are needed"
        )
    matrix = np.zeros((len(placed), len(statements)))
    for i, p in enumerate(placed):
        for statement, value in votes[p].items():
            matrix[i, index[statement]] = value
    components = min(2, len(statements), len(placed))
    xy = PCA(n_components=components, random_state=seed).fit_transform(matrix)
    labels = _clusters(xy, seed)
    groups: list[Group] = []
    for g in sorted(set(labels)):
        members = [p for p, label in zip(placed, labels, strict=True) if label == g]
        groups.append(Group(members, {s: _agree(votes, members, s) for s in statements}))
    agree = np.array([[grp.agreement[s] for s in statements] for grp in groups])
    common = [s for j, s in enumerate(statements) if agree[:, j].min() >= consensus]
    gaps = agree.max(axis=0) - agree.min(axis=0)
    divisive = [statements[j] for j in np.argsort(-gaps, kind="stable") if gaps[j] >= 0.5]
    for k, grp in enumerate(groups):
        others = np.delete(agree, k, axis=0).mean(axis=0)
        lead = agree[k] - others
        grp.representative = [statements[j] for j in np.argsort(-lead, kind="stable")[:3]
                              if lead[j] > 0.2]  # fmt: skip
    coordinates = {
        p: (float(xy[i, 0]), float(xy[i, 1]) if xy.shape[1] > 1 else 0.0)
        for i, p in enumerate(placed)
    }
    return Analysis(groups, coordinates, common, divisive, left_out)


def _clusters(xy: np.ndarray, seed: int) -> np.ndarray:
    """k-means labels for the k in 2..5 with the best silhouette (one group if all coincide)."""
    best: tuple[float, np.ndarray] | None = None
    distinct = len(np.unique(np.round(xy, 9), axis=0))
    for k in range(2, min(5, distinct - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(xy)
        score = silhouette_score(xy, labels)
        if best is None or score > best[0] + 1e-9:
            best = (score, labels)
    if best is None:
        return np.zeros(len(xy), dtype=int)
    return best[1]


def _agree(votes: Mapping[str, Mapping[str, int]], members: list[str], statement: str) -> float:
    cast = [votes[m][statement] for m in members if statement in votes[m]]
    return sum(1 for v in cast if v == 1) / len(cast) if cast else 0.0
