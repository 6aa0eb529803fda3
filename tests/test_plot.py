"""Figures: they draw what they are given, opaque, with the panels the book expects."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from stegutils import plot  # noqa: E402


def test_five_panel_has_five_titled_columns_and_an_opaque_background():
    rng = np.random.default_rng(0)
    images = [rng.random((2, 16, 16, 3), dtype=np.float32) for _ in range(4)]
    features = rng.random((2, 8, 8, 10), dtype=np.float32)
    report = {"cover_psnr": np.array([30.0, 31.0]), "secret_psnr": np.array([25.0, 26.0])}
    fig = plot.five_panel(images[0], images[1], features, images[2], images[3],
                          metrics=report)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 10
    assert titles[0] == "secret" and titles[2] == "prep output"
    assert titles[3] == "container\n30.0 dB" and titles[9] == "26.0 dB"
    assert fig.patch.get_alpha() == 1.0


def test_feature_image_projects_channels_to_rgb_in_range():
    rng = np.random.default_rng(0)
    image = plot.feature_image(rng.random((8, 9, 20)))
    assert image.shape == (8, 9, 3) and image.min() >= 0 and image.max() <= 1
    with pytest.raises(ValueError, match="height, width, channels"):
        plot.feature_image(np.zeros((8, 8)))


def test_residual_image_is_scaled_absolute_difference():
    cover = np.full((2, 2, 3), 0.5, np.float32)
    container = cover + 0.01
    np.testing.assert_allclose(plot.residual_image(container, cover, gain=10), 0.1, atol=1e-6)
    with pytest.raises(ValueError, match="gain"):
        plot.residual_image(container, cover, gain=0)


def test_training_curves_draw_each_key_and_refuse_empty_history():
    history = [{"step": s, "cover_psnr": 20 + s, "secret_psnr": 15 + s} for s in (1, 2, 3)]
    fig = plot.training_curves(history)
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[21, 22, 23], [16, 17, 18]]
    with pytest.raises(ValueError, match="empty"):
        plot.training_curves([])
    with pytest.raises(ValueError, match="val_loss"):
        plot.training_curves(history, keys=("val_loss",))
