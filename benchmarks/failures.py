"""When hiding fails, measured: attacks, leaks, detection and mitigations (chapter 7).

    python benchmarks/failures.py [--models fast seed ...] [--quick]

For each model (shipped names or run folders; missing ones are skipped with a note),
on pairs of crops from the BSDS500 *test* photos (the models train on BSDS500 train):

- secret PSNR after JPEG at several qualities (with and without chroma subsampling),
  Gaussian noise, downscaling and back,
  bit-depth reduction, and a crop whose offset is even or odd;
- reveal error against the secret's colourfulness (Hasler and Suesstrunk), with
  Pearson's and Spearman's correlations, per image;
- how much the residual ``|container - cover|`` gives away: its correlation with the
  secret's edges, against the cover's edges and another secret's edges (the null);
- what revealing from a clean photo (no secret) returns;
- two detectors that tell containers from clean photos, trained on containers of
  BSDS500 *train* crops and measured on test crops: a small CNN on high-pass residuals
  and a threshold on the high-pass residual energy (AUC and accuracy);
- a mitigation against the leak: hiding a key-scrambled secret (pixels and 8x8 tiles);

and for the first model only, a mitigation against attacks: copies fine-tuned briefly
(Adam, ``stegutils.attacks.finetune``) with Gaussian noise or a straight-through JPEG
between hiding and revealing, against a control fine-tuned for as many steps with
neither, each measured on the same test pairs.

Results go to ``benchmarks/results/failures.json`` (with the command, the machine and
wall times); chapter 7 reads them. Needs BSDS500 (``STEGUTILS_DATA``).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import attacks, data, metrics, models, pretrained, train  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "failures.json"

JPEG_QUALITIES = [100, 95, 90, 80, 70, 50, 30]
NOISE_LEVELS = [0, 1, 2, 4, 8, 16, 32]  # standard deviations in grey levels (of 255)
RESIZE_FACTORS = [1.0, 0.9, 0.75, 0.5, 0.25]
BIT_DEPTHS = [8, 7, 6, 5, 4]
FINETUNE_QUALITIES = [100, 90, 70, 50]  # fewer points for the fine-tuned copies
FINETUNE_NOISE = [0, 4, 8, 16, 32]
SCRAMBLE_KEY = 2017
SCRAMBLE_BLOCKS = [1, 8]


def _log(message):
    print(message, flush=True)


def _mean(values):
    return float(np.mean(values))


def _available(name):
    """Whether a model name (shipped) or a run folder can be loaded."""
    return pathlib.Path(name).is_dir() or name in pretrained.list()


def attack_curves(net, *, covers, secrets, containers):
    """Secret PSNR under each attack, plus the even/odd crop."""
    noise_levels = [v / 255 for v in NOISE_LEVELS]
    pairs = {"covers": covers, "secrets": secrets, "containers": containers}
    curves = {
        "jpeg": attacks.attack_curve(net, attacks.jpeg, JPEG_QUALITIES, **pairs),
        "jpeg_444": attacks.attack_curve(net, attacks.jpeg, JPEG_QUALITIES, **pairs,
                                         chroma_subsampling=False),
        "noise": attacks.attack_curve(net, attacks.gaussian_noise, noise_levels, **pairs,
                                      seed=0),
        "resize": attacks.attack_curve(net, attacks.downscale, RESIZE_FACTORS, **pairs),
        "bit_depth": attacks.attack_curve(net, attacks.reduce_bit_depth, BIT_DEPTHS,
                                          **pairs),
    }
    curves["noise"]["values_255"] = NOISE_LEVELS
    size = secrets.shape[1] - 8
    crops = {"size": size, "offsets": [], "secret_psnr": []}
    for offset in (0, 1, 2, 3):
        where = (offset, offset)
        revealed = net.reveal(attacks.crop(containers, size, offset=where))
        crops["offsets"].append(offset)
        crops["secret_psnr"].append(
            _mean(metrics.psnr(attacks.crop(secrets, size, offset=where), revealed)))
    curves["crop"] = crops
    return curves


def leak_report(*, covers, secrets, containers, gain):
    other = np.roll(secrets, 1, axis=0)  # another pair's secret: the null
    return {
        "gain": gain,
        "secret_edges": _mean(attacks.residual_leak(containers, covers, secrets)),
        "secret_edges_std": float(np.std(attacks.residual_leak(containers, covers, secrets))),
        "cover_edges": _mean(attacks.residual_leak(containers, covers, covers)),
        "other_secret_edges": _mean(attacks.residual_leak(containers, covers, other)),
        "residual_mean_255": float(np.mean(np.abs(containers - covers)) * 255),
    }


def colour_report(*, covers, secrets, containers, revealed):
    secret_colour = attacks.colourfulness(secrets)
    cover_colour = attacks.colourfulness(covers)
    secret_error = metrics.mean_pixel_error(secrets, revealed)
    cover_error = metrics.mean_pixel_error(covers, containers)
    return {
        "secret_colourfulness": secret_colour.tolist(),
        "secret_mpe": secret_error.tolist(),
        "secret_psnr": metrics.psnr(secrets, revealed).tolist(),
        "cover_colourfulness": cover_colour.tolist(),
        "cover_mpe": cover_error.tolist(),
        "pearson_secret": float(stats.pearsonr(secret_colour, secret_error)[0]),
        "spearman_secret": float(stats.spearmanr(secret_colour, secret_error)[0]),
        "pearson_cover": float(stats.pearsonr(cover_colour, cover_error)[0]),
        "spearman_cover": float(stats.spearmanr(cover_colour, cover_error)[0]),
        "pearson_secret_vs_cover_colourfulness": float(
            stats.pearsonr(cover_colour, secret_error)[0]),
    }


def clean_report(net, *, covers, secrets):
    """Reveal from photos that hold no secret."""
    revealed = attacks.reveal_clean(net, covers)
    return {
        "psnr_vs_photo": _mean(metrics.psnr(covers, revealed)),
        "correlation_vs_photo": _mean(attacks.correlation(revealed, covers)),
        "psnr_vs_secret": _mean(metrics.psnr(secrets, revealed)),
        "psnr_mid_grey_vs_secret": _mean(metrics.psnr(secrets, np.full_like(secrets, 0.5))),
        "mean": float(revealed.mean()),
        "std": float(revealed.std()),
        "colourfulness": _mean(attacks.colourfulness(revealed)),
        "photo_colourfulness": _mean(attacks.colourfulness(covers)),
    }


def scramble_report(net, *, covers, secrets, containers, revealed):
    report = {"key": SCRAMBLE_KEY, "plain": {
        "secret_psnr": _mean(metrics.psnr(secrets, revealed)),
        "cover_psnr": _mean(metrics.psnr(covers, containers)),
        "leak_secret_edges": _mean(attacks.residual_leak(containers, covers, secrets)),
    }}
    for block in SCRAMBLE_BLOCKS:
        scrambled = attacks.scramble(secrets, SCRAMBLE_KEY, block=block)
        hidden = net.hide(covers, scrambled, quantize=True)
        out = net.reveal(hidden)
        report[f"block{block}"] = {
            "block": block,
            "secret_psnr": _mean(metrics.psnr(
                secrets, attacks.unscramble(out, SCRAMBLE_KEY, block=block))),
            "wrong_key_psnr": _mean(metrics.psnr(
                secrets, attacks.unscramble(out, SCRAMBLE_KEY + 1, block=block))),
            "cover_psnr": _mean(metrics.psnr(covers, hidden)),
            "leak_secret_edges": _mean(attacks.residual_leak(hidden, covers, secrets)),
            "leak_scrambled_edges": _mean(attacks.residual_leak(hidden, covers, scrambled)),
        }
    return report


def detection_report(net, train_photos, test_photos, args):
    size = args.detector_size
    train_secrets, train_covers = data.heldout_pairs(train_photos, size=size,
                                                     count=args.detector_train, seed=7)
    test_secrets, test_covers = data.heldout_pairs(test_photos, size=size,
                                                   count=args.detector_test,
                                                   seed=args.seed + 1)
    # Clean photos and containers come from the same covers (cover/stego pairs, as in
    # steganalysis benchmarks): the detector sees one image at a time, so only what
    # hiding added can tell them apart.
    result = attacks.run_steganalysis(
        train_covers, net.hide(train_covers, train_secrets, quantize=True),
        test_covers, net.hide(test_covers, test_secrets, quantize=True),
        steps=args.detector_steps, seed=0)
    result["cnn"].pop("model")
    result["size"] = size
    result["steps"] = args.detector_steps
    result["train_source"] = "bsds500 train"
    result["test_source"] = "bsds500 test"
    return result


def finetune_report(net, card, train_photos, args, *, covers, secrets):
    beta = float(card.get("config", {}).get("beta", 0.75))
    runs = {"control": {}, "noise": {"noise": args.finetune_noise / 255},
            "jpeg": {"jpeg_quality": args.finetune_jpeg}}
    report = {"steps": args.finetune_steps, "lr": args.finetune_lr, "beta": beta,
              "batch_size": 8, "size": 64, "noise_255": args.finetune_noise,
              "jpeg_quality": args.finetune_jpeg,
              "method": "stegutils.attacks.finetune: a copy of the shipped model, Adam, "
                        "train.compute_losses with noise (straight-through JPEG for the "
                        "jpeg run), random 64px crops of BSDS500 train",
              "runs": {}}
    nets = {"shipped": net}
    for name, options in runs.items():
        start = time.perf_counter()
        tuned, history = attacks.finetune(net, train_photos, steps=args.finetune_steps,
                                          beta=beta, lr=args.finetune_lr,
                                          precision="auto", seed=0, **options)
        nets[name] = tuned
        report["runs"][name] = {"options": options, "train_seconds":
                                round(time.perf_counter() - start, 1),
                                "final_loss": history[-1]}
        _log(f"  fine-tuned {name}: {args.finetune_steps} steps in "
             f"{report['runs'][name]['train_seconds']:.0f} s")
    report["runs"]["shipped"] = {"options": None}
    for name, model in nets.items():
        containers = model.hide(covers, secrets, quantize=True)
        revealed = model.reveal(containers)
        entry = report["runs"][name]
        entry["cover_psnr"] = _mean(metrics.psnr(covers, containers))
        entry["secret_psnr"] = _mean(metrics.psnr(secrets, revealed))
        pairs = {"covers": covers, "secrets": secrets, "containers": containers}
        entry["jpeg"] = attacks.attack_curve(model, attacks.jpeg, FINETUNE_QUALITIES,
                                             **pairs)
        entry["noise"] = attacks.attack_curve(model, attacks.gaussian_noise,
                                              [v / 255 for v in FINETUNE_NOISE], **pairs,
                                              seed=0)
        entry["noise"]["values_255"] = FINETUNE_NOISE
        _log(f"  {name:8} cover {entry['cover_psnr']:.2f} dB  secret "
             f"{entry['secret_psnr']:.2f} dB  JPEG q70 "
             f"{entry['jpeg']['secret_psnr'][FINETUNE_QUALITIES.index(70)]:.2f} dB  noise 16 "
             f"{entry['noise']['secret_psnr'][FINETUNE_NOISE.index(16)]:.2f} dB")
    return report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["fast", "seed"],
                        help="shipped model names or run folders; missing ones are skipped")
    parser.add_argument("--size", type=int, default=96, help="side of the test crops")
    parser.add_argument("--count", type=int, default=64, help="test pairs for the curves")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the test crops")
    parser.add_argument("--gain", type=float, default=10.0, help="residual amplification")
    parser.add_argument("--detector-size", type=int, default=64)
    parser.add_argument("--detector-train", type=int, default=400,
                        help="training pairs (each gives a clean photo and a container)")
    parser.add_argument("--detector-test", type=int, default=200, help="test pairs")
    parser.add_argument("--detector-steps", type=int, default=300)
    parser.add_argument("--finetune-steps", type=int, default=120,
                        help="fine-tuning steps per run (0: skip fine-tuning)")
    parser.add_argument("--finetune-lr", type=float, default=1e-4)
    parser.add_argument("--finetune-pairs", type=int, default=32,
                        help="test pairs (the first of --count) measured per fine-tuned copy")
    parser.add_argument("--finetune-noise", type=float, default=8.0,
                        help="noise std in grey levels (of 255) for the noise run")
    parser.add_argument("--finetune-jpeg", type=int, default=75,
                        help="JPEG quality for the JPEG run")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts and steps, to check that the script runs")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.detector_train, args.detector_test = 8, 32, 16
        args.detector_steps, args.finetune_steps = 10, 3
        if args.out == RESULTS:  # a check, not a result: keep it out of the book
            args.out = pathlib.Path(tempfile.gettempdir()) / "failures-quick.json"

    started = time.perf_counter()
    names = [name for name in args.models if _available(name)]
    for name in args.models:
        if name not in names:
            _log(f"note: no model {name!r} (shipped: {pretrained.list()}); skipping it")
    if not names:
        parser.error("none of the models named exists")
    train_photos = data.photos("bsds500", "train")
    test_photos = data.photos("bsds500", "test")
    secrets, covers = data.heldout_pairs(test_photos, size=args.size, count=args.count,
                                         seed=args.seed)
    results = {
        "command": "python benchmarks/failures.py " + " ".join(argv),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": models.machine_description(),
        "data": {"source": "bsds500", "split": "test", "photos": len(test_photos),
                 "pairs": args.count, "size": args.size, "crop_seed": args.seed,
                 "containers": "rounded to 8 bits (as a PNG stores them)"},
        "skipped": [name for name in args.models if name not in names],
        "models": {},
    }
    if args.out.exists():
        # Keep the models this run does not measure (each records its own command).
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        results["models"].update(previous.get("models", {}))
    for name in names:
        net, card = pretrained.load(name)
        key = card.get("name", str(name))
        _log(f"{key}: variant {card['variant']}")
        seconds = {}
        entry = {"command": results["command"], "time": results["time"],
                 "variant": card["variant"], "card_sha256": card.get("sha256"),
                 "trained_steps": (card.get("training") or {}).get("step")}

        start = time.perf_counter()
        containers = net.hide(covers, secrets, quantize=True)
        revealed = net.reveal(containers)
        entry["clean"] = {"cover_psnr": _mean(metrics.psnr(covers, containers)),
                          "secret_psnr": _mean(metrics.psnr(secrets, revealed)),
                          "images": len(secrets)}
        entry["attacks"] = attack_curves(net, covers=covers, secrets=secrets,
                                         containers=containers)
        seconds["attacks"] = time.perf_counter() - start
        _log(f"  clean: cover {entry['clean']['cover_psnr']:.2f} dB, secret "
             f"{entry['clean']['secret_psnr']:.2f} dB; JPEG "
             + ", ".join(f"q{q} {p:.1f}" for q, p in zip(
                 JPEG_QUALITIES, entry["attacks"]["jpeg"]["secret_psnr"]))
             + "; 4:4:4 " + ", ".join(f"q{q} {p:.1f}" for q, p in zip(
                 JPEG_QUALITIES, entry["attacks"]["jpeg_444"]["secret_psnr"])))

        start = time.perf_counter()
        made = {"covers": covers, "secrets": secrets, "containers": containers}
        entry["colourfulness"] = colour_report(**made, revealed=revealed)
        entry["leak"] = leak_report(**made, gain=args.gain)
        entry["reveal_clean"] = clean_report(net, covers=covers, secrets=secrets)
        entry["scramble"] = scramble_report(net, **made, revealed=revealed)
        seconds["leaks"] = time.perf_counter() - start
        _log(f"  colourfulness vs secret error: r = "
             f"{entry['colourfulness']['pearson_secret']:.2f}; residual vs secret edges "
             f"r = {entry['leak']['secret_edges']:.2f} (other secret "
             f"{entry['leak']['other_secret_edges']:.2f}); scrambled: "
             f"{entry['scramble']['block1']['leak_secret_edges']:.2f}, "
             f"{entry['scramble']['block1']['secret_psnr']:.1f} dB")

        start = time.perf_counter()
        entry["detection"] = detection_report(net, train_photos, test_photos, args)
        seconds["detection"] = time.perf_counter() - start
        _log(f"  detection on {entry['detection']['test_images']} test images: CNN AUC "
             f"{entry['detection']['cnn']['auc']:.3f}, energy AUC "
             f"{entry['detection']['energy']['auc']:.3f}")

        if name == names[0] and args.finetune_steps > 0:
            start = time.perf_counter()
            pairs = min(args.finetune_pairs, len(secrets))
            ft_secrets, ft_covers = secrets[:pairs], covers[:pairs]
            entry["finetune"] = finetune_report(net, card, train_photos, args,
                                                covers=ft_covers, secrets=ft_secrets)
            entry["finetune"]["pairs"] = len(ft_secrets)
            seconds["finetune"] = time.perf_counter() - start
        entry["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
        results["models"][key] = entry
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train.write_json_atomic(args.out, results)
    _log(f"wrote {args.out} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
