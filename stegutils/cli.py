"""The command line: ``stegutils hide``, ``reveal``, ``train``, ``evaluate``, ``export``
and ``models``.

Also available as ``python -m stegutils``. Every command has ``--help``. Errors are one
line on stderr starting with ``error:`` and a non-zero exit status; ``--debug`` shows the
traceback instead. ``train`` stopped with Ctrl-C saves a checkpoint and exits with status
130; ``train --resume`` refuses options that differ from the run's own unless
``--allow-changes`` is given, and records what changed in the run's ``commands.jsonl``.
TensorFlow's start-up lines stay off stderr unless ``--debug`` is given. Images above
:data:`stegutils.tiling.TILED_ABOVE` pixels are hidden and revealed in tiles (the same
result as one pass, in memory that does not grow with the image), and a cover narrower
than the model's receptive field gets a warning.

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


def _load_model(name):
    from stegutils import pretrained

    net, card = pretrained.load(name)
    return net, card


def _print(message, *, quiet=False):
    if not quiet:
        print(message, file=sys.stderr)


def _tiled(image):
    from stegutils import tiling

    return image.shape[0] * image.shape[1] > tiling.TILED_ABOVE


def _hide(net, cover, secret, *, quiet):
    """Whole-image inference for ordinary sizes; tiles (same result, flat memory) above."""
    if not _tiled(cover):
        return net.hide(cover, secret)
    from stegutils import data, tiling

    cover8, secret8 = data.to_uint8(cover), data.to_uint8(secret)
    del cover, secret
    return tiling.hide(net, cover8, secret8, progress=not quiet)


def _reveal(net, container, *, quiet):
    if not _tiled(container):
        return net.reveal(container)
    from stegutils import data, tiling

    return tiling.reveal(net, data.to_uint8(container), progress=not quiet)


def _warn_if_small(net, shape, *, quiet):
    """A cover narrower than the hiding path's receptive field hides poorly: say so."""
    from stegutils import models

    field = models.receptive_field(net).get("prep+hide", 0)
    height, width = shape[:2]
    if min(height, width) < field:
        _print(f"warning: the cover is {width}x{height}, narrower than the model's "
               f"receptive field ({field} px); the secret will come back poorly. Use a "
               f"cover at least {field}x{field}", quiet=quiet)


# -------------------------------------------------------------------------- commands


def _cmd_hide(args):
    from stegutils import data

    out = pathlib.Path(args.out)
    _check_output(out, [args.cover, args.secret], kind="container", png_only=True)
    cover = data.load_image(args.cover)
    secret = data.load_image(args.secret)
    if secret.shape != cover.shape:
        _print(f"notice: the secret is {secret.shape[1]}x{secret.shape[0]} and the cover "
               f"{cover.shape[1]}x{cover.shape[0]}; resizing the secret to the cover's size",
               quiet=args.quiet)
        enlarging = secret.shape[0] * secret.shape[1] < cover.shape[0] * cover.shape[1]
        # Area averaging is right for shrinking; enlarging needs interpolation.
        secret = data.resize(secret, cover.shape[:2],
                             method="bicubic" if enlarging else "area")
    net, card = _load_model(args.model)
    _warn_if_small(net, cover.shape, quiet=args.quiet)
    container = _hide(net, cover, secret, quiet=args.quiet)
    data.save_image(out, container)
    _print(f"wrote {out} (model {card.get('name', args.model)})", quiet=args.quiet)


def _cmd_reveal(args):
    from stegutils import data

    out = pathlib.Path(args.out)
    _check_output(out, [args.container], kind="revealed secret", png_only=False)
    if out.suffix.lower() not in data_suffixes():
        raise CLIError(f"--out must end in one of {sorted(data_suffixes())}, got {out.name!r}")
    if pathlib.Path(args.container).suffix.lower() in _LOSSY_SUFFIXES:
        _print("warning: the container is a lossy file; if it was saved with lossy "
               "compression the secret is damaged", quiet=args.quiet)
    container = data.load_image(args.container)
    net, card = _load_model(args.model)
    revealed = _reveal(net, container, quiet=args.quiet)
    data.save_image(out, revealed)
    _print(f"wrote {out} (model {card.get('name', args.model)})", quiet=args.quiet)


def data_suffixes():
    return {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def _config_from_args(args):
    from stegutils import train

    return train.Config(**_given_config_values(args))


def _resume_config(args, run_dir):
    """The config of the run in ``run_dir``, with the options given on this command line.

    Options that only change how often the run logs, evaluates and saves (and
    ``--steps``) apply silently; any other that differs from the run's config is refused
    unless ``--allow-changes`` is given. Returns ``(config, changed)``, ``changed``
    mapping each changed field to ``[old, new]``.
    """
    from stegutils import train

    config = train.load_config(run_dir)
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
    return train.Config.from_dict(values), changed


def _show(value):
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _given_config_values(args):
    """The Config fields this command line gives, by name (those left out are absent)."""
    from stegutils import train

    values = {}
    for field in dataclasses.fields(train.Config):
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
    from stegutils import train

    run_dir = pathlib.Path(args.run_dir)
    exists = (run_dir / "config.json").exists()
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
    with train.run_folder_lock(run_dir):
        if not args.resume and (run_dir / "config.json").exists():
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
        entry = {"argv": ["stegutils", *args.argv], "step": trainer.resumed_from or 0}
        if changed:
            entry["changed"] = changed
        train._append_line_atomic(run_dir / "commands.jsonl", json.dumps(entry))
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


# ---------------------------------------------------------------------------- parser


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonneg_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # Same shape as every other error: one line, then the usage hint.
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``stegutils`` command."""
    parser = _Parser(prog="stegutils",
                     description="Hide an image inside another with deep steganography.")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    parser.add_argument("--quiet", action="store_true", help="print only results")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    model_help = "a shipped model name or a run folder (default: the shipped default)"

    hide = sub.add_parser("hide", help="hide a secret image in a cover image",
                          description="Hide SECRET inside COVER and write the container "
                          "as an 8-bit PNG. A secret of another size is resized to the cover.")
    hide.add_argument("--cover", required=True, help="the cover image (any format Pillow reads)")
    hide.add_argument("--secret", required=True, help="the image to hide")
    hide.add_argument("--out", required=True, help="the container to write (.png)")
    hide.add_argument("--model", default=None, help=model_help)
    hide.set_defaults(func=_cmd_hide)

    reveal = sub.add_parser("reveal", help="reveal the secret hidden in a container",
                            description="Reveal the secret hidden in CONTAINER.")
    reveal.add_argument("container", help="the container image (a .png written by hide)")
    reveal.add_argument("--out", required=True, help="where to write the revealed secret")
    reveal.add_argument("--model", default=None, help=model_help)
    reveal.set_defaults(func=_cmd_reveal)

    train = sub.add_parser("train", help="train a model (resumable)",
                           description="Train the three networks; --resume continues a run "
                           "from its latest checkpoint.")
    train.add_argument("--run-dir", required=True, help="folder for checkpoints and history")
    train.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    train.add_argument("--allow-changes", action="store_true",
                       help="with --resume: go on with the settings given here where they "
                       "differ from the run's (recorded in commands.jsonl)")
    train.add_argument("--variant", default=None, help="model variant (default fast)")
    train.add_argument("--variant-options", default=None,
                       help="JSON object of variant options, e.g. '{\"width\": 32}'")
    train.add_argument("--size", type=_positive_int, default=None, help="crop size (64)")
    train.add_argument("--beta", type=_nonneg_float, default=None, help="secret weight (0.75)")
    train.add_argument("--noise", type=_nonneg_float, default=None, help="container noise std (0)")
    train.add_argument("--lr", type=_nonneg_float, default=None, help="learning rate (1e-3)")
    train.add_argument("--lr-schedule", choices=["constant", "cosine"], default=None)
    train.add_argument("--batch-size", type=_positive_int, default=None, help="batch size (8)")
    train.add_argument("--steps", type=_positive_int, default=None, help="total steps (1000)")
    train.add_argument("--seed", type=int, default=None, help="random seed (0)")
    train.add_argument("--precision", choices=["auto", "float32", "bfloat16", "float16"],
                       default=None, help="compute precision (auto)")
    train.add_argument("--data", default=None,
                       help="'builtin', 'bsds500' or a folder of photos (builtin)")
    train.add_argument("--pairs", choices=["random-crop", "seed-recipe"], default=None,
                       help="random crops, or the blog post's 100 photos resized whole")
    train.add_argument("--val-photos", type=int, default=None,
                       help="training photos kept aside for choosing the best weights (10)")
    train.add_argument("--init-from", default=None,
                       help="start from a shipped model's or a run folder's weights")
    train.add_argument("--clipnorm", type=float, default=None,
                       help="clip gradients to this global norm (default: no clipping)")
    train.add_argument("--channel", default=None,
                       help="train through the simulated channel (JPEG, resizing, noise, "
                       "crops): a JSON object of stegutils.channel.ChannelSpec fields, "
                       "'{}' for the defaults")
    train.add_argument("--checkpoint-every", type=_positive_int, default=None)
    train.add_argument("--log-every", type=_positive_int, default=None)
    train.add_argument("--eval-every", type=_positive_int, default=None)
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

        quiet.import_tensorflow(debug=args.debug)
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
    train = sys.modules.get("stegutils.train")
    return train is not None and isinstance(error, train.TrainingError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
