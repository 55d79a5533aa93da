"""The annotation model: JSON round trip, validation messages, scaling."""

from __future__ import annotations

import json
import math

import pytest

from casefiles.annotations.model import (
    Angle,
    Arrow,
    Ellipse,
    Point,
    Polyline,
    Rectangle,
    Ruler,
    Style,
    Text,
    annotation_from_dict,
    annotations_from_list,
    annotations_to_list,
    scaled,
)
from casefiles.errors import ValidationError

EXAMPLES = [
    {"kind": "arrow", "points": [[10, 20], [30.5, 40.25]], "text": "Mass"},
    {"kind": "ruler", "points": [[0, 0], [100, 0]]},
    {"kind": "angle", "points": [[10, 0], [0, 0], [0, 10]]},
    {"kind": "ellipse", "points": [[10, 10], [30, 20]]},
    {"kind": "rectangle", "points": [[5, 6], [50, 60]]},
    {"kind": "polyline", "points": [[0, 0], [10, 0], [10, 10]], "closed": True},
    {"kind": "polyline", "points": [[0, 0], [10, 5]], "closed": False},
    {"kind": "text", "points": [[3, 4]], "text": "Note: 37.5°", "size": 30},
]


@pytest.mark.parametrize("data", EXAMPLES, ids=lambda d: d["kind"])
def test_json_round_trip_is_stable(data: dict) -> None:
    first = annotation_from_dict(data)
    stored = json.loads(json.dumps(first.to_dict()))  # what TinyDB / the browser see
    again = annotation_from_dict(stored)
    assert again == first
    assert again.to_dict() == stored
    assert stored["kind"] == data["kind"]
    assert stored["points"] == [[float(x), float(y)] for x, y in data["points"]]
    assert stored["style"] == {"color": "#ffd400", "width": 3}
    assert stored["visible"] is True


def test_defaults_and_the_documented_shape() -> None:
    arrow = annotation_from_dict(
        {
            "kind": "arrow",
            "id": "a1",
            "points": [[1, 2], [3, 4]],
            "style": {"color": "#FF0000", "width": 2.5},
            "visible": False,
            "text": "x",
        }
    )
    assert arrow == Arrow(
        id="a1", start=Point(1, 2), end=Point(3, 4), style=Style("#ff0000", 2.5), visible=False, text="x"
    )
    assert arrow.to_dict() == {
        "kind": "arrow",
        "id": "a1",
        "points": [[1.0, 2.0], [3.0, 4.0]],
        "style": {"color": "#ff0000", "width": 2.5},
        "visible": False,
        "text": "x",
    }
    generated = annotation_from_dict({"kind": "ruler", "points": [[0, 0], [1, 1]]})
    assert len(generated.id) == 12
    assert generated.id != annotation_from_dict({"kind": "ruler", "points": [[0, 0], [1, 1]]}).id


def test_corners_are_normalised_whichever_way_the_box_was_dragged() -> None:
    rect = annotation_from_dict({"kind": "rectangle", "points": [[50, 60], [5, 6]]})
    assert isinstance(rect, Rectangle)
    assert rect.top_left == Point(5, 6) and rect.bottom_right == Point(50, 60)
    ellipse = annotation_from_dict({"kind": "ellipse", "points": [[30, 20], [10, 10]]})
    assert isinstance(ellipse, Ellipse)
    assert (ellipse.center, ellipse.rx, ellipse.ry) == (Point(20, 15), 10, 5)


def test_points_may_lie_outside_the_image() -> None:
    arrow = annotation_from_dict({"kind": "arrow", "points": [[-500, -20], [4000.5, 9000]]})
    assert arrow.points[0] == Point(-500, -20)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "star", "points": []}, "Unknown annotation kind 'star'"),
        ({"points": [[0, 0], [1, 1]]}, "Unknown annotation kind None"),
        ({"kind": "arrow", "points": [[0, 0]]}, "An arrow needs exactly 2 point(s), got 1"),
        ({"kind": "angle", "points": [[0, 0], [1, 1]]}, "exactly 3 point(s), got 2"),
        ({"kind": "arrow", "points": [[0, 0], [float("nan"), 1]]}, "Point x must be a finite number"),
        ({"kind": "arrow", "points": [[0, 0], [1, float("inf")]]}, "Point y must be a finite number"),
        ({"kind": "arrow", "points": [[0, 0], ["1", 2]]}, "Point x must be a number, not str"),
        ({"kind": "arrow", "points": [[0, 0], [1, 2, 3]]}, "Each point must be a pair of numbers"),
        ({"kind": "arrow", "points": [[0, 0], [2e6, 0]]}, "too far from the image"),
        ({"kind": "arrow", "points": [[5, 5], [5, 5]]}, "An arrow needs its tail and head at two different places"),
        ({"kind": "ruler", "points": [[5, 5], [5, 5]]}, "needs its two ends at two different places"),
        ({"kind": "ellipse", "points": [[5, 5], [5, 9]]}, "An ellipse needs a width and a height"),
        ({"kind": "rectangle", "points": [[5, 5], [9, 5]]}, "A rectangle needs a width and a height"),
        ({"kind": "polyline", "points": [[0, 0], [1, 1]], "closed": True}, "A closed outline needs at least 3"),
        ({"kind": "polyline", "points": [[0, 0], [0, 0]]}, "A line needs at least 2 different points"),
        ({"kind": "text", "points": [[0, 0]], "text": "  "}, "A text annotation needs some text"),
        ({"kind": "text", "points": [[0, 0]], "text": "x", "size": 1}, "Text size must be between 4 and 400"),
        ({"kind": "text", "points": [[0, 0]], "text": "x" * 1025}, "too long (1025 characters; the limit is 1024)"),
        ({"kind": "arrow", "points": [[0, 0], [1, 1]], "style": {"color": "yellow"}}, "must be written #rrggbb"),
        ({"kind": "arrow", "points": [[0, 0], [1, 1]], "style": {"width": 0}}, "Line width must be between 0.5"),
        ({"kind": "arrow", "points": [[0, 0], [1, 1]], "style": {"colour": "#ffffff"}}, "Unknown style setting"),
        (
            {"kind": "arrow", "points": [[0, 0], [1, 1]], "closed": True},
            "Unknown key(s) in an arrow annotation: closed",
        ),
        ({"kind": "arrow", "points": [[0, 0], [1, 1]], "id": "has space"}, "An annotation id must be"),
        ({"kind": "arrow", "points": [[0, 0], [1, 1]], "visible": "yes"}, "visible flag must be true or false"),
        ({"kind": "arrow", "points": "0,0,1,1"}, "points as a list of [x, y] pairs"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(data: dict, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        annotation_from_dict(data)
    assert message in str(caught.value)


def test_not_an_object() -> None:
    with pytest.raises(ValidationError, match="must be a JSON object"):
        annotation_from_dict(["arrow"])


def test_a_list_with_duplicate_ids_is_refused() -> None:
    one = {"kind": "arrow", "id": "same", "points": [[0, 0], [1, 1]]}
    with pytest.raises(ValidationError, match="share an id"):
        annotations_from_list([one, one])
    items = annotations_from_list(EXAMPLES)
    assert annotations_from_list(json.loads(json.dumps(annotations_to_list(items)))) == items


def test_scaling_with_the_image_moves_every_point() -> None:
    arrow = Arrow(start=Point(10, 20), end=Point(30, 40))
    bigger = scaled(arrow, 2.0, 3.0)
    assert bigger.points == (Point(20, 60), Point(60, 120))
    assert bigger.id == arrow.id and bigger.style == arrow.style
    ellipse = scaled(Ellipse(center=Point(10, 10), rx=4, ry=2), 0.5)
    assert isinstance(ellipse, Ellipse)
    assert (ellipse.center, ellipse.rx, ellipse.ry) == (Point(5, 5), 2, 1)
    with pytest.raises(ValidationError, match="greater than 0"):
        scaled(arrow, 0)


def test_constructors_check_their_arguments() -> None:
    with pytest.raises(ValidationError, match="must be a Point"):
        Ruler(start=(0, 0), end=Point(1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="first arm"):
        Angle(a=Point(0, 0), vertex=Point(0, 0), b=Point(1, 1))
    poly = Polyline(vertices=[Point(0, 0), Point(1, 0), Point(1, 1)], closed=True)  # type: ignore[arg-type]
    assert isinstance(poly.vertices, tuple)
    assert Text(anchor=Point(0, 0), text="hi").size == 24
    assert math.isclose(Style(width=True + 1).width, 2.0)  # ints are fine, bools are not numbers
    with pytest.raises(ValidationError):
        Style(width=True)
