// Header: live clock in Korea Standard Time and the hub connection status.

import { lang, onLangChange, t } from './i18n.js';

function clockText(now) {
  const locale = lang() === 'ko' ? 'ko-KR' : 'en-GB';
  const date = new Intl.DateTimeFormat(locale, {
    timeZone: 'Asia/Seoul', year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short',
  }).format(now);
  const time = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Seoul', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).format(now);
  return { date, time };
}

/** Tick the clock in `#clock` every second. */
export function startClock() {
  const dateEl = document.getElementById('clock-date');
  const timeEl = document.getElementById('clock-time');
  const tick = () => {
    const now = new Date();
    const { date, time } = clockText(now);
    dateEl.textContent = date;
    timeEl.textContent = time;
    timeEl.setAttribute('datetime', now.toISOString());
  };
  tick();
  onLangChange(tick);
  return window.setInterval(tick, 1000);
}

const state = { kind: 'connecting', updated: null, entities: 0 };

function renderStatus() {
  const el = document.getElementById('hub-status');
  el.dataset.state = state.kind;
  el.querySelector('.status-label').textContent = t(`status.${state.kind}`);
  const detail = el.querySelector('.status-detail');
  if (state.updated) {
    const time = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Seoul', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
    }).format(state.updated);
    detail.textContent = `${state.entities.toLocaleString()} ${t('status.entities')} · ${t('status.updated')} ${time}`;
  } else {
    detail.textContent = '';
  }
}

/** Set the hub status: `connecting`, `live` or `offline`; `entities` is the loaded count. */
export function setStatus(kind, entities) {
  state.kind = kind;
  if (kind === 'live') state.updated = new Date();
  if (typeof entities === 'number') state.entities = entities;
  renderStatus();
}

/** Re-render header strings after a language switch. */
export function refreshHeader() {
  renderStatus();
}
