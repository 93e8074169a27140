// Entity inspector: GET /ngsi-ld/v1/entities/{id} and show every attribute in a readable table.

import { PM10_BANDS, PM25_BANDS, band } from './aqi.js';
import { entityUrl, fetchEntity } from './api.js';
import { attributeLabel, lang, t } from './i18n.js';

const UNIT_CODES = {
  GQ: 'µg/m³', 59: 'ppm', 61: 'ppb', MTR: 'm', MTK: 'm²', KMT: 'km', KMH: 'km/h', CEL: '°C',
  P1: '%', KWH: 'kWh', KWT: 'kW', SEC: 's', MIN: 'min', C62: '',
};
const DEFAULT_UNITS = {
  height: 'm', width: 'm', roofArea: 'm²', maximumAllowedSpeed: 'km/h', pm25: 'µg/m³',
  pm10: 'µg/m³', length: 'm', area: 'm²',
};
const HIDDEN = new Set(['id', 'type', '@context']);

let controller = null;
let currentId = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'style') node.style.cssText = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function formatNumber(value) {
  if (Number.isInteger(value)) return value.toLocaleString();
  return value.toLocaleString(undefined, { maximumFractionDigits: 3 });
}

function formatTime(text) {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return text;
  return new Intl.DateTimeFormat(lang() === 'ko' ? 'ko-KR' : 'en-GB', {
    timeZone: 'Asia/Seoul', dateStyle: 'medium', timeStyle: 'medium',
  }).format(date);
}

function geometrySummary(geometry) {
  if (!geometry || typeof geometry !== 'object') return String(geometry);
  const flat = [];
  const walk = (c) => (typeof c[0] === 'number' ? flat.push(c) : c.forEach(walk));
  if (geometry.coordinates) walk(geometry.coordinates);
  if (geometry.type === 'Point') {
    const [lon, lat] = geometry.coordinates;
    return `Point · ${lat.toFixed(5)}°N ${lon.toFixed(5)}°E`;
  }
  return `${geometry.type} · ${flat.length} vertices`;
}

function useMixBar(mix) {
  const parts = [['living', '#e9a93a'], ['social', '#d96bcf'], ['public', '#2fc4d3']];
  const total = parts.reduce((s, [k]) => s + (Number(mix[k]) || 0), 0) || 1;
  const bar = el('div', { class: 'mix-bar', role: 'img' });
  const text = [];
  for (const [key, colour] of parts) {
    const share = (Number(mix[key]) || 0) / total;
    if (share <= 0) continue;
    bar.append(el('span', { style: `width:${(share * 100).toFixed(1)}%;background:${colour}` }));
    text.push(`${key} ${(share * 100).toFixed(0)}%`);
  }
  bar.setAttribute('aria-label', text.join(', '));
  return el('div', {}, bar, el('div', { class: 'mix-text' }, text.join(' · ')));
}

function plain(value, name = '') {
  if (value == null) return '–';
  if (typeof value === 'number') return /year$/i.test(name) ? String(value) : formatNumber(value);
  if (typeof value === 'boolean') return value ? '✓' : '✗';
  if (typeof value === 'string') {
    return /^\d{4}-\d\d-\d\dT/.test(value) ? formatTime(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => plain(v)).join(', ');
  return Object.entries(value).map(([k, v]) => `${k}: ${plain(v)}`).join('; ');
}

function valueCell(name, attr) {
  const cell = el('td');
  const instance = Array.isArray(attr) ? attr[0] : attr;
  if (instance == null || typeof instance !== 'object' || !('type' in instance)) {
    cell.append(plain(instance));
    return cell;
  }
  const kind = instance.type;
  if (kind === 'Relationship' || kind === 'ListRelationship') {
    // Related entities open in the inspector: the graph can be walked from the map.
    const targets = [instance.object ?? instance.objectList].flat().filter(Boolean);
    for (const target of targets) {
      const link = el('button', { type: 'button', class: 'relation' }, String(target));
      link.addEventListener('click', () => inspect(String(target)));
      cell.append(link);
    }
  } else if (kind === 'GeoProperty') {
    cell.append(geometrySummary(instance.value));
  } else if (kind === 'LanguageProperty') {
    const map = instance.languageMap ?? {};
    cell.append(map[lang()] ?? map.en ?? Object.values(map)[0] ?? '–');
  } else if (name === 'useMix' && instance.value && typeof instance.value === 'object') {
    cell.append(useMixBar(instance.value));
  } else {
    const value = instance.value ?? instance.valueList ?? instance.vocab ?? instance.json;
    const unit = UNIT_CODES[instance.unitCode] ?? instance.unitCode ?? DEFAULT_UNITS[name] ?? '';
    const text = plain(value, name);
    cell.append(unit && typeof value === 'number' ? `${text} ${unit}` : text);
    const bands = name === 'pm25' ? PM25_BANDS : name === 'pm10' ? PM10_BANDS : null;
    const b = bands && band(value, bands);
    if (b) {
      cell.append(' ', el('span', { class: 'band-chip', style: `--band:${b.colour}` }, t(`aqi.${b.key}`)));
    }
  }
  if (instance.observedAt) {
    cell.append(el('div', { class: 'observed' }, `${t('inspector.observed')} ${formatTime(instance.observedAt)}`));
  }
  if (Array.isArray(attr) && attr.length > 1) {
    cell.append(el('div', { class: 'observed' }, `+${attr.length - 1} datasetId`));
  }
  return cell;
}

function shortId(id) {
  const parts = String(id).split(':');
  return parts[parts.length - 1];
}

/** Render a normalized entity into the inspector body. */
export function renderEntity(entity) {
  const body = document.getElementById('inspector-body');
  const name = entity.name?.value ?? entity.name ?? shortId(entity.id);
  const names = Object.keys(entity).filter((k) => !HIDDEN.has(k));
  const order = ['name', 'category', 'height', 'floorsAboveGround', 'useMix', 'households'];
  names.sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  const rows = names.map((n) => el('tr', {}, el('th', { scope: 'row' }, attributeLabel(n)), valueCell(n, entity[n])));
  const table = el(
    'table',
    { class: 'attr-table' },
    el('caption', { class: 'visually-hidden' }, `${entity.type} ${entity.id}`),
    el(
      'thead', {},
      el('tr', {}, el('th', { scope: 'col' }, t('inspector.attribute')), el('th', { scope: 'col' }, t('inspector.value'))),
    ),
    el('tbody', {}, ...rows),
  );
  const link = el('a', { href: entityUrl(entity.id), target: '_blank', rel: 'noopener' }, `GET ${entityUrl(entity.id)}`);
  body.replaceChildren(
    el('p', { class: 'entity-type' }, entity.type),
    el('h3', { class: 'entity-name' }, String(name)),
    el('p', { class: 'entity-id' }, el('code', {}, entity.id)),
    table,
    el('p', { class: 'entity-request' }, el('span', {}, `${t('inspector.raw')}: `), link),
  );
}

function showMessage(key, detail) {
  const body = document.getElementById('inspector-body');
  body.replaceChildren(el('p', { class: 'inspector-hint' }, t(key)));
  if (detail) body.append(el('p', { class: 'inspector-error' }, detail));
}

/** Open the inspector on entity `id` (fetches it; a newer call cancels an older one). */
export async function inspect(id) {
  const panel = document.getElementById('inspector');
  panel.hidden = false;
  panel.dataset.entityId = id;
  currentId = id;
  controller?.abort();
  controller = new AbortController();
  showMessage('inspector.loading');
  try {
    const entity = await fetchEntity(id, { signal: controller.signal });
    if (currentId === id) renderEntity(entity);
  } catch (error) {
    if (error.name === 'AbortError') return;
    showMessage('inspector.error', error.message);
  }
}

/** Refresh the open entity (after live data changed), without a loading flash. */
export async function refreshInspector() {
  if (!currentId || document.getElementById('inspector').hidden) return;
  try {
    const entity = await fetchEntity(currentId);
    renderEntity(entity);
  } catch {
    // Keep the last good view; the header status reports connectivity.
  }
}

/** Close the inspector; `onClose` runs after (e.g. to clear the map selection). */
export function closeInspector() {
  const panel = document.getElementById('inspector');
  panel.hidden = true;
  delete panel.dataset.entityId;
  currentId = null;
  controller?.abort();
  showMessage('inspector.hint');
}

/** The id the inspector shows, or null. */
export function inspectedId() {
  return currentId;
}
