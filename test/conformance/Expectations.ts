/**
 * expectations.yaml (the Gateway API v1.6.1 conformance tests as data), decoded
 * with Effect Schema. The per-test part is decoded strictly (an unknown field
 * fails loudly, so a new kind of expectation cannot be silently ignored); from
 * `defaults` only what this suite uses is read.
 */
import { readFileSync } from "node:fs"
import { Schema } from "effect"
import { parse } from "yaml"
import { gatewayApiFile } from "../support/gatewayApiDir.ts"

const opt = Schema.optionalKey

export const ConditionExpectation = Schema.Struct({
  type: Schema.String,
  status: opt(Schema.String),
  reason: opt(Schema.String)
})
export type ConditionExpectation = typeof ConditionExpectation.Type

export const ObjectRef = Schema.Struct({ kind: Schema.String, namespace: opt(Schema.String), name: Schema.String })
export type ObjectRef = typeof ObjectRef.Type

export const ParentRefExpectation = Schema.Struct({
  group: opt(Schema.String),
  kind: opt(Schema.String),
  namespace: opt(Schema.String),
  name: Schema.String
})
export type ParentRefExpectation = typeof ParentRefExpectation.Type

export const ListenerExpectation = Schema.Struct({
  name: Schema.String,
  attachedRoutes: Schema.Number,
  supportedKinds: Schema.Array(Schema.Struct({ group: opt(Schema.String), kind: Schema.String })),
  conditions: Schema.Array(ConditionExpectation)
})
export type ListenerExpectation = typeof ListenerExpectation.Type

export const HELPERS = [
  "GatewayStatusMustHaveListeners",
  "ListenerSetStatusMustHaveListeners",
  "GatewayListenersMustHaveConditions",
  "GatewayListenerMustHaveConditions",
  "ListenerSetListenersMustHaveConditions",
  "RouteMustHaveParents",
  "RouteMustHaveNoAcceptedParents",
  "GatewayMustHaveZeroRoutes",
  "GatewayMustHaveLatestConditions",
  "GatewayClassMustHaveLatestConditions",
  "RouteMustHaveLatestConditions",
  "PolicyMustHaveLatestConditions",
  "NamespacesMustBeReady",
  "WaitForGatewayAddress"
] as const
export type Helper = (typeof HELPERS)[number]

export const StatusAddressesExpectation = Schema.Struct({
  count: Schema.Number,
  mustContain: Schema.String,
  mustNotContain: Schema.Array(Schema.String),
  typeOfUsableMustMatchSpec: Schema.Boolean,
  timeout: opt(Schema.String)
})
export type StatusAddressesExpectation = typeof StatusAddressesExpectation.Type

export const StatusExpectation = Schema.Struct({
  object: ObjectRef,
  afterMutation: opt(Schema.String),
  helper: opt(Schema.Literals(HELPERS)),
  parentRef: opt(ParentRefExpectation),
  ancestorRef: opt(ParentRefExpectation),
  namespaceRequired: opt(Schema.Boolean),
  conditions: opt(Schema.Array(ConditionExpectation)),
  listeners: opt(Schema.Array(ListenerExpectation)),
  listener: opt(Schema.String),
  listenerNames: opt(Schema.Array(Schema.String)),
  attachedListenerSets: opt(Schema.Number),
  specAddressesCount: opt(Schema.Number),
  statusAddresses: opt(StatusAddressesExpectation),
  metadataGenerationChanged: opt(Schema.Boolean),
  immediate: opt(Schema.Boolean),
  note: opt(Schema.String)
})
export type StatusExpectation = typeof StatusExpectation.Type

export const MUTATION_OPS = ["create", "delete", "patch", "merge-patch", "append-listener", "remove-listener"] as const

export const Mutation = Schema.Struct({
  id: Schema.String,
  op: Schema.Literals(MUTATION_OPS),
  /** An ObjectRef, or the full object for `create`. */
  object: opt(Schema.Unknown),
  objects: opt(Schema.Array(ObjectRef)),
  patch: opt(Schema.Unknown),
  listener: opt(Schema.Unknown),
  listenerName: opt(Schema.String),
  description: opt(Schema.String),
  delayBefore: opt(Schema.String)
})
export type Mutation = typeof Mutation.Type

export const RouteWait = Schema.Struct({
  kind: Schema.String,
  namespace: Schema.String,
  name: Schema.String,
  parent: opt(Schema.Struct({ kind: Schema.String, namespace: Schema.String, name: Schema.String })),
  sectionNames: opt(Schema.Array(Schema.String))
})
export type RouteWait = typeof RouteWait.Type

export const TestGateway = Schema.Struct({
  namespace: Schema.String,
  name: Schema.String,
  listeners: opt(Schema.Array(Schema.String)),
  usePort: opt(Schema.Boolean),
  waitAddressOnly: opt(Schema.Boolean)
})

export const ConformanceTest = Schema.Struct({
  name: Schema.String,
  features: Schema.Array(Schema.String),
  provisional: opt(Schema.Boolean),
  parallel: opt(Schema.Boolean),
  manifests: Schema.Array(Schema.String),
  waitNamespacesReady: opt(Schema.Array(Schema.String)),
  skipIfSupported: opt(Schema.Array(Schema.String)),
  skipUnlessSupported: opt(Schema.Array(Schema.String)),
  gateway: Schema.NullOr(TestGateway),
  routes: Schema.Array(RouteWait),
  mutations: opt(Schema.Array(Mutation)),
  statuses: opt(Schema.Array(StatusExpectation)),
  /** Data-plane expectations: counted, not checked here. */
  requests: opt(Schema.NullOr(Schema.Array(Schema.Unknown))),
  weights: opt(Schema.Unknown),
  mirrorDistribution: opt(Schema.Unknown),
  infrastructure: opt(Schema.Unknown),
  notes: opt(Schema.String)
})
export type ConformanceTest = typeof ConformanceTest.Type

export const ProgrammaticResource = Schema.Struct({
  kind: Schema.Literals(["Secret", "ConfigMap"]),
  namespace: Schema.String,
  name: Schema.String,
  content: Schema.String
})
export type ProgrammaticResource = typeof ProgrammaticResource.Type

const Defaults = Schema.Struct({
  namespaces: Schema.Struct({ infra: Schema.String, appBackend: Schema.String, webBackend: Schema.String }),
  setup: Schema.Struct({
    baseManifests: Schema.String,
    programmaticResources: Schema.Array(ProgrammaticResource)
  })
})

const Header = Schema.Struct({
  source: Schema.Struct({ tag: Schema.String }),
  counts: Schema.Struct({
    tests: Schema.Number,
    statusExpectations: Schema.Number,
    requestExpectations: Schema.Number
  }),
  defaults: Defaults
})

const Tests = Schema.Array(ConformanceTest)

export interface Expectations {
  readonly tag: string
  readonly counts: typeof Header.Type.counts
  readonly namespaces: typeof Defaults.Type.namespaces
  /** The base manifests file, relative to conformance/. */
  readonly baseManifests: string
  readonly programmaticResources: ReadonlyArray<ProgrammaticResource>
  readonly tests: ReadonlyArray<ConformanceTest>
}

/** Decodes the text of expectations.yaml. */
export const decodeExpectations = (text: string): Expectations => {
  const raw: unknown = parse(text)
  const header = Schema.decodeUnknownSync(Header)(raw, { errors: "all" })
  const rawTests = typeof raw === "object" && raw !== null && "tests" in raw ? raw.tests : undefined
  const tests = Schema.decodeUnknownSync(Tests)(rawTests, { errors: "all", onExcessProperty: "error" })
  const base = header.defaults.setup.baseManifests.split(" ")[0] ?? ""
  if (tests.length !== header.counts.tests) {
    throw new Error(`expectations.yaml: counts.tests is ${header.counts.tests} but ${tests.length} tests are listed`)
  }
  return {
    tag: header.source.tag,
    counts: header.counts,
    namespaces: header.defaults.namespaces,
    baseManifests: base,
    programmaticResources: header.defaults.setup.programmaticResources,
    tests
  }
}

let loaded: Expectations | undefined

/** expectations.yaml from GATEWAY_API_DIR, read and decoded once per process. */
export const loadExpectations = (): Expectations => {
  if (loaded === undefined) loaded = decodeExpectations(readFileSync(gatewayApiFile("expectations.yaml"), "utf8"))
  return loaded
}

/** The test named `name`; throws listing nothing more than the miss. */
export const findTest = (name: string): ConformanceTest => {
  const test = loadExpectations().tests.find((t) => t.name === name)
  if (test === undefined) throw new Error(`no conformance test named ${name} in expectations.yaml`)
  return test
}
