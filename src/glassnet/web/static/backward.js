// The backward pass of the drawing, and "learn this": what the network would change to read the
// drawing as the label you pick, and one step of that change in the page's own copy.
//
// The server computes both (Network.trace, the code the tests prove equal to backprop); this file
// asks for them and draws them. The page's copy lives in the server's memory under `session`, a
// random token made when the page loads, and is never written to disk; Reset drops it.
"use strict";

import { gridFigure, paintImage, paintSigned, shortNumber } from "/static/grids.js";

export function createBackward({ session, canvasRows, isInked, refresh, percent }) {
  const view = document.getElementById("backward");
  const labelText = document.getElementById("backward-label");
  const summary = document.getElementById("backward-summary");
  const deltas = document.getElementById("deltas");
  const outputDeltas = document.getElementById("output-deltas");
  const sizesScale = document.getElementById("gradient-scale");
  const sizes = document.getElementById("gradient-sizes");
  const units = document.getElementById("unit-gradients");
  const learnButton = document.getElementById("learn");
  const resetButton = document.getElementById("reset");
  const rateInput = document.getElementById("learning-rate");
  const result = document.getElementById("learn-result");
  const bars = document.getElementById("bars");

  let names = [];
  let layerSizes = [];
  let target = null;        // the label picked by clicking a bar; null: the prediction
  let predicted = null;
  let inFlight = false;
  let dirty = false;
  let generation = 0;

  function setModel(model) {
    names = model.class_names;
    layerSizes = model.layer_sizes;
    if (model.learning_rate) rateInput.value = String(model.learning_rate);
    deltas.replaceChildren();
    layerSizes.slice(1).forEach((n, l) => {
      const last = l === layerSizes.length - 2;
      const [figure] = gridFigure(
        n, `delta-${l + 1}`,
        last ? `Output δ = (ŷ − y), one square per class (${n})`
          : `Layer ${l + 1} δ, one square per unit (${n})`,
        `Delta of ${last ? "the output layer" : `hidden layer ${l + 1}`}`);
      deltas.append(figure);
    });
    // The output δ again, one labelled row per class: ŷₖ − yₖ, positive for every class but the
    // label (the network should lower those), negative for the label.
    outputDeltas.replaceChildren();
    names.forEach((name, k) => {
      const item = document.createElement("li");
      item.dataset.class = String(k);
      const text = document.createElement("span");
      text.className = "size-label";
      text.textContent = name;
      const track = document.createElement("span");
      track.className = "bar-track signed";
      const fill = document.createElement("span");
      fill.className = "bar-fill delta-fill";
      track.append(fill);
      const value = document.createElement("span");
      value.className = "bar-value";
      item.append(text, track, value);
      outputDeltas.append(item);
    });
  }

  function renderOutputDeltas(values) {
    const scale = Math.max(1e-30, ...values.map(Math.abs));
    outputDeltas.querySelectorAll("li").forEach((item, k) => {
      const v = values[k] ?? 0;
      item.dataset.delta = String(v);
      const fill = item.querySelector(".delta-fill");
      fill.style.transform = `scaleX(${Math.abs(v) / scale})`;
      fill.classList.toggle("negative", v < 0);
      item.querySelector(".bar-value").textContent = shortNumber(v);
    });
  }

  function label() {
    return target !== null ? target : predicted;
  }

  function markTarget() {
    for (const bar of bars.querySelectorAll(".bar")) {
      const k = Number(bar.dataset.class);
      bar.classList.toggle("target", k === label());
      bar.setAttribute("aria-pressed", String(k === target));
    }
  }

  // Called by the page with each prediction it shows (null once the drawing is cleared).
  function onAnswer(answer) {
    predicted = answer ? answer.top[0].class : null;
    if (!answer) {
      target = null;
      clear();
    } else {
      request();
    }
    markTarget();
    learnButton.disabled = !answer;
  }

  function pick(k) {
    target = k;
    markTarget();
    if (isInked()) request();
  }

  function request() {
    dirty = true;
    if (!inFlight) send();
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || String(response.status));
    return answer;
  }

  async function send() {
    if (!dirty) return;
    dirty = false;
    if (!isInked() || label() === null) return;
    inFlight = true;
    const sentFor = generation;
    try {
      const answer = await post("/api/backward", { pixels: canvasRows(), label: label(), session });
      if (sentFor === generation && !answer.empty) render(answer);
    } catch (error) {
      summary.textContent = `The backward pass failed: ${error.message}`;
    } finally {
      inFlight = false;
      if (dirty) send();
    }
  }

  function render(answer) {
    view.dataset.state = "answer";
    view.dataset.label = String(answer.label);
    view.dataset.loss = String(answer.loss);
    labelText.textContent = `for “${names[answer.label]}”`;
    summary.textContent = `Loss C = −log ŷ(${names[answer.label]}) = ${shortNumber(answer.loss)}. ` +
      "Each square is a unit's δ, the loss's slope at its input z: blue, raising z would lower " +
      "the loss; orange, lowering it would.";
    answer.deltas.forEach((values, l) => {
      const grid = document.getElementById(`delta-${l + 1}`);
      if (grid) paintSigned(grid, values);
    });
    renderOutputDeltas(answer.deltas[answer.deltas.length - 1] || []);
    renderSizes(answer.bias_gradient_norms, answer.gradient_norms);
    renderUnits(answer.units, answer.image_scale);
  }

  // One bar per layer: how fast its units learn, ‖∇b⁽ˡ⁾C‖ (for one drawing, ‖δ⁽ˡ⁾‖), to a linear
  // scale (the longest bar is the largest norm), so that 2.01 and 1.41 look as different as they
  // are, and a first hidden layer learning ten times slower than the last has a tenth of its bar.
  // The weight gradient ‖∇Θ⁽ˡ⁾C‖ is in the row's tooltip: it also grows with the size of the
  // layer's input, which is large for the first layer (784 pixels).
  function renderSizes(biasNorms, weightNorms) {
    const largest = Math.max(1e-30, ...biasNorms);
    sizesScale.textContent = `Bars to a linear scale: the longest is ${shortNumber(largest)}; ` +
      "half its length is half as fast.";
    sizes.replaceChildren();
    biasNorms.forEach((n, l) => {
      const item = document.createElement("li");
      item.dataset.layer = String(l + 1);
      item.dataset.norm = String(n);
      item.dataset.weightNorm = String(weightNorms[l]);
      item.title = `‖∇Θ⁽${superscript(l + 1)}⁾C‖ = ${shortNumber(weightNorms[l])}`;
      const name = document.createElement("span");
      name.className = "size-label";
      name.textContent = `‖∇b⁽${superscript(l + 1)}⁾C‖`;
      const track = document.createElement("span");
      track.className = "bar-track";
      const fill = document.createElement("span");
      fill.className = "bar-fill size-fill";
      fill.style.transform = `scaleX(${n / largest})`;
      track.append(fill);
      const value = document.createElement("span");
      value.className = "bar-value";
      value.textContent = shortNumber(n);
      item.append(name, track, value);
      sizes.append(item);
    });
  }

  function renderUnits(list, scale) {
    units.replaceChildren();
    for (const unit of list) {
      const figure = document.createElement("figure");
      figure.className = "unit";
      const image = document.createElement("canvas");
      image.className = "unit-image";
      image.dataset.unit = String(unit.unit);
      image.setAttribute("role", "img");
      image.setAttribute("aria-label", `Weight gradient of unit ${unit.unit + 1} of layer 1`);
      paintImage(image, unit.image);
      const caption = document.createElement("figcaption");
      caption.className = "muted small";
      caption.textContent = `unit ${unit.unit + 1} · ‖∇‖ ${shortNumber(unit.norm)}`;
      caption.title = `The size of unit ${unit.unit + 1}'s weight gradient, ‖∇Θ⁽¹⁾ⱼC‖: how ` +
        "much this drawing would change its 784 weights";
      figure.append(image, caption);
      units.append(figure);
    }
    units.title = `Scale: full colour is ±${shortNumber(scale)}`;
  }

  function clear() {
    generation += 1;
    dirty = false;
    view.dataset.state = "empty";
    delete view.dataset.label;
    delete view.dataset.loss;
    labelText.textContent = "";
    summary.textContent = "Draw a digit, then click a bar to say what it should be.";
    for (const grid of deltas.querySelectorAll("canvas")) paintSigned(grid, []);
    sizes.replaceChildren();
    sizesScale.textContent = "";
    units.replaceChildren();
    renderOutputDeltas([]);
  }

  async function learn() {
    const k = label();
    if (k === null || !isInked()) return;
    const rate = Number(rateInput.value);
    learnButton.disabled = true;
    try {
      const answer = await post("/api/learn", {
        pixels: canvasRows(), label: k, session, learning_rate: rate,
      });
      if (answer.empty) return;
      result.dataset.label = String(k);
      result.dataset.before = String(answer.before[k]);
      result.dataset.after = String(answer.after[k]);
      result.dataset.steps = String(answer.steps);
      result.textContent = `One step at α = ${rate}: ŷ(${names[k]}) ${percent(answer.before[k])} → ` +
        `${percent(answer.after[k])}, loss ${shortNumber(answer.loss_before)} → ` +
        `${shortNumber(answer.loss_after)}. This page's copy has taken ${answer.steps} ` +
        `step${answer.steps === 1 ? "" : "s"}.`;
      resetButton.disabled = false;
      refresh();
    } catch (error) {
      result.textContent = `Learning failed: ${error.message}`;
    } finally {
      learnButton.disabled = !isInked();
    }
  }

  async function reset() {
    try {
      await post("/api/reset", { session });
      result.dataset.steps = "0";
      delete result.dataset.before;
      delete result.dataset.after;
      result.textContent = "Back to the model as it was loaded.";
      resetButton.disabled = true;
      refresh();
    } catch (error) {
      result.textContent = `Reset failed: ${error.message}`;
    }
  }

  learnButton.addEventListener("click", learn);
  resetButton.addEventListener("click", reset);
  clear();
  return { setModel, onAnswer, pick };
}

function superscript(n) {
  return String(n).split("").map((d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[Number(d)]).join("");
}
