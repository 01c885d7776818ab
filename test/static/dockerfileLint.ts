/**
 * A small Dockerfile linter of our own (hadolint is not packaged for Debian, and the image rules
 * that matter here are few). It parses the instructions (comments, line continuations, global ARG
 * defaults in FROM) and reports, with the line of each finding:
 *
 * - DF001 not multi-stage: fewer than two stages, or a final stage that copies nothing from a build stage;
 * - DF002 a base image not pinned: no tag, `latest`, or a tag without a full x.y.z version (a digest is fine);
 * - DF003 the final stage does not end as a non-root numeric user (`USER 65532:65532`);
 * - DF004 `ADD` of a URL (or a git repository): downloads belong in a checked, pinned step;
 * - DF005 `npm install`/`npm ci` before package-lock.json is copied, with package names (which
 *   rewrites the lockfile), or with the lockfile disabled;
 * - DF006 node_modules copied into the final stage from a stage that never dropped devDependencies
 *   (`npm prune --omit=dev` or `npm ci --omit=dev`);
 * - DF007 ENTRYPOINT or CMD in shell form (signals would go to a shell, not to node);
 * - DF008 `apt-get install` without `--no-install-recommends`, or without removing /var/lib/apt/lists
 *   in the same RUN;
 * - DF009 a relative WORKDIR.
 */

export interface Instruction {
  /** 1-based line of the instruction's first line. */
  readonly line: number
  /** Upper-case keyword (FROM, RUN, ...). */
  readonly keyword: string
  /** Everything after the keyword, continuation lines joined with a space. */
  readonly args: string
}

export interface Finding {
  readonly line: number
  readonly rule: string
  readonly message: string
}

/** The instructions of a Dockerfile (parser directives and comments dropped). */
export const parseDockerfile = (text: string): ReadonlyArray<Instruction> => {
  const out: Array<Instruction> = []
  const lines = text.split("\n")
  let pending: { line: number; text: string } | undefined
  lines.forEach((raw, index) => {
    const trimmed = raw.trim()
    if (pending === undefined && (trimmed === "" || trimmed.startsWith("#"))) return
    // Comment lines inside a continued instruction are skipped, as Docker does.
    if (pending !== undefined && trimmed.startsWith("#")) return
    const continued = trimmed.endsWith("\\")
    const body = continued ? trimmed.slice(0, -1).trim() : trimmed
    pending = pending === undefined ? { line: index + 1, text: body } : { ...pending, text: `${pending.text} ${body}` }
    if (continued) return
    const match = /^(\S+)\s*(.*)$/.exec(pending.text)
    if (match !== null) out.push({ line: pending.line, keyword: (match[1] ?? "").toUpperCase(), args: match[2] ?? "" })
    pending = undefined
  })
  if (pending !== undefined) {
    const match = /^(\S+)\s*(.*)$/.exec(pending.text)
    if (match !== null) out.push({ line: pending.line, keyword: (match[1] ?? "").toUpperCase(), args: match[2] ?? "" })
  }
  return out
}

interface Stage {
  readonly name: string | undefined
  readonly image: string
  readonly from: Instruction
  readonly body: Array<Instruction>
}

/** `${NAME}` and `$NAME` replaced by the global ARG defaults (unknown ones stay). */
const expand = (text: string, args: ReadonlyMap<string, string>): string =>
  text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced, bare) => {
    const value = args.get(braced ?? bare)
    return value ?? whole
  })

const flagValue = (args: string, flag: string): string | undefined => {
  const match = new RegExp(`--${flag}=(\\S+)`).exec(args)
  return match?.[1]
}

/** The words of `npm install ...` / `npm ci ...` commands inside a RUN (one entry per command). */
const npmCommands = (run: string): ReadonlyArray<{ readonly verb: string; readonly words: ReadonlyArray<string> }> =>
  run
    .split(/&&|\|\||;/)
    .map((command) => command.trim().split(/\s+/))
    .filter((words) => words[0] === "npm" && ["install", "i", "ci", "add"].includes(words[1] ?? ""))
    .map((words) => ({ verb: words[1] ?? "", words: words.slice(2) }))

const PINNED_TAG = /^v?\d+\.\d+\.\d+([-.][A-Za-z0-9.-]+)?$/

export const lintDockerfile = (text: string): ReadonlyArray<Finding> => {
  const findings: Array<Finding> = []
  const report = (at: Instruction | number, rule: string, message: string) =>
    findings.push({ line: typeof at === "number" ? at : at.line, rule, message })

  const instructions = parseDockerfile(text)
  const globalArgs = new Map<string, string>()
  const stages: Array<Stage> = []
  for (const instruction of instructions) {
    const current = stages[stages.length - 1]
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith("--platform"))
      const image = expand(words[0] ?? "", globalArgs)
      const asIndex = words.findIndex((w) => w.toUpperCase() === "AS")
      const name = asIndex >= 0 ? words[asIndex + 1] : undefined
      stages.push({ name, image, from: instruction, body: [] })
    } else if (current === undefined) {
      if (instruction.keyword === "ARG") {
        const [key = "", value] = instruction.args.split("=", 2)
        if (value !== undefined) globalArgs.set(key.trim(), value.trim().replace(/^"(.*)"$/, "$1"))
      }
    } else {
      current.body.push(instruction)
    }
  }

  // DF001
  const final = stages[stages.length - 1]
  if (stages.length < 2 || final === undefined) {
    report(final?.from ?? 1, "DF001", "not a multi-stage build: build in one stage, run from another")
  } else if (!final.body.some((i) => i.keyword === "COPY" && flagValue(i.args, "from") !== undefined)) {
    report(final.from, "DF001", "the final stage copies nothing from a build stage (COPY --from=...)")
  }

  // DF002
  const stageNames = new Set(stages.map((s) => s.name).filter((n): n is string => n !== undefined))
  for (const stage of stages) {
    if (stageNames.has(stage.image) || stage.image === "scratch") continue
    if (stage.image.includes("$")) {
      report(stage.from, "DF002", `base image ${stage.image}: an ARG without a default cannot be checked`)
      continue
    }
    if (/@sha256:[0-9a-f]{64}$/.test(stage.image)) continue
    const lastSegment = stage.image.split("/").pop() ?? ""
    const tag = lastSegment.includes(":") ? lastSegment.slice(lastSegment.indexOf(":") + 1) : undefined
    const versionPart = tag?.split("-")[0]
    if (tag === undefined) report(stage.from, "DF002", `base image ${stage.image} has no tag (that is latest)`)
    else if (tag === "latest" || tag.startsWith("latest-"))
      report(stage.from, "DF002", `base image ${stage.image} uses latest`)
    else if (versionPart === undefined || !PINNED_TAG.test(versionPart))
      report(stage.from, "DF002", `base image ${stage.image} is not pinned to a full x.y.z version or a digest`)
  }

  // DF003
  if (final !== undefined) {
    const users = final.body.filter((i) => i.keyword === "USER")
    const user = users[users.length - 1]
    const uid = user?.args.split(":")[0]?.trim()
    if (user === undefined) report(final.from, "DF003", "the final stage runs as root: add USER <uid>:<gid>")
    else if (uid === undefined || !/^\d+$/.test(uid))
      report(user, "DF003", `USER ${user.args}: use a numeric uid (Kubernetes runAsNonRoot can only check numbers)`)
    else if (Number(uid) === 0) report(user, "DF003", "USER 0 is root")
  }

  let lockfileCopied = false
  for (const stage of stages) {
    for (const instruction of stage.body) {
      // DF004
      if (instruction.keyword === "ADD" && /(^|\s)(https?:\/\/|git@|ftp:\/\/)/.test(instruction.args)) {
        report(instruction, "DF004", `ADD of a URL: ${instruction.args}`)
      }
      // DF005
      if (instruction.keyword === "COPY" && /(^|\s)(\S*\/)?package-lock\.json(\s|$)/.test(instruction.args)) {
        lockfileCopied = true
      }
      if (instruction.keyword === "RUN") {
        for (const { verb, words } of npmCommands(instruction.args)) {
          if (!lockfileCopied) report(instruction, "DF005", `npm ${verb} before package-lock.json is copied`)
          const packages = words.filter((w) => !w.startsWith("-"))
          if (verb !== "ci" && packages.length > 0)
            report(instruction, "DF005", `npm ${verb} ${packages.join(" ")}: installs outside the lockfile`)
          if (words.some((w) => w === "--no-package-lock" || w === "--package-lock=false"))
            report(instruction, "DF005", `npm ${verb} with the lockfile disabled`)
        }
        // DF008
        if (/apt-get\s+(-\S+\s+)*install/.test(instruction.args)) {
          if (!instruction.args.includes("--no-install-recommends"))
            report(instruction, "DF008", "apt-get install without --no-install-recommends")
          if (!instruction.args.includes("rm -rf /var/lib/apt/lists"))
            report(instruction, "DF008", "apt-get install without removing /var/lib/apt/lists in the same RUN")
        }
      }
      // DF009
      if (instruction.keyword === "WORKDIR" && !instruction.args.startsWith("/")) {
        report(instruction, "DF009", `WORKDIR ${instruction.args} is relative`)
      }
    }
  }

  // DF006
  if (final !== undefined) {
    for (const copy of final.body.filter((i) => i.keyword === "COPY")) {
      const from = flagValue(copy.args, "from")
      if (from === undefined || !/node_modules/.test(copy.args)) continue
      const source = stages.find((s) => s.name === from)
      const pruned = source?.body.some((i) => i.keyword === "RUN" && /npm\s+(prune|ci)\b[^&;|]*--omit=dev/.test(i.args))
      if (pruned !== true) {
        report(copy, "DF006", `node_modules from stage ${from}, which never runs npm prune --omit=dev`)
      }
    }
  }

  // DF007
  for (const stage of stages) {
    for (const instruction of stage.body) {
      if (
        (instruction.keyword === "ENTRYPOINT" || instruction.keyword === "CMD") &&
        !instruction.args.startsWith("[")
      ) {
        report(instruction, "DF007", `${instruction.keyword} in shell form: use the exec form ["...", "..."]`)
      }
    }
  }

  return findings.sort((a, b) => a.line - b.line)
}

/** The exec-form words of the final stage's ENTRYPOINT or CMD (undefined when absent or not exec form). */
export const execForm = (text: string, keyword: "ENTRYPOINT" | "CMD"): ReadonlyArray<string> | undefined => {
  const instructions = parseDockerfile(text)
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf("FROM")
  const found = instructions
    .slice(lastFrom)
    .filter((i) => i.keyword === keyword)
    .pop()
  if (found === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(found.args)
    return Array.isArray(parsed) && parsed.every((w) => typeof w === "string") ? parsed : undefined
  } catch {
    return undefined
  }
}
