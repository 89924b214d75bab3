// The campus in 3D for the big screen. Drawn from where:
//   /scenes/{campus}/deck.json (twin.scenes, pydeck) through @deck.gl/json's JSONConverter: the extruded
//     buildings, the risk-zone volumes and the pipes at their surveyed depths below the DEM ground;
//   /riskmap/{org}/four-colour: its legend (the level colours of the panel), and, only when deck.json is
//     not served, the zones lying flat with /collections/buildings and /collections/pipe_segments.
// The scene's own alert and bus points are a snapshot: the page draws the live ones (bigscreen.js).
import { getJSON } from "../common/api.js";

const D = globalThis.deckgl;
const FROM_SCENE = ["buildings", "risk_zones", "pipes"];
const UTILITY = { water: [30, 144, 255], drainage: [139, 90, 43], gas: [255, 215, 0], heat: [255, 99, 71],
  power: [220, 20, 60], telecom: [50, 205, 50] };
const rgb = (hex) => (hex && hex.length === 7 ? [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) : [128, 128, 128]);

/** The campus's layers' data: the converted scene (or the collections when there is none) and the zones. */
export async function loadCampus(campus, orgCode) {
  const out = { scene: null, buildings: null, pipes: null, zones: null, ground: 0 };
  const spec = campus ? await getJSON(`/scenes/${campus.code}/deck.json`).catch(() => null) : null;
  if (spec) {
    const classes = { MapView: D.MapView, PolygonLayer: D.PolygonLayer, PathLayer: D.PathLayer,
      ScatterplotLayer: D.ScatterplotLayer, TextLayer: D.TextLayer };
    const converter = new D.JSONConverter({ configuration: new D.JSONConfiguration({ classes }) });
    const props = converter.convert(spec);
    out.scene = { view: props.initialViewState, layers: props.layers.filter((l) => FROM_SCENE.includes(l.id)) };
    // The scene stands at its true elevation (DEM metres): live points and the camera go to that ground.
    const buildings = spec.layers.find((l) => l.id === "buildings");
    const zs = ((buildings && buildings.data) || []).map((b) => b.polygon[0][0][2]);
    out.ground = zs.length ? Math.min(...zs) : 0;
  } else {
    out.buildings = await getJSON("/collections/buildings/items?limit=1000");
    out.pipes = await getJSON("/collections/pipe_segments/items?limit=10000");
  }
  out.zones = await getJSON(`/riskmap/${orgCode}/four-colour`);
  return out;
}

/** deck.gl layers of the campus; pipes only when `showPipes`. */
export function campusLayers(data, showPipes) {
  // With a scene its zone volumes carry the four colours at their floors; without, the zones lie flat.
  // New instances each time (clone): deck.gl cannot bring back a layer instance it has finalized.
  if (data.scene) return data.scene.layers.filter((l) => showPipes || l.id !== "pipes").map((l) => l.clone({}));
  const out = [
    new D.GeoJsonLayer({ id: "zones", data: data.zones || [], filled: true, stroked: true, pickable: true,
      getFillColor: (f) => [...rgb(f.properties.colour), 110], getLineColor: [255, 255, 255, 160], lineWidthMinPixels: 1 }),
  ];
  out.push(new D.GeoJsonLayer({ id: "buildings", data: data.buildings || [], extruded: true, pickable: true,
    getElevation: (f) => f.properties.height_m || 3.3 * (f.properties.floors || 3),
    getFillColor: [150, 170, 200, 220], material: { ambient: 0.5, diffuse: 0.6 } }));
  if (showPipes && data.pipes) {
    out.push(new D.PathLayer({ id: "pipes", data: data.pipes.features, pickable: true, widthMinPixels: 3,
      // below ground: z = minus the surveyed depth (1.5 m where none was surveyed)
      getPath: (f) => f.geometry.coordinates.map(([x, y]) => [x, y, -(f.properties.start_depth_m ?? 1.5)]),
      getColor: (f) => UTILITY[f.properties.utility] || [200, 200, 200] }));
  }
  return out;
}
