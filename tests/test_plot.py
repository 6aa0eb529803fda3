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
    secret, cover, container, revealed = images
    fig = plot.five_panel(cover=cover, secret=secret, prep_output=features,
                          container=container, revealed=revealed, metrics=report)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 10
    assert titles[0] == "secret" and titles[1] == "cover" and titles[2] == "prep output"
    assert titles[3] == "container\n30.0 dB" and titles[9] == "26.0 dB"
    assert fig.patch.get_alpha() == 1.0
    # Each image lands in its own column: secret, cover, (features), container, revealed.
    for column, image in ((0, secret), (1, cover), (3, container), (4, revealed)):
        np.testing.assert_allclose(fig.axes[column].images[0].get_array(), image[0])
    with pytest.raises(TypeError, match="positional"):
        plot.five_panel(secret, cover, features, container, revealed)


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
    with pytest.raises(ValueError, match="gain must be"):
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


def test_channels_draws_the_image_and_each_channel_in_grey():
    image = np.zeros((6, 8, 3), np.float32)
    image[:, :, 1] = 1.0
    fig = plot.channels(image)
    assert [ax.get_title() for ax in fig.axes] == [
        "RGB", "red [:, :, 0]", "green [:, :, 1]", "blue [:, :, 2]"]
    green = fig.axes[2].get_images()[0].get_array()
    assert green.shape == (6, 8) and float(green.min()) == 1.0
    with pytest.raises(ValueError, match="height, width, 3"):
        plot.channels(np.zeros((6, 8)))


def test_bars_draw_one_labelled_bar_per_value():
    fig = plot.bars({"a": 2.0, "b": 30.0}, ylabel="images/s", fmt="{:.0f}")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [2.0, 30.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert sorted(t.get_text() for t in ax.texts) == ["2", "30"]
    assert fig.patch.get_alpha() == 1.0
    with pytest.raises(ValueError, match="at least one"):
        plot.bars({}, ylabel="x")


def test_grouped_bars_draw_series_per_group_and_skip_none():
    table = {"seed": {"prep": 1.0, "hide": 2.0}, "fast": {"prep": 3.0, "hide": None}}
    fig = plot.grouped_bars(table, ylabel="parameters")
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights[:3] == [1.0, 3.0, 2.0] and np.isnan(heights[3])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["prep", "hide"]
    with pytest.raises(ValueError, match="at least one group"):
        plot.grouped_bars({}, ylabel="x")


def test_receptive_fields_draw_centred_squares_of_the_given_sides():
    fig = plot.receptive_fields(np.zeros((40, 60, 3)), {"prep": 10, "reveal": 30},
                                center=(20, 25))
    squares = fig.axes[0].patches
    assert [(s.get_width(), s.get_height()) for s in squares] == [(10, 10), (30, 30)]
    assert squares[1].get_xy() == (10.0, 5.0)


def test_table_formats_cells_and_renders_html_and_text():
    result = plot.table([["seed", 554406, 1.5], ["fast", None, 0.25]],
                        ["variant", "parameters", "seconds"],
                        formats=[None, "{:,}", "{:.2f}"], caption="sizes")
    html = result._repr_html_()
    assert "<th>parameters</th>" in html and "<td>554,406</td>" in html
    assert "<td>\u2013</td>" in html and "<caption>sizes</caption>" in html
    text = str(result).splitlines()
    assert text[0] == "sizes" and text[1].split() == ["variant", "parameters", "seconds"]
    assert text[3].split() == ["seed", "554,406", "1.50"]
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        plot.table([["a"]], ["x", "y"])


def test_table_escapes_html():
    assert "&lt;b&gt;" in plot.table([["<b>"]], ["x"])._repr_html_()


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def _legend_labels(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend()
            for t in ax.get_legend().get_texts()]


def test_network_diagram_names_the_networks_terms_and_routes():
    fig = plot.network_diagram()
    texts = _texts(fig)
    for name in ("prep", "hide", "reveal"):
        assert name in texts
    assert any(t.startswith("cover term") for t in texts)
    assert any(t.startswith("secret term") for t in texts)
    labels = _legend_labels(fig)
    assert any("hide and prep only" in label for label in labels)
    assert any("all three networks" in label for label in labels)
    assert fig.patch.get_facecolor()[:3] == (1.0, 1.0, 1.0)  # reads in dark mode
    forward_only = plot.network_diagram(routes=False)
    assert _legend_labels(forward_only) == []
    assert len(forward_only.axes[0].patches) < len(fig.axes[0].patches)


def test_dilated_diagram_draws_one_shortcut_per_layer_after_the_first():
    fig = plot.dilated_diagram(depth=4)
    texts = _texts(fig)
    assert [t for t in texts if t.startswith("$a_")] == [f"$a_{i}$" for i in range(1, 5)]
    labels = _legend_labels(fig)
    assert any("dilated" in label for label in labels)
    red = [p for p in fig.axes[0].patches
           if hasattr(p, "get_edgecolor") and p.get_edgecolor()[:3] == matplotlib.colors.to_rgb("#d62728")]
    assert len(red) == 3  # layers 2..4 each add their gradient to the layer before
    with pytest.raises(ValueError, match="at least 2"):
        plot.dilated_diagram(depth=1)
