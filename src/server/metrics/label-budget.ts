/** The label value series fold into once a label's budget is used up. */
export const OTHER_LABEL = "other";

/** Bounds the values of one label (README "Metrics": label cardinality). */
export interface LabelBudget {
  /** `value` itself if it has (or now gets) a place, else {@link OTHER_LABEL}. */
  label(value: string): string;
}

/**
 * Gives the first `max` distinct values their own label, in the order they are first seen, for
 * the life of the process (a counter's labels must not change); later ones fold into `other`.
 */
export function createLabelBudget(max: number): LabelBudget {
  const admitted = new Set<string>();
  return {
    label(value) {
      if (admitted.has(value)) return value;
      if (admitted.size >= max) return OTHER_LABEL;
      admitted.add(value);
      return value;
    },
  };
}
