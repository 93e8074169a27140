// Korean air-quality index bands (Ministry of Environment, AirKorea) for PM2.5 and PM10 [µg/m³].

/** Upper bounds of each band (inclusive) and their colours; the last band is open-ended. */
export const PM25_BANDS = [
  { key: 'good', max: 15, colour: '#3b82f6' },
  { key: 'moderate', max: 35, colour: '#22c55e' },
  { key: 'bad', max: 75, colour: '#f59e0b' },
  { key: 'veryBad', max: Infinity, colour: '#ef4444' },
];

export const PM10_BANDS = [
  { key: 'good', max: 30, colour: '#3b82f6' },
  { key: 'moderate', max: 80, colour: '#22c55e' },
  { key: 'bad', max: 150, colour: '#f59e0b' },
  { key: 'veryBad', max: Infinity, colour: '#ef4444' },
];

/** The band a concentration falls in, or null for a missing value. */
export function band(value, bands = PM25_BANDS) {
  if (typeof value !== 'number' || Number.isNaN(value)) return null;
  return bands.find((b) => value <= b.max) ?? bands[bands.length - 1];
}

/** A MapLibre `step` expression colouring features by a numeric property. */
export function stepExpression(property, bands = PM25_BANDS, missing = '#64748b') {
  const expr = ['step', ['to-number', ['get', property], -1], missing, 0, bands[0].colour];
  for (let i = 1; i < bands.length; i += 1) {
    // Concentrations are reported as integers: "16–35" starts just above the previous maximum.
    expr.push(bands[i - 1].max + 0.5, bands[i].colour);
  }
  return expr;
}
