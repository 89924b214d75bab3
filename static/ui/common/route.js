// Moving a bus along its route line between two GPS fixes, instead of across the chord between them.
// Distances are metres on a local equirectangular plane: a route is a few km, where that is exact enough.
const M_PER_DEG = 111_320;

function planar(line) {
  const k = Math.cos((line[0][1] * Math.PI) / 180);
  return { k, xy: line.map(([x, y]) => [x * M_PER_DEG * k, y * M_PER_DEG]) };
}

/** A route prepared for lookups: its vertices in metres and the distance along it at each vertex. */
export function prepare(coordinates) {
  const { k, xy } = planar(coordinates);
  const at = [0];
  for (let i = 1; i < xy.length; i++) at.push(at[i - 1] + Math.hypot(xy[i][0] - xy[i - 1][0], xy[i][1] - xy[i - 1][1]));
  return { k, xy, at, length: at[at.length - 1] };
}

/** {along, off}: the distance along `route` of the point of it nearest [lon, lat], and how far off it is. */
export function locate(route, [lon, lat]) {
  const p = [lon * M_PER_DEG * route.k, lat * M_PER_DEG];
  let best = { along: 0, off: Infinity };
  for (let i = 1; i < route.xy.length; i++) {
    const [a, b] = [route.xy[i - 1], route.xy[i]];
    const dx = b[0] - a[0], dy = b[1] - a[1];
    const len2 = dx * dx + dy * dy;
    const t = len2 ? Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2)) : 0;
    const off = Math.hypot(a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    if (off < best.off) best = { along: route.at[i - 1] + t * Math.sqrt(len2), off };
  }
  return best;
}

/** [lon, lat] of the point `along` metres from the start of `route`. */
export function pointAt(route, along) {
  const d = Math.max(0, Math.min(route.length, along));
  let i = 1;
  while (i < route.at.length - 1 && route.at[i] < d) i++;
  const span = route.at[i] - route.at[i - 1] || 1;
  const t = (d - route.at[i - 1]) / span;
  const [a, b] = [route.xy[i - 1], route.xy[i]];
  return [(a[0] + t * (b[0] - a[0])) / (M_PER_DEG * route.k), (a[1] + t * (b[1] - a[1])) / M_PER_DEG];
}

/**
 * A trip from the shown position to a new fix over `ms` milliseconds: along `route` when both ends lie
 * within `snapM` metres of it, else straight (a bus off its route is drawn where it is, not pulled back).
 * Returns position(now) -> [lon, lat].
 */
export function leg(route, from, to, start, ms, snapM = 40) {
  const ease = (now) => (ms <= 0 ? 1 : Math.max(0, Math.min(1, (now - start) / ms)));
  const a = route && locate(route, from), b = route && locate(route, to);
  if (a && b && a.off <= snapM && b.off <= snapM) {
    return (now) => (ease(now) >= 1 ? to : pointAt(route, a.along + (b.along - a.along) * ease(now)));
  }
  return (now) => [from[0] + (to[0] - from[0]) * ease(now), from[1] + (to[1] - from[1]) * ease(now)];
}
