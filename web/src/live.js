// Live layers: follow the hub's SSE notifications of the map's subscription, or poll the hub for
// observations that change (air quality, parking occupancy) when there is no stream.

/**
 * Call `refresh()` every `intervalS` seconds while the page is visible; a refresh that is still
 * running is never overlapped. Returns a function that stops polling.
 */
export function poll(refresh, intervalS) {
  let timer = null;
  let running = false;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (!running && document.visibilityState === 'visible') {
      running = true;
      try {
        await refresh();
      } finally {
        running = false;
      }
    }
    if (!stopped) timer = window.setTimeout(tick, intervalS * 1000);
  };
  timer = window.setTimeout(tick, intervalS * 1000);
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

/**
 * Follow the hub's SSE stream of the map's subscription at `url`. Notifications are coalesced for
 * `settleMs` and `onTypes(types)` is called with the entity types they named. `onState(state)`
 * receives 'open' (connected, or reconnected: the caller resynchronises), 'retrying' (the browser
 * reconnects by itself) and 'closed' (given up: the caller falls back to polling).
 * Returns a function that closes the stream.
 */
export function stream(url, onTypes, onState, settleMs = 200) {
  const source = new EventSource(url);
  const pending = new Set();
  let timer = null;
  source.addEventListener('notification', (event) => {
    let note;
    try {
      note = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const entity of note.data ?? []) {
      for (const type of [].concat(entity.type ?? [])) pending.add(type);
    }
    if (timer === null) {
      timer = window.setTimeout(() => {
        timer = null;
        const types = [...pending];
        pending.clear();
        onTypes(types);
      }, settleMs);
    }
  });
  source.addEventListener('open', () => onState('open'));
  source.addEventListener('error', () => {
    onState(source.readyState === EventSource.CLOSED ? 'closed' : 'retrying');
  });
  return () => {
    source.close();
    window.clearTimeout(timer);
  };
}
