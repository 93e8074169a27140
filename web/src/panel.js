// Side panel: layer toggles (real checkboxes), overview figures and the legend.

import { PM25_BANDS, band } from './aqi.js';
import { t } from './i18n.js';
import { iconUrl } from './icons.js';
import { CAR_FREE_COLOUR, ROAD_CLASSES, ROAD_STYLE, USE_COLOURS, USES } from './palette.js';
import { GROUPS } from './style.js';

const SWATCH = {
  terrain: 'linear-gradient(135deg, #1c2433 0%, #56698a 100%)',
  nature: 'linear-gradient(135deg, #155e8a 50%, #1d5c3a 50%)',
  zones: '#2a3850',
  carfree: `repeating-linear-gradient(135deg, ${CAR_FREE_COLOUR} 0 2px, transparent 2px 5px)`,
  roads: 'linear-gradient(90deg, #22d3ee 50%, #f43f5e 50%)',
  buildings: `linear-gradient(135deg, ${USE_COLOURS.residential} 50%, ${USE_COLOURS.office} 50%)`,
  transit: '#f43f5e',
  facilities: '#a78bfa',
  parking: '#3b82f6',
  air: 'linear-gradient(90deg, #3b82f6, #22c55e, #f59e0b, #ef4444)',
  labels: 'linear-gradient(180deg, transparent 30%, #e6fbff 30% 45%, transparent 45% 58%, #94a3b8 58% 72%, transparent 72%)',
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'style') node.style.cssText = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function label(key) {
  return el('span', { 'data-i18n': key }, t(key));
}

/** Build the toggles; `onToggle(groupId, visible)` is called on every change. */
export function buildToggles(onToggle) {
  const list = document.getElementById('layer-list');
  list.replaceChildren();
  for (const group of GROUPS) {
    const id = `toggle-${group.id}`;
    const input = el('input', { type: 'checkbox', id, name: 'layers', value: group.id });
    input.checked = true;
    input.addEventListener('change', () => onToggle(group.id, input.checked));
    const row = el(
      'li',
      { class: 'layer-row', dataset: { group: group.id } },
      input,
      el(
        'label',
        { for: id },
        el('span', { class: 'swatch', 'aria-hidden': 'true', style: `background:${SWATCH[group.id]}` }),
        label(group.label),
        el('span', { class: 'count', id: `count-${group.id}` }, ''),
      ),
    );
    list.append(row);
  }
}

/** Show how many entities each toggle group holds ('' when not loaded). */
export function setCount(groupId, count) {
  const node = document.getElementById(`count-${groupId}`);
  if (node) node.textContent = count == null ? '' : count.toLocaleString();
}

/** Mark a group as unavailable (e.g. terrain before the twin model exists). */
export function setUnavailable(groupId, reasonKey) {
  const row = document.querySelector(`.layer-row[data-group="${groupId}"]`);
  if (!row) return;
  const input = row.querySelector('input');
  input.checked = false;
  input.disabled = true;
  row.classList.add('unavailable');
  const count = row.querySelector('.count');
  count.replaceChildren(label(reasonKey));
}

function legendSection(titleKey, items) {
  return el('section', { class: 'legend-section' }, el('h3', {}, label(titleKey)), el('ul', { class: 'legend-list' }, ...items));
}

function legendItem(marker, key, extra) {
  const item = el('li', {}, marker, label(key));
  if (extra) item.append(el('span', { class: 'legend-extra' }, extra));
  return item;
}

/** Build the legend from the same palette the style uses. */
export function buildLegend() {
  const root = document.getElementById('legend');
  const uses = USES.map((use) => legendItem(
    el('span', { class: 'legend-box', style: `background:${USE_COLOURS[use]}`, 'aria-hidden': 'true' }),
    `use.${use}`,
  ));
  const roads = ROAD_CLASSES.map((cls) => {
    const { colour, width } = ROAD_STYLE[cls];
    const dashed = ['pm', 'footpath'].includes(cls);
    const thickness = Math.max(2, Math.min(7, Math.round(width / 3.2)));
    return legendItem(
      el('span', {
        class: `legend-line${dashed ? ' dashed' : ''}`,
        style: `--c:${colour};--w:${thickness}px`,
        'aria-hidden': 'true',
      }),
      `road.${cls}`,
    );
  });
  let low = 0;
  const air = PM25_BANDS.map((b) => {
    const range = Number.isFinite(b.max) ? `${low}–${b.max}` : `> ${low - 1}`;
    low = b.max + 1;
    return el(
      'li', {},
      el('span', { class: 'aqi-bar', style: `--c:${b.colour}`, 'aria-hidden': 'true' }),
      label(`aqi.${b.key}`),
      el('span', { class: 'aqi-range' }, range),
    );
  });
  const icon = (name) => el('img', { class: 'legend-icon', src: iconUrl(name), alt: '' });
  const points = [
    legendItem(icon('icon-brt'), 'point.brt'),
    legendItem(icon('icon-shuttle'), 'point.shuttle'),
    legendItem(icon('icon-pmStation'), 'point.pmStation'),
    legendItem(icon('icon-evCharger'), 'point.evCharger'),
    legendItem(icon('icon-cctv'), 'point.cctv'),
    legendItem(icon('icon-device'), 'point.device'),
    legendItem(icon('icon-parking'), 'point.parking'),
    legendItem(
      el('span', { class: 'legend-box hatched', style: `--c:${CAR_FREE_COLOUR}`, 'aria-hidden': 'true' }),
      'point.carfree',
    ),
  ];
  root.replaceChildren(
    legendSection('legend.use', uses),
    legendSection('legend.roads', roads),
    el('section', { class: 'legend-section' }, el('h3', {}, label('legend.air')), el('ul', { class: 'aqi-scale' }, ...air)),
    legendSection('legend.points', points),
  );
}

function mean(values) {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** Fill the overview figures from the loaded collections. */
export function updateOverview(collections) {
  const set = (id, text, colour) => {
    const node = document.getElementById(id);
    node.textContent = text;
    if (colour) node.style.setProperty('--band', colour);
  };
  const pm = mean((collections.air?.features ?? []).map((f) => f.properties.pm25).filter((v) => v >= 0));
  if (pm == null) {
    set('kpi-pm25', '–');
    document.getElementById('kpi-pm25-band').textContent = '';
  } else {
    const b = band(pm);
    set('kpi-pm25', `${pm.toFixed(0)} µg/m³`);
    const bandEl = document.getElementById('kpi-pm25-band');
    bandEl.textContent = t(`aqi.${b.key}`);
    bandEl.dataset.i18n = `aqi.${b.key}`;
    bandEl.style.setProperty('--band', b.colour);
  }
  let free = 0;
  let total = 0;
  for (const f of collections.parking?.features ?? []) {
    if (f.properties.free >= 0) free += f.properties.free;
    if (typeof f.properties.totalSpotNumber === 'number') total += f.properties.totalSpotNumber;
  }
  set('kpi-parking', total ? `${free.toLocaleString()} / ${total.toLocaleString()}` : '–');
  const buildings = collections.buildings?.features ?? [];
  set('kpi-buildings', buildings.length ? buildings.length.toLocaleString() : '–');
  const households = buildings.reduce((sum, f) => sum + (Number(f.properties.households) || 0), 0);
  set('kpi-households', households ? households.toLocaleString() : '–');
}
