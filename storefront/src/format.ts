/** How money, times and ids read on the page. */

export function formatMoney(cents: number | null, currency: string): string {
  if (cents === null) {
    return "not priced yet";
  }
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

export function formatTime(iso: string | null): string {
  if (!iso) {
    return "";
  }
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : time.toLocaleString();
}

/** The first block of a UUID: enough to tell orders apart on screen. */
export function shortId(id: string): string {
  return id.split("-")[0] ?? id;
}

export const AVAILABILITY_WORDS: Record<string, string> = {
  in_stock: "In stock",
  low_stock: "Only a few left",
  out_of_stock: "Out of stock",
};

export const ORDER_STATUS_WORDS: Record<string, string> = {
  PENDING: "In progress",
  CONFIRMED: "Confirmed",
  CANCELLED: "Cancelled",
};
