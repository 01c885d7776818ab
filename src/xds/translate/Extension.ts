/**
 * Named extensions with a typed config (`{ name, typed_config: { "@type": ... } }`): the shape of
 * Envoy's filters, listener filters, transport sockets and access loggers. Pure.
 */
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf"
import type { Any } from "@bufbuild/protobuf/wkt"
import { pack } from "../Registry.ts"

/** `config` packed into a `google.protobuf.Any`. */
export const packed = <Desc extends DescMessage>(schema: Desc, config: MessageInitShape<Desc>): Any =>
  pack(schema, create(schema, config))

/** `{ name, typed_config }`, as every Envoy extension point spells it. */
export const typedExtension = <Desc extends DescMessage>(
  name: string,
  schema: Desc,
  config: MessageInitShape<Desc>
): { readonly name: string; readonly configType: { readonly case: "typedConfig"; readonly value: Any } } => ({
  name,
  configType: { case: "typedConfig", value: packed(schema, config) }
})
