"""Tests for stegutils.data: reading files, geometry, photo sources and pipelines."""

import functools
import hashlib
import http.server
import io
import pathlib
import socket
import struct
import tarfile
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile, features

from stegutils import data

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_data_folders(tmp_path, monkeypatch):
    # Never read or write the real cache, nor a data folder set in the environment.
    monkeypatch.delenv("STEGUTILS_DATA", raising=False)
    monkeypatch.setenv("STEGUTILS_CACHE", str(tmp_path / "default-cache"))


def _noise(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _save(tmp_path, name, image, **options):
    path = tmp_path / name
    image.save(path, **options)
    return path


# --------------------------------------------------------------------------------------
# load_image: colour modes
# --------------------------------------------------------------------------------------


def test_rgb_png_reads_as_float_in_unit_range(tmp_path):
    pixels = _noise(8, 12)
    image = data.load_image(_save(tmp_path, "rgb.png", Image.fromarray(pixels)))
    assert image.dtype == np.float32 and image.shape == (8, 12, 3)
    np.testing.assert_allclose(image, pixels / 255.0, atol=1e-6)


def test_grayscale_is_repeated_on_three_channels(tmp_path):
    gray = _noise(8, 8)[:, :, 0]
    image = data.load_image(_save(tmp_path, "gray.png", Image.fromarray(gray)))
    for channel in range(3):
        np.testing.assert_allclose(image[:, :, channel], gray / 255.0, atol=1e-6)


def test_palette_image_takes_its_palette_colours(tmp_path):
    palette_image = Image.new("P", (4, 2))
    palette_image.putpalette([255, 0, 0, 0, 128, 255] + [0] * 762)
    palette_image.putdata([0, 1, 0, 1, 1, 1, 0, 0])
    image = data.load_image(_save(tmp_path, "palette.png", palette_image))
    np.testing.assert_allclose(image[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(image[0, 1], [0, 128 / 255, 1], atol=1e-6)


def test_palette_transparency_is_composited_over_white(tmp_path):
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    palette_image.putdata([0, 1])
    path = _save(tmp_path, "transparent.png", palette_image, transparency=0)
    image = data.load_image(path)
    np.testing.assert_allclose(image[0, 0], [1, 1, 1], atol=1e-6)  # transparent: white
    np.testing.assert_allclose(image[0, 1], [0, 0, 1], atol=1e-6)  # opaque blue


def test_rgba_is_composited_over_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[...] = [255, 0, 0, 64]
    rgba[1, 1] = [0, 0, 0, 255]
    image = data.load_image(_save(tmp_path, "rgba.png", Image.fromarray(rgba)))
    alpha = 64 / 255
    np.testing.assert_allclose(image[0, 0], [1, 1 - alpha, 1 - alpha], atol=1e-6)
    np.testing.assert_allclose(image[1, 1], [0, 0, 0], atol=1e-6)


def test_la_is_composited_over_white(tmp_path):
    la = Image.new("LA", (1, 1), (0, 128))
    image = data.load_image(_save(tmp_path, "la.png", la))
    np.testing.assert_allclose(image[0, 0], [1 - 128 / 255] * 3, atol=1e-6)


def test_16_bit_png_keeps_its_full_range(tmp_path):
    values = np.array([[0, 1000], [32768, 65535]], np.uint16)
    path = _save(tmp_path, "sixteen.png", Image.fromarray(values))
    assert Image.open(path).mode.startswith("I")
    image = data.load_image(path)
    np.testing.assert_allclose(image[:, :, 0], values / 65535.0, atol=1e-6)
    assert image[0, 1, 0] > 0  # 1000/65535: not clipped away as if it were 0..255


def test_32_bit_integer_tiff_is_read_as_16_bit_data(tmp_path):
    values = np.array([[0, 1000], [32768, 65535]], np.int32)
    path = _save(tmp_path, "int.tif", Image.fromarray(values))
    assert Image.open(path).mode == "I"
    image = data.load_image(path)
    np.testing.assert_allclose(image[:, :, 1], values / 65535.0, atol=1e-6)


@pytest.mark.parametrize(
    ("cmyk", "rgb"),
    [
        ((255, 0, 0, 0), (0, 1, 1)),
        ((0, 255, 0, 0), (1, 0, 1)),
        ((0, 0, 255, 0), (1, 1, 0)),
        ((0, 0, 0, 255), (0, 0, 0)),
        ((0, 0, 0, 0), (1, 1, 1)),
    ],
)
def test_cmyk_is_converted_to_rgb(tmp_path, cmyk, rgb):
    image = data.load_image(_save(tmp_path, "cmyk.tif", Image.new("CMYK", (2, 2), cmyk)))
    np.testing.assert_allclose(image[0, 0], rgb, atol=1e-6)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_lossless_webp_reads_exactly(tmp_path):
    pixels = _noise(8, 8)
    path = _save(tmp_path, "image.webp", Image.fromarray(pixels), lossless=True)
    np.testing.assert_allclose(data.load_image(path), pixels / 255.0, atol=1e-6)


def test_exif_orientation_rotates_the_pixels(tmp_path):
    pixels = _noise(2, 3)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = _save(tmp_path, "phone.png", Image.fromarray(pixels), exif=exif)
    image = data.load_image(path)
    assert image.shape == (3, 2, 3)
    np.testing.assert_allclose(image, np.rot90(pixels, k=-1) / 255.0, atol=1e-6)


def test_upload_bytes_and_file_objects_are_read(tmp_path):
    pixels = _noise(4, 4)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    expected = pixels / 255.0
    np.testing.assert_allclose(data.load_image(io.BytesIO(buffer.getvalue())), expected, atol=1e-6)
    np.testing.assert_allclose(data.load_image(buffer.getvalue()), expected, atol=1e-6)


# --------------------------------------------------------------------------------------
# load_image: bad input
# --------------------------------------------------------------------------------------


def _assert_names_and_expects(error, name):
    message = str(error.value)
    assert name in message
    assert "expected" in message


def test_missing_file_is_rejected_by_name(tmp_path):
    path = tmp_path / "nowhere.png"
    with pytest.raises(ValueError, match="no such file") as error:
        data.load_image(path)
    _assert_names_and_expects(error, str(path))


def test_directory_is_rejected_by_name(tmp_path):
    with pytest.raises(ValueError, match="directory") as error:
        data.load_image(tmp_path)
    _assert_names_and_expects(error, str(tmp_path))


def test_empty_file_is_rejected_by_name(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty") as error:
        data.load_image(path)
    _assert_names_and_expects(error, str(path))


@pytest.mark.parametrize("format", ["PNG", "JPEG"])
def test_truncated_file_is_rejected_by_name(tmp_path, format):
    buffer = io.BytesIO()
    Image.fromarray(_noise(32, 32)).save(buffer, format)
    path = tmp_path / f"cut.{format.lower()}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ValueError, match="truncated") as error:
        data.load_image(path)
    _assert_names_and_expects(error, str(path))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_text_file_named_png_is_rejected_by_name(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image at all\n")
    with pytest.raises(ValueError, match="not recognise") as error:
        data.load_image(path)
    _assert_names_and_expects(error, str(path))


def test_bad_upload_is_called_upload_or_its_given_name():
    with pytest.raises(ValueError, match="<upload>"):
        data.load_image(io.BytesIO(b"hello"))
    with pytest.raises(ValueError, match="holiday.png"):
        data.load_image(b"hello", name="holiday.png")


def _png_header_only(width, height):
    """A PNG whose header claims width x height but whose pixel data is missing."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [7_000, 20_000])  # over our limit; over Pillow's too
def test_pixel_limit_fails_from_the_header_without_decoding(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    assert path.stat().st_size < 200
    start = time.perf_counter()
    with pytest.raises(ValueError, match="pixels") as error:
        data.load_image(path)
    assert time.perf_counter() - start < 1.0
    _assert_names_and_expects(error, str(path))


def test_pixel_limit_is_a_keyword(tmp_path):
    path = _save(tmp_path, "small.png", Image.fromarray(_noise(10, 10)))
    with pytest.raises(ValueError, match="10x10 = 100 pixels"):
        data.load_image(path, max_pixels=99)
    assert data.load_image(path, max_pixels=100).shape == (10, 10, 3)


# --------------------------------------------------------------------------------------
# save_image, to_uint8, to_float
# --------------------------------------------------------------------------------------


def test_save_image_round_trips_uint8_and_float(tmp_path):
    pixels = _noise(9, 7)
    data.save_image(tmp_path / "a.png", pixels)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")), pixels)
    floats = np.random.default_rng(1).random((9, 7, 3)).astype(np.float32)
    data.save_image(tmp_path / "b.png", floats)
    np.testing.assert_allclose(data.load_image(tmp_path / "b.png"), floats, atol=0.5 / 255 + 1e-6)


def test_save_image_leaves_no_temporary_files(tmp_path):
    data.save_image(tmp_path / "a.png", _noise(4, 4))
    data.save_image(tmp_path / "a.png", _noise(4, 4, seed=1))  # replaces it
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")), _noise(4, 4, seed=1))


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    data.save_image(path, _noise(4, 4))
    before = path.read_bytes()

    def broken_save(self, stream, *args, **kwargs):
        stream.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        data.save_image(path, _noise(4, 4, seed=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


@pytest.mark.parametrize("shape", [(2, 4, 4, 3), (4, 4, 4), (4, 4)])
def test_save_image_refuses_batches_and_wrong_channels(tmp_path, shape):
    with pytest.raises(ValueError, match="height, width, 3"):
        data.save_image(tmp_path / "x.png", np.zeros(shape, np.uint8))


def test_to_uint8_rounds_and_clips():
    image = np.array([-0.2, 0.0, 0.5 / 255, 1.4 / 255, 0.5, 1.0, 1.3], np.float32)
    np.testing.assert_array_equal(data.to_uint8(image), [0, 0, 0, 1, 128, 255, 255])
    assert data.to_uint8(image).dtype == np.uint8


def test_to_float_divides_uint8_and_checks_float_range():
    np.testing.assert_allclose(
        data.to_float(np.array([0, 51, 255], np.uint8)), [0, 0.2, 1], atol=1e-7
    )
    assert data.to_float(np.array([0, 51, 255], np.uint8)).dtype == np.float32
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.to_float(np.array([0.0, 255.0]))
    with pytest.raises(TypeError, match="uint8"):
        data.to_float(np.array([0, 1], np.int64))


# --------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------


def test_resize_and_crop_shapes():
    image = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    assert data.resize(image, 10).shape == (10, 10, 3)
    assert data.resize(image, (8, 12)).shape == (8, 12, 3)
    assert data.resize(np.stack([image, image]), 5).shape == (2, 5, 5, 3)
    assert data.center_crop(image, (10, 4)).shape == (10, 4, 3)
    assert data.random_crop(image, 16, rng=np.random.default_rng(0)).shape == (16, 16, 3)
    assert data.crop_to_multiple(image[:19, :30], 4).shape == (16, 28, 3)
    with pytest.raises(ValueError, match="20x30"):
        data.center_crop(image, 21)


def test_area_resize_by_two_averages_2x2_blocks():
    image = np.random.default_rng(0).random((8, 6, 3)).astype(np.float32)
    blocks = image.reshape(4, 2, 3, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(data.resize(image, (4, 3)), blocks, atol=1e-5)


def test_center_crop_takes_the_middle():
    image = np.zeros((5, 5, 3), np.float32)
    image[2, 2] = 1.0
    crop = data.center_crop(image, 1)
    np.testing.assert_array_equal(crop, np.ones((1, 1, 3)))


@pytest.mark.parametrize("shape", [(17, 30, 3), (1, 5, 3), (2, 3, 5, 3)])
def test_pad_to_multiple_round_trips(shape):
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    padded, (height, width) = data.pad_to_multiple(image, 4)
    assert padded.shape[-3] % 4 == 0 and padded.shape[-2] % 4 == 0
    assert (height, width) == shape[-3:-1]
    np.testing.assert_array_equal(padded[..., :height, :width, :], image)


def test_pad_to_multiple_reflects():
    image = np.arange(3, dtype=np.float32)[None, :, None].repeat(3, axis=2) / 2
    padded, _ = data.pad_to_multiple(image, 4)
    np.testing.assert_array_equal(padded[0, :, 0], [0, 0.5, 1, 0.5])


def test_fit_within_keeps_aspect_and_leaves_small_images_alone():
    image = np.random.default_rng(0).random((40, 100, 3)).astype(np.float32)
    assert data.fit_within(image, 50).shape == (20, 50, 3)
    assert data.fit_within(image, 100) is image


# --------------------------------------------------------------------------------------
# Built-in photos and the photos() chooser
# --------------------------------------------------------------------------------------


def test_builtin_photos_load_offline_as_float_rgb(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network used")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    data._load_builtin.cache_clear()
    images = data.builtin_photos()
    assert len(images) >= 1
    for image in images:
        assert image.dtype == np.float32 and image.ndim == 3 and image.shape[2] == 3
        assert 0.0 <= image.min() and image.max() <= 1.0
    assert len(images) == len(data.BUILTIN_PHOTOS)  # every dependency is installed here
    assert all(entry["licence"] for entry in data.BUILTIN_PHOTOS)


def test_builtin_partition_keeps_test_photos_out_of_training():
    splits = {entry["name"]: entry["split"] for entry in data.BUILTIN_PHOTOS}
    assert sorted(name for name, split in splits.items() if split == "test") == [
        "chelsea",
        "flower",
        "grace_hopper",
    ]
    train = data.photos("builtin", "train", max_side=64)
    test = data.photos("builtin", "test", max_side=64)
    assert len(train) + len(test) == len(data.builtin_photos())
    assert max(max(image.shape[:2]) for image in train + test) <= 64
    for held_out in test:
        assert not any(
            image.shape == held_out.shape and np.allclose(image, held_out) for image in train
        )


def test_photos_reads_a_folder_and_its_split_subfolder(tmp_path):
    (tmp_path / "mine" / "test").mkdir(parents=True)
    Image.fromarray(_noise(8, 8)).save(tmp_path / "mine" / "a.png")
    Image.fromarray(_noise(8, 8, seed=1)).save(tmp_path / "mine" / "test" / "b.png")
    (tmp_path / "mine" / "notes.txt").write_text("skip me")
    np.testing.assert_allclose(
        data.photos(tmp_path / "mine", "train")[0], _noise(8, 8) / 255, atol=1e-6
    )
    np.testing.assert_allclose(
        data.photos(tmp_path / "mine", "test")[0], _noise(8, 8, seed=1) / 255, atol=1e-6
    )
    assert len(data.folder_paths(tmp_path / "mine", recursive=True)) == 2


def test_folder_paths_rejects_missing_and_empty_folders(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        data.folder_paths(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no image files"):
        data.folder_paths(tmp_path / "empty")


# --------------------------------------------------------------------------------------
# Secrets and covers
# --------------------------------------------------------------------------------------


def _constant_photos(count, shape=(12, 16)):
    """Photos of one flat colour each, so that a crop tells which photo it came from."""
    return [np.full((*shape, 3), (i + 1) / (count + 1), np.float32) for i in range(count)]


def test_seed_recipe_shapes_and_determinism():
    images = [
        np.random.default_rng(i).random((20 + i, 30, 3)).astype(np.float32) for i in range(10)
    ]
    secrets, covers = data.seed_recipe(images, size=8, count=10, seed=3)
    assert secrets.shape == covers.shape == (5, 8, 8, 3)
    assert secrets.dtype == np.float32
    again = data.seed_recipe(images, size=8, count=10, seed=3)
    np.testing.assert_array_equal(secrets, again[0])
    np.testing.assert_array_equal(covers, again[1])
    other = data.seed_recipe(images, size=8, count=10, seed=4)
    assert not np.array_equal(secrets, other[0])


def test_seed_recipe_uses_each_photo_once_whole():
    images = _constant_photos(10)
    secrets, covers = data.seed_recipe(images, size=4, count=10)
    colours = np.concatenate([secrets, covers])[:, 0, 0, 0]
    assert len(set(np.round(colours, 5))) == 10
    # A whole photo resized (not cropped): a flat photo stays flat.
    np.testing.assert_allclose(secrets, secrets[:, :1, :1, :] * np.ones_like(secrets), atol=1e-6)


def test_seed_recipe_with_too_few_photos_says_how_many():
    images = _constant_photos(4)
    with pytest.raises(ValueError, match=r"needs 100 photos.*got 4"):
        data.seed_recipe(images)
    secrets, covers = data.seed_recipe(images, size=4, allow_fewer=True)
    assert secrets.shape == covers.shape == (2, 4, 4, 3)


def _batches(dataset, count):
    return [(s.numpy(), c.numpy()) for s, c in dataset.take(count)]


def test_random_pairs_shape_dtype_and_range():
    images = [
        np.random.default_rng(i).random(shape).astype(np.float32)
        for i, shape in enumerate([(20, 24, 3), (30, 16, 3), (12, 12, 3)])
    ]
    secret, cover = next(iter(data.random_pairs(images, size=16, batch_size=4, seed=0)))
    assert secret.shape == cover.shape == (4, 16, 16, 3)
    assert secret.dtype == cover.dtype == np.float32
    assert 0.0 <= float(np.min(secret)) and float(np.max(cover)) <= 1.0


def test_random_pairs_crops_come_from_the_photos():
    images = [_noise(20, 24, seed=1), _noise(18, 17, seed=2)]
    secret, cover = next(iter(data.random_pairs(images, size=16, batch_size=4, seed=5)))
    windows = []
    for image in images:
        for top in range(image.shape[0] - 15):
            for left in range(image.shape[1] - 15):
                window = image[top : top + 16, left : left + 16]
                windows += [window, window[:, ::-1]]
    for crop in np.concatenate([secret.numpy(), cover.numpy()]):
        crop = np.round(crop * 255).astype(np.uint8)
        assert any(np.array_equal(crop, window) for window in windows)


def test_random_pairs_same_seed_and_step_give_the_same_batch():
    images = _constant_photos(5, (20, 20))
    first = _batches(data.random_pairs(images, size=8, batch_size=3, seed=7), 3)
    second = _batches(data.random_pairs(images, size=8, batch_size=3, seed=7), 3)
    other = _batches(data.random_pairs(images, size=8, batch_size=3, seed=8), 3)
    for (s1, c1), (s2, c2) in zip(first, second, strict=True):
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(c1, c2)
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, other, strict=True))


def test_random_pairs_resume_reproduces_the_kth_batch():
    images = [np.random.default_rng(i).random((20, 26, 3)).astype(np.float32) for i in range(4)]
    from_start = _batches(data.random_pairs(images, size=8, batch_size=2, seed=3), 5)
    resumed = _batches(data.random_pairs(images, size=8, batch_size=2, seed=3, start_step=3), 2)
    for (s1, c1), (s2, c2) in zip(from_start[3:], resumed, strict=True):
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(c1, c2)


def test_random_pairs_secret_and_cover_are_different_photos():
    images = _constant_photos(3, (10, 10))
    for secret, cover in _batches(data.random_pairs(images, size=8, batch_size=8, seed=0), 4):
        assert np.all(secret[:, 0, 0, 0] != cover[:, 0, 0, 0])


def test_random_pairs_validates_its_arguments():
    with pytest.raises(ValueError, match="at least one image"):
        data.random_pairs([], size=8, batch_size=2, seed=0)
    with pytest.raises(ValueError, match="batch_size"):
        data.random_pairs(_constant_photos(2), size=8, batch_size=0, seed=0)
    with pytest.raises(ValueError, match=r"images\[1\].*\(height, width, 3\)"):
        data.random_pairs([np.zeros((8, 8, 3)), np.zeros((8, 8))], size=4, batch_size=1, seed=0)


def _id_pairs(count):
    """Pairs whose pixels say their index: secret j and cover j are both j / 255."""
    ids = np.arange(count, dtype=np.float32)[:, None, None, None] / 255
    return (
        np.broadcast_to(ids, (count, 4, 4, 3)).copy(),
        np.broadcast_to(ids, (count, 4, 4, 3)).copy(),
    )


def test_fixed_pairs_epochs_are_permutations_that_keep_pairs():
    secrets, covers = _id_pairs(12)
    batches = _batches(data.fixed_pairs(covers=covers, secrets=secrets, batch_size=3, seed=0),
                       8)
    epochs = []
    for epoch in range(2):
        ids = []
        for secret, cover in batches[4 * epoch : 4 * epoch + 4]:
            np.testing.assert_array_equal(secret, cover)
            ids += list(np.round(secret[:, 0, 0, 0] * 255).astype(int))
        assert sorted(ids) == list(range(12))
        epochs.append(ids)
    assert epochs[0] != epochs[1]


def test_fixed_pairs_resume_matches():
    secrets, covers = _id_pairs(10)
    pairs = dict(covers=covers, secrets=secrets, batch_size=3, seed=2)
    from_start = _batches(data.fixed_pairs(**pairs), 7)
    resumed = _batches(data.fixed_pairs(**pairs, start_step=5), 2)
    for (s1, _), (s2, _) in zip(from_start[5:], resumed, strict=True):
        np.testing.assert_array_equal(s1, s2)


def test_fixed_pairs_take_covers_and_secrets_by_name_and_yield_secret_then_cover():
    secrets, covers = _id_pairs(6)
    covers = 1 - covers  # tell them apart: a secret j is j / 255, its cover 1 - j / 255
    with pytest.raises(TypeError, match="positional"):
        data.fixed_pairs(secrets, covers, batch_size=3, seed=0)
    for secret, cover in _batches(data.fixed_pairs(covers=covers, secrets=secrets,
                                                   batch_size=3, seed=0), 4):
        assert np.all(secret < 0.5) and np.all(cover > 0.5)
        np.testing.assert_allclose(secret + cover, 1.0, atol=1e-6)


def test_heldout_pairs_are_fixed_and_pair_different_photos():
    images = _constant_photos(4, (20, 30))
    secrets, covers = data.heldout_pairs(images, size=8, count=6)
    assert secrets.shape == covers.shape == (6, 8, 8, 3) and secrets.dtype == np.float32
    again = data.heldout_pairs(images, size=8, count=6)
    np.testing.assert_array_equal(secrets, again[0])
    assert np.all(secrets[:, 0, 0, 0] != covers[:, 0, 0, 0])


def test_pairs_come_secrets_first_and_can_be_read_by_name():
    images = _constant_photos(6, (20, 30))
    pairs = data.heldout_pairs(images, size=8, count=4, seed=5)
    assert isinstance(pairs, data.Pairs) and isinstance(pairs, tuple)
    assert pairs._fields == ("secrets", "covers")
    secrets, covers = pairs
    assert secrets is pairs.secrets and covers is pairs.covers
    # The same draws as the secrets first, covers second it has always returned: a
    # secret photo, then a *different* photo for its cover.
    rng = np.random.default_rng(5)
    secret_index = rng.integers(0, 6, size=4)
    cover_index = (secret_index + rng.integers(1, 6, size=4)) % 6
    colours = np.array([image[0, 0, 0] for image in images])
    np.testing.assert_allclose(secrets[:, 0, 0, 0], colours[secret_index])
    np.testing.assert_allclose(covers[:, 0, 0, 0], colours[cover_index])
    recipe = data.seed_recipe(images, size=4, count=6)
    assert isinstance(recipe, data.Pairs)
    chosen = np.random.default_rng(0).choice(6, size=6, replace=False)
    np.testing.assert_allclose(recipe.secrets[:, 0, 0, 0], colours[chosen[:3]], atol=1e-6)
    np.testing.assert_allclose(recipe.covers[:, 0, 0, 0], colours[chosen[3:]], atol=1e-6)


def test_pair_datasets_yield_plain_tuples_that_map_unpacks():
    images = _constant_photos(3, (10, 10))
    stream = data.random_pairs(images, size=8, batch_size=2, seed=0)
    assert type(next(iter(stream))) is tuple
    differences = stream.map(lambda secret, cover: secret - cover)
    assert next(iter(differences)).shape == (2, 8, 8, 3)


def test_image_dataset_batches_centre_crops():
    images = _constant_photos(5, (10, 12))
    batches = [batch.numpy() for batch in data.image_dataset(images, size=8, batch_size=2, seed=0)]
    assert [batch.shape for batch in batches] == [(2, 8, 8, 3), (2, 8, 8, 3), (1, 8, 8, 3)]
    colours = sorted(np.concatenate(batches)[:, 0, 0, 0])
    np.testing.assert_allclose(colours, [(i + 1) / 6 for i in range(5)], atol=1e-6)


# --------------------------------------------------------------------------------------
# BSDS500
# --------------------------------------------------------------------------------------


def _jpeg_bytes(seed):
    buffer = io.BytesIO()
    Image.fromarray(_noise(8, 8, seed=seed)).save(buffer, "JPEG")
    return buffer.getvalue()


def _sha(content):
    return hashlib.sha256(content).hexdigest()


def test_bsds500_reads_a_stegutils_data_folder(tmp_path, monkeypatch):
    files = {"1.jpg": _jpeg_bytes(1), "2.jpg": _jpeg_bytes(2)}
    folder = tmp_path / "data" / "bsds500" / "train"
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    monkeypatch.setenv("STEGUTILS_DATA", str(tmp_path / "data"))
    manifest = {"train": {name: "0" * 64 for name in files}}  # right names, wrong hashes
    paths = data.bsds500_paths("train", manifest=manifest, download=False)
    assert [p.name for p in paths] == ["1.jpg", "2.jpg"]
    assert paths[0].parent == folder
    with pytest.raises(ValueError, match="SHA-256"):
        data.bsds500_paths("train", manifest=manifest, verify=True, download=False)
    with pytest.raises(ValueError, match="expected 3 files, got 2"):
        data.bsds500_paths(
            "train", manifest={"train": {**manifest["train"], "3.jpg": "0"}}, download=False
        )


def test_bsds500_rejects_an_unknown_split():
    with pytest.raises(ValueError, match=r"\['test', 'train', 'val'\]"):
        data.bsds500_paths("validation")


@pytest.mark.skipif(
    not (SHARED_DATA / "bsds500").is_dir(), reason="no local BSDS500 copy at ../shared/data"
)
def test_bsds500_local_copy_matches_the_shipped_manifest():
    train = data.bsds500_paths("train", data_dir=SHARED_DATA, verify=True, download=False)
    test = data.bsds500_paths("test", data_dir=SHARED_DATA, verify=True, download=False)
    assert len(train) == 200 and len(test) == 200
    assert not {p.name for p in train} & {p.name for p in test}


def test_bsds500_without_data_or_network_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="STEGUTILS_DATA") as error:
        data.bsds500_paths("test", cache_dir=tmp_path / "cache", download=False)
    assert str(tmp_path / "cache") in str(error.value)
    with pytest.raises(FileNotFoundError, match="STEGUTILS_DATA"):
        data.bsds500_paths(
            "test", cache_dir=tmp_path / "cache", url="http://127.0.0.1:9/BSR_bsds500.tgz"
        )


def _archive(folder, members):
    """Write BSR_bsds500.tgz holding members {name: bytes}; return its SHA-256."""
    path = folder / "BSR_bsds500.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return _sha(path.read_bytes())


@pytest.fixture
def archive_server(tmp_path):
    """Serve tmp_path/served over HTTP on 127.0.0.1; yields (folder, base url, request log)."""
    served = tmp_path / "served"
    served.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served))
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _fake_bsds500():
    images = {
        "train/a.jpg": _jpeg_bytes(1),
        "train/b.jpg": _jpeg_bytes(2),
        "test/c.jpg": _jpeg_bytes(3),
        "val/d.jpg": _jpeg_bytes(4),
    }
    members = {f"BSR/BSDS500/data/images/{name}": content for name, content in images.items()}
    members["BSR/BSDS500/data/images/train/Thumbs.db"] = b"windows"
    members["BSR/BSDS500/data/groundTruth/train/a.mat"] = b"segments"
    manifest = {
        "train": {"a.jpg": _sha(images["train/a.jpg"]), "b.jpg": _sha(images["train/b.jpg"])},
        "test": {"c.jpg": _sha(images["test/c.jpg"])},
    }
    return members, manifest


def test_bsds500_downloads_verifies_and_caches(tmp_path, archive_server):
    served, base, requests = archive_server
    members, manifest = _fake_bsds500()
    digest = _archive(served, members)
    cache = tmp_path / "cache"
    url = f"{base}/BSR_bsds500.tgz"
    paths = data.bsds500_paths("train", url=url, sha256=digest, cache_dir=cache, manifest=manifest)
    assert [p.name for p in paths] == ["a.jpg", "b.jpg"]
    assert all(p.parent == cache / "bsds500" / "train" for p in paths)
    assert (cache / "bsds500" / "train" / "a.jpg").read_bytes() == members[
        "BSR/BSDS500/data/images/train/a.jpg"
    ]
    assert sorted(p.name for p in cache.iterdir()) == ["bsds500"]  # no archive, no temporaries
    assert sorted(p.name for p in (cache / "bsds500").iterdir()) == ["test", "train", "val"]
    assert not (cache / "bsds500" / "train" / "Thumbs.db").exists()
    assert len(requests) == 1
    for split in ("train", "test", "val"):
        data.bsds500_paths(
            split, url=url, sha256=digest, cache_dir=cache, manifest=manifest, verify=True
        )
    assert len(requests) == 1  # served from the cache


def test_bsds500_wrong_hash_leaves_no_cache(tmp_path, archive_server):
    served, base, _ = archive_server
    members, manifest = _fake_bsds500()
    digest = _archive(served, members)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="removed") as error:
        data.bsds500_paths(
            "train",
            url=f"{base}/BSR_bsds500.tgz",
            sha256="0" * 64,
            cache_dir=cache,
            manifest=manifest,
        )
    assert "0" * 64 in str(error.value) and digest in str(error.value)
    assert list(cache.iterdir()) == []


def test_bsds500_archive_with_files_off_the_manifest_leaves_no_cache(tmp_path, archive_server):
    served, base, _ = archive_server
    members, manifest = _fake_bsds500()
    members["BSR/BSDS500/data/images/train/b.jpg"] = _jpeg_bytes(99)
    _archive(served, members)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="b.jpg"):
        data.bsds500_paths(
            "train", url=f"{base}/BSR_bsds500.tgz", cache_dir=cache, manifest=manifest
        )
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    "evil",
    ["../evil.jpg", "BSR/BSDS500/data/images/train/../../../../../evil.jpg", "/tmp/evil.jpg"],
)
def test_bsds500_archive_with_unsafe_member_is_rejected(tmp_path, archive_server, evil):
    served, base, _ = archive_server
    members, manifest = _fake_bsds500()
    members[evil] = b"gotcha"
    _archive(served, members)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="unsafe member"):
        data.bsds500_paths(
            "train", url=f"{base}/BSR_bsds500.tgz", cache_dir=cache, manifest=manifest
        )
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "evil.jpg").exists()


def test_load_image_as_uint8_keeps_the_stored_values(tmp_path):
    rng = np.random.default_rng(0)
    pixels = (rng.random((9, 7, 3)) * 255).astype(np.uint8)
    path = tmp_path / "eight.png"
    Image.fromarray(pixels).save(path)
    stored = data.load_image(path, dtype="uint8")
    assert stored.dtype == np.uint8 and np.array_equal(stored, pixels)
    np.testing.assert_array_equal(data.to_float(stored), data.load_image(path))
    gray16 = tmp_path / "sixteen.png"
    Image.fromarray((rng.random((5, 4)) * 65535).astype(np.uint16)).save(gray16)
    np.testing.assert_array_equal(data.load_image(gray16, dtype="uint8"),
                                  data.to_uint8(data.load_image(gray16)))
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'uint8'"):
        data.load_image(path, dtype="float64")


def test_save_image_compress_level_keeps_the_pixels(tmp_path):
    rng = np.random.default_rng(1)
    ramp = np.linspace(0, 200, 40)[None, :, None] + np.zeros((30, 1, 3))
    pixels = (ramp + rng.integers(0, 3, (30, 40, 3))).astype(np.uint8)
    for level in (0, 1, 9):
        path = data.save_image(tmp_path / f"level{level}.png", pixels, compress_level=level)
        assert np.array_equal(np.asarray(Image.open(path)), pixels)
    assert (tmp_path / "level0.png").stat().st_size > (tmp_path / "level9.png").stat().st_size
    with pytest.raises(ValueError, match="compress_level must be an int from 0 to 9"):
        data.save_image(tmp_path / "bad.png", pixels, compress_level=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["level0.png", "level1.png",
                                                          "level9.png"]
