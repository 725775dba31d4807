/** An ARM resource as it goes over the wire. */
export interface ArmResource {
  id: string;
  name: string;
  type: string;
  location?: string;
  properties?: Record<string, unknown>;
  [field: string]: unknown;
}
