// Colours shared by the map style and the legend, chosen for a dark control-centre theme.

/** Building fill colours by dominant use (the building's primary category). */
export const USE_COLOURS = {
  residential: '#e9a93a',
  office: '#4f8ff7',
  commercial: '#d96bcf',
  school: '#43c184',
  public: '#2fc4d3',
  other: '#8e98aa',
};

/** Order in which uses appear in the legend. */
export const USES = ['residential', 'office', 'commercial', 'school', 'public', 'other'];

/** Road colours and default widths [m] by `roadClass`. */
export const ROAD_STYLE = {
  ring: { colour: '#22d3ee', width: 22 },
  brt: { colour: '#f43f5e', width: 18 },
  nationalRoad: { colour: '#f59e0b', width: 20 },
  arterial: { colour: '#93a4bd', width: 16 },
  interior: { colour: '#64748b', width: 8 },
  pedestrian: { colour: '#e2e8f0', width: 6 },
  pm: { colour: '#a78bfa', width: 3 },
  footpath: { colour: '#94a3b8', width: 2 },
};

/** Road classes in legend order. */
export const ROAD_CLASSES = ['ring', 'brt', 'nationalRoad', 'arterial', 'interior', 'pedestrian', 'pm', 'footpath'];

/** Point-feature colours. */
export const POINT_COLOURS = {
  brt: '#f43f5e',
  shuttle: '#22d3ee',
  pmStation: '#a78bfa',
  cctv: '#94a3b8',
  evCharger: '#84cc16',
  parking: '#3b82f6',
  device: '#cbd5e1',
  facility: '#2fc4d3',
};

export const CAR_FREE_COLOUR = '#fb923c';
export const ACCENT = '#38bdf8';
export const SELECTION = '#fde047';
export const BACKGROUND = '#070b14';
export const RIVER = '#155e8a';
export const HABITAT = '#1d5c3a';
