/**
 * Hash routes, so that the server only ever serves `/`: `#/`, `#/orders`, `#/orders/<id>`,
 * `#/account` and `#/operator`.
 */

export type Route =
  | { name: "shop" }
  | { name: "orders" }
  | { name: "order"; id: string }
  | { name: "account" }
  | { name: "operator" }
  | { name: "not-found"; hash: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "").replace(/\/+$/, "") || "/";
  if (path === "/" || path === "") {
    return { name: "shop" };
  }
  if (path === "/orders") {
    return { name: "orders" };
  }
  if (path === "/account") {
    return { name: "account" };
  }
  if (path === "/operator") {
    return { name: "operator" };
  }
  const order = /^\/orders\/([^/]+)$/.exec(path);
  if (order?.[1]) {
    try {
      return { name: "order", id: decodeURIComponent(order[1]) };
    } catch {
      return { name: "not-found", hash };
    }
  }
  return { name: "not-found", hash };
}

export function orderHash(orderId: string): string {
  return `#/orders/${encodeURIComponent(orderId)}`;
}
