"""Hide and reveal images of any size in tiles, in memory that does not grow with them.

The networks are fully convolutional with a finite receptive field (chapter 3 computes
it), so an output pixel depends only on the input pixels within half a field of it. A
large image can therefore go through the networks one tile at a time, each tile read
with a *halo* of neighbouring pixels at least that wide, and only the tile's centre
kept: the result equals whole-image inference (:meth:`stegutils.models.StegoNet.hide`)
to float round-off. Tiles start on the model's grid (``net.multiple``: a space-to-depth
or wavelet step groups pixels in 2x2 blocks), and the image is first padded to that
grid exactly as whole-image inference pads it, so the borders agree too.

Memory: the inputs and the output stay ``uint8`` when they come in as ``uint8`` (a
12-megapixel photo is 36 MB), and the networks only ever see one tile and its halo.

Introduced in chapter 8 (Playground), where hiding full-size photos is shown.
"""

from __future__ import annotations

import math

import numpy as np

from stegutils import models as _models

__all__ = ["halo", "default_tile", "tile_grid", "hide", "reveal", "TILED_ABOVE"]

#: Images with more pixels than this go through :func:`hide` and :func:`reveal` in tiles
#: when the command line and the playground handle them (below it one pass is quicker).
TILED_ABOVE = 1024 * 1024


def halo(net, path: str) -> int:
    """Pixels of context each side of a tile for ``path`` ("hide" or "reveal").

    Half the receptive field of the path (:func:`stegutils.models.receptive_field`:
    ``prep+hide`` for hiding, whose container pixel sees the secret through both
    networks, and ``reveal``), plus one grid block for the asymmetric padding of even
    kernels, rounded up to the model's grid.
    """
    fields = _models.receptive_field(net)
    if path == "hide":
        field = max(fields["prep+hide"], fields["hide"])
    elif path == "reveal":
        field = fields["reveal"]
    else:
        raise ValueError(f"path must be 'hide' or 'reveal', got {path!r}")
    multiple = int(net.multiple)
    return int(math.ceil((math.ceil(field / 2) + multiple) / multiple) * multiple)


def default_tile(net, path: str = "hide") -> int:
    """A tile side for this machine: large enough that the halo costs little (at most
    about half the work again), small enough that one tile's activations stay within a
    few hundred megabytes. A multiple of the model's grid."""
    side = max(512, 4 * halo(net, path))
    multiple = int(net.multiple)
    return int(math.ceil(side / multiple) * multiple)


def tile_grid(height: int, width: int, tile: int, margin: int):
    """The tiles of a ``height x width`` image: ``(core, region)`` pairs of slices.

    ``core`` is what a tile contributes to the output, ``region`` the core plus up to
    ``margin`` pixels each side (less at the image border). Cores cover the image
    exactly once.
    """
    if tile < 1 or margin < 0:
        raise ValueError(f"tile must be positive and margin non-negative, got {tile}, {margin}")
    for y0 in range(0, height, tile):
        y1 = min(y0 + tile, height)
        for x0 in range(0, width, tile):
            x1 = min(x0 + tile, width)
            yield ((slice(y0, y1), slice(x0, x1)),
                   (slice(max(0, y0 - margin), min(height, y1 + margin)),
                    slice(max(0, x0 - margin), min(width, x1 + margin))))


def _check_image(image, name):
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"{name} must be one image of shape (height, width, 3), "
                         f"got {array.shape}")
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 or float in [0, 1], got {array.dtype}")
    return array


def _check_pair(cover, secret):
    """``(cover, secret, out_dtype)``: two images of one shape, and the container's dtype
    (``uint8`` for ``uint8`` covers, float32 otherwise)."""
    cover = _check_image(cover, "cover")
    secret = _check_image(secret, "secret")
    if cover.shape != secret.shape:
        raise ValueError(f"cover and secret must have the same shape, got {cover.shape} "
                         f"and {secret.shape}; resize the secret to the cover first")
    return cover, secret, (np.uint8 if cover.dtype == np.uint8 else np.float32)


def _to_float(block):
    if block.dtype == np.uint8:
        return block.astype(np.float32) / 255.0
    return block.astype(np.float32, copy=False)


def _pad_to_grid(image, multiple):
    # What StegoNet._pad does (tf.pad SYMMETRIC) on the whole image, before tiling.
    height, width = image.shape[:2]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    return image


def _run_tiles(images, run, *, tile, margin, multiple, out_dtype, progress, what):
    height, width = images[0].shape[:2]
    padded = [_pad_to_grid(image, multiple) for image in images]
    padded_h, padded_w = padded[0].shape[:2]
    if tile % multiple:
        raise ValueError(f"tile must be a multiple of {multiple} for this model, got {tile}")
    output = np.empty((height, width, 3), dtype=out_dtype)
    grid = list(tile_grid(padded_h, padded_w, tile, margin))
    from tqdm.auto import tqdm

    bar = tqdm(grid, desc=what, unit="tile", disable=not progress or len(grid) < 4,
               leave=False)
    for (core_y, core_x), (region_y, region_x) in bar:
        result = run(*[_to_float(image[region_y, region_x]) for image in padded])
        top, left = core_y.start - region_y.start, core_x.start - region_x.start
        keep = result[top:top + (core_y.stop - core_y.start),
                      left:left + (core_x.stop - core_x.start)]
        # Cropping back to the image: cores past its edge are the grid padding.
        out_y = slice(core_y.start, min(core_y.stop, height))
        out_x = slice(core_x.start, min(core_x.stop, width))
        keep = keep[: out_y.stop - out_y.start, : out_x.stop - out_x.start]
        if keep.size == 0:
            continue
        if out_dtype == np.uint8:
            keep = np.round(np.clip(keep, 0.0, 1.0) * 255.0).astype(np.uint8)
        output[out_y, out_x] = keep
    return output


def hide(net, cover, secret, *, quantize: bool = True, tile: int | None = None,
         progress: bool = False, strength: float = 1.0) -> np.ndarray:
    """Hide ``secret`` in ``cover`` tile by tile; equal to ``net.hide(cover, secret)``.

    Parameters
    ----------
    net : stegutils.models.StegoNet
    cover, secret : numpy.ndarray
        One image each, ``(height, width, 3)``, the same shape: ``uint8`` (then the
        container comes back as ``uint8``, as a PNG stores it) or float in ``[0, 1]``.
    quantize : bool, optional
        Round the container to 8 bits (float inputs only; ``uint8`` is always rounded).
    tile : int, optional
        Side of the tiles' cores (a multiple of ``net.multiple``); default
        :func:`default_tile`.
    progress : bool, optional
        Show a progress bar when there are several tiles.
    strength : float, optional
        The factor of the residual, as in :meth:`stegutils.models.StegoNet.hide` (a
        pixel's scaling needs only that pixel, so tiles change nothing).

    Returns
    -------
    numpy.ndarray
        The container, the shape of ``cover``, ``uint8`` for ``uint8`` inputs and
        float32 otherwise.
    """
    cover, secret, out_dtype = _check_pair(cover, secret)
    tile = tile or default_tile(net, "hide")
    # Each tile goes through the model's own hide(): the tiles lie on its grid, so its
    # padding does nothing, and rounding and clipping are exactly the whole image's.
    def run(cover_tile, secret_tile):
        return net.hide(cover_tile, secret_tile, quantize=quantize or out_dtype == np.uint8,
                        strength=strength)

    return _run_tiles([cover, secret], run,
                      tile=tile, margin=halo(net, "hide"), multiple=int(net.multiple),
                      out_dtype=out_dtype, progress=progress, what="hide")


def reveal(net, container, *, tile: int | None = None, progress: bool = False) -> np.ndarray:
    """Reveal the secret of ``container`` tile by tile; equal to ``net.reveal(container)``.

    Parameters and return value as for :func:`hide`: ``uint8`` in, ``uint8`` out.
    """
    container = _check_image(container, "container")
    out_dtype = np.uint8 if container.dtype == np.uint8 else np.float32
    tile = tile or default_tile(net, "reveal")
    return _run_tiles([container], net.reveal, tile=tile,
                      margin=halo(net, "reveal"), multiple=int(net.multiple),
                      out_dtype=out_dtype, progress=progress, what="reveal")
