/**
 * Tiny gRPC backends for the proxyless tests: a JSON-serialized service (no .proto files) with
 * unary methods on two services, `test.Echo/Hello`, `test.Echo/Bye` and `test.Other/Ping`, every
 * one answering with the backend's name. Each backend listens on 127.0.0.1 on a free port; the
 * scoped Effect shuts them down.
 */
import * as grpc from "@grpc/grpc-js"
import { Effect, type Scope } from "effect"

export interface Reply {
  readonly backend: string
  readonly method: string
}

const json = {
  requestSerialize: (value: unknown) => Buffer.from(JSON.stringify(value ?? {})),
  requestDeserialize: (bytes: Buffer): unknown => JSON.parse(bytes.toString() || "{}"),
  responseSerialize: (value: Reply) => Buffer.from(JSON.stringify(value)),
  responseDeserialize: (bytes: Buffer): Reply => JSON.parse(bytes.toString()) as Reply
}

const unary = (path: string): grpc.MethodDefinition<unknown, Reply> => ({
  path,
  requestStream: false,
  responseStream: false,
  ...json
})

/** The methods every backend serves, by short name. */
export const METHODS = {
  hello: "/test.Echo/Hello",
  bye: "/test.Echo/Bye",
  ping: "/test.Other/Ping"
} as const

export type MethodName = keyof typeof METHODS

/** One service definition holding every method (grpc-js routes by full path, not by service). */
export const testServiceDefinition: grpc.ServiceDefinition = Object.fromEntries(
  Object.entries(METHODS).map(([name, path]) => [name, unary(path)])
)

/** A generic client for the test methods (used with an `xds:///...` target). */
export const TestClient = grpc.makeGenericClientConstructor(testServiceDefinition, "TestService")

export interface Backend {
  readonly name: string
  readonly port: number
}

const startBackend = (name: string): Effect.Effect<{ backend: Backend; server: grpc.Server }, Error> =>
  Effect.callback<{ backend: Backend; server: grpc.Server }, Error>((resume) => {
    const server = new grpc.Server()
    const handler =
      (method: string): grpc.handleUnaryCall<unknown, Reply> =>
      (_call, callback) =>
        callback(null, { backend: name, method })
    server.addService(
      testServiceDefinition,
      Object.fromEntries(Object.entries(METHODS).map(([key, path]) => [key, handler(path)]))
    )
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error !== null) resume(Effect.fail(error))
      else resume(Effect.succeed({ backend: { name, port }, server }))
    })
  })

/** Starts one backend per name; they stop when the scope closes. */
export const grpcBackends = (names: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<Backend>, Error, Scope.Scope> =>
  Effect.forEach(names, (name) =>
    Effect.acquireRelease(startBackend(name), ({ server }) => Effect.sync(() => server.forceShutdown())).pipe(
      Effect.map(({ backend }) => backend)
    )
  )
