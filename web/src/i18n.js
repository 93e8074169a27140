// Korean / English strings for the main UI (MISSION §6.12: plain language, both languages).

const STRINGS = {
  en: {
    'app.title': 'CityOS Control Centre',
    'app.place': 'Sejong 5-1 Smart City',
    'app.map': '3-D map of the Sejong 5-1 living zone',
    'lang.switch': '한국어',
    'nav.scenarios': 'Mobility scenarios',
    'lang.switchLabel': 'Switch the interface to Korean',
    'status.connecting': 'Connecting',
    'status.live': 'Live',
    'status.offline': 'Hub unreachable',
    'status.updated': 'Updated',
    'status.entities': 'entities',
    'panel.layers': 'Layers',
    'panel.legend': 'Legend',
    'panel.overview': 'Overview',
    'layer.terrain': 'Terrain & contours',
    'layer.nature': 'Rivers & habitats',
    'layer.zones': 'Development zones & blocks',
    'layer.carfree': 'Car-restricted zone',
    'layer.roads': 'Road network',
    'layer.buildings': 'Buildings (3-D)',
    'layer.transit': 'BRT & shuttle stops',
    'layer.facilities': 'Facilities & devices',
    'layer.parking': 'Shared parking',
    'layer.air': 'Air quality (PM2.5)',
    'layer.labels': 'Place & road names',
    'legend.use': 'Building use',
    'legend.roads': 'Roads',
    'legend.air': 'PM2.5 [µg/m³], Korean index',
    'legend.points': 'Points',
    'use.residential': 'Residential',
    'use.office': 'Office',
    'use.commercial': 'Commercial',
    'use.school': 'School',
    'use.public': 'Public',
    'use.other': 'Other / mixed',
    'road.ring': 'Ring road',
    'road.brt': 'BRT axis',
    'road.nationalRoad': 'National road',
    'road.arterial': 'Arterial',
    'road.interior': 'Interior street',
    'road.pedestrian': 'Pedestrian street',
    'road.pm': 'PM lane',
    'road.footpath': 'Footpath',
    'aqi.good': 'Good',
    'aqi.moderate': 'Moderate',
    'aqi.bad': 'Unhealthy',
    'aqi.veryBad': 'Very unhealthy',
    'point.brt': 'BRT stop',
    'point.shuttle': 'Shuttle stop',
    'point.pmStation': 'PM station',
    'point.cctv': 'CCTV',
    'point.evCharger': 'EV charger',
    'point.parking': 'Parking',
    'point.device': 'Sensor device',
    'point.carfree': 'Car-restricted zone',
    'kpi.pm25': 'Mean PM2.5',
    'kpi.parking': 'Free parking',
    'kpi.buildings': 'Buildings',
    'kpi.households': 'Households',
    'inspector.title': 'Inspector',
    'inspector.hint': 'Select a building, stop or facility on the map to see its live attributes from the hub.',
    'inspector.close': 'Close inspector',
    'inspector.loading': 'Loading…',
    'inspector.error': 'Could not load this entity',
    'inspector.attribute': 'Attribute',
    'inspector.value': 'Value',
    'inspector.observed': 'Observed',
    'inspector.raw': 'NGSI-LD request',
    'terrain.unavailable': 'Terrain model not available',
  },
  ko: {
    'app.title': 'CityOS 통합관제센터',
    'app.place': '세종 5-1 스마트시티',
    'app.map': '세종 5-1 생활권 3차원 지도',
    'lang.switch': 'English',
    'nav.scenarios': '모빌리티 시나리오',
    'lang.switchLabel': '영어로 전환',
    'status.connecting': '연결 중',
    'status.live': '실시간',
    'status.offline': '허브 연결 끊김',
    'status.updated': '갱신',
    'status.entities': '개 엔티티',
    'panel.layers': '레이어',
    'panel.legend': '범례',
    'panel.overview': '현황',
    'layer.terrain': '지형·등고선',
    'layer.nature': '하천·서식지',
    'layer.zones': '개발구역·블록',
    'layer.carfree': '차량 제한 구역',
    'layer.roads': '도로망',
    'layer.buildings': '건물 (3D)',
    'layer.transit': 'BRT·셔틀 정류장',
    'layer.facilities': '시설·장치',
    'layer.parking': '공유 주차장',
    'layer.air': '대기질 (초미세먼지)',
    'layer.labels': '장소·도로 이름',
    'legend.use': '건물 용도',
    'legend.roads': '도로',
    'legend.air': '초미세먼지 PM2.5 [µg/m³]',
    'legend.points': '지점',
    'use.residential': '주거',
    'use.office': '업무',
    'use.commercial': '상업',
    'use.school': '학교',
    'use.public': '공공',
    'use.other': '기타·복합',
    'road.ring': '순환도로',
    'road.brt': 'BRT 축',
    'road.nationalRoad': '국도',
    'road.arterial': '간선도로',
    'road.interior': '내부 도로',
    'road.pedestrian': '보행자 도로',
    'road.pm': 'PM 전용로',
    'road.footpath': '보행로',
    'aqi.good': '좋음',
    'aqi.moderate': '보통',
    'aqi.bad': '나쁨',
    'aqi.veryBad': '매우나쁨',
    'point.brt': 'BRT 정류장',
    'point.shuttle': '셔틀 정류장',
    'point.pmStation': 'PM 스테이션',
    'point.cctv': 'CCTV',
    'point.evCharger': '전기차 충전기',
    'point.parking': '주차장',
    'point.device': '센서 장치',
    'point.carfree': '차량 제한 구역',
    'kpi.pm25': '평균 초미세먼지',
    'kpi.parking': '주차 가능면',
    'kpi.buildings': '건물',
    'kpi.households': '세대',
    'inspector.title': '상세 정보',
    'inspector.hint': '지도에서 건물, 정류장 또는 시설을 선택하면 허브의 실시간 속성을 보여 줍니다.',
    'inspector.close': '상세 정보 닫기',
    'inspector.loading': '불러오는 중…',
    'inspector.error': '엔티티를 불러오지 못했습니다',
    'inspector.attribute': '속성',
    'inspector.value': '값',
    'inspector.observed': '관측 시각',
    'inspector.raw': 'NGSI-LD 요청',
    'terrain.unavailable': '지형 모델 없음',
  },
};

/** Attribute names shown in the inspector, in both languages. */
const ATTRIBUTES = {
  en: {
    name: 'Name', category: 'Category', height: 'Height', floorsAboveGround: 'Floors',
    useMix: 'Use mix', households: 'Households', roofArea: 'Roof area', builtYear: 'Built',
    facility: 'Facility', roadClass: 'Road class', width: 'Width', totalLaneNumber: 'Lanes',
    maximumAllowedSpeed: 'Speed limit', stopKind: 'Stop kind', totalSpotNumber: 'Total spaces',
    availableSpotNumber: 'Free spaces', controlledProperty: 'Measures', pm25: 'PM2.5', pm10: 'PM10',
    no2: 'NO₂', location: 'Location', address: 'Address', dateObserved: 'Observed',
    rules: 'Rules', gates: 'Gates', allowedVehicleType: 'Vehicle types',
  },
  ko: {
    name: '이름', category: '분류', height: '높이', floorsAboveGround: '층수', useMix: '용도 비율',
    households: '세대수', roofArea: '지붕 면적', builtYear: '준공', facility: '시설',
    roadClass: '도로 등급', width: '폭', totalLaneNumber: '차로 수', maximumAllowedSpeed: '제한 속도',
    stopKind: '정류장 종류', totalSpotNumber: '전체 주차면', availableSpotNumber: '가능 주차면',
    controlledProperty: '측정 항목', pm25: '초미세먼지', pm10: '미세먼지', no2: '이산화질소',
    location: '위치', address: '주소', dateObserved: '관측 시각', rules: '규칙', gates: '출입구',
    allowedVehicleType: '허용 차종',
  },
};

const KEY = 'cityos.lang';
const listeners = new Set();
let current = initialLanguage();

function initialLanguage() {
  try {
    const saved = window.localStorage.getItem(KEY);
    if (saved === 'en' || saved === 'ko') return saved;
  } catch {
    // Storage may be unavailable (private mode); fall back to the browser language.
  }
  return (navigator.language || 'en').toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

/** The current language code, `en` or `ko`. */
export function lang() {
  return current;
}

/** The string for `key` in the current language (the key itself when unknown). */
export function t(key) {
  return STRINGS[current][key] ?? STRINGS.en[key] ?? key;
}

/** A readable name for an NGSI-LD attribute. */
export function attributeLabel(name) {
  const known = ATTRIBUTES[current][name] ?? ATTRIBUTES.en[name];
  if (known) return known;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Fill every `[data-i18n]` element (text) and `[data-i18n-label]` (aria-label) under `root`. */
export function applyStrings(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  }
  document.title = `${t(document.body?.dataset.titleKey ?? 'app.title')} · ${t('app.place')}`;
}

/** Add a page's own strings: `{ en: {key: text}, ko: {key: text} }`. */
export function addStrings(table) {
  for (const code of ['en', 'ko']) Object.assign(STRINGS[code], table[code] ?? {});
}

/** Switch language, store the choice and notify listeners. */
export function setLang(code) {
  current = code === 'ko' ? 'ko' : 'en';
  try {
    window.localStorage.setItem(KEY, current);
  } catch {
    // Not persisted; the choice still applies to this page.
  }
  applyStrings();
  for (const fn of listeners) fn(current);
}

/** Call `fn(lang)` after every language switch. */
export function onLangChange(fn) {
  listeners.add(fn);
}
