// The public NGSI-LD API of the hub, as any third-party client would use it.

export const NGSI_LD = '/ngsi-ld/v1';
export const PAGE_SIZE = 1000;

/** An HTTP error from the hub, carrying the RFC 7807 problem details when there are any. */
export class HubError extends Error {
  constructor(status, url, problem) {
    super(`${status} from ${url}${problem?.detail ? `: ${problem.detail}` : ''}`);
    this.status = status;
    this.url = url;
    this.problem = problem;
  }
}

/** The HubError of a failed response, with its RFC 7807 problem details when there are any. */
export async function failure(response, url) {
  let problem = null;
  try {
    problem = await response.json();
  } catch {
    // Not JSON: the status alone explains it.
  }
  return new HubError(response.status, url, problem);
}

/** The query URL of one page of entities of `type` as GeoJSON with plain (keyValues) properties. */
export function pageUrl(type, offset = 0) {
  const params = new URLSearchParams({
    type,
    limit: String(PAGE_SIZE),
    offset: String(offset),
    options: 'keyValues',
    omit: 'location',
  });
  return `${NGSI_LD}/entities?${params}`;
}

/**
 * Every entity of `type` as a GeoJSON FeatureCollection, paging with limit/offset.
 * Features without geometry are dropped; each keeps its entity id in `properties.entityId`.
 */
export async function fetchFeatures(type, { signal } = {}) {
  const features = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const url = pageUrl(type, offset);
    const response = await fetch(url, { headers: { Accept: 'application/geo+json' }, signal });
    if (!response.ok) throw await failure(response, url);
    const page = await response.json();
    for (const feature of page.features) {
      if (!feature.geometry) continue;
      feature.properties = { ...feature.properties, entityId: feature.id };
      features.push(feature);
    }
    if (page.features.length < PAGE_SIZE) break;
  }
  return { type: 'FeatureCollection', features };
}

/** The URL of one entity (normalized representation). */
export function entityUrl(id) {
  // Colons may stay as they are in a path segment (RFC 3986 §3.3); everything else is escaped.
  return `${NGSI_LD}/entities/${encodeURIComponent(id).replace(/%3A/gi, ':')}`;
}

/** One entity, normalized, so the inspector can show units and observation times. */
export async function fetchEntity(id, { signal } = {}) {
  const url = entityUrl(id);
  const response = await fetch(url, { headers: { Accept: 'application/json' }, signal });
  if (!response.ok) throw await failure(response, url);
  return response.json();
}

/** JSON from a same-origin path, or null when the server answers with an error. */
export async function fetchJson(path, { signal } = {}) {
  const response = await fetch(path, {
    headers: { Accept: 'application/json, application/geo+json' },
    signal,
  });
  if (!response.ok) return null;
  return response.json();
}
