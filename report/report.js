// Builds the page of `xpusim compare` (report.html) from its results, the JSON in
// #xpusim-results (every field: docs/compare.md): a summary table, the plots (Vega-Lite specs
// drawn by vegaEmbed) and a section per architecture. body[data-rendered] becomes "true" once
// every plot is drawn, or "error" when anything fails (the error is then shown on the page).
// The page inlines this file in a script element, with each less-than-slash pair escaped as
// less-than-backslash-slash: such a pair may only appear inside string literals here.
(() => {
  "use strict";

  const main = document.getElementById("report");
  const embeds = [];
  // The views drawn, by chart name ("time", "layers", "roofline:ARCH", "units:ARCH"): the
  // browser test reads them, and they can be inspected from the console.
  window.xpusimViews = [];

  // Counts with thousands separators; rates and other measures with 3 significant digits.
  const countFormat = new Intl.NumberFormat("en-US");
  const rateFormat = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });
  const none = "\u2013";
  const count = (n) => countFormat.format(n);
  const rate = (x) => (x === null ? none : rateFormat.format(x));
  const percent = (f) => (f === null ? none : rateFormat.format(100 * f) + " %");
  const micros = (seconds) => rate(seconds * 1e6);

  // An element with attributes and children (nodes or text, never parsed as HTML).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) e.setAttribute(key, value);
    e.append(...children.map((c) => (c instanceof Node ? c : String(c))));
    return e;
  }

  // A table in a horizontally scrolling box. `columns`: [heading, alignment] with alignment
  // "num" (right), "text" (left) or "wrap" (left, wrapping); `rows`: arrays of cells.
  function table(cls, columns, rows) {
    const head = el("tr", null,
      ...columns.map(([heading, align]) => el("th", { class: align }, heading)));
    const body = rows.map((cells) =>
      el("tr", null, ...cells.map((cell, i) => el("td", { class: columns[i][1] }, cell))));
    return el("div", { class: "scroll" },
      el("table", { class: cls }, el("thead", null, head), el("tbody", null, ...body)));
  }

  function check(a) {
    const cell = el("span", null, el("span", { class: a.functional_check }, a.functional_check));
    if (a.functional_check_detail) cell.append(": " + a.functional_check_detail);
    return cell;
  }

  // Draws a Vega-Lite spec into a new figure of `parent`, with the caption lines given.
  function chart(parent, name, spec, ...caption) {
    const target = el("div", { "data-chart": name });
    const figure = el("figure", null, target);
    for (const line of caption) figure.append(el("figcaption", null, line));
    parent.append(figure);
    embeds.push(vegaEmbed(target, spec, { actions: false, renderer: "svg", mode: "vega-lite" })
      .then((result) => window.xpusimViews.push({ name, view: result.view })));
  }

  // A tooltip of preformatted text fields, so that it reads as the tables do.
  const tooltip = (...fields) =>
    fields.map(([field, title]) => ({ field, title, type: "nominal" }));

  function header(results) {
    const n = results.architectures.length;
    main.append(
      el("h1", null, "xpusim compare: " + results.workload.name),
      el("p", null, "Workload ", el("code", null, results.workload.file),
        ` on ${n} architecture${n === 1 ? "" : "s"}: `,
        results.functional
          ? "values computed and checked against the reference implementation."
          : "timing only (values not computed)."));
  }

  function summary(archs) {
    main.append(el("h2", null, "Summary"), table("summary", [
      ["architecture", "text"], ["family", "text"], ["clock (MHz)", "num"], ["cycles", "num"],
      ["time (\u00b5s)", "num"], ["TOPS achieved / peak", "num"], ["MAC utilization", "num"],
      ["off-chip bytes read / written", "num"], ["off-chip GB/s achieved / peak", "num"],
      ["functional check", "wrap"],
    ], archs.map((a) => [
      el("a", { href: "#arch-" + a.arch }, a.arch), a.family, rate(a.clock_mhz),
      count(a.total_cycles), micros(a.seconds), `${rate(a.achieved_tops)} / ${rate(a.peak_tops)}`,
      percent(a.mac_utilization),
      `${count(a.offchip.read_bytes)} / ${count(a.offchip.written_bytes)}`,
      `${rate(a.offchip.bandwidth_gbps)} / ${rate(a.offchip.peak_gbps)}`, check(a),
    ])), el("p", { class: "note" },
      "TOPS: tera-operations per second, 2 per MAC; peak: of the dtype that did most MACs. " +
      "Time: simulated, at each architecture's clock."));
  }

  function timeChart(parent, archs) {
    chart(parent, "time", {
      title: "Total time",
      width: 480,
      height: { step: 30 },
      data: { values: archs.map((a) => ({
        arch: a.arch, us: a.seconds * 1e6, time: micros(a.seconds) + " \u00b5s",
        cycles: count(a.total_cycles),
      })) },
      encoding: {
        y: { field: "arch", type: "nominal", sort: null, title: null },
        x: { field: "us", type: "quantitative", title: "time (\u00b5s)" },
        tooltip: tooltip(["arch", "architecture"], ["time", "time"], ["cycles", "cycles"]),
      },
      layer: [
        { mark: { type: "bar", color: "#4c78a8" } },
        { mark: { type: "text", align: "left", dx: 4 }, encoding: { text: { field: "time" } } },
      ],
    });
  }

  function layerChart(parent, archs, color) {
    chart(parent, "layers", {
      title: "Time per layer",
      width: 480,
      height: { step: 30 },
      data: { values: archs.flatMap((a) => a.layers.map((l, index) => ({
        arch: a.arch, index, name: l.name, op: l.op, us: l.seconds * 1e6,
        time: micros(l.seconds) + " \u00b5s", share: percent(l.share),
      }))) },
      mark: { type: "bar", stroke: "white", strokeWidth: 0.5 },
      encoding: {
        y: { field: "arch", type: "nominal", sort: null, title: null },
        x: { field: "us", type: "quantitative", stack: "zero", title: "time (\u00b5s)" },
        color,
        order: { field: "index", type: "quantitative" },
        tooltip: tooltip(["arch", "architecture"], ["name", "layer"], ["op", "op"],
          ["time", "time"], ["share", "share"]),
      },
    }, "Each bar: the layers in order, from the left; a layer's time runs from the end of " +
       "the previous layer to its own end, so they add up to the total.");
  }

  // The roofline of one architecture: a ceiling per distinct compute peak, min(peak,
  // bandwidth x intensity), and a point per layer that moved off-chip bytes and did operations.
  function roofline(parent, a, color) {
    const gbps = a.offchip.peak_gbps;
    const placed = a.layers.filter((l) => l.intensity !== null && l.achieved_tops > 0);
    const noTraffic = a.layers.filter((l) => l.intensity === null);
    const noOps = a.layers.filter((l) => l.intensity !== null && !(l.achieved_tops > 0));
    // Peaks of the same class and value (e.g. fp16 and bf16 on one cube) are one line.
    const ceilings = [];
    for (const p of a.peaks) {
      const same = ceilings.find((c) => c.class === p.class && c.tops === p.tops);
      if (same) same.dtypes.push(p.dtype);
      else ceilings.push({ class: p.class, tops: p.tops, dtypes: [p.dtype] });
    }
    for (const c of ceilings) {
      c.label = `${c.class} ${c.dtypes.join(", ")}: ${rate(c.tops)} Tops/s`;
      c.ridge = gbps > 0 ? (c.tops * 1000) / gbps : Infinity;
    }
    // Whole decades around the layers, the peaks and the ridge points.
    const xs = placed.map((l) => l.intensity).concat(ceilings.map((c) => c.ridge));
    const ys = placed.map((l) => l.achieved_tops).concat(ceilings.map((c) => c.tops));
    const decades = (v, fallback) => (v.length ? [
      10 ** Math.floor(Math.log10(Math.min(...v) / 2)),
      10 ** Math.ceil(Math.log10(Math.max(...v) * 2))] : fallback);
    const [x0, x1] = decades(xs.filter(Number.isFinite), [0.1, 1000]);
    const yDomain = decades(ys, [0.001, 1000]);
    // A ceiling is straight on log-log axes from the left edge to its ridge and on to the right
    // (flat where the machine declares no off-chip bandwidth).
    const roof = (c, x) => (gbps > 0 ? Math.min(c.tops, (gbps * x) / 1000) : c.tops);
    const lines = ceilings.flatMap((c) => [x0, c.ridge, x1]
      .filter((x) => x >= x0 && x <= x1)
      .map((x) => ({ label: c.label, x, y: roof(c, x) })));
    const points = placed.map((l) => ({
      x: l.intensity, y: l.achieved_tops, name: l.name, op: l.op, dtype: l.dtype,
      intensity: rate(l.intensity) + " ops/byte", achieved: rate(l.achieved_tops) + " Tops/s",
      fraction: percent(l.fraction_of_roofline),
    }));
    const names = (layers) => layers.map((l) => l.name).join(", ");
    const caption = [];
    if (noTraffic.length) caption.push("not placed: no off-chip traffic: " + names(noTraffic));
    if (noOps.length) caption.push("not placed: no operations: " + names(noOps));
    chart(parent, "roofline:" + a.arch, {
      title: { text: a.arch, subtitle: `off-chip ${rate(gbps)} GB/s` },
      width: 340,
      height: 280,
      config: { axis: { gridOpacity: 0.5 } },
      encoding: {
        x: { field: "x", type: "quantitative", scale: { type: "log", domain: [x0, x1] },
          title: "arithmetic intensity (ops/byte)" },
        y: { field: "y", type: "quantitative", scale: { type: "log", domain: yDomain },
          title: "achieved Tops/s" },
      },
      layer: [
        { data: { values: lines }, mark: { type: "line", color: "#888", clip: true },
          encoding: { detail: { field: "label" } } },
        { data: { values: ceilings.map((c) => ({ label: c.label, x: x1, y: c.tops })) },
          mark: { type: "text", align: "right", baseline: "bottom", dy: -2, fontSize: 10,
            color: "#555" },
          encoding: { text: { field: "label" } } },
        { data: { values: points }, mark: { type: "point", filled: true, size: 60, opacity: 0.85 },
          encoding: {
            color: { ...color, legend: { orient: "bottom", columns: 5 } },
            tooltip: tooltip(["name", "layer"], ["op", "op"], ["dtype", "dtype"],
              ["intensity", "intensity"], ["achieved", "achieved"], ["fraction", "of roofline"]),
          } },
      ],
    }, ...caption);
  }

  function unitChart(parent, a) {
    const values = a.units.map((u) => ({
      label: `${u.unit} \u00d7${u.instances}`, pct: 100 * u.utilization,
      utilization: percent(u.utilization), busy: rate(u.busy_cycles),
    }));
    chart(parent, "units:" + a.arch, {
      title: a.arch,
      width: 300,
      height: { step: 22 },
      data: { values },
      mark: { type: "bar", color: "#59a14f" },
      encoding: {
        y: { field: "label", type: "nominal", sort: null, title: null },
        x: { field: "pct", type: "quantitative", title: "mean utilization (%)",
          scale: { domain: [0, Math.max(100, ...values.map((v) => v.pct))] } },
        tooltip: tooltip(["label", "unit"], ["utilization", "mean utilization"],
          ["busy", "mean busy cycles"]),
      },
    });
  }

  function plots(archs) {
    // One color per op in every plot.
    const ops = [...new Set(archs.flatMap((a) => a.layers.map((l) => l.op)))];
    const color = { field: "op", type: "nominal", title: "op",
      scale: { domain: ops, scheme: "tableau10" } };
    main.append(el("h2", null, "Plots"));
    const time = el("div", { class: "charts" });
    main.append(time);
    timeChart(time, archs);
    layerChart(time, archs, color);

    main.append(el("h3", null, "Roofline"), el("p", { class: "note" },
      "Each layer at its arithmetic intensity (operations per off-chip byte) and the rate it " +
      "achieved over its span; the ceilings: each compute peak, and the off-chip bandwidth " +
      "times the intensity. Operations: 2 per MAC, or 1 per output element for a layer " +
      "without MACs (a lower bound, counted alike for every architecture)."));
    const roofs = el("div", { class: "charts" });
    main.append(roofs);
    for (const a of archs) roofline(roofs, a, color);

    main.append(el("h3", null, "Unit utilization"), el("p", { class: "note" },
      "Busy cycles over total cycles, the mean over the instances of each unit."));
    const units = el("div", { class: "charts" });
    main.append(units);
    for (const a of archs) {
      if (a.units.length) unitChart(units, a);
      else units.append(el("p", { class: "note" }, `${a.arch}: no unit statistics.`));
    }
  }

  function section(a) {
    const s = el("section", { id: "arch-" + a.arch, "data-arch": a.arch },
      el("h2", null, a.arch), el("p", { class: "muted" }, a.description),
      el("p", null, "Functional check: ", check(a), ". This run's own results: ",
        el("a", { href: a.results_dir + "/" }, a.results_dir + "/"),
        " (stats.json, report.md, config.resolved.yaml)."));

    s.append(el("h3", null, "Layers"), table("layers", [
      ["layer", "text"], ["op", "text"], ["dtype", "text"], ["cycles", "num"],
      ["time (\u00b5s)", "num"], ["share", "num"], ["MACs", "num"], ["ops", "num"],
      ["DRAM bytes", "num"], ["ops/byte", "num"], ["achieved Tops/s", "num"],
      ["ceiling Tops/s", "num"], ["of roofline", "num"],
    ], a.layers.map((l) => [
      l.name, l.op, l.dtype, count(l.cycles), micros(l.seconds), percent(l.share), count(l.macs),
      count(l.ops), count(l.dram_bytes), rate(l.intensity), rate(l.achieved_tops),
      rate(l.ceiling_tops), percent(l.fraction_of_roofline),
    ])), el("p", { class: "note" },
      "Achieved: operations over the layer's span (first instruction to last); ceiling: the " +
      "compute peak for its dtype; of roofline: achieved over min(ceiling, off-chip bandwidth " +
      "\u00d7 ops/byte)."));

    s.append(el("h3", null, "Throughput"), table("throughput", [
      ["class", "text"], ["dtype", "text"], ["performed", "num"],
      ["achieved (10\u00b9\u00b2/s)", "num"], ["peak (10\u00b9\u00b2/s)", "num"],
      ["fraction of peak", "num"],
    ], a.throughput.map((t) => [
      t.class, t.dtype, count(t.performed), rate(t.achieved_tera_per_s), rate(t.peak_tera_per_s),
      percent(t.fraction),
    ])), el("p", { class: "note" },
      "mac: 10\u00b9\u00b2 MACs per second (a MAC is 2 operations in TOPS); vector: " +
      "10\u00b9\u00b2 elements produced per second."));

    s.append(el("h3", null, "Traffic"), table("traffic", [
      ["off-chip read (bytes)", "num"], ["off-chip written (bytes)", "num"],
      ["off-chip GB/s", "num"], ["peak off-chip GB/s", "num"], ["on-chip (bytes)", "num"],
    ], [[count(a.offchip.read_bytes), count(a.offchip.written_bytes),
      rate(a.offchip.bandwidth_gbps), rate(a.offchip.peak_gbps), count(a.onchip_bytes)]]));

    if (a.notes.length)
      s.append(el("h3", null, "Notes"), el("ul", null, ...a.notes.map((n) => el("li", null, n))));
    main.append(s);
  }

  function fail(error) {
    main.prepend(el("p", { class: "error" },
      "The report could not be drawn: " + (error && error.message ? error.message : error)));
    document.body.dataset.rendered = "error";
  }

  try {
    const results = JSON.parse(document.getElementById("xpusim-results").textContent);
    header(results);
    summary(results.architectures);
    plots(results.architectures);
    results.architectures.forEach(section);
    Promise.all(embeds).then(() => { document.body.dataset.rendered = "true"; }, fail);
  } catch (error) {
    fail(error);
  }
})();
