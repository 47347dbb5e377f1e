/**
 * The part of `@signalwire/compatibility-api` the conformance test uses. The package ships
 * type definitions, but its `exports` map has no `types` condition, so TypeScript's
 * NodeNext resolution cannot reach them.
 */
declare module '@signalwire/compatibility-api' {
  /** A twilio-node client for a SignalWire space (`https://{signalwireSpaceUrl}`). */
  export function RestClient(
    projectId: string,
    apiToken: string,
    options: { signalwireSpaceUrl: string },
  ): { api: { baseUrl: string } };
}
