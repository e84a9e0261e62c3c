"""You be the judge: the sheet, the scoring, and the panel's parts (pressed in a
real browser in test_browser.py)."""

import numpy as np
import pytest

from mnist_viz import quiz


def _sets():
    ink = np.zeros((3, 28, 28), np.float32)
    ink[:, 10:18, 12:16] = 1.0
    return {"A": (ink, [1, 2, 3]), "B": (ink[:2] * 0.5, [4, 5])}


def test_the_sheet_shuffles_all_images_and_keeps_what_each_is():
    sheet = quiz.quiz_sheet(_sets(), seed=3)
    assert sheet.images.shape == (5, 28, 28) and sheet.methods in (["A", "B"], ["B", "A"])
    assert sorted(zip(sheet.method.tolist(), sheet.intended.tolist())) == [
        ("A", 1),
        ("A", 2),
        ("A", 3),
        ("B", 4),
        ("B", 5),
    ]
    assert np.all(sheet.images[sheet.method == "B"].max(axis=(1, 2)) == 0.5)
    again = quiz.quiz_sheet(_sets(), seed=3)
    assert again.intended.tolist() == sheet.intended.tolist()  # seeded
    orders = {tuple(quiz.quiz_sheet(_sets(), seed=s).intended) for s in range(20)}
    assert len(orders) > 5  # shuffled


def test_rates_count_blank_and_question_marks_as_unread():
    sheet = quiz.quiz_sheet(_sets(), seed=0)
    truth = [str(d) for d in sheet.intended]
    judges = {"always 1": lambda images: np.ones(len(images), int)}
    rates = quiz.reading_rates(sheet, truth, judges)
    assert rates["A"] == {"you": 1.0, "always 1": pytest.approx(1 / 3)}
    assert rates["B"] == {"you": 1.0, "always 1": 0.0}
    first_a = int(np.flatnonzero(sheet.method == "A")[0])
    first_b = int(np.flatnonzero(sheet.method == "B")[0])
    answers = list(truth)
    answers[first_a], answers[first_b] = "", " ? "
    rates = quiz.reading_rates(sheet, answers, judges)
    assert rates["A"]["you"] == pytest.approx(2 / 3) and rates["B"]["you"] == 0.5
    wrong = ["9" if d != 9 else "0" for d in sheet.intended]
    assert all(row["you"] == 0 for row in quiz.reading_rates(sheet, wrong, judges).values())


def test_a_bad_answer_is_explained():
    sheet = quiz.quiz_sheet(_sets(), seed=0)
    with pytest.raises(ValueError, match=r"answer 'seven': type one digit 0-9, or \?"):
        quiz.reading_rates(sheet, ["seven"] + ["1"] * 4, {})
    with pytest.raises(ValueError, match="give one answer per image: 5 images, 2 answers"):
        quiz.reading_rates(sheet, ["1", "2"], {})
    with pytest.raises(ValueError, match="sets is empty"):
        quiz.quiz_sheet({})


def test_the_table_has_a_row_per_method_and_you_first():
    table = quiz.rates_table({"A": {"you": 0.5, "cnn": 1.0}, "B": {"you": 0.0, "cnn": 0.25}})
    assert table.count("<tr>") == 3
    assert "<th>you</th><th>cnn judge</th>" in table
    assert "<td>A</td><td>50%</td><td>100%</td>" in table
    assert "<td>B</td><td>0%</td><td>25%</td>" in table


def test_the_panel_has_a_box_per_image_and_a_score_button():
    sheet = quiz.quiz_sheet(_sets(), seed=0)
    always_one = {"always 1": lambda images: np.ones(len(images), int)}
    panel = quiz.you_be_the_judge(sheet, always_one, columns=5)
    grid, button, result = panel.children
    boxes = [card.children[-1] for card in grid.children]
    assert len(boxes) == 5 and button.description == "Score"
    for box, digit in zip(boxes, sheet.intended):
        box.value = str(digit)
    button.click()
    assert "<td>A</td><td>100%</td>" in result.value
    boxes[0].value = "x"
    button.click()
    assert "ValueError: answer 'x'" in result.value


def test_a_page_without_a_kernel_shows_the_numbered_sheet():
    """A book page cannot run the widget: it shows the images, numbered, to read on
    paper; Jupyter still gets the live widget."""
    sheet = quiz.quiz_sheet(_sets(), seed=0)
    panel = quiz.you_be_the_judge(sheet, {}, columns=2)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    page = bundle["text/html"]
    assert page.count("<img ") == len(sheet.images) == 5
    assert page.count("<tr>") == 3  # five images, two to a row
    assert all(f"<b>#{i}</b>" in page for i in range(1, 6))
    assert "run this notebook" in page
