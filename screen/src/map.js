// The map: MapLibre GL JS on the community's own vector tiles (/tiles/...), an optional
// raster base map (a GCJ-02 one shifts the vector layers into GCJ-02 too), and the open requests as a clustered GeoJSON source coloured by status.
// Without glyph files (nothing is fetched from the internet) MapLibre cannot draw text, so
// labels of grids, building groups and cluster counts are HTML markers placed from the
// features the map holds (labels.js).
import maplibregl from 'maplibre-gl';
import { auth } from './api.js';
import { STATUS_COLOUR } from './names.js';
import { followLabels } from './labels.js';

const EMPTY = { type: 'FeatureCollection', features: [] };

/** 'GCJ02' when a GCJ-02 raster base map is on: the vector layers are then asked shifted. */
export function crsOf(config) {
  return config.raster && config.raster.crs === 'GCJ02' ? 'GCJ02' : 'WGS84';
}

function vector(config, layer) {
  const query = crsOf(config) === 'GCJ02' ? '?crs=GCJ02' : '';
  const tiles = [location.origin + config.tiles.replace('{layer}', layer) + query];
  return { type: 'vector', tiles, minzoom: config.minZoom[layer] ?? 0, maxzoom: 16 };
}

function line(id, layer, paint, minzoom = 0) {
  return { id, type: 'line', source: layer, 'source-layer': layer, minzoom, paint };
}

function fill(id, layer, paint, minzoom = 0) {
  return { id, type: 'fill', source: layer, 'source-layer': layer, minzoom, paint };
}

function style(config) {
  const sources = {};
  for (const layer of ['communities', 'grids', 'building_groups', 'buildings']) {
    sources[layer] = vector(config, layer);
  }
  sources.requests = {
    type: 'geojson',
    data: EMPTY,
    cluster: true,
    clusterMaxZoom: 15,
    clusterRadius: 40,
  };
  const layers = [
    { id: 'background', type: 'background', paint: { 'background-color': '#f3efe6' } },
  ];
  if (config.raster) {
    sources.raster = {
      type: 'raster',
      tiles: [config.raster.url],
      tileSize: 256,
      attribution: config.raster.attribution || '',
    };
    layers.push({ id: 'raster', type: 'raster', source: 'raster' });
  }
  const colour = ['match', ['get', 'status'], ...Object.entries(STATUS_COLOUR).flat(), '#757575'];
  layers.push(
    fill('communities-fill', 'communities', { 'fill-color': '#ebe3d0', 'fill-opacity': 0.5 }),
    fill('groups-fill', 'building_groups', { 'fill-color': '#ef9a9a', 'fill-opacity': 0.25 }),
    fill('buildings-fill', 'buildings', { 'fill-color': '#bcaaa4', 'fill-opacity': 0.8 }),
    line('groups-line', 'building_groups', { 'line-color': '#c62828', 'line-width': 1 }),
    line('grids-line', 'grids', {
      'line-color': '#8d6e63',
      'line-width': 1,
      'line-dasharray': [3, 2],
    }),
    line('communities-line', 'communities', { 'line-color': '#5d4037', 'line-width': 2.5 }),
    {
      id: 'clusters',
      type: 'circle',
      source: 'requests',
      filter: ['has', 'point_count'],
      paint: {
        'circle-color': '#c62828',
        'circle-opacity': 0.85,
        'circle-radius': ['step', ['get', 'point_count'], 13, 10, 17, 50, 23],
      },
    },
    {
      id: 'requests',
      type: 'circle',
      source: 'requests',
      filter: ['!', ['has', 'point_count']],
      paint: {
        'circle-color': colour,
        'circle-radius': 7,
        'circle-stroke-color': ['case', ['get', 'overdue'], '#b71c1c', '#ffffff'],
        'circle-stroke-width': ['case', ['get', 'overdue'], 3, 1.5],
      },
    },
  );
  return { version: 8, sources, layers };
}

/** The map in `container`; `onRequest(id)` when a request point is clicked. */
export function createMap(container, config, { onRequest }) {
  const map = new maplibregl.Map({
    container,
    style: style(config),
    attributionControl: false,
    maxZoom: 20,
    bounds: config.bounds || [112.5, 26.8, 112.7, 27.0],
    fitBoundsOptions: { padding: 20 },
    transformRequest: (url) =>
      url.includes('/tiles/') && auth.token
        ? { url, headers: { Authorization: `Bearer ${auth.token}` } }
        : { url },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.on('click', 'requests', (e) => onRequest(e.features[0].properties.id));
  map.on('click', 'clusters', async (e) => {
    const feature = e.features[0];
    const zoom = await map
      .getSource('requests')
      .getClusterExpansionZoom(feature.properties.cluster_id);
    map.easeTo({ center: feature.geometry.coordinates, zoom });
  });
  for (const id of ['requests', 'clusters']) {
    map.on('mouseenter', id, () => {
      map.getCanvas().style.cursor = 'pointer';
    });
    map.on('mouseleave', id, () => {
      map.getCanvas().style.cursor = '';
    });
  }
  followLabels(map);
  return map;
}

/** Shows `requests` (the list's rows) as the points of the requests source. */
export function showRequests(map, requests) {
  const features = requests
    .filter((r) => r.location)
    .map((r) => ({
      type: 'Feature',
      geometry: r.location,
      properties: { id: r.id, status: r.status, overdue: r.overdue, category: r.category },
    }));
  const source = map.getSource('requests');
  if (source) source.setData({ type: 'FeatureCollection', features });
}
