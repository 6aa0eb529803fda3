"""Reading, checking and pairing photos, and the ``tf.data`` pipelines that feed training.

Introduced in chapter 2 (Preparing the data).

Everything here follows the package's convention: an image is a ``float32`` array with
values in ``[0, 1]`` and shape ``(height, width, 3)``; a batch adds a leading axis.
``uint8`` appears only where files are read or written (:func:`load_image`,
:func:`save_image`, :func:`to_uint8`).

The module has four parts:

- files: :func:`load_image`, :func:`save_image`, :func:`to_uint8`, :func:`to_float`;
- geometry: :func:`resize`, :func:`center_crop`, :func:`random_crop`,
  :func:`crop_to_multiple`, :func:`pad_to_multiple`, :func:`fit_within`;
- sources of photos: :func:`builtin_photos` (offline, shipped by the dependencies),
  :func:`bsds500_paths` (the Berkeley benchmark, downloaded and cached),
  :func:`folder_paths`, :func:`load_images` and :func:`photos`, which picks one
  (:func:`photos_or_builtin` falls back to the built-in photos when it cannot);
- pairs of secrets and covers: :func:`seed_recipe` (the blog post's 80x80 recipe),
  :func:`random_pairs` and :func:`fixed_pairs` (infinite, resumable ``tf.data``
  pipelines), :func:`heldout_pairs` (a fixed evaluation set) and :func:`image_dataset`
  (the classic ``tf.data`` pipeline the chapter builds step by step).

What returns pairs returns the secrets first, everywhere in this module:
:func:`seed_recipe` and :func:`heldout_pairs` return a :class:`Pairs`
``(secrets, covers)`` whose fields can also be read by name, and the datasets yield
plain ``(secret, cover)`` tuples (plain, because ``Dataset.map`` passes only a plain
tuple to a function as separate arguments). What takes both takes them by keyword
(:func:`fixed_pairs`), as :meth:`stegutils.models.StegoNet.hide` takes the cover first.
"""

import contextlib
import functools
import hashlib
import importlib.util
import io
import json
import os
import pathlib
import re
import shutil
import tarfile
import tempfile
import typing
import urllib.error
import urllib.request
import warnings
from importlib import resources

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps, UnidentifiedImageError

from stegutils import files as _files

__all__ = [
    "MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "BUILTIN_PHOTOS",
    "BSDS500_URL",
    "BSDS500_SHA256",
    "BSDS500_SPLITS",
    "load_image",
    "save_image",
    "jpeg_round_trip",
    "to_uint8",
    "to_float",
    "resize",
    "center_crop",
    "random_crop",
    "crop_to_multiple",
    "pad_to_multiple",
    "fit_within",
    "fit_secret",
    "builtin_photos",
    "bsds500_paths",
    "folder_paths",
    "load_images",
    "photos",
    "photos_or_builtin",
    "Pairs",
    "seed_recipe",
    "random_pairs",
    "fixed_pairs",
    "heldout_pairs",
    "image_dataset",
]

#: Largest image (width times height) that :func:`load_image` decodes by default: about
#: a 40-megapixel photo, 480 MB as float32. Larger files are refused from their header,
#: before any decoding, so a small "decompression bomb" cannot fill the memory.
MAX_PIXELS = 40_000_000

#: File name extensions that :func:`folder_paths` takes for images (lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")

_EXPECTED_FILE = (
    "expected an image file that Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP, ...)"
)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def _bad_image(name, problem, expected=_EXPECTED_FILE):
    return ValueError(f"cannot read image {name!r}: {problem}; {expected}")


def load_image(path, *, max_pixels=MAX_PIXELS, name=None, dtype="float32"):
    """Read an image file as a ``float32`` RGB array in ``[0, 1]`` (or ``uint8``).

    Introduced in chapter 2 (Preparing the data).

    Any image that Pillow reads is accepted and converted to RGB: grayscale (``L``, ``1``)
    is repeated on the three channels; palette images (``P``) take their palette's
    colours; 16-bit images (``I;16`` and ``I``, as in 16-bit PNG and TIFF files) are
    scaled from ``0..65535`` to ``0..1`` without losing their extra precision; ``F``
    (32-bit float) images are taken to hold values in ``[0, 1]``; CMYK is converted with
    Pillow's formula. Transparent images (``RGBA``, ``LA``, ``PA`` and palette or
    grayscale images with a transparent colour) are **composited over a white
    background**, as a browser shows them. The EXIF orientation tag is applied, so a
    phone photo comes out the right way up. Of a multi-frame file (animated GIF,
    multi-page TIFF) only the first frame is read.

    Parameters
    ----------
    path : str, os.PathLike, bytes or file-like object
        The file to read; a path, the file's bytes, or an open binary file (such as an
        upload in the playground's widget).
    max_pixels : int, optional
        Refuse images with more than this many pixels (width times height). The check
        uses the file's header only, before decoding. Pillow's own decompression-bomb
        limit (``PIL.Image.MAX_IMAGE_PIXELS``) applies too, unless ``max_pixels`` is
        larger than it; twice Pillow's limit is refused whatever ``max_pixels`` says.
    name : str, optional
        What to call the image in error messages; by default the path, or
        ``"<upload>"`` for bytes and file objects.
    dtype : {"float32", "uint8"}, optional
        ``"uint8"`` returns the 8-bit values, a quarter of the memory (a 40-megapixel
        photo is 120 MB instead of 480 MB): an 8-bit file's pixels as stored, without a
        float copy; other files (16-bit, float, transparent) are converted as above and
        rounded to 8 bits (:func:`to_uint8`).

    Returns
    -------
    numpy.ndarray
        ``float32`` array of shape ``(height, width, 3)`` with values in ``[0, 1]``, or
        ``uint8`` with ``dtype="uint8"``.

    Raises
    ------
    ValueError
        If the path does not exist, is a directory or an empty file, if the file is not
        an image, is truncated or corrupt, or has more than ``max_pixels`` pixels. The
        message names the file.
    TypeError
        If ``path`` is none of the accepted types.
    """
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}")
    if isinstance(path, (bytes, bytearray, memoryview)):
        name = "<upload>" if name is None else name
        return _decode(io.BytesIO(bytes(path)), name, max_pixels, dtype)
    if hasattr(path, "read"):
        name = "<upload>" if name is None else name
        content = path.read()
        if not isinstance(content, (bytes, bytearray)):
            raise TypeError(
                f"cannot read image {name!r}: expected a file opened in binary mode "
                f"('rb'), got one that returns {type(content).__name__}"
            )
        return _decode(io.BytesIO(content), name, max_pixels, dtype)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            "load_image expected a path (str or pathlib.Path), bytes or a binary file "
            f"object, got {type(path).__name__}"
        )
    file = pathlib.Path(path)
    name = str(file) if name is None else name
    if not file.exists():
        raise _bad_image(name, "no such file")
    if file.is_dir():
        raise _bad_image(name, "it is a directory, not a file")
    if file.stat().st_size == 0:
        raise _bad_image(name, "the file is empty (0 bytes)")
    with open(file, "rb") as stream:
        return _decode(stream, name, max_pixels, dtype)


def _decode(stream, name, max_pixels, dtype="float32"):
    """Decode an open binary stream into RGB, checking its size from the header."""
    if max_pixels is None or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive number of pixels, got {max_pixels!r}")
    pillow_limit = Image.MAX_IMAGE_PIXELS
    # Pillow warns (and, at twice its limit, raises) about decompression bombs while it
    # opens a file. Its warning becomes our error unless the caller raised the limit.
    action = "error" if pillow_limit is None or max_pixels <= pillow_limit else "ignore"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(action, Image.DecompressionBombWarning)
            image = Image.open(stream)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _bad_image(
            name,
            f"it is larger than Pillow's decompression-bomb limit ({err})",
            f"expected at most {max_pixels:,} pixels",
        ) from None
    except UnidentifiedImageError:
        stream.seek(0, os.SEEK_END)
        if stream.tell() == 0:
            raise _bad_image(name, "the file is empty (0 bytes)") from None
        raise _bad_image(name, "Pillow does not recognise it as an image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise _bad_image(name, f"its header is corrupt ({err})") from None

    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise _bad_image(
                name,
                f"it is {width}x{height} = {width * height:,} pixels, over the limit "
                f"of {max_pixels:,}",
                "expected a smaller image (pass a larger max_pixels if you trust the file)",
            )
        # The limit above has already been checked, so Pillow's warning is noise here.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()
        except MemoryError:
            raise
        except Exception as err:  # Pillow raises many kinds for broken data
            problem = "it is truncated" if "truncat" in str(err).lower() else "it is corrupt"
            raise _bad_image(name, f"{problem} ({err})") from None
        try:
            image = ImageOps.exif_transpose(image)
        except MemoryError:
            raise
        except Exception:
            # A broken EXIF block should not make a readable photo unreadable.
            pass
        if dtype == "uint8":
            return _to_rgb_uint8(image, name)
        return _to_rgb_array(image, name)


def _to_rgb_uint8(image, name):
    """An 8-bit RGB array of a loaded Pillow image: its own values for 8-bit modes."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if image.mode in ("RGB", "L", "P", "1", "CMYK", "YCbCr", "LAB", "HSV") and not has_alpha:
        try:
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"),
                              dtype=np.uint8)
        except (ValueError, OSError) as err:
            raise _bad_image(
                name, f"Pillow cannot convert its mode {image.mode!r} to RGB ({err})"
            ) from None
    return to_uint8(_to_rgb_array(image, name))


def _to_rgb_array(image, name):
    """Convert a loaded Pillow image of any mode to float32 RGB in [0, 1]."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit data: scale 0..65535 to 0..1 (Pillow's convert("RGB") would clip to 255).
        gray = np.asarray(image).astype(np.float32)
        gray = np.clip(gray, 0, 65535) / 65535.0
        return np.repeat(gray[:, :, None], 3, axis=2).astype(np.float32)
    if mode == "F":
        gray = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[:, :, 3:]
        # Composite over white: colour * alpha + white * (1 - alpha).
        return (rgba[:, :, :3] * alpha + (1.0 - alpha)).astype(np.float32)
    if mode != "RGB":
        try:
            image = image.convert("RGB")
        except (ValueError, OSError) as err:
            raise _bad_image(
                name, f"Pillow cannot convert its mode {mode!r} to RGB ({err})"
            ) from None
    return np.asarray(image, dtype=np.float32) / np.float32(255.0)


def _as_image(image, what="image", *, batch=False):
    """Validate one image (or, with batch=True, also a batch) and return float32 [0, 1]."""
    if isinstance(image, (list, tuple)):
        raise TypeError(
            f"{what} must be an array of shape (height, width, 3), got a {type(image).__name__}"
        )
    array = np.asarray(image)
    allowed = "(height, width, 3) or (batch, height, width, 3)" if batch else "(height, width, 3)"
    ndims = (3, 4) if batch else (3,)
    if array.ndim not in ndims or array.shape[-1] != 3:
        hint = "; take one image of the batch (image[0])" if array.ndim == 4 and not batch else ""
        raise ValueError(f"{what} must have shape {allowed}, got shape {array.shape}{hint}")
    if array.shape[-2] < 1 or array.shape[-3] < 1:
        raise ValueError(f"{what} must have at least one pixel, got shape {array.shape}")
    return to_float(array, what=what)


def to_uint8(image):
    """Round an image to 8 bits: the form it takes in a file.

    Introduced in chapter 2 (Preparing the data).

    Parameters
    ----------
    image : array_like
        Float image(s) in ``[0, 1]`` (values outside are clipped, as a network's output
        may overshoot slightly), or ``uint8`` image(s), returned unchanged. Any shape.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of the same shape: ``round(255 * image)`` clipped to ``0..255``.

    Raises
    ------
    ValueError
        If a float image contains NaN.
    TypeError
        If the array is neither float nor ``uint8``.
    """
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"to_uint8 expected a float image in [0, 1] or uint8, got dtype {array.dtype}"
        )
    if np.isnan(array).any():
        raise ValueError("to_uint8 expected a float image in [0, 1], got one that contains NaN")
    return np.clip(np.round(array.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)


def to_float(image, *, what="image"):
    """Bring an image to the library's form: ``float32`` in ``[0, 1]``.

    Introduced in chapter 2 (Preparing the data).

    Parameters
    ----------
    image : array_like
        ``uint8`` image(s) (divided by 255) or float image(s) in ``[0, 1]`` (passed
        through as ``float32``). Any shape.
    what : str, optional
        What to call the argument in error messages.

    Returns
    -------
    numpy.ndarray
        ``float32`` array of the same shape with values in ``[0, 1]``.

    Raises
    ------
    ValueError
        If a float image has values outside ``[0, 1]`` (beyond rounding error) or NaN;
        a float image with values up to 255 is a ``uint8`` image cast too early.
    TypeError
        If the array is neither float nor ``uint8``.
    """
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{what} must be float in [0, 1] or uint8, got dtype {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if array.size == 0:
        return array
    low, high = float(np.min(array)), float(np.max(array))
    if np.isnan(low) or np.isnan(high):
        raise ValueError(f"{what} must be float in [0, 1], got values that include NaN")
    tolerance = 1e-4  # rounding error of resizing and of float arithmetic
    if low < -tolerance or high > 1 + tolerance:
        hint = " (it looks like 0..255: divide by 255, or pass uint8)" if high > 1.5 else ""
        raise ValueError(f"{what} must be float in [0, 1], got values in [{low:g}, {high:g}]{hint}")
    if low < 0 or high > 1:
        array = np.clip(array, 0.0, 1.0)
    return array


def save_image(path, image, *, format=None, compress_level=None):
    """Write one image to a file, atomically.

    Introduced in chapter 2 (Preparing the data).

    The image is written to a temporary file in the same folder, which then replaces
    ``path`` in one step (``os.replace``): a reader never sees a half-written file, and
    a failure leaves an existing file at ``path`` as it was; temporary files that a
    killed earlier save left in that folder are removed. Save containers as PNG:
    JPEG (Pillow's default quality, 75) destroys what is hidden in them.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write. Its folder must exist.
    image : array_like
        One image, ``(height, width, 3)``, float in ``[0, 1]`` (rounded to 8 bits) or
        ``uint8``.
    format : str, optional
        Pillow's format name (``"PNG"``, ``"JPEG"``, ...); by default taken from the
        file name's extension.
    compress_level : int, optional
        For PNG files: zlib's level, 0 (none) to 9 (smallest, slowest); Pillow's
        default (6) when not given. The pixels are the same at every level (PNG is
        lossless); a low level writes a large photo faster, in a
        slightly larger file.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If the image is a batch or does not have 3 channels, if the format cannot be
        told from the extension, or if the folder does not exist.
    """
    file = pathlib.Path(path)
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        hint = "; save one image at a time (image[i])" if array.ndim == 4 else ""
        raise ValueError(
            f"cannot save {str(file)!r}: expected one RGB image of shape (height, width, 3), "
            f"got shape {array.shape}{hint}"
        )
    pixels = to_uint8(array if array.dtype == np.uint8 else to_float(array))
    options = {}
    if compress_level is not None:
        if isinstance(compress_level, bool) or compress_level not in range(10):
            raise ValueError(f"compress_level must be an int from 0 to 9, got "
                             f"{compress_level!r}")
        options["compress_level"] = int(compress_level)
    if format is None:
        format = Image.registered_extensions().get(file.suffix.lower())
        if format is None:
            raise ValueError(
                f"cannot save {str(file)!r}: cannot tell the format from the extension "
                f"{file.suffix!r}; expected .png, .jpg, ... or a format= argument"
            )
    folder = file.parent
    if not folder.is_dir():
        raise ValueError(
            f"cannot save {str(file)!r}: expected an existing folder, {str(folder)!r} is not one"
        )
    _files.remove_orphaned_temporaries(folder)
    if options and format.upper() != "PNG":
        options = {}  # a PNG setting: other formats have their own
    _files.write_bytes_atomic(
        file, lambda stream: Image.fromarray(pixels).save(stream, format=format, **options))
    return file


def jpeg_round_trip(images, quality: int, *, chroma_subsampling: bool = True):
    """Encode images as JPEG files at ``quality`` and decode them (Pillow, in memory).

    The one real JPEG of the library: what a photo-sharing site does to an upload
    (libjpeg's standard tables; 4:2:0 chroma subsampling unless
    ``chroma_subsampling=False``). :func:`stegutils.attacks.jpeg` checks its arguments
    and calls it; training validates a channel-trained run with it.

    Parameters
    ----------
    images : array_like
        ``(height, width, 3)`` or a batch, float in ``[0, 1]`` (rounded to 8 bits, as a
        file would be) or ``uint8``.
    quality : int
        1 to 100 (checked by Pillow).
    chroma_subsampling : bool, optional

    Returns
    -------
    numpy.ndarray
        The decoded images, ``float32`` in ``[0, 1]``, the shape of ``images``.

    Introduced in chapter 7 (When hiding fails).
    """
    pixels = to_uint8(images)
    batch = pixels if pixels.ndim == 4 else pixels[np.newaxis]
    out = np.empty(batch.shape, np.float32)
    for index, image in enumerate(batch):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality),
                                    subsampling=2 if chroma_subsampling else 0)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out[index] = np.asarray(decoded.convert("RGB"), np.float32) / np.float32(255.0)
    return out if pixels.ndim == 4 else out[0]


# --------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------

_RESIZE_METHODS = ("area", "bilinear", "bicubic", "lanczos3", "nearest")


def _size_pair(size, what="size"):
    """Turn an int or a (height, width) pair into a checked pair of positive ints."""
    if isinstance(size, (bool, np.bool_)):
        raise TypeError(f"{what} must be an int or a (height, width) pair, got {size!r}")
    if isinstance(size, (int, np.integer)):
        pair = (int(size), int(size))
    else:
        try:
            pair = tuple(int(s) for s in size)
        except TypeError:
            raise TypeError(
                f"{what} must be an int or a (height, width) pair, got {size!r}"
            ) from None
        if len(pair) != 2:
            raise ValueError(f"{what} must be an int or a (height, width) pair, got {size!r}")
    if min(pair) < 1:
        raise ValueError(f"{what} must be at least 1 pixel, got {size!r}")
    return pair


def _positive_int(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{what} must be at least 1, got {value}")
    return int(value)


def resize(image, size, *, method="area"):
    """Resize an image (or a batch) to a given size, ignoring its aspect ratio.

    Introduced in chapter 2 (Preparing the data).

    Uses ``tf.image.resize``. The default, ``"area"``, averages the pixels that each
    output pixel covers: the right way to shrink a photo without aliasing. (When it
    enlarges, area repeats pixels like ``"nearest"``; use ``"bicubic"`` to enlarge
    smoothly.) ``"bilinear"``, ``"bicubic"`` and ``"lanczos3"`` are antialiased.

    Parameters
    ----------
    image : array_like
        ``(height, width, 3)`` or ``(batch, height, width, 3)``, float in ``[0, 1]`` or
        ``uint8``.
    size : int or (int, int)
        The new size: an int for a square, or ``(height, width)``.
    method : {"area", "bilinear", "bicubic", "lanczos3", "nearest"}, optional
        The interpolation.

    Returns
    -------
    numpy.ndarray
        ``float32`` image(s) of the new size, clipped to ``[0, 1]``.

    Raises
    ------
    ValueError
        If the image's shape, the size or the method is not one of those above.
    """
    array = _as_image(image, batch=True)
    height, width = _size_pair(size)
    if method not in _RESIZE_METHODS:
        raise ValueError(f"method must be one of {_RESIZE_METHODS}, got {method!r}")
    if array.shape[-3:-1] == (height, width):
        return array.copy()
    resized = tf.image.resize(array, (height, width), method=method, antialias=method != "nearest")
    return np.clip(resized.numpy(), 0.0, 1.0).astype(np.float32)


def center_crop(image, size):
    """Cut the central ``size`` region out of an image (or a batch).

    Introduced in chapter 2 (Preparing the data).

    Parameters
    ----------
    image : array_like
        ``(height, width, 3)`` or ``(batch, height, width, 3)``.
    size : int or (int, int)
        The crop's size: an int for a square, or ``(height, width)``.

    Returns
    -------
    numpy.ndarray
        ``float32`` crop(s).

    Raises
    ------
    ValueError
        If the crop is larger than the image.
    """
    array = _as_image(image, batch=True)
    crop_h, crop_w = _size_pair(size)
    height, width = array.shape[-3:-1]
    _check_fits(height, width, crop_h, crop_w)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return array[..., top : top + crop_h, left : left + crop_w, :]


def _check_fits(height, width, crop_h, crop_w):
    if crop_h > height or crop_w > width:
        raise ValueError(
            f"cannot crop {crop_h}x{crop_w} out of a {height}x{width} image; expected a crop "
            "no larger than the image (resize it first)"
        )


def random_crop(image, size, *, rng):
    """Cut a ``size`` region at a random place out of an image.

    Introduced in chapter 2 (Preparing the data).

    Parameters
    ----------
    image : array_like
        ``(height, width, 3)`` (or a batch, all cut at the same place).
    size : int or (int, int)
        The crop's size: an int for a square, or ``(height, width)``.
    rng : numpy.random.Generator
        Where the offsets come from (``np.random.default_rng(seed)``).

    Returns
    -------
    numpy.ndarray
        ``float32`` crop.

    Raises
    ------
    ValueError
        If the crop is larger than the image.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    array = _as_image(image, batch=True)
    crop_h, crop_w = _size_pair(size)
    height, width = array.shape[-3:-1]
    _check_fits(height, width, crop_h, crop_w)
    top = int(rng.integers(0, height - crop_h + 1))
    left = int(rng.integers(0, width - crop_w + 1))
    return array[..., top : top + crop_h, left : left + crop_w, :]


def crop_to_multiple(image, multiple):
    """Crop an image (or a batch) so that height and width are multiples of ``multiple``.

    Introduced in chapter 2 (Preparing the data).

    Networks that halve the resolution (``multiple=2``) or quarter it (``4``) need such
    sizes. The crop is centred and removes fewer than ``multiple`` rows and columns.

    Parameters
    ----------
    image : array_like
        ``(height, width, 3)`` or ``(batch, height, width, 3)``.
    multiple : int
        The divisor.

    Returns
    -------
    numpy.ndarray
        ``float32`` crop(s).

    Raises
    ------
    ValueError
        If the image is smaller than ``multiple``.
    """
    multiple = _positive_int(multiple, "multiple")
    array = _as_image(image, batch=True)
    height, width = array.shape[-3:-1]
    if height < multiple or width < multiple:
        raise ValueError(
            f"cannot crop a {height}x{width} image to a multiple of {multiple}; expected "
            f"at least {multiple} pixels on each side (use pad_to_multiple)"
        )
    return center_crop(array, (height - height % multiple, width - width % multiple))


def pad_to_multiple(image, multiple):
    """Pad an image (or a batch) so that height and width are multiples of ``multiple``.

    Introduced in chapter 2 (Preparing the data).

    The padding reflects the image at its bottom and right edges (no artificial black
    border for a network to notice). ``padded[..., :h, :w, :]`` gives the image back.

    Parameters
    ----------
    image : array_like
        ``(height, width, 3)`` or ``(batch, height, width, 3)``.
    multiple : int
        The divisor.

    Returns
    -------
    padded : numpy.ndarray
        ``float32`` image(s) whose sides are multiples of ``multiple``.
    original_size : (int, int)
        ``(h, w)``, the size before padding.
    """
    multiple = _positive_int(multiple, "multiple")
    array = _as_image(image, batch=True)
    height, width = array.shape[-3:-1]
    padded = array
    for axis, side in ((-3, height), (-2, width)):
        widths = [(0, 0)] * array.ndim
        widths[axis] = (0, -side % multiple)
        # "reflect" is undefined for a side of one pixel; repeating the edge is the same idea.
        padded = np.pad(padded, widths, mode="reflect" if side > 1 else "edge")
    return padded, (height, width)


def fit_within(image, max_side):
    """Shrink an image so that its longer side is at most ``max_side``, keeping its shape.

    Introduced in chapter 2 (Preparing the data).

    Parameters
    ----------
    image : array_like
        ``(height, width, 3)``.
    max_side : int
        The longest side allowed, in pixels.

    Returns
    -------
    numpy.ndarray
        The image itself (as ``float32``) when it already fits, else a shrunk copy
        (area averaging) with the same aspect ratio.
    """
    max_side = _positive_int(max_side, "max_side")
    array = _as_image(image)
    height, width = array.shape[:2]
    if max(height, width) <= max_side:
        return array
    scale = max_side / max(height, width)
    new_size = (
        max(1, min(max_side, round(height * scale))),
        max(1, min(max_side, round(width * scale))),
    )
    return resize(array, new_size, method="area")


def fit_secret(secret, size):
    """The secret at its cover's size: the one rule for a secret of another size.

    A container holds a secret of its own size, so the secret is resized to ``size``
    exactly, ignoring its aspect ratio: area averaging when it shrinks (the number of
    pixels goes down), bicubic interpolation when it grows. ``stegutils hide`` and the
    playground both use it.

    Parameters
    ----------
    secret : array_like
        One image, ``(height, width, 3)``, float in ``[0, 1]`` or ``uint8``.
    size : (int, int)
        The cover's ``(height, width)``.

    Returns
    -------
    numpy.ndarray
        ``float32``, ``size + (3,)``.

    Introduced in chapter 8 (Playground).
    """
    height, width = _size_pair(size)
    array = np.asarray(secret)
    enlarging = array.shape[0] * array.shape[1] < height * width
    return resize(array, (height, width), method="bicubic" if enlarging else "area")


# --------------------------------------------------------------------------------------
# Sources: the built-in photos
# --------------------------------------------------------------------------------------

#: The colour photos that the dependencies ship inside their packages (so they load
#: offline): ``name``; ``source``, the package and its loader; ``file``, the path inside
#: the installed packages; ``licence``, in the package's own words where it states one;
#: ``split``, the fixed partition :func:`photos` uses (the three "test" photos are held
#: out from training).
BUILTIN_PHOTOS = (
    {
        "name": "astronaut",
        "source": "scikit-image (skimage.data.astronaut)",
        "file": "skimage/data/astronaut.png",
        "licence": "No known copyright restrictions, released into the public domain (NASA).",
        "split": "train",
    },
    {
        "name": "coffee",
        "source": "scikit-image (skimage.data.coffee)",
        "file": "skimage/data/coffee.png",
        "licence": "No copyright restrictions. CC0 by the photographer (Rachel Michetti).",
        "split": "train",
    },
    {
        "name": "rocket",
        "source": "scikit-image (skimage.data.rocket)",
        "file": "skimage/data/rocket.jpg",
        "licence": "Captured by SpaceX and released in the public domain.",
        "split": "train",
    },
    {
        "name": "hubble_deep_field",
        "source": "scikit-image (skimage.data.hubble_deep_field)",
        "file": "skimage/data/hubble_deep_field.jpg",
        "licence": "Captured by NASA and may be freely used in the public domain.",
        "split": "train",
    },
    {
        "name": "retina",
        "source": "scikit-image (skimage.data.retina)",
        "file": "skimage/data/retina.jpg",
        "licence": "Creative Commons CC0 1.0 Universal Public Domain Dedication "
        "(Mikael Häggström).",
        "split": "train",
    },
    {
        "name": "immunohistochemistry",
        "source": "scikit-image (skimage.data.immunohistochemistry)",
        "file": "skimage/data/ihc.png",
        "licence": "No known copyright restrictions.",
        "split": "train",
    },
    {
        "name": "motorcycle_left",
        "source": "scikit-image (skimage.data.stereo_motorcycle)",
        "file": "skimage/data/motorcycle_left.png",
        "licence": "Not stated by scikit-image; from the Middlebury 2014 stereo benchmark "
        "(Scharstein et al.).",
        "split": "train",
    },
    {
        "name": "motorcycle_right",
        "source": "scikit-image (skimage.data.stereo_motorcycle)",
        "file": "skimage/data/motorcycle_right.png",
        "licence": "Not stated by scikit-image; from the Middlebury 2014 stereo benchmark "
        "(Scharstein et al.).",
        "split": "train",
    },
    {
        "name": "china",
        "source": "scikit-learn (sklearn.datasets.load_sample_images)",
        "file": "sklearn/datasets/images/china.jpg",
        "licence": "Creative Commons Attribution 2.0 (CC BY 2.0), by danielbuechele on Flickr.",
        "split": "train",
    },
    {
        "name": "chelsea",
        "source": "scikit-image (skimage.data.chelsea)",
        "file": "skimage/data/chelsea.png",
        "licence": "No copyright restrictions. CC0 by the photographer (Stefan van der Walt).",
        "split": "test",
    },
    {
        "name": "flower",
        "source": "scikit-learn (sklearn.datasets.load_sample_images)",
        "file": "sklearn/datasets/images/flower.jpg",
        "licence": "Creative Commons Attribution 2.0 (CC BY 2.0), by vultilion on Flickr.",
        "split": "test",
    },
    {
        "name": "grace_hopper",
        "source": "matplotlib (matplotlib.cbook.get_sample_data)",
        "file": "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
        "licence": "Not stated by matplotlib; the file names its source as "
        "commons.wikimedia.org/wiki/File:Grace_Hopper.jpg (a U.S. Navy photograph).",
        "split": "test",
    },
)


def _package_dir(package):
    """The folder of an installed package, found without importing it (None if absent)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return pathlib.Path(list(spec.submodule_search_locations)[0])


@functools.lru_cache(maxsize=1)
def _load_builtin():
    """Read every built-in photo that is installed: a tuple of (name, read-only array)."""
    loaded = []
    for entry in BUILTIN_PHOTOS:
        package, relative = entry["file"].split("/", 1)
        # Read the files that ship in the wheel directly: the packages' own loaders may
        # try to download files they do not ship (scikit-image uses pooch for some).
        folder = _package_dir(package)
        if folder is None or not (folder / relative).is_file():
            continue
        array = load_image(folder / relative)
        array.setflags(write=False)
        loaded.append((entry["name"], array))
    if not loaded:
        raise ImportError(
            "no built-in photos found: they come with scikit-image, scikit-learn and "
            "matplotlib; install one (pip install scikit-image)"
        )
    return tuple(loaded)


def builtin_photos(*, split="all", named=False):
    """The colour photos that the dependencies ship, read offline.

    Introduced in chapter 2 (Preparing the data).

    Up to twelve photos: nine from scikit-image, two from scikit-learn and one from
    matplotlib, listed with their licences in :data:`BUILTIN_PHOTOS`. Those of a package
    that is not installed are skipped. They are read once and cached.

    Parameters
    ----------
    split : {"all", "train", "test"}, optional
        All of them, or one side of the fixed partition in :data:`BUILTIN_PHOTOS`
        (``"test"``: chelsea, flower and grace_hopper, held out from training).
    named : bool, optional
        Return a dict from each photo's name in :data:`BUILTIN_PHOTOS` to the photo
        (in the same order) instead of a list.

    Returns
    -------
    list of numpy.ndarray
        Read-only ``float32`` images ``(height, width, 3)`` in ``[0, 1]``, in the order
        of :data:`BUILTIN_PHOTOS` (copy one before changing it in place); a dict with
        ``named=True``.

    Raises
    ------
    ImportError
        If none of scikit-image, scikit-learn and matplotlib is installed.
    ValueError
        If ``split`` is not one of those above.
    """
    if split not in ("all", "train", "test"):
        raise ValueError(
            f"split for the built-in photos must be 'all', 'train' or 'test', got {split!r}"
        )
    splits = {entry["name"]: entry["split"] for entry in BUILTIN_PHOTOS}
    chosen = [(name, array) for name, array in _load_builtin()
              if split in ("all", splits[name])]
    return dict(chosen) if named else [array for _, array in chosen]


# --------------------------------------------------------------------------------------
# Sources: BSDS500
# --------------------------------------------------------------------------------------

#: The Berkeley Segmentation Data Set and Benchmarks 500 (Arbelaez et al., 2011), from
#: the Berkeley Computer Vision Group's page.
BSDS500_URL = (
    "http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/BSR/BSR_bsds500.tgz"
)
#: SHA-256 of the archive itself. Not known to the project (it has never had the archive
#: at hand), so it is not checked: the per-file manifest shipped with the package
#: (``_bsds500_manifest.json``) is the check. Pass ``sha256=`` to check an archive you
#: trust.
BSDS500_SHA256 = None
#: The benchmark's three splits and their sizes.
BSDS500_SPLITS = {"train": 200, "test": 200, "val": 100}

_ARCHIVE_MEMBER = re.compile(r"^BSR/BSDS500/data/images/(train|test|val)/([^/]+\.jpg)$")


@functools.lru_cache(maxsize=1)
def _shipped_manifest():
    text = (
        resources.files(__package__).joinpath("_bsds500_manifest.json").read_text(encoding="utf-8")
    )
    return {split: files for split, files in json.loads(text).items() if not split.startswith("_")}


def _cache_root(cache_dir):
    if cache_dir is not None:
        return pathlib.Path(cache_dir)
    if os.environ.get("STEGUTILS_CACHE"):
        return pathlib.Path(os.environ["STEGUTILS_CACHE"])
    return pathlib.Path.home() / ".cache" / "stegutils"


def _split_folder(root, split):
    """The split's folder under a data folder: root/bsds500/split, or root/split."""
    root = pathlib.Path(root)
    for candidate in (root / "bsds500" / split, root / split):
        if candidate.is_dir():
            return candidate
    return None


def _checked_split(folder, split, manifest, verify):
    """List a split's JPEG files, checked against the manifest (names; hashes if verify)."""
    paths = sorted(folder.glob("*.jpg"), key=lambda p: p.name)
    if not paths:
        raise ValueError(
            f"BSDS500 folder {str(folder)!r} holds no .jpg files; expected the {split} "
            "split's images"
        )
    expected = manifest.get(split)
    if expected is None:
        return paths  # no per-file hashes for this split (val): nothing more to check
    names = {p.name for p in paths}
    missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
    if missing or extra:
        raise ValueError(
            f"BSDS500 folder {str(folder)!r} does not hold the {split} split: expected "
            f"{len(expected)} files, got {len(names)} ({len(missing)} missing, e.g. "
            f"{missing[:3]}; {len(extra)} unexpected, e.g. {extra[:3]})"
        )
    if verify:
        for path in paths:
            got = _files.sha256(path)
            if got != expected[path.name]:
                raise ValueError(
                    f"BSDS500 file {str(path)!r} is not the benchmark's: expected SHA-256 "
                    f"{expected[path.name]}, got {got}"
                )
    return paths


def bsds500_paths(
    split,
    *,
    data_dir=None,
    download=True,
    url=BSDS500_URL,
    sha256=BSDS500_SHA256,
    cache_dir=None,
    verify=False,
    manifest=None,
):
    """The paths of the BSDS500 images of one split, fetched and cached on first use.

    Introduced in chapter 2 (Preparing the data).

    Looks, in this order, in:

    1. ``data_dir``, a folder holding ``bsds500/<split>/*.jpg`` (or ``<split>/*.jpg``);
       when given, it must hold the split;
    2. the folder in the ``STEGUTILS_DATA`` environment variable, laid out the same way
       (the project's CI and development copy sets it to ``../shared/data``);
    3. the cache folder ``<cache>/bsds500/<split>``, where ``<cache>`` is ``cache_dir``,
       else ``$STEGUTILS_CACHE``, else ``~/.cache/stegutils``;
    4. if ``download``, the archive ``BSR_bsds500.tgz`` (about 70 MB) at ``url``: it is
       streamed to a temporary file while its SHA-256 is computed, checked against
       ``sha256`` when one is given, and only its ``BSR/BSDS500/data/images/<split>/*.jpg``
       members are extracted, into a temporary folder that becomes
       ``<cache>/bsds500`` in one step once every file has been checked against the
       manifest. The archive is then deleted.

    A folder found in steps 1-3 is checked cheaply: its file names must be those of the
    manifest (``stegutils/_bsds500_manifest.json``, the SHA-256 of each of the 200 train
    and 200 test images); with ``verify=True`` every file's hash is checked too. The
    manifest has no entry for the val split (the project's copy lacks it), so val files
    are only counted, never hashed.

    Parameters
    ----------
    split : {"train", "test", "val"}
        The benchmark's split.
    data_dir : str or os.PathLike, optional
        A folder that already holds the images.
    download : bool, optional
        Download the archive when the images are nowhere else.
    url : str, optional
        Where the archive is.
    sha256 : str, optional
        The archive's expected SHA-256; ``None`` (the default, see
        :data:`BSDS500_SHA256`) skips this check and relies on the per-file manifest.
    cache_dir : str or os.PathLike, optional
        The cache folder (see above).
    verify : bool, optional
        Check every file's SHA-256 against the manifest, not only the names. Downloads
        are always checked.
    manifest : dict, optional
        ``{split: {file name: sha256}}`` to check against instead of the shipped one
        (for tests, or a different copy of the benchmark).

    Returns
    -------
    list of pathlib.Path
        The split's ``.jpg`` files, sorted by name.

    Raises
    ------
    ValueError
        If ``split`` is not a BSDS500 split, if a folder holds the wrong files, if the
        archive's hash differs from ``sha256`` (the download is deleted), or if the
        archive has an unsafe member (an absolute path or ``..``).
    FileNotFoundError
        If the images are nowhere and cannot be downloaded; the message says where it
        looked and how to set ``STEGUTILS_DATA``.
    """
    if split not in BSDS500_SPLITS:
        raise ValueError(f"split must be one of {sorted(BSDS500_SPLITS)}, got {split!r}")
    manifest = _shipped_manifest() if manifest is None else manifest
    looked = []
    if data_dir is not None:
        folder = _split_folder(data_dir, split)
        if folder is None:
            raise ValueError(
                f"data_dir {str(data_dir)!r} does not hold BSDS500's {split} split; expected "
                f"a folder with bsds500/{split}/*.jpg in it"
            )
        return _checked_split(folder, split, manifest, verify)
    if os.environ.get("STEGUTILS_DATA"):
        folder = _split_folder(os.environ["STEGUTILS_DATA"], split)
        if folder is not None:
            return _checked_split(folder, split, manifest, verify)
        looked.append(f"$STEGUTILS_DATA ({os.environ['STEGUTILS_DATA']}/bsds500/{split})")
    cache = _cache_root(cache_dir)
    folder = cache / "bsds500" / split
    if folder.is_dir():
        return _checked_split(folder, split, manifest, verify)
    looked.append(str(folder))
    how = (
        "set STEGUTILS_DATA to a folder holding bsds500/{train,test,val}/*.jpg "
        "(or pass data_dir=), or use the built-in photos (photos('builtin'))"
    )
    if not download:
        raise FileNotFoundError(
            f"BSDS500's {split} split not found; looked in {', '.join(looked)}; {how}"
        )
    try:
        archive = _download(url, cache, sha256)
    except (urllib.error.URLError, OSError) as err:
        raise FileNotFoundError(
            f"BSDS500's {split} split not found; looked in {', '.join(looked)}, and "
            f"downloading {url} failed ({err}); {how}"
        ) from err
    try:
        _extract(archive, cache, manifest, url)
    finally:
        with contextlib.suppress(OSError):
            archive.unlink()
    folder = cache / "bsds500" / split
    if not folder.is_dir():
        raise ValueError(
            f"the archive from {url} has no images of the {split} split "
            f"(BSR/BSDS500/data/images/{split}/)"
        )
    return _checked_split(folder, split, manifest, verify=False)


def _download(url, cache, sha256):
    """Stream url into a temporary file in cache, hashing it; return its path."""
    from tqdm.auto import tqdm

    cache.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=cache, prefix=".BSR_bsds500.", suffix=".tgz.part")
    temporary = pathlib.Path(temporary)
    digest = hashlib.sha256()
    try:
        with (
            os.fdopen(descriptor, "wb") as stream,
            urllib.request.urlopen(url, timeout=60) as response,
        ):
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="BSR_bsds500.tgz") as progress:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    stream.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    got = digest.hexdigest()
    if sha256 is not None and got != sha256.lower():
        temporary.unlink(missing_ok=True)
        raise ValueError(
            f"the archive downloaded from {url} is not the expected one: expected SHA-256 "
            f"{sha256}, got {got}; the downloaded file was removed"
        )
    return temporary


def _unsafe(name):
    parts = pathlib.PurePosixPath(name.replace("\\", "/")).parts
    return (
        name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) is not None or ".." in parts
    )


def _extract(archive, cache, manifest, url):
    """Extract the images of an archive into cache/bsds500, checked, in one step."""
    staging = pathlib.Path(tempfile.mkdtemp(dir=cache, prefix=".bsds500-"))
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                if _unsafe(member.name):
                    raise ValueError(
                        f"the archive from {url} has an unsafe member {member.name!r} (an "
                        "absolute path or '..'); expected paths inside BSR/; nothing was extracted"
                    )
            wanted = [m for m in members if m.isfile() and _ARCHIVE_MEMBER.match(m.name)]
            if not wanted:
                raise ValueError(
                    f"the archive from {url} holds no BSR/BSDS500/data/images/<split>/*.jpg "
                    "files; expected the BSDS500 archive BSR_bsds500.tgz"
                )
            options = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(staging / "extract", members=wanted, **options)
        images = staging / "bsds500"
        os.replace(staging / "extract" / "BSR" / "BSDS500" / "data" / "images", images)
        for split in BSDS500_SPLITS:
            if (images / split).is_dir():
                _checked_split(images / split, split, manifest, verify=True)
        target = cache / "bsds500"
        if target.exists():
            # An older, partial cache (without this split): set it aside, then swap.
            os.replace(target, staging / "old")
        os.replace(images, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------------------
# Sources: folders, and choosing one
# --------------------------------------------------------------------------------------


def folder_paths(path, *, recursive=False):
    """The image files in a folder, by extension, sorted.

    Introduced in chapter 2 (Preparing the data).

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    recursive : bool, optional
        Look in its subfolders too.

    Returns
    -------
    list of pathlib.Path
        Files whose extension is one of :data:`IMAGE_EXTENSIONS` (any case), hidden
        files (names starting with ``.``) left out, sorted.

    Raises
    ------
    ValueError
        If the folder does not exist, is a file, or holds no image files.
    """
    folder = pathlib.Path(path)
    if not folder.exists():
        raise ValueError(f"no such folder {str(folder)!r}; expected a folder of photos")
    if not folder.is_dir():
        raise ValueError(f"{str(folder)!r} is a file; expected a folder of photos")
    pattern = "**/*" if recursive else "*"
    paths = sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )
    if not paths:
        where = " or its subfolders" if recursive else ""
        raise ValueError(
            f"folder {str(folder)!r}{where} holds no image files; expected files ending in "
            f"{', '.join(IMAGE_EXTENSIONS)}"
        )
    return paths


def load_images(paths, *, max_side=None):
    """Read several image files.

    Introduced in chapter 2 (Preparing the data).

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        The files.
    max_side : int, optional
        Shrink each image whose longer side is larger (see :func:`fit_within`).

    Returns
    -------
    list of numpy.ndarray
        ``float32`` images ``(height, width, 3)`` in ``[0, 1]``.

    Raises
    ------
    ValueError
        If a file cannot be read (see :func:`load_image`).
    """
    images = []
    for path in paths:
        image = load_image(path)
        images.append(image if max_side is None else fit_within(image, max_side))
    return images


def photos(source="builtin", split="train", *, max_side=512, data_dir=None):
    """Photos for training or evaluation, from one of three sources.

    Introduced in chapter 2 (Preparing the data).

    Parameters
    ----------
    source : {"builtin", "bsds500"} or path, optional
        ``"builtin"``: the photos the dependencies ship (:func:`builtin_photos`), split
        by the fixed partition of :data:`BUILTIN_PHOTOS` (train: nine photos; test:
        chelsea, flower and grace_hopper), so that held-out evaluation never sees a
        training photo. ``"bsds500"``: the Berkeley benchmark's own splits
        (:func:`bsds500_paths`). A folder: if it has a subfolder named ``split``, that
        subfolder's images; otherwise all its images, whatever ``split`` says.
    split : str, optional
        ``"train"`` or ``"test"`` (``"all"`` too for the built-in photos, ``"val"`` for
        BSDS500).
    max_side : int or None, optional
        Shrink photos whose longer side is larger (see :func:`fit_within`); ``None``
        keeps them as they are.
    data_dir : str or os.PathLike, optional
        Passed to :func:`bsds500_paths`.

    Returns
    -------
    list of numpy.ndarray
        ``float32`` images ``(height, width, 3)`` in ``[0, 1]``.

    Raises
    ------
    ValueError
        If the split is not one of the source's, or the folder holds no images.
    """
    if isinstance(source, str) and source == "builtin":
        images = builtin_photos(split=split)
        return images if max_side is None else [fit_within(image, max_side) for image in images]
    if isinstance(source, str) and source == "bsds500":
        return load_images(bsds500_paths(split, data_dir=data_dir), max_side=max_side)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"source must be 'builtin', 'bsds500' or a folder path, got {type(source).__name__}"
        )
    folder = pathlib.Path(source)
    if not folder.exists():
        raise ValueError(
            f"source {str(source)!r} is neither 'builtin', 'bsds500' nor an existing folder"
        )
    if (folder / split).is_dir():
        folder = folder / split
    return load_images(folder_paths(folder), max_side=max_side)


def photos_or_builtin(source="bsds500", split="train", *, max_side=512, download=True,
                      quiet=False):
    """Photos from ``source``, or the built-in photos when ``source`` cannot be found.

    Introduced in chapter 2 (Preparing the data).

    The book's notebooks read their photos with this, so that a reader without BSDS500
    (no ``STEGUTILS_DATA``, no cache, no network) still runs every page: the photos
    that the dependencies ship stand in, and one printed line says so.

    Parameters
    ----------
    source : {"bsds500", "builtin"} or path, optional
        What :func:`photos` should read.
    split : {"train", "test"}, optional
        Which split; the fallback takes the same side of the built-in photos' fixed
        partition (:data:`BUILTIN_PHOTOS`), so held-out photos stay held out.
    max_side : int or None, optional
        Passed to :func:`photos`.
    download : bool, optional
        Whether BSDS500 may be downloaded when it is not on disk (see
        :func:`bsds500_paths`); without it, a missing copy falls back at once.
    quiet : bool, optional
        Do not print the line that announces a fallback.

    Returns
    -------
    images : list of numpy.ndarray
        ``float32`` images ``(height, width, 3)`` in ``[0, 1]``.
    used : str
        The source the images came from: ``source`` itself, or ``"builtin"``.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``, or if the data is there but
        wrong (a BSDS500 folder with the wrong files, a folder without images): a
        broken copy is reported, not silently replaced.
    ImportError
        If the fallback is needed and none of the packages that ship photos is
        installed (the message names the command that installs one).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if isinstance(source, str) and source == "builtin":
        return photos("builtin", split, max_side=max_side), "builtin"
    if isinstance(source, str) and source == "bsds500":
        try:
            paths = bsds500_paths(split, download=download)
        except FileNotFoundError:
            reason = ("BSDS500 is not on this machine (set STEGUTILS_DATA"
                      + (", or go online to download it)" if download else ")"))
        else:
            return load_images(paths, max_side=max_side), "bsds500"
    elif isinstance(source, (str, os.PathLike)) and not pathlib.Path(source).exists():
        reason = f"there is no folder {str(source)!r}"
    else:
        return photos(source, split, max_side=max_side), str(source)
    images = photos("builtin", split, max_side=max_side)
    if not quiet:
        print(f"Note: {reason}; using the {len(images)} built-in {split} photos instead.")
    return images, "builtin"


# --------------------------------------------------------------------------------------
# Secrets and covers
# --------------------------------------------------------------------------------------


def _check_images(images, what="images"):
    """Validate a non-empty list of images; return them as float32 [0, 1] arrays."""
    if tf.is_tensor(images):
        images = np.asarray(images)
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    if isinstance(images, (np.ndarray, tf.Tensor)) or not hasattr(images, "__len__"):
        raise TypeError(
            f"{what} must be a list of images (height, width, 3), got {type(images).__name__}"
        )
    if len(images) == 0:
        raise ValueError(f"{what} must hold at least one image, got an empty list")
    return [_as_image(image, f"{what}[{i}]") for i, image in enumerate(images)]


def _at_least(image, size):
    """Enlarge an image (bicubic, keeping its shape) until both sides are >= size."""
    height, width = image.shape[:2]
    if height >= size and width >= size:
        return image
    scale = size / min(height, width)
    new_size = (max(size, int(np.ceil(height * scale))), max(size, int(np.ceil(width * scale))))
    return resize(image, new_size, method="bicubic")


class Pairs(typing.NamedTuple):
    """Secrets and the covers they go with, secrets first.

    ``secrets[i]`` is hidden in ``covers[i]``. What :func:`seed_recipe` and
    :func:`heldout_pairs` return. It unpacks like the plain tuple it is
    (``secrets, covers = data.heldout_pairs(...)``), and its fields can be read by name
    (``pairs.covers``, ``pairs.secrets``) where the order could be in doubt.

    Introduced in chapter 2 (Preparing the data).
    """

    secrets: np.ndarray
    covers: np.ndarray


def seed_recipe(images, *, size=80, count=100, seed=0, allow_fewer=False):
    """The blog post's data: ``count`` photos resized to ``size`` x ``size``, split in two.

    Introduced in chapter 2 (Preparing the data).

    The post took 100 Berkeley photos, resized each whole photo (no cropping) to 80x80,
    and used the first half as secrets and the second half as covers. Here the photos
    are chosen from ``images`` with ``np.random.default_rng(seed)`` (without
    replacement, so no photo is both a secret and a cover) and shrunk with area
    averaging.

    Parameters
    ----------
    images : list of array_like
        Photos ``(height, width, 3)``, float in ``[0, 1]`` or ``uint8``.
    size : int, optional
        Side of the square images.
    count : int, optional
        How many photos to use; each half gets ``count // 2``.
    seed : int, optional
        Which photos, in which order.
    allow_fewer : bool, optional
        With fewer than ``count`` photos, use them all instead of raising.

    Returns
    -------
    Pairs
        ``(secrets, covers)``, secrets first: ``float32`` arrays
        ``(count // 2, size, size, 3)``.

    Raises
    ------
    ValueError
        If there are fewer than ``count`` photos (and not ``allow_fewer``), or fewer
        than two.
    """
    size = _positive_int(size, "size")
    count = _positive_int(count, "count")
    images = _check_images(images)
    if len(images) < count:
        if not allow_fewer:
            raise ValueError(
                f"seed_recipe needs {count} photos (count={count}), got {len(images)}; pass "
                "more photos, a smaller count, or allow_fewer=True"
            )
        count = len(images)
    if count < 2:
        raise ValueError(
            f"seed_recipe needs at least 2 photos (one secret, one cover), got {count}"
        )
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), size=count, replace=False)
    half = count // 2
    resized = np.stack([resize(images[i], size, method="area") for i in chosen[: 2 * half]])
    return Pairs(secrets=resized[:half], covers=resized[half:])


def _build_pool(images, size):
    """Stack images into one uint8 tensor, padded to the largest, plus their shapes."""
    images = [_at_least(image, size) for image in images]
    max_h = max(image.shape[0] for image in images)
    max_w = max(image.shape[1] for image in images)
    pool = np.zeros((len(images), max_h, max_w, 3), np.uint8)
    for i, image in enumerate(images):
        pool[i, : image.shape[0], : image.shape[1]] = to_uint8(image)
    shapes = np.array([image.shape[:2] for image in images], np.int64)
    return tf.constant(pool), tf.constant(shapes)


def random_pairs(images, *, size, batch_size, seed, start_step=0):
    """An endless, resumable stream of random (secret, cover) crops for training.

    Introduced in chapter 2 (Preparing the data).

    Every step draws ``2 * batch_size`` photos (a secret's cover is never the same
    photo, when there are two or more), a random ``size`` x ``size`` crop of each and a
    random horizontal flip. The draws use stateless random ops seeded with
    ``[seed, step]``, so batch ``i`` depends only on ``(seed, i)``: a run killed at
    step ``k`` resumes with ``start_step=k`` and sees exactly the batches it would have
    seen. Photos smaller than ``size`` are enlarged first (bicubic).

    Parameters
    ----------
    images : list of array_like
        Photos ``(height, width, 3)`` of any sizes, float in ``[0, 1]`` or ``uint8``.
        They are held in memory as one ``uint8`` tensor padded to the largest.
    size : int
        Side of the square crops.
    batch_size : int
        Pairs per batch.
    seed : int
        The stream's seed.
    start_step : int, optional
        The first step's number.

    Returns
    -------
    tf.data.Dataset
        Infinite; yields plain ``(secret, cover)`` tuples, secret first, each
        ``float32`` ``(batch_size, size, size, 3)`` in ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``images`` is empty or holds a non-image, or ``size``/``batch_size`` < 1.
    """
    size = _positive_int(size, "size")
    batch_size = _positive_int(batch_size, "batch_size")
    seed = int(seed)
    start_step = int(start_step)
    if start_step < 0:
        raise ValueError(f"start_step must be 0 or more, got {start_step}")
    images = _check_images(images)
    pool, shapes = _build_pool(images, size)
    count = len(images)
    draws = 2 * batch_size

    def make_batch(step):
        key = tf.stack([tf.constant(seed, tf.int64), step])
        keys = tf.random.split(key, 5)
        secrets = tf.random.stateless_uniform([batch_size], keys[0], 0, count, dtype=tf.int64)
        if count > 1:
            # A different photo for each cover: shift by 1..count-1 places.
            shift = tf.random.stateless_uniform([batch_size], keys[1], 1, count, dtype=tf.int64)
            covers = (secrets + shift) % count
        else:
            covers = secrets
        chosen = tf.concat([secrets, covers], axis=0)
        heights, widths = tf.unstack(tf.gather(shapes, chosen), axis=1)
        top = _uniform_offsets(keys[2], heights - size + 1, draws)
        left = _uniform_offsets(keys[3], widths - size + 1, draws)
        steps = tf.range(size, dtype=tf.int64)
        rows = top[:, None] + steps[None, :]
        columns = left[:, None] + steps[None, :]
        # Gather only the crop's rows of each chosen photo, then its columns.
        index = tf.stack([tf.broadcast_to(chosen[:, None], rows.shape), rows], axis=-1)
        crops = tf.gather_nd(pool, index)
        crops = tf.gather(crops, columns, axis=2, batch_dims=1)
        flip = tf.random.stateless_uniform([draws], keys[4]) < 0.5
        crops = tf.where(flip[:, None, None, None], tf.reverse(crops, axis=[2]), crops)
        crops = tf.cast(crops, tf.float32) / 255.0
        crops = tf.ensure_shape(crops, [draws, size, size, 3])
        return crops[:batch_size], crops[batch_size:]

    dataset = tf.data.Dataset.range(start_step, 2**62)
    dataset = dataset.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _uniform_offsets(key, limits, count):
    """Integers uniform in [0, limit) for each limit, from a stateless seed."""
    fractions = tf.random.stateless_uniform([count], key, dtype=tf.float64)
    offsets = tf.cast(tf.floor(fractions * tf.cast(limits, tf.float64)), tf.int64)
    return tf.minimum(offsets, limits - 1)


def fixed_pairs(*, covers, secrets, batch_size, seed, start_step=0):
    """An endless, resumable stream of batches of fixed (secret, cover) pairs.

    Introduced in chapter 2 (Preparing the data).

    For fixed pairs such as :func:`seed_recipe`'s. Each epoch is a permutation of the
    pairs that depends only on ``(seed, epoch)`` (the ``argsort`` of stateless random
    numbers); step ``i`` takes batch ``i % batches_per_epoch`` of epoch
    ``i // batches_per_epoch``, with ``batches_per_epoch = len(secrets) // batch_size``
    (the remainder of each permutation is dropped). So a run resumed with
    ``start_step=k`` sees the batches it would have seen.

    Parameters
    ----------
    covers, secrets : array_like, keyword-only
        ``(count, height, width, 3)`` each, the same shape; float in ``[0, 1]`` or
        ``uint8``. Pair ``j`` is ``(secrets[j], covers[j])``. By keyword, because
        :func:`seed_recipe` returns them the other way round (secrets first).
    batch_size : int
        Pairs per batch; at most ``count``.
    seed : int
        The order's seed.
    start_step : int, optional
        The first step's number.

    Returns
    -------
    tf.data.Dataset
        Infinite; yields plain ``(secret, cover)`` tuples, secret first, each
        ``float32`` ``(batch_size, height, width, 3)``.

    Raises
    ------
    ValueError
        If the arrays' shapes differ or are not batches of images, or ``batch_size``
        is not between 1 and ``count``.
    """
    batch_size = _positive_int(batch_size, "batch_size")
    seed = int(seed)
    start_step = int(start_step)
    if start_step < 0:
        raise ValueError(f"start_step must be 0 or more, got {start_step}")
    secrets = _as_image(secrets, "secrets", batch=True)
    covers = _as_image(covers, "covers", batch=True)
    if secrets.ndim != 4 or secrets.shape != covers.shape:
        raise ValueError(
            "secrets and covers must be batches (count, height, width, 3) of the same shape, "
            f"got {secrets.shape} and {covers.shape}"
        )
    count = secrets.shape[0]
    if batch_size > count:
        raise ValueError(
            f"batch_size must be at most the number of pairs ({count}), got {batch_size}"
        )
    per_epoch = count // batch_size
    secrets_t, covers_t = tf.constant(secrets), tf.constant(covers)

    def make_batch(step):
        epoch, batch = step // per_epoch, step % per_epoch
        order = tf.argsort(
            tf.random.stateless_uniform([count], tf.stack([tf.constant(seed, tf.int64), epoch])),
            stable=True,
        )
        chosen = order[batch * batch_size : (batch + 1) * batch_size]
        return tf.gather(secrets_t, chosen), tf.gather(covers_t, chosen)

    dataset = tf.data.Dataset.range(start_step, 2**62)
    dataset = dataset.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def heldout_pairs(images, *, size, count, seed=1234):
    """A fixed evaluation set of (secret, cover) crops.

    Introduced in chapter 2 (Preparing the data).

    Give it only held-out photos (``photos(..., split="test")``): a model measured on
    photos it trained on looks better than it is. The crops are near the centre of each
    photo (offsets drawn within the middle half of the slack), drawn with
    ``np.random.default_rng(seed)``; a secret and its cover are different photos when
    there are two or more. The same arguments always give the same arrays.

    Parameters
    ----------
    images : list of array_like
        Held-out photos ``(height, width, 3)``, float in ``[0, 1]`` or ``uint8``.
    size : int
        Side of the square crops (smaller photos are enlarged first).
    count : int
        How many pairs.
    seed : int, optional
        The set's seed.

    Returns
    -------
    Pairs
        ``(secrets, covers)``, secrets first: ``float32`` arrays
        ``(count, size, size, 3)``.

    Raises
    ------
    ValueError
        If ``images`` is empty or holds a non-image, or ``size``/``count`` < 1.
    """
    size = _positive_int(size, "size")
    count = _positive_int(count, "count")
    images = [_at_least(image, size) for image in _check_images(images)]
    rng = np.random.default_rng(seed)
    number = len(images)
    secret_index = rng.integers(0, number, size=count)
    shift = rng.integers(1, number, size=count) if number > 1 else np.zeros(count, np.int64)
    cover_index = (secret_index + shift) % number

    def centred_crop(image):
        height, width = image.shape[:2]
        offsets = []
        for slack in (height - size, width - size):
            middle, spread = slack // 2, slack // 4
            offsets.append(int(rng.integers(middle - spread, middle + spread + 1)))
        top, left = offsets
        return image[top : top + size, left : left + size]

    secrets = np.stack([centred_crop(images[i]) for i in secret_index])
    covers = np.stack([centred_crop(images[i]) for i in cover_index])
    return Pairs(secrets=secrets.astype(np.float32), covers=covers.astype(np.float32))


def image_dataset(images, *, size, batch_size, shuffle=True, seed=0, cache=True):
    """The classic ``tf.data`` pipeline: slices, cache, shuffle, batch, prefetch.

    Introduced in chapter 2 (Preparing the data).

    Each photo gives one ``size`` x ``size`` centre crop (enlarged first if smaller);
    the pipeline is ``from_tensor_slices`` over the crops, then ``.cache()``,
    ``.shuffle(len(images), seed=seed)`` (a new order each epoch), ``.batch`` and
    ``.prefetch(AUTOTUNE)``. One pass is one epoch; add ``.repeat()`` for more.

    Parameters
    ----------
    images : list of array_like
        Photos ``(height, width, 3)``, float in ``[0, 1]`` or ``uint8``.
    size : int
        Side of the square crops.
    batch_size : int
        Images per batch (the last batch may be smaller).
    shuffle : bool, optional
        Shuffle the order.
    seed : int, optional
        The shuffle's seed.
    cache : bool, optional
        Add ``.cache()``.

    Returns
    -------
    tf.data.Dataset
        Yields ``float32`` batches ``(batch_size, size, size, 3)``.

    Raises
    ------
    ValueError
        If ``images`` is empty or holds a non-image, or ``size``/``batch_size`` < 1.
    """
    size = _positive_int(size, "size")
    batch_size = _positive_int(batch_size, "batch_size")
    images = _check_images(images)
    crops = np.stack([center_crop(_at_least(image, size), size) for image in images])
    dataset = tf.data.Dataset.from_tensor_slices(crops)
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(crops), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
