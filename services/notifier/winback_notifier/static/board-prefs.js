// How this browser likes the board laid out: comfortable (every detail on each card) or
// compact (a case in two short lines, to see twice as many at once on a laptop screen). A
// choice of the person at this screen, not of the agent account, so it lives in localStorage.

export const DENSITIES = ["comfortable", "compact"];
export const DENSITY_KEY = "winback.density";

// The remembered density; comfortable when none was chosen or storage is unavailable.
export function readDensity(storage) {
  try {
    const stored = storage.getItem(DENSITY_KEY);
    return DENSITIES.includes(stored) ? stored : "comfortable";
  } catch (error) {
    return "comfortable"; // storage refused (privacy mode): the default, every time
  }
}

export function toggledDensity(density) {
  return density === "compact" ? "comfortable" : "compact";
}

export function saveDensity(storage, density) {
  try {
    storage.setItem(DENSITY_KEY, density);
  } catch (error) {
    // Not remembered; the board still switches for this visit.
  }
}
