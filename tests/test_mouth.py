"""Mouth completion on a real face: occlusion by the lips, teeth anchoring,
shading order, colours from the photo, and the dark ablation."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from talking_head.face.rig import load_rig
from talking_head.face.topology import INNER_LIP_LOWER, INNER_LIP_UPPER
from talking_head.render.mouth import (
    DEFAULT_TEETH,
    MOUTH_OUTLINE,
    SKULL_POINTS,
    DarkMouth,
    RenderedMouth,
    draw_interior,
    mouth_box,
    mouth_colours,
    neutral_mouth,
    polygon_mask,
)


@pytest.fixture(scope="module")
def animator(pipeline, asset):
    return pipeline.animator(asset)


def mouth_coeffs(pipeline, asset, **values):
    """The photo's expression with a neutral mouth, then ``values``."""
    coeffs = neutral_mouth(pipeline.rig.names, asset.reconstruction.expression)
    for name, value in values.items():
        coeffs[pipeline.rig.index(name)] = value
    return coeffs


def luma(rgb):
    return np.asarray(rgb, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def test_skull_points_do_not_move_with_any_expression():
    rig = load_rig()
    assert np.abs(rig.deltas[:, list(SKULL_POINTS)]).max() < 0.02  # cm


def test_interior_is_drawn_only_inside_the_opening(pipeline, asset, animator):
    vertices = animator.vertices(mouth_coeffs(pipeline, asset, jawOpen=1.0))
    mouth = animator.renderer.render(vertices).mouth
    assert mouth.sum() > 200
    frame = np.random.default_rng(0).integers(0, 256, (*animator.size, 3), dtype=np.uint8)
    black = frame.copy()
    black[mouth > 0] = 0  # what the compositor hands over: the opening is black
    out = animator.compositor.completer.complete(black, mouth, vertices)
    assert out.shape == frame.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[mouth == 0], black[mouth == 0])
    assert out[mouth > 0.99].mean() > 20  # something was painted inside
    # A closed mouth leaves the frame as it is.
    closed = animator.vertices(mouth_coeffs(pipeline, asset))
    none = np.zeros(animator.size, np.float32)
    np.testing.assert_array_equal(animator.compositor.completer.complete(frame, none, closed), frame)


def test_upper_teeth_stay_with_the_skull_lower_teeth_follow_the_jaw(pipeline, asset, animator):
    completer = animator.compositor.completer
    half = completer.layout(animator.vertices(mouth_coeffs(pipeline, asset, jawOpen=0.5)))
    full_vertices = animator.vertices(mouth_coeffs(pipeline, asset, jawOpen=1.0))
    full = completer.layout(full_vertices)
    cm = full.px_per_cm
    np.testing.assert_allclose(full.upper_edge_image(), half.upper_edge_image(), atol=0.05)
    drop = full.lower_edge_image()[:, 1].mean() - half.lower_edge_image()[:, 1].mean()
    assert drop > 0.5 * cm  # the jaw opened a further ~0.9 cm at the lips
    assert full.jaw_deg > half.jaw_deg + 4.0
    # The upper incisal edge sits just under the upper lip (0-0.5 cm below it).
    upper_lip = full_vertices[INNER_LIP_UPPER[5], 1]
    edge = full.upper_edge_image()[len(full.upper.u) // 2, 1]
    assert 0.0 < edge - upper_lip < 0.5 * cm

    # In pixels: the drawn interior (unoccluded) has its bright upper band at
    # the same rows for both openings, the lower band lower for the wider one.
    box = mouth_box(full_vertices, animator.size, margin=40)
    weight = np.ones((box[0].stop - box[0].start, box[1].stop - box[1].start), np.float32)
    corner = (box[0].start, box[1].start)
    column = int(round(full.origin[0])) - corner[1]
    rows = []
    for layout in (half, full):
        image = draw_interior(layout, completer.colours, weight, corner)
        # (the lower teeth sit in the upper ones' shade: 0.62 of their brightness)
        bright = np.flatnonzero(luma(image[:, column]) > 0.45 * luma(completer.colours.teeth)) + corner[0]
        split = layout.origin[1] + 0.5 * (layout.upper.edge.max() + layout.lower.edge.min())
        rows.append((bright[bright < split].max(), bright[bright > split].min()))
    assert rows[0][0] == rows[1][0]  # bottom of the upper teeth
    assert rows[1][1] - rows[0][1] > 0.5 * cm  # top of the lower teeth


def test_teeth_are_brighter_than_the_cavity_and_touch_the_upper_lip(pipeline, asset, animator):
    coeffs = mouth_coeffs(pipeline, asset, jawOpen=1.0)
    frame = animator.frame(coeffs)
    layout = animator.compositor.completer.layout(animator.vertices(coeffs))
    x = int(layout.origin[0])
    inside = np.flatnonzero(frame.mouth_mask[:, x] > 0.99)
    top, bottom = inside.min(), inside.max()
    # The brightest of 5 columns about the midline (itself the dark boundary
    # between the central incisors).
    column = luma(frame.rgb[:, x - 2 : x + 3]).max(axis=1)
    teeth = column[top : top + 4].max()
    cavity = column[(top + bottom) // 2 - 1 : (top + bottom) // 2 + 2].mean()
    white = luma(animator.compositor.completer.colours.teeth)
    assert teeth > 0.6 * white
    assert cavity < 60
    assert teeth > 3 * cavity
    # The bright teeth start right under the lip (in its shade), not floating below it.
    assert column[top : top + 3].max() > 0.5 * white


def test_teeth_colour_comes_from_a_photo_that_shows_teeth(animator):
    photo, reference = animator.background, animator.reference_vertices
    opening = polygon_mask(reference[list(MOUTH_OUTLINE)], photo.shape[:2])
    assert opening.sum() > 100  # the astronaut smiles with parted lips
    painted = photo.copy()
    painted[opening] = (205, 215, 230)  # bright, weakly saturated: teeth
    colours = mouth_colours(painted, reference)
    assert colours.teeth_from_photo
    np.testing.assert_allclose(colours.teeth, (205, 215, 230), atol=2)

    dark = photo.copy()
    dark[opening] = (40, 20, 20)  # an open mouth that shows no teeth
    colours = mouth_colours(dark, reference)
    assert not colours.teeth_from_photo
    teeth = colours.teeth
    assert teeth[0] >= teeth[1] >= teeth[2]  # warm off-white
    assert luma(teeth) > luma(colours.tongue) > luma(colours.deep)
    # The default follows the photo's exposure.
    dim = mouth_colours((dark * 0.6).astype(np.uint8), reference)
    assert not dim.teeth_from_photo
    assert luma(dim.teeth) < 0.8 * luma(teeth)
    assert luma(teeth) <= luma(DEFAULT_TEETH) + 1e-3


def test_cavity_and_tongue_are_redder_than_the_lips(animator):
    colours = mouth_colours(animator.background, animator.reference_vertices)
    for part in (colours.tongue, colours.rim, colours.deep):
        assert part[0] > part[1] and part[0] > part[2]
        assert part[0] / max(part[1], 1.0) > 1.2


def test_head_motion_carries_the_teeth(pipeline, asset, animator):
    completer = animator.compositor.completer
    vertices = animator.vertices(mouth_coeffs(pipeline, asset, jawOpen=0.8))
    angle = np.radians(12.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0, 0, 1.0]])
    pivot = vertices.mean(axis=0)
    moved = (vertices - pivot) @ rotation.T + pivot + np.array([7.0, -5.0, 0.0])
    before, after = completer.layout(vertices), completer.layout(moved)
    expected = (np.c_[before.upper_edge_image(), np.zeros(len(before.upper.u))] - pivot) @ rotation.T + pivot
    np.testing.assert_allclose(after.upper_edge_image(), expected[:, :2] + [7.0, -5.0], atol=0.05)
    expected = (np.c_[before.lower_edge_image(), np.zeros(len(before.lower.u))] - pivot) @ rotation.T + pivot
    np.testing.assert_allclose(after.lower_edge_image(), expected[:, :2] + [7.0, -5.0], atol=0.05)


def test_dark_mouth_is_the_ablation(pipeline, asset, animator):
    dark = pipeline.animator(asset, replace(pipeline.config, mouth=False))
    assert isinstance(dark.compositor.completer, DarkMouth)
    assert isinstance(animator.compositor.completer, RenderedMouth)
    coeffs = mouth_coeffs(pipeline, asset, jawOpen=1.0)
    plain, rendered = dark.frame(coeffs), animator.frame(coeffs)
    inside = plain.mouth_mask > 0.99
    assert plain.rgb[inside].max() < 60
    assert luma(rendered.rgb[inside]).max() > 150  # teeth
    # Outside the opening's soft edge both are the same frame.
    near = cv2.dilate((plain.mouth_mask > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    np.testing.assert_array_equal(plain.rgb[~near], rendered.rgb[~near])


def test_rendered_mouth_checks_its_inputs(animator):
    with pytest.raises(ValueError, match="468"):
        RenderedMouth.from_face(animator.background, animator.reference_vertices[:100])
    with pytest.raises(ValueError, match="uint8"):
        RenderedMouth.from_face(animator.background.astype(np.float32), animator.reference_vertices)


def test_closed_photo_mouth_has_no_opening(animator, pipeline, asset):
    neutral = animator.vertices(mouth_coeffs(pipeline, asset))
    inner = neutral[list(INNER_LIP_UPPER)], neutral[list(INNER_LIP_LOWER)]
    assert np.abs(inner[0][:, 1] - inner[1][:, 1]).max() < 1.0  # lips together (px)
    colours = mouth_colours(animator.background, neutral)
    assert not colours.teeth_from_photo


def test_turned_head_keeps_arches_drawable(pipeline, asset, animator):
    completer = animator.compositor.completer
    coeffs = mouth_coeffs(pipeline, asset, jawOpen=1.0)
    vertices = animator.vertices(coeffs)
    pivot = vertices.mean(axis=0)
    for degrees in (-35.0, 35.0):
        a = np.radians(degrees)
        yaw = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
        turned = (vertices - pivot) @ yaw.T + pivot
        layout = completer.layout(turned)
        for arch in (layout.upper, layout.lower):
            assert np.all(np.diff(arch.u) > 0)  # one edge height per position
            assert arch.bounds.min() >= arch.u[0] and arch.bounds.max() <= arch.u[-1]
        # Turned away, the far half of the arch is foreshortened.
        near, far = sorted([layout.upper.u[-1], -layout.upper.u[0]])
        assert far > near
        mouth = animator.renderer.render(turned).mouth
        black = np.zeros((*animator.size, 3), np.uint8)
        out = completer.complete(black, mouth, turned)
        assert out[mouth == 0].max() == 0 and out[mouth > 0.99].max() > 100


def test_mouth_interior_brightness_follows_the_face(animator):
    """A darker photo (same face) gets proportionally darker teeth and cavity,
    and default teeth are never brighter than the face's own whites."""
    photo, reference = animator.background, animator.reference_vertices
    opening = polygon_mask(reference[list(MOUTH_OUTLINE)], photo.shape[:2])
    closed = photo.copy()
    closed[opening] = (40, 20, 20)  # no teeth to sample: the default path
    bright = mouth_colours(closed, reference)
    dark = mouth_colours((closed * 0.35).astype(np.uint8), reference)
    for part in ("teeth", "tongue", "rim"):
        ratio = luma(getattr(dark, part)) / luma(getattr(bright, part))
        assert 0.25 < ratio < 0.45, part
    assert luma(bright.teeth) <= np.percentile(luma(closed.reshape(-1, 3)), 99)


def test_opening_staircase_is_smoothed():
    from talking_head.render.mouth import smooth_outline

    mask = np.zeros((12, 48), bool)
    mask[4:9, 2:46] = True
    mask[4, 2:24] = False  # a one-pixel step in the top edge at x = 24
    coverage = smooth_outline(mask)
    assert coverage.dtype == np.float32 and coverage.shape == mask.shape
    # The step becomes a slope: partial coverage over several pixels of row 4 ...
    partial = np.flatnonzero((coverage[4] > 0.05) & (coverage[4] < 0.95))
    assert np.sum((partial > 14) & (partial < 30)) >= 3
    # ... while straight edges and the area stay (corners round off a little).
    np.testing.assert_allclose(coverage[5:8, 10:40], 1.0)
    assert coverage[3].max() == 0.0 and coverage[9].max() == 0.0
    assert abs(coverage.sum() - mask.sum()) < 0.06 * mask.sum()
    # A thin opening (two pixels) survives.
    thin = np.zeros((8, 40), bool)
    thin[3:5, 4:36] = True
    np.testing.assert_allclose(smooth_outline(thin)[3:5, 10:30], 1.0)


def test_smoothed_edge_gives_trimmed_pixels_to_the_lip(animator, pipeline, asset):
    """Where the smooth outline trims the pixel staircase the lip shows, not black."""
    from talking_head.render.mouth import smooth_opening

    vertices = animator.vertices(mouth_coeffs(pipeline, asset, jawOpen=0.6))
    frame = animator.frame(mouth_coeffs(pipeline, asset, jawOpen=0.6))
    box = mouth_box(vertices, animator.size)
    render = animator.renderer.render(vertices)
    weight = frame.mouth_mask[box] * frame.face_alpha[box]
    lip_layer = frame.rgb[box].copy()
    lip_layer[weight > 0.5] = 0  # as handed over: black in the opening
    inside, lip = smooth_opening(lip_layer, weight)
    assert np.all(inside[weight == 0] == 0) and np.all(inside <= 1.0) and np.all(inside >= 0.0)
    trimmed = (render.mouth[box] > 0.5) & (inside < 0.9 * weight)
    assert trimmed.sum() > 0
    lips = frame.rgb[box][weight == 0].astype(np.float32)
    assert luma(lip[trimmed]).mean() > 0.5 * luma(lips).mean()


def test_teeth_are_separate_crowns_not_a_strip(pipeline, asset, animator):
    completer = animator.compositor.completer
    vertices = animator.vertices(mouth_coeffs(pipeline, asset, jawOpen=1.0))
    layout = completer.layout(vertices)
    box = mouth_box(vertices, animator.size, margin=40)
    weight = np.ones((box[0].stop - box[0].start, box[1].stop - box[1].start), np.float32)
    corner = (box[0].start, box[1].start)
    image = luma(draw_interior(layout, completer.colours, weight, corner))
    # A row through the upper crowns, a little above the incisal edge.
    mid = len(layout.upper.u) // 2
    above_edge = np.array([layout.upper.edge[mid] - 0.3 * layout.px_per_cm])
    row = int(round(layout.to_image(np.array([0.0]), above_edge)[0, 1]))
    profile = image[row - corner[0]]
    u = (np.arange(profile.size) + corner[1] + 0.5 - layout.origin[0]) * layout.axis[0]
    bounds = layout.upper.bounds
    front = bounds[np.argsort(np.abs(bounds))[:3]]  # the midline and the two boundaries beside it
    gaps = [profile[np.argmin(np.abs(u - b))] for b in front]
    centres = [profile[np.argmin(np.abs(u - c))] for c in (front[:2].mean(), front[[0, 2]].mean())]
    # Each boundary is darker than the crowns beside it: soft shading, not black outlines.
    assert max(gaps) < 0.95 * min(centres)
    assert min(gaps) > 0.4 * max(centres)
    # The front teeth are brighter than those towards the corners (the arch recedes).
    side = profile[np.argmin(np.abs(u - 0.8 * bounds.max()))]
    assert side < 0.8 * max(centres)
