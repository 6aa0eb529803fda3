"""The playground, driven as a reader drives it: pick, upload, slide, click, read.

Every check compares what the widgets show (the PNG bytes the Image widgets hold, the
text of the metrics table, the data: URLs of the download links) with the library's own
functions run here on the same inputs.
"""

import base64
import datetime
import io
import re
import sys
import types
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from stegutils import data, metrics, plot, pretrained, widgets

WORKING = 48


def smooth(height, width, seed):
    """A smooth random colour picture (upsampled noise), float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    small = (rng.random((5, 5, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.BICUBIC),
                      np.float32) / 255


@pytest.fixture(scope="module")
def photos():
    return {"a": smooth(40, 48, 1), "b": smooth(40, 48, 2), "square": smooth(30, 30, 3)}


@pytest.fixture(scope="module")
def net(tiny_run):
    return pretrained.load(tiny_run, precision="float32")[0]


@pytest.fixture
def pg(tiny_run, photos):
    return widgets.playground(models=[], runs=[tiny_run], photos=photos, working_size=WORKING,
                              precision="float32", cover="a", secret="b", live=False)


def shown(image_widget):
    """Decode the PNG an Image widget holds, as the browser would."""
    with Image.open(io.BytesIO(image_widget.value)) as png:
        assert png.format == "PNG"
        return np.asarray(png.convert("RGB"), np.float32) / 255


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.links = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
        elif tag == "a":
            self.links.append(dict(attrs))

    def handle_data(self, text):
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += text


def shown_metrics(pg):
    """The metrics table as a reader reads it: {(row label, column header): number}."""
    parser = _Cells()
    parser.feed(pg.metrics.value)
    header, *rows = parser.rows
    return {(row[0], column): float(value)
            for row in rows for column, value in zip(header[1:], row[1:])}


def check_metrics(pg, cover, container, secret, revealed):
    table = shown_metrics(pg)
    report = metrics.image_report(cover, container, secret, revealed)
    rows = {"cover": next(label for label, _ in table if label.startswith("container")),
            "secret": next(label for label, _ in table if label.startswith("revealed"))}
    for role, label in rows.items():
        assert table[label, "PSNR (dB)"] == pytest.approx(report[f"{role}_psnr"][0], abs=0.006)
        assert table[label, "SSIM"] == pytest.approx(report[f"{role}_ssim"][0], abs=6e-5)
        assert table[label, "mean pixel error (0-255)"] == pytest.approx(
            report[f"{role}_mpe"][0], abs=0.006)


def assert_same_image(actual, expected):
    np.testing.assert_allclose(actual, expected, atol=1.01 / 255)
    assert np.mean(np.abs(actual - expected)) < 0.5 / 255


def upload(name, content, kind="image/png"):
    """The value ipywidgets 8 gives a FileUpload after the browser sent one file."""
    return ({"name": name, "type": kind, "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)


def png_file(image):
    buffer = io.BytesIO()
    Image.fromarray(data.to_uint8(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_shown_panels_and_numbers_are_what_the_library_computes(pg, net, photos):
    assert pg.last_error is None
    pg.secret_picker.value = "a"  # not live: nothing happens until the button
    assert np.array_equal(shown(pg.images["secret"]), data.to_float(data.to_uint8(photos["b"])))
    pg.secret_picker.value = "b"
    pg.gain.value = 20
    pg.hide_button.click()

    cover, secret = shown(pg.images["cover"]), shown(pg.images["secret"])
    assert_same_image(cover, photos["a"])
    assert_same_image(secret, photos["b"])
    container = shown(pg.images["container"])
    assert_same_image(container, net.hide(cover, secret))
    revealed = shown(pg.images["revealed"])
    assert_same_image(revealed, net.reveal(container))
    assert_same_image(shown(pg.images["residual"]),
                      plot.residual_image(container, cover, gain=20))
    assert "x20" in pg._captions["residual"].value
    check_metrics(pg, cover, container, secret, revealed)
    assert pg.timings["model"] > 0 and pg.timings["update"] >= pg.timings["model"]


def test_moving_the_gain_redraws_only_the_residual(pg):
    pg.live = True
    before = {key: image.value for key, image in pg.images.items()}
    pg.gain.value = 35
    assert pg.timings["model"] == 0
    for key, image in pg.images.items():
        assert (image.value == before[key]) == (key != "residual"), key
    cover, container = shown(pg.images["cover"]), shown(pg.images["container"])
    assert_same_image(shown(pg.images["residual"]),
                      plot.residual_image(container, cover, gain=35))


def test_jpeg_attack_reveals_from_the_attacked_container(pg, net):
    assert pg._cards["attacked"].layout.display == "none"
    pg.attack_picker.value = "jpeg"
    pg.jpeg_quality.value = 30
    pg.hide_button.click()
    assert pg._cards["attacked"].layout.display != "none"
    assert pg.jpeg_quality.layout.display != "none"
    assert pg.noise_sigma.layout.display == "none"

    cover, secret = shown(pg.images["cover"]), shown(pg.images["secret"])
    container, attacked = shown(pg.images["container"]), shown(pg.images["attacked"])
    buffer = io.BytesIO()
    Image.fromarray(data.to_uint8(container)).save(buffer, format="JPEG", quality=30)
    jpeg = np.asarray(Image.open(buffer).convert("RGB"), np.float32) / 255
    assert np.mean(np.abs(attacked - jpeg)) < 1 / 255
    assert np.mean(np.abs(attacked - container)) > 1 / 255
    revealed = shown(pg.images["revealed"])
    assert_same_image(revealed, net.reveal(attacked))
    check_metrics(pg, cover, container, secret, revealed)
    assert "JPEG quality 30" in pg.metrics.value


def test_noise_is_seeded_and_resizing_keeps_the_size(pg):
    pg.attack_picker.value = "noise"
    pg.noise_sigma.value = 8.0
    pg.hide_button.click()
    container, attacked = shown(pg.images["container"]), shown(pg.images["attacked"])
    difference = (attacked - container)[(container > 0.15) & (container < 0.85)]
    assert np.std(difference) * 255 == pytest.approx(8.0, rel=0.25)
    first = pg.images["attacked"].value
    pg.hide_button.click()
    assert pg.images["attacked"].value == first

    pg.attack_picker.value = "resize"
    pg.resize_scale.value = 0.5
    pg.hide_button.click()
    attacked = shown(pg.images["attacked"])
    assert attacked.shape == container.shape
    assert not np.array_equal(attacked, container)
    assert "resized to 0.5x" in pg.metrics.value


@pytest.mark.parametrize("name, content, kind", [
    ("notes.txt", b"a shopping list, not a picture", "text/plain"),
    ("cut.png", png_file(smooth(20, 20, 4))[:60], "image/png"),
])
def test_a_bad_upload_shows_the_reason_and_keeps_the_pictures(pg, name, content, kind):
    before = {key: image.value for key, image in pg.images.items()}
    pg.cover_upload.value = upload(name, content, kind)
    shown_text = re.sub(r"<[^>]+>", "", pg.messages.value)
    assert f"cannot read image {name!r}" in shown_text.replace("&#x27;", "'")
    assert "Traceback" not in shown_text
    assert pg.cover_picker.value == "a"
    assert {key: image.value for key, image in pg.images.items()} == before
    assert pg.cover_upload.value == ()  # emptied, so that a fixed file can be sent again


def test_a_large_upload_is_downscaled_and_the_secret_resized_with_notices(pg):
    pg.cover_upload.value = upload("big.png", png_file(smooth(90, 120, 5)))
    assert pg.cover_picker.value == "upload: big.png"
    assert "upload: big.png" in pg.secret_picker.options  # usable as a secret too
    assert pg.cover_upload.value == ()  # the bytes are not kept in the widget's state
    assert shown(pg.images["cover"]).shape == (36, 48, 3)
    assert shown(pg.images["container"]).shape == (36, 48, 3)
    assert shown(pg.images["secret"]).shape == (36, 48, 3)
    text = pg.messages.value
    assert "downscaled to 48x36" in text and f"working size is {WORKING} px" in text
    assert "secret (48x40) was resized" in text
    assert "Error" not in text


def test_a_secret_of_another_size_is_resized_to_the_cover(pg, net):
    pg.secret_picker.value = "square"
    pg.hide_button.click()
    secret = shown(pg.images["secret"])
    assert secret.shape == (40, 48, 3)
    assert "secret (30x30) was resized to the cover&#x27;s size (48x40)" in pg.messages.value
    assert_same_image(shown(pg.images["container"]),
                      net.hide(shown(pg.images["cover"]), secret))


def test_download_links_hold_the_shown_pngs(pg):
    parser = _Cells()
    parser.feed(pg.downloads.value)
    links = {link["download"]: link["href"] for link in parser.links}
    assert set(links) == {"container.png", "revealed_secret.png"}
    for filename, key in (("container.png", "container"), ("revealed_secret.png", "revealed")):
        prefix = "data:image/png;base64,"
        assert links[filename].startswith(prefix)
        assert base64.b64decode(links[filename][len(prefix):]) == pg.images[key].value
    pg.attack_picker.value = "jpeg"
    pg.hide_button.click()
    assert "attacked_container.png" in pg.downloads.value


def test_swap_exchanges_cover_and_secret(pg, photos):
    pg.swap_button.click()
    assert (pg.cover_picker.value, pg.secret_picker.value) == ("b", "a")
    assert_same_image(shown(pg.images["cover"]), photos["b"])


def test_the_model_runs_on_the_cpu_when_no_gpu_is_visible(monkeypatch, tiny_run, photos):
    used = []
    real_device = widgets.tf.device

    def recording_device(name):
        used.append(name)
        return real_device("/CPU:0")

    monkeypatch.setattr(widgets.tf, "device", recording_device)
    monkeypatch.setattr(widgets, "_gpus", lambda: [])
    pg = widgets.playground(models=[], runs=[tiny_run], photos=photos, working_size=WORKING,
                            precision="float32")
    assert pg.device == "/CPU:0" and set(used) == {"/CPU:0"}
    assert "Running on the CPU" in pg.status.value

    used.clear()
    monkeypatch.setattr(widgets, "_gpus", lambda: ["a GPU"])
    pg = widgets.playground(models=[], runs=[tiny_run], photos=photos, working_size=WORKING,
                            precision="float32")
    assert pg.device == "/GPU:0" and set(used) == {"/GPU:0"}
    assert "Running on the GPU (/GPU:0)" in pg.status.value


def test_the_model_list_is_the_shipped_models_and_the_runs(monkeypatch, tiny_run, photos):
    monkeypatch.setattr(pretrained, "list", lambda: ["fast", "missing"])
    pg = widgets.playground(runs=[tiny_run], photos=photos, working_size=WORKING,
                            precision="float32", model=str(tiny_run))
    assert [label for label, _ in pg.model_picker.options] == [
        "fast (shipped)", "missing (shipped)", f"run: {tiny_run.name}"]
    assert pg.last_error is None
    pg.model_picker.value = "missing"
    assert "no model named &#x27;missing&#x27;" in pg.messages.value
    assert "Traceback" not in pg.messages.value


def test_without_any_model_the_widget_says_so(photos):
    pg = widgets.playground(models=[], photos=photos, working_size=WORKING)
    assert pg.panels is None
    assert "no model to run" in pg.messages.value


def test_the_static_figure_draws_the_widgets_panels(pg, net, photos):
    pg.attack_picker.value = "jpeg"
    pg.hide_button.click()
    figure = widgets.playground_figure(pg)
    axes = [ax for ax in figure.axes if ax.images]
    assert len(axes) == 6
    for ax, (name, image) in zip(axes, pg.panels.images().items()):
        np.testing.assert_allclose(ax.images[0].get_array(), image)
    report = pg.panels.report
    assert f"{report['secret_psnr']:.1f} dB" in axes[4].get_title()
    assert "after JPEG quality 75" in axes[3].get_title()
    plot.plt.close(figure)

    # The function the static page calls computes the same panels as the widget.
    panels = widgets.playground_panels(net, photos["a"], photos["b"], attack="jpeg",
                                       working_size=WORKING, gain=pg.gain.value)
    for name, image in panels.images().items():
        np.testing.assert_allclose(image, pg.panels.images()[name], atol=1.01 / 255)


def test_apply_attack_uses_stegutils_attacks_when_it_has_the_attack(monkeypatch):
    calls = []
    fake = types.ModuleType("stegutils.attacks")

    def jpeg(image, *, quality):
        calls.append(quality)
        return np.zeros_like(image)

    fake.jpeg = jpeg
    monkeypatch.setitem(sys.modules, "stegutils.attacks", fake)
    image = smooth(16, 16, 6)
    assert np.all(widgets.apply_attack(image, "jpeg", 40) == 0) and calls == [40]
    # An attack the module lacks falls back to the playground's own.
    noisy = widgets.apply_attack(image, "noise", 4, seed=1)
    assert np.array_equal(noisy, widgets.apply_attack(image, "noise", 4, seed=1))
    with pytest.raises(ValueError, match="JPEG quality must be in 1..100"):
        widgets.apply_attack(image, "jpeg", 0)
    with pytest.raises(ValueError, match="attack must be one of"):
        widgets.apply_attack(image, "blur")


def test_displaying_the_playground_displays_its_widget(pg, monkeypatch):
    import IPython.display

    shown_objects = []
    monkeypatch.setattr(IPython.display, "display", shown_objects.append)
    pg._ipython_display_()
    assert shown_objects == [pg.widget]


def test_the_pictures_offered_are_the_builtin_photos_and_two_made_here():
    pg = widgets.playground(models=[])
    names = list(pg.cover_picker.options)
    assert {"china", "flower", "astronaut", "flat grey", "colour sweep"} <= set(names)
    assert (pg.cover_picker.value, pg.secret_picker.value) == ("china", "flower")
    flat = pg._photos["flat grey"]
    assert flat.shape == (widgets.WORKING_SIZE, widgets.WORKING_SIZE, 3) and np.ptp(flat) == 0
