"""What a model card says beside its figures: intended use, limitations, training data.

A shipped model's card (:mod:`stegutils.pretrained`) holds how the model was made and
what it measured. :func:`describe` adds what the best model cards add to that: what the
model is for and not for, how it fails (the failure modes chapter 7 measures, each with
the figures that show it), and the data it learnt from, with its licence as far as
this project knows it and its citation. Every number in those fields is read from a
field that a command wrote (the card's own ``channel`` and ``heldout``, the detector's
card, ``benchmarks/results/failures.json`` where it measured these very weights), and
the command is named beside it; a figure not measured yet says so. The text is made
again whenever the figures change (``stegutils export``, ``benchmarks/quality.py`` and
``benchmarks/channel.py`` with ``--update-cards``, ``python benchmarks/cards.py``), and
a test checks that the shipped cards' text is what their figures give now.

Introduced in chapter 5 (Training).
"""

from __future__ import annotations

import json
import pathlib

from stegutils import data as _data
from stegutils.book import results as _results

__all__ = ["FIELDS", "TRAINING_DATA", "describe"]

#: The card fields :func:`describe` writes.
FIELDS = ("intended_use", "limitations", "training_data")

_BSDS500_CITATION = {
    "text": ("P. Arbelaez, M. Maire, C. Fowlkes and J. Malik, \"Contour Detection and "
             "Hierarchical Image Segmentation\", IEEE Transactions on Pattern Analysis "
             "and Machine Intelligence 33(5), 898-916, 2011, doi:10.1109/TPAMI.2010.161"),
    "bibtex_key": "arbelaez2011contour",
}

#: What the project knows of each data source a run can train on (``Config.data``).
TRAINING_DATA = {
    "bsds500": {
        "name": "BSDS500, the Berkeley Segmentation Data Set and Benchmarks 500",
        "source": _data.BSDS500_URL,
        "licence": ("not stated by this project: the Berkeley Computer Vision Group "
                    "distributes the collection from its page (source), and its terms "
                    "are theirs; cite the paper below"),
        "citation": _BSDS500_CITATION,
    },
    "builtin": {
        "name": ("the built-in photos: colour photos that scikit-image, scikit-learn and "
                 "matplotlib ship in their packages"),
        "source": "stegutils.data.BUILTIN_PHOTOS",
        "licence": ("one per photo, in the package's own words, in "
                    "stegutils.data.BUILTIN_PHOTOS (public domain, CC0, CC BY 2.0, or "
                    "not stated)"),
        "citation": None,
    },
}

_FOLDER = {
    "name": "a folder of photos of the trainer's own",
    "source": None,
    "licence": "not recorded: the photos' owner's terms",
    "citation": None,
}

_NOT_MEASURED = "not measured yet: run {command}"
#: Below this loss (dB), a crop's effect is described as none measurable.
_NO_LOSS_DB = 0.1
#: How the data sources are named in a sentence.
_SOURCE_NAMES = {"bsds500": "BSDS500", "builtin": "built-in"}


def _mean(entry):
    """A figure's value: the ``mean`` of an interval record, else the number itself."""
    if isinstance(entry, dict):
        entry = entry.get("mean")
    return float(entry) if isinstance(entry, (int, float)) and not isinstance(entry, bool) \
        else None


def _training_data(info):
    config = info.get("config") or {}
    source = str(config.get("data", ""))
    known = TRAINING_DATA.get(source, _FOLDER)
    training = info.get("training") or {}
    return {**known, "split": training.get("split", "train"),
            "validation": training.get("validation")}


def _intended_use(info):
    name = info.get("name", "this model")
    channel = (info.get("config") or {}).get("channel") is not None
    use = ("Teaching and studying deep image steganography, as the book does: hide one "
           "RGB photo in another of the same size, and reveal it from the container "
           "saved as an 8-bit PNG")
    if channel:
        use += (", or from a container that went through JPEG compression, resizing or "
                "a crop (it was trained through the simulated channel, chapter 10)")
    return {
        "use": use + ".",
        "users": "readers of the book, students and instructors, researchers who compare "
                 "designs",
        "out_of_scope": (
            "Keeping a secret from anyone who looks: the containers of deep "
            "steganography can be told from clean photos and can leak the secret "
            f"(chapter 7; limitations says what was measured for {name}). Any use where "
            "the revealed image must be exact: it approximates the secret, as the card's "
            "heldout figures measure. Photos unlike its training data (training_data), "
            "and covers smaller than the model's receptive field."),
    }


def _channel_limitations(info):
    channel = info.get("channel")
    name = info.get("name", "NAME")
    command = f"python benchmarks/channel.py --models {name} --update-cards"
    if not isinstance(channel, dict):
        return [{"failure": failure, "text": _NOT_MEASURED.format(command=command)}
                for failure in ("JPEG compression", "resizing", "crops")]
    where = {"source": "card field channel", "command": channel.get("command", command)}
    clean = _mean((channel.get("clean") or {}).get("secret_psnr"))
    found = []
    jpeg = _mean((channel.get("jpeg_420_secret_psnr") or {}).get("75"))
    if clean is not None and jpeg is not None:
        found.append({
            "failure": "JPEG compression",
            "text": (f"After a real JPEG at quality 75 (Pillow, 4:2:0) the secret comes back "
                     f"at {jpeg:.2f} dB PSNR, against {clean:.2f} dB from the PNG container "
                     f"({clean - jpeg:.1f} dB lost): lossy saving damages what is hidden."),
            "measured": {"secret_psnr_png": clean, "secret_psnr_jpeg75": jpeg}, **where})
    halved = _mean((channel.get("resize_secret_psnr") or {}).get("0.5"))
    if clean is not None and halved is not None:
        found.append({
            "failure": "resizing",
            "text": (f"Halved and enlarged back, the container gives the secret at "
                     f"{halved:.2f} dB ({clean - halved:.1f} dB lost)."),
            "measured": {"secret_psnr_png": clean, "secret_psnr_halved": halved}, **where})
    crops = {offset: _mean(value)
             for offset, value in (channel.get("crop_secret_psnr") or {}).items()}
    crops = {offset: value for offset, value in crops.items() if value is not None}
    if crops and "0" in crops:
        worst = min(crops, key=crops.get)
        offsets = ", ".join(sorted(crops, key=int))
        if crops["0"] - crops[worst] < _NO_LOSS_DB:
            # Quote the offset farthest from offset 0 (a gain, here) beside it.
            worst = max(crops, key=lambda offset: abs(crops[offset] - crops["0"]))
            text = (f"Crops at every offset measured ({offsets} px off the container's "
                    f"grid) give the secret within {abs(crops[worst] - crops['0']):.2f} dB "
                    f"of offset 0's {crops['0']:.2f} dB: no crop measured costs it anything.")
        else:
            text = (f"A crop that starts {worst} px off the container's grid gives the "
                    f"secret at {crops[worst]:.2f} dB, against {crops['0']:.2f} dB at "
                    f"offset 0 ({crops['0'] - crops[worst]:.1f} dB lost), the worst of "
                    f"offsets {offsets}.")
        found.append({"failure": "crops", "text": text,
                      "measured": {"secret_psnr_offset_0": crops["0"],
                                   f"secret_psnr_offset_{worst}": crops[worst]}, **where})
    return found


def _collection_limitation(info):
    heldout = info.get("heldout")
    name = info.get("name", "NAME")
    command = f"python benchmarks/quality.py --models {name} --update-cards"
    if not isinstance(heldout, dict) or not isinstance(heldout.get("cross_collection"), dict):
        return {"failure": "other photos", "text": _NOT_MEASURED.format(command=command)}
    other = heldout["cross_collection"].get("sizes") or {}
    common = sorted(set(other) & set(heldout.get("sizes") or {}), key=int)
    if not common:
        return {"failure": "other photos", "text": _NOT_MEASURED.format(command=command)}
    size = common[0]
    same = _mean(heldout["sizes"][size].get("secret_psnr"))
    elsewhere = _mean(other[size].get("secret_psnr"))
    source = (heldout.get("data") or {}).get("source", "")
    source_name = _SOURCE_NAMES.get(source, source)
    return {
        "failure": "other photos",
        "text": (f"On photos of other collections (the built-in photos) the secret comes "
                 f"back at {elsewhere:.2f} dB, against {same:.2f} dB on held-out "
                 f"{source_name} test photos, at {size} px: what it learnt is partly the "
                 "training collection's."),
        "measured": {f"secret_psnr_{source}_test": same,
                     "secret_psnr_other_collections": elsewhere, "size": int(size)},
        "source": "card field heldout", "command": heldout.get("command", command)}


def _detector_limitation(info, detector):
    text = "not measured: the shipped detector did not learn this model's containers"
    if not isinstance(detector, dict):
        return {"failure": "detection", "text": text}
    names = {entry.get("sha256"): entry.get("name") for entry in detector.get("models", [])
             if isinstance(entry, dict)}
    name = names.get(info.get("sha256"))
    figures = (((detector.get("heldout") or {}).get("bsds500_test") or {})
               .get("per_model") or {}).get(name)
    if name is None or not isinstance(figures, dict) or figures.get("auc") is None:
        return {"failure": "detection", "text": text}
    return {
        "failure": "detection",
        "text": (f"Its containers are not hidden from a steganalysis detector: the shipped "
                 f"one (stegutils detect) tells them from clean photos with AUC "
                 f"{figures['auc']:.3f} and accuracy {figures['accuracy']:.3f} on held-out "
                 "BSDS500 test crops."),
        "measured": {"auc": figures["auc"], "accuracy": figures["accuracy"]},
        "source": "stegutils/weights/detector.json, heldout.bsds500_test",
        "command": detector.get("command")}


def _failures_limitations(info, failures):
    """Chapter 7's leak and clean-photo figures, where they measured these weights."""
    models = (failures or {}).get("models") or {}
    entry = next((value for value in models.values() if isinstance(value, dict)
                  and value.get("card_sha256") == info.get("sha256")), None)
    if entry is None:
        return []
    where = {"source": "benchmarks/results/failures.json",
             "command": entry.get("command", failures.get("command"))}
    found = []
    leak = entry.get("leak") or {}
    if all(isinstance(leak.get(key), (int, float)) for key in
           ("secret_edges", "other_secret_edges", "gain")):
        found.append({
            "failure": "residual leak",
            "text": (f"The container minus the cover, amplified {leak['gain']:g} times, shows "
                     f"the secret's edges: their correlation with the secret's edges is "
                     f"{leak['secret_edges']:.2f}, with another secret's "
                     f"{leak['other_secret_edges']:.3f} (chapter 7)."),
            "measured": {"secret_edges": leak["secret_edges"],
                         "other_secret_edges": leak["other_secret_edges"]}, **where})
    clean = entry.get("reveal_clean") or {}
    if isinstance(clean.get("psnr_vs_secret"), (int, float)):
        found.append({
            "failure": "no secret",
            "text": (f"Revealing from a photo that holds no secret still gives an image "
                     f"(its PSNR against a secret: {clean['psnr_vs_secret']:.2f} dB); "
                     "nothing in the output says that no secret was there (stegutils "
                     "reveal warns, using the detector)."),
            "measured": {"psnr_vs_secret": clean["psnr_vs_secret"]}, **where})
    return found


def _read(path):
    try:
        value = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def describe(info: dict, *, detector: dict | None = None,
             failures: dict | None = None) -> dict:
    """The descriptive fields of a hiding model's card, from its measured fields.

    Parameters
    ----------
    info : dict
        The card (its ``name``, ``config``, ``sha256``, ``training``, and where measured,
        ``channel`` and ``heldout``).
    detector : dict, optional
        The detector's card (default: ``detector.json`` in the shipped weights folder).
    failures : dict, optional
        Chapter 7's results (default: ``benchmarks/results/failures.json``, found as the
        chapters find it); used only where it measured these weights (same SHA-256).

    Returns
    -------
    dict
        ``intended_use``, ``limitations`` (a list: ``failure``, ``text``, and where
        measured ``measured``, ``source`` and ``command``) and ``training_data``.
    """
    if detector is None:
        detector = _read(pathlib.Path(__file__).with_name("weights") / "detector.json")
    if failures is None:
        failures = _results.load("failures.json")
    limitations = [*_channel_limitations(info), _collection_limitation(info),
                   _detector_limitation(info, detector),
                   *_failures_limitations(info, failures)]
    return {"intended_use": _intended_use(info), "limitations": limitations,
            "training_data": _training_data(info)}
