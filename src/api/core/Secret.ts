/** Secret (v1). `data` values are base64 (as in the API); `stringData` is only seen in files. */
import { Effect, Schema } from "effect"
import { ObjectMeta } from "./ObjectMeta.ts"

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Standard base64 with padding; line breaks are ignored, as the API server's decoder does. */
export const Base64String = Schema.String.check(
  Schema.makeFilter(
    (s: string) => {
      const compact = s.includes("\n") || s.includes("\r") ? s.replace(/[\r\n]/g, "") : s
      return compact.length % 4 === 0 && BASE64.test(compact)
    },
    { expected: "a base64 encoded string" }
  )
)
export type Base64String = typeof Base64String.Type

export const Secret = Schema.Struct({
  apiVersion: Schema.Literals(["v1"]),
  kind: Schema.Literal("Secret"),
  metadata: ObjectMeta,
  type: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("Opaque"))),
  data: Schema.optionalKey(Schema.Record(Schema.String, Base64String)),
  stringData: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  immutable: Schema.optionalKey(Schema.Boolean)
})
export type Secret = typeof Secret.Type
