/** Kubernetes label selectors (matchLabels + matchExpressions). Pure. */

export interface LabelSelectorRequirement {
  readonly key: string
  readonly operator: string
  readonly values?: ReadonlyArray<string>
}

export interface LabelSelector {
  readonly matchLabels?: { readonly [key: string]: string }
  readonly matchExpressions?: ReadonlyArray<LabelSelectorRequirement>
}

/** True when `labels` satisfy every requirement; an empty selector matches everything. */
export const matchesSelector = (selector: LabelSelector, labels: { readonly [key: string]: string }): boolean => {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const req of selector.matchExpressions ?? []) {
    const value = labels[req.key]
    const values = req.values ?? []
    switch (req.operator) {
      case "In":
        if (value === undefined || !values.includes(value)) return false
        break
      case "NotIn":
        if (value !== undefined && values.includes(value)) return false
        break
      case "Exists":
        if (value === undefined) return false
        break
      case "DoesNotExist":
        if (value !== undefined) return false
        break
      default:
        return false
    }
  }
  return true
}
