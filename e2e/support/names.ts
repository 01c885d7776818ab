import { randomBytes } from "node:crypto"

/** A fresh namespace name per run (a namespace of the previous run may still be terminating). */
export const namespaceFor = (flow: string): string => `portico-e2e-${flow}-${randomBytes(3).toString("hex")}`
