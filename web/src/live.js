// Live layers: poll the hub for observations that change (air quality, parking occupancy).

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
