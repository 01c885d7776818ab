/**
 * The translation pipeline as one pure function: raw Kubernetes objects in,
 * Gateway API objects with their computed status plus the IR per fleet out.
 * (Contract stub: the reconcilers are being written behind it.)
 */

/** A Kubernetes object as printed: the input object with `status` replaced by ours. */
export interface KubeObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string } & Record<string, unknown>
  readonly spec?: unknown
  readonly status?: unknown
  readonly [key: string]: unknown
}

/** An input object that could not be decoded (it violates the schema of its kind). */
export interface TranslateError {
  /** Position of the object in the input array. */
  readonly index: number
  readonly kind: string
  readonly namespace?: string
  readonly name?: string
  /** Field path, e.g. `spec.listeners[0].port`. */
  readonly path: string
  readonly message: string
}

export interface TranslateOptions {
  /** Our GatewayClass controllerName; default `gateway.envoyproxy.io/gatewayclass-controller`. */
  readonly controllerName?: string
}

export interface TranslateResult {
  /** Every Gateway API input object (GatewayClass, Gateway, routes, ListenerSet, BackendTLSPolicy, ReferenceGrant) with our status, sorted by kind, namespace, name. */
  readonly objects: ReadonlyArray<KubeObject>
  /** Objects that violate their kind's schema (excluded from translation). */
  readonly errors: ReadonlyArray<TranslateError>
  /** Kinds present in the input that Portico does not read (e.g. Deployment), as `apiVersion/kind`. */
  readonly ignored: ReadonlyArray<string>
  /** The IR per fleet. */
  readonly ir: unknown
}

export const DEFAULT_CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"

export const translateObjects = (objects: ReadonlyArray<unknown>, _options: TranslateOptions = {}): TranslateResult => ({
  objects: objects as ReadonlyArray<KubeObject>,
  errors: [],
  ignored: [],
  ir: {}
})
