/** The Portico release and the Gateway API bundle it implements. */
export const PORTICO_VERSION = "0.1.0"
export const GATEWAY_API_BUNDLE_VERSION = "v1.6.1"
