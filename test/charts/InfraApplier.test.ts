/**
 * InfraApplier over a fake KubeClient (`KubeClient.layerTest` backed by an in-memory object map
 * that behaves like server-side apply, label-selected lists and uid-preconditioned deletes), and
 * the pure LoadBalancer mapping. The same behaviour against a real API server is in
 * test/kube/infra-applier.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import {
  FleetApplyError,
  FleetPruneError,
  type FleetToApply,
  InfraApplier,
  type InfraApplierOptions,
  writtenByPortico
} from "../../src/charts/InfraApplier.ts"
import { missingService, programmedCondition, serviceAddresses } from "../../src/charts/LoadBalancer.ts"
import { containerPortFor, type FleetInfra } from "../../src/ir/Infra.ts"
import { KubeApiError, type KubeObject, kindId, type TypeRef } from "../../src/providers/kubernetes/KubeApi.ts"
import { KubeClient } from "../../src/providers/kubernetes/KubeClient.ts"
import { fleetNameOf } from "../../src/reconcilers/Gateway.ts"
import { type CapturedLog, captureLogs } from "../support/adsClient.ts"

const fleetOf = (namespace: string, name: string, ports: ReadonlyArray<number> = [80]): FleetInfra => ({
  name: fleetNameOf(namespace, name),
  gateway: { namespace, name, gatewayClassName: "eg" },
  ports: ports.map((port) => ({ name: `tcp-${port}`, protocol: "TCP", port, containerPort: containerPortFor(port) })),
  addresses: [],
  labels: {},
  annotations: {}
})
const toApply = (infra: FleetInfra, options?: FleetToApply["options"]): FleetToApply => ({
  infra,
  gatewayUid: `uid-${infra.gateway.namespace}-${infra.gateway.name}`,
  ...(options === undefined ? {} : { options })
})

const keyOf = (type: TypeRef, namespace: string | undefined, name: string) =>
  `${kindId(type)}/${namespace ?? ""}/${name}`
const notFound = (verb: string, type: TypeRef) =>
  new KubeApiError({ verb, status: 404, reason: "NotFound", detail: "not found", ...type })

/** An in-memory API server: enough of apply, list, get and delete for the applier. */
const makeFakeKube = () => {
  const objects = new Map<string, KubeObject>()
  const writes: Array<string> = []
  const deletes: Array<string> = []
  let version = 0
  const failApply = new Set<string>()
  const failList = new Set<string>()
  const matches = (object: KubeObject, selector: string | undefined): boolean => {
    const labels = (object.metadata.labels ?? {}) as { readonly [key: string]: string }
    return (selector ?? "")
      .split(",")
      .filter((term) => term !== "")
      .every((term) => {
        const [key = "", value] = term.split("=")
        return labels[key] === value
      })
  }
  const layer = KubeClient.layerTest({
    serverSideApply: (object) =>
      Effect.suspend(() => {
        const key = keyOf(object, object.metadata.namespace, object.metadata.name)
        if (failApply.has(key)) {
          return Effect.fail(
            new KubeApiError({
              verb: "apply",
              status: 422,
              reason: "Invalid",
              detail: "spec: Invalid value",
              ...object
            })
          )
        }
        const previous = objects.get(key)
        const stored: KubeObject = {
          ...object,
          ...(previous?.status === undefined ? {} : { status: previous.status }),
          metadata: {
            ...object.metadata,
            uid: previous?.metadata.uid ?? `uid-${++version}`,
            resourceVersion: String(++version),
            managedFields: [{ manager: "portico", operation: "Apply" }]
          }
        }
        objects.set(key, stored)
        writes.push(`${object.kind} ${object.metadata.name}`)
        return Effect.succeed(stored)
      }),
    list: (type, options = {}) =>
      Effect.suspend(() =>
        failList.has(type.kind)
          ? Effect.fail(new KubeApiError({ verb: "list", status: 403, reason: "Forbidden", detail: "no", ...type }))
          : Effect.succeed({
              items: [...objects.values()].filter(
                (o) => kindId(o) === kindId(type) && matches(o, options.labelSelector)
              ),
              resourceVersion: String(version)
            })
      ),
    get: (type, ref) =>
      Effect.suspend(() => {
        const object = objects.get(keyOf(type, ref.namespace, ref.name))
        return object === undefined ? Effect.fail(notFound("get", type)) : Effect.succeed(object)
      }),
    delete: (type, ref, options = {}) =>
      Effect.suspend(() => {
        const key = keyOf(type, ref.namespace, ref.name)
        const object = objects.get(key)
        if (object === undefined) return Effect.fail(notFound("delete", type))
        const uid = options.preconditions?.uid
        if (uid !== undefined && uid !== object.metadata.uid) {
          return Effect.fail(
            new KubeApiError({ verb: "delete", status: 409, reason: "Conflict", detail: "uid", ...type })
          )
        }
        objects.delete(key)
        deletes.push(`${type.kind} ${ref.name}`)
        return Effect.void
      })
  })
  return { objects, writes, deletes, failApply, failList, layer }
}
type FakeKube = ReturnType<typeof makeFakeKube>

const run = <A, E>(
  fake: FakeKube,
  body: Effect.Effect<A, E, InfraApplier>,
  options: InfraApplierOptions = {},
  logs: Array<CapturedLog> = []
): Effect.Effect<A, E> =>
  body.pipe(
    Effect.provide(InfraApplier.layer(options).pipe(Layer.provide(fake.layer), Layer.provideMerge(captureLogs(logs))))
  )

const apply = (fleets: ReadonlyArray<FleetToApply>) =>
  Effect.gen(function* () {
    return yield* (yield* InfraApplier).apply(fleets)
  })

const FOREIGN_LABELS = {
  "app.kubernetes.io/managed-by": "envoy-gateway",
  "app.kubernetes.io/component": "proxy"
}

describe("InfraApplier", () => {
  it.effect("applies every object in dependency order, then nothing while the fleet is unchanged", () => {
    const fake = makeFakeKube()
    const fleet = fleetOf("apps", "gw")
    return run(
      fake,
      Effect.gen(function* () {
        const first = yield* apply([toApply(fleet)])
        assert.deepStrictEqual(fake.writes, [
          `ServiceAccount ${fleet.name}`,
          `ConfigMap ${fleet.name}`,
          `Service ${fleet.name}`,
          `Deployment ${fleet.name}`
        ])
        assert.deepStrictEqual(first.failures, [])
        assert.strictEqual(first.applied.length, 4)
        assert.strictEqual(first.applied[0], `ServiceAccount apps/${fleet.name}`)
        const addresses = first.addresses.get("apps/gw")
        assert.isFalse(addresses?.assigned)

        const second = yield* apply([toApply(fleet)])
        assert.strictEqual(fake.writes.length, 4)
        assert.deepStrictEqual(second.applied, [])
        assert.strictEqual(second.unchanged, 4)
        assert.deepStrictEqual(second.pruned, [])
      })
    )
  })

  it.effect("writes only the objects that changed, and recreates one deleted behind its back", () => {
    const fake = makeFakeKube()
    return run(
      fake,
      Effect.gen(function* () {
        yield* apply([toApply(fleetOf("apps", "gw"))])
        fake.writes.length = 0
        const wider = fleetOf("apps", "gw", [80, 443])
        const report = yield* apply([toApply(wider)])
        assert.deepStrictEqual(fake.writes, [`Service ${wider.name}`, `Deployment ${wider.name}`])
        assert.strictEqual(report.unchanged, 2)

        fake.writes.length = 0
        fake.objects.delete(keyOf({ apiVersion: "v1", kind: "ConfigMap" }, "apps", wider.name))
        yield* apply([toApply(wider)])
        assert.deepStrictEqual(fake.writes, [`ConfigMap ${wider.name}`])

        fake.writes.length = 0
        yield* (yield* InfraApplier).resync
        yield* apply([toApply(wider)])
        assert.strictEqual(fake.writes.length, 4)
      })
    )
  })

  it.effect("prunes a removed fleet, a disabled HPA and PDB, and the Service of a fleet without ports", () => {
    const fake = makeFakeKube()
    const a = fleetOf("apps", "a")
    const b = fleetOf("apps", "b")
    const scaled = {
      autoscaling: { minReplicas: 1, maxReplicas: 3, cpuUtilization: 80 },
      podDisruptionBudget: { minAvailable: 1 }
    }
    return run(
      fake,
      Effect.gen(function* () {
        yield* apply([toApply(a, scaled), toApply(b)])
        assert.include(fake.writes, `HorizontalPodAutoscaler ${a.name}`)
        assert.include(fake.writes, `PodDisruptionBudget ${a.name}`)

        const report = yield* apply([toApply(a)])
        assert.sameMembers(
          [...report.pruned],
          [
            `HorizontalPodAutoscaler apps/${a.name}`,
            `PodDisruptionBudget apps/${a.name}`,
            `ServiceAccount apps/${b.name}`,
            `ConfigMap apps/${b.name}`,
            `Service apps/${b.name}`,
            `Deployment apps/${b.name}`
          ]
        )
        assert.deepStrictEqual(report.failures, [])

        const portless = fleetOf("apps", "a", [])
        const third = yield* apply([toApply(portless)])
        assert.deepStrictEqual(third.pruned, [`Service apps/${a.name}`])
        assert.isFalse(third.addresses.get("apps/a")?.assigned)
        assert.match(third.addresses.get("apps/a")?.message ?? "", /no ports/)
        assert.strictEqual(fake.objects.size, 3)
      })
    )
  })

  it.effect("never deletes objects it did not write, with or without our labels", () => {
    const fake = makeFakeKube()
    const foreign = (name: string, labels: object, managedFields: ReadonlyArray<object>): KubeObject => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: "apps", uid: name, labels, managedFields }
    })
    const deployment = { apiVersion: "apps/v1", kind: "Deployment" }
    fake.objects.set(keyOf(deployment, "apps", "unlabeled"), foreign("unlabeled", {}, [{ manager: "portico" }]))
    fake.objects.set(keyOf(deployment, "apps", "eg"), foreign("eg", FOREIGN_LABELS, [{ manager: "envoy-gateway" }]))
    return run(
      fake,
      Effect.gen(function* () {
        const report = yield* apply([])
        assert.deepStrictEqual(report.pruned, [])
        assert.deepStrictEqual(fake.deletes, [])
        assert.strictEqual(fake.objects.size, 2)
      })
    )
  })

  it.effect("reports a failed fleet, stops it at the failed object, applies the others, retries next round", () => {
    const fake = makeFakeKube()
    const bad = fleetOf("apps", "bad")
    const good = fleetOf("apps", "good")
    const badConfigMap = keyOf({ apiVersion: "v1", kind: "ConfigMap" }, "apps", bad.name)
    fake.failApply.add(badConfigMap)
    const logs: Array<CapturedLog> = []
    return run(
      fake,
      Effect.gen(function* () {
        const report = yield* apply([toApply(bad), toApply(good)])
        assert.strictEqual(report.failures.length, 1)
        const failure = report.failures[0]
        assert.instanceOf(failure, FleetApplyError)
        assert.include(failure, { fleet: bad.name, gateway: "apps/bad", object: `ConfigMap apps/${bad.name}` })
        assert.match(failure?.message ?? "", /Invalid value/)
        assert.notInclude(fake.writes, `Deployment ${bad.name}`)
        assert.include(fake.writes, `Deployment ${good.name}`)
        assert.deepStrictEqual(report.pruned, [])

        fake.failApply.clear()
        fake.writes.length = 0
        const retry = yield* apply([toApply(bad), toApply(good)])
        assert.deepStrictEqual(retry.failures, [])
        assert.deepStrictEqual(fake.writes, [`ConfigMap ${bad.name}`, `Service ${bad.name}`, `Deployment ${bad.name}`])
        assert.isTrue(logs.some((l) => l.message.includes(`ConfigMap apps/${bad.name}`)))
      }),
      {},
      logs
    )
  })

  it.effect("keeps the objects of a fleet whose chart fails, and prunes nothing of a kind it cannot list", () => {
    const fake = makeFakeKube()
    const fleet = fleetOf("apps", "gw")
    const other = fleetOf("apps", "other")
    return run(
      fake,
      Effect.gen(function* () {
        yield* apply([toApply(fleet), toApply(other)])
        const broken = yield* apply([toApply(fleet, { replicas: -1 }), toApply(other)])
        assert.strictEqual(broken.failures.length, 1)
        assert.include(broken.failures[0], { _tag: "FleetApplyError", object: "chart", fleet: fleet.name })
        assert.deepStrictEqual(broken.pruned, [])

        fake.failList.add("Deployment")
        const partial = yield* apply([toApply(fleet)])
        assert.instanceOf(partial.failures[0], FleetPruneError)
        assert.include(partial.failures[0], { verb: "list", object: "Deployment" })
        assert.notInclude(partial.pruned, `Deployment apps/${other.name}`)
        assert.include(partial.pruned, `Service apps/${other.name}`)
      })
    )
  })

  it.effect("puts fleets in the controller namespace without owner references in that layout", () => {
    const fake = makeFakeKube()
    const fleet = fleetOf("apps", "gw")
    return run(
      fake,
      Effect.gen(function* () {
        yield* apply([toApply(fleet)])
        const objects = [...fake.objects.values()]
        assert.strictEqual(objects.length, 4)
        for (const o of objects) {
          assert.strictEqual(o.metadata.namespace, "envoy-gateway-system")
          assert.isUndefined(o.metadata.ownerReferences)
        }
        const report = yield* apply([])
        assert.strictEqual(report.pruned.length, 4)
        assert.strictEqual(fake.objects.size, 0)
      }),
      { layout: "ControllerNamespace" }
    )
  })

  it.effect("reads addresses from the Service: listed, applied, or fetched", () => {
    const fake = makeFakeKube()
    const fleet = fleetOf("apps", "gw")
    const serviceKey = keyOf({ apiVersion: "v1", kind: "Service" }, "apps", fleet.name)
    return run(
      fake,
      Effect.gen(function* () {
        const applier = yield* InfraApplier
        const before = yield* applier.addresses(fleet)
        assert.deepStrictEqual(before, missingService("apps", fleet.name))
        yield* apply([toApply(fleet)])
        const service = fake.objects.get(serviceKey)
        assert.isDefined(service)
        if (service === undefined) return
        fake.objects.set(serviceKey, { ...service, status: { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } } })
        const report = yield* apply([toApply(fleet)])
        assert.strictEqual(fake.writes.length, 4)
        assert.deepStrictEqual(report.addresses.get("apps/gw")?.addresses, [
          { type: "IPAddress", value: "203.0.113.7" }
        ])
        const fetched = yield* applier.addresses(fleet)
        assert.isTrue(fetched.assigned)
      })
    )
  })
})

describe("serviceAddresses / programmedCondition", () => {
  const service = (spec: object, status?: object) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "envoy", namespace: "apps" },
    spec,
    ...(status === undefined ? {} : { status })
  })

  it("maps load balancer ingress to IPAddress and Hostname addresses", () => {
    const lb = serviceAddresses(
      service(
        { type: "LoadBalancer", clusterIP: "10.96.0.10" },
        { loadBalancer: { ingress: [{ ip: "192.0.2.1" }, { hostname: "lb.example.com" }, { ip: "192.0.2.1" }, {}] } }
      )
    )
    assert.deepStrictEqual(lb.addresses, [
      { type: "IPAddress", value: "192.0.2.1" },
      { type: "Hostname", value: "lb.example.com" }
    ])
    assert.isTrue(lb.assigned)
    assert.strictEqual(lb.service, "apps/envoy")
    const condition = programmedCondition(lb, 3)
    assert.include(condition, { type: "Programmed", status: "True", reason: "Programmed", observedGeneration: 3 })
  })

  it("is not assigned while the load balancer has not answered", () => {
    const pending = serviceAddresses(service({ type: "LoadBalancer", clusterIP: "10.96.0.10" }, { loadBalancer: {} }))
    assert.deepStrictEqual(pending.addresses, [])
    assert.isFalse(pending.assigned)
    const condition = programmedCondition(pending, 1)
    assert.include(condition, { type: "Programmed", status: "False", reason: "AddressNotAssigned" })
    assert.match(condition.message, /apps\/envoy has no load balancer address yet/)
  })

  it("uses the cluster IPs of ClusterIP and NodePort Services, never a headless None", () => {
    const clusterIp = serviceAddresses(
      service({ type: "ClusterIP", clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10", "fd00::a"] })
    )
    assert.deepStrictEqual(clusterIp.addresses, [
      { type: "IPAddress", value: "10.96.0.10" },
      { type: "IPAddress", value: "fd00::a" }
    ])
    assert.isTrue(serviceAddresses(service({ type: "NodePort", clusterIP: "10.96.0.11" })).assigned)
    assert.isFalse(serviceAddresses(service({ type: "ClusterIP", clusterIP: "None" })).assigned)
    assert.isFalse(serviceAddresses(service({ type: "ExternalName" })).assigned)
    assert.isFalse(serviceAddresses({ kind: "not a service" }).assigned)
  })

  it("tells which objects Portico wrote", () => {
    assert.isTrue(writtenByPortico({ metadata: { managedFields: [{ manager: "kubectl" }, { manager: "portico" }] } }))
    assert.isFalse(writtenByPortico({ metadata: { managedFields: [{ manager: "envoy-gateway" }] } }))
    assert.isFalse(writtenByPortico({ metadata: {} }))
  })
})
