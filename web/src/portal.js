// The citizen portal ("My data"): a citizen's consents (grant, withdraw), who used their data
// (their audit trail) and their data (MyData export, erasure), through the privacy API with the
// citizen's own access token. The token is kept in sessionStorage: this tab only.

import { el } from './dom.js';
import { addStrings, applyStrings, lang, onLangChange, setLang, t } from './i18n.js';

addStrings({
  en: {
    'pt.title': 'My data',
    'pt.intro':
      'Your data is yours. Decide who may use it and for what, see every use, take a copy or have it erased.',
    'pt.signIn': 'Sign in',
    'pt.signOut': 'Sign out',
    'pt.token': 'Access token',
    'pt.tokenHint':
      'The token the city issued to you (cityos auth token --role citizen). It stays in this browser tab only.',
    'pt.notCitizen': 'This token is not a citizen’s: the portal shows a resident their own data.',
    'pt.badToken': 'The token was refused',
    'pt.consents': 'My consents',
    'pt.noConsents': 'You have not given any consent.',
    'pt.grant': 'Give a new consent',
    'pt.purpose': 'Purpose',
    'pt.recipient': 'Who may use it',
    'pt.categories': 'Which data',
    'pt.until': 'Until (optional)',
    'pt.grantButton': 'Give consent',
    'pt.granted': 'Consent given.',
    'pt.withdraw': 'Withdraw',
    'pt.withdrawn': 'Consent withdrawn: it no longer applies from the next request on.',
    'pt.audit': 'Who used my data',
    'pt.noAudit': 'Nobody has used your data yet.',
    'pt.data': 'My data',
    'pt.download': 'Download everything about me',
    'pt.downloaded': 'Your data was downloaded as cityos-mydata.json.',
    'pt.eraseLabel': 'Type “erase” to delete everything about you, history included',
    'pt.erase': 'Erase my data',
    'pt.erased': 'Your data was erased.',
    'pt.typeErase': 'Type “erase” first: erasure cannot be undone.',
    'col.purpose': 'Purpose',
    'col.recipient': 'Recipient',
    'col.categories': 'Data',
    'col.period': 'Valid',
    'col.state': 'State',
    'col.when': 'When',
    'col.who': 'Who',
    'col.action': 'What',
    'col.outcome': 'Outcome',
    'state.active': 'active',
    'state.pending': 'not yet valid',
    'state.expired': 'expired',
    'state.withdrawn': 'withdrawn',
    'cat.*': 'all my data',
    'pt.proposals': 'City proposals',
    'pt.noProposals': 'No proposals yet: be the first.',
    'pt.propose': 'Propose a city problem to solve',
    'pt.pTitle': 'Title',
    'pt.pBody': 'What is the problem?',
    'pt.pCategory': 'Topic',
    'pt.proposeButton': 'Propose',
    'pt.proposed': 'Your proposal is published.',
    'pt.support': 'Support',
    'pt.supported': 'Thank you: your support is counted.',
    'pt.supporters': 'supporters',
    'pt.answerDue': 'answer due',
    'pt.overdue': 'overdue',
    'pt.answered': 'answered',
  },
  ko: {
    'pt.title': '나의 데이터',
    'pt.intro':
      '데이터의 주인은 시민입니다. 누가 어떤 목적으로 쓸지 정하고, 모든 이용 내역을 보고, 사본을 받거나 삭제를 요청하세요.',
    'pt.signIn': '로그인',
    'pt.signOut': '로그아웃',
    'pt.token': '접근 토큰',
    'pt.tokenHint': '시가 발급한 토큰 (cityos auth token --role citizen). 이 브라우저 탭에만 보관됩니다.',
    'pt.notCitizen': '시민 토큰이 아닙니다: 이 포털은 주민 본인의 데이터만 보여 줍니다.',
    'pt.badToken': '토큰이 거부되었습니다',
    'pt.consents': '나의 동의',
    'pt.noConsents': '아직 동의한 내역이 없습니다.',
    'pt.grant': '새 동의',
    'pt.purpose': '목적',
    'pt.recipient': '이용자',
    'pt.categories': '데이터 종류',
    'pt.until': '종료일 (선택)',
    'pt.grantButton': '동의하기',
    'pt.granted': '동의했습니다.',
    'pt.withdraw': '철회',
    'pt.withdrawn': '동의를 철회했습니다: 다음 요청부터 적용되지 않습니다.',
    'pt.audit': '내 데이터 이용 내역',
    'pt.noAudit': '아직 내 데이터를 이용한 기록이 없습니다.',
    'pt.data': '나의 데이터',
    'pt.download': '내 데이터 모두 내려받기',
    'pt.downloaded': 'cityos-mydata.json 파일로 내려받았습니다.',
    'pt.eraseLabel': '기록을 포함한 내 데이터를 모두 삭제하려면 “erase”를 입력하세요',
    'pt.erase': '내 데이터 삭제',
    'pt.erased': '내 데이터를 삭제했습니다.',
    'pt.typeErase': '먼저 “erase”를 입력하세요: 삭제는 되돌릴 수 없습니다.',
    'col.purpose': '목적',
    'col.recipient': '이용자',
    'col.categories': '데이터',
    'col.period': '기간',
    'col.state': '상태',
    'col.when': '일시',
    'col.who': '누가',
    'col.action': '무엇을',
    'col.outcome': '결과',
    'state.active': '유효',
    'state.pending': '시작 전',
    'state.expired': '만료',
    'state.withdrawn': '철회됨',
    'cat.*': '내 데이터 전체',
    'pt.proposals': '시민 제안',
    'pt.noProposals': '아직 제안이 없습니다: 첫 제안을 해 보세요.',
    'pt.propose': '도시 문제 제안하기',
    'pt.pTitle': '제목',
    'pt.pBody': '무엇이 문제인가요?',
    'pt.pCategory': '분야',
    'pt.proposeButton': '제안하기',
    'pt.proposed': '제안이 게시되었습니다.',
    'pt.support': '공감',
    'pt.supported': '감사합니다: 공감이 반영되었습니다.',
    'pt.supporters': '명 공감',
    'pt.answerDue': '답변 기한',
    'pt.overdue': '기한 초과',
    'pt.answered': '답변 완료',
  },
});

/** Personal entity types of the default privacy settings (CITYOS_PRIVACY_PERSONAL_TYPES). */
const CATEGORIES = ['Trip', 'Payment', 'HealthMeasurement', 'Person', 'Household', '*'];
const KEY = 'cityos.portal.token';
const TOPICS = ['mobility', 'environment', 'safety', 'health', 'education', 'culture', 'energy',
  'housing', 'governance', 'other'];
const state = { token: null, me: null, consents: [], audit: [], proposals: [] };

function say(text, kind = 'info') {
  const message = document.getElementById('pt-message');
  message.hidden = !text;
  message.textContent = text ?? '';
  message.dataset.kind = kind;
}

/** A privacy-API call with the citizen's token; RFC 7807 problems become errors. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}`, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(payload?.detail ?? `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return payload;
}

function when(iso) {
  if (!iso) return '–';
  return new Date(iso).toLocaleString(lang() === 'ko' ? 'ko-KR' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Asia/Seoul',
  });
}

function day(iso) {
  if (!iso) return '…';
  return new Date(iso).toLocaleDateString(lang() === 'ko' ? 'ko-KR' : 'en-GB', {
    dateStyle: 'medium',
    timeZone: 'Asia/Seoul',
  });
}

function header(...keys) {
  return el('thead', {}, el('tr', {}, ...keys.map((k) => el('th', { scope: 'col', text: k ? t(k) : '' }))));
}

function renderConsents() {
  const table = document.getElementById('pt-consent-table');
  if (!state.consents.length) {
    table.replaceChildren(el('caption', { text: t('pt.noConsents') }));
    return;
  }
  const rows = state.consents.map((c) => {
    const open = c.state === 'active' || c.state === 'pending';
    const action = el('td');
    if (open) {
      const button = el('button', { type: 'button', class: 'small-button', text: t('pt.withdraw') });
      button.addEventListener('click', () => withdraw(c.id));
      action.append(button);
    }
    return el(
      'tr',
      { 'data-consent': c.id, 'data-state': c.state },
      el('td', { text: c.purpose }),
      el('td', { text: c.recipient }),
      el('td', { text: c.categories.map((x) => (x === '*' ? t('cat.*') : x)).join(', ') }),
      el('td', { text: `${day(c.validFrom)} – ${day(c.validUntil)}` }),
      el('td', { text: t(`state.${c.state}`) }),
      action,
    );
  });
  table.replaceChildren(
    header('col.purpose', 'col.recipient', 'col.categories', 'col.period', 'col.state', null),
    el('tbody', {}, ...rows),
  );
}

function renderAudit() {
  const table = document.getElementById('pt-audit-table');
  if (!state.audit.length) {
    table.replaceChildren(el('caption', { text: t('pt.noAudit') }));
    return;
  }
  const rows = [...state.audit].reverse().map((e) =>
    el(
      'tr',
      { 'data-action': e.action, 'data-outcome': e.outcome },
      el('td', { text: when(e.at) }),
      el('td', { text: [e.actor, e.org].filter(Boolean).join(' · ') }),
      el('td', { text: e.action }),
      el('td', { text: e.purpose ?? '–' }),
      el('td', { text: e.outcome }),
    ),
  );
  table.replaceChildren(
    header('col.when', 'col.who', 'col.action', 'col.purpose', 'col.outcome'),
    el('tbody', {}, ...rows),
  );
}

function renderCategories() {
  const list = document.getElementById('pt-category-list');
  list.replaceChildren(
    ...CATEGORIES.map((name) => {
      const id = `pt-cat-${name === '*' ? 'all' : name}`;
      return el(
        'label',
        { class: 'check', for: id },
        el('input', { type: 'checkbox', id, name: 'categories', value: name }),
        name === '*' ? t('cat.*') : name,
      );
    }),
  );
}

function levelText(level) {
  if (level.answer) return `${level.who}: ${t('pt.answered')} — ${level.answer}`;
  const due = `${t('pt.answerDue')} ${day(new Date(level.dueAt * 1000).toISOString())}`;
  return `${level.who}: ${level.overdue ? t('pt.overdue') : due}`;
}

function renderProposals() {
  const list = document.getElementById('pt-proposal-list');
  if (!state.proposals.length) {
    list.replaceChildren(el('li', { class: 'form-hint', text: t('pt.noProposals') }));
    return;
  }
  list.replaceChildren(
    ...state.proposals.map((p) => {
      const button = el('button', { type: 'button', class: 'small-button', text: t('pt.support') });
      button.addEventListener('click', () => support(p.id));
      const reached = p.levels.filter((level) => level.reached);
      return el(
        'li',
        { class: 'proposal', 'data-proposal': p.id },
        el('h3', { class: 'proposal-title', text: p.title }),
        el('p', { class: 'proposal-body', text: p.body }),
        el(
          'p',
          { class: 'proposal-meta' },
          el('span', { class: 'proposal-count', text: `${p.supporters} ${t('pt.supporters')}` }),
          ` · ${p.category}`,
          ...reached.map((level) => el('span', { class: 'proposal-level', text: ` · ${levelText(level)}` })),
        ),
        button,
      );
    }),
  );
}

function renderTopics() {
  document.getElementById('pt-p-category').replaceChildren(
    ...TOPICS.map((topic) => el('option', { value: topic, text: topic })),
  );
}

function render() {
  const signedIn = Boolean(state.me);
  document.getElementById('pt-signin').hidden = signedIn;
  document.getElementById('pt-signout').hidden = !signedIn;
  for (const id of ['pt-consents', 'pt-audit', 'pt-proposals', 'pt-data']) {
    document.getElementById(id).hidden = !signedIn;
  }
  document.getElementById('pt-who').textContent = signedIn ? state.me.subject : '';
  if (!signedIn) return;
  renderConsents();
  renderAudit();
  renderProposals();
}

async function refresh() {
  [state.consents, state.audit, state.proposals] = await Promise.all([
    api('GET', '/privacy/v1/consents'),
    api('GET', '/privacy/v1/my/audit?limit=200'),
    api('GET', '/governance/v1/proposals?limit=50'),
  ]);
  render();
}

async function signIn(token) {
  state.token = token;
  try {
    const me = await api('GET', '/privacy/v1/me');
    if (!me.roles.includes('citizen')) {
      signOut();
      say(t('pt.notCitizen'), 'error');
      return;
    }
    state.me = me;
    sessionStorage.setItem(KEY, token);
    say('');
    await refresh();
  } catch (error) {
    signOut();
    say(`${t('pt.badToken')}: ${error.message}`, 'error');
  }
}

function signOut() {
  state.token = null;
  state.me = null;
  sessionStorage.removeItem(KEY);
  render();
}

async function withdraw(id) {
  try {
    await api('DELETE', `/privacy/v1/consents/${encodeURIComponent(id)}`);
    await refresh();
    say(t('pt.withdrawn'));
  } catch (error) {
    say(error.message, 'error');
  }
}

async function grant(form) {
  const data = new FormData(form);
  const body = {
    purpose: data.get('purpose'),
    recipient: data.get('recipient'),
    categories: data.getAll('categories'),
  };
  if (data.get('validUntil')) body.validUntil = `${data.get('validUntil')}T23:59:59+09:00`;
  try {
    await api('POST', '/privacy/v1/consents', body);
    form.reset();
    await refresh();
    say(t('pt.granted'));
  } catch (error) {
    say(error.message, 'error');
  }
}

async function propose(form) {
  const data = new FormData(form);
  try {
    await api('POST', '/governance/v1/proposals', {
      title: data.get('title'),
      body: data.get('body'),
      category: data.get('category'),
    });
    form.reset();
    await refresh();
    say(t('pt.proposed'));
  } catch (error) {
    say(error.message, 'error');
  }
}

async function support(id) {
  try {
    await api('POST', `/governance/v1/proposals/${encodeURIComponent(id)}/signatures`, {});
    await refresh();
    say(t('pt.supported'));
  } catch (error) {
    say(error.message, 'error');
  }
}

async function download() {
  try {
    const data = await api('GET', '/privacy/v1/my/data');
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
    const link = el('a', { href: URL.createObjectURL(blob), download: 'cityos-mydata.json' });
    document.body.append(link);
    link.click();
    link.remove();
    URL.revokeObjectURL(link.href);
    await refresh();
    say(t('pt.downloaded'));
  } catch (error) {
    say(error.message, 'error');
  }
}

async function erase(form) {
  const typed = form.querySelector('input').value.trim();
  if (typed !== 'erase') {
    say(t('pt.typeErase'), 'error');
    return;
  }
  try {
    await api('DELETE', '/privacy/v1/my/data?confirm=erase');
    form.reset();
    await refresh();
    say(t('pt.erased'));
  } catch (error) {
    say(error.message, 'error');
  }
}

async function main() {
  applyStrings();
  renderCategories();
  renderTopics();
  document.getElementById('lang-toggle').addEventListener('click', () => setLang(lang() === 'ko' ? 'en' : 'ko'));
  onLangChange(() => {
    renderCategories();
    render();
  });
  document.getElementById('pt-signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    signIn(event.target.token.value.trim());
  });
  document.getElementById('pt-signout').addEventListener('click', signOut);
  document.getElementById('pt-grant-form').addEventListener('submit', (event) => {
    event.preventDefault();
    grant(event.target);
  });
  document.getElementById('pt-propose-form').addEventListener('submit', (event) => {
    event.preventDefault();
    propose(event.target);
  });
  document.getElementById('pt-download').addEventListener('click', download);
  document.getElementById('pt-erase-form').addEventListener('submit', (event) => {
    event.preventDefault();
    erase(event.target);
  });
  const saved = sessionStorage.getItem(KEY);
  if (saved) await signIn(saved);
  else render();
  document.body.dataset.state = 'ready';
}

main();
