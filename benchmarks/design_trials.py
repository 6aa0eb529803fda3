"""The record of the design trials: which designs were tried, for how long, and how well.

    python benchmarks/design_trials.py RUN_DIR [RUN_DIR ...] [--shipped fast invertible]
                                       [--out FILE]
    python benchmarks/design_trials.py --update-shipped [--shipped robust ...]

For each run folder written by ``stegutils train`` (a trial, or the run a shipped model
came from): its design (variant and options, beta, learning rate and schedule, gradient
clipping, precision, batch and crop size), the steps it trained (its latest checkpoint),
its training time (from the throughput its history logged, as a model card counts it)
and its wall time (from the history's time stamps), the runs it shared the machine with
(overlapping times), its training-batch figures and any validation figures its history
holds. Then every run's weights (its best, else its final ones) and every shipped
model named by ``--shipped`` are measured again on the *validation* photos, by the
trainer's own rule (:func:`stegutils.train.split_validation` and
:func:`stegutils.train.validation_pairs`: the last ``val_photos`` training photos, never
trained on, and the run's fixed pairs of them), all on the same pairs: the first run's.
Each figure has its 95% interval over the pairs, and each trial's validation loss is
compared with the best trial's on the same pairs (paired difference, 95% interval). The
BSDS500 test split is not used here: designs are chosen on validation photos.

The JSON (default ``benchmarks/results/design_trials.json``) names the runs by their
folder names only: the folders live outside the repository.

``--update-shipped`` measures only the shipped models again (after one is re-trained and
re-shipped), on the same validation pairs as the file's runs, rebuilt from the design the
file records for the run whose pairs they are; the runs' records, which need their
folders, are kept as they are, and the file names both commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import data, metrics, models, pretrained, train, verdicts  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "design_trials.json"
DESIGN_FIELDS = ("variant", "variant_options", "beta", "lr", "lr_schedule", "clipnorm",
                 "precision", "batch_size", "size", "quantize", "noise", "seed", "data",
                 "val_photos", "init_from")


def design(config: train.Config) -> dict:
    """The settings that make a design: architecture, loss weight and optimiser."""
    values = config.to_dict()
    out = {field: values.get(field) for field in DESIGN_FIELDS}
    for field in ("data", "init_from"):  # a folder of this machine: its name only
        if out[field] and pathlib.PurePath(out[field]).is_absolute():
            out[field] = pathlib.PurePath(out[field]).name
    return out


def checkpoint_step(run_dir) -> int | None:
    """The step of a run's latest checkpoint (its checkpoints are numbered by step)."""
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(pathlib.Path(run_dir) / "checkpoints"))
    if state is None or not state.model_checkpoint_path:
        return None
    return int(pathlib.Path(state.model_checkpoint_path).name.rsplit("-", 1)[-1])


def history_times(history, batch_size, last_write=None):
    """(training seconds, start, end) from a history: the training seconds from each
    record's logged throughput (evaluation and pauses excluded), the start and end as
    time stamps (the start one logging window before the first record; the end the last
    record, or ``last_write``, the time the run last wrote a checkpoint, if later)."""
    seconds, previous = 0.0, 0
    for record in history:
        steps = max(record["step"] - previous, 0)
        seconds += steps * batch_size / max(record["images_per_second"], 1e-9)
        previous = record["step"]
    first = history[0]
    start = first["time"] - first["step"] * batch_size / max(first["images_per_second"], 1e-9)
    return seconds, start, max(history[-1]["time"], last_write or 0.0)


def run_record(run_dir) -> dict:
    """What a run folder says about itself (no model is loaded)."""
    run_dir = pathlib.Path(run_dir)
    config = train.load_config(run_dir)
    history = train.Trainer.read_history(run_dir)
    if not history:
        raise ValueError(f"{run_dir.name} has no history yet")
    index = run_dir / "checkpoints" / "checkpoint"
    seconds, start, end = history_times(history, config.batch_size,
                                        index.stat().st_mtime if index.is_file() else None)
    net = models.build(config.variant, seed=0, **config.variant_options)
    validations = [{key: record[key] for key in ("step", "val_loss", "val_cover_psnr",
                                                 "val_secret_psnr")}
                   for record in history if "val_loss" in record]
    best = run_dir / "best.json"
    weights = next((name for name in ("best.weights.h5", "final.weights.h5")
                    if (run_dir / name).is_file()), None)
    last = history[-1]
    return {
        "design": design(config),
        "parameters": models.count_params(net)["total"],
        "training_operations_per_image": 3 * models.count_flops(net, config.size)["total"],
        "steps": checkpoint_step(run_dir) or last["step"],
        "logged_steps": last["step"],
        "train_seconds": round(seconds, 1),
        "wall_seconds": round(end - start, 1),
        "images_per_second": last["step"] * config.batch_size / max(seconds, 1e-9),
        "_window": (start, end),
        "last_logged": {key: last[key] for key in ("step", "loss", "cover_psnr",
                                                    "secret_psnr")},
        "training_batches": [{key: record[key] for key in ("step", "cover_psnr",
                                                           "secret_psnr")}
                             for record in history],
        "history_validation": validations,
        "best": json.loads(best.read_text()) if best.is_file() else None,
        "weights": weights,
    }


def overlaps(records):
    """For each run, the runs whose logged time overlaps at least half of its own."""
    out = {}
    for name, record in records.items():
        start, end = record["_window"]
        length = max(end - start, 1e-9)
        out[name] = sorted(
            other for other, rec in records.items() if other != name
            and (min(end, rec["_window"][1]) - max(start, rec["_window"][0])) > 0.5 * length)
    return out


def validation_set(config: train.Config):
    """The run's validation photos and pairs, by the trainer's rule."""
    _, photos = train.split_validation(data.photos(config.data, "train"), config.val_photos)
    if not photos:
        raise ValueError("the run held out no validation photos (val_photos 0)")
    return photos, train.validation_pairs(photos, config)


def measure(net, secrets, covers, beta):
    """Per-pair report on the validation pairs (8-bit containers, as the trainer)."""
    containers = net.hide(cover=covers, secret=secrets)
    revealed = net.reveal(containers)
    report = metrics.image_report(covers, containers, secrets, revealed)
    report["cover_mse"] = np.mean((containers - covers) ** 2, axis=(1, 2, 3))
    report["secret_mse"] = np.mean((revealed - secrets) ** 2, axis=(1, 2, 3))
    report["val_loss"] = report["cover_mse"] + beta * report["secret_mse"]
    return report


def summarise(report, own_beta=None):
    """Means with 95% intervals over the pairs; PSNRs are per-pair means, and
    ``trainer_*_psnr`` the PSNR of the mean squared error, as the trainer logs it;
    ``own_beta_val_loss`` the loss with the model's own beta, as its run's record has it."""
    summary = {"pairs": int(len(report["val_loss"]))}
    for key, values in report.items():
        interval = verdicts.interval_of_values(values)
        summary.update({key: interval.value, f"{key}_low": interval.low,
                        f"{key}_high": interval.high})
    for term in ("cover", "secret"):
        summary[f"trainer_{term}_psnr"] = metrics.psnr_from_mse(
            np.mean(report[f"{term}_mse"]))
    if own_beta is not None:
        summary["own_beta_val_loss"] = float(np.mean(report["cover_mse"])
                                             + own_beta * np.mean(report["secret_mse"]))
    return summary


def card_record(name, run_dirs=()) -> dict:
    card = pretrained.card(name)
    config = train.Config.from_dict(card["config"])
    training = card.get("training") or {}
    heldout = (card.get("heldout") or {}).get("sizes", {}).get("64")
    net = models.build(config.variant, seed=0, **config.variant_options)
    return {
        "design": design(config),
        "parameters": card.get("parameters", {}).get("total"),
        "training_operations_per_image": 3 * models.count_flops(net, config.size)["total"],
        "steps": training.get("step"),
        "train_seconds": training.get("train_seconds"),
        "stages": len(training.get("stages") or []) or 1,
        "sha256": card["sha256"],
        "heldout_64": heldout,
        **_source_run(card, run_dirs),
    }


def _source_run(card, run_dirs):
    """The run folder among ``run_dirs`` that the card's last command trained, and
    whether that folder's weights are still the shipped ones."""
    commands = (card.get("training") or {}).get("commands") or []
    for run_dir in run_dirs:
        if any(f"runs/{run_dir.name} " in f"{command} " for command in commands):
            hashes = run_dir / "hashes.json"
            current = json.loads(hashes.read_text()) if hashes.is_file() else {}
            same = any(entry.get("sha256") == card["sha256"] for entry in current.values())
            step = (card.get("training") or {}).get("step")
            at_step = next((record for record in train.Trainer.read_history(run_dir)
                            if record["step"] == step and "val_loss" in record), None)
            return {"run": run_dir.name, "run_weights_are_the_shipped_ones": same,
                    "run_validation_at_shipped_step": None if at_step is None else {
                        key: at_step[key] for key in ("step", "val_loss", "val_cover_psnr",
                                                      "val_secret_psnr")}}
    return {}


ROOT = pathlib.Path(__file__).resolve().parents[1]


def _portable(token):
    """A command-line word without this machine's folders: a path inside the repository
    relative to it, a run folder as ``runs/NAME``, any other absolute path its name."""
    path = pathlib.Path(token)
    if not path.is_absolute():
        return str(token)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return f"runs/{path.name}" if path.is_dir() else path.name


def reference_config(previous: dict, data_source=None) -> train.Config:
    """The config whose validation pairs a results file was measured on, from the design
    it records for that run (``validation.pairs_of_run``); ``data_source`` in place of
    the recorded photos (a folder is recorded by its name only)."""
    name = previous["validation"]["pairs_of_run"]
    recorded = previous["runs"][name]["design"]
    fields = {field.name for field in dataclasses.fields(train.Config)}
    values = {key: value for key, value in recorded.items() if key in fields}
    values.pop("init_from", None)  # how the run started; nothing to do with its pairs
    if data_source is not None:
        values["data"] = str(data_source)
    return train.Config(**values)


def measure_shipped(names, run_dirs, secrets, covers, beta, reference):
    """Each shipped model's record (``names``, or every shipped model for None), measured
    on the validation pairs; and the reports."""
    out, reports = {}, {}
    for name in pretrained.list() if names is None else names:
        record = card_record(name, run_dirs)
        config = train.Config.from_dict(pretrained.card(name)["config"])
        if (config.data, config.val_photos) == (reference.data, reference.val_photos):
            net, _ = pretrained.load(name)
            reports[f"shipped {name}"] = measure(net, secrets, covers, beta)
            record["validation"] = summarise(reports[f"shipped {name}"], config.beta)
        else:
            record["validation_note"] = "held out other photos: not measured on these"
        out[name] = record
        shown = record.get("validation", {})
        print(f"shipped {name:14} {record['steps']} steps, "
              f"{(record['train_seconds'] or 0) / 60:.0f} min training; validation cover "
              f"{shown.get('cover_psnr', float('nan')):.2f} dB, secret "
              f"{shown.get('secret_psnr', float('nan')):.2f} dB", flush=True)
    return out, reports


def update_shipped(args, argv, parser):
    """``--update-shipped``: the shipped models measured again, the runs' records kept."""
    if args.runs:
        parser.error("--update-shipped measures the shipped models only and keeps the "
                     "file's runs: give no run folders")
    if not args.out.is_file():
        parser.error(f"--update-shipped needs an existing {args.out.name}: run the trials "
                     "with their run folders first")
    previous = json.loads(args.out.read_text())
    reference = reference_config(previous, args.data)
    try:
        photos, (secrets, covers) = validation_set(reference)
    except ValueError as error:
        raise SystemExit(f"the runs' photos ({reference.data!r}) are not here ({error}); "
                         "give them with --data") from None
    expected = (previous["validation"]["photos"], previous["validation"]["pairs"])
    if (len(photos), int(len(secrets))) != expected:
        raise SystemExit(f"the validation photos here ({len(photos)} photos, {len(secrets)} "
                         f"pairs) are not the file's ({expected[0]} photos, {expected[1]} "
                         "pairs): is STEGUTILS_DATA the same collection?")
    measured, _ = measure_shipped(args.shipped, (), secrets, covers,
                                  previous["validation"]["loss_beta"], reference)
    previous["shipped"].update(measured)
    # A photo folder by its name, as the cards write it (not as a run folder).
    previous["shipped_command"] = ("python benchmarks/design_trials.py "
                                   + " ".join(_portable(a)
                                              for a in pretrained._portable_argv(argv)))
    previous["shipped_time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    train.write_json_atomic(args.out, previous)
    print(f"wrote {args.out}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=pathlib.Path, help="run folders")
    parser.add_argument("--shipped", nargs="*", default=None,
                        help="shipped models to measure too (default: every shipped model)")
    parser.add_argument("--update-shipped", action="store_true",
                        help="measure only the shipped models again, on the file's "
                             "validation pairs, keeping its runs")
    parser.add_argument("--data", default=None,
                        help="with --update-shipped: the photos the runs trained on, where "
                             "the file names a folder (it keeps only the folder's name)")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.data is not None and not args.update_shipped:
        parser.error("--data goes with --update-shipped (the runs' own configs say where "
                     "their photos are)")
    if args.update_shipped:
        return update_shipped(args, argv, parser)
    if not args.runs:
        parser.error("give the run folders of the trials (or --update-shipped)")

    records = {}
    for run_dir in args.runs:
        records[run_dir.name] = run_record(run_dir)
    together = overlaps(records)
    reference = train.load_config(args.runs[0])
    photos, (secrets, covers) = validation_set(reference)
    beta = reference.beta
    command = "python benchmarks/design_trials.py " + " ".join(_portable(a) for a in argv)
    result = {
        "command": command, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "validation": {
            "rule": (f"the last {len(photos)} {design(reference)['data']} training photos (sorted by "
                     f"name), held out from training by every run here, and the trainer's "
                     f"fixed pairs of them for seed {reference.seed}"),
            "source": design(reference)["data"], "split": "train", "photos": len(photos),
            "pairs": int(len(secrets)), "size": reference.size,
            "containers": "rounded to 8 bits", "loss_beta": beta,
            "pairs_of_run": args.runs[0].name,
            "confidence": "95% intervals over the pairs (Student's t); paired differences",
        },
        "runs": {}, "shipped": {},
    }
    reports = {}
    for run_dir in args.runs:
        name = run_dir.name
        record = records[name]
        record.pop("_window")
        record["ran_alongside"] = together[name]
        config = train.load_config(run_dir)
        if (config.data, config.val_photos) != (reference.data, reference.val_photos):
            record["validation_note"] = "held out other photos: not measured on these"
        else:
            net, _ = pretrained.load(run_dir)
            reports[name] = measure(net, secrets, covers, beta)
            record["validation"] = summarise(reports[name], config.beta)
            if record["best"] and config.seed == reference.seed:
                # The same pairs as the run's own record, and its own beta: the trainer's
                # validation loss of these weights, measured again; they should agree.
                record["validation"]["best_json_val_loss_difference"] = (
                    record["validation"]["own_beta_val_loss"] - record["best"]["val_loss"])
        result["runs"][name] = record
        shown = record.get("validation", {})
        print(f"{name:22} {record['design']['variant']} {record['design']['variant_options']} "
              f"beta {record['design']['beta']} lr {record['design']['lr']:g} "
              f"({record['design']['lr_schedule']}): {record['steps']} steps, "
              f"{record['train_seconds'] / 60:.1f} min training, {record['wall_seconds'] / 60:.1f} "
              f"min wall, alongside {record['ran_alongside'] or 'nothing'}; validation "
              f"cover {shown.get('cover_psnr', float('nan')):.2f} dB, secret "
              f"{shown.get('secret_psnr', float('nan')):.2f} dB, loss "
              f"{shown.get('val_loss', float('nan')):.6f}", flush=True)
    result["shipped"], shipped_reports = measure_shipped(args.shipped, args.runs, secrets,
                                                          covers, beta, reference)
    reports.update(shipped_reports)

    # The trials that ran side by side until the same moment had the same wall time on
    # the same machine: the fair race. The best of them by validation loss, and how
    # far each other one is behind it on the same pairs.
    trials = [name for name in records if name in reports and records[name]["ran_alongside"]]
    if trials:
        winner = min(trials, key=lambda name: float(np.mean(reports[name]["val_loss"])))
        race = {"trials": trials, "winner": winner, "behind_winner": {}}
        for name in trials:
            if name == winner:
                continue
            entry = {}
            for key in ("val_loss", "cover_psnr", "secret_psnr"):
                interval = verdicts.interval_of_values(
                    np.asarray(reports[name][key], np.float64)
                    - np.asarray(reports[winner][key], np.float64))
                entry.update({key: interval.value, f"{key}_low": interval.low,
                              f"{key}_high": interval.high})
            entry["clearly_behind"] = entry["val_loss_low"] > 0
            race["behind_winner"][name] = entry
            print(f"{name} minus {winner}: validation loss {entry['val_loss']:+.6f} "
                  f"[{entry['val_loss_low']:+.6f}, {entry['val_loss_high']:+.6f}]"
                  f"{' (clearly behind)' if entry['clearly_behind'] else ''}", flush=True)
        race["steps"] = {name: records[name]["steps"] for name in trials}
        race["training_operations_per_image"] = {
            name: records[name]["training_operations_per_image"] for name in trials}
        race["same_wall_time"] = all(
            sorted([name, *records[name]["ran_alongside"]]) == sorted(trials)
            for name in trials)
        result["equal_wall_time_race"] = race
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
