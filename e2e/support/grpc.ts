/**
 * A gRPC client for the Gateway API echo server's gRPC mode (GRPC_ECHO_SERVER=1), service
 * `gateway_api_conformance.echo_basic.grpcecho.GrpcEcho`: `Echo` and `EchoTwo` take an empty
 * request and answer with what the server saw (method, authority, headers) and which pod answered.
 * The few response fields read here are decoded straight from the protobuf wire format.
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire"
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js"

export const GRPC_ECHO_SERVICE = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"

export interface GrpcEcho {
  /** e.g. /gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo */
  readonly method: string
  readonly authority: string
  readonly namespace: string
  readonly pod: string
}

/** Reads a message's fields: for each field number, the handler reads its value (else it is skipped). */
const readMessage = (bytes: Uint8Array, handlers: { readonly [field: number]: (reader: BinaryReader) => void }) => {
  const reader = new BinaryReader(bytes)
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag()
    const handler = handlers[field]
    if (handler !== undefined && wireType === WireType.LengthDelimited) handler(reader)
    else reader.skip(wireType, field)
  }
}

/** EchoResponse { Assertions assertions = 1 }; Assertions { fully_qualified_method = 1, authority = 3, Context context = 4 }; Context { namespace = 1, pod = 4 }. */
export const decodeEchoResponse = (bytes: Uint8Array): GrpcEcho => {
  const echo = { method: "", authority: "", namespace: "", pod: "" }
  readMessage(bytes, {
    1: (r) =>
      readMessage(r.bytes(), {
        1: (a) => {
          echo.method = a.string()
        },
        3: (a) => {
          echo.authority = a.string()
        },
        4: (a) =>
          readMessage(a.bytes(), {
            1: (c) => {
              echo.namespace = c.string()
            },
            4: (c) => {
              echo.pod = c.string()
            }
          })
      })
  })
  return echo
}

export interface GrpcCallOptions {
  readonly address: string
  readonly port?: number
  /** The :authority (the GRPCRoute's hostname). */
  readonly authority: string
  readonly method?: "Echo" | "EchoTwo" | "EchoThree"
  readonly timeoutMs?: number
}

/** One unary call over plaintext HTTP/2; rejects with the gRPC status (`code`, `details`). */
export const grpcEcho = (options: GrpcCallOptions): Promise<GrpcEcho> => {
  const target = `${options.address}:${options.port ?? 80}`
  const client = new Client(target, credentials.createInsecure(), { "grpc.default_authority": options.authority })
  const method = `/${GRPC_ECHO_SERVICE}/${options.method ?? "Echo"}`
  return new Promise<GrpcEcho>((resolve, reject) => {
    client.makeUnaryRequest(
      method,
      () => Buffer.alloc(0),
      (bytes: Buffer) => decodeEchoResponse(bytes),
      {},
      new Metadata(),
      { deadline: Date.now() + (options.timeoutMs ?? 5_000) },
      (error: ServiceError | null, value?: GrpcEcho) => {
        if (error !== null)
          reject(
            Object.assign(new Error(`${method} via ${target} (${options.authority}): ${error.message}`), {
              code: error.code
            })
          )
        else if (value === undefined) reject(new Error(`${method}: no response message`))
        else resolve(value)
      }
    )
  }).finally(() => client.close())
}
