"""The command line: ``stegutils hide``, ``reveal``, ``detect``, ``train``, ``evaluate``,
``export`` and ``models``.

Also available as ``python -m stegutils``. Every command has ``--help``. Errors are one
line on stderr starting with ``error:`` and a non-zero exit status; ``--debug`` shows the
traceback instead. ``train`` stopped with Ctrl-C saves a checkpoint and exits with status
130; ``train --resume`` refuses options that differ from the run's own unless
``--allow-changes`` is given, and records what changed in the run's ``commands.jsonl``.
TensorFlow's start-up lines stay off stderr unless ``--debug`` is given. Images above
:data:`stegutils.tiling.TILED_ABOVE` pixels are hidden and revealed in tiles (the same
result as one pass, in memory that does not grow with the image), and a cover narrower
than the model's receptive field gets a warning.

``hide`` and ``reveal`` also take folders (``--cover-dir``, ``--secret-dir``,
``--out-dir``; covers and secrets pair by file name), load the model once, show a
progress bar, report a file that fails on one line and go on with the others (exit
status 1 if any failed). Inputs are never overwritten and every output is written to a
temporary file first, then renamed. ``--precision`` chooses float32, bfloat16 or
``auto``. ``detect`` scores images with the shipped steganalysis detector
(:mod:`stegutils.detection`), and ``reveal`` warns when a container scores as a clean
photo.

Introduced in chapter 5 (Training).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import sys

__all__ = ["main", "build_parser"]

_PNG_SUFFIXES = {".png"}
#: zlib's level for the PNG files the command line writes: its fastest. A large photo's
#: file is written faster than at Pillow's default, slightly larger, and its pixels are
#: the same (PNG is lossless).
_PNG_LEVEL = 1
_LOSSY_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".heic", ".avif"}


class CLIError(Exception):
    """An error to report as one line, without a traceback."""


# --------------------------------------------------------------------------- helpers


def _same_file(a: pathlib.Path, b: pathlib.Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _check_output(out: pathlib.Path, inputs, *, kind: str, png_only: bool):
    for source in inputs:
        if _same_file(pathlib.Path(source), out):
            raise CLIError(f"--out {out} is one of the input files; choose another name "
                           "(inputs are never overwritten)")
    suffix = out.suffix.lower()
    if png_only and suffix in _LOSSY_SUFFIXES:
        raise CLIError(
            f"refusing to write the {kind} as {suffix}: lossy compression destroys the "
            "hidden secret; use a .png file name"
        )
    if png_only and suffix not in _PNG_SUFFIXES:
        raise CLIError(f"the {kind} must be written as a .png file, got {out.name!r}")
    if not out.parent.exists():
        raise CLIError(f"the folder {out.parent} for --out does not exist")


def _load_model(name, precision="float32"):
    from stegutils import pretrained

    net, card = pretrained.load(name, precision=precision)
    return net, card


def _print(message, *, quiet=False):
    if not quiet:
        print(message, file=sys.stderr)


def _tiled(image):
    from stegutils import tiling

    return image.shape[0] * image.shape[1] > tiling.TILED_ABOVE


def _read(path):
    """An image file as uint8 RGB: a quarter of float32's memory for a large photo."""
    from stegutils import data

    return data.load_image(path, dtype="uint8")


def _hide(net, cover, secret, *, quiet, strength=1.0, refine_steps=0):
    """Whole-image inference for ordinary sizes; tiles (same result, flat memory) above.
    With ``refine_steps``, the container is then refined through the channel
    (:func:`stegutils.refine.refine_tiled`, a tile at a time at every size)."""
    from stegutils import data

    if refine_steps:
        from stegutils import refine

        return refine.refine_tiled(net, data.to_uint8(cover), data.to_uint8(secret),
                                   spec=refine.RefineSpec(steps=refine_steps),
                                   progress=not quiet)
    if not _tiled(cover):
        return net.hide(cover=data.to_float(cover), secret=data.to_float(secret),
                        strength=strength)
    from stegutils import tiling

    cover8, secret8 = data.to_uint8(cover), data.to_uint8(secret)
    del cover, secret
    return tiling.hide(net, cover=cover8, secret=secret8, progress=not quiet,
                       strength=strength)


def _reveal(net, container, *, quiet):
    from stegutils import data

    if not _tiled(container):
        return net.reveal(data.to_float(container))
    from stegutils import tiling

    return tiling.reveal(net, data.to_uint8(container), progress=not quiet)


def _warn_if_small(net, shape, *, say):
    """A cover narrower than the hiding path's receptive field hides poorly: say so."""
    from stegutils import models

    field = models.receptive_field(net).get("prep+hide", 0)
    height, width = shape[:2]
    if min(height, width) < field:
        say(f"warning: the cover is {width}x{height}, narrower than the model's "
            f"receptive field ({field} px); the secret will come back poorly. Use a "
            f"cover at least {field}x{field}")


def _read_pair(cover_path, secret_path, *, say):
    """Read a cover and a secret (uint8), the secret resized to the cover's size."""
    from stegutils import data

    cover = _read(cover_path)
    secret = _read(secret_path)
    if secret.shape != cover.shape:
        say(f"notice: the secret is {secret.shape[1]}x{secret.shape[0]} and the cover "
            f"{cover.shape[1]}x{cover.shape[0]}; resizing the secret to the cover's size")
        secret = data.fit_secret(secret, cover.shape[:2])
        if _tiled(cover):
            secret = data.to_uint8(secret)
    return cover, secret


def _hide_and_save(net, cover, secret, out, *, say, progress, strength=1.0, refine_steps=0):
    """Hide, then write the container atomically (temporary file, then rename)."""
    from stegutils import data

    _warn_if_small(net, cover.shape, say=say)
    container = _hide(net, cover, secret, quiet=not progress, strength=strength,
                      refine_steps=refine_steps)
    data.save_image(out, container, compress_level=_PNG_LEVEL)


# ------------------------------------------------------------------------- folder mode


class _Detector:
    """The reveal's check: warns when a container scores as a photo with no secret.

    Only for the models the shipped detector learnt the containers of (its card lists
    their weights' hashes); loaded once, on first use.
    """

    def __init__(self, model_card, *, enabled):
        self.enabled = enabled
        self.model_card = model_card
        self._loaded = None

    def _detector(self):
        if self._loaded is None:
            from stegutils import detection

            try:
                model, info = detection.load()
            except ValueError as error:
                self._loaded = (None, None, f"note: no check for a hidden secret: {error}")
            else:
                hashes = {entry.get("sha256") for entry in info.get("models", [])}
                known = self.model_card.get("sha256") in hashes
                self._loaded = (model if known else None, info, None)
        return self._loaded

    def check(self, image, *, say):
        if not self.enabled:
            return
        from stegutils import detection

        model, info, problem = self._detector()
        if problem:
            say(problem)
            self._loaded = (None, info, None)  # said once
            return
        if model is None:
            return
        value = detection.score(model, image)
        if detection.verdict(value, info["threshold"]) == "clean":
            say(f"warning: the container scores {value:.2f} on the steganalysis detector (a "
                f"container scores {info['threshold']:.2f} or more): it looks like a photo "
                "with no secret, so what was revealed is likely not a secret (written anyway)")


def _list_images(folder, option):
    """``{stem: path}`` of the images in ``folder``, sorted; other files are named."""
    from stegutils import data

    folder = pathlib.Path(folder)
    if not folder.exists():
        raise CLIError(f"{option} {folder}: no such folder; expected a folder of images")
    if not folder.is_dir():
        raise CLIError(f"{option} {folder} is a file; expected a folder of images")
    images, others = {}, []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue  # hidden files, and the temporary files of saves in progress
        if not path.is_file() or path.suffix.lower() not in data.IMAGE_EXTENSIONS:
            others.append(path.name + ("/" if path.is_dir() else ""))
            continue
        if path.stem in images:
            raise CLIError(f"{option} {folder} holds two images named {path.stem!r} "
                           f"({images[path.stem].name} and {path.name}); expected one "
                           "image per name")
        images[path.stem] = path
    if not images:
        raise CLIError(f"{option} {folder} holds no images; expected files ending in "
                       f"{', '.join(data.IMAGE_EXTENSIONS)}")
    if others:
        # Said even with --quiet: nothing in a folder is left out without a word.
        what = ("entry that is not an image by its extension" if len(others) == 1 else
                "entries that are not images by their extension")
        print(f"note: {option} {folder}: skipping {len(others)} {what}: {_names(others)}",
              file=sys.stderr)
    return images


def _names(names, most=4):
    names = [str(n) for n in names]
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _pair_by_name(covers, secrets):
    """The pairs of two ``{stem: path}`` maps: the same stem in both, sorted by it."""
    if covers.keys() == secrets.keys():
        return [(stem, covers[stem], secrets[stem]) for stem in sorted(covers)]
    lonely_covers = sorted(covers.keys() - secrets.keys())
    lonely_secrets = sorted(secrets.keys() - covers.keys())
    missing = []
    if lonely_covers:
        missing.append(f"no secret named {_names(lonely_covers)}")
    if lonely_secrets:
        missing.append(f"no cover named {_names(lonely_secrets)}")
    counts = (f"--cover-dir has {len(covers)} images and --secret-dir {len(secrets)}"
              if len(covers) != len(secrets) else
              f"--cover-dir and --secret-dir have {len(covers)} images each, but their "
              "names differ")
    raise CLIError(f"{counts}; expected one secret per cover with the same name (the file "
                   f"name without its extension): {'; '.join(missing)}")


def _check_out_dir(out_dir, inputs, outputs):
    """Refuse an out dir that holds an input, and any output that is an input."""
    input_dirs = {pathlib.Path(p).parent.resolve() for p in inputs}
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out-dir {out_dir} is a file; expected a folder")
    if out_dir.resolve() in input_dirs or any(_same_file(d, out_dir) for d in input_dirs
                                                if out_dir.exists()):
        raise CLIError(f"--out-dir {out_dir} holds input images; choose another folder "
                       "(inputs are never overwritten)")
    for out in outputs:
        for source in inputs:
            if _same_file(pathlib.Path(source), out):
                raise CLIError(f"{out} would overwrite the input {source}; choose another "
                               "--out-dir (inputs are never overwritten)")
    if not out_dir.exists():
        if not out_dir.parent.exists():
            raise CLIError(f"the folder {out_dir.parent} for --out-dir does not exist")
        out_dir.mkdir()


def _run_each(items, work, *, what, unit, quiet):
    """Run ``work(item, say)`` on each ``(label, ...)`` item with a progress bar.

    A failure with an expected error is reported on one line naming the item, and the
    others go on. Returns the labels of those that failed.
    """
    from tqdm import tqdm

    failed = []
    bar = tqdm(items, desc=what, unit=unit, file=sys.stderr, disable=quiet, leave=False,
               dynamic_ncols=True)

    def say(message):
        if not quiet or message.startswith("error"):
            tqdm.write(message, file=sys.stderr)

    for item in bar:
        label = item[0]
        try:
            work(item, lambda message, label=label: say(
                message.replace(": ", f": {label}: ", 1) if ": " in message else message))
        except (Exception, MemoryError) as error:
            if not (_expected(error) or isinstance(error, MemoryError)):
                raise
            text = str(error).splitlines()[0] if str(error) else type(error).__name__
            if isinstance(error, MemoryError):
                text = "out of memory: the image is too large for this machine"
            failed.append(label)
            say(f"error: {label}: {text}")
    bar.close()
    return failed


def _finish(failed, total, done_message, *, quiet):
    if failed:
        print(f"error: {len(failed)} of {total} failed ({_names(failed)}); the others "
              "were written", file=sys.stderr)
        return 1
    _print(done_message, quiet=quiet)
    return 0


# -------------------------------------------------------------------------- commands


def _hide_mode(args):
    files = {"--cover": args.cover, "--secret": args.secret, "--out": args.out}
    folders = {"--cover-dir": args.cover_dir, "--secret-dir": args.secret_dir,
               "--out-dir": args.out_dir}
    one = "--cover, --secret and --out for one pair"
    many = "--cover-dir, --secret-dir and --out-dir for folders"
    if any(folders.values()) and any(files.values()):
        raise CLIError(f"give {one}, or {many}; not both")
    chosen = folders if any(folders.values()) else files
    missing = [option for option, value in chosen.items() if not value]
    if missing:
        raise CLIError(f"hide needs {one if chosen is files else many}; missing "
                       f"{' and '.join(missing)}")
    return "folders" if chosen is folders else "files"


def _cmd_hide(args):
    if args.refine and args.strength != 1.0:
        raise CLIError("give --refine or --strength, not both: refining chooses the "
                       "container's strength itself, pixel by pixel")
    if _hide_mode(args) == "folders":
        return _hide_folders(args)
    out = pathlib.Path(args.out)
    _check_output(out, [args.cover, args.secret], kind="container", png_only=True)
    for option, path in (("--cover", args.cover), ("--secret", args.secret)):
        if pathlib.Path(path).is_dir():
            raise CLIError(f"{option} {path} is a directory; expected an image file (for "
                           "folders of images, use --cover-dir, --secret-dir and --out-dir)")

    def say(message):
        _print(message, quiet=args.quiet)

    cover, secret = _read_pair(args.cover, args.secret, say=say)
    net, card = _load_model(args.model, args.precision)
    _hide_and_save(net, cover, secret, out, say=say, progress=not args.quiet,
                   strength=args.strength, refine_steps=args.refine)
    _print(f"wrote {out} (model {card.get('name', args.model)}{_strength_note(args)})",
           quiet=args.quiet)


def _hide_folders(args):
    covers = _list_images(args.cover_dir, "--cover-dir")
    secrets = _list_images(args.secret_dir, "--secret-dir")
    pairs = _pair_by_name(covers, secrets)
    out_dir = pathlib.Path(args.out_dir)
    items = [(stem, cover, secret, out_dir / f"{stem}.png") for stem, cover, secret in pairs]
    _check_out_dir(out_dir, [*covers.values(), *secrets.values()],
                   [item[3] for item in items])
    net, card = _load_model(args.model, args.precision)

    def work(item, say):
        _, cover_path, secret_path, out = item
        cover, secret = _read_pair(cover_path, secret_path, say=say)
        _hide_and_save(net, cover, secret, out, say=say, progress=False,
                       strength=args.strength, refine_steps=args.refine)

    failed = _run_each(items, work, what="hide", unit="pair", quiet=args.quiet)
    return _finish(failed, len(items), f"wrote {len(items) - len(failed)} containers to "
                   f"{out_dir} (model {card.get('name', args.model)}{_strength_note(args)})",
                   quiet=args.quiet)


def _strength_note(args):
    if args.refine:
        return f", refined for {args.refine} step{'s' if args.refine != 1 else ''}"
    return "" if args.strength == 1.0 else f", residual strength {args.strength:g}"


def _read_container(container_path, *, say):
    if pathlib.Path(container_path).suffix.lower() in _LOSSY_SUFFIXES:
        say("warning: the container is a lossy file; if it was saved with lossy "
            "compression the secret is damaged")
    return _read(container_path)


def _reveal_and_save(net, checker, container, out, *, say, progress):
    from stegutils import data

    revealed = _reveal(net, container, quiet=not progress)
    data.save_image(out, revealed, compress_level=_PNG_LEVEL)
    del revealed
    checker.check(container, say=say)


def _cmd_reveal(args):
    from stegutils import data

    if bool(args.out) == bool(args.out_dir):
        raise CLIError("give --out FILE for one container, or --out-dir FOLDER for several "
                       "(or a folder of them)" if not args.out else
                       "give --out or --out-dir, not both")
    if args.out:
        if len(args.containers) != 1 or pathlib.Path(args.containers[0]).is_dir():
            raise CLIError(f"--out writes one revealed secret, but {len(args.containers)} "
                           f"{'containers were' if len(args.containers) > 1 else 'folder was'}"
                           " given; expected one container file, or --out-dir FOLDER")
        container = args.containers[0]
        out = pathlib.Path(args.out)
        _check_output(out, [container], kind="revealed secret", png_only=False)
        if out.suffix.lower() not in data.IMAGE_EXTENSIONS:
            raise CLIError(f"--out must end in one of {sorted(data.IMAGE_EXTENSIONS)}, "
                           f"got {out.name!r}")

        def say(message):
            _print(message, quiet=args.quiet)

        image = _read_container(container, say=say)
        net, card = _load_model(args.model, args.precision)
        checker = _Detector(card, enabled=not args.quiet)
        _reveal_and_save(net, checker, image, out, say=say, progress=not args.quiet)
        _print(f"wrote {out} (model {card.get('name', args.model)})", quiet=args.quiet)
        return 0
    containers = _expand(args.containers, "reveal")
    out_dir = pathlib.Path(args.out_dir)
    items, seen = [], {}
    for path in containers:
        out = out_dir / f"{path.stem}.png"
        if path.stem in seen:
            raise CLIError(f"{seen[path.stem]} and {path} would both be revealed to {out}; "
                           "expected containers with different names")
        seen[path.stem] = path
        items.append((path.name, path, out))
    _check_out_dir(out_dir, containers, [item[2] for item in items])
    net, card = _load_model(args.model, args.precision)
    checker = _Detector(card, enabled=not args.quiet)

    def work(item, say):
        _, container, out = item
        image = _read_container(container, say=say)
        _reveal_and_save(net, checker, image, out, say=say, progress=False)

    failed = _run_each(items, work, what="reveal", unit="image", quiet=args.quiet)
    return _finish(failed, len(items), f"wrote {len(items) - len(failed)} revealed secrets "
                   f"to {out_dir} (model {card.get('name', args.model)})", quiet=args.quiet)


def _expand(paths, command):
    """Files as given, folders as their images (sorted by name)."""
    found = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            found.extend(_list_images(path, "folder").values())
        else:
            found.append(path)
    return found


def _cmd_detect(args):
    from stegutils import detection

    model, info = detection.load(args.detector)
    threshold = info["threshold"]
    heldout = (info.get("heldout") or {}).get("bsds500_test") or {}
    if heldout.get("auc") is not None:
        _print(f"detector: AUC {heldout['auc']:.3f}, accuracy {heldout['accuracy']:.3f} on "
               f"held-out BSDS500 test crops; 'container' when the score is "
               f"{threshold:.2f} or more", quiet=args.quiet)
    paths = _expand(args.images, "detect")
    items = [(str(path), path) for path in paths]
    rows = []

    def work(item, say):
        label, path = item
        value = detection.score(model, _read(path))
        rows.append({"image": label, "score": value,
                     "verdict": detection.verdict(value, threshold)})
        if not args.json:
            print(f"{value:.3f}  {rows[-1]['verdict']:9}  {label}", flush=True)

    failed = _run_each(items, work, what="detect", unit="image", quiet=True)
    if args.json:
        print(json.dumps({"threshold": threshold, "images": rows,
                          "failed": failed}, indent=2))
    if failed:
        print(f"error: {len(failed)} of {len(items)} could not be scored "
              f"({_names(failed)})", file=sys.stderr)
        return 1
    return 0


def _config_from_args(args):
    from stegutils import runs

    return runs.Config(**_given_config_values(args))


def _resume_config(args, run_dir):
    """The config of the run in ``run_dir``, with the options given on this command line.

    Options that only change how often the run logs, evaluates and saves (and
    ``--steps``) apply silently; any other that differs from the run's config is refused
    unless ``--allow-changes`` is given. Returns ``(config, changed)``, ``changed``
    mapping each changed field to ``[old, new]``.
    """
    from stegutils import runs, train

    config = runs.load_config(run_dir)
    given = _given_config_values(args)
    free = set(train.Trainer.FREE_FIELDS)
    changed = {}
    for field, value in given.items():
        old = getattr(config, field)
        if field not in free and old != value:
            changed[field] = [old, value]
    fixed = [field for field in changed if field in train.Trainer.FIXED_FIELDS]
    listing = ", ".join(f"--{field.replace('_', '-')} {_show(old)} -> {_show(new)}"
                        for field, (old, new) in changed.items())
    if fixed:
        raise CLIError(f"--resume cannot change {', '.join(fixed)} of a run ({listing}); "
                       "start a new --run-dir")
    if changed and not args.allow_changes:
        raise CLIError(f"--resume continues the run with its own settings, but these differ: "
                       f"{listing}; drop them, or add --allow-changes to go on with the new "
                       "values (recorded in commands.jsonl)")
    values = {**config.to_dict(), **given}
    return runs.Config.from_dict(values), changed


def _show(value):
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _given_config_values(args):
    """The Config fields this command line gives, by name (those left out are absent)."""
    from stegutils import runs

    values = {}
    for field in dataclasses.fields(runs.Config):
        value = getattr(args, field.name, None)
        if value is not None:
            values[field.name] = value
    if getattr(args, "variant_options", None):
        try:
            values["variant_options"] = json.loads(args.variant_options)
        except json.JSONDecodeError as error:
            raise CLIError(f"--variant-options must be a JSON object: {error}") from None
        if not isinstance(values["variant_options"], dict):
            raise CLIError("--variant-options must be a JSON object, like '{\"width\": 32}'")
    if getattr(args, "channel", None):
        try:
            values["channel"] = json.loads(args.channel)
        except json.JSONDecodeError as error:
            raise CLIError(f"--channel must be a JSON object: {error}") from None
        if not isinstance(values["channel"], dict):
            raise CLIError("--channel must be a JSON object, like '{\"jpeg_quality\": [50, 95]}'"
                           " ({} for the defaults)")
    return values


def _cmd_train(args):
    from stegutils import runs, train

    run_dir = pathlib.Path(args.run_dir)
    folder = runs.RunDir(run_dir)
    exists = folder.is_run()
    if exists and not args.resume:
        raise CLIError(f"{run_dir} already holds a run; pass --resume to continue it, or "
                       "choose a new --run-dir")
    if args.resume and not exists:
        raise CLIError(f"--resume: {run_dir} holds no run (no config.json)")
    if args.allow_changes and not args.resume:
        raise CLIError("--allow-changes only applies with --resume")
    strategy = None
    if args.distribute == "mirrored":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
    elif args.distribute == "multi-worker":
        import tensorflow as tf

        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    # One process at a time in a run folder, from reading its config to the last write.
    with folder.lock():
        if not args.resume and folder.is_run():
            raise CLIError(f"{run_dir} already holds a run (another process just started it); "
                           "pass --resume to continue it, or choose a new --run-dir")
        changed = {}
        if args.resume:
            config, changed = _resume_config(args, run_dir)
        else:
            config = _config_from_args(args)
        trainer = train.Trainer(config, run_dir, strategy=strategy,
                                allow_changes=bool(changed))
        # Remember how the run was made, for its model card (stegutils export).
        folder.record_command(["stegutils", *args.argv], step=trainer.resumed_from or 0,
                              changed=changed)
        if trainer.resumed_from is not None:
            _print(f"resuming {run_dir} from step {trainer.resumed_from}", quiet=args.quiet)
        if changed:
            _print("with changed settings: " + ", ".join(
                f"{field} {_show(old)} -> {_show(new)}" for field, (old, new) in changed.items()),
                quiet=args.quiet)
        history = trainer.fit(progress=not args.quiet)
    if history:
        last = history[-1]
        _print(f"step {last['step']}: cover {last['cover_psnr']:.2f} dB, secret "
               f"{last['secret_psnr']:.2f} dB (training batches)", quiet=args.quiet)
    if trainer.interrupted:
        step = int(trainer.step.numpy())
        print(f"stopped (Ctrl-C or SIGTERM) at step {step}, with a checkpoint; continue with "
              f"`stegutils train --run-dir {run_dir} --resume`", file=sys.stderr)
        return 130
    return 0


def _cmd_evaluate(args):
    from stegutils import data, metrics

    net, card = _load_model(args.model)
    images = data.photos(args.data, args.split)
    secrets, covers = data.heldout_pairs(images, size=args.size, count=args.count,
                                         seed=args.seed)
    report = metrics.evaluate(net, covers=covers, secrets=secrets)
    summary = metrics.summarize(report)
    result = {"model": card.get("name", str(args.model)), "data": args.data,
              "split": args.split, "size": args.size, **summary}
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return
    print(f"model {result['model']} on {summary['images']} pairs of {args.size}x{args.size} "
          f"crops from {args.data} ({args.split}), 8-bit containers")
    print(f"{'':8}{'mean pixel error':>18}{'PSNR (dB)':>12}{'SSIM':>9}")
    for part in ("cover", "secret"):
        print(f"{part:8}{summary[f'{part}_mpe']:>18.2f}{summary[f'{part}_psnr']:>12.2f}"
              f"{summary[f'{part}_ssim']:>9.4f}")


def _cmd_export(args):
    from stegutils import pretrained

    card_path = pretrained.export(args.run_dir, args.name, weights=args.weights,
                                  out_dir=args.out_dir)
    _print(f"wrote {card_path} and its weights; measure it with "
           f"`python benchmarks/quality.py --models {args.name} --update-cards`",
           quiet=args.quiet)


def _cmd_models(args):
    from stegutils import models, pretrained

    names = pretrained.list()
    if args.json:
        print(json.dumps({"shipped": {n: pretrained.card(n) for n in names},
                          "variants": models.variant_names()}, indent=2))
        return
    print("shipped models:" + ("" if names else " none"))
    for name in names:
        info = pretrained.card(name)
        default = " (default)" if name == pretrained.DEFAULT_MODEL else ""
        print(f"  {name}{default}: variant {info['variant']}")
    print("variants: " + ", ".join(models.variant_names()))
    print("steganalysis detector: stegutils detect (not a hiding model; its card is "
          "stegutils/weights/detector.json)")


# ---------------------------------------------------------------------------- parser


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _steps(text):
    """--refine: a whole number of steps, 0 (off) or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of steps, 0 (off) or more, got {text!r}")
    return value


def _strength(text):
    """--strength: a finite number above 0 (models.scale_residual's rule, without TF)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(
            f"expected a finite number above 0 (1 keeps the model as trained), got {text!r}")
    return value


def _config_value(name, convert=float):
    """The argparse type of the Config field ``name``: ``convert``, then Config's check.

    So the command line accepts exactly what :class:`stegutils.runs.Config` accepts,
    and says why not in Config's words (``--lr 0``: "lr must be a positive number").
    """
    def parse(text):
        from stegutils import runs

        try:
            value = convert(text)
        except ValueError:
            kind = "an integer" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        try:
            return runs.Config.check(name, value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _default(name):
    """A Config field's default, as the help shows it (``--help`` reads it from Config)."""
    from stegutils import runs

    value = runs.Config.default(name)
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else value


_PRECISIONS = ["auto", "float32", "bfloat16"]


def _precision_help():
    """The --precision help, with its measured cost read from the results file.

    Building the parser must not import TensorFlow (``--help`` stays instant), so the
    figures of every model measured are given rather than the default's alone.
    """
    from stegutils.book import results

    text = ("compute precision: float32 (the default; what the model cards measure), "
            "bfloat16 (16-bit convolutions: faster on a CPU with native bfloat16) or auto "
            "(bfloat16 on such a CPU, float16 on a GPU, else float32)")
    measured = results.load("precision.json") or {}
    costs = [f"{name} {entry['bfloat16']['secret_psnr_drop']:.2f} dB of secret and "
             f"{entry['bfloat16']['cover_psnr_drop']:.2f} dB of cover PSNR"
             for name, entry in sorted((measured.get("models") or {}).items())
             if isinstance(entry, dict) and isinstance(entry.get("bfloat16"), dict)]
    if costs:
        text += (f". Measured cost of bfloat16 against float32 ({measured.get('pairs')} "
                 f"held-out pairs at {measured.get('size')} px, hidden and revealed in "
                 f"that precision): {'; '.join(costs)} "
                 "(benchmarks/results/precision.json)")
    else:
        text += ". Its cost in dB: python benchmarks/precision.py"
    return text.replace("%", "%%")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # Same shape as every other error: one line, then the usage hint.
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``stegutils`` command."""
    # Config and its defaults, without TensorFlow: --help stays instant.
    from stegutils import runs

    parser = _Parser(prog="stegutils",
                     description="Hide an image inside another with deep steganography.")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    parser.add_argument("--quiet", action="store_true", help="print only results")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    model_help = "a shipped model name or a run folder (default: the shipped default)"

    hide = sub.add_parser(
        "hide", help="hide a secret image in a cover image (or a folder of them)",
        description="Hide SECRET inside COVER and write the container as an 8-bit PNG. A "
        "secret of another size is resized to the cover. Folders: --cover-dir, "
        "--secret-dir and --out-dir hide each cover's secret of the same name (the file "
        "name without its extension: covers/beach.jpg with secrets/beach.png) and write "
        "OUT_DIR/beach.png; both folders must hold the same names, else nothing is done "
        "and the names without a partner are listed. The model is loaded once; a file "
        "that fails is reported on one line and the others go on (exit status 1 if any "
        "failed). Inputs are never overwritten, and each file is written whole or not "
        "at all.")
    hide.add_argument("--cover", help="the cover image (any format Pillow reads)")
    hide.add_argument("--secret", help="the image to hide")
    hide.add_argument("--out", help="the container to write (.png)")
    hide.add_argument("--cover-dir", help="a folder of covers (instead of --cover)")
    hide.add_argument("--secret-dir",
                      help="a folder of secrets, one per cover, of the same names")
    hide.add_argument("--out-dir", help="where to write the containers, NAME.png (created "
                      "if missing; not an input folder)")
    hide.add_argument("--model", default=None, help=model_help)
    hide.add_argument("--strength", type=_strength, default=1.0, metavar="S",
                      help="scale the hidden residual by S (default 1, the model as "
                      "trained): below 1 the container is closer to the cover and the "
                      "secret weaker and less robust, above 1 the other way; chapter 10 "
                      "measures the trade-off (benchmarks/results/strength.json)")
    hide.add_argument("--refine", type=_steps, default=0, metavar="STEPS",
                      help="then refine the container for STEPS steps of gradient descent "
                      "against the model's own reveal network, through a simulated JPEG "
                      "and resizing (default 0, off), for a container that stays close to "
                      "the cover and gives the secret back better after the channel "
                      "(chapter 10 measures what it gains and where it costs cover, "
                      "benchmarks/results/refine.json), "
                      "at the cost of time: every step passes the image forward and back "
                      "through the reveal network three times, slow for large photos "
                      "without a GPU")
    hide.add_argument("--precision", choices=_PRECISIONS, default="float32",
                      help=_precision_help())
    hide.set_defaults(func=_cmd_hide)

    reveal = sub.add_parser(
        "reveal", help="reveal the secret hidden in a container (or in several)",
        description="Reveal the secret hidden in CONTAINER. With --out-dir, CONTAINER may "
        "be several files or folders of them: each NAME.png is revealed to "
        "OUT_DIR/NAME.png, the model loaded once; a file that fails is reported on one "
        "line and the others go on (exit status 1 if any failed). For the models it "
        "was trained on, the steganalysis detector (stegutils detect) checks each "
        "container, and a warning says when one looks like a photo with no secret; the "
        "revealed image is written all the same.")
    reveal.add_argument("containers", nargs="+", metavar="CONTAINER",
                        help="a container image (a .png written by hide); with --out-dir, "
                        "several, or folders of them")
    reveal.add_argument("--out", help="where to write the revealed secret (one container)")
    reveal.add_argument("--out-dir", help="where to write the revealed secrets, NAME.png "
                        "(created if missing; not an input folder)")
    reveal.add_argument("--model", default=None, help=model_help)
    reveal.add_argument("--precision", choices=_PRECISIONS, default="float32",
                        help=_precision_help())
    reveal.set_defaults(func=_cmd_reveal)

    detect = sub.add_parser(
        "detect", help="score images: does one hold a hidden secret?",
        description="Score each IMAGE with the shipped steganalysis detector (chapter 7's "
        "small CNN on high-pass residuals, trained on containers of the shipped models; "
        "its card, stegutils/weights/detector.json, holds its measured AUC and accuracy "
        "and the threshold). Prints one line per image: the score (0 to 1), 'container' "
        "or 'clean' against the card's threshold, and the file. Exit status 1 if an "
        "image could not be read.")
    detect.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files, or folders of them")
    detect.add_argument("--detector", default=None,
                        help="a detector card (default: the shipped detector.json)")
    detect.add_argument("--json", action="store_true", help="print JSON instead of lines")
    detect.set_defaults(func=_cmd_detect)

    train = sub.add_parser("train", help="train a model (resumable)",
                           description="Train the three networks; --resume continues a run "
                           "from its latest checkpoint.")
    train.add_argument("--run-dir", required=True, help="folder for checkpoints and history")
    train.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    train.add_argument("--allow-changes", action="store_true",
                       help="with --resume: go on with the settings given here where they "
                       "differ from the run's (recorded in commands.jsonl)")
    train.add_argument("--variant", default=None,
                       help=f"model variant (default {_default('variant')})")
    train.add_argument("--variant-options", default=None,
                       help="JSON object of variant options, e.g. '{\"width\": 32}'")
    train.add_argument("--size", type=_positive_int, default=None,
                       help=f"crop size ({_default('size')})")
    train.add_argument("--beta", type=_config_value("beta"), default=None,
                       help=f"secret weight ({_default('beta')})")
    train.add_argument("--cover-loss", choices=list(runs.CHOICES["cover_loss"]), default=None,
                       help="the cover term: its mean squared error, or the same value with "
                       "the gradient of the mean cover PSNR, each pair counted in decibels "
                       f"({_default('cover_loss')})")
    train.add_argument("--noise", type=_config_value("noise"), default=None,
                       help=f"container noise std ({_default('noise')})")
    train.add_argument("--quantize", action=argparse.BooleanOptionalAction, default=None,
                       help="round containers to 8 bits in training, as a saved PNG is "
                       "(straight-through gradient); --no-quantize trains on the float "
                       "container, as published invertible methods do (default: "
                       f"{'--quantize' if _default('quantize') else '--no-quantize'})")
    train.add_argument("--lr", type=_config_value("lr"), default=None,
                       help=f"learning rate ({_default('lr')})")
    train.add_argument("--lr-schedule", choices=list(runs.CHOICES["lr_schedule"]),
                       default=None, help=f"({_default('lr_schedule')})")
    train.add_argument("--batch-size", type=_positive_int, default=None,
                       help=f"batch size ({_default('batch_size')})")
    train.add_argument("--steps", type=_positive_int, default=None,
                       help=f"total steps ({_default('steps')})")
    train.add_argument("--seed", type=int, default=None,
                       help=f"random seed ({_default('seed')})")
    train.add_argument("--precision", choices=["auto", "float32", "bfloat16", "float16"],
                       default=None, help=f"compute precision ({_default('precision')})")
    train.add_argument("--data", default=None,
                       help=f"'builtin', 'bsds500' or a folder of photos ({_default('data')})")
    train.add_argument("--pairs", choices=list(runs.CHOICES["pairs"]), default=None,
                       help="random crops, or the blog post's 100 photos resized whole "
                       f"({_default('pairs')})")
    train.add_argument("--val-photos", type=_config_value("val_photos", int), default=None,
                       help="training photos kept aside for choosing the best weights, at "
                       f"most a fifth of them ({_default('val_photos')})")
    train.add_argument("--init-from", default=None,
                       help="start from a shipped model's or a run folder's weights; with "
                       "--variant-options that only widen it (reveal_width...), the wider "
                       "model starts computing what it does")
    train.add_argument("--clipnorm", type=_config_value("clipnorm"), default=None,
                       help="clip gradients to this global norm (default: no clipping)")
    train.add_argument("--channel", default=None,
                       help="train through the simulated channel (JPEG, resizing, noise, "
                       "crops): a JSON object of stegutils.channel.ChannelSpec fields, "
                       "'{}' for the defaults")
    for option in ("checkpoint_every", "log_every", "eval_every"):
        train.add_argument(f"--{option.replace('_', '-')}", type=_positive_int, default=None,
                           help=f"({_default(option)})")
    train.add_argument("--distribute", choices=["none", "mirrored", "multi-worker"],
                       default="none", help="tf.distribute strategy (multi-worker reads TF_CONFIG)")
    train.set_defaults(func=_cmd_train)

    evaluate = sub.add_parser("evaluate", help="measure a model on held-out photos",
                              description="Hide and reveal held-out pairs (8-bit PNG "
                              "containers) and report mean pixel error, PSNR and SSIM.")
    evaluate.add_argument("--model", default=None, help=model_help)
    evaluate.add_argument("--data", default="builtin",
                          help="'builtin', 'bsds500' or a folder of photos (builtin)")
    evaluate.add_argument("--split", default="test", help="which split (test)")
    evaluate.add_argument("--size", type=_positive_int, default=64, help="crop size (64)")
    evaluate.add_argument("--count", type=_positive_int, default=100, help="pairs (100)")
    evaluate.add_argument("--seed", type=int, default=1234, help="seed of the crops (1234)")
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")
    evaluate.set_defaults(func=_cmd_evaluate)

    export = sub.add_parser("export", help="ship a run's weights with a model card",
                            description="Copy a run's weights into the shipped models "
                            "(stegutils/weights) with a model card.")
    export.add_argument("run_dir", help="a run folder written by `stegutils train`")
    export.add_argument("--name", required=True, help="the model's name")
    export.add_argument("--weights", default="best.weights.h5",
                        help="which weights of the run (best.weights.h5)")
    export.add_argument("--out-dir", default=None, help="default: the package's weights folder")
    export.set_defaults(func=_cmd_export)

    listing = sub.add_parser("models", help="list the shipped models and the variants")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_cmd_models)
    return parser


# Commands that never touch TensorFlow (none, today: every one loads a model or trains).
_NO_TENSORFLOW: set = set()


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.func not in _NO_TENSORFLOW:
        # TensorFlow's start-up lines (absl, CUDA probing, "failed call to cuInit" on
        # any machine without a GPU) stay off stderr unless --debug asks for them.
        from stegutils import quiet

        tf = quiet.import_tensorflow(debug=args.debug)
        if not args.debug:
            # Its Python warnings too (a folder of photos of many sizes makes it trace
            # the networks again and say so): they say nothing a user can act on.
            tf.get_logger().setLevel("ERROR")
    try:
        status = args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug or not _expected(error):
            raise
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1
    return status or 0


def _expected(error):
    """Whether ``error`` is one to report as one line (not a bug to show in full)."""
    if isinstance(error, (CLIError, ValueError, TypeError, OSError)):
        return True
    runs = sys.modules.get("stegutils.runs")
    return runs is not None and isinstance(error, runs.TrainingError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
