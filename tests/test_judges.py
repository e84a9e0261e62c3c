"""The recognisability score: judges that did not make the images."""

import dataclasses

import numpy as np
import pytest

import mnist_viz as mv
from mnist_viz import judges as rc


@pytest.fixture(scope="module")
def judges(mnist, trained_model):
    """Quick stand-ins: the test model as CNN judge, pixels fit on 3,000 digits."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import NearestNeighbors

    subset = mnist.train.images[:3000], mnist.train.cls[:3000]
    pixels = LogisticRegression(C=0.1, max_iter=200).fit(*subset)
    return rc.Judges(
        {"cnn": lambda images: mv.predict_classes(trained_model, images), "pixel": pixels.predict},
        NearestNeighbors(n_neighbors=1).fit(subset[0]),
    )


def _one_of_each_digit(split):
    return split.images[[np.flatnonzero(split.cls == d)[0] for d in range(10)]]


def test_real_digits_are_recognised_and_noise_is_not(mnist, trained_model, judges):
    verdict = rc.judge(trained_model, judges, _one_of_each_digit(mnist.test))
    assert verdict.correct("cnn") >= 9 and verdict.correct("pixel") >= 8
    noise = rc.judge(trained_model, judges, mv.noise_images(10, seed=0))
    assert noise.correct("cnn") <= 3 and noise.correct("pixel") <= 3


def test_distance_is_zero_for_a_training_digit(mnist, trained_model, judges):
    digits = mnist.train.images[:10]
    verdict = rc.judge(trained_model, judges, digits, intended=mnist.train.cls[:10])
    np.testing.assert_allclose(verdict.nearest_distance, 0, atol=1e-3)
    assert np.all((verdict.confidence > 0) & (verdict.confidence <= 1))


def test_summary_and_means_are_plain_numbers(mnist, trained_model, judges):
    digits = _one_of_each_digit(mnist.test)
    verdicts = rc.score_restarts(trained_model, judges, np.stack([digits, digits]))
    means = rc.mean_scores(verdicts)
    assert means["restarts"] == 2
    assert means["cnn_judge_mean"] == verdicts[0].correct("cnn")
    assert means["cnn_judge_per_restart"] == [verdicts[0].correct("cnn")] * 2
    summary = verdicts[0].summary()
    assert summary["images"] == 10 and isinstance(summary["pixel_judge_correct"], int)


def test_judge_needs_intended_digits_unless_there_are_ten(mnist, trained_model, judges):
    with pytest.raises(ValueError, match="give intended digits for 3 images"):
        rc.judge(trained_model, judges, mnist.test.images[:3])
    with pytest.raises(ValueError, match="digit_sets must have shape"):
        rc.score_restarts(trained_model, judges, mnist.test.images[:10].reshape(10, 28, 28))


def _built(recipe):
    return mv.build_cnn(recipe.conv_filters, recipe.fc_units, recipe.kernel_size, recipe.seed)


@pytest.mark.parametrize("judge_name", ["judge", "robust judge"])
def test_the_judge_cnn_differs_from_the_generator(judge_name):
    judge_recipe, standard = mv.RECIPES[judge_name], mv.RECIPES["standard"]
    assert judge_recipe.seed != standard.seed
    judge, reference = _built(judge_recipe), _built(standard)
    assert judge.count_params() != reference.count_params()
    assert (
        judge.get_layer("layer_conv1").kernel_size != reference.get_layer("layer_conv1").kernel_size
    )


def test_a_new_judge_is_one_registry_entry(mnist, trained_model, monkeypatch):
    """An entry in JUDGES reaches the verdict, the summary, the means and the table."""

    def always_seven(data):
        return lambda images: np.full(len(images), 7)

    monkeypatch.setitem(rc.JUDGES, "sevens", rc.JudgeSpec("reads every image as 7", always_seven))
    judges = rc.load_judges(mnist, names=["sevens"])
    verdict = rc.judge(trained_model, judges, _one_of_each_digit(mnist.test))
    assert verdict.correct("sevens") == 1 and verdict.summary()["sevens_judge_correct"] == 1
    table = rc.score_table({"real digits": rc.mean_scores([verdict])})
    assert "| sevens judge (of 10) |" in table.splitlines()[0]
    assert "| real digits | 1.0 (1) |" in table
    with pytest.raises(ValueError, match=r"unknown judges \['sevenz'\]; valid: \['cnn', 'pixel'"):
        rc.load_judges(mnist, names=["sevenz"])


def test_near_real_counts_images_within_the_typical_distance(mnist, trained_model, judges):
    """A training digit is at distance 0, noise far away: one of two within 1.0."""
    images = np.stack([mnist.train.images[0], mv.noise_images(1, seed=0).reshape(784)])
    verdict = rc.judge(trained_model, judges, images, intended=[mnist.train.cls[0], 0])
    scores = rc.mean_scores([verdict, verdict], typical_distance=1.0)
    assert scores["near_real_mean"] == 1.0
    table = rc.score_table({"two": scores})
    assert "| as near as real digits (of 10) |" in table.splitlines()[0]
    near_column = table.splitlines()[0].split("|").index(" as near as real digits (of 10) ")
    assert table.splitlines()[2].split("|")[near_column] == " 1.0 "
    assert "near_real_mean" not in rc.mean_scores([verdict])


def test_yardstick_of_real_digits_counts_who_is_inside(mnist, judges):
    """Test digits set the limit; the training digits themselves (distance 0) are
    inside it and flat grey images are not, so the count can come out either way."""
    yardstick = rc.real_digit_yardstick(judges, mnist.test.images[:300])
    assert 0 < yardstick.median <= yardstick.limit <= yardstick.largest
    assert yardstick.count == 300
    distances = judges.training_digits.kneighbors(
        np.concatenate([mnist.train.images[:4], np.full((6, 784), 0.5, np.float32)])
    )[0][:, 0]
    assert yardstick.inside(distances) == 4
    strict = rc.real_digit_yardstick(judges, mnist.test.images[:300], percentile=1)
    assert strict.limit < yardstick.limit
    with pytest.raises(ValueError, match=r"percentile must be in \(0, 100\]"):
        rc.real_digit_yardstick(judges, mnist.test.images[:10], percentile=0)


def test_the_network_judges_read_with_the_judge_recipes(mnist, trained_model, monkeypatch):
    asked = []

    def get_network(recipe, data):
        asked.append((recipe, data))
        return trained_model

    monkeypatch.setattr(rc, "get_network", get_network)
    judges = rc.load_judges(mnist, names=["cnn", "robust"])
    assert asked == [("judge", mnist), ("robust judge", mnist)]
    images = mnist.test.images[:20]
    expected = mv.predict_classes(trained_model, images)
    for name in ("cnn", "robust"):
        np.testing.assert_array_equal(judges.classifiers[name](images), expected)


def test_the_robust_judge_cache_key_follows_its_blobs(monkeypatch):
    key, plain_key = mv.network_path("robust judge"), mv.network_path("judge")
    retuned = {**mv.robust.BLOBS, "sigma": mv.robust.BLOB_SIGMA + 0.4}
    monkeypatch.setattr(mv.networks, "BLOBS", retuned)
    assert mv.network_path("robust judge") != key  # retuned blobs: not the cached judge
    assert mv.network_path("judge") == plain_key  # trained without blobs: unchanged
    monkeypatch.undo()
    assert mv.network_path("robust judge") == key
    recipe = mv.RECIPES["robust judge"]
    more_blobs = dataclasses.replace(recipe.adversarial, no_digit_share=0.2)
    assert mv.network_path(recipe.replace(adversarial=more_blobs)) != key


# --- how the drawing is made: solid ink and a clean background -------------------


def _stroke():
    """A solid horizontal bar, three pixels thick, on clean paper."""
    image = np.zeros((28, 28), np.float32)
    image[12:15, 6:22] = 1.0
    return image


def test_real_digits_have_solid_ink_and_clean_paper(mnist):
    real = mnist.test.images[:2000]
    solid, clean = rc.solid_ink(real), rc.clean_background(real)
    assert solid.shape == clean.shape == (2000,)
    assert np.median(solid) == 1.0 and np.percentile(solid, 1) > 0.95
    assert np.median(clean) == 1.0 and np.percentile(clean, 1) > 0.98


def test_a_dotted_stroke_has_no_solid_ink():
    solid = _stroke()
    dotted = solid * (np.indices((28, 28)).sum(axis=0) % 2)  # a checkerboard's black squares
    scores = rc.solid_ink(np.stack([solid, dotted]))
    assert scores[0] == 1.0 and scores[1] == 0.0
    one_gap = solid.copy()
    one_gap[13, 10] = 0.0  # a solid stroke with one hole is still solid
    assert rc.solid_ink(one_gap[None])[0] == 1.0
    lonely = np.zeros((28, 28), np.float32)
    lonely[5, 5] = lonely[20, 20] = 1.0  # two ink dots, neither touching the other
    lonely[20, 21] = 1.0  # ...but these two touch
    np.testing.assert_allclose(rc.solid_ink(lonely[None]), [2 / 3])
    assert rc.solid_ink(np.zeros((1, 28, 28)))[0] == 0.0  # no ink, no stroke


def test_a_grey_halo_is_not_clean_paper():
    clean = _stroke()
    halo = clean.copy()
    halo[2:26, 2:26] = np.maximum(halo[2:26, 2:26], 0.3)  # faint grey far from the stroke
    near = clean.copy()
    near[10:17, 4:24] = np.maximum(near[10:17, 4:24], 0.3)  # grey within 2 pixels of ink only
    scores = rc.clean_background(np.stack([clean, halo, near]))
    assert scores[0] == 1.0 and scores[2] == 1.0
    assert scores[1] < 0.5
    paper = ~np.pad(np.ones((7, 20), bool), ((10, 11), (4, 4)))  # more than 2 pixels from ink
    expected = 1 - (paper & (np.pad(np.ones((24, 24)), 2) > 0)).sum() / paper.sum()
    np.testing.assert_allclose(scores[1], expected)
    assert rc.clean_background(np.ones((1, 28, 28)))[0] == 1.0  # no paper at all


def test_verdicts_and_tables_carry_the_drawing_measures(mnist, trained_model, judges):
    digits = _one_of_each_digit(mnist.test)
    verdict = rc.judge(trained_model, judges, digits)
    np.testing.assert_array_equal(verdict.solid_ink, rc.solid_ink(digits))
    np.testing.assert_array_equal(verdict.clean_background, rc.clean_background(digits))
    means = rc.mean_scores([verdict, verdict])
    assert means["solid_ink_mean"] == pytest.approx(verdict.solid_ink.mean())
    table = rc.score_table({"real": means}).splitlines()
    assert table[0].endswith("| solid ink | clean background |")
    assert table[2].endswith(
        f"| {verdict.solid_ink.mean():.2f} | {verdict.clean_background.mean():.2f} |"
    )
    assert len(table[1].split("|")) == len(table[0].split("|"))
