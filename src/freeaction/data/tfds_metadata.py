"""The metadata tensorflow-datasets needs beside RLDS shards: ``features.json`` and ``dataset_info.json``.

With both files in the folder, ``tfds.builder_from_directory(folder).as_dataset(split=...)``
opens shards named ``<name>-<split>.tfrecord-XXXXX-of-YYYYY``. ``features.json`` is the
serialised ``FeaturesDict`` (per-step features inside an RLDS ``steps`` dataset, episode-level ones
beside it); ``dataset_info.json`` names the dataset and lists each split's shard lengths.
Both are written here as plain JSON, in the form ``tfds.folder_dataset.write_metadata`` produces,
so writing them needs no TensorFlow.

Feature kinds (``FeatureSpec.kind``): ``image`` (JPEG, uint8 H x W x 3), ``tensor`` (float32
of a shape), ``bool`` and ``float`` scalars, ``text``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILEPATH_TEMPLATE = "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"
_CLASS = "tensorflow_datasets.core.features."


@dataclass(frozen=True)
class FeatureSpec:
    """One leaf feature: ``kind`` (image, tensor, bool, float, text) and its per-step shape."""

    kind: str
    shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class SplitShards:
    """One split's shards: the number of episodes in each and their total size in bytes."""

    name: str
    shard_lengths: tuple[int, ...]
    num_bytes: int


def _leaf(spec: FeatureSpec) -> dict[str, Any]:
    shape = {"dimensions": [str(d) for d in spec.shape]} if spec.shape else {}
    if spec.kind == "image":
        image = {"dtype": "uint8", "encodingFormat": "jpeg", "shape": shape}
        return {"image": image, "pythonClassName": _CLASS + "image_feature.Image"}
    if spec.kind == "text":
        return {"pythonClassName": _CLASS + "text_feature.Text", "text": {}}
    dtypes = {"tensor": "float32", "bool": "bool", "float": "float32"}
    if spec.kind not in dtypes:
        raise ValueError(f"unknown feature kind {spec.kind!r}")
    cls = "tensor_feature.Tensor" if spec.kind == "tensor" else "scalar.Scalar"
    return {
        "pythonClassName": _CLASS + cls,
        "tensor": {"dtype": dtypes[spec.kind], "encoding": "none", "shape": shape},
    }


def _tree(features: dict[str, FeatureSpec]) -> dict[str, Any]:
    """Flat ``a/b/c`` keys as nested dicts with the specs at the leaves."""
    tree: dict[str, Any] = {}
    for key, spec in features.items():
        *parents, name = key.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[name] = spec
    return tree


def _features_dict(tree: dict[str, Any], sequences: frozenset[str] = frozenset()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, child in sorted(tree.items()):
        if isinstance(child, FeatureSpec):
            out[name] = _leaf(child)
        elif name in sequences:
            feature = _features_dict(child)
            out[name] = {
                "pythonClassName": _CLASS + "dataset_feature.Dataset",
                "sequence": {"feature": feature, "length": "-1"},
            }
        else:
            out[name] = _features_dict(child)
    return {"featuresDict": {"features": out}, "pythonClassName": _CLASS + "features_dict.FeaturesDict"}


def features_json(features: dict[str, FeatureSpec]) -> dict[str, Any]:
    """``features.json`` for flat ``/``-joined keys; keys under ``steps/`` are per step of an episode."""
    return _features_dict(_tree(features), sequences=frozenset({"steps"}))


def dataset_info_json(name: str, splits: list[SplitShards], description: str = "") -> dict[str, Any]:
    """``dataset_info.json`` of dataset ``name`` (the shard files' prefix) with ``splits``."""
    return {
        "description": description,
        "fileFormat": "tfrecord",
        "name": name,
        "splits": [
            {
                "filepathTemplate": FILEPATH_TEMPLATE,
                "name": s.name,
                "numBytes": str(s.num_bytes),
                "shardLengths": [str(n) for n in s.shard_lengths],
            }
            for s in splits
        ],
        "version": "1.0.0",
    }


def write_metadata(
    folder: Path, name: str, features: dict[str, FeatureSpec], splits: list[SplitShards], description: str = ""
) -> None:
    """Write ``features.json`` and ``dataset_info.json`` into ``folder``."""
    (folder / "features.json").write_text(json.dumps(features_json(features), indent=4) + "\n", encoding="utf-8")
    info = dataset_info_json(name, splits, description)
    (folder / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
