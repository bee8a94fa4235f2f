// Text on the map without glyph files: HTML markers at the middle of each grid (from z13),
// each building group (from z16) and each cluster of requests (its count), rebuilt when the
// map comes to rest. The positions come from the features the map has loaded.
import maplibregl from 'maplibre-gl';

const MAX_LABELS = 400;

/** Where a label goes: the middle of the features' box, or (`below`) under its south edge,
 * so it does not hide the request points inside a building group. */
function place(features, below) {
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features) {
    const rings = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    for (const polygon of rings) {
      for (const [x, y] of polygon[0]) {
        w = Math.min(w, x);
        s = Math.min(s, y);
        e = Math.max(e, x);
        n = Math.max(n, y);
      }
    }
  }
  return [(w + e) / 2, below ? s : (s + n) / 2];
}

function wanted(map) {
  const found = new Map();
  const zoom = map.getZoom();
  const add = (layer, kind, minZoom, below) => {
    if (zoom < minZoom || !map.getSource(layer)) return;
    const pieces = new Map();
    for (const f of map.querySourceFeatures(layer, { sourceLayer: layer })) {
      const id = f.properties.id;
      if (!pieces.has(id)) pieces.set(id, { label: f.properties.label, parts: [] });
      pieces.get(id).parts.push(f);
    }
    for (const [id, { label, parts }] of pieces) {
      found.set(id, { kind, text: label, at: place(parts, below), below });
    }
  };
  add('grids', 'grid', 13, false);
  add('building_groups', 'group', 16, true);
  for (const f of map.queryRenderedFeatures({ layers: ['clusters'] })) {
    found.set(`cluster:${f.properties.cluster_id}`, {
      kind: 'cluster',
      text: String(f.properties.point_count),
      at: f.geometry.coordinates,
    });
  }
  return [...found].slice(0, MAX_LABELS);
}

export function followLabels(map) {
  const shown = new Map();
  const update = () => {
    const keep = new Set();
    for (const [key, label] of wanted(map)) {
      keep.add(key);
      const old = shown.get(key);
      if (old) {
        old.setLngLat(label.at);
        old.getElement().textContent = label.text;
        continue;
      }
      const element = document.createElement('div');
      element.className = `map-label ${label.kind}`;
      element.textContent = label.text;
      const anchor = label.below ? 'top' : 'center';
      shown.set(key, new maplibregl.Marker({ element, anchor }).setLngLat(label.at).addTo(map));
    }
    for (const [key, marker] of shown) {
      if (!keep.has(key)) {
        marker.remove();
        shown.delete(key);
      }
    }
  };
  map.on('idle', update);
}
