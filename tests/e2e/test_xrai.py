"""XRAI on `shapes_cnn` (32x32x3 images, a square or a cross of 64 pixels,
6% of the image, at a random place): the map redistributes the Integrated
Gradients from the black and the white image region by region, it points
at the shape, and its top regions overlap those of PAIR saliency's XRAI on
the same SavedModel.

Top-10% pixel sets are the 102 highest pixels, ties (pixels of one region)
broken in row-major order. Measured on the fixture (pytest -s prints them):

    instance (class)          0 (square)  1 (cross)  2 (cross)  3 (square)
    XRAI top 10% in shape        0.61        0.20       0.60       0.23
    IG |attr| top 10% in shape   0.45        0.59       0.56       0.56
    PAIR XRAI top 10% in shape   0.25        0.39       0.50       0.14
    IoU xaiserve/PAIR top 10%    0.30        0.37       0.39       0.00
    IoU xaiserve/PAIR top 20%    0.41        0.43       0.57       0.26

Chance is 0.06 in shape (at most 64/102 = 0.63), and an IoU of 0.05 (10%)
or 0.11 (20%) for unrelated sets. xaiserve's regions differ from PAIR's by
design (it segments the 32x32 image with scaled parameters where PAIR
resizes it to 224x224, and it has no 50-pixel minimum on a region's new
pixels, so slivers of 1-6 pixels left over by overlapping regions can rank
first: instance 3's top four regions hold 10 pixels).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import attribution_values, fixture_dir, only_attribution, read_instances
from reference import approximation_error, gaussian_blur, integrated_gradients

MODEL = "shapes_cnn"
XRAI = ("--method", "xrai")
TOP_FRACTION = 0.1


@pytest.fixture(scope="module")
def shapes(tf_models):
    """The model's target, its images and their shape masks and labels."""
    target = tf_models[MODEL].target("serving_default", "image", "probabilities")
    images = np.array(read_instances(MODEL), np.float32)
    masks = json.loads((fixture_dir(MODEL) / "shape_masks.json").read_text())
    return target, images, masks


@pytest.fixture(scope="module")
def black_white_ig(shapes):
    """Reference IG of each image for its labelled class, from the black (0)
    and the white (1) image, averaged: what XRAI redistributes."""
    target, images, masks = shapes
    return [
        integrated_gradients(target, image, [np.zeros_like(image), np.ones_like(image)], 50, (m["label"],))
        for image, m in zip(images, masks)
    ]


def top_pixels(pixel_map: np.ndarray, fraction: float = TOP_FRACTION) -> np.ndarray:
    """A boolean map of the `fraction` highest pixels (ties in row-major order)."""
    count = int(round(fraction * pixel_map.size))
    order = np.argsort(-pixel_map.ravel(), kind="stable")[:count]
    chosen = np.zeros(pixel_map.size, bool)
    chosen[order] = True
    return chosen.reshape(pixel_map.shape)


def inside_fraction(chosen: np.ndarray, mask: np.ndarray) -> float:
    return float((chosen & mask).sum() / chosen.sum())


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def xrai_maps(xaiserve) -> list[np.ndarray]:
    """xaiserve's XRAI of each image, [32, 32, 3]."""
    return [attribution_values(only_attribution(r)) for r in xaiserve.explain(MODEL, *XRAI)]


# --------------------------------------------------------------------------
# The map is the IG map, redistributed by region
# --------------------------------------------------------------------------


def test_xrai_explains_the_predicted_class(xaiserve, shapes, black_white_ig):
    _, _, masks = shapes
    responses = xaiserve.explain(MODEL, *XRAI)

    assert len(responses) == len(masks)
    for i, (response, m, ref) in enumerate(zip(responses, masks, black_white_ig)):
        entry = only_attribution(response)
        assert entry["outputIndex"] == [m["label"]], i
        assert entry["outputDisplayName"] == m["class_name"], i
        assert entry["outputName"] == "probabilities", i
        assert entry["instanceOutputValue"] == pytest.approx(ref.instance_output, abs=1e-5), i
        # f(black) and f(white), averaged.
        assert entry["baselineOutputValue"] == pytest.approx(ref.baseline_output, abs=1e-5), i


def test_xrai_total_is_the_black_white_ig_total(xaiserve, black_white_ig):
    """The map sums to the reference IG total, and approximationError is that
    total's completeness gap."""
    responses = xaiserve.explain(MODEL, *XRAI)
    for i, (pixel_map, response, ref) in enumerate(zip(xrai_maps(xaiserve), responses, black_white_ig)):
        total, expected = pixel_map.sum(), ref.attributions.sum()
        assert total == pytest.approx(expected, rel=1e-4, abs=1e-7), f"instance {i}"
        gap = approximation_error(ref.attributions, ref.instance_output, ref.baseline_output)
        assert only_attribution(response)["approximationError"] == pytest.approx(gap, rel=1e-3, abs=1e-6), i


def test_xrai_pixels_carry_their_regions_density(xaiserve, black_white_ig):
    """The pixels sharing one value are the pixels one region newly covered;
    the value, times the 3 channels it is spread over, is the mean over them
    of the reference IG summed over channels."""
    for i, (pixel_map, ref) in enumerate(zip(xrai_maps(xaiserve), black_white_ig)):
        same_channels = np.repeat(pixel_map[..., :1], 3, axis=-1)
        assert np.array_equal(pixel_map, same_channels), f"instance {i}: channels differ"
        values = pixel_map[..., 0]
        ig = ref.attributions.sum(axis=-1)
        regions = np.unique(values)
        assert 2 <= len(regions) < values.size // 4, f"instance {i}: {len(regions)} regions"
        densities = np.array([ig[values == v].mean() for v in regions])
        allowed = 1e-4 * float(np.max(np.abs(ig))) + 1e-9
        worst = float(np.max(np.abs(3 * regions - densities)))
        assert worst <= allowed, f"instance {i}: region density off by {worst:.3g}"


def test_xrai_with_a_blur_baseline_redistributes_the_blur_ig_total(xaiserve, shapes):
    """Vertex's xraiAttribution.blurBaselineConfig: the path starts at the
    image blurred (reference.py's gaussian_blur), not at black and white."""
    target, images, masks = shapes
    responses = xaiserve.explain(MODEL, *XRAI, "--max-blur-sigma", 3, "--steps", 20)
    for i, (response, image, m) in enumerate(zip(responses, images, masks)):
        ref = integrated_gradients(target, image, [gaussian_blur(image, 3)], 20, (m["label"],))
        entry = only_attribution(response)
        assert entry["baselineOutputValue"] == pytest.approx(ref.baseline_output, abs=1e-5), i
        total = attribution_values(entry).sum()
        assert total == pytest.approx(ref.attributions.sum(), rel=1e-4, abs=1e-6), i


def test_xrai_fast_variant_also_redistributes_the_ig_total(xaiserve, black_white_ig):
    """--xrai-fast (3 scales, regions in rounds): a different map of the same total."""
    fast = xaiserve.explain(MODEL, *XRAI, "--xrai-fast")
    exact = xrai_maps(xaiserve)
    differs = False
    for i, (response, ref, exact_map) in enumerate(zip(fast, black_white_ig, exact)):
        pixel_map = attribution_values(only_attribution(response))
        assert pixel_map.sum() == pytest.approx(ref.attributions.sum(), rel=1e-4, abs=1e-7), i
        differs = differs or not np.allclose(pixel_map, exact_map)
    assert differs, "the fast variant gave the exact variant's maps"


def test_xrai_fast_is_for_xrai_only(xaiserve):
    result = xaiserve.command("explain", MODEL, "--xrai-fast")
    assert result.returncode == 2
    assert "--xrai-fast applies to --method xrai only" in result.stderr


# --------------------------------------------------------------------------
# Localization
# --------------------------------------------------------------------------


def test_xrai_points_at_the_shape(xaiserve, shapes):
    """Measured in-shape fractions 0.61, 0.20, 0.60, 0.23 (chance 0.06); mean
    XRAI value on the shape over the mean elsewhere 183, 4.4, 9.0, 2.6."""
    _, _, masks = shapes
    fractions = []
    for i, (pixel_map, m) in enumerate(zip(xrai_maps(xaiserve), masks)):
        mask = np.array(m["mask"], bool)
        values = pixel_map.sum(axis=-1)
        fraction = inside_fraction(top_pixels(values), mask)
        inside, outside = values[mask].mean(), values[~mask].mean()
        print(
            f"XRAI instance {i} ({m['class_name']}): top 10% in shape {fraction:.2f}, "
            f"density ratio {inside / outside:.1f}"
        )
        assert fraction > 0.15, f"instance {i}"
        assert inside > 0 and inside > 2 * outside, f"instance {i}: mean {inside} on, {outside} off the shape"
        fractions.append(fraction)
    assert np.mean(fractions) > 0.35


def test_integrated_gradients_points_at_the_shape(xaiserve, shapes):
    """|attribution| summed over channels; measured 0.45, 0.59, 0.56, 0.56."""
    _, _, masks = shapes
    for i, (response, m) in enumerate(zip(xaiserve.explain(MODEL), masks)):
        strength = np.abs(attribution_values(only_attribution(response))).sum(axis=-1)
        fraction = inside_fraction(top_pixels(strength), np.array(m["mask"], bool))
        print(f"IG instance {i} ({m['class_name']}): top 10% in shape {fraction:.2f}")
        assert fraction > 0.4, f"instance {i}"


# --------------------------------------------------------------------------
# PAIR saliency's XRAI
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair_xrai(shapes):
    """saliency.core.XRAI on the same SavedModel: gradients of the labelled
    class's probability from tf.GradientTape, black and white baselines, 50
    steps. [32, 32] per image."""
    import saliency.core as saliency

    target, images, masks = shapes
    maps = []
    for image, m in zip(images, masks):
        index = (m["label"],)

        def call_model(batch, call_model_args=None, expected_keys=None):
            return {saliency.INPUT_OUTPUT_GRADIENTS: target.gradients(np.asarray(batch, np.float32), index)}

        maps.append(
            saliency.XRAI().GetMask(
                image,
                call_model,
                baselines=[np.zeros_like(image), np.ones_like(image)],
                batch_size=64,
                extra_parameters=saliency.XRAIParameters(steps=50),
            )
        )
    return maps


def test_xrai_top_regions_overlap_pair_saliency(xaiserve, shapes, pair_xrai):
    """IoU of the top-10% sets: measured 0.30, 0.37, 0.39, 0.00 (mean 0.27,
    chance 0.05); of the top-20% sets 0.41, 0.43, 0.57, 0.26 (chance 0.11)."""
    _, _, masks = shapes
    overlaps = []
    for i, (ours, theirs, m) in enumerate(zip(xrai_maps(xaiserve), pair_xrai, masks)):
        ours = ours.sum(axis=-1)
        top10 = iou(top_pixels(ours), top_pixels(theirs))
        top20 = iou(top_pixels(ours, 0.2), top_pixels(theirs, 0.2))
        theirs_inside = inside_fraction(top_pixels(theirs), np.array(m["mask"], bool))
        print(
            f"XRAI instance {i}: IoU with PAIR saliency top 10% {top10:.2f}, top 20% {top20:.2f}; "
            f"PAIR top 10% in shape {theirs_inside:.2f}"
        )
        assert top20 > 0.2, f"instance {i}"
        overlaps.append(top10)
    assert np.mean(overlaps) > 0.2


# --------------------------------------------------------------------------
# Images only
# --------------------------------------------------------------------------


def test_xrai_refuses_tabular_inputs(xaiserve):
    result = xaiserve.command("explain", "tabular_mlp", *XRAI)
    result.expect_failure(phrases=["XRAI", "image", "Integrated Gradients"])
