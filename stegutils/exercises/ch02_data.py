"""Checkers for chapter 2 (Preparing the data)."""

from __future__ import annotations

import collections
import hashlib
import math

import numpy as np
import tensorflow as tf

from .. import data
from ._core import Case, call_student, checker, compare_array, missing, returned_none

__all__ = ["ex_data_square", "ex_data_prefetch", "ex_data_own_split"]


# ------------------------------------------------------------------------ ex-data-square


def _square_cases():
    rng = np.random.default_rng(202)
    # Even differences between the sides, so that "centred" has one meaning.
    shapes = [((30, 46, 3), 16, "a landscape photo"), ((46, 30, 3), 16, "a portrait photo"),
              ((24, 24, 3), 8, "a square photo"), ((90, 120, 3), None, "the default size")]
    cases = []
    for shape, size, what in shapes:
        photo = rng.random(shape, dtype=np.float32)
        if size is None:
            cases.append(Case(f"{what} ({shape[0]}x{shape[1]}, no size given)", (photo,)))
        else:
            cases.append(Case(f"{what} ({shape[0]}x{shape[1]}, size={size})", (photo, size)))
    return cases


@checker("ex-data-square")
def ex_data_square(student, *, report):
    """Check ``square_then_resize(photo, size=80) -> image``.

    The answer cuts the largest centred square out of the photo (side
    ``min(height, width)``, ``data.center_crop``) and resizes it to ``size`` x ``size``
    with ``data.resize``. Four cases: landscape, portrait, already square, and the
    default size of 80.
    """
    cases = _square_cases()
    said = set()
    for case in cases:
        photo = case.args[0]
        size = case.args[1] if len(case.args) > 1 else 80
        got = call_student(student, case, report)
        if missing(got):
            continue
        if returned_none(case.name, got, f"an image of shape ({size}, {size}, 3)", report):
            break
        want = data.resize(data.center_crop(photo, min(photo.shape[:2])), size)
        array = np.asarray(got, dtype=np.float64) if got is not None else None
        if array is not None and array.shape == want.shape:
            if np.allclose(array, data.resize(photo, size), atol=1e-4) and \
                    photo.shape[0] != photo.shape[1]:
                report(f"{case.name}: " + ("squeezed, as above" if "squeezed" in said else
                       "this is the whole photo squeezed to a square, as the blog post "
                       "did. Hint: first cut the largest centred square, of side "
                       "min(height, width), with data.center_crop"))
                said.add("squeezed")
                continue
            if size <= min(photo.shape[:2]) and np.allclose(
                    array, data.center_crop(photo, size), atol=1e-4) and \
                    min(photo.shape[:2]) != size:
                report(f"{case.name}: " + ("only the middle, as above" if "middle" in said else
                       f"this is only the middle {size}x{size} pixels of the photo, which "
                       "throws most of it away. Hint: crop a square of side "
                       "min(height, width), then resize that square to size"))
                said.add("middle")
                continue
        compare_array(case.name, "the image", got, want, report, atol=1e-4,
                      hint="" if "values" in said else
                      "crop with data.center_crop(photo, min(photo.shape[:2])), then "
                      "resize with data.resize(square, size) (area averaging)")
        said.add("values")
    return len(cases)


# ---------------------------------------------------------------------- ex-data-prefetch


def _window_index(crop, images):
    """(image, row, column) of the first window of ``images`` equal to ``crop``, or None."""
    size_h, size_w = crop.shape[:2]
    for index, image in enumerate(images):
        height, width = image.shape[:2]
        for row in range(height - size_h + 1):
            for column in range(width - size_w + 1):
                if np.allclose(image[row:row + size_h, column:column + size_w], crop,
                               atol=1e-6):
                    return index, row, column
    return None


@checker("ex-data-prefetch")
def ex_data_prefetch(student, *, report):
    """Check ``crop_pipeline(images, size, batch_size, parallel=False) -> tf.data.Dataset``.

    The dataset must be endless, yield float32 batches of shape
    ``(batch_size, size, size, 3)``, and every image in them must be a ``size`` x
    ``size`` window of one of ``images`` (a crop, not a resized image), taken at random
    places. Checked with ``parallel=False`` and ``parallel=True`` (which should only
    change how fast it runs). Timing is left to the reader.
    """
    rng = np.random.default_rng(203)
    settings = [(rng.random((4, 12, 12, 3), dtype=np.float32), 8, 4, False),
                (rng.random((5, 10, 14, 3), dtype=np.float32), 6, 3, True)]
    for images, size, batch_size, parallel in settings:
        name = (f"{len(images)} images of {images.shape[1]}x{images.shape[2]}, size={size}, "
                f"batch_size={batch_size}, parallel={parallel}")
        case = Case(name, (images, size, batch_size), {"parallel": parallel})
        dataset = call_student(student, case, report)
        if missing(dataset):
            continue
        if returned_none(name, dataset, "a tf.data.Dataset", report):
            break
        if not isinstance(dataset, tf.data.Dataset):
            report(f"{name}: expected a tf.data.Dataset, got {type(dataset).__name__}")
            continue
        # Enough batches for about a dozen crops of each image.
        wanted = 3 * math.ceil(len(images) * 4 / batch_size)
        try:
            batches = [np.asarray(batch) for batch in dataset.take(wanted)]
        except Exception as error:  # noqa: BLE001 (the reader's pipeline may raise anything)
            report(f"{name}: reading batches from your dataset raised "
                   f"{type(error).__name__}: {error}")
            continue
        if len(batches) < wanted:
            report(f"{name}: the dataset ended after {len(batches)} "
                   f"batch{'es' if len(batches) != 1 else ''}; a training "
                   "stream should never end. Hint: .repeat() before .batch()")
            continue
        expected = (batch_size, size, size, 3)
        bad = [(i, b.shape) for i, b in enumerate(batches) if b.shape != expected]
        if bad:
            index, shape = bad[0]
            hint = ""
            if shape == expected[1:]:
                hint = ". Hint: the elements are single crops: add .batch(batch_size)"
            elif len(shape) == 4 and shape[1:] != expected[1:]:
                hint = ". Hint: tf.image.random_crop(image, [size, size, 3])"
            report(f"{name}: batch {index} has shape {shape}, expected {expected}{hint}")
            continue
        if batches[0].dtype != np.float32:
            report(f"{name}: the batches are {batches[0].dtype}, expected float32")
            continue
        places = collections.defaultdict(set)
        stray = None
        for b, batch in enumerate(batches):
            for i, crop in enumerate(batch):
                where = _window_index(crop, images)
                if where is None:
                    stray = (b, i)
                    break
                places[where[0]].add(where[1:])
            if stray:
                break
        if stray:
            report(f"{name}: image {stray[1]} of batch {stray[0]} is not a window of "
                   f"{size}x{size} pixels of any input image (did you resize, or change "
                   "the values, instead of cropping?). Hint: tf.image.random_crop")
            continue
        fixed = [index for index, seen in places.items() if len(seen) == 1]
        if len(fixed) == len(places):
            report(f"{name}: every crop of an image comes from the same place; expected "
                   "random places. Hint: crop inside .map(), after .repeat(), with "
                   "tf.image.random_crop")
        unseen = sorted(set(range(len(images))) - set(places))
        if unseen:
            report(f"{name}: images {unseen} never appear in {wanted} batches; every "
                   "image should, in every epoch")
    return len(settings)


# --------------------------------------------------------------------- ex-data-own-split


def _fingerprint(photo):
    array = np.asarray(photo)
    pixels = data.to_uint8(array) if array.dtype != np.uint8 else array
    return hashlib.sha256(repr(pixels.shape).encode() + pixels.tobytes()).hexdigest()


class _NotTwoLists(Exception):
    """The reader's split returned something other than two lists of photos."""


def _as_two_lists(name, got, report):
    """The (train, test) pair as two lists of fingerprints; reports and raises
    :class:`_NotTwoLists` if it is not one (the same would go wrong in every case)."""
    if returned_none(name, got, "a pair (training photos, test photos)", report):
        raise _NotTwoLists
    try:
        train, test = got
    except (TypeError, ValueError):
        report(f"{name}: expected a pair (training photos, test photos), got "
               f"{type(got).__name__}")
        raise _NotTwoLists from None
    lists = []
    for role, photos in (("training", train), ("test", test)):
        try:
            photos = list(photos)
        except TypeError:
            report(f"{name}: the {role} list is a {type(photos).__name__}, expected a list "
                   "of photos")
            raise _NotTwoLists from None
        for photo in photos:
            shape = np.shape(photo)
            if len(shape) != 3 or shape[-1] != 3:
                report(f"{name}: the {role} list holds {type(photo).__name__} of shape "
                       f"{shape}; expected the photos themselves, arrays (height, width, 3)"
                       " (did you return indices?). The other cases were skipped")
                raise _NotTwoLists
        try:
            lists.append([_fingerprint(photo) for photo in photos])
        except (TypeError, ValueError) as error:
            report(f"{name}: the {role} list holds something that is not a photo ({error})")
            raise _NotTwoLists from None
    return lists


def _split_photos(count, copies, seed):
    """``count`` distinct small photos, then copies of the photos at the ``copies`` positions."""
    rng = np.random.default_rng(seed)
    photos = [rng.integers(0, 256, (6, 8, 3), dtype=np.uint8).astype(np.float32) / 255
              for _ in range(count)]
    return photos + [photos[i].copy() for i in copies]


@checker("ex-data-own-split")
def ex_data_own_split(student, *, report):
    """Check ``split(photos, test_fraction, seed) -> (training photos, test photos)``.

    Every photo must land in exactly one of the two lists (compared by content); the
    test list holds about ``test_fraction`` of them (the number rounded either way, at
    least one); the same seed gives the same split and different seeds different ones;
    and a photo that is in the folder twice (the same pixels) must not end up on both
    sides. Twelve cases: three fractions, one of seeds, eight with copies.
    """
    try:
        _check_split(student, report)
    except _NotTwoLists:
        pass
    return 12


def _check_split(student, report):
    photos = _split_photos(10, (), seed=204)
    index = {_fingerprint(p): i for i, p in enumerate(photos)}
    for fraction, seed in ((0.2, 0), (0.3, 1), (0.5, 2)):
        name = f"10 photos, test_fraction={fraction}, seed={seed}"
        got = call_student(student, Case(name, (photos, fraction, seed)), report)
        if missing(got):
            continue
        train, test = _as_two_lists(name, got, report)
        counts = collections.Counter(train + test)
        lost = sorted(i for f, i in index.items() if f not in counts)
        twice = sorted(index[f] for f, c in counts.items() if c > 1 and f in index)
        foreign = [f for f in counts if f not in index]
        if foreign:
            report(f"{name}: {len(foreign)} returned photo(s) are not any of the input "
                   "photos (did you change their values?)")
        if lost:
            report(f"{name}: photos {lost} are in neither list")
        if twice:
            report(f"{name}: photos {twice} are returned more than once"
                   + (" (in both lists)" if set(train) & set(test) else ""))
        if foreign or lost or twice:
            continue
        target = fraction * len(photos)
        if not (len(test) >= 1 and abs(len(test) - target) < 1):
            report(f"{name}: the test list holds {len(test)} photos, expected about "
                   f"{target:g} (test_fraction x {len(photos)}, at least 1)")

    # The same seed, the same split; other seeds, other splits.
    tests = []
    for seed in (5, 5, 6, 7, 8):
        name = f"10 photos, test_fraction=0.3, seed={seed}"
        got = call_student(student, Case(name, (photos, 0.3, seed)), report)
        if missing(got):
            break
        tests.append(frozenset(_as_two_lists(name, got, report)[1]))
    if len(tests) == 5:
        if tests[0] != tests[1]:
            report("seed=5 twice: two calls with the same seed chose different test "
                   "photos. Hint: draw from np.random.default_rng(seed), not from a "
                   "generator that remembers earlier calls")
        elif len(set(tests)) == 1:
            report("seeds 5, 6, 7 and 8 all chose the same test photos; expected a "
                   "random choice that depends on the seed. Hint: "
                   "np.random.default_rng(seed).permutation(len(photos))")

    # Copies of one photo stay together.
    copies = (3, 5)
    doubled = _split_photos(10, copies, seed=205)
    for seed in range(8):
        name = (f"12 photos of which photos 10 and 11 are copies of photos {copies[0]} and "
                f"{copies[1]}, test_fraction=0.5, seed={seed}")
        got = call_student(student, Case(name, (doubled, 0.5, seed)), report)
        if missing(got):
            continue
        train, test = _as_two_lists(name, got, report)
        if set(train) & set(test):
            report(f"{name}: the same photo (the same pixels) is in both lists. Hint: "
                   "group identical photos by content (a hash of their bytes, like "
                   "fingerprints) and split the groups, not the positions")
            break
        if not train or not test:
            report(f"{name}: one of the lists is empty")
