// The offline base style: a dark background, the hub's layers and (when available) terrain.
// No tiles or sprites are fetched: icons are drawn on a canvas (icons.js). Label glyphs come from
// the bundle (/static/fonts/, Latin ranges of Noto Sans); Hangul is drawn by the browser from a
// local font (MapLibre's localIdeographFontFamily, set in main.js).

import { stepExpression } from './aqi.js';
import {
  ACCENT,
  BACKGROUND,
  CAR_FREE_COLOUR,
  HABITAT,
  POINT_COLOURS,
  RIVER,
  ROAD_STYLE,
  SELECTION,
  USE_COLOURS,
} from './palette.js';

/** Hub entity type of each GeoJSON source. */
export const SOURCES = {
  nature: 'NaturalArea',
  devzones: 'DevelopmentZone',
  blocks: 'UrbanBlock',
  carfree: 'CarRestrictedZone',
  roads: 'RoadSegment',
  buildings: 'Building',
  stops: 'TransitStop',
  pois: 'PointOfInterest',
  devices: 'Device',
  parking: 'OffStreetParking',
  air: 'AirQualityObserved',
};

/** Sources refreshed by polling: live observations. */
export const LIVE_SOURCES = ['air', 'parking'];

/** Symbol layers that draw names (facilities, BRT and shuttle stops, major roads). */
export const LABEL_LAYERS = ['labels-roads', 'labels-facilities', 'labels-stops'];

/** The font stack of every label: the glyph ranges shipped under /static/fonts/. */
const LABEL_FONT = ['Noto Sans Regular'];

/** Glyph URL template for the page's own server. */
export function glyphsUrl(origin) {
  return `${origin}/static/fonts/{fontstack}/{range}.pbf`;
}

/** A label's text: the Korean `alternateName` in the Korean interface, else `name`. */
export function labelText(language) {
  return language === 'ko' ? ['coalesce', ['get', 'alternateName'], ['get', 'name']] : ['get', 'name'];
}

/** Toggle groups shown in the panel, each switching a set of style layers. */
export const GROUPS = [
  { id: 'terrain', label: 'layer.terrain', sources: [], layers: ['terrain-hillshade', 'terrain-contours', 'terrain-contours-index'] },
  { id: 'nature', label: 'layer.nature', sources: ['nature'], layers: ['nature-fill', 'nature-line'] },
  { id: 'zones', label: 'layer.zones', sources: ['devzones', 'blocks'], layers: ['blocks-fill', 'blocks-line', 'devzones-line'] },
  { id: 'carfree', label: 'layer.carfree', sources: ['carfree'], layers: ['carfree-hatch', 'carfree-line'] },
  { id: 'roads', label: 'layer.roads', sources: ['roads'], layers: ['roads-casing', 'roads-line', 'roads-dashed', 'roads-glow'] },
  { id: 'buildings', label: 'layer.buildings', sources: ['buildings'], layers: ['buildings-3d'] },
  { id: 'transit', label: 'layer.transit', sources: ['stops'], layers: ['stops-icon'] },
  { id: 'facilities', label: 'layer.facilities', sources: ['pois', 'devices'], layers: ['pois-dot', 'devices-dot', 'pois-icon', 'devices-icon'] },
  { id: 'parking', label: 'layer.parking', sources: ['parking'], layers: ['parking-ring', 'parking-icon'] },
  { id: 'air', label: 'layer.air', sources: ['air'], layers: ['air-halo', 'air-circle'] },
  { id: 'labels', label: 'layer.labels', sources: [], layers: LABEL_LAYERS },
];

/** Layers a click can select, topmost first. */
export const PICKABLE = [
  'air-circle', 'parking-icon', 'stops-icon', 'pois-icon', 'devices-icon', 'pois-dot',
  'devices-dot', 'buildings-3d',
  'roads-line', 'roads-dashed', 'carfree-hatch', 'nature-fill', 'blocks-fill',
];

const EMPTY = { type: 'FeatureCollection', features: [] };

/** From this zoom on, facilities and devices are drawn as icons; below it as small dots. */
const ICON_ZOOM = 16;

function dots(source, kind) {
  const colour = ['match', kind];
  for (const [key, value] of Object.entries(POINT_COLOURS)) colour.push(key, value);
  colour.push(POINT_COLOURS.facility);
  return [{
    id: `${source}-dot`, type: 'circle', source, maxzoom: ICON_ZOOM,
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 2, 16, 4.5],
      'circle-color': colour,
      'circle-stroke-color': BACKGROUND,
      'circle-stroke-width': 1,
      'circle-pitch-alignment': 'viewport',
    },
  }];
}

// Metres to pixels at latitude ~36.5°: px = m · 2^z / (156543.03 · cos φ) = m · 2^z / 125_830.
const M_PER_PX_Z0 = 125830;
function metres(expr, minimum = 0.5) {
  return [
    'interpolate', ['exponential', 2], ['zoom'],
    12, ['max', minimum, ['*', expr, 2 ** 12 / M_PER_PX_Z0]],
    20, ['max', minimum, ['*', expr, 2 ** 20 / M_PER_PX_Z0]],
  ];
}

function matchClass(prop, table, fallback) {
  const expr = ['match', ['get', prop]];
  for (const [key, value] of Object.entries(table)) expr.push(key, value);
  expr.push(fallback);
  return expr;
}

const roadColour = matchClass(
  'cls', Object.fromEntries(Object.entries(ROAD_STYLE).map(([k, v]) => [k, v.colour])), '#64748b',
);
const useColour = matchClass('use', USE_COLOURS, USE_COLOURS.other);
const DASHED = ['pm', 'footpath'];
const solidRoads = ['!', ['in', ['get', 'cls'], ['literal', DASHED]]];
const dashedRoads = ['in', ['get', 'cls'], ['literal', DASHED]];
const majorRoads = ['in', ['get', 'cls'], ['literal', ['ring', 'brt']]];
const LABELLED_ROADS = ['ring', 'brt', 'nationalRoad', 'arterial'];

const HALO = { 'text-halo-color': BACKGROUND, 'text-halo-width': 1.6, 'text-halo-blur': 0.4 };

function labelLayers(language) {
  const text = labelText(language);
  return [
    {
      id: 'labels-roads', type: 'symbol', source: 'roads', minzoom: 14,
      filter: ['all', ['has', 'name'], ['in', ['get', 'cls'], ['literal', LABELLED_ROADS]]],
      layout: {
        'symbol-placement': 'line',
        'text-field': text,
        'text-font': LABEL_FONT,
        'text-size': ['interpolate', ['linear'], ['zoom'], 14, 10.5, 18, 13],
        'text-letter-spacing': 0.03,
        'text-max-angle': 30,
        'symbol-spacing': 380,
        'text-pitch-alignment': 'viewport',
      },
      paint: {
        'text-color': matchClass('cls', { ring: '#a5f3fc', brt: '#fecdd3', nationalRoad: '#fde68a' }, '#cbd5e1'),
        ...HALO,
      },
    },
    {
      id: 'labels-facilities', type: 'symbol', source: 'buildings', minzoom: 14.5,
      filter: ['has', 'facility'],
      layout: {
        'text-field': text,
        'text-font': LABEL_FONT,
        'text-size': ['interpolate', ['linear'], ['zoom'], 14.5, 10.5, 18, 13],
        'text-max-width': 8,
        'text-padding': 3,
        'text-pitch-alignment': 'viewport',
      },
      paint: { 'text-color': '#e6fbff', ...HALO },
    },
    {
      id: 'labels-stops', type: 'symbol', source: 'stops',
      layout: {
        'text-field': text,
        'text-font': LABEL_FONT,
        'text-size': ['interpolate', ['linear'], ['zoom'], 13, 10.5, 18, 13],
        'text-anchor': 'top',
        'text-offset': [0, 1.25],
        'text-max-width': 9,
        'text-optional': true,
        'text-pitch-alignment': 'viewport',
        'symbol-sort-key': ['match', ['get', 'kind'], 'brt', 0, 1],
      },
      paint: {
        'text-color': ['match', ['get', 'kind'], 'brt', '#fecdd3', '#cffafe'],
        ...HALO,
      },
    },
  ];
}

/** Style layers, bottom to top; labels in `language` ('en' or 'ko'). */
export function layers(language = 'en') {
  return [
    { id: 'background', type: 'background', paint: { 'background-color': BACKGROUND } },
    {
      id: 'nature-fill', type: 'fill', source: 'nature',
      paint: {
        'fill-color': ['match', ['get', 'kind'], 'river', RIVER, HABITAT],
        'fill-opacity': ['match', ['get', 'kind'], 'river', 0.85, 0.45],
      },
    },
    {
      id: 'nature-line', type: 'line', source: 'nature',
      paint: { 'line-color': ['match', ['get', 'kind'], 'river', '#2b8fc7', '#2f7d52'], 'line-width': 1, 'line-opacity': 0.8 },
    },
    {
      id: 'blocks-fill', type: 'fill', source: 'blocks',
      paint: { 'fill-color': '#162033', 'fill-opacity': 0.7 },
    },
    {
      id: 'blocks-line', type: 'line', source: 'blocks',
      paint: { 'line-color': '#2a3850', 'line-width': 1 },
    },
    {
      id: 'devzones-line', type: 'line', source: 'devzones',
      paint: { 'line-color': '#5b6b85', 'line-width': 1.4, 'line-dasharray': [4, 3] },
    },
    {
      id: 'carfree-hatch', type: 'fill', source: 'carfree',
      paint: { 'fill-pattern': 'hatch-carfree', 'fill-opacity': 0.9 },
    },
    {
      id: 'roads-casing', type: 'line', source: 'roads', filter: solidRoads,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#02050b', 'line-width': metres(['+', ['get', 'w'], 4], 1.5) },
    },
    {
      id: 'roads-glow', type: 'line', source: 'roads', filter: majorRoads,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': roadColour,
        'line-width': metres(['*', ['get', 'w'], 2.6], 6),
        'line-blur': 6,
        'line-opacity': 0.28,
      },
    },
    {
      id: 'roads-line', type: 'line', source: 'roads', filter: solidRoads,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': roadColour,
        'line-width': metres(['get', 'w'], 0.8),
        'line-opacity': ['match', ['get', 'cls'], 'interior', 0.8, 'pedestrian', 0.55, 0.95],
      },
    },
    {
      // PM lanes and footpaths: thin dashes of a fixed screen width, whatever their width in metres.
      id: 'roads-dashed', type: 'line', source: 'roads', filter: dashedRoads,
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': roadColour,
        'line-width': ['interpolate', ['linear'], ['zoom'], 13, 0.8, 17, 2.2],
        'line-dasharray': [3, 2],
        'line-opacity': 0.9,
      },
    },
    {
      id: 'carfree-line', type: 'line', source: 'carfree',
      layout: { 'line-join': 'round' },
      paint: { 'line-color': CAR_FREE_COLOUR, 'line-width': 2.2, 'line-dasharray': [3, 2] },
    },
    {
      id: 'buildings-3d', type: 'fill-extrusion', source: 'buildings',
      paint: {
        'fill-extrusion-color': useColour,
        'fill-extrusion-height': ['get', 'h'],
        'fill-extrusion-base': 0,
        'fill-extrusion-opacity': 0.92,
        'fill-extrusion-vertical-gradient': true,
      },
    },
    {
      id: 'selection-extrusion', type: 'fill-extrusion', source: 'selection',
      filter: ['==', ['geometry-type'], 'Polygon'],
      paint: {
        'fill-extrusion-color': SELECTION,
        'fill-extrusion-height': ['+', ['coalesce', ['get', 'h'], 0], 0.6],
        'fill-extrusion-opacity': 0.95,
      },
    },
    {
      id: 'selection-line', type: 'line', source: 'selection',
      filter: ['!=', ['geometry-type'], 'Point'],
      paint: { 'line-color': SELECTION, 'line-width': 3 },
    },
    {
      id: 'air-halo', type: 'circle', source: 'air',
      paint: {
        'circle-color': stepExpression('pm25'),
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 16, 17, 46],
        'circle-blur': 0.8,
        'circle-opacity': 0.5,
        'circle-pitch-alignment': 'map',
      },
    },
    ...dots('pois', ['get', 'kind']),
    ...dots('devices', ['match', ['get', 'kind'], 'cctv', 'cctv', 'device']),
    {
      id: 'pois-icon', type: 'symbol', source: 'pois', minzoom: ICON_ZOOM,
      layout: {
        'icon-image': ['concat', 'icon-', ['get', 'kind']],
        'icon-size': 0.8,
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
      },
    },
    {
      id: 'devices-icon', type: 'symbol', source: 'devices', minzoom: ICON_ZOOM,
      layout: {
        'icon-image': ['match', ['get', 'kind'], 'cctv', 'icon-cctv', 'icon-device'],
        'icon-size': 0.72,
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
      },
    },
    {
      id: 'stops-icon', type: 'symbol', source: 'stops',
      layout: {
        'icon-image': ['match', ['get', 'kind'], 'brt', 'icon-brt', 'icon-shuttle'],
        'icon-size': ['match', ['get', 'kind'], 'brt', 1, 0.85],
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
        'symbol-sort-key': ['match', ['get', 'kind'], 'brt', 2, 1],
      },
    },
    {
      id: 'parking-ring', type: 'circle', source: 'parking',
      paint: {
        'circle-radius': 17,
        'circle-color': 'rgba(0,0,0,0)',
        'circle-stroke-width': 3,
        'circle-stroke-color': [
          'step', ['get', 'ratio'], '#64748b', 0, '#ef4444', 0.1, '#f59e0b', 0.3, '#22c55e',
        ],
        'circle-pitch-alignment': 'viewport',
      },
    },
    {
      id: 'parking-icon', type: 'symbol', source: 'parking',
      layout: { 'icon-image': 'icon-parking', 'icon-allow-overlap': true, 'icon-ignore-placement': true },
    },
    {
      id: 'air-circle', type: 'circle', source: 'air',
      paint: {
        'circle-color': stepExpression('pm25'),
        'circle-radius': 9,
        'circle-stroke-color': '#f8fafc',
        'circle-stroke-width': 2,
        'circle-pitch-alignment': 'viewport',
      },
    },
    ...labelLayers(language),
    {
      id: 'selection-halo', type: 'circle', source: 'selection',
      filter: ['==', ['geometry-type'], 'Point'],
      paint: {
        'circle-radius': 20,
        'circle-color': 'rgba(0,0,0,0)',
        'circle-stroke-color': SELECTION,
        'circle-stroke-width': 3,
        'circle-pitch-alignment': 'viewport',
      },
    },
  ];
}

// GeoJSON is tiled up to zoom 14 and over-zoomed beyond (0.3 m precision): a city is a handful of
// tiles per source instead of dozens at a pitched view, so far fewer tiles to cut and draw.
const GEOJSON = { type: 'geojson', data: EMPTY, maxzoom: 14 };

/** The whole style: empty GeoJSON sources, filled by main.js from the hub; glyphs from `origin`. */
export function baseStyle(origin, language = 'en') {
  const sources = { selection: { ...GEOJSON } };
  for (const name of Object.keys(SOURCES)) sources[name] = { ...GEOJSON };
  return {
    version: 8,
    name: 'CityOS control centre (offline)',
    sources,
    glyphs: glyphsUrl(origin),
    layers: layers(language),
    // No `sky`: its fog costs about 40 % of every frame; the horizon glow is a CSS gradient.
    light: { anchor: 'viewport', color: '#ffffff', intensity: 0.28, position: [1.3, 200, 35] },
  };
}

/** Hillshade raster and contour layers (contours: a fetched FeatureCollection). */
export function terrainLayers(bounds, contours) {
  const { west, south, east, north } = bounds;
  const indexLine = ['==', ['get', 'index'], true];
  return {
    sources: {
      hillshade: {
        type: 'image',
        url: '/twin/terrain/hillshade.png',
        coordinates: [[west, north], [east, north], [east, south], [west, south]],
      },
      contours: { ...GEOJSON, data: contours },
    },
    layers: [
      {
        id: 'terrain-hillshade', type: 'raster', source: 'hillshade',
        paint: {
          'raster-opacity': 0.5,
          'raster-brightness-max': 0.38,
          'raster-saturation': -1,
          'raster-contrast': 0.15,
          'raster-fade-duration': 0,
        },
      },
      {
        id: 'terrain-contours', type: 'line', source: 'contours',
        filter: ['!', indexLine],
        paint: { 'line-color': '#3a4a63', 'line-width': 0.7, 'line-opacity': 0.8 },
      },
      {
        id: 'terrain-contours-index', type: 'line', source: 'contours',
        filter: indexLine,
        paint: { 'line-color': '#56698a', 'line-width': 1.3, 'line-opacity': 0.9 },
      },
    ],
    below: 'nature-fill',
  };
}

export { ACCENT, POINT_COLOURS };
