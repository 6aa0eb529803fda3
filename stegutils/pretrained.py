"""Trained models: the ones the library ships, and any run folder that ``train`` wrote.

A shipped model is two files in ``stegutils/weights/``: ``NAME.weights.h5`` (the weights,
in Keras' HDF5 weights format: arrays only, no pickled code) and ``NAME.json``, its
*model card*: the variant and full training config, the data and split it was trained
on, its steps and wall time, its held-out metrics, the exact commands that trained and
evaluated it, the SHA-256 of the weights file, and what it is for and how it fails,
with its training data's licence and citation (:mod:`stegutils.cards`). :func:`load`
checks the card's fields and that hash before it reads a byte of weights, and rebuilds
the architecture from the variant registry (never from code stored in a file). A run folder records the hashes of
the weights it writes (``hashes.json``), and loading one checks them too.

:func:`export` writes the weights and the card to temporary files and puts them in
place only when both are complete, so a failed export leaves the model it would have
replaced as it was.

Introduced in chapter 5 (Training).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil

from stegutils import cards as _cards
from stegutils import files as _files
from stegutils import models as _models
from stegutils import runs as _runs

__all__ = ["DEFAULT_MODEL", "WEIGHTS_DIR", "list", "load", "card", "export", "sha256",
           "write_weights_and_card"]

#: The model used when none is named (by the command line, the widgets, the book):
#: chapter 9's invertible model, better than ``fast`` on both terms (cover and secret)
#: on the held-out BSDS500 test split, beyond the spread (``comparisons`` in
#: ``benchmarks/results/quality.json``). ``fast`` stays shipped: chapters 3 to 8 name it.
DEFAULT_MODEL = "invertible"

#: Where the shipped models live.
WEIGHTS_DIR = pathlib.Path(__file__).with_name("weights")

_list = list  # the public ``list`` below shadows the builtin inside this module


#: The SHA-256 of a file, as hex (:func:`stegutils.files.sha256`).
sha256 = _files.sha256


def list() -> _list[str]:  # noqa: A001 - the name the book uses: pretrained.list()
    """Names of the shipped models (those with a card and a weights file).

    Introduced in chapter 5 (Training).
    """
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(
        path.stem for path in WEIGHTS_DIR.glob("*.json")
        if path.with_name(f"{path.stem}.weights.h5").exists() and not _is_detector(path)
    )


#: The ``kind`` of the steganalysis detector's card (:mod:`stegutils.detection`), which
#: lies in the same folder but is not a hiding model.
_DETECTOR_KIND = "detector"


def _is_detector(path) -> bool:
    """Whether the card at ``path`` is the steganalysis detector's (not a hiding model)."""
    try:
        info = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # listed, so that loading it reports what is wrong
    return isinstance(info, dict) and info.get("kind") == _DETECTOR_KIND


def card(name: str) -> dict:
    """The model card of a shipped model.

    Raises
    ------
    ValueError
        If there is no shipped model of that name (the message lists those there are).
    """
    path = WEIGHTS_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(_unknown_model_message(name))
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"the model card {path.name} is not valid JSON: {error}") from None
    if isinstance(info, dict) and info.get("kind") == _DETECTOR_KIND:
        raise ValueError(f"{name!r} is the steganalysis detector, not a hiding model: "
                         f"expected one of {', '.join(list()) or 'none yet'} (the detector "
                         "is used by `stegutils detect` and stegutils.detection.load)")
    _check_card(info, path.name)
    return info


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _check_card(info, where):
    """Raise ValueError naming the first field of a model card that is missing or wrong."""
    if not isinstance(info, dict):
        raise ValueError(f"the model card {where} must be a JSON object (with weights, "
                         f"sha256 and config), got a {type(info).__name__}")
    expected = {
        "weights": "the name of its weights file",
        "sha256": "the SHA-256 of its weights file (64 hex digits)",
        "config": "the training config (a JSON object)",
    }
    for field, what in expected.items():
        if field not in info:
            raise ValueError(f"the model card {where} has no {field!r} field: expected {what}")
    weights = info["weights"]
    if not isinstance(weights, str) or not weights or pathlib.PurePath(weights).name != weights:
        raise ValueError(f"the model card {where} has weights {weights!r}: expected "
                         f"{expected['weights']} in the same folder")
    if not isinstance(info["sha256"], str) or not _SHA256.fullmatch(info["sha256"]):
        raise ValueError(f"the model card {where} has sha256 {info['sha256']!r}: expected "
                         f"{expected['sha256']}")
    if not isinstance(info["config"], dict):
        raise ValueError(f"the model card {where} has config {info['config']!r:.60}: expected "
                         f"{expected['config']}")
    try:
        _runs.Config.from_dict(info["config"])
    except (ValueError, TypeError) as error:
        raise ValueError(f"the model card {where} has a config that is not valid: "
                         f"{error}") from None


def _unknown_model_message(name):
    shipped = list()
    where = ", ".join(shipped) if shipped else "none yet"
    return (
        f"no model named {name!r}: expected the name of a shipped model ({where}) "
        "or a run folder written by `stegutils train`"
    )


def load(name_or_dir: str | os.PathLike | None = None, *, precision: str = "float32"):
    """Load a shipped model by name, or the best weights of a training run.

    Parameters
    ----------
    name_or_dir : str or path, optional
        A name from :func:`list`, or a run folder written by
        :class:`stegutils.train.Trainer` (its ``best.weights.h5`` is used, else
        ``final.weights.h5``). Default: :data:`DEFAULT_MODEL`.
    precision : str, optional
        Compute precision for the rebuilt networks (see
        :func:`stegutils.models.resolve_precision`); weights are stored in float32.

    Returns
    -------
    (StegoNet, dict)
        The three networks (``net.prep``, ``net.hiding``, ``net.revealing``; use
        ``net.hide`` and ``net.reveal``) and the model card. For a run folder the card
        is made from its config and validation record.

    Raises
    ------
    ValueError
        For an unknown name, a folder that is not a run, a weights file whose hash does
        not match its card, or a corrupt or truncated weights file.

    Introduced in chapter 5 (Training).
    """
    name_or_dir = DEFAULT_MODEL if name_or_dir is None else name_or_dir
    path = pathlib.Path(name_or_dir)
    if path.is_dir():
        return _load_run(path, precision)
    if isinstance(name_or_dir, str) and "/" not in name_or_dir and os.sep not in name_or_dir:
        info = card(name_or_dir)
        weights = WEIGHTS_DIR / info["weights"]
        if not weights.is_file():
            raise ValueError(f"the weights file {weights.name} of model {name_or_dir!r} is missing")
        actual = sha256(weights)
        if actual != info["sha256"]:
            raise ValueError(
                f"the weights file {weights.name} does not match its model card "
                f"(SHA-256 {actual[:12]}..., expected {info['sha256'][:12]}...): it is "
                "corrupt or was changed; reinstall the package"
            )
        config = _runs.Config.from_dict(info["config"])
        return _build_and_load(config, weights, precision), info
    raise ValueError(_unknown_model_message(str(name_or_dir)))


def model_name(name_or_dir: str | os.PathLike | None = None) -> str:
    """The name that :func:`load` gives a model's card, without loading it.

    A shipped model's name is its own; a run folder's is the folder's name
    (``runs/twin-quantize`` is ``"twin-quantize"``). The benchmarks key their results
    files by it, so a command can check the names it was given before measuring.
    """
    name_or_dir = DEFAULT_MODEL if name_or_dir is None else name_or_dir
    path = pathlib.Path(name_or_dir)
    if path.is_dir():
        return path.resolve().name
    return str(name_or_dir)


def _load_run(run_dir, precision):
    folder = _runs.RunDir(run_dir)
    config = folder.config()
    weights = folder.weights()
    folder.check_weights(weights)
    info = {
        "name": model_name(run_dir),
        "variant": config.variant,
        "config": config.to_dict(),
        "weights": str(weights),
        "validation": folder.best(),
    }
    return _build_and_load(config, weights, precision), info


def _build_and_load(config, weights, precision):
    net = _models.build_ready(config.variant, precision=precision, **config.variant_options)
    try:
        net.load_weights(weights)
    except Exception as error:  # h5py and Keras raise many types for a bad file
        raise ValueError(
            f"could not read the weights file {pathlib.Path(weights).name}: it is corrupt, "
            f"truncated or for another architecture ({type(error).__name__}: {error})"
        ) from None
    return net


def export(run_dir, name: str, *, weights: str = "best.weights.h5", out_dir=None,
           extra: dict | None = None) -> pathlib.Path:
    """Copy a run's weights into the shipped models, with a model card.

    Parameters
    ----------
    run_dir : path
        A run folder written by :class:`stegutils.train.Trainer`.
    name : str
        The model's name (``NAME.weights.h5`` and ``NAME.json``).
    weights : str, optional
        Which weights of the run to ship (default its best).
    out_dir : path, optional
        Default :data:`WEIGHTS_DIR`.
    extra : dict, optional
        More card fields (commands, wall time, measured metrics); they are merged in.

    Returns
    -------
    pathlib.Path
        The card's path.

    Introduced in chapter 5 (Training).
    """
    run_dir = pathlib.Path(run_dir)
    out_dir = pathlib.Path(out_dir or WEIGHTS_DIR)
    if _is_detector(out_dir / f"{name}.json"):
        raise ValueError(f"the name {name!r} is taken by the steganalysis detector's card; "
                         "expected another name for a hiding model")
    out_dir.mkdir(parents=True, exist_ok=True)
    folder = _runs.RunDir(run_dir)
    config = folder.config()
    source = run_dir / weights
    if not source.is_file():
        raise ValueError(f"{source} does not exist")
    folder.check_weights(source)
    _files.remove_orphaned_temporaries(out_dir)
    # Read the record of the model this run started from now: exporting under the same
    # name replaces its card.
    parent = _parent_record(config.init_from)
    target = out_dir / f"{name}.weights.h5"
    card_path = out_dir / f"{name}.json"

    def copy_weights(path):
        shutil.copyfile(source, path)

    def make_card(tmp_weights):
        net = _build_and_load(config, tmp_weights, "float32")
        info = {
            "name": name,
            "variant": config.variant,
            "config": config.to_dict(),
            "weights": target.name,
            "sha256": sha256(tmp_weights),
            "size_bytes": os.path.getsize(tmp_weights),
            "parameters": _models.count_params(net),
            "exported_from": {"weights": weights},
            "machine": _models.machine_description(),
        }
        info["training"] = _chain(parent, _training_record(run_dir, config, weights), config)
        info.update(extra or {})
        info.update(_cards.describe(info))
        _check_card(info, card_path.name)
        return info

    return write_weights_and_card(target, card_path, copy_weights, make_card)


def write_weights_and_card(target, card_path, write_weights, make_card):
    """Replace a weights file and its card together, so that no crash leaves a mismatch.

    Both files are made in full beside their places first; only then do they replace
    the files of that name, one rename each, the weights first (a crash between the
    two leaves a card whose hash check fails: never a silent mismatch). Temporary files
    are removed whatever happens (:func:`stegutils.files.replacing_together`).

    ``write_weights(path)`` fills the temporary weights file at ``path``;
    ``make_card(path)`` returns the card (a dict, already checked) for the weights
    written there. Returns ``card_path``.
    """
    with _files.replacing_together([target, card_path],
                                   suffixes=[".tmp.weights.h5", ".tmp"]) as (weights, card):
        write_weights(weights)
        info = make_card(weights)
        card.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return card_path


def _parent_record(init_from):
    """The training record of the model a run was warm-started from, or None.

    ``init_from`` names a run folder (its record is made from the folder, as
    :func:`export` would) or a shipped model (its card's record is used), resolved as
    :func:`load` resolved it when the run started.
    """
    if not init_from:
        return None
    path = pathlib.Path(init_from)
    if path.is_dir():
        parent_config = _runs.load_config(path)
        record = _chain(_parent_record(parent_config.init_from),
                        _training_record(path, parent_config,
                                         _runs.RunDir(path).weights().name),
                        parent_config)
        return {"from": f"runs/{path.name}", "sha256": None, "training": record,
                "config": parent_config.to_dict()}
    try:
        parent_card = card(str(init_from))
    except ValueError:
        return {"from": str(init_from), "sha256": None, "training": None, "config": None}
    return {"from": str(init_from), "sha256": parent_card.get("sha256"),
            "training": parent_card.get("training"), "config": parent_card.get("config")}


def _stage(record, config):
    """One run's share of a chain of warm-started runs (``config``: a dict or None)."""
    stage = {key: record.get(key) for key in ("step", "images_seen", "train_seconds",
                                                "commands")}
    for key in ("steps", "lr", "lr_schedule", "beta", "batch_size", "size"):
        stage[key] = (config or {}).get(key)
    # A config recorded before the cover term had a choice trained its mean squared error.
    stage["cover_loss"] = None if config is None else config.get("cover_loss", "mse")
    return stage


def _chain(parent, record, config):
    """The training record of a run, with the runs it was warm-started from.

    Without a parent it is ``record`` as it is. With one, ``step``, ``images_seen``,
    ``train_seconds`` and ``commands`` are totals over the chain (what it took to make
    these weights from scratch), ``stages`` lists each run's share, oldest first, and
    ``warm_start`` names the model the last run started from and its weights' hash.
    """
    if parent is None:
        return record
    before = parent.get("training")
    if not isinstance(before, dict) or before.get("step") is None:
        # A parent without a usable record: say so rather than under-count.
        return {**record, "stages": None,
                "warm_start": {"from": parent["from"], "sha256": parent["sha256"],
                               "note": "the starting model's training is not recorded"}}
    stages = before.get("stages") or [_stage(before, parent.get("config"))]
    # Stages recorded before the cover term had a choice trained its mean squared error.
    stages = [{**stage, "cover_loss": stage.get("cover_loss", "mse")} for stage in stages]
    this = _stage(record, config.to_dict())

    def total(key):
        values = [before.get(key), record.get(key)]
        return None if None in values else sum(values)

    seconds = total("train_seconds")
    return {**record,
            "step": total("step"),
            "images_seen": total("images_seen"),
            "train_seconds": None if seconds is None else round(seconds, 1),
            "commands": [*before.get("commands", []), *record.get("commands", [])],
            "stages": [*stages, this],
            "warm_start": {"from": parent["from"], "sha256": parent["sha256"]}}


# Options whose value may be a folder, and how a card writes an absolute one.
_PATH_OPTIONS = {"--run-dir": "runs/{}", "--init-from": "runs/{}", "--data": "{}"}


def _portable_argv(argv):
    """The command as a card shows it, without the training machine's absolute paths.

    A card travels with the weights, so an absolute run folder becomes ``runs/NAME``
    (a ``runs`` folder beside the repository) and an absolute photo folder its name.
    """
    def portable(option, value):
        path = pathlib.PurePath(value)
        return _PATH_OPTIONS[option].format(path.name) if path.is_absolute() else value

    out = []
    for index, token in enumerate(argv):
        option, eq, value = token.partition("=")
        if eq and option in _PATH_OPTIONS:
            token = f"{option}={portable(option, value)}"
        elif index > 0 and argv[index - 1] in _PATH_OPTIONS:
            token = portable(argv[index - 1], token)
        out.append(token)
    return out


def _training_record(run_dir, config, weights):
    """What the run folder says about how these weights were made."""
    folder = _runs.RunDir(run_dir)
    history = folder.history()
    split = folder.split()
    step = None
    if weights == "best.weights.h5" and folder.best_path.exists():
        step = folder.best()["step"]
    elif history:
        step = history[-1]["step"]
    # Training time from the logged throughput: each record covers the steps since the
    # one before it. Evaluation pauses and time between resumed sessions are excluded.
    seconds, previous = 0.0, 0
    for record in history:
        if step is not None and record["step"] > step:
            break
        steps_done = max(record["step"] - previous, 0)
        seconds += steps_done * config.batch_size / max(record["images_per_second"], 1e-9)
        previous = record["step"]
    record = {
        "data": config.data,
        "split": "train",
        "validation": folder.validation_sentence(config),
        "step": step,
        "images_seen": None if step is None else step * config.batch_size,
        "train_seconds": round(seconds, 1),
        "commands": [" ".join(_portable_argv(argv)) for argv in folder.commands()],
    }
    if split is not None:
        record["validation_photos"] = split.held_out
    return record
