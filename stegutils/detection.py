"""The shipped steganalysis detector: does an image hold a secret?

Chapter 7's small CNN on high-pass residuals (:func:`stegutils.attacks.build_detector`),
trained by ``benchmarks/detector.py`` on containers of the shipped models and clean
photos of the same covers, ships beside the hiding models as two files in
``stegutils/weights/``: ``detector.weights.h5`` and its card ``detector.json`` (the
architecture, the models whose containers it learnt, the threshold chosen on
validation crops of the training photos, AUC and accuracy measured on held-out photos,
the command that made it and the SHA-256 of the weights, checked before every load).
It is not a hiding model: :func:`stegutils.pretrained.list` leaves it out.

:func:`score` works on an image of any size: the detector averages its features over
the image before its last layer, so the logit of a large image is close to the
area-weighted mean of the logits of its tiles; at most :data:`MAX_TILES` tiles, spread
evenly over the image, are scored, so a 12-megapixel photo costs about what a
one-megapixel one does. ``stegutils detect`` prints the score and a verdict; ``stegutils
reveal`` warns when its container scores as a clean photo.

Introduced in chapter 7 (When hiding fails), where the detector is trained and measured.
"""

from __future__ import annotations

import json
import os
import pathlib
import re

import numpy as np

__all__ = ["NAME", "KIND", "CARD_PATH", "MAX_TILES", "TILE", "card", "load", "score",
           "verdict", "save", "logits"]

#: The detector's file names in the weights folder: ``NAME.json`` and ``NAME.weights.h5``.
NAME = "detector"
#: The ``kind`` field of a detector's card (hiding models' cards have none).
KIND = "detector"
#: The shipped detector's card.
CARD_PATH = pathlib.Path(__file__).with_name("weights") / f"{NAME}.json"
#: Side of the tiles an image is scored in, and how many are scored at most.
TILE = 256
MAX_TILES = 16

_SHA256 = re.compile(r"[0-9a-f]{64}")
_WORDS = {True: "container", False: "clean"}


def card(path=None) -> dict:
    """The detector's card (default: the shipped one), its fields checked.

    Raises
    ------
    ValueError
        If the file is missing or not JSON, or a field is missing or wrong (the message
        names it and says what was expected).
    """
    path = pathlib.Path(CARD_PATH if path is None else path)
    if not path.is_file():
        raise ValueError(f"no detector card {path}: expected a JSON card written by "
                         "benchmarks/detector.py beside its weights")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"the detector card {path.name} is not valid JSON: {error}") from None
    _check_card(info, path.name)
    return info


def _check_card(info, where):
    if not isinstance(info, dict):
        raise ValueError(f"the detector card {where} must be a JSON object, got a "
                         f"{type(info).__name__}")
    expected = {
        "kind": f"{KIND!r}",
        "weights": "the name of its weights file, in the same folder",
        "sha256": "the SHA-256 of its weights file (64 hex digits)",
        "architecture": "the options of stegutils.attacks.build_detector (width, depth)",
        "threshold": "the score from which an image counts as a container (0 to 1)",
    }
    for field, what in expected.items():
        if field not in info:
            raise ValueError(f"the detector card {where} has no {field!r} field: "
                             f"expected {what}")
    if info["kind"] != KIND:
        raise ValueError(f"the card {where} has kind {info['kind']!r}: expected {KIND!r}")
    weights = info["weights"]
    if not isinstance(weights, str) or not weights or pathlib.PurePath(weights).name != weights:
        raise ValueError(f"the detector card {where} has weights {weights!r}: expected "
                         f"{expected['weights']}")
    if not isinstance(info["sha256"], str) or not _SHA256.fullmatch(info["sha256"]):
        raise ValueError(f"the detector card {where} has sha256 {info['sha256']!r}: "
                         f"expected {expected['sha256']}")
    architecture = info["architecture"]
    if (not isinstance(architecture, dict)
            or not all(isinstance(architecture.get(k), int) for k in ("width", "depth"))):
        raise ValueError(f"the detector card {where} has architecture {architecture!r}: "
                         f"expected {expected['architecture']}")
    threshold = info["threshold"]
    if (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
            or not 0.0 <= threshold <= 1.0):
        raise ValueError(f"the detector card {where} has threshold {threshold!r}: "
                         f"expected {expected['threshold']}")


def load(path=None):
    """Load the detector of a card (default: the shipped one): ``(keras.Model, card)``.

    The weights' SHA-256 is checked against the card before they are read, and the
    network is rebuilt with :func:`stegutils.attacks.build_detector` from the card's
    options (never from code stored in a file).

    Raises
    ------
    ValueError
        For a bad card, a missing weights file, a hash that does not match, or weights
        that do not fit the architecture.
    """
    from stegutils import attacks, files

    path = pathlib.Path(CARD_PATH if path is None else path)
    info = card(path)
    weights = path.with_name(info["weights"])
    if not weights.is_file():
        raise ValueError(f"the weights file {weights.name} of the detector card "
                         f"{path.name} is missing")
    actual = files.sha256(weights)
    if actual != info["sha256"]:
        raise ValueError(
            f"the detector's weights file {weights.name} does not match its card "
            f"(SHA-256 {actual[:12]}..., expected {info['sha256'][:12]}...): it is corrupt "
            "or was changed; reinstall the package or train it again")
    architecture = info["architecture"]
    model = attacks.build_detector(width=architecture["width"], depth=architecture["depth"])
    try:
        model.load_weights(weights)
    except Exception as error:  # h5py and Keras raise many types for a bad file
        raise ValueError(
            f"could not read the detector's weights file {weights.name}: it is corrupt, "
            f"truncated or for another architecture ({type(error).__name__}: {error})"
        ) from None
    return model, info


def _tiles(height, width, tile):
    """``(rows, cols)`` slices of the tiles of an image, in reading order."""
    return [(slice(y, min(y + tile, height)), slice(x, min(x + tile, width)))
            for y in range(0, height, tile) for x in range(0, width, tile)]


def logits(model, image, *, tile=TILE, max_tiles=MAX_TILES):
    """The detector's logit for one image of any size (see the module's docstring).

    Parameters
    ----------
    model : keras.Model
        From :func:`load` or :func:`stegutils.attacks.build_detector`.
    image : numpy.ndarray
        ``(height, width, 3)``, ``uint8`` or float in ``[0, 1]``, at least 3x3.
    tile, max_tiles : int, optional
        Side of the tiles, and how many are scored at most (evenly spread).

    Returns
    -------
    float
    """
    import tensorflow as tf

    from stegutils import data as _data

    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"the image must have shape (height, width, 3), got {array.shape}")
    height, width = array.shape[:2]
    if min(height, width) < 3:
        raise ValueError(f"the detector needs an image of at least 3x3 pixels, got "
                         f"{width}x{height}")
    tiles = _tiles(height, width, tile)
    # A sliver along the right or bottom edge has too few pixels for the high-pass
    # filter: fold it into its neighbour by dropping it (the rest covers the image).
    tiles = [t for t in tiles if t[0].stop - t[0].start >= 3 and t[1].stop - t[1].start >= 3]
    if len(tiles) > max_tiles:
        picks = np.unique(np.linspace(0, len(tiles) - 1, max_tiles).round().astype(int))
        tiles = [tiles[i] for i in picks]
    values, weights = [], []
    for rows, cols in tiles:
        block = _data.to_float(array[rows, cols])
        values.append(float(model(tf.constant(block[np.newaxis]), training=False)[0, 0]))
        weights.append(block.shape[0] * block.shape[1])
    return float(np.average(values, weights=weights))


def score(model, image, **options) -> float:
    """The detector's probability that ``image`` is a container (0 to 1).

    For a crop no larger than one tile it is ``stegutils.attacks.detector_scores``'s
    value; larger images are scored in tiles (:func:`logits`).
    """
    value = logits(model, image, **options)
    return float(1.0 / (1.0 + np.exp(-value)))


def verdict(value: float, threshold: float) -> str:
    """``"container"`` when ``value >= threshold`` (the card's rule), else ``"clean"``."""
    return _WORDS[bool(value >= threshold)]


def save(model, info: dict, out_dir=None, *, name: str = NAME) -> pathlib.Path:
    """Write a detector's weights and card (``NAME.weights.h5``, ``NAME.json``).

    Both are written to temporary files beside their places and renamed only when both
    are complete, the weights first (a crash between the two leaves a card whose hash
    check fails, never a silent mismatch). ``info`` gives the card's other fields
    (threshold, architecture, figures, command); ``kind``, ``weights``, ``sha256`` and
    ``size_bytes`` are filled in. Returns the card's path.
    """
    from stegutils import files, pretrained

    out_dir = pathlib.Path(out_dir or CARD_PATH.parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    files.remove_orphaned_temporaries(out_dir)
    target = out_dir / f"{name}.weights.h5"
    card_path = out_dir / f"{name}.json"

    def make_card(tmp_weights):
        full = {**info, "kind": KIND, "name": name, "weights": target.name,
                "sha256": files.sha256(tmp_weights),
                "size_bytes": os.path.getsize(tmp_weights)}
        _check_card(full, card_path.name)
        return full

    return pretrained.write_weights_and_card(target, card_path, model.save_weights, make_card)
