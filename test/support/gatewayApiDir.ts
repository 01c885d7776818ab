/**
 * Where the Gateway API data lives (CRDs, conformance manifests, expectations.yaml).
 *
 * Read through ONE variable, `GATEWAY_API_DIR`; when it is unset the default is
 * `../shared/gateway-api` relative to the repository root. A relative value is
 * resolved against the repository root too (the Makefile exports an absolute one).
 */
import { existsSync, statSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const GATEWAY_API_DIR_VARIABLE = "GATEWAY_API_DIR"

/** The repository root (this file is test/support/gatewayApiDir.ts). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")

const DEFAULT_RELATIVE = join("..", "shared", "gateway-api")

const describeSource = (fromEnv: string | undefined): string =>
  fromEnv === undefined
    ? `the default ${DEFAULT_RELATIVE} relative to the repo root, since ${GATEWAY_API_DIR_VARIABLE} is unset`
    : `${GATEWAY_API_DIR_VARIABLE}=${fromEnv}`

/** The Gateway API data directory; throws a message naming GATEWAY_API_DIR when it is missing. */
export const gatewayApiDir = (): string => {
  const raw = process.env[GATEWAY_API_DIR_VARIABLE]
  const fromEnv = raw === undefined || raw === "" ? undefined : raw
  const dir = resolve(repoRoot, fromEnv ?? DEFAULT_RELATIVE)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(
      `Gateway API data directory not found: ${dir} (${describeSource(fromEnv)}). ` +
        `Set ${GATEWAY_API_DIR_VARIABLE} to a directory holding the Gateway API v1.6.1 conformance data ` +
        "(conformance/base, conformance/tests, expectations.yaml)."
    )
  }
  return dir
}

/** A file inside the Gateway API data directory; throws a message naming GATEWAY_API_DIR when it is missing. */
export const gatewayApiFile = (...segments: ReadonlyArray<string>): string => {
  const dir = gatewayApiDir()
  const file = join(dir, ...segments)
  if (!existsSync(file)) {
    throw new Error(
      `${join(...segments)} not found in the Gateway API data directory ${dir} (${GATEWAY_API_DIR_VARIABLE})`
    )
  }
  return file
}
