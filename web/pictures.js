// Pictures drawn in the page from an explanation's featureAttributions, for
// when the server sends none (requests without "visualize", or a server
// without the renderer): an image heatmap or outline overlay on a canvas, and
// a feature-importance bar chart as inline SVG. The server's own pictures
// (entry.visualizations) are preferred by app.js whenever they are present.

const SVG_NS = 'http://www.w3.org/2000/svg';

// --- image overlays ----------------------------------------------------------

// Defaults as the cloud service's: outlines for Integrated Gradients, pixels
// with viridis for XRAI; the model's metadata `visualization` overrides them.
export function visualizationSettings(method, visualization) {
  const v = visualization || {};
  const pick = (...keys) => keys.map((k) => v[k]).find((x) => x !== undefined && x !== null);
  const xrai = method === 'xrai';
  return {
    type: pick('type') || (xrai ? 'pixels' : 'outlines'),
    polarity: pick('polarity') || 'positive',
    colorMap: pick('color_map', 'colorMap') || (xrai ? 'viridis' : 'pink_green'),
    clipUpper: Number(pick('clip_percent_upperbound', 'clipPercentUpperbound') ?? 99.9),
    clipLower: Number(pick('clip_percent_lowerbound', 'clipPercentLowerbound') ?? 62),
    overlayType: pick('overlay_type', 'overlayType') || 'grayscale',
  };
}

// The shape of a nested numeric list, or null if it is ragged or not numeric.
export function nestedShape(value) {
  const shape = [];
  let level = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  if (shape.length === 0 || typeof level !== 'number') return null;
  return shape;
}

// [H][W][C] or [H][W] -> {height, width, channels, at(y, x, c)}; null otherwise.
export function asImageArray(value) {
  const shape = nestedShape(value);
  if (!shape || (shape.length !== 2 && shape.length !== 3)) return null;
  const [height, width] = shape;
  const channels = shape.length === 3 ? shape[2] : 1;
  if (height < 2 || width < 2 || channels < 1 || channels > 4) return null;
  const at = shape.length === 3 ? (y, x, c) => value[y][x][c] : (y, x) => value[y][x];
  return { height, width, channels, at };
}

// An image instance ([H][W][C] floats in [min, max]) -> RGB bytes.
export function imageToRgb(image, domain) {
  const lo = domain?.min ?? 0;
  const hi = domain?.max ?? 1;
  const scale = hi > lo ? 255 / (hi - lo) : 255;
  const rgb = new Uint8ClampedArray(image.width * image.height * 3);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const i = (y * image.width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const channel = image.channels >= 3 ? c : 0;
        rgb[i + c] = (image.at(y, x, channel) - lo) * scale;
      }
    }
  }
  return rgb;
}

const VIRIDIS = [
  [0.0, [68, 1, 84]], [0.25, [59, 82, 139]], [0.5, [33, 145, 140]], [0.75, [94, 201, 98]], [1.0, [253, 231, 37]],
];
// Per colour map: the colour of positive and of negative attributions.
const SIDE_COLOURS = {
  pink_green: { pos: [77, 146, 33], neg: [197, 27, 125] },
  pink_white_green: { pos: [77, 146, 33], neg: [197, 27, 125] },
  red_green: { pos: [26, 152, 80], neg: [215, 48, 39] },
  red: { pos: [214, 39, 40], neg: [214, 39, 40] },
  green: { pos: [44, 160, 44], neg: [44, 160, 44] },
  viridis: { pos: [253, 231, 37], neg: [253, 231, 37] },
};

function viridis(t) {
  for (let i = 1; i < VIRIDIS.length; i++) {
    const [t1, c1] = VIRIDIS[i];
    const [t0, c0] = VIRIDIS[i - 1];
    if (t <= t1) {
      const f = (t - t0) / (t1 - t0);
      return c0.map((v, k) => v + (c1[k] - v) * f);
    }
  }
  return VIRIDIS[VIRIDIS.length - 1][1];
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.floor((p / 100) * (sorted.length - 1))));
  return sorted[index];
}

// Attributions [H][W][C] -> per pixel {norm in [0,1], sign}: summed over the
// channels, filtered by polarity, clipped between the two percentiles.
export function normalizeAttributions(attributions, settings) {
  const a = asImageArray(attributions);
  if (!a) return null;
  const n = a.width * a.height;
  const signed = new Float64Array(n);
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      let sum = 0;
      for (let c = 0; c < a.channels; c++) sum += a.at(y, x, c);
      signed[y * a.width + x] = sum;
    }
  }
  const magnitude = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = signed[i];
    if (settings.polarity === 'positive') magnitude[i] = Math.max(v, 0);
    else if (settings.polarity === 'negative') magnitude[i] = Math.max(-v, 0);
    else magnitude[i] = Math.abs(v);
  }
  const sorted = Array.from(magnitude).sort((p, q) => p - q);
  const lo = percentile(sorted, settings.clipLower);
  const hi = percentile(sorted, settings.clipUpper);
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = magnitude[i];
    if (m <= 0 || m < lo) continue;
    norm[i] = hi > lo ? Math.min(1, (m - lo) / (hi - lo)) : 1;
  }
  return { width: a.width, height: a.height, norm, sign: signed.map((v) => (v < 0 ? -1 : 1)) };
}

// Draws the overlay onto a new canvas, each attribution pixel `scale` pixels wide.
// `baseRgb`: the instance's RGB bytes at the attribution's size, or null.
export function drawOverlay(attributions, baseRgb, settings, maxSide = 256) {
  const map = normalizeAttributions(attributions, settings);
  if (!map) return null;
  const { width, height, norm, sign } = map;
  const scale = Math.max(1, Math.floor(maxSide / Math.max(width, height)));
  const canvas = document.createElement('canvas');
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext('2d');
  const sides = SIDE_COLOURS[settings.colorMap] || SIDE_COLOURS.pink_green;

  const baseAt = (i) => {
    if (!baseRgb || settings.overlayType === 'none') return [0, 0, 0];
    const rgb = [baseRgb[i * 3], baseRgb[i * 3 + 1], baseRgb[i * 3 + 2]];
    if (settings.overlayType === 'grayscale') {
      const g = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
      return [g, g, g];
    }
    return rgb;
  };
  const colourAt = (i) => {
    if (settings.colorMap === 'viridis') return viridis(norm[i]);
    const side = sign[i] < 0 ? sides.neg : sides.pos;
    if (settings.colorMap === 'pink_white_green') return [255, 255, 255].map((w, k) => w + (side[k] - w) * norm[i]);
    return side;
  };

  const pixels = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const base = baseAt(i);
    let out;
    if (settings.type === 'outlines') {
      out = base;
    } else if (settings.overlayType === 'mask_black') {
      out = baseRgb ? [baseRgb[i * 3], baseRgb[i * 3 + 1], baseRgb[i * 3 + 2]].map((v) => v * norm[i]) : [0, 0, 0];
    } else {
      // Opaque enough to read at the low end of the clipped range, fully opaque at the top.
      // The colour covers the image as much as the attribution is strong; with
      // no image (overlay none) viridis is shown as is, other maps fade from black.
      const alpha = settings.overlayType === 'none' && settings.colorMap === 'viridis' && norm[i] > 0 ? 1 : norm[i];
      const colour = colourAt(i);
      out = base.map((v, k) => v * (1 - alpha) + colour[k] * alpha);
    }
    pixels.data.set([out[0], out[1], out[2], 255], i * 4);
  }
  // Scale up without smoothing: one attribution pixel is a block.
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  small.getContext('2d').putImageData(pixels, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);

  if (settings.type === 'outlines') {
    // The edges between pixels inside the clipped region and pixels outside it.
    const inside = (x, y) => x >= 0 && y >= 0 && x < width && y < height && norm[y * width + x] > 0;
    ctx.lineWidth = Math.max(1, Math.round(scale / 3));
    ctx.lineCap = 'square';
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (!inside(x, y)) continue;
        const colour = settings.colorMap === 'viridis' ? viridis(1) : sign[y * width + x] < 0 ? sides.neg : sides.pos;
        ctx.strokeStyle = `rgb(${colour.map(Math.round).join(',')})`;
        ctx.beginPath();
        const [x0, y0, x1, y1] = [x * scale, y * scale, (x + 1) * scale, (y + 1) * scale];
        if (!inside(x, y - 1)) { ctx.moveTo(x0, y0); ctx.lineTo(x1, y0); }
        if (!inside(x, y + 1)) { ctx.moveTo(x0, y1); ctx.lineTo(x1, y1); }
        if (!inside(x - 1, y)) { ctx.moveTo(x0, y0); ctx.lineTo(x0, y1); }
        if (!inside(x + 1, y)) { ctx.moveTo(x1, y0); ctx.lineTo(x1, y1); }
        ctx.stroke();
      }
    }
  }
  return canvas;
}

// RGB bytes -> a canvas scaled like drawOverlay's.
export function drawImage(rgb, width, height, maxSide = 256) {
  const scale = Math.max(1, Math.floor(maxSide / Math.max(width, height)));
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  const pixels = small.getContext('2d').createImageData(width, height);
  for (let i = 0; i < width * height; i++) pixels.data.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 255], i * 4);
  small.getContext('2d').putImageData(pixels, 0, 0);
  const canvas = document.createElement('canvas');
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  return canvas;
}

// --- bar charts --------------------------------------------------------------

// featureAttributions -> [{label, value}], flattened: a list gives one bar per
// element (named by `names(inputName, index)`), an object one per key (nested
// objects, as bag_of_features gives, one per inner key).
export function flattenAttributions(attributions, names) {
  const bars = [];
  const walk = (value, inputName, path) => {
    if (typeof value === 'number') {
      const label = path.length === 0 ? inputName || 'value'
        : path.length === 1 ? names(inputName, path[0])
          : `${inputName || 'x'}[${path.join(',')}]`;
      bars.push({ label, value });
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, inputName, [...path, i]));
    } else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (inputName === null) walk(v, key, path);
        else if (typeof v === 'number') bars.push({ label: key, value: v });
        else walk(v, `${inputName}.${key}`, path);
      }
    }
  };
  walk(attributions, null, []);
  return bars;
}

function svg(tag, attributes, text) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, String(v));
  if (text !== undefined) element.textContent = text;
  return element;
}

export function formatNumber(value) {
  const a = Math.abs(value);
  if (a === 0) return '0';
  if (a >= 1000 || a < 0.001) return value.toExponential(2);
  return value.toPrecision(3);
}

// The top `topK` bars by magnitude as an SVG bar chart (positive green to the
// right, negative pink to the left of a zero line).
export function drawBarChart(bars, topK) {
  const top = [...bars].sort((p, q) => Math.abs(q.value) - Math.abs(p.value)).slice(0, topK);
  const rowHeight = 22;
  const labelWidth = Math.min(260, Math.max(90, 7.2 * Math.max(...top.map((b) => b.label.length), 4) + 12));
  const plotWidth = 300;
  const valueWidth = 70;
  const width = labelWidth + plotWidth + valueWidth;
  const height = top.length * rowHeight + 26;
  const chart = svg('svg', {
    class: 'bar-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `top ${top.length} feature attributions`,
  });
  const max = Math.max(...top.map((b) => Math.abs(b.value)), 1e-12);
  const hasNegative = top.some((b) => b.value < 0);
  const hasPositive = top.some((b) => b.value > 0);
  const zero = labelWidth + (hasNegative && hasPositive ? plotWidth / 2 : hasNegative ? plotWidth : 0);
  const span = hasNegative && hasPositive ? plotWidth / 2 : plotWidth;
  top.forEach((bar, i) => {
    const y = i * rowHeight + 4;
    const length = (Math.abs(bar.value) / max) * (span - 4);
    const x = bar.value < 0 ? zero - length : zero;
    chart.append(svg('text', { x: labelWidth - 8, y: y + 14, 'text-anchor': 'end', class: 'bar-label' }, bar.label));
    const rect = svg('rect', {
      x, y, width: Math.max(length, 1), height: rowHeight - 6, class: bar.value < 0 ? 'bar negative' : 'bar positive',
    });
    rect.append(svg('title', {}, `${bar.label}: ${bar.value}`));
    chart.append(rect);
    const valueX = bar.value < 0 ? (hasPositive ? zero + 4 : labelWidth + plotWidth + 4) : zero + length + 4;
    chart.append(svg('text', { x: valueX, y: y + 14, class: 'bar-value' }, formatNumber(bar.value)));
  });
  chart.append(svg('line', { x1: zero, x2: zero, y1: 0, y2: top.length * rowHeight + 2, class: 'zero-line' }));
  chart.append(svg('text', { x: labelWidth, y: height - 6, class: 'axis-note' },
    'attribution (green raises the explained output, pink lowers it)'));
  return chart;
}
