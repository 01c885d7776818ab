/**
 * A real Kubernetes API server for integration tests: kube-apiserver + etcd on 127.0.0.1 (the
 * "envtest" approach), with the Gateway API CRDs and Portico's own CRDs installed.
 *
 * The binaries come from `scripts/envtest.sh`: `KUBEBUILDER_ASSETS` when it holds them, otherwise a
 * build from the published Go modules cached in `${XDG_CACHE_HOME:-~/.cache}/portico/envtest/` (the
 * first build takes minutes; `make envtest` does it ahead of the tests).
 *
 * What the server is:
 * - etcd and kube-apiserver on free ports of 127.0.0.1, data and logs in one temporary directory that
 *   `stop()` removes (set `PORTICO_ENVTEST_KEEP=1`, or `keepWorkDir`, to keep it for a post-mortem;
 *   startup failures quote the tail of the logs).
 * - HTTPS with a serving certificate for localhost/127.0.0.1 signed by a test CA, which also signs the
 *   client certificates: the admin (`kubeConfig`) is user `portico-envtest-admin` in group
 *   `system:masters`; `makeUserKubeConfig` makes other users from a certificate or a bearer token.
 * - `--authorization-mode=RBAC`, so every non-admin identity gets exactly what its (Cluster)Role
 *   bindings grant; ServiceAccount tokens are signed by the server (TokenRequest) and verifiable with
 *   TokenReview.
 * - The Gateway API CRDs of `GATEWAY_API_DIR` (one channel, experimental by default: it is the
 *   superset, with ListenerSet, TLSRoute, TCPRoute, UDPRoute, BackendTLSPolicy and the x-k8s.io kinds)
 *   plus every CRD under `<repo>/crds/`, all Established and discoverable before `startEnvTest`
 *   resolves. Other objects in those files (the Gateway API safe-upgrades ValidatingAdmissionPolicy)
 *   are not installed.
 *
 * What the server is NOT, since no kube-controller-manager, scheduler or kubelet runs:
 * - Only the namespaces the API server makes itself exist (default, kube-system, kube-public,
 *   kube-node-lease); create others (`namespaces` option or `ensureNamespace`). Deleting a namespace
 *   leaves it Terminating forever: nothing deletes its content or finalizes it.
 * - No token controller: ServiceAccounts get no Secret tokens; request tokens with TokenRequest
 *   (`serviceAccountToken`).
 * - No garbage collection: owner references are stored but deleting an owner deletes nothing else.
 * - No Pods run, Deployments never become available, Services get no EndpointSlices, and
 *   LoadBalancer Services get no addresses; write those statuses yourself when a test needs them.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { generateKeyPairSync, webcrypto } from "node:crypto"
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { request as httpsRequest } from "node:https"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Writable } from "node:stream"
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import type * as X509 from "@peculiar/x509"
import { stringify } from "yaml"
import { certificateAuthority, signedCertificate } from "../certs.ts"
import { gatewayApiDir, repoRoot } from "../gatewayApiDir.ts"
import { isJsonObject, type JsonObject, readManifests } from "../manifests.ts"

// @peculiar/x509 loads tsyringe, which needs the reflect-metadata polyfill first.
import "reflect-metadata"

export type GatewayApiChannel = "standard" | "experimental"

export interface EnvTestOptions {
  /** Which Gateway API CRDs to install (`crds-<channel>/` of GATEWAY_API_DIR); default experimental. */
  readonly gatewayApiChannel?: GatewayApiChannel
  /** Install the Gateway API CRDs and `<repo>/crds/`; default true. */
  readonly installCrds?: boolean
  /** More directories whose CRD YAML files to install. */
  readonly extraCrdDirs?: ReadonlyArray<string>
  /** Namespaces to create once the server is ready. */
  readonly namespaces?: ReadonlyArray<string>
  /** How long etcd + kube-apiserver may take to become ready; default 90 s (the build is not counted). */
  readonly startTimeoutMs?: number
  /** Keep the temporary directory (data, certificates, logs) after `stop()`; default `PORTICO_ENVTEST_KEEP=1`. */
  readonly keepWorkDir?: boolean
}

/** Who a kubeconfig authenticates as: a bearer token, or a client certificate for `user` in `groups`. */
export type EnvTestUser =
  | { readonly token: string; readonly name?: string }
  | { readonly user: string; readonly groups?: ReadonlyArray<string> }

export interface ServiceAccountTokenOptions {
  /** Token lifetime; default 3600 s (the API server's minimum is 600 s). */
  readonly expirationSeconds?: number
  /** Audiences; default the API server's own. */
  readonly audiences?: ReadonlyArray<string>
}

export interface EnvTest {
  /** https://127.0.0.1:<port> */
  readonly server: string
  /** The CA that signs the serving certificate and the client certificates (PEM). */
  readonly caPem: string
  /** A kubeconfig file for the admin (system:masters), e.g. for `--kubeconfig` of a subprocess. */
  readonly kubeconfigPath: string
  /** The admin's KubeConfig (client certificate in group system:masters). */
  readonly kubeConfig: KubeConfig
  /** The directory of the binaries and the temporary directory of this server. */
  readonly assetsDir: string
  readonly workDir: string
  /** The log files of the two processes. */
  readonly logs: { readonly etcd: string; readonly apiserver: string }
  /** Names of the installed CRDs (`<plural>.<group>`), sorted. */
  readonly crds: ReadonlyArray<string>
  /** A KubeConfig for another identity (RBAC applies to it). */
  makeUserKubeConfig(user: EnvTestUser): Promise<KubeConfig>
  /** Writes a KubeConfig as a kubeconfig file in the work directory; returns its path. */
  writeKubeConfig(kubeConfig: KubeConfig, fileName: string): Promise<string>
  /** Creates the namespace unless it exists. */
  ensureNamespace(name: string): Promise<void>
  /**
   * A token for ServiceAccount `namespace/name` from the TokenRequest API, creating the namespace and
   * the ServiceAccount when missing. It authenticates as `system:serviceaccount:<namespace>:<name>`.
   */
  serviceAccountToken(namespace: string, name: string, options?: ServiceAccountTokenOptions): Promise<string>
  /** Stops kube-apiserver and etcd and removes the temporary directory; idempotent. */
  stop(): Promise<void>
}

const ADMIN_USER = "portico-envtest-admin"
const CA_LABEL = "envtest kube-apiserver"
const SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
const DEFAULT_START_TIMEOUT_MS = 90_000
const STOP_GRACE_MS = 10_000

// ---------------------------------------------------------------------------------------------------
// Cleanup of servers left running when the process ends without stop()

interface Running {
  readonly processes: Array<ChildProcess>
  readonly workDir: string
  readonly keep: boolean
}

const running = new Set<Running>()
let exitHookInstalled = false

const killNow = (child: ChildProcess): void => {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      child.kill("SIGKILL")
    } catch {
      // already gone
    }
  }
}

/** On exit (normal end or crash) kill what is left; the watchdog covers deaths that skip this. */
const installExitHook = (): void => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const r of running) {
      r.processes.forEach(killNow)
      if (!r.keep) rmSync(r.workDir, { recursive: true, force: true })
    }
    running.clear()
  })
}

/**
 * A shell that reads process ids on its stdin and, at EOF (this process gone, however it died, since
 * the kernel closes the pipe), kills them and removes the work directory. Does not keep node alive.
 */
const spawnWatchdog = (workDir: string, keep: boolean): ChildProcess => {
  const script = [
    'pids=""',
    'while read -r pid; do pids="$pids $pid"; done',
    '[ -n "$pids" ] && kill -KILL $pids 2>/dev/null',
    keep ? "true" : 'rm -rf "$1"'
  ].join("\n")
  const watchdog = spawn("sh", ["-c", script, "portico-envtest-watchdog", workDir], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true
  })
  watchdog.unref()
  const stdin = watchdog.stdin as (Writable & { unref?: () => void }) | null
  stdin?.unref?.()
  stdin?.on("error", () => undefined)
  return watchdog
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))))
    })
  })

const tail = (file: string, lines = 40): string => {
  if (!existsSync(file)) return "(no log)"
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
}

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64")

/** Runs scripts/envtest.sh, its progress on our stderr; resolves to the directory of the binaries. */
const resolveAssets = (): Promise<string> =>
  new Promise((resolve, reject) => {
    const script = join(repoRoot, "scripts", "envtest.sh")
    const child = spawn("bash", [script], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
      process.stderr.write(chunk)
    })
    child.once("error", reject)
    child.once("close", (code) => {
      const dir = stdout.trim().split("\n").pop() ?? ""
      if (code === 0 && dir !== "") resolve(dir)
      else reject(new Error(`scripts/envtest.sh failed (exit ${code}):\n${stderr.slice(-4000)}`))
    })
  })

// ---------------------------------------------------------------------------------------------------
// Raw HTTPS to the API server (readiness, CRD installation), with the admin's client certificate

interface Credentials {
  readonly caPem: string
  readonly certPem: string
  readonly keyPem: string
}

interface RawResponse {
  readonly status: number
  readonly body: string
}

const rawRequest = (
  server: string,
  credentials: Credentials,
  method: string,
  path: string,
  body?: unknown
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = httpsRequest(
      new URL(path, server),
      {
        method,
        ca: credentials.caPem,
        cert: credentials.certPem,
        key: credentials.keyPem,
        headers: {
          accept: "application/json",
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
        },
        timeout: 10_000
      },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          text += chunk
        })
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
        res.on("error", reject)
      }
    )
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)))
    req.on("error", reject)
    req.end(payload)
  })

// ---------------------------------------------------------------------------------------------------
// Certificates

let x509Loaded: Promise<typeof X509> | undefined
const x509Library = (): Promise<typeof X509> => {
  if (x509Loaded === undefined) {
    x509Loaded = import("@peculiar/x509").then((x509) => {
      x509.cryptoProvider.set(webcrypto)
      return x509
    })
  }
  return x509Loaded
}

const privateKeyPem = async (key: webcrypto.CryptoKey): Promise<string> => {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key)).toString("base64")
  return `-----BEGIN PRIVATE KEY-----\n${der.replace(/(.{64})/g, "$1\n").trimEnd()}\n-----END PRIVATE KEY-----\n`
}

/** Escapes a value for an RFC 4514 distinguished name. */
const dnValue = (value: string): string => value.replace(/([,+"\\<>;=])/g, "\\$1")

const clientCertificates = new Map<string, Promise<Credentials>>()

/** A client certificate for `user` (CN) in `groups` (O), signed by the envtest CA; memoized per process. */
const clientCertificate = (user: string, groups: ReadonlyArray<string>): Promise<Credentials> => {
  const key = `${user}|${groups.join(",")}`
  const hit = clientCertificates.get(key)
  if (hit !== undefined) return hit
  const made = (async (): Promise<Credentials> => {
    const x509 = await x509Library()
    const ca = await certificateAuthority(CA_LABEL)
    const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])
    const now = Date.now()
    const cert = await x509.X509CertificateGenerator.create({
      subject: [`CN=${dnValue(user)}`, ...groups.map((g) => `O=${dnValue(g)}`)].join(","),
      issuer: ca.subject,
      notBefore: new Date(now - 3_600_000),
      notAfter: new Date(now + 365 * 24 * 3_600_000),
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey)
      ]
    })
    return { caPem: ca.certPem, certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) }
  })()
  clientCertificates.set(key, made)
  return made
}

// ---------------------------------------------------------------------------------------------------
// KubeConfig

const kubeConfigFor = (
  server: string,
  caPem: string,
  userName: string,
  auth: { readonly token: string } | { readonly certPem: string; readonly keyPem: string }
): KubeConfig => {
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromOptions({
    clusters: [{ name: "envtest", server, caData: base64(caPem), skipTLSVerify: false }],
    users: [
      "token" in auth
        ? { name: userName, token: auth.token }
        : { name: userName, certData: base64(auth.certPem), keyData: base64(auth.keyPem) }
    ],
    contexts: [{ name: `${userName}@envtest`, cluster: "envtest", user: userName }],
    currentContext: `${userName}@envtest`
  })
  return kubeConfig
}

const kubeConfigYaml = (kubeConfig: KubeConfig): string => stringify(JSON.parse(kubeConfig.exportConfig()))

// ---------------------------------------------------------------------------------------------------
// CRDs

/** Every CustomResourceDefinition in the *.yaml / *.yml files of `dir` (not recursive), by file name. */
const crdsIn = (dir: string): Array<JsonObject> =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .flatMap((f) => readManifests(join(dir, f)))
    .filter((doc) => doc.apiVersion === "apiextensions.k8s.io/v1" && doc.kind === "CustomResourceDefinition")

const crdName = (crd: JsonObject): string => {
  const metadata = crd.metadata
  const name = isJsonObject(metadata) ? metadata.name : undefined
  if (typeof name !== "string") throw new Error("CustomResourceDefinition without metadata.name")
  return name
}

const crdsToInstall = (options: EnvTestOptions): Array<JsonObject> => {
  if (options.installCrds === false) return []
  const channel = options.gatewayApiChannel ?? "experimental"
  const gatewayDir = join(gatewayApiDir(), `crds-${channel}`)
  if (!existsSync(gatewayDir)) throw new Error(`Gateway API CRDs not found: ${gatewayDir} (GATEWAY_API_DIR)`)
  const dirs = [gatewayDir, join(repoRoot, "crds"), ...(options.extraCrdDirs ?? [])]
  const byName = new Map<string, JsonObject>()
  for (const dir of dirs) {
    if (!existsSync(dir)) continue
    for (const crd of crdsIn(dir)) byName.set(crdName(crd), crd)
  }
  return [...byName.values()]
}

const conditionTrue = (object: unknown, type: string): boolean => {
  if (!isJsonObject(object) || !isJsonObject(object.status)) return false
  const conditions = object.status.conditions
  return Array.isArray(conditions) && conditions.some((c) => isJsonObject(c) && c.type === type && c.status === "True")
}

/** Creates the CRDs, then waits until each is Established and every served version is discoverable. */
const installCrds = async (
  server: string,
  credentials: Credentials,
  crds: ReadonlyArray<JsonObject>,
  deadline: number
): Promise<void> => {
  for (const crd of crds) {
    const res = await rawRequest(
      server,
      credentials,
      "POST",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      crd
    )
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`creating CRD ${crdName(crd)}: HTTP ${res.status}: ${res.body.slice(0, 2000)}`)
    }
  }
  const pending = new Set(crds.map(crdName))
  while (pending.size > 0) {
    for (const name of [...pending]) {
      const res = await rawRequest(
        server,
        credentials,
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`
      )
      if (res.status === 200 && conditionTrue(JSON.parse(res.body), "Established")) pending.delete(name)
    }
    if (pending.size === 0) break
    if (Date.now() > deadline) throw new Error(`CRDs not Established in time: ${[...pending].join(", ")}`)
    await sleep(100)
  }
  // Established means served; discovery (which clients and RESTMappers use) follows shortly after.
  const wanted = new Map<string, Set<string>>()
  for (const crd of crds) {
    const spec = isJsonObject(crd.spec) ? crd.spec : {}
    const plural = isJsonObject(spec.names) ? spec.names.plural : undefined
    const versions = Array.isArray(spec.versions) ? spec.versions : []
    for (const v of versions) {
      if (!isJsonObject(v) || v.served !== true || typeof v.name !== "string" || typeof plural !== "string") continue
      const groupVersion = `/apis/${String(spec.group)}/${v.name}`
      const set = wanted.get(groupVersion) ?? new Set<string>()
      set.add(plural)
      wanted.set(groupVersion, set)
    }
  }
  for (const [path, plurals] of wanted) {
    for (;;) {
      const res = await rawRequest(server, credentials, "GET", path)
      if (res.status === 200) {
        const list: unknown = JSON.parse(res.body)
        const resources = isJsonObject(list) && Array.isArray(list.resources) ? list.resources : []
        const names = new Set(resources.map((r) => (isJsonObject(r) ? r.name : undefined)))
        if ([...plurals].every((p) => names.has(p))) break
      }
      if (Date.now() > deadline) throw new Error(`CRDs not discoverable in time at ${path}`)
      await sleep(100)
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Processes

const startProcess = (binary: string, args: ReadonlyArray<string>, logFile: string): ChildProcess => {
  const fd = openSync(logFile, "a")
  try {
    return spawn(binary, args, { stdio: ["ignore", fd, fd] })
  } finally {
    closeSync(fd)
  }
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null

const waitForExit = (child: ChildProcess, ms: number): Promise<boolean> =>
  exited(child)
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms)
        child.once("exit", () => {
          clearTimeout(timer)
          resolve(true)
        })
      })

const stopProcess = async (child: ChildProcess): Promise<void> => {
  if (exited(child)) return
  child.kill("SIGTERM")
  if (await waitForExit(child, STOP_GRACE_MS)) return
  child.kill("SIGKILL")
  await waitForExit(child, STOP_GRACE_MS)
}

/** Polls `probe` until it is true; fails early when `child` exits, quoting its log. */
const waitUntil = async (
  what: string,
  child: ChildProcess,
  logFile: string,
  deadline: number,
  probe: () => Promise<boolean>
): Promise<void> => {
  for (;;) {
    if (exited(child)) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(logFile)}`)
    }
    if (await probe().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`${what} not ready in time; last log lines:\n${tail(logFile)}`)
    await sleep(200)
  }
}

const httpOk = async (url: string): Promise<boolean> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
  await res.arrayBuffer()
  return res.ok
}

// ---------------------------------------------------------------------------------------------------
// startEnvTest

const start = async (options: EnvTestOptions, assetsDir: string): Promise<EnvTest> => {
  const keep = options.keepWorkDir ?? process.env.PORTICO_ENVTEST_KEEP === "1"
  const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS)
  const crds = crdsToInstall(options)

  const workDir = mkdtempSync(join(tmpdir(), "portico-envtest-"))
  const certDir = join(workDir, "pki")
  mkdirSync(certDir)
  const logs = { etcd: join(workDir, "etcd.log"), apiserver: join(workDir, "kube-apiserver.log") }
  const entry: Running = { processes: [], workDir, keep }
  installExitHook()
  running.add(entry)
  const watchdog = spawnWatchdog(workDir, keep)
  const track = (child: ChildProcess): ChildProcess => {
    entry.processes.push(child)
    child.on("error", () => undefined)
    if (child.pid !== undefined) watchdog.stdin?.write(`${child.pid}\n`)
    return child
  }

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // kube-apiserver first, so it does not spend its shutdown retrying a dead etcd.
    for (const child of [...entry.processes].reverse()) await stopProcess(child)
    running.delete(entry)
    watchdog.kill("SIGKILL")
    if (!keep) rmSync(workDir, { recursive: true, force: true })
  }

  try {
    // Certificates and keys.
    const ca = await certificateAuthority(CA_LABEL)
    const serving = await signedCertificate(CA_LABEL, ["localhost", "127.0.0.1"], "server")
    const admin = await clientCertificate(ADMIN_USER, ["system:masters"])
    // The API server signs ServiceAccount tokens with the private key and verifies them with the public one.
    const serviceAccountKeys = generateKeyPairSync("ec", { namedCurve: "prime256v1" })
    const serviceAccountKey = serviceAccountKeys.privateKey.export({ type: "pkcs8", format: "pem" }).toString()
    const serviceAccountPub = serviceAccountKeys.publicKey.export({ type: "spki", format: "pem" }).toString()
    const files = {
      ca: join(certDir, "ca.crt"),
      servingCert: join(certDir, "apiserver.crt"),
      servingKey: join(certDir, "apiserver.key"),
      serviceAccountKey: join(certDir, "service-account.key"),
      serviceAccountPub: join(certDir, "service-account.pub")
    }
    await Promise.all([
      writeFile(files.ca, ca.certPem),
      writeFile(files.servingCert, serving.certPem),
      writeFile(files.servingKey, serving.keyPem, { mode: 0o600 }),
      writeFile(files.serviceAccountKey, serviceAccountKey, { mode: 0o600 }),
      writeFile(files.serviceAccountPub, serviceAccountPub)
    ])

    // etcd.
    const [etcdClientPort, etcdPeerPort, apiserverPort] = await Promise.all([freePort(), freePort(), freePort()])
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`
    const etcd = track(
      startProcess(
        join(assetsDir, "etcd"),
        [
          "--name=envtest",
          `--data-dir=${join(workDir, "etcd")}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=envtest=${peerUrl}`,
          "--initial-cluster-state=new",
          "--unsafe-no-fsync=true",
          "--log-level=warn"
        ],
        logs.etcd
      )
    )
    await waitUntil("etcd", etcd, logs.etcd, deadline, () => httpOk(`${etcdUrl}/health`))

    // kube-apiserver.
    const server = `https://127.0.0.1:${apiserverPort}`
    const apiserver = track(
      startProcess(
        join(assetsDir, "kube-apiserver"),
        [
          `--etcd-servers=${etcdUrl}`,
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          `--secure-port=${apiserverPort}`,
          `--cert-dir=${certDir}`,
          `--tls-cert-file=${files.servingCert}`,
          `--tls-private-key-file=${files.servingKey}`,
          `--client-ca-file=${files.ca}`,
          "--authorization-mode=RBAC",
          `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
          `--service-account-key-file=${files.serviceAccountPub}`,
          `--service-account-signing-key-file=${files.serviceAccountKey}`,
          `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
          // No kubelet, and a loopback address cannot be the kubernetes Service's endpoint.
          "--endpoint-reconciler-type=none",
          "--allow-privileged=true",
          "--profiling=false"
        ],
        logs.apiserver
      )
    )
    await waitUntil("kube-apiserver", apiserver, logs.apiserver, deadline, async () => {
      const res = await rawRequest(server, admin, "GET", "/readyz")
      return res.status === 200
    })

    await installCrds(server, admin, crds, deadline)

    const kubeConfig = kubeConfigFor(server, ca.certPem, ADMIN_USER, admin)
    const kubeconfigPath = join(workDir, "kubeconfig.yaml")
    await writeFile(kubeconfigPath, kubeConfigYaml(kubeConfig), { mode: 0o600 })
    const core = kubeConfig.makeApiClient(CoreV1Api)

    const ensureNamespace = async (name: string): Promise<void> => {
      const res = await rawRequest(server, admin, "POST", "/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name }
      })
      if (res.status !== 201 && res.status !== 409) {
        throw new Error(`creating namespace ${name}: HTTP ${res.status}: ${res.body.slice(0, 1000)}`)
      }
    }

    const serviceAccountToken = async (
      namespace: string,
      name: string,
      tokenOptions: ServiceAccountTokenOptions = {}
    ): Promise<string> => {
      await ensureNamespace(namespace)
      const res = await rawRequest(server, admin, "POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name, namespace }
      })
      if (res.status !== 201 && res.status !== 409) {
        throw new Error(`creating ServiceAccount ${namespace}/${name}: HTTP ${res.status}: ${res.body.slice(0, 1000)}`)
      }
      const tokenRequest = await core.createNamespacedServiceAccountToken({
        namespace,
        name,
        body: {
          spec: {
            expirationSeconds: tokenOptions.expirationSeconds ?? 3600,
            ...(tokenOptions.audiences === undefined ? {} : { audiences: [...tokenOptions.audiences] })
          }
        }
      })
      const token = tokenRequest.status?.token
      if (token === undefined || token === "")
        throw new Error(`TokenRequest for ${namespace}/${name} returned no token`)
      return token
    }

    for (const namespace of options.namespaces ?? []) await ensureNamespace(namespace)

    return {
      server,
      caPem: ca.certPem,
      kubeconfigPath,
      kubeConfig,
      assetsDir,
      workDir,
      logs,
      crds: crds.map(crdName).sort(),
      makeUserKubeConfig: async (user) => {
        if ("token" in user) return kubeConfigFor(server, ca.certPem, user.name ?? "token-user", { token: user.token })
        const cert = await clientCertificate(user.user, user.groups ?? [])
        return kubeConfigFor(server, ca.certPem, user.user, cert)
      },
      writeKubeConfig: async (config, fileName) => {
        const path = join(workDir, fileName)
        await writeFile(path, kubeConfigYaml(config), { mode: 0o600 })
        return path
      },
      ensureNamespace,
      serviceAccountToken,
      stop
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * Starts etcd and kube-apiserver (building them first when there is no cache, see
 * scripts/envtest.sh), installs the CRDs and resolves once everything is ready. Call `stop()` when
 * done (e.g. in afterAll); a process that ends without it still kills both servers.
 *
 * Give the calling hook a long timeout when the binaries may need building (minutes, first time).
 */
export const startEnvTest = async (options: EnvTestOptions = {}): Promise<EnvTest> => {
  const assetsDir = await resolveAssets()
  // A free port can be taken between choosing it and binding it; try again with fresh ones once.
  try {
    return await start(options, assetsDir)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (!/address already in use/i.test(message)) throw error
    return start(options, assetsDir)
  }
}
