"""The run folder: what a training run writes, and the only code that reads or writes it.

One experiment is one :class:`Config`, and one run is one folder::

    run_dir/config.json          the Config that made it (written first)
    run_dir/split.json           which training photos were held out for validation
    run_dir/history.jsonl        one line of losses and PSNRs per logged step
    run_dir/checkpoints/         the last few full checkpoints (weights, Adam, step)
    run_dir/best.weights.h5      the weights with the best validation loss so far
    run_dir/best.json            that validation result and its step
    run_dir/final.weights.h5     the weights at the end of the last run
    run_dir/hashes.json          the SHA-256 of each weights file above, checked on load
    run_dir/commands.jsonl       the command lines that trained in it (``stegutils train``)
    run_dir/lock                 the id of the process training in it (one at a time)

:class:`RunDir` names those files and holds the rules about them: every file is written
atomically (:mod:`stegutils.files`), a run stands for its best weights, else its final
ones (:meth:`RunDir.weights`), a weights file is checked against the hash recorded when
it was written, one process at a time holds the folder (:func:`run_folder_lock`). The
rule that holds validation photos out of training lives here too, with the sentence
that says what it did (:class:`ValidationSplit`), so that a model card describes the
split its run made. :mod:`stegutils.train` writes run folders through this module;
:mod:`stegutils.pretrained` and the command line read them through it, without
importing the training loop.

Introduced in chapter 5 (Training).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import pathlib
import re
import shutil
import sys
import threading

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None

import numpy as np

from stegutils import files as _files

__all__ = [
    "Config",
    "CHOICES",
    "TrainingError",
    "RunDir",
    "ValidationSplit",
    "split_validation",
    "load_config",
    "read_history",
    "check_weights",
    "write_json_atomic",
    "append_line_atomic",
    "json_line",
    "run_folder_lock",
]


class TrainingError(RuntimeError):
    """Training could not go on; the message is one line: what happened, what to do.

    Raised for a loss that is not finite, out of memory, a full disk, a damaged
    checkpoint index, or a run folder another process is training in. The run folder is
    left as its last checkpoint had it (nothing half-written), ready for ``--resume``.
    """


# -------------------------------------------------------------------------------- Config


@dataclasses.dataclass
class Config:
    """Everything that decides what a training run does, saved as ``config.json``.

    Attributes
    ----------
    variant : str
        A registered model variant (:func:`stegutils.models.variant_names`).
    variant_options : dict
        Options for the variant's builder (empty: its defaults).
    size : int
        Side of the square training crops, in pixels.
    beta : float
        Weight of the secret term in the loss.
    noise : float
        Standard deviation of the Gaussian noise added to containers during training
        (on the ``[0, 1]`` scale); 0 for none.
    quantize : bool
        Round containers to 8 bits during training (straight-through gradient).
    lr : float
        Adam's learning rate (the peak, when a schedule is used).
    lr_schedule : {"constant", "cosine"}
        ``"cosine"`` decays the rate to 1% of ``lr`` over ``steps``.
    batch_size : int
        Pairs per step (across all replicas when a strategy is used).
    steps : int
        Total training steps.
    seed : int
        Seeds the weights, the data order and the noise.
    precision : str
        ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``
        (:func:`stegutils.models.resolve_precision`).
    data : str
        ``"builtin"`` (photos the dependencies ship), ``"bsds500"``, or a folder.
    pairs : {"random-crop", "seed-recipe"}
        ``"random-crop"``: every step draws new crops of ``size`` from the training
        photos. ``"seed-recipe"``: the blog post's 100 photos resized whole to ``size``
        (80 in the post), 50 fixed secret/cover pairs.
    val_photos : int
        Training photos set aside (never trained on) to choose the best checkpoint (at
        most a fifth of them: :class:`ValidationSplit`).
    checkpoint_every, log_every, eval_every : int
        Intervals in steps.
    keep_checkpoints : int
        How many recent checkpoints to keep.
    clipnorm : float or None
        Clip each step's gradients to this global norm (``None``: no clipping); the
        invertible variant (chapter 9) needs it to train stably.
    channel : dict or None
        Train through a simulated channel (:class:`stegutils.channel.ChannelSpec`'s
        fields: differentiable JPEG, resizing, noise and crops, strengthening over the
        first ``ramp`` steps) instead of ``noise`` and ``quantize``; ``{}`` takes every
        default. ``None``: no channel (chapter 10).
    cover_loss : {"mse", "decibels"}
        How the cover term weighs the pairs of a batch. ``"mse"``: the mean squared
        error, as the paper trains. ``"decibels"``: the same value, with the gradient of
        the pairs' mean cover *PSNR* (each pair's error weighed by the batch's mean error
        over its own, held constant), which is what the book reports: a pair whose
        container is already close to its cover counts as much, in decibels, as one
        that is far (chapter 10).
    init_from : str or None
        Start from the weights of a shipped model (by name) or of a run folder instead
        of a fresh initialisation (same variant and options); the optimizer starts
        afresh. ``None``: a fresh start.

    Introduced in chapter 5 (Training).
    """

    variant: str = "fast"
    variant_options: dict = dataclasses.field(default_factory=dict)
    size: int = 64
    beta: float = 0.75
    noise: float = 0.0
    quantize: bool = True
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    batch_size: int = 8
    steps: int = 1000
    seed: int = 0
    precision: str = "auto"
    data: str = "builtin"
    pairs: str = "random-crop"
    val_photos: int = 10
    checkpoint_every: int = 500
    log_every: int = 50
    eval_every: int = 1000
    keep_checkpoints: int = 3
    init_from: str | None = None
    clipnorm: float | None = None
    channel: dict | None = None
    cover_loss: str = "mse"

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that is out of range."""
        for name in _CHECK_ORDER:
            setattr(self, name, self.check(name, getattr(self, name)))

    @staticmethod
    def check(name: str, value):
        """Check one field's value; return it (``channel`` in its full form).

        The one statement of what each field accepts: :meth:`validate` checks every
        field with it, and the command line checks its options with it (the fields
        that take numbers need no TensorFlow for that).

        Raises
        ------
        ValueError
            With a one-line message naming the field and what it got.
        """
        if name == "variant":
            from stegutils import models as _models

            if value not in _models.VARIANTS:
                raise ValueError(
                    f"variant must be one of {_models.variant_names()}, got {value!r}")
        elif name in _POSITIVE_INTS:
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        elif name == "val_photos":
            if not (isinstance(value, int) and value >= 0):
                raise ValueError(f"val_photos must be a non-negative integer, got {value!r}")
        elif name in ("beta", "lr"):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        elif name == "noise":
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"noise must be >= 0, got {value!r}")
        elif name in CHOICES:
            if value not in CHOICES[name]:
                raise ValueError(f"{name} must be {' or '.join(map(repr, CHOICES[name]))}, "
                                 f"got {value!r}")
        elif name == "clipnorm":
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ValueError(f"clipnorm must be a positive number or None, got {value!r}")
        elif name == "precision":
            from stegutils import models as _models

            _models.resolve_precision(value)  # raises for a bad name
        elif name == "channel" and value is not None:
            from stegutils import channel as _channel

            value = _channel.ChannelSpec.from_dict(value).to_dict()
        return value

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        """Build a Config from a dict, rejecting unknown keys with their names."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config field(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)

    @classmethod
    def default(cls, name: str):
        """The default value of the field ``name`` (for the command line's help)."""
        return cls.__dataclass_fields__[name].default


_POSITIVE_INTS = ("size", "batch_size", "steps", "checkpoint_every", "log_every",
                  "eval_every", "keep_checkpoints")
#: The names each field of these takes (the command line offers the same choices).
CHOICES = {"lr_schedule": ("constant", "cosine"), "pairs": ("random-crop", "seed-recipe"),
           "cover_loss": ("mse", "decibels")}
# The order Config.validate checks the fields in (the first bad one is named).
_CHECK_ORDER = ("variant", *_POSITIVE_INTS, "val_photos", "beta", "noise", "lr",
                "lr_schedule", "pairs", "cover_loss", "clipnorm", "precision", "channel")


# ------------------------------------------------------------------------- JSON files


def json_line(record) -> str:
    """One strict JSON line: a value that is not finite is written as null, not NaN."""
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item) for item in value]
        return value
    return json.dumps(clean(record), allow_nan=False)


def write_json_atomic(path, payload) -> None:
    """Write ``payload`` as JSON to ``path`` atomically (temporary file, then rename)."""
    _files.write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def append_line_atomic(path, line: str) -> None:
    """Add one line to a small text file, atomically (the file is rewritten whole)."""
    path = pathlib.Path(path)
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    if before and not before.endswith("\n"):
        before += "\n"
    _files.write_text_atomic(path, before + line.rstrip("\n") + "\n")


def _read_json(path):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None


def _note(message):
    print(f"note: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ validation split


#: How the photos of each data source are ordered when the last ones are held out.
_ORDER = {"builtin": "in the order of stegutils.data.BUILTIN_PHOTOS"}
_SORTED = "sorted by name"


@dataclasses.dataclass(frozen=True)
class ValidationSplit:
    """Which training photos a run held out to choose its best checkpoint.

    The rule: the last ``min(val_photos, len(photos) // 5)`` photos, in the order the
    data source gives them (sorted by name for BSDS500 and a folder, the order of
    :data:`stegutils.data.BUILTIN_PHOTOS` for the built-in set), so that at least four
    fifths of the photos are trained on. Photos given to the trainer apart
    (``val_images``) are described as given.

    Attributes
    ----------
    held_out : int
        Photos held out (0: no validation, no best checkpoint).
    total : int
        The training photos before the split.
    order : str or None
        How the photos were ordered ("sorted by name", ...); ``None`` for validation
        photos given apart from the training photos.

    Introduced in chapter 5 (Training).
    """

    held_out: int
    total: int
    order: str | None

    @staticmethod
    def order_of(data: str) -> str:
        """How the data source ``data`` (a :class:`Config`'s) orders its photos."""
        return _ORDER.get(str(data), _SORTED)

    @classmethod
    def of(cls, photos, val_photos: int, *, order: str = _SORTED):
        """Split ``photos`` by the rule: ``(train, validation, split)``."""
        photos = list(photos)
        count = min(int(val_photos), len(photos) // 5)
        split = cls(held_out=count, total=len(photos), order=order)
        if not count:
            return photos, [], split
        return photos[:-count], photos[-count:], split

    def sentence(self) -> str | None:
        """What the split did, for a model card (``None`` when nothing was held out)."""
        if not self.held_out:
            return None
        photos = "photo" if self.held_out == 1 else "photos"
        if self.order is None:
            return (f"{self.held_out} validation {photos} given apart from the "
                    f"{self.total} training photos chose the best checkpoint")
        return (f"the last {self.held_out} training {photos} ({self.order}), held out "
                "from training, chose the best checkpoint")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values) -> "ValidationSplit":
        if not isinstance(values, dict) or not {"held_out", "total", "order"} <= set(values):
            raise ValueError(f"a validation split record must be a JSON object with "
                             f"held_out, total and order, got {values!r:.80}")
        return cls(int(values["held_out"]), int(values["total"]), values["order"])


def split_validation(photos, val_photos: int):
    """The training photos and the validation photos held out of them: the last
    ``val_photos`` (at most a fifth of them), in the order given (sorted by name for a
    folder or BSDS500). Returns ``(train, validation)``; :class:`ValidationSplit` says
    the same in words.

    Introduced in chapter 5 (Training).
    """
    train, validation, _ = ValidationSplit.of(photos, val_photos)
    return train, validation


# ---------------------------------------------------------------------- the run folder


_CHECKPOINT_TEMPORARY = re.compile(r"^(ckpt-\d+_temp.*|checkpoint\.tmp[0-9a-f]*|.*\.tempstate\d+)$")


class RunDir:
    """The files of one run folder (see the module's docstring), by name.

    Parameters
    ----------
    path : path
        The folder (it need not exist yet).

    Introduced in chapter 5 (Training).
    """

    #: The weights a run stands for, in order of preference.
    WEIGHTS = ("best.weights.h5", "final.weights.h5")

    def __init__(self, path):
        self.path = pathlib.Path(path)

    def __repr__(self):
        return f"RunDir({str(self.path)!r})"

    def __truediv__(self, name):
        return self.path / name

    config_path = property(lambda self: self.path / "config.json")
    split_path = property(lambda self: self.path / "split.json")
    history_path = property(lambda self: self.path / "history.jsonl")
    checkpoints = property(lambda self: self.path / "checkpoints")
    best_weights = property(lambda self: self.path / "best.weights.h5")
    best_path = property(lambda self: self.path / "best.json")
    final_weights = property(lambda self: self.path / "final.weights.h5")
    hashes_path = property(lambda self: self.path / "hashes.json")
    commands_path = property(lambda self: self.path / "commands.jsonl")
    lock_path = property(lambda self: self.path / "lock")

    def is_run(self) -> bool:
        """Whether the folder holds a run (its ``config.json``)."""
        return self.config_path.exists()

    # ------------------------------------------------------------------------ config
    def config(self) -> Config:
        """The run's :class:`Config`.

        Raises
        ------
        ValueError
            If the folder or its config is missing or not valid.
        """
        if not self.config_path.is_file():
            raise ValueError(f"{self.path} is not a run folder: it has no config.json")
        try:
            values = json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"{self.config_path} is not valid JSON: {error}") from None
        return Config.from_dict(values)

    def write_config(self, config: Config) -> None:
        write_json_atomic(self.config_path, config.to_dict())

    # ------------------------------------------------------------ validation split
    def split(self) -> ValidationSplit | None:
        """The validation split the run made, or ``None`` for a run that did not record
        it (written before runs did)."""
        if not self.split_path.is_file():
            return None
        return ValidationSplit.from_dict(_read_json(self.split_path))

    def write_split(self, split: ValidationSplit) -> None:
        write_json_atomic(self.split_path, split.to_dict())

    def validation_sentence(self, config: Config | None = None) -> str | None:
        """The model card's sentence for the run's validation split.

        From the recorded split; for a run that recorded none, from the rule and the
        config alone (which cannot know how many photos the data source had).
        """
        split = self.split()
        if split is not None:
            return split.sentence()
        config = config or self.config()
        if not config.val_photos:
            return None
        return (f"the last {config.val_photos} training photos, at most a fifth of them "
                f"({ValidationSplit.order_of(config.data)}), held out from training, "
                "chose the best checkpoint")

    # ------------------------------------------------------------------------ history
    def history(self) -> list[dict]:
        """The logged records in ``history.jsonl``, in order (empty if none)."""
        if not self.history_path.exists():
            return []
        records = []
        for line in self.history_path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut off by a kill: everything after it is lost anyway
        return records

    def truncate_history(self, step: int) -> None:
        """Keep the records up to ``step`` (after a resume they will be logged again)."""
        kept = [r for r in self.history() if r["step"] <= step]
        _files.write_text_atomic(self.history_path, "".join(json_line(r) + "\n" for r in kept))

    def append_history(self, record: dict) -> None:
        """Add one record; a line that cannot be written whole is taken back."""
        with open(self.history_path, "a", encoding="utf-8") as handle:
            size = handle.tell()
            try:
                handle.write(json_line(record) + "\n")
                handle.flush()
            except BaseException:
                with contextlib.suppress(OSError):
                    handle.truncate(size)
                raise

    def best(self) -> dict | None:
        """The validation record of the best weights (``best.json``), or ``None``."""
        return _read_json(self.best_path) if self.best_path.exists() else None

    def write_best(self, record: dict) -> None:
        write_json_atomic(self.best_path, record)

    # ------------------------------------------------------------------------ weights
    def weights(self) -> pathlib.Path:
        """The weights the run stands for: its best, else its final ones.

        Raises
        ------
        ValueError
            If it holds neither yet.
        """
        for name in self.WEIGHTS:
            if (self.path / name).is_file():
                return self.path / name
        raise ValueError(
            f"{self.path} holds no weights yet ({' or '.join(self.WEIGHTS)}); "
            "train it first"
        )

    def hashes(self) -> dict:
        """``hashes.json``: file name -> ``{"sha256": ..., "replacing": ...}``."""
        if not self.hashes_path.exists():
            return {}
        hashes = _read_json(self.hashes_path)
        if not isinstance(hashes, dict):
            raise ValueError(f"{self.hashes_path} must hold a JSON object of file name -> hash")
        return hashes

    def check_weights(self, weights) -> None:
        """Check a weights file of the run against the hash the run recorded.

        Raises
        ------
        ValueError
            If the file's SHA-256 is not the one recorded when it was written. A folder
            written before runs recorded hashes has no record, and passes.
        """
        weights = pathlib.Path(weights)
        record = self.hashes().get(weights.name)
        if record is None:
            return
        accepted = {record.get("sha256"), record.get("replacing")} - {None}
        actual = _files.sha256(weights)
        if actual not in accepted:
            raise ValueError(
                f"the weights file {weights.name} in {self.path} does not match the hash its "
                f"run recorded when it wrote it (SHA-256 {actual[:12]}..., expected "
                f"{record.get('sha256', '?')[:12]}...): it is corrupt or was changed"
            )

    def save_weights(self, net, path) -> None:
        """Write ``net``'s weights to ``path`` atomically, recording their hash.

        The record is written twice: first naming the new hash with the old one it
        replaces, then the new one alone, so that a crash at any moment leaves a file
        whose hash is on record.
        """
        path = pathlib.Path(path)
        with _files.replacing(path, suffix=".tmp.weights.h5") as temporary:
            net.save_weights(temporary)
            digest = _files.sha256(temporary)
            hashes = self.hashes()
            previous = hashes.get(path.name, {}).get("sha256")
            if previous and previous != digest:
                hashes[path.name] = {"sha256": digest, "replacing": previous}
                write_json_atomic(self.hashes_path, hashes)
        hashes[path.name] = {"sha256": digest}
        write_json_atomic(self.hashes_path, hashes)

    # --------------------------------------------------------------------- commands
    def record_command(self, argv, *, step: int, changed: dict | None = None) -> None:
        """Remember a command line that trains in the run, for its model card."""
        entry = {"argv": list(argv), "step": step}
        if changed:
            entry["changed"] = changed
        append_line_atomic(self.commands_path, json.dumps(entry))

    def commands(self) -> list[list[str]]:
        """The recorded command lines (each a list of words), oldest first.

        Raises
        ------
        ValueError
            For a line that is not a JSON object with an ``argv`` list.
        """
        if not self.commands_path.exists():
            return []
        commands = []
        lines = self.commands_path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                commands.append(list(json.loads(line)["argv"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                cut = " (cut off?)" if number == len(lines) else ""
                raise ValueError(
                    f"{self.commands_path} line {number}{cut} is not a JSON object with an "
                    "\"argv\" list of the command's words; fix or remove that line"
                ) from None
        return commands

    # ------------------------------------------------------------ lock, temporaries
    def lock(self):
        """:func:`run_folder_lock` of this folder."""
        return run_folder_lock(self.path)

    def remove_temporaries(self) -> list[str]:
        """Remove the temporary files an interrupted run left (call with the lock held).

        With the folder's lock held no other process writes there, so every temporary
        file in it is an orphan: ``.NAME.*.tmp`` and ``.NAME.*.tmp.weights.h5`` beside
        the run's files, and TensorFlow's ``ckpt-N_temp`` folders and
        ``checkpoint.tmp...`` files.
        """
        removed = []
        for path in self.path.glob(".*"):
            if path.is_file() and (path.name.endswith(".tmp") or ".tmp." in path.name):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path.name)
        if self.checkpoints.is_dir():
            for path in self.checkpoints.iterdir():
                if not _CHECKPOINT_TEMPORARY.match(path.name):
                    continue
                with contextlib.suppress(OSError):
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
                    removed.append(f"checkpoints/{path.name}")
        return removed


def load_config(run_dir) -> Config:
    """Read the ``config.json`` of a run folder (:meth:`RunDir.config`)."""
    return RunDir(run_dir).config()


def read_history(run_dir) -> list[dict]:
    """The logged records in a run folder's ``history.jsonl`` (:meth:`RunDir.history`)."""
    return RunDir(run_dir).history()


def check_weights(run_dir, weights) -> None:
    """Check a weights file of a run folder against the hash the run recorded
    (:meth:`RunDir.check_weights`).

    Parameters
    ----------
    run_dir : path
        The run folder.
    weights : path
        One of its weights files (``best.weights.h5``, ``final.weights.h5``).
    """
    RunDir(run_dir).check_weights(weights)


# ------------------------------------------------------------------ the run folder lock


_HELD_LOCKS: dict = {}  # resolved run folder -> [file descriptor, depth]
_HELD_LOCKS_GUARD = threading.Lock()


def _lock_holder(path):
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def run_folder_lock(run_dir):
    """Hold the lock of a run folder: only one process trains in a folder at a time.

    The lock is ``run_dir/lock``, locked with ``fcntl.flock`` (the system releases it
    when its process ends, however it ends) and holding the process id. A lock file left
    by a process that no longer runs is taken over, with a note; one held by a running
    process is refused with a :class:`TrainingError` naming it. Re-entrant within a
    process.
    """
    run_dir = pathlib.Path(run_dir)
    key = str(run_dir.resolve())
    with _HELD_LOCKS_GUARD:
        if key in _HELD_LOCKS:
            _HELD_LOCKS[key][1] += 1
            held = True
        else:
            held = False
    if held:
        try:
            yield
        finally:
            with _HELD_LOCKS_GUARD:
                _HELD_LOCKS[key][1] -= 1
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _lock_holder(path)
                who = f"process {holder}" if holder else "another process"
                raise TrainingError(
                    f"{run_dir} is in use: {who} is training in it (its lock file is "
                    f"{path}); wait for it to finish or stop it, then try again"
                ) from None
        previous = _lock_holder(path)
        if previous and previous != os.getpid():
            state = ("no longer running" if not _files.process_running(previous)
                     else "no longer holding it")
            _note(f"taking over the lock of {run_dir} from process {previous}, which is "
                  f"{state} (it was stopped without releasing it)")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    with _HELD_LOCKS_GUARD:
        _HELD_LOCKS[key] = [fd, 1]
    try:
        yield
    finally:
        with _HELD_LOCKS_GUARD:
            del _HELD_LOCKS[key]
        # Empty (not delete) the file before unlocking: deleting a locked file lets a
        # process that opened it just before lock a file no one else sees.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)
