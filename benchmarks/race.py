"""The long race: autodiff against dilated (and manual) backprop, run until it concludes.

    STEGUTILS_DATA=../shared/data python benchmarks/race.py --work-dir ../runs/race \\
        [--settings blog ours blog-long] [--seeds 0 1 2] [--blog-steps 3000]
        [--ours-steps 3000] [--long-steps 3000] [--eval-every 250] [--manual-steps 250]
        [--out FILE]

Chapter 6 races the three gradient sources of :mod:`stegutils.backprop` for a few hundred
steps live; this script runs the race long enough to say where it ends, in two settings:

``blog``
    The blog post's: the ``seed`` networks, 100 BSDS500 *train* photos resized whole to
    80x80 (50 secrets, 50 covers, fixed pairs: ``pairs="seed-recipe"``), batch 8,
    beta 1, Adam at a constant learning rate. Arms: autodiff and dilated.
``ours``
    Chapter 6's live race, made long: random 32 px crops of all BSDS500 train photos,
    batch 4, beta 0.75, the same constant-rate Adam. Arms: dilated at beta 0.75 and
    autodiff at beta 0.75, 1.5, 3 and 6: does a larger beta with the true gradient reach
    the dilated run's point on the cover/secret plane, or pass it?
``blog-long``
    The blog post's setting again, autodiff alone, for ``--long-steps``: where do its
    curves flatten? Its runs start from the same initial weights and draw the same
    batches as the ``blog`` setting's autodiff runs of the same seed, so up to the
    ``blog`` budget they repeat them (on the same machine, step for step). It exists
    because the dilated arm of ``blog`` had diverged on two seeds of three by step 1500,
    so running both arms on would have spent most of the time on runs with no rival.

Each arm runs for every seed; within a seed, all arms share the initial weights, the
batches and their order (:func:`stegutils.backprop.make_trainer` changes only the
``gradient_fn``, and ``beta``). The manual (hand-written, non-dilated) pass runs the
first ``--manual-steps`` of each setting's first autodiff arm, to show again that it
follows autodiff step for step.

Every ``--eval-every`` steps each run is measured, with containers rounded to 8 bits, on
its training pairs (the 50 fixed pairs for ``blog``; 64 fixed crops of the training
photos for ``ours``) and on held-out pairs from BSDS500 *test* (50 pairs resized whole
to 80 px for ``blog``, as the post did with its photos; 64 crops of 32 px for ``ours``):
the training objective, PSNR, SSIM and mean pixel error (0-255) of cover and secret.
The blog post only ever showed training pairs.

The runs advance in rounds, one segment of ``--eval-every`` steps per run and round, so
at any moment all arms are at (nearly) the same step, and the segments' wall times,
interleaved within a round, give each method's step time with its spread on the same
load (recorded beside them). Each run is an ordinary run folder under ``--work-dir``
(checkpoints every segment, outside the repository): stop the script at any time
(Ctrl-C or SIGTERM finish the step in progress and checkpoint) and start it again with
the same arguments to resume; a larger ``--blog-steps``/``--ours-steps``/``--long-steps``
extends the race (the learning rate is constant, so a longer budget does not change the steps
already taken). A run that diverges is recorded as such and the others go on.

After every round the results go, atomically, to ``--out`` (default
``benchmarks/results/race.json``), which chapter 6 reads: the command and config of
each setting (a setting this invocation does not run keeps what an earlier one wrote),
every run's measurements, and a summary at the last step that every full arm of a
setting reached (where a run diverged, also at the last step that every run measured,
the diverged ones included, so that all seeds still pair there). Numbers depend on the
machine and its load: the file records both.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import backprop, data, metrics, models, train  # noqa: E402
from stegutils.runs import append_line_atomic, json_line  # noqa: E402

# Chapter 6's short race (benchmarks/backprop.py) and this one summarise alike.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from backprop import objective, spread  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "race.json"
METRICS = ("loss", "cover_psnr", "secret_psnr", "cover_mpe", "secret_mpe", "cover_ssim",
           "secret_ssim")
#: Adam's constant learning rate (``--lr``). At 1e-3, two of three dilated runs of
#: chapter 6's setting diverged (the loss became NaN) between steps 250 and 500; the true
#: gradient did not.
LEARNING_RATE = 3e-4
HELDOUT_SEED = 1234


@dataclasses.dataclass(frozen=True)
class Arm:
    """One line of the race: a gradient source at a beta."""

    kind: str
    beta: float

    @property
    def name(self) -> str:
        return f"{self.kind}-beta{self.beta:g}"


SETTINGS = {
    "blog": {
        "description": "the blog post's setting: the seed networks, 100 BSDS500 train "
                       "photos resized whole to 80x80, 50 fixed secret/cover pairs, batch "
                       "8, beta 1",
        "config": dict(variant="seed", pairs="seed-recipe", size=80, batch_size=8,
                       beta=1.0),
        "steps_arg": "blog_steps",
        "arms": [Arm("autodiff", 1.0), Arm("dilated", 1.0)],
        "train_pairs": "the run's own 50 fixed training pairs",
        "heldout_pairs": "50 pairs of BSDS500 test photos resized whole to 80x80 "
                         f"(data.seed_recipe(test, size=80, seed={HELDOUT_SEED}))",
    },
    "ours": {
        "description": "chapter 6's setting: the seed networks, random 32 px crops of all "
                       "BSDS500 train photos, batch 4, beta 0.75 (autodiff also at larger "
                       "betas)",
        "config": dict(variant="seed", pairs="random-crop", size=32, batch_size=4,
                       beta=0.75),
        "steps_arg": "ours_steps",
        "arms": [Arm("dilated", 0.75), Arm("autodiff", 0.75), Arm("autodiff", 1.5),
                 Arm("autodiff", 3.0), Arm("autodiff", 6.0)],
        "train_pairs": "64 fixed 32 px crops of the training photos "
                       f"(data.heldout_pairs(train, size=32, count=64, seed={HELDOUT_SEED}))",
        "heldout_pairs": "64 fixed 32 px crops of BSDS500 test photos "
                         f"(data.heldout_pairs(test, size=32, count=64, seed={HELDOUT_SEED}))",
    },
}


# The blog post's setting, autodiff alone, run on past the race's end. By step 1500 of the
# race the dilated rule had diverged on two seeds of three and collapsed on the third; the
# true gradient was still climbing. This setting measures where it flattens.
SETTINGS["blog-long"] = dict(
    SETTINGS["blog"], steps_arg="long_steps", arms=[Arm("autodiff", 1.0)],
    description="the blog post's setting (as blog), autodiff alone, run on to measure "
                "where its curves flatten")


def run_name(setting, arm, seed):
    return f"{setting}-{arm.name}-seed{seed}"


def _read_jsonl(path):
    records = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut off by a kill
    return records


def _load():
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return [round(v, 2) for v in load]


class Run:
    """One run folder of the race, its trainer and its measurements."""

    def __init__(self, setting, arm, seed, *, steps, eval_every, work_dir, photos, pairs,
                 lr=LEARNING_RATE):
        self.setting, self.arm, self.seed, self.steps = setting, arm, seed, steps
        self.name = run_name(setting, arm, seed)
        self.folder = work_dir / self.name
        self.config = train.Config(
            **SETTINGS[setting]["config"] | {"beta": arm.beta}, steps=steps,
            lr=lr, lr_schedule="constant", seed=seed, precision="float32",
            data="bsds500", log_every=10, eval_every=10 ** 9, checkpoint_every=eval_every,
            keep_checkpoints=2)
        self.eval_every = eval_every
        self.photos = photos
        self.pairs = pairs  # {"train": Pairs, "heldout": Pairs}
        self.records_path = work_dir / f"{self.name}.jsonl"
        self.records = _read_jsonl(self.records_path)
        self.trainer = None
        self.traced = False  # whether this process has run (and so traced) a training step
        self.diverged = next((r for r in self.records if r.get("diverged")), None)

    @property
    def step(self):
        """The last step measured (-1 before the initial weights are measured)."""
        done = [r["step"] for r in self.records if "step" in r and not r.get("diverged")]
        return max(done, default=-1)

    @property
    def finished(self):
        return self.diverged is not None or self.step >= self.steps

    def _trainer(self):
        if self.trainer is None:
            self.trainer = backprop.make_trainer(
                self.config, self.folder, kind=self.arm.kind, train_images=self.photos,
                val_images=[])
        return self.trainer

    def measure(self, net):
        """The figures on the training and held-out pairs, containers rounded to 8 bits."""
        out = {}
        for split, pairs in self.pairs.items():
            containers = net.hide(pairs.covers, pairs.secrets, quantize=True)
            revealed = net.reveal(containers)
            summary = metrics.summarize(metrics.image_report(pairs.covers, containers,
                                                             pairs.secrets, revealed))
            out[split] = {key: summary[key] for key in METRICS if key in summary}
            out[split].update(objective(covers=pairs.covers, containers=containers,
                                        secrets=pairs.secrets, revealed=revealed,
                                        beta=self.arm.beta))
        return out

    def advance(self):
        """Train one segment (to the next multiple of ``eval_every``) and measure."""
        trainer = self._trainer()
        start = int(trainer.step.numpy())
        at_boundary = start % self.eval_every == 0 or start >= self.steps
        if (start == 0 and self.step < 0) or (start > self.step and at_boundary):
            target = start  # the initial weights, or trained but not measured (stopped)
        else:
            target = min(self.steps, (start // self.eval_every + 1) * self.eval_every)
        load_before = _load()
        cpu_before = time.process_time()
        began = time.perf_counter()
        try:
            if target > start:
                trainer.fit(target, progress=False)
        except train.TrainingError as error:
            self.diverged = {"diverged": True, "at_or_before_step": target,
                             "message": str(error).splitlines()[0]}
            append_line_atomic(self.records_path, json_line(self.diverged))
            self.records.append(self.diverged)
            return self.diverged
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_before
        step = int(trainer.step.numpy())
        if trainer.interrupted:
            return None
        if step == start:
            seconds = cpu = None
        # The first segment a process trains includes tracing the step function.
        first = not self.traced and step > start
        self.traced = self.traced or step > start
        record = {"step": step, "segment_steps": step - start, "segment_seconds": seconds,
                  "includes_tracing": first,
                  "seconds_per_step": seconds / (step - start) if seconds else None,
                  "process_cpu_seconds": cpu, "load_before": load_before,
                  "load_after": _load(), "time": time.time(), **self.measure(trainer.net)}
        history = train.Trainer.read_history(self.folder)
        window = [r for r in history if start < r["step"] <= step]
        if window:
            record["train_batches"] = {key: float(np.mean([r[key] for r in window]))
                                       for key in ("loss", "cover_psnr", "secret_psnr")}
        append_line_atomic(self.records_path, json_line(record))
        self.records.append(record)
        return record


def _at(run, step):
    return next((r for r in run.records if r.get("step") == step), None)


def _figures_at(arms, runs, step):
    """Each arm's figures at ``step`` over its seeds, and the differences paired by seed."""
    figures = {"arms": {}, "paired_differences": {}}
    # Where the curves flatten: the gain over the last quarter of the steps.
    eval_every = runs[0].eval_every
    early_step = (step * 3 // 4) // eval_every * eval_every
    for arm in arms:
        arm_runs = [r for r in runs if r.arm == arm and _at(r, step)]
        if not arm_runs:
            continue
        entry = {"seeds": [r.seed for r in arm_runs]}
        for split in ("train", "heldout"):
            entry[split] = {key: spread([_at(r, step)[split][key] for r in arm_runs])
                            for key in METRICS + ("cover_mse", "secret_mse")}
        measured_early = [r for r in arm_runs if early_step > 0 and _at(r, early_step)]
        if measured_early:
            entry["late_gain"] = {"from_step": early_step, "to_step": step, **{
                f"heldout_{key}": spread([_at(r, step)["heldout"][key]
                                          - _at(r, early_step)["heldout"][key]
                                          for r in measured_early])
                for key in ("secret_psnr", "cover_psnr")}}
        figures["arms"][arm.name] = entry
    # Paired by seed: same initial weights, same batches.
    base = arms[0]
    for arm in arms[1:]:
        pairs = [(a, b) for a in runs if a.arm == arm for b in runs
                 if b.arm == base and b.seed == a.seed and _at(a, step) and _at(b, step)]
        if len(pairs) < 1:
            continue
        figures["paired_differences"][f"{arm.name} - {base.name}"] = {
            split: {key: spread([_at(a, step)[split][key] - _at(b, step)[split][key]
                                  for a, b in pairs]) for key in METRICS}
            for split in ("train", "heldout")}
    return figures


def summarize_setting(setting, runs):
    """Figures at the last step every full arm of ``setting`` reached, over seeds."""
    arms = SETTINGS[setting]["arms"]
    full = [r for r in runs if r.setting == setting and r.arm.kind != "manual"]
    alive = [r for r in full if r.diverged is None]
    if not alive:
        return None
    common = min(r.step for r in alive)
    summary = {"common_step": common, "arms": {}, "paired_differences": {},
               "diverged": [r.name for r in full if r.diverged is not None]}
    if common == 0:
        return summary
    summary.update(_figures_at(arms, alive, common))
    # A run that diverged leaves its arm with fewer seeds from then on; the last step that
    # every run of the setting measured, the diverged ones included, still pairs them all.
    measured = [{rec["step"] for rec in r.records if "step" in rec} for r in full]
    shared = set.intersection(*measured) - {0}
    if summary["diverged"] and shared and max(shared) < common:
        before = max(shared)
        summary["before_divergence"] = {"common_step": before,
                                        **_figures_at(arms, full, before)}
    # Step times: within a round the arms ran one after the other, so the ratio of two
    # arms' segment times in the same round cancels the load they shared.
    timing = {}
    for arm in arms:
        per_round = {}
        for r in alive:
            if r.arm == arm:
                for rec in r.records:
                    if (rec.get("seconds_per_step") and not rec.get("includes_tracing")
                            and rec.get("segment_steps") == r.eval_every):
                        per_round.setdefault(rec["step"], []).append(rec["seconds_per_step"])
        timing[arm.name] = {str(step): float(np.mean(v)) for step, v in sorted(per_round.items())}
    summary["seconds_per_step_by_round"] = timing
    # The manual pass against the autodiff arm it shadows, step for step.
    manual = [r for r in runs if r.setting == setting and r.arm.kind == "manual"]
    checks = []
    for m in manual:
        twin = next((r for r in full if r.arm == Arm("autodiff", m.arm.beta)
                     and r.seed == m.seed), None)
        if twin is None or m.step == 0:
            continue
        a = {r["step"]: r["loss"] for r in train.Trainer.read_history(twin.folder)}
        b = {r["step"]: r["loss"] for r in train.Trainer.read_history(m.folder)}
        steps = sorted(set(a) & set(b))
        if not steps:
            continue
        rel = max(abs(a[s] - b[s]) / abs(a[s]) for s in steps)
        twin_rec, m_rec = _at(twin, m.step), _at(m, m.step)
        checks.append({
            "seed": m.seed, "steps_compared": len(steps), "last_step": steps[-1],
            "largest_relative_loss_difference": rel,
            "heldout_secret_psnr_difference": (m_rec["heldout"]["secret_psnr"]
                                               - twin_rec["heldout"]["secret_psnr"]
                                               if twin_rec and m_rec else None),
        })
    summary["manual_against_autodiff"] = checks
    return summary


def build_runs(args, work_dir):
    train_photos = data.photos("bsds500", "train")
    test_photos = data.photos("bsds500", "test")
    runs, floors = [], {}
    for setting in args.settings:
        spec = SETTINGS[setting]
        steps = getattr(args, spec["steps_arg"])
        size = spec["config"]["size"]
        for seed in args.seeds:
            if spec["config"]["pairs"] == "seed-recipe":
                secrets, covers = data.seed_recipe(train_photos, size=size, seed=seed,
                                                   allow_fewer=True)
                train_pairs = data.Pairs(secrets=secrets, covers=covers)
                heldout = data.seed_recipe(test_photos, size=size, seed=HELDOUT_SEED)
            else:
                train_pairs = data.heldout_pairs(train_photos, size=size, count=64,
                                                 seed=HELDOUT_SEED)
                heldout = data.heldout_pairs(test_photos, size=size, count=64,
                                             seed=HELDOUT_SEED)
            pairs = {"train": train_pairs, "heldout": heldout}
            floors[setting] = flat_floor(heldout.secrets)
            arms = list(spec["arms"])
            first_autodiff = next(a for a in arms if a.kind == "autodiff")
            for arm in arms:
                runs.append(Run(setting, arm, seed, steps=steps, eval_every=args.eval_every,
                                work_dir=work_dir, photos=train_photos, pairs=pairs,
                                lr=args.lr))
            if args.manual_steps > 0:
                runs.append(Run(setting, Arm("manual", first_autodiff.beta), seed,
                                steps=min(args.manual_steps, steps),
                                eval_every=args.eval_every, work_dir=work_dir,
                                photos=train_photos, pairs=pairs, lr=args.lr))
    return runs, floors


def flat_floor(secrets):
    """PSNR of the secrets against their own average colours, in 8 bits.

    What a reveal that recovered nothing but each secret's average colour would score:
    a secret PSNR near it means next to nothing of the secret came back. Computed from
    the squared error averaged over all pairs, since a flat crop (a patch of clear sky)
    would score an infinite PSNR of its own.
    """
    secrets = np.asarray(secrets, np.float32)
    flat = np.broadcast_to(secrets.mean(axis=(1, 2), keepdims=True), secrets.shape)
    flat = np.round(flat * 255) / 255
    return float(metrics.psnr_from_mse(np.mean((secrets - flat) ** 2)))


def write_results(args, runs, floors, began, command):
    result = {
        "command": command,
        "machine": models.machine_description(),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "wall_seconds_this_invocation": time.perf_counter() - began,
        "learning_rate": args.lr, "lr_schedule": "constant",
        "eval_every": args.eval_every, "manual_steps": args.manual_steps,
        "seeds": list(args.seeds),
        "settings": {},
    }
    for setting in args.settings:
        spec = SETTINGS[setting]
        setting_runs = [r for r in runs if r.setting == setting]
        config = setting_runs[0].config.to_dict()
        for key in ("seed", "beta", "steps"):
            config.pop(key)
        result["settings"][setting] = {
            "command": command,
            "description": spec["description"],
            "config": config,
            "steps": setting_runs[0].steps,
            "arms": [dataclasses.asdict(a) | {"name": a.name} for a in spec["arms"]],
            "train_pairs": spec["train_pairs"],
            "heldout_pairs": spec["heldout_pairs"],
            "heldout_flat_secret_psnr": floors[setting],
            "runs": [{"name": r.name, "kind": r.arm.kind, "beta": r.arm.beta,
                      "seed": r.seed, "steps": r.steps, "step": r.step,
                      "diverged": r.diverged,
                      "records": [{k: v for k, v in rec.items()} for rec in r.records
                                  if "step" in rec]}
                     for r in setting_runs],
            "summary": summarize_setting(setting, runs),
        }
    # A setting this invocation does not run keeps what an earlier one wrote.
    if args.out.exists():
        try:
            earlier = json.loads(args.out.read_text())
        except (OSError, json.JSONDecodeError):
            earlier = {}
        for name, setting in earlier.get("settings", {}).items():
            if name not in result["settings"]:
                # Files written before each setting named its command.
                setting.setdefault("command", earlier.get("command"))
                result["settings"][name] = setting
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, result)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=pathlib.Path, required=True,
                        help="folder for the run folders (outside the repository)")
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS),
                        default=["ours", "blog"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--blog-steps", type=int, default=3000)
    parser.add_argument("--ours-steps", type=int, default=3000)
    parser.add_argument("--long-steps", type=int, default=3000,
                        help="steps of the blog-long setting")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--lr", type=float, default=LEARNING_RATE,
                        help="Adam's constant learning rate (a run folder keeps its own)")
    parser.add_argument("--manual-steps", type=int, default=250,
                        help="steps of the manual pass beside each setting's first autodiff "
                             "arm (0: none)")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("give at least two seeds (the race reports a spread)")
    if not args.lr > 0:
        parser.error("--lr must be a positive number")
    for name in ("blog_steps", "ours_steps", "long_steps", "eval_every"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be a positive number of steps")

    began = time.perf_counter()
    argv_text = " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    # The run folders and a results file elsewhere than the default are this machine's
    # paths: the record names them by their role.
    argv_text = argv_text.replace(shlex.quote(str(args.work_dir)), "RUNS")
    if args.out != RESULTS:
        argv_text = argv_text.replace(shlex.quote(str(args.out)), "OUT")
    command = f"python benchmarks/race.py {argv_text}".strip()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    runs, floors = build_runs(args, args.work_dir)
    interrupted = False
    while not interrupted:
        pending = [r for r in runs if not r.finished]
        if not pending:
            break
        low = min(r.step for r in pending)
        for run in pending:  # one round: every run that is behind advances one segment
            if run.step > low:
                continue
            record = run.advance()
            if record is None:
                interrupted = True
                break
            if "step" in record:
                h = record["heldout"]
                pace = (f"{record['seconds_per_step']:.3f} s/step" if record["seconds_per_step"]
                        else "measured")
                print(f"{run.name:32} step {record['step']:5}  {pace:>13}  held-out cover "
                      f"{h['cover_psnr']:.2f} dB, secret {h['secret_psnr']:.2f} dB", flush=True)
            else:
                print(f"{run.name:32} diverged: {record['message']}", flush=True)
        write_results(args, runs, floors, began, command)
    write_results(args, runs, floors, began, command)
    print(f"wrote {args.out}" + (" (interrupted: run again to go on)" if interrupted else ""))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
