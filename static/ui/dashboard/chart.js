// A horizontal bar chart as plain SVG: one bar per region, longest first. No chart library: the page
// needs bars with names and values, and SVG text renders the Chinese names with the system's fonts.
const SVG = "http://www.w3.org/2000/svg";

function node(tag, attrs = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) element.setAttribute(k, v);
  if (text !== undefined) element.textContent = text;
  return element;
}

export const format = (v) => (v === null || v === undefined ? "—" : Number.isInteger(v) ? v.toLocaleString("en") : v.toFixed(2));

/** An <svg> of `rows` by `measure` (at most `limit` bars, largest first); `colour(row)` fills each bar. */
export function barChart(rows, measure, colour, limit = 25) {
  const shown = rows.filter((r) => r[measure] !== null && r[measure] !== undefined)
    .sort((a, b) => b[measure] - a[measure]).slice(0, limit);
  const bar = 20, gap = 4, labelW = 170, valueW = 70, width = 560;
  const height = Math.max(1, shown.length) * (bar + gap) + 4;
  const max = Math.max(0, ...shown.map((r) => r[measure])) || 1;
  const svg = node("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `${measure} by region` });
  shown.forEach((r, i) => {
    const y = i * (bar + gap);
    const w = ((width - labelW - valueW) * r[measure]) / max;
    const g = node("g", { "data-code": r.code, "data-value": r[measure] });
    g.append(
      node("text", { x: labelW - 6, y: y + bar * 0.72, "text-anchor": "end" }, String(r.name).slice(0, 18)),
      node("rect", { x: labelW, y, width: Math.max(w, 1), height: bar, fill: colour(r) }),
      node("text", { x: labelW + w + 4, y: y + bar * 0.72 }, format(r[measure])),
      node("title", {}, `${r.name}: ${format(r[measure])}`),
    );
    svg.append(g);
  });
  if (!shown.length) svg.append(node("text", { x: 4, y: 16 }, "no values"));
  return svg;
}
