// Derived, render-ready properties for each entity type of the hub's contract.

import { ROAD_STYLE } from './palette.js';

const USE_SYNONYMS = {
  residential: ['residential', 'apartment', 'house', 'housing', 'detached', 'dormitory'],
  office: ['office', 'business', 'industrial', 'research', 'dataCenter'],
  commercial: ['commercial', 'retail', 'shop', 'market', 'hotel', 'restaurant'],
  school: ['school', 'education', 'kindergarten', 'university', 'childcare'],
  public: ['public', 'civic', 'community', 'hospital', 'clinic', 'welfare', 'government',
    'cultural', 'library', 'sports', 'religious', 'station', 'service'],
};

const SYNONYM_TO_USE = new Map(
  Object.entries(USE_SYNONYMS).flatMap(([use, words]) => words.map((w) => [w.toLowerCase(), use])),
);

const MIX_TO_USE = { living: 'residential', social: 'commercial', public: 'public' };
const STOREY_M = 3.3;

function asList(value) {
  if (value == null) return [];
  return Array.isArray(value) ? value : [value];
}

function asNumber(value) {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  return null;
}

/** The dominant use of a building: its first known category, else the largest share of `useMix`. */
export function dominantUse(props) {
  for (const category of asList(props.category)) {
    const use = SYNONYM_TO_USE.get(String(category).toLowerCase());
    if (use) return use;
  }
  const mix = props.useMix;
  if (mix && typeof mix === 'object') {
    const ranked = Object.entries(mix)
      .filter(([key, share]) => key in MIX_TO_USE && asNumber(share) != null)
      .sort((a, b) => asNumber(b[1]) - asNumber(a[1]));
    if (ranked.length) return MIX_TO_USE[ranked[0][0]];
  }
  if (props.facility) return 'public';
  return 'other';
}

/** Building height [m]: `height`, else floors × 3.3 m, else one low storey block. */
export function buildingHeight(props) {
  const height = asNumber(props.height);
  if (height != null && height > 0) return height;
  const floors = asNumber(props.floorsAboveGround);
  if (floors != null && floors > 0) return floors * STOREY_M;
  return 6;
}

const DERIVE = {
  Building(p) {
    p.use = dominantUse(p);
    p.h = buildingHeight(p);
  },
  RoadSegment(p) {
    p.cls = p.roadClass in ROAD_STYLE ? p.roadClass : 'interior';
    p.w = asNumber(p.width) ?? ROAD_STYLE[p.cls].width;
  },
  TransitStop(p) {
    p.kind = p.stopKind === 'brt' ? 'brt' : 'shuttle';
  },
  PointOfInterest(p) {
    const kinds = asList(p.category).map(String);
    p.kind = ['pmStation', 'cctv', 'evCharger'].find((k) => kinds.includes(k)) ?? 'facility';
  },
  Device(p) {
    const measured = asList(p.controlledProperty).map((x) => String(x).toLowerCase());
    const words = [...measured, ...asList(p.category).map((x) => String(x).toLowerCase())];
    const air = ['pm25', 'pm10', 'no2', 'o3', 'airquality', 'airpollution', 'airqualitystation'];
    if (words.some((w) => air.includes(w))) {
      p.kind = 'airSensor';
    } else if (words.some((w) => ['cctv', 'video', 'image', 'camera'].includes(w))) {
      p.kind = 'cctv';
    } else {
      p.kind = 'device';
    }
  },
  OffStreetParking(p) {
    const total = asNumber(p.totalSpotNumber);
    const free = asNumber(p.availableSpotNumber);
    p.free = free ?? -1;
    p.ratio = total && free != null ? free / total : -1;
  },
  AirQualityObserved(p) {
    p.pm25 = asNumber(p.pm25) ?? -1;
  },
  NaturalArea(p) {
    const kinds = asList(p.category).map(String);
    p.kind = kinds.includes('river') ? 'river' : 'habitat';
  },
};

/** Add derived properties in place (e.g. `use`, `h`, `cls`, `w`, `kind`) and return the collection. */
export function derive(type, collection) {
  const fn = DERIVE[type];
  if (fn) for (const feature of collection.features) fn(feature.properties);
  return collection;
}

/** [west, south, east, north] of every coordinate in the collections, or null when empty. */
export function extent(collections) {
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  const visit = (coords) => {
    if (typeof coords[0] === 'number') {
      w = Math.min(w, coords[0]);
      e = Math.max(e, coords[0]);
      s = Math.min(s, coords[1]);
      n = Math.max(n, coords[1]);
    } else {
      for (const c of coords) visit(c);
    }
  };
  for (const fc of collections) {
    for (const f of fc.features) if (f.geometry?.coordinates) visit(f.geometry.coordinates);
  }
  return Number.isFinite(w) ? [w, s, e, n] : null;
}
