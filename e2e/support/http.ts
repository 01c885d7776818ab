/**
 * Requests through a Gateway's address, as curl would send them (`--header "Host: ..."`,
 * `--resolve` for TLS), the echo server's answer decoded, and Gateway API's eventual-consistency rule:
 * a flow passes only after several consecutive successes within a time limit (the conformance suite's
 * `RequiredConsecutiveSuccesses` within `MaxTimeToConsistency`).
 */
import { type ClientRequest, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http"
import { request as httpsRequest } from "node:https"
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from "node:tls"
import { isJson, type Json, sleep } from "./kube.ts"

export interface HttpResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The server's certificate, over TLS. */
  readonly certificate?: PeerCertificate
}

export interface RequestOptions {
  /** The Gateway's address (IP or name). */
  readonly address: string
  readonly port?: number
  /** The Host header (and, over TLS, the SNI). */
  readonly host: string
  readonly path?: string
  readonly method?: string
  readonly headers?: { readonly [name: string]: string }
  readonly timeoutMs?: number
}

export interface TlsRequestOptions extends RequestOptions {
  /** The CA that must have signed the server's certificate (PEM). */
  readonly ca: string
  /** The SNI; default `host`. */
  readonly servername?: string
}

const collect = (
  send: (onResponse: (response: IncomingMessage) => void) => ClientRequest,
  timeoutMs: number,
  what: string
): Promise<HttpResponse> =>
  new Promise((resolve, reject) => {
    const req = send((res) => {
      // Read while the connection is open (agent: false closes it after the response).
      const socket = res.socket as TLSSocket | null
      const certificate =
        socket !== null && typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("error", reject)
      res.on("end", () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          ...(certificate !== undefined ? { certificate } : {})
        })
      })
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${what}: no answer in ${timeoutMs} ms`)))
    req.on("error", (error) => reject(new Error(`${what}: ${error.message}`)))
    req.end()
  })

/** Plain HTTP to the address, with the given Host header. */
export const httpGet = (options: RequestOptions): Promise<HttpResponse> => {
  const port = options.port ?? 80
  const path = options.path ?? "/"
  const what = `${options.method ?? "GET"} http://${options.address}:${port}${path} (Host: ${options.host})`
  return collect(
    (onResponse) =>
      httpRequest(
        {
          host: options.address,
          port,
          path,
          method: options.method ?? "GET",
          agent: false,
          headers: { ...options.headers, host: options.host }
        },
        onResponse
      ),
    options.timeoutMs ?? 5_000,
    what
  )
}

/** HTTPS to the address with SNI `servername` (default `host`), verifying the server against `ca`. */
export const httpsGet = (options: TlsRequestOptions): Promise<HttpResponse> => {
  const port = options.port ?? 443
  const path = options.path ?? "/"
  const servername = options.servername ?? options.host
  const what = `GET https://${options.address}:${port}${path} (SNI ${servername})`
  return collect(
    (onResponse) =>
      httpsRequest(
        {
          host: options.address,
          port,
          path,
          method: options.method ?? "GET",
          agent: false,
          servername,
          ca: options.ca,
          // The certificate names the host, not the address we dial: check it against the SNI.
          checkServerIdentity: (_host, cert) => checkServerIdentity(servername, cert),
          headers: { ...options.headers, host: options.host }
        },
        onResponse
      ),
    options.timeoutMs ?? 5_000,
    what
  )
}

/** What the Gateway API echo server answers: the request it received and the pod that answered. */
export interface Echo {
  readonly path: string
  readonly host: string
  readonly method: string
  readonly headers: { readonly [name: string]: ReadonlyArray<string> }
  readonly namespace: string
  readonly pod: string
  readonly tls?: { readonly serverName?: string; readonly version?: string }
}

/** Decodes the echo server's JSON; throws with the body when it is something else. */
export const echoOf = (response: HttpResponse): Echo => {
  let parsed: unknown
  try {
    parsed = JSON.parse(response.body)
  } catch {
    throw new Error(`expected the echo server's JSON, got HTTP ${response.status}: ${response.body.slice(0, 300)}`)
  }
  if (!isJson(parsed) || typeof parsed.path !== "string" || typeof parsed.pod !== "string") {
    throw new Error(`not an echo server answer: ${response.body.slice(0, 300)}`)
  }
  const headers = isJson(parsed.headers) ? parsed.headers : {}
  return {
    path: parsed.path,
    host: String(parsed.host),
    method: String(parsed.method),
    headers: Object.fromEntries(
      Object.entries(headers).map(([name, values]) => [name, Array.isArray(values) ? values.map(String) : []])
    ),
    namespace: String(parsed.namespace),
    pod: parsed.pod,
    ...(isJson(parsed.tls) ? { tls: parsed.tls as Json as NonNullable<Echo["tls"]> } : {})
  }
}

/** Throws unless the response has the status. */
export const expectStatus = (response: HttpResponse, status: number): HttpResponse => {
  if (response.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${response.status}: ${response.body.slice(0, 300)}`)
  }
  return response
}

export interface ConsistencyOptions {
  /** Default 3 (the conformance suite's RequiredConsecutiveSuccesses). */
  readonly consecutive?: number
  /** Default 90 s (the conformance suite allows 30 s after status; a fresh fleet also starts its pods). */
  readonly withinMs?: number
  readonly intervalMs?: number
}

/**
 * Runs `check` until it succeeds `consecutive` times in a row (a failure resets the count), within
 * `withinMs`; returns the last result, or throws the last failure at the deadline.
 */
export const eventually = async <A>(
  what: string,
  check: () => Promise<A>,
  options: ConsistencyOptions = {}
): Promise<A> => {
  const consecutive = options.consecutive ?? 3
  const deadline = Date.now() + (options.withinMs ?? 90_000)
  let streak = 0
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      streak += 1
      if (streak >= consecutive) return value
    } catch (error) {
      streak = 0
      last = error
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? last.message : String(last)
      throw new Error(`${what}: not ${consecutive} consecutive successes in time; last failure: ${reason}`)
    }
    await sleep(options.intervalMs ?? 500)
  }
}
