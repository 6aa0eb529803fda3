"""Fixtures shared by the test modules: tiny photos and a tiny trained run."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

TINY_FAST = {"width": 8, "prep_depth": 1, "hide_depth": 2, "reveal_depth": 2,
             "reveal_width": 8}


def smooth_photos(count, *, height=40, width=48, seed=0):
    """Smooth random colour images (upsampled noise): cheap stand-ins for photos."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    photos = []
    for _ in range(count):
        small = (rng.random((6, 6, 3)) * 255).astype(np.uint8)
        big = Image.fromarray(small).resize((width, height), Image.BICUBIC)
        photos.append(np.asarray(big, np.float32) / 255)
    return photos


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory):
    """A folder of eight small PNG photos."""
    from stegutils import data

    folder = tmp_path_factory.mktemp("photos")
    for index, photo in enumerate(smooth_photos(8, seed=1)):
        data.save_image(folder / f"photo{index}.png", photo)
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, photo_folder):
    """A run folder of a tiny `fast` model trained for a few steps on photo_folder."""
    from stegutils import train

    run_dir = tmp_path_factory.mktemp("run") / "tiny"
    config = train.Config(variant="fast", variant_options=TINY_FAST, size=16, batch_size=4,
                          steps=6, seed=3, precision="float32", data=str(photo_folder),
                          val_photos=2, log_every=3, eval_every=3, checkpoint_every=3)
    train.Trainer(config, run_dir).fit(progress=False)
    return run_dir
