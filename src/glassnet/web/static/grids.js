// Painting numbers as pictures, for both pages: a layer's units as a grid of squares, and a
// 28x28 image of signed values. Every canvas is drawn at one pixel per number and enlarged by
// CSS (image-rendering: pixelated), so the squares stay sharp.
"use strict";

// A colour scale from the card's background (no activity) to a bright accent (the layer's most
// active unit); negative values (tanh, leaky ReLU) shade towards a second hue.
export function heat(t) {
  if (t < 0) {
    const s = Math.min(1, -t);
    return `rgb(${Math.round(30 + 40 * s)}, ${Math.round(36 + 60 * s)}, ${Math.round(52 + 180 * s)})`;
  }
  const s = Math.min(1, t);
  return `rgb(${Math.round(30 + 225 * s)}, ${Math.round(36 + 150 * s * s)}, ${Math.round(52 - 20 * s)})`;
}

// A diverging scale for signed quantities (deltas, gradients, weights): blue below zero, orange
// above, near black at zero. t in [-1, 1].
export function diverging(t) {
  const s = Math.min(1, Math.abs(t));
  if (t < 0) return [Math.round(20 + 40 * s), Math.round(24 + 130 * s), Math.round(32 + 223 * s)];
  return [Math.round(20 + 235 * s), Math.round(24 + 130 * s), Math.round(32 - 10 * s)];
}

// Columns and rows of the squarest grid holding `units` squares.
export function gridShape(units) {
  const cols = Math.ceil(Math.sqrt(units));
  return { cols, rows: Math.ceil(units / cols) };
}

// A <figure> holding a grid canvas for `units` units and a caption; returns [figure, canvas].
export function gridFigure(units, id, caption, label) {
  const { cols, rows } = gridShape(units);
  const figure = document.createElement("figure");
  figure.className = "layer";
  const grid = document.createElement("canvas");
  grid.className = "layer-grid";
  grid.id = id;
  grid.width = cols;
  grid.height = rows;
  grid.setAttribute("role", "img");
  grid.setAttribute("aria-label", label);
  const text = document.createElement("figcaption");
  text.className = "muted small";
  text.textContent = caption;
  figure.append(grid, text);
  return [figure, grid];
}

// Paint one value per unit, scaled by the largest |value| (the brightest square).
export function paintLayer(grid, values) {
  const g = grid.getContext("2d");
  g.fillStyle = heat(0);
  g.fillRect(0, 0, grid.width, grid.height);
  if (!values) return;
  const scale = Math.max(1e-6, ...values.map(Math.abs));
  values.forEach((v, i) => {
    g.fillStyle = heat(v / scale);
    g.fillRect(i % grid.width, Math.floor(i / grid.width), 1, 1);
  });
}

// Paint signed values per unit on the diverging scale, scaled by the largest |value|.
export function paintSigned(grid, values) {
  const g = grid.getContext("2d");
  const pixels = g.createImageData(grid.width, grid.height);
  const scale = Math.max(1e-30, ...values.map(Math.abs));
  for (let i = 0; i < grid.width * grid.height; i++) {
    const [r, gr, b] = i < values.length ? diverging(values[i] / scale) : [30, 36, 52];
    pixels.data.set([r, gr, b, 255], 4 * i);
  }
  g.putImageData(pixels, 0, 0);
}

// Paint rows of values in [-1, 1] (a 28x28 image) on the diverging scale.
export function paintImage(canvas, rows) {
  const height = rows.length, width = rows[0].length;
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext("2d");
  const pixels = g.createImageData(width, height);
  rows.forEach((row, y) => row.forEach((v, x) => {
    pixels.data.set([...diverging(v), 255], 4 * (y * width + x));
  }));
  g.putImageData(pixels, 0, 0);
}

// A number in a few characters: 0.0123 -> "0.0123", 0.0000123 -> "1.2e-5".
export function shortNumber(x) {
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 0.001 && a < 1000) return x.toPrecision(3).replace(/\.?0+$/, "");
  return x.toExponential(1).replace("e+", "e");
}
