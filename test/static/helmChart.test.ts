/**
 * The Helm chart renderer (src/charts/HelmChart.ts) on its own, without helm: the files it writes,
 * determinism, and that only the documented fields are templated. test/static/manifests.test.ts runs
 * the real helm on its output.
 */
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { DEFAULT_VALUES, renderHelmChart } from "../../src/charts/HelmChart.ts"

const crd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: { group: "example.com", names: { plural: "widgets", kind: "Widget" }, scope: "Namespaced", versions: [] }
}

describe("renderHelmChart", () => {
  const files = renderHelmChart({ crds: [crd] })
  const file = (path: string): string => {
    const found = files.find((f) => f.path === path)
    if (found === undefined) throw new Error(`no ${path}`)
    return found.content
  }

  it("writes the chart's files, sorted, one template per install object, CRDs under crds/", () => {
    expect(files.map((f) => f.path)).toEqual([
      "Chart.yaml",
      "crds/widgets.example.com.yaml",
      "templates/NOTES.txt",
      "templates/clusterrole.yaml",
      "templates/clusterrolebinding.yaml",
      "templates/deployment.yaml",
      "templates/role.yaml",
      "templates/rolebinding.yaml",
      "templates/service.yaml",
      "templates/serviceaccount.yaml",
      "values.schema.json",
      "values.yaml"
    ])
    expect(parse(file("crds/widgets.example.com.yaml"))).toEqual(crd)
  })

  it("is deterministic", () => {
    expect(renderHelmChart({ crds: [crd] })).toEqual(files)
  })

  it("templates exactly the documented values and the release namespace", () => {
    const templates = files.filter((f) => f.path.startsWith("templates/") && f.path.endsWith(".yaml"))
    const expressions = new Set(templates.flatMap((f) => f.content.match(/\{\{-? [^}]+ -?\}\}/g) ?? []))
    expect([...expressions].sort()).toEqual(
      [
        "{{ .Release.Namespace | quote }}",
        "{{ .Values.controllerName | quote }}",
        "{{ .Values.image.pullPolicy | quote }}",
        "{{ .Values.image.repository }}",
        "{{ .Values.image.tag | default .Chart.AppVersion }}",
        "{{ .Values.replicas }}",
        "{{ .Values.xdsPort }}",
        "{{- end }}",
        "{{- if ne (int .Values.xdsPort) 18000 }}",
        "{{- toYaml .Values.resources | nindent 12 }}"
      ].sort()
    )
    expect(templates.map((f) => f.content).join("\n")).not.toMatch(/__PORTICO_CHART_|envoy-gateway-system/)
  })

  it("has values.yaml matching the schema's required keys and the install defaults", () => {
    const values = parse(file("values.yaml"))
    expect(values).toEqual(DEFAULT_VALUES)
    const schema = JSON.parse(file("values.schema.json")) as { required: Array<string> }
    expect(Object.keys(values).sort()).toEqual([...schema.required].sort())
    expect(parse(file("Chart.yaml"))).toMatchObject({ apiVersion: "v2", name: "portico", version: "0.1.0" })
  })

  it("refuses a CRD list holding something else", () => {
    expect(() => renderHelmChart({ crds: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }] })).toThrow(
      /crds\[0\] is not a CustomResourceDefinition/
    )
  })
})
