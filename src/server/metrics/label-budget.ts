/**
 * The label value series fold into once a label's budget is used up: empty, which no topic or
 * subscription name can be (names are 1 to 255 bytes), so a topic named `other` never merges
 * with the folded series. Prometheus treats an empty label as a missing one: `{topic=""}` selects
 * the folded series.
 */
export const FOLDED_LABEL = "";

/** Bounds the values of one label (README "Metrics": label cardinality). */
export interface LabelBudget {
  /** `value` itself if it has (or now gets) a place, else {@link FOLDED_LABEL}. */
  label(value: string): string;
}

/**
 * Gives the first `max` distinct values their own label, in the order they are first seen, for
 * the life of the process (a counter's labels must not change); later ones fold into {@link FOLDED_LABEL}.
 */
export function createLabelBudget(max: number): LabelBudget {
  const admitted = new Set<string>();
  return {
    label(value) {
      if (admitted.has(value)) return value;
      if (admitted.size >= max) return FOLDED_LABEL;
      admitted.add(value);
      return value;
    },
  };
}
