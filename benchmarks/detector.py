"""Train, measure and ship the steganalysis detector (``stegutils detect``).

    python benchmarks/detector.py [--models fast invertible] [--steps 600] [--out-dir DIR]

Chapter 7's small CNN on high-pass residuals (:func:`stegutils.attacks.build_detector`)
learns to tell containers from clean photos: the containers of each model in
``--models`` (default: the default model, ``fast`` and ``invertible``, those shipped),
and as clean photos the *same covers* (cover/stego pairs, as in steganalysis
benchmarks), so that only what hiding adds tells them apart.

- **Training**: random crops of the BSDS500 *train* photos, secrets and covers from
  different photos, all but the last ``--val-photos`` of them (sorted by name).
- **Threshold**: chosen (:func:`stegutils.attacks.fit_threshold`) on crops of those
  last training photos, which the detector never trained on.
- **Measured** after that choice, never used for it: AUC and accuracy at the threshold
  on centred crops of the BSDS500 *test* photos at 64 and 256 px (256 px is one tile of
  :func:`stegutils.detection.score`), on crops of the built-in test photos
  (``stegutils.data.photos("builtin", "test")``), and on those photos whole (each hidden
  with another as its secret), scored as ``stegutils detect`` scores a file.

Writes ``detector.weights.h5`` and its card ``detector.json`` (default
``stegutils/weights/``): the architecture, the threshold, the models (with their
weights' SHA-256), every figure, this command, the training time and the machine, and
the weights' SHA-256. Needs BSDS500 (``STEGUTILS_DATA``). ``--quick`` runs a tiny
version into a temporary folder, to check the script.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from stegutils import attacks, data, detection, models, pretrained  # noqa: E402


def random_crop_pairs(photos, *, size, count, seed):
    """``count`` (secret, cover) random crops, the two from different photos."""
    rng = np.random.default_rng(seed)
    photos = [image for image in photos if min(image.shape[:2]) >= size]
    secrets, covers = [], []
    for _ in range(count):
        cover_index = int(rng.integers(len(photos)))
        secret_index = (cover_index + int(rng.integers(1, len(photos)))) % len(photos)
        covers.append(data.random_crop(photos[cover_index], size, rng=rng))
        secrets.append(data.random_crop(photos[secret_index], size, rng=rng))
    return np.stack(secrets).astype(np.float32), np.stack(covers).astype(np.float32)


def containers_of(nets, secrets, covers):
    """Per model: ``(clean covers, containers)`` of the pairs (8-bit, as a PNG keeps)."""
    return {name: (covers, net.hide(cover=covers, secret=secrets, quantize=True))
            for name, net in nets.items()}


def measure(model, sets, threshold, *, score=None):
    """AUC and accuracy over all models' sets, and per model."""
    def scores(images):
        if score is not None:
            return np.array([score(image) for image in images])
        return attacks.detector_scores(model, images)

    per_model, all_labels, all_scores = {}, [], []
    for name, (clean, stego) in sets.items():
        labels = np.r_[np.zeros(len(clean)), np.ones(len(stego))]
        values = np.r_[scores(clean), scores(stego)]
        per_model[name] = {"auc": attacks.roc_auc(labels, values),
                           "accuracy": attacks.accuracy(labels, values, threshold),
                           "images": int(len(labels))}
        all_labels.append(labels)
        all_scores.append(values)
    labels, values = np.concatenate(all_labels), np.concatenate(all_scores)
    return {"auc": attacks.roc_auc(labels, values),
            "accuracy": attacks.accuracy(labels, values, threshold),
            "images": int(len(labels)), "per_model": per_model}, labels, values


def whole_photos(model, nets, photos, threshold):
    """The built-in test photos whole, clean and as containers (the next photo hidden)."""
    rows = []
    for index, cover in enumerate(photos):
        secret = data.resize(photos[(index + 1) % len(photos)], cover.shape[:2],
                             method="area")
        rows.append({"photo": index, "model": None, "label": 0,
                     "score": detection.score(model, cover)})
        for name, net in nets.items():
            container = net.hide(cover=cover, secret=secret, quantize=True)
            rows.append({"photo": index, "model": name, "label": 1,
                         "score": detection.score(model, container)})
    labels = np.array([row["label"] for row in rows])
    values = np.array([row["score"] for row in rows])
    return {"images": len(rows), "photos": len(photos),
            "accuracy": attacks.accuracy(labels, values, threshold),
            "scores": rows}


def _without_out_dir(argv):
    """The command's words without ``--out-dir``: where it wrote changes no figure, and a
    card does not carry this machine's folders."""
    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--out-dir":
            skip = True
        elif not word.startswith("--out-dir="):
            words.append(word)
    return words


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None,
                        help="shipped hiding models whose containers it learns (default: "
                        "the default model, fast and invertible)")
    parser.add_argument("--size", type=int, default=64, help="training crop side (64)")
    parser.add_argument("--train-pairs", type=int, default=400, help="pairs per model (400)")
    parser.add_argument("--val-photos", type=int, default=20,
                        help="last training photos kept for the threshold (20)")
    parser.add_argument("--val-pairs", type=int, default=100, help="pairs per model (100)")
    parser.add_argument("--test-pairs", type=int, default=200,
                        help="held-out pairs per model at 64 px (200; 50 at 256 px)")
    parser.add_argument("--steps", type=int, default=600, help="Adam steps (600)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=pathlib.Path, default=None,
                        help="where to write the detector (default: stegutils/weights)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run into a temporary folder (checks the script)")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_pairs, args.val_pairs, args.test_pairs, args.steps = 16, 8, 8, 5
        args.out_dir = args.out_dir or pathlib.Path(tempfile.mkdtemp(prefix="detector-"))

    shipped = pretrained.list()
    names = args.models or [pretrained.DEFAULT_MODEL, "fast", "invertible"]
    names = [n for i, n in enumerate(names) if n not in names[:i] and n in shipped]
    if not names:
        parser.error(f"none of the models is shipped (shipped: {', '.join(shipped)})")
    nets, cards = {}, {}
    for name in names:
        nets[name], cards[name] = pretrained.load(name)

    source = "bsds500"
    if args.quick:
        train_all, source = data.photos_or_builtin("bsds500", "train")
        test_photos, _ = data.photos_or_builtin("bsds500", "test")
    else:
        train_all = data.photos("bsds500", "train")
        test_photos = data.photos("bsds500", "test")
    val_photos = train_all[-args.val_photos:]
    train_photos = train_all[:-args.val_photos]
    builtin = data.photos("builtin", "test")
    print(f"models {', '.join(names)}; {source} train: {len(train_photos)} photos for "
          f"training, {len(val_photos)} for the threshold; test: {len(test_photos)} photos, "
          f"built-in test: {len(builtin)}", flush=True)

    sets = {}
    for index, name in enumerate(names):
        secrets, covers = random_crop_pairs(train_photos, size=args.size,
                                            count=args.train_pairs, seed=100 + index)
        sets[name] = (covers, nets[name].hide(cover=covers, secret=secrets, quantize=True))
    clean = np.concatenate([pair[0] for pair in sets.values()])
    stego = np.concatenate([pair[1] for pair in sets.values()])
    start = time.perf_counter()
    model, losses = attacks.train_detector(
        clean, stego, model=attacks.build_detector(width=args.width, depth=args.depth,
                                                   seed=args.seed),
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        progress=True)
    train_seconds = time.perf_counter() - start
    print(f"trained {args.steps} steps in {train_seconds:.0f} s; loss of the last 20 steps "
          f"{np.mean(losses[-20:]):.4f}", flush=True)

    val_secrets, val_covers = random_crop_pairs(val_photos, size=args.size,
                                                count=args.val_pairs, seed=200)
    val_sets = containers_of(nets, val_secrets, val_covers)
    _, labels, values = measure(model, val_sets, 0.5)
    threshold = attacks.fit_threshold(labels, values)
    validation, _, _ = measure(model, val_sets, threshold)
    validation.update({"photos": len(val_photos), "pairs_per_model": args.val_pairs,
                       "size": args.size,
                       "note": f"the last {len(val_photos)} training photos (sorted by "
                               "name), not trained on, chose the threshold"})

    heldout = {}
    for key, photos, size, count in (
            ("bsds500_test", test_photos, args.size, args.test_pairs),
            ("bsds500_test_256", test_photos, 256, max(2, args.test_pairs // 4)),
            ("builtin_test", builtin, args.size, max(2, args.test_pairs // 4))):
        secrets, covers = data.heldout_pairs(photos, size=size, count=count, seed=1234)
        scorer = (lambda image: detection.score(model, image)) if size > args.size else None
        figures, _, _ = measure(model, containers_of(nets, secrets, covers), threshold,
                                score=scorer)
        figures.update({"size": size, "pairs_per_model": count, "crop_seed": 1234,
                        "source": "builtin" if key.startswith("builtin") else source,
                        "split": "test"})
        heldout[key] = figures
        print(f"{key:17} {size:3d} px: AUC {figures['auc']:.4f}, accuracy "
              f"{figures['accuracy']:.4f} at threshold {threshold:.3f} "
              f"({figures['images']} images; "
              + ", ".join(f"{n} AUC {v['auc']:.4f}" for n, v in figures["per_model"].items())
              + ")", flush=True)
    heldout["builtin_whole"] = whole_photos(model, nets, builtin, threshold)
    print(f"built-in test photos whole: accuracy {heldout['builtin_whole']['accuracy']:.3f} "
          f"({heldout['builtin_whole']['images']} images)", flush=True)

    info = {
        "architecture": {"builder": "stegutils.attacks.build_detector",
                         "width": args.width, "depth": args.depth},
        "threshold": float(threshold),
        "scoring": {"tile": detection.TILE, "max_tiles": detection.MAX_TILES,
                    "rule": "container when the score is at least the threshold"},
        "models": [{"name": name, "variant": cards[name].get("variant"),
                    "sha256": cards[name].get("sha256")} for name in names],
        "training": {"data": source, "split": "train", "photos": len(train_photos),
                     "pairs_per_model": args.train_pairs, "size": args.size,
                     "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
                     "seed": args.seed, "train_seconds": round(train_seconds, 1),
                     "final_loss": float(np.mean(losses[-20:])),
                     "clean": "the same covers the containers were made from"},
        "validation": validation,
        "heldout": heldout,
        "command": "python benchmarks/detector.py " + " ".join(_without_out_dir(argv)),
        "machine": models.machine_description(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    card_path = detection.save(model, info, args.out_dir)
    print(f"wrote {card_path} and its weights")


if __name__ == "__main__":
    main()
