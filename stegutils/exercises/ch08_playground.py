"""Checkers for chapter 8 (Playground: hide your own pictures)."""

from __future__ import annotations

import numpy as np

from .. import attacks, data
from ._core import Case, call_student, checker, compare_array, missing

__all__ = ["ex_playground_jpeg_quality", "ex_playground_residual"]


# ----------------------------------------------------------- ex-playground-jpeg-quality

#: The qualities the exercise tries, from the best down.
QUALITIES = tuple(range(100, 0, -5))


def _smooth_image(rng, size):
    """A photo-like 8-bit image: smooth colour patches and a little grain."""
    coarse = rng.random((6, 6, 3)).astype(np.float32)
    image = data.resize(coarse, (size, size), method="bicubic")
    image = np.clip(image + 0.03 * rng.standard_normal((size, size, 3)), 0.0, 1.0)
    return data.to_float(data.to_uint8(image))


class _StandInNet:
    """A stand-in for a model, so that the checker needs no weights and runs in a blink.

    ``hide`` returns the cover, on the 8-bit grid, as the container; ``reveal`` returns
    the secret plus ``gain`` times whatever changed in the container since. So the
    revealed secret's PSNR is the attack's PSNR on the container minus
    ``20 log10(gain)`` dB, a curve the checker knows exactly.
    """

    def __init__(self, gain):
        self.gain = float(gain)
        self.container = None
        self.secret = None

    def hide(self, cover, secret, **options):
        self.container = data.to_float(data.to_uint8(np.asarray(cover)))
        self.secret = np.asarray(secret, np.float32)
        return self.container.copy()

    def reveal(self, container, **options):
        if self.container is None:
            raise RuntimeError("reveal was called before hide: hide the secret first")
        change = np.asarray(container, np.float32) - self.container
        return (self.secret + np.float32(self.gain) * change).astype(np.float32)

    def __repr__(self):
        return f"<a stand-in model, gain {self.gain:g}>"


def _psnr(a, b):
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _lowest(psnrs, threshold):
    """The rule: walk down from 100; the last quality before the first that fails."""
    lowest = None
    for quality in QUALITIES:
        if psnrs[quality] < threshold:
            break
        lowest = quality
    return lowest


@checker("ex-playground-jpeg-quality")
def ex_playground_jpeg_quality(student, *, report):
    """Check ``lowest_jpeg_quality(net, cover, secret, threshold=20.0) -> int or None``.

    The answer hides ``secret`` in ``cover`` with ``net.hide``, then tries JPEG
    qualities 100, 95, ..., 5 on the container (``widgets.apply_attack(container,
    "jpeg", q)`` or ``attacks.jpeg``), reveals each with ``net.reveal`` and returns the
    lowest quality reached before the revealed secret's PSNR against the secret first
    drops below ``threshold`` dB; ``None`` when quality 100 already does. The checker
    passes a stand-in model whose revealed PSNR it knows for every quality (no
    weights), and places each threshold halfway between two qualities' PSNRs, so that
    float rounding cannot decide a case. Four cases: the default threshold, another
    threshold, every quality passing, none passing.
    """
    rng = np.random.default_rng(801)
    cover, secret = _smooth_image(rng, 48), _smooth_image(rng, 48)
    container = data.to_float(data.to_uint8(cover))
    # The JPEG damage to the container, per quality: the stand-in shifts it by its gain.
    damage = {q: _psnr(container, attacks.jpeg(container, q)) for q in QUALITIES}

    def between(high, low):
        return (damage[high] + damage[low]) / 2

    default_gain = 10 ** ((between(50, 45) - 20.0) / 20)
    settings = [
        ("the default threshold (20 dB), a model that amplifies the damage", default_gain,
         None),
        ("threshold=%.2f dB", 1.0, between(30, 25)),
        ("threshold=%.2f dB, low enough for every quality", 1.0,
         min(damage.values()) - 1.0),
        ("threshold=%.2f dB, higher than even quality 100 keeps", 1.0,
         damage[100] + 1.0),
    ]
    for what, gain, threshold in settings:
        name = what % threshold if "%" in what else what
        psnrs = {q: p - 20 * np.log10(gain) for q, p in damage.items()}
        want = _lowest(psnrs, 20.0 if threshold is None else threshold)
        net = _StandInNet(gain)
        kwargs = {} if threshold is None else {"threshold": threshold}
        got = call_student(student, Case(name, (net, cover.copy(), secret.copy()), kwargs),
                           report)
        if missing(got):
            continue
        if got == want or (got is not None and want is not None and
                           isinstance(got, (int, float, np.integer, np.floating))
                           and float(got) == want):
            continue
        used = 20.0 if threshold is None else threshold
        if want is None:
            report(f"{name}: expected None (even quality 100 leaves the secret below "
                   f"{used:.2f} dB: {psnrs[100]:.2f} dB), got {got!r}. Hint: start with "
                   "lowest = None and return it when the first quality already fails")
            continue
        hint = ""
        if got is None:
            hint = (f"None means that even quality 100 fails, but it keeps "
                    f"{psnrs[100]:.2f} dB, above the threshold. Is the function finished "
                    "(does it return the lowest quality found)?")
        elif isinstance(got, (int, np.integer)) and got in QUALITIES:
            if got == want - 5:
                hint = (f"{got} is the first quality that fails ({psnrs[got]:.2f} dB); the "
                        "answer is the last one that passed")
            elif threshold is not None and got == _lowest(psnrs, 20.0):
                hint = ("that is the answer for 20 dB: use the threshold argument instead "
                        "of a fixed 20")
            elif got == _lowest(damage, used):
                hint = ("that is where the attacked container drops below the threshold "
                        "against the container; the question is about the revealed "
                        "secret against the secret: net.reveal(attacked)")
        report(f"{name}: expected {want} (revealed secret {psnrs[want]:.2f} dB at quality "
               f"{want}" + (f", {psnrs[want - 5]:.2f} dB at {want - 5}" if want > 5 else "")
               + f"), got {got!r}" + (f". Hint: {hint}" if hint else ""))
    return len(settings)


# ---------------------------------------------------------------- ex-playground-residual


@checker("ex-playground-residual")
def ex_playground_residual(student, *, report):
    """Check ``residual(container, cover, gain) -> image``.

    ``|container - cover| * gain``, clipped to ``[0, 1]`` (the playground's last panel,
    ``plot.residual_image``), on three small pairs: a gain of 10, a gain of 1, and a
    gain of 60 where most values are clipped.
    """
    rng = np.random.default_rng(802)
    cover = rng.random((2, 8, 6, 3)).astype(np.float32)
    # Changes of a few levels either way, as hiding makes them.
    container = np.clip(cover + rng.integers(-6, 7, cover.shape) / 255.0, 0, 1).astype(
        np.float32)
    settings = [(0, 10.0), (1, 1.0), (0, 60.0)]
    for index, gain in settings:
        name = f"one 8x6 pair, gain={gain:g}"
        got = call_student(student, Case(name, (container[index].copy(),
                                                cover[index].copy(), gain)), report)
        if missing(got):
            continue
        if got is None:
            report(f"{name}: your function returned None; expected an image of shape "
                   f"{cover[index].shape}. Is it finished? The other cases were skipped",
                   stop=True)
        difference = container[index].astype(np.float64) - cover[index]
        want = np.clip(np.abs(difference) * gain, 0, 1)
        hint = "np.clip(np.abs(container - cover) * gain, 0, 1)"
        try:
            array = np.asarray(got, np.float64)
        except (TypeError, ValueError):
            array = None
        if array is not None and array.shape == want.shape:
            if np.allclose(array, np.clip(difference * gain, 0, 1), atol=1e-5):
                hint = ("where the container is darker than the cover the residual is 0: "
                        "take the absolute value, np.abs(container - cover)")
            elif np.allclose(array, np.abs(difference) * gain, atol=1e-5):
                hint = ("values above 1 cannot be shown: clip to [0, 1] with np.clip, as "
                        "the panel does")
            elif np.allclose(array, np.clip(0.5 + difference * gain, 0, 1), atol=1e-5):
                hint = ("this is a signed residual around grey (0.5 + gain * (container - "
                        "cover)); the panel shows the size of the change, |container - "
                        "cover| * gain")
        compare_array(name, "the residual", got, want, report, rtol=0, atol=1e-5, hint=hint)
    return len(settings)
