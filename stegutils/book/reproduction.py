"""The reproduction table: the blog post, the paper, and this book's shipped models.

The book's back matter compares what each source trained on, with which networks and
budget, and how close its containers and revealed secrets came to the originals on
held-out photos. The rows of the cited works hold only what this book quotes from them
(with the citation key); everything in a row of this book's own models is read from
files that a named command wrote: the model cards in ``stegutils/weights/`` (the
training record) and ``benchmarks/results/quality.json`` (held-out quality, written by
``python benchmarks/quality.py``). A model added to ``stegutils/weights/`` gets its row
without any change here; a number missing from the files shows as "not measured".

Introduced in the back matter (Reproduction).
"""

from __future__ import annotations

import math

from stegutils.book import results as _results
from stegutils.book import timings as _timings

__all__ = ["CITED", "PAPER_MEAN_PIXEL_ERROR", "NOT_QUOTED", "NOT_MEASURED", "TRAINING_COLUMNS", "QUALITY_COLUMNS",
           "load_result", "model_row", "book_rows", "rows", "speed_rows", "markdown_table"]

#: What a cited row shows for a figure this book does not quote from its source.
NOT_QUOTED = "not quoted"

#: What a row of this book shows for a figure its results files do not hold.
NOT_MEASURED = "not measured"

#: The mean pixel errors (0-255) that the paper reports on ImageNet, the figures the
#: book's models are held against: the container against the cover, the revealed secret
#: against the secret {cite}`baluja2017hiding`.
PAPER_MEAN_PIXEL_ERROR = {"cover": 2.8, "secret": 3.6}

#: The cited works' rows. Only figures the book quotes from the source are filled in;
#: the rest say :data:`NOT_QUOTED` (the source may give them; this book does not repeat
#: them).
CITED = [
    {
        "source": "Blog post",
        "cite": "blogpost",
        "data": "100 photos from the Berkeley segmentation data set, resized to 80x80",
        "architecture": ("prep, hiding and reveal networks of five 50-channel "
                         "convolutions each, kernels 3x3, 4x4 and 5x5 (the book's `seed`)"),
        "budget": NOT_QUOTED,
        "cover": NOT_QUOTED,
        "secret": NOT_QUOTED,
        "measured_on": NOT_QUOTED,
        "time": NOT_QUOTED,
    },
    {
        "source": "The paper",
        "cite": "baluja2017hiding",
        "data": "ImageNet",
        "architecture": ("each layer 50 3x3, 10 4x4 and 5 5x5 filters side by side; prep "
                         "2 layers, hiding and reveal 5 (the book's `paper`)"),
        "budget": NOT_QUOTED,
        "cover": f"mean pixel error {PAPER_MEAN_PIXEL_ERROR['cover']}",
        "secret": f"mean pixel error {PAPER_MEAN_PIXEL_ERROR['secret']}",
        "measured_on": "ImageNet",
        "time": NOT_QUOTED,
    },
    {
        "source": "The journal version",
        "cite": "baluja2020hiding",
        "data": NOT_QUOTED,
        "architecture": "extends the 2017 system",
        "budget": NOT_QUOTED,
        "cover": NOT_QUOTED,
        "secret": NOT_QUOTED,
        "measured_on": NOT_QUOTED,
        "time": NOT_QUOTED,
    },
]

#: The columns of the table of how each model was trained: (row key, heading).
TRAINING_COLUMNS = (
    ("source", "Source"),
    ("data", "Training data"),
    ("architecture", "Networks"),
    ("budget", "Training budget"),
    ("time", "Training time"),
)

#: The columns of the table of held-out quality: (row key, heading).
QUALITY_COLUMNS = (
    ("source", "Source"),
    ("measured_on", "Measured on"),
    ("cover", "Cover error (container against cover)"),
    ("secret", "Secret error (revealed against secret)"),
)


def load_result(name: str, *, results_dir=None) -> dict | None:
    """A results file ``benchmarks/results/NAME`` as a dict, or ``None`` if missing or bad.

    ``results_dir`` overrides where to look; by default the places
    :func:`stegutils.book.results.find` searches (a checkout, the working directory, the copy
    inside an installed package).
    """
    return _results.load(name, results_dir=results_dir)


def _number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _error(summary, which):
    """ "mean pixel error 3.30, 35.88 dB PSNR" from a quality summary, or "not measured"."""
    if not isinstance(summary, dict):
        return NOT_MEASURED
    mpe, psnr = _number(summary.get(f"{which}_mpe")), _number(summary.get(f"{which}_psnr"))
    parts = []
    if mpe is not None:
        parts.append(f"mean pixel error {mpe:.2f}")
    if psnr is not None:
        parts.append(f"{psnr:.2f} dB PSNR")
    return ", ".join(parts) or NOT_MEASURED


def _data_words(config, training):
    config = config if isinstance(config, dict) else {}
    training = training if isinstance(training, dict) else {}
    source = training.get("data", config.get("data"))
    names = {"bsds500": "BSDS500", "builtin": "the built-in photos"}
    where = names.get(source, "a folder of photos" if source else "")
    split = training.get("split")
    if where and split and source == "bsds500":
        where += f" {split}"
    size = config.get("size")
    if config.get("pairs") == "seed-recipe":
        how = (f"the blog post's recipe: 100 photos resized whole to {size}x{size}, "
               "fixed pairs")
    elif size:
        how = f"random {size}x{size} crops"
    else:
        how = ""
    held = config.get("val_photos")
    text = ", ".join(part for part in (where, how) if part)
    if held:
        text += f" ({held} photos held out to pick the best checkpoint)"
    return text or NOT_MEASURED


def _budget_words(config, training):
    config = config if isinstance(config, dict) else {}
    training = training if isinstance(training, dict) else {}
    steps, planned = training.get("step"), config.get("steps")
    batch = config.get("batch_size")
    images = training.get("images_seen")
    if not steps:
        return NOT_MEASURED
    stages = training.get("stages")
    if stages:
        # Warm-started runs: the totals, then each run's share.
        shares = ", then ".join(
            f"{stage['step']:,}" + (f" at lr {stage['lr']:g}" if stage.get("lr") else "")
            for stage in stages)
        text = f"{steps:,} steps in {len(stages)} runs, each warm-started from the last ({shares})"
    else:
        text = f"{steps:,} steps"
    if not stages and planned and planned != steps:
        text = f"{steps:,} of {planned:,} steps (best checkpoint)"
    if batch:
        text += f", batch {batch}"
    if images:
        text += f" ({images:,} pairs seen)"
    return text


def _architecture_words(card):
    variant = card.get("variant") or (card.get("config") or {}).get("variant")
    parameters = card.get("parameters")
    total = parameters.get("total") if isinstance(parameters, dict) else None
    text = f"`{variant}`" if variant else NOT_MEASURED
    if isinstance(total, int):
        text += f", {total:,} parameters"
    return text


def _time_words(card):
    training = card.get("training") if isinstance(card.get("training"), dict) else {}
    seconds = _number(training.get("train_seconds"))
    if seconds is None or seconds <= 0:
        return NOT_MEASURED
    machine = card.get("machine")
    where = _timings.describe_machine(machine, gpu=bool(isinstance(machine, dict)
                                                        and machine.get("gpus")))
    return f"{_timings.format_duration(seconds)} on {where}"


def _heldout(name, card, quality, size):
    """The held-out summary at ``size`` px and the words for what it was measured on."""
    record = None
    models = quality.get("models") if isinstance(quality, dict) else None
    data = quality.get("data") if isinstance(quality, dict) else None
    if isinstance(models, dict) and isinstance(models.get(name), dict):
        record = models[name]
    elif isinstance(card.get("heldout"), dict):
        record = card["heldout"]
        data = record.get("data", data)
    sizes = record.get("sizes") if isinstance(record, dict) else None
    summary = sizes.get(str(size)) if isinstance(sizes, dict) else None
    if not isinstance(summary, dict):
        return None, NOT_MEASURED
    data = data if isinstance(data, dict) else {}
    names = {"bsds500": "BSDS500"}
    words = f"{summary.get('images', '?')} pairs of {size}x{size} crops"
    if data.get("source"):
        words += (f" of {names.get(data['source'], data['source'])} "
                  f"{data.get('split', '')} photos").replace("  ", " ")
    if data.get("containers"):
        words += f", {data['containers']} containers"
    return summary, words


def model_row(name: str, card: dict, quality: dict | None, *, size: int = 64) -> dict:
    """The row of one shipped model: its card for training, ``quality`` for held-out error.

    Parameters
    ----------
    name : str
        The model's name (its key in ``quality["models"]``).
    card : dict
        Its model card (:func:`stegutils.pretrained.card`).
    quality : dict or None
        ``benchmarks/results/quality.json`` as a dict. Where it has no entry for the
        model, the card's own ``heldout`` record is used.
    size : int, optional
        The crop size of the held-out measurement to show (64 or 256).
    """
    card = card if isinstance(card, dict) else {}
    config = card.get("config") if isinstance(card.get("config"), dict) else {}
    training = card.get("training") if isinstance(card.get("training"), dict) else {}
    summary, measured_on = _heldout(name, card, quality, size)
    return {
        "source": f"This book: `{name}`",
        "cite": None,
        "name": name,
        "data": _data_words(config, training),
        "architecture": _architecture_words(card),
        "budget": _budget_words(config, training),
        "time": _time_words(card),
        "measured_on": measured_on,
        "cover": _error(summary, "cover"),
        "secret": _error(summary, "secret"),
        "summary": summary,
    }


def book_rows(*, results_dir=None, size: int = 64) -> list[dict]:
    """One row per shipped model (:func:`stegutils.pretrained.list`), read from the files."""
    from stegutils import pretrained

    quality = load_result("quality.json", results_dir=results_dir)
    found = []
    for name in pretrained.list():
        try:
            card = pretrained.card(name)
        except ValueError:
            card = {}
        found.append(model_row(name, card, quality, size=size))
    return found


def rows(*, results_dir=None, size: int = 64) -> list[dict]:
    """The whole table: the cited works (:data:`CITED`), then this book's models."""
    return [dict(row) for row in CITED] + book_rows(results_dir=results_dir, size=size)


def speed_rows(*, results_dir=None) -> list[dict]:
    """Training throughput and hide+reveal latency per variant and precision (speed.json).

    Each row: ``variant``, ``precision``, ``train_images_per_second``,
    ``hide_reveal_seconds``, ``train_size``, ``latency_size`` and the ``machine`` words.
    Empty when the file is missing.
    """
    speed = load_result("speed.json", results_dir=results_dir)
    if not isinstance(speed, dict) or not isinstance(speed.get("rows"), list):
        return []
    machine = _timings.describe_machine(speed.get("machine"))
    found = []
    for row in speed["rows"]:
        if not isinstance(row, dict):
            continue
        found.append({
            "variant": row.get("variant"),
            "precision": row.get("precision"),
            "train_images_per_second": _number(row.get("train_images_per_second")),
            "hide_reveal_seconds": _number(row.get("hide_reveal_256_seconds")),
            "train_size": speed.get("train_size"),
            "latency_size": speed.get("latency_size"),
            "batch_size": speed.get("batch_size"),
            "machine": machine,
            "command": speed.get("command", "").strip(),
        })
    return found


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(table_rows, columns=TRAINING_COLUMNS + QUALITY_COLUMNS[1:]) -> str:
    """The rows as a Markdown (MyST) table; a cited row's source carries its citation.

    ``columns`` is a sequence of (row key, heading), e.g. :data:`TRAINING_COLUMNS`.
    """
    lines = ["| " + " | ".join(title for _, title in columns) + " |",
             "|" + "|".join(" --- " for _ in columns) + "|"]
    for row in table_rows:
        cells = []
        for key, _ in columns:
            value = row.get(key, "")
            if key == "source" and row.get("cite"):
                value = f"{value} {{cite:p}}`{row['cite']}`"
            cells.append(_cell(value if value not in (None, "") else NOT_MEASURED))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
