// CityOS control-centre map: every layer comes from the hub's public NGSI-LD API as GeoJSON.

import * as maplibregl from 'maplibre-gl';
import { fetchFeatures, fetchJson } from './api.js';
import { derive, extent } from './features.js';
import { refreshHeader, setStatus, startClock } from './header.js';
import { applyStrings, lang, onLangChange, setLang, t } from './i18n.js';
import { addIcons } from './icons.js';
import { closeInspector, inspect, inspectedId, refreshInspector } from './inspector.js';
import { poll, stream } from './live.js';
import { buildLegend, buildToggles, setCount, setUnavailable, updateOverview } from './panel.js';
import {
  GROUPS, LABEL_LAYERS, LIVE_SOURCES, PICKABLE, SOURCES, baseStyle, labelText, terrainLayers,
} from './style.js';

/** Centre of the Sejong 5-1 living zone [lon, lat], used until the data sets the view. */
const CENTRE = [127.305, 36.497];
const LIVE_INTERVAL_S = 5;
/** Local fonts that draw Hangul (and other CJK) labels; Latin comes from the bundled glyphs. */
const HANGUL_FONTS = "'Noto Sans CJK KR', 'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic', 'NanumGothic', sans-serif";

const collections = {};
const visible = Object.fromEntries(GROUPS.map((g) => [g.id, true]));

const app = {
  state: 'loading',
  map: null,
  collections,
  errors: [],
  loadedAt: null,
  readyAt: null,
  marks: {},
  live: { mode: 'none', events: 0, refreshes: 0 },
};

/** Record when a start-up phase ended [ms since navigation start]. */
function mark(name) {
  app.marks[name] = Math.round(performance.now());
}
window.cityos = app;

function setPageState(state) {
  app.state = state;
  document.body.dataset.state = state;
}

function applyVisibility(map, groupId) {
  const group = GROUPS.find((g) => g.id === groupId);
  for (const id of group.layers) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible[groupId] ? 'visible' : 'none');
  }
}

function groupCount(group) {
  if (!group.sources.length) return null;
  return group.sources.reduce((n, s) => n + (collections[s]?.features.length ?? 0), 0);
}

function totalEntities() {
  return Object.values(collections).reduce((n, fc) => n + fc.features.length, 0);
}

async function fetchSource(name) {
  return derive(SOURCES[name], await fetchFeatures(SOURCES[name]));
}

const signatures = {};

/** Refresh one source; the map is only given data that changed (no redraw when nothing did). */
async function loadSource(map, name) {
  const fc = await fetchSource(name);
  const signature = JSON.stringify(fc.features);
  if (signatures[name] === signature) return false;
  signatures[name] = signature;
  collections[name] = fc;
  map.getSource(name).setData(fc);
  return true;
}

/** Start fetching every layer at once (settled results, in SOURCES order). */
function fetchAll() {
  const names = Object.keys(SOURCES);
  return Promise.allSettled(names.map(fetchSource));
}

/** Hand all fetched layers to the map in one go (one re-layout, not eleven). */
function applyAll(map, results) {
  const names = Object.keys(SOURCES);
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      collections[names[i]] = r.value;
      signatures[names[i]] = JSON.stringify(r.value.features);
      map.getSource(names[i]).setData(r.value);
    } else {
      app.errors.push(`${names[i]}: ${r.reason?.message ?? r.reason}`);
      console.warn(`CityOS: could not load ${SOURCES[names[i]]}`, r.reason);
    }
  });
  for (const group of GROUPS) setCount(group.id, groupCount(group));
  updateOverview(collections);
  const failed = results.filter((r) => r.status === 'rejected').length;
  setStatus(failed === names.length ? 'offline' : 'live', totalEntities());
}

/** The page config, then (if the server has the twin's terrain) its extent and contour lines. */
async function fetchTerrain() {
  const config = await fetchJson('/web/config.json');
  if (!config?.terrain) return { config, terrain: null };
  const [bounds, contours] = await Promise.all([
    fetchJson('/twin/terrain/bounds.json'),
    fetchJson('/twin/terrain/contours.geojson'),
  ]);
  return { config, terrain: bounds && contours ? { bounds, contours } : null };
}

function addTerrain(map, terrain) {
  if (!terrain) {
    setUnavailable('terrain', 'terrain.unavailable');
    return;
  }
  const spec = terrainLayers(terrain.bounds, terrain.contours);
  for (const [id, source] of Object.entries(spec.sources)) map.addSource(id, source);
  for (const layer of spec.layers) map.addLayer(layer, spec.below);
  applyVisibility(map, 'terrain');
}

function fitToData(map, terrainBounds) {
  // The built-up area first; the wider road network and zones only when there are no buildings.
  const built = extent(['buildings', 'carfree'].map((n) => collections[n]).filter(Boolean));
  let box = built ?? extent(['roads', 'blocks', 'stops'].map((n) => collections[n]).filter(Boolean));
  if (!box && terrainBounds) {
    box = [terrainBounds.west, terrainBounds.south, terrainBounds.east, terrainBounds.north];
  }
  if (!box) return;
  const camera = map.cameraForBounds(
    [[box[0], box[1]], [box[2], box[3]]],
    { padding: { top: 40, bottom: 40, left: 40, right: 40 }, bearing: map.getBearing() },
  );
  if (camera) {
    map.jumpTo({ ...camera, zoom: Math.min(camera.zoom + 0.4, 17.5), pitch: map.getPitch() });
  }
}

function showSelection(map, feature) {
  const source = map.getSource('selection');
  if (!feature) {
    source.setData({ type: 'FeatureCollection', features: [] });
    return;
  }
  source.setData({
    type: 'FeatureCollection',
    features: [{ type: 'Feature', geometry: feature.geometry, properties: { h: feature.properties.h ?? 0 } }],
  });
}

function findFeature(entityId) {
  for (const fc of Object.values(collections)) {
    const found = fc.features.find((f) => f.properties.entityId === entityId);
    if (found) return found;
  }
  return null;
}

function pick(map, point) {
  const layers = PICKABLE.filter((id) => map.getLayer(id));
  const box = [[point.x - 4, point.y - 4], [point.x + 4, point.y + 4]];
  const hits = map.queryRenderedFeatures(box, { layers });
  hits.sort((a, b) => PICKABLE.indexOf(a.layer.id) - PICKABLE.indexOf(b.layer.id));
  return hits.find((h) => h.properties?.entityId) ?? null;
}

function wireInteraction(map) {
  const tooltip = document.getElementById('tooltip');
  map.on('mousemove', (e) => {
    const hit = pick(map, e.point);
    map.getCanvas().style.cursor = hit ? 'pointer' : '';
    if (!hit) {
      tooltip.hidden = true;
      return;
    }
    const p = hit.properties;
    tooltip.textContent = p.name ?? p.entityId.split(':').slice(-1)[0];
    tooltip.style.transform = `translate(${e.point.x + 14}px, ${e.point.y + 14}px)`;
    tooltip.hidden = false;
  });
  map.on('mouseout', () => {
    tooltip.hidden = true;
  });
  map.on('click', (e) => {
    const hit = pick(map, e.point);
    if (!hit) return;
    const id = hit.properties.entityId;
    showSelection(map, findFeature(id) ?? hit);
    inspect(id);
  });
  const close = () => {
    closeInspector();
    showSelection(map, null);
    map.getCanvas().focus();
  };
  document.getElementById('inspector-close').addEventListener('click', close);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && inspectedId()) close();
  });
}

/** Re-read the named sources; counts, overview and an open inspector follow what changed. */
async function refreshSources(map, names) {
  try {
    const changed = await Promise.all(names.map((n) => loadSource(map, n)));
    app.live.refreshes += 1;
    setStatus('live', totalEntities());
    if (!changed.some(Boolean)) return;
    updateOverview(collections);
    for (const group of GROUPS) setCount(group.id, groupCount(group));
    await refreshInspector();
  } catch (error) {
    setStatus('offline');
    console.warn('CityOS: live refresh failed', error);
  }
}

/**
 * Live updates: the hub's SSE stream when the server offers one (each notification re-reads the
 * layers of the types it names), polling of the live layers otherwise or once the stream is lost.
 */
function startLive(map, config) {
  const intervalS = config?.liveIntervalS ?? LIVE_INTERVAL_S;
  const startPolling = () => {
    app.live.mode = 'polling';
    poll(() => refreshSources(map, LIVE_SOURCES), intervalS);
  };
  if (!config?.liveStream || typeof EventSource === 'undefined') {
    startPolling();
    return;
  }
  let connected = false;
  const names = Object.keys(SOURCES);
  const close = stream(
    config.liveStream,
    (types) => {
      app.live.events += 1;
      const affected = names.filter((n) => types.includes(SOURCES[n]));
      if (affected.length) refreshSources(map, affected);
    },
    (state) => {
      if (state === 'open') {
        if (connected) refreshSources(map, names); // reconnected: catch up on what was missed
        connected = true;
        app.live.mode = 'sse';
      } else if (state === 'retrying') {
        setStatus('connecting');
      } else {
        close();
        startPolling();
      }
    },
  );
}

/** Show place and road names in the interface language. */
function applyLabelLanguage(map) {
  for (const id of LABEL_LAYERS) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'text-field', labelText(lang()));
  }
}

function wireLanguage() {
  const button = document.getElementById('lang-toggle');
  button.addEventListener('click', () => setLang(lang() === 'ko' ? 'en' : 'ko'));
  onLangChange(() => {
    refreshHeader();
    updateOverview(collections);
    const id = inspectedId();
    if (id) inspect(id);
  });
}

function main() {
  applyStrings();
  startClock();
  setStatus('connecting');
  buildLegend();
  wireLanguage();

  const map = new maplibregl.Map({
    container: 'map',
    style: baseStyle(window.location.origin, lang()),
    localIdeographFontFamily: HANGUL_FONTS,
    center: CENTRE,
    zoom: 15,
    pitch: 58,
    bearing: -24,
    maxPitch: 75,
    fadeDuration: 0,
    attributionControl: false,
  });
  app.map = map;
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.addControl(
    new maplibregl.AttributionControl({ compact: true, customAttribution: 'CityOS digital twin · MapLibre' }),
    'bottom-right',
  );
  map.getCanvas().setAttribute('aria-label', t('app.map'));
  onLangChange(() => {
    map.getCanvas().setAttribute('aria-label', t('app.map'));
    applyLabelLanguage(map);
  });

  buildToggles((groupId, isVisible) => {
    visible[groupId] = isVisible;
    applyVisibility(map, groupId);
  });
  wireInteraction(map);

  // Fetch from the hub while MapLibre starts; apply everything once the style is ready.
  const data = fetchAll();
  const terrain = fetchTerrain();
  data.then(() => mark('data'));
  terrain.then(() => mark('terrain'));
  map.on('load', async () => {
    mark('style');
    addIcons(map);
    const [{ config, terrain: model }, results] = await Promise.all([terrain, data]);
    addTerrain(map, model);
    applyAll(map, results);
    fitToData(map, model?.bounds);
    app.loadedAt = performance.now();
    mark('applied');
    map.once('render', () => mark('firstFrame'));
    map.once('idle', () => {
      mark('idle');
      app.readyAt = performance.now();
      setPageState('ready');
    });
    map.triggerRepaint();
    startLive(map, config);
  });
  map.on('error', (e) => {
    app.errors.push(String(e.error?.message ?? e.error));
    console.warn('CityOS map:', e.error);
  });
}

main();
