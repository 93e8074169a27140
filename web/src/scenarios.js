// The scenario-comparison page: the KPIs of `cityos simulate mobility`, read from the hub's
// public NGSI-LD API (MobilityScenarioResult and MobilityPersonaResult entities), set side by
// side against the city's targets (MISSION §3), so that citizens see the simulated effect of a
// plan before it is decided.

import { NGSI_LD, failure } from './api.js';
import { el } from './dom.js';
import { addStrings, applyStrings, lang, onLangChange, setLang, t } from './i18n.js';

addStrings({
  en: {
    'sc.title': 'Mobility scenarios',
    'sc.toMap': 'Control-centre map',
    'sc.intro':
      'Each scenario is one simulated weekday of every resident of 5-1. Compare them before the decision is taken.',
    'sc.loading': 'Loading the simulation results from the hub…',
    'sc.empty':
      'No simulation results in the hub yet. Run “cityos simulate mobility --scenario smart-5-1” and reload this page.',
    'sc.failed': 'The hub did not answer',
    'sc.targets': "The city's targets",
    'sc.modes': 'How people travel (share of trips)',
    'sc.kpis': 'All indicators',
    'sc.personas': 'A day in the life of four residents',
    'sc.met': 'met',
    'sc.missed': 'missed',
    'sc.target': 'target',
    'sc.seed': 'seed',
    'sc.inside': 'inside the ring',
    'sc.outside': 'outside the ring',
    'target.carsOwned': 'Cars owned, against today’s city',
    'target.carShareInside': 'Car trips inside the ring',
    'target.carShareOutside': 'Car trips outside the ring',
    'target.commute': 'Commute per person and day',
    'kpi.persons': 'Residents simulated',
    'kpi.trips': 'Trips',
    'kpi.carsOwned': 'Cars owned',
    'kpi.carsRunning': 'Cars running (private, shared, taxi)',
    'kpi.carsOwnedRatio': 'Cars owned / baseline',
    'kpi.carsRunningRatio': 'Cars running / baseline',
    'kpi.carShareInside': 'Car share inside the ring',
    'kpi.carShareOutside': 'Car share outside the ring',
    'kpi.commute': 'Commute [min / person-day]',
    'kpi.meanTrip': 'Mean trip [min]',
    'kpi.shuttleRequests': 'Shuttle requests',
    'kpi.shuttleRejection': 'Shuttle requests rejected',
    'kpi.shuttleWait': 'Shuttle wait p50 / p95 [s]',
    'kpi.shuttleDetour': 'Shuttle detour (mean)',
    'kpi.vehicleKm': 'Vehicle-km',
    'kpi.co2': 'CO₂ [t / day]',
    'mode.walk': 'Walk',
    'mode.pm': 'Shielded PM',
    'mode.shuttle': 'Shuttle',
    'mode.brt': 'BRT',
    'mode.sharedCar': 'Shared car',
    'mode.car': 'Private car',
    'mode.taxi': 'Taxi',
    'persona.retiredLibrarian75': 'Retired librarian, 75',
    'persona.homemaker32': 'Parent at home, 32',
    'persona.pupil11': 'Pupil, 11',
    'persona.designer45': 'Designer, 45',
    'persona.trips': 'trips',
    'persona.min': 'min travelling',
  },
  ko: {
    'sc.title': '모빌리티 시나리오',
    'sc.toMap': '통합관제 지도',
    'sc.intro': '각 시나리오는 5-1 생활권 모든 주민의 하루(평일)를 모의한 결과입니다. 결정하기 전에 비교해 보세요.',
    'sc.loading': '데이터 허브에서 시뮬레이션 결과를 불러오는 중…',
    'sc.empty':
      '데이터 허브에 시뮬레이션 결과가 아직 없습니다. “cityos simulate mobility --scenario smart-5-1”을 실행한 뒤 새로 고치세요.',
    'sc.failed': '데이터 허브가 응답하지 않습니다',
    'sc.targets': '도시의 목표',
    'sc.modes': '이동 수단별 통행 분담률',
    'sc.kpis': '전체 지표',
    'sc.personas': '주민 네 명의 하루',
    'sc.met': '달성',
    'sc.missed': '미달',
    'sc.target': '목표',
    'sc.seed': '시드',
    'sc.inside': '순환도로 안',
    'sc.outside': '순환도로 밖',
    'target.carsOwned': '자동차 보유 대수 (현재 도시 대비)',
    'target.carShareInside': '순환도로 안 승용차 분담률',
    'target.carShareOutside': '순환도로 밖 승용차 분담률',
    'target.commute': '1인당 하루 통근 시간',
    'kpi.persons': '모의 주민 수',
    'kpi.trips': '통행 수',
    'kpi.carsOwned': '보유 자동차',
    'kpi.carsRunning': '운행 자동차 (자가용·공유차·택시)',
    'kpi.carsOwnedRatio': '보유 자동차 / 기준',
    'kpi.carsRunningRatio': '운행 자동차 / 기준',
    'kpi.carShareInside': '순환도로 안 승용차 분담률',
    'kpi.carShareOutside': '순환도로 밖 승용차 분담률',
    'kpi.commute': '통근 [분 / 인·일]',
    'kpi.meanTrip': '평균 통행 시간 [분]',
    'kpi.shuttleRequests': '셔틀 호출',
    'kpi.shuttleRejection': '거절된 셔틀 호출',
    'kpi.shuttleWait': '셔틀 대기 p50 / p95 [초]',
    'kpi.shuttleDetour': '셔틀 우회 비율 (평균)',
    'kpi.vehicleKm': '차량-km',
    'kpi.co2': 'CO₂ [톤 / 일]',
    'mode.walk': '도보',
    'mode.pm': '쉴드형 PM',
    'mode.shuttle': '셔틀',
    'mode.brt': 'BRT',
    'mode.sharedCar': '공유차',
    'mode.car': '자가용',
    'mode.taxi': '택시',
    'persona.retiredLibrarian75': '은퇴한 사서, 75세',
    'persona.homemaker32': '전업 부모, 32세',
    'persona.pupil11': '초등학생, 11세',
    'persona.designer45': '디자이너, 45세',
    'persona.trips': '회 통행',
    'persona.min': '분 이동',
  },
});

const MODES = ['walk', 'pm', 'shuttle', 'brt', 'sharedCar', 'car', 'taxi'];
const MODE_COLOURS = {
  walk: '#22c55e',
  pm: '#a3e635',
  shuttle: '#38bdf8',
  brt: '#ef4444',
  sharedCar: '#a78bfa',
  car: '#f59e0b',
  taxi: '#fde047',
};

// MISSION §3: cars owned and running cut to 1/3, car share 10 % inside / 30 % outside the ring,
// commute 100 -> at most 60 minutes a day.
const TARGETS = [
  { key: 'target.carsOwned', value: (s) => s.ratioToBaseline?.carsOwned, limit: 1 / 3, format: ratio },
  { key: 'target.carShareInside', value: (s) => s.carShareInside, limit: 0.1, format: percent },
  { key: 'target.carShareOutside', value: (s) => s.carShareOutside, limit: 0.3, format: percent },
  { key: 'target.commute', value: (s) => s.commuteMinPerPersonDay, limit: 60, format: minutes },
];

const KPIS = [
  ['kpi.persons', (s) => integer(s.persons)],
  ['kpi.trips', (s) => integer(s.trips)],
  ['kpi.carsOwned', (s) => integer(s.carsOwned)],
  ['kpi.carsRunning', (s) => integer(s.carsRunning)],
  ['kpi.carsOwnedRatio', (s) => ratio(s.ratioToBaseline?.carsOwned)],
  ['kpi.carsRunningRatio', (s) => ratio(s.ratioToBaseline?.carsRunning)],
  ['kpi.carShareInside', (s) => percent(s.carShareInside)],
  ['kpi.carShareOutside', (s) => percent(s.carShareOutside)],
  ['kpi.commute', (s) => decimal(s.commuteMinPerPersonDay)],
  ['kpi.meanTrip', (s) => decimal(s.meanTripMin)],
  ['kpi.shuttleRequests', (s) => integer(s.shuttleRequests)],
  ['kpi.shuttleRejection', (s) => percent(s.shuttleRejectionRate)],
  ['kpi.shuttleWait', (s) => `${integer(s.shuttleWaitS?.p50)} / ${integer(s.shuttleWaitS?.p95)}`],
  ['kpi.shuttleDetour', (s) => decimal(s.shuttleDetour?.mean, 2)],
  ['kpi.vehicleKm', (s) => integer(Object.values(s.vehicleKm ?? {}).reduce((a, b) => a + b, 0))],
  ['kpi.co2', (s) => decimal((s.co2Kg ?? NaN) / 1000)],
];

function locale() {
  return lang() === 'ko' ? 'ko-KR' : 'en-GB';
}
function integer(x) {
  return Number.isFinite(x) ? Math.round(x).toLocaleString(locale()) : '–';
}
function decimal(x, digits = 1) {
  return Number.isFinite(x)
    ? x.toLocaleString(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
}
function percent(x) {
  return Number.isFinite(x) ? `${decimal(100 * x)} %` : '–';
}
function ratio(x) {
  return Number.isFinite(x) ? decimal(x, 2) : '–';
}
function minutes(x) {
  return Number.isFinite(x) ? `${decimal(x)} min` : '–';
}

async function entities(type) {
  const params = new URLSearchParams({ type, options: 'keyValues', limit: '100' });
  const url = `${NGSI_LD}/entities?${params}`;
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await failure(response, url);
  return response.json();
}

/** Scenario results in display order: the baseline first, then by name and seed. */
function ordered(results) {
  const rank = (s) => (s.scenarioName === 'baseline' ? 0 : 1);
  return results.sort(
    (a, b) => rank(a) - rank(b) || a.scenarioName.localeCompare(b.scenarioName) || a.seed - b.seed,
  );
}

function label(scenario, all) {
  const twins = all.filter((s) => s.scenarioName === scenario.scenarioName).length;
  return twins > 1 ? `${scenario.scenarioName} (${t('sc.seed')} ${scenario.seed})` : scenario.scenarioName;
}

function renderTargets(results) {
  const grid = document.getElementById('sc-targets');
  grid.replaceChildren();
  for (const scenario of results) {
    const rows = TARGETS.map((target) => {
      const value = target.value(scenario);
      const known = Number.isFinite(value);
      const met = known && value <= target.limit;
      return el(
        'li',
        { class: 'target-row', 'data-target': target.key, 'data-met': known ? String(met) : 'unknown' },
        el('span', { class: 'target-name', text: t(target.key) }),
        el('span', { class: 'target-value', text: target.format(value) }),
        el('span', {
          class: `target-chip ${met ? 'is-met' : 'is-missed'}`,
          text: known ? t(met ? 'sc.met' : 'sc.missed') : '–',
        }),
        el('span', { class: 'target-limit', text: `${t('sc.target')} ≤ ${target.format(target.limit)}` }),
      );
    });
    grid.append(
      el(
        'article',
        { class: 'target-card', 'data-scenario': scenario.scenarioName },
        el('h3', { class: 'target-title', text: label(scenario, results) }),
        el('ul', { class: 'target-list' }, ...rows),
      ),
    );
  }
}

function bar(shares, caption) {
  const segments = MODES.filter((m) => (shares?.[m] ?? 0) > 0).map((mode) => {
    const share = shares[mode];
    return el('span', {
      class: 'mode-segment',
      'data-mode': mode,
      title: `${t(`mode.${mode}`)}: ${percent(share)}`,
      style: { width: `${100 * share}%`, background: MODE_COLOURS[mode] },
      text: share >= 0.06 ? percent(share) : '',
    });
  });
  return el(
    'div',
    { class: 'mode-row' },
    el('span', { class: 'mode-caption', text: caption }),
    el('div', { class: 'mode-bar', role: 'img', 'aria-label': caption }, ...segments),
  );
}

function renderModes(results) {
  const chart = document.getElementById('sc-modes');
  chart.replaceChildren();
  for (const scenario of results) {
    chart.append(
      el(
        'div',
        { class: 'mode-group', 'data-scenario': scenario.scenarioName },
        el('h3', { class: 'mode-title', text: label(scenario, results) }),
        bar(scenario.modeShareInside, t('sc.inside')),
        bar(scenario.modeShareOutside, t('sc.outside')),
      ),
    );
  }
  document.getElementById('sc-mode-legend').replaceChildren(
    ...MODES.map((mode) =>
      el(
        'li',
        {},
        el('span', { class: 'swatch', style: { background: MODE_COLOURS[mode] } }),
        t(`mode.${mode}`),
      ),
    ),
  );
}

function renderTable(results) {
  const head = el('tr', {}, el('th', { scope: 'col', text: '' }));
  for (const s of results) head.append(el('th', { scope: 'col', text: label(s, results) }));
  const rows = KPIS.map(([key, format]) => {
    const row = el('tr', { 'data-kpi': key }, el('th', { scope: 'row', text: t(key) }));
    for (const s of results) row.append(el('td', { text: format(s) }));
    return row;
  });
  document.getElementById('sc-kpis').replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
}

function renderPersonas(results, personas) {
  const names = [...new Set(personas.map((p) => p.persona))].sort();
  const head = el('tr', {}, el('th', { scope: 'col', text: '' }));
  for (const s of results) head.append(el('th', { scope: 'col', text: label(s, results) }));
  const rows = names.map((name) => {
    const row = el('tr', { 'data-persona': name }, el('th', { scope: 'row', text: t(`persona.${name}`) }));
    for (const s of results) {
      const day = personas.find((p) => p.persona === name && p.scenario === s.id);
      const modes = Object.entries(day?.modes ?? {})
        .sort((a, b) => b[1] - a[1])
        .map(([mode, n]) => `${t(`mode.${mode}`)} ×${n}`)
        .join(', ');
      const text = day
        ? `${integer(day.trips)} ${t('persona.trips')}, ${decimal(day.travelMin)} ${t('persona.min')} — ${modes}`
        : '–';
      row.append(el('td', { text }));
    }
    return row;
  });
  document.getElementById('sc-personas').replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
}

const state = { results: [], personas: [] };

function render() {
  const message = document.getElementById('sc-message');
  if (!state.results.length) {
    message.hidden = false;
    message.textContent = t(document.body.dataset.state === 'error' ? 'sc.failed' : 'sc.empty');
    if (state.error) message.textContent += `: ${state.error}`;
    return;
  }
  message.hidden = true;
  renderTargets(state.results);
  renderModes(state.results);
  renderTable(state.results);
  renderPersonas(state.results, state.personas);
}

async function main() {
  applyStrings();
  document.getElementById('lang-toggle').addEventListener('click', () => {
    setLang(lang() === 'ko' ? 'en' : 'ko');
  });
  onLangChange(render);
  try {
    const [results, personas] = await Promise.all([
      entities('MobilityScenarioResult'),
      entities('MobilityPersonaResult'),
    ]);
    state.results = ordered(results);
    state.personas = personas;
    document.body.dataset.state = results.length ? 'ready' : 'empty';
  } catch (error) {
    state.error = error.message;
    document.body.dataset.state = 'error';
  }
  render();
  window.cityos = { scenarios: state.results.map((s) => s.scenarioName) };
}

main();
