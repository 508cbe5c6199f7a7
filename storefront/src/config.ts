/**
 * The page's runtime configuration, read from `./config.json` at start so that one build serves any
 * deployment. Each service base is an origin, or "" for the page's own origin (everything behind one
 * gateway); API paths are appended to it. Nothing here holds a secret.
 */

export interface StorefrontConfig {
  identity: string;
  orders: string;
  inventory: string;
  payments: string;
  notifications: string;
  /** Service name (order_svc, ...) to the full URL, or path, of its fault-injection endpoint. */
  faults: Record<string, string>;
  client_id: string;
  temporal_ui: string;
  namespace: string;
}

const BASES = ["identity", "orders", "inventory", "payments", "notifications"] as const;

export class ConfigError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function withoutTrailingSlash(value: string): string {
  return value.replace(/\/+$/, "");
}

function text(raw: Record<string, unknown>, key: string, fallback?: string): string {
  const value = raw[key] ?? fallback;
  if (typeof value !== "string") {
    throw new ConfigError(`config.json: "${key}" must be a string.`);
  }
  return value;
}

/** Check the shape of config.json and normalise it: no trailing slash on any base. */
export function parseConfig(raw: unknown): StorefrontConfig {
  if (!isRecord(raw)) {
    throw new ConfigError("config.json must hold a JSON object.");
  }
  const faults: Record<string, string> = {};
  const rawFaults = raw["faults"] ?? {};
  if (!isRecord(rawFaults)) {
    throw new ConfigError('config.json: "faults" must map service names to URLs.');
  }
  for (const [service, url] of Object.entries(rawFaults)) {
    if (typeof url !== "string" || url === "") {
      throw new ConfigError(`config.json: the fault endpoint of "${service}" must be a URL or a path.`);
    }
    faults[service] = url;
  }
  const clientId = text(raw, "client_id");
  if (clientId === "") {
    throw new ConfigError('config.json: "client_id" must name the OAuth client.');
  }
  const [identity, orders, inventory, payments, notifications] = BASES.map((key) =>
    withoutTrailingSlash(text(raw, key, "")),
  ) as [string, string, string, string, string];
  return {
    identity,
    orders,
    inventory,
    payments,
    notifications,
    faults,
    client_id: clientId,
    temporal_ui: withoutTrailingSlash(text(raw, "temporal_ui", "")),
    namespace: text(raw, "namespace", "default") || "default",
  };
}

/** Fetch and parse `./config.json`, never from a cache, so a changed deployment takes effect at once. */
export async function loadConfig(fetchConfig: typeof fetch = (input, init) => fetch(input, init)): Promise<StorefrontConfig> {
  const response = await fetchConfig("./config.json", { cache: "no-store" });
  if (!response.ok) {
    throw new ConfigError("The shop's settings (config.json) could not be loaded.");
  }
  return parseConfig(await response.json());
}

/** Where the Temporal Web UI shows one workflow, or null when no UI is configured. */
export function temporalWorkflowUrl(config: StorefrontConfig, workflowId: string): string | null {
  if (!config.temporal_ui) {
    return null;
  }
  return `${config.temporal_ui}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
