/**
 * A tiny helper to build elements. Text always goes in as text nodes and attributes through
 * setAttribute, so data from a server can never become markup: nothing here uses innerHTML.
 */

export type Child = Node | string | number | false | null | undefined | readonly Child[];

type AttributeValue = string | number | boolean | null | undefined;

type Handlers = { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };

export interface ElementOptions {
  class?: string;
  /** Attributes: true sets an empty attribute; false, null and undefined leave it out. */
  attrs?: Record<string, AttributeValue>;
  on?: Handlers;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(parent, ...(child as readonly Child[]));
    } else if (child instanceof Node) {
      parent.appendChild(child);
    } else {
      parent.appendChild(document.createTextNode(String(child)));
    }
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options?.class) {
    element.className = options.class;
  }
  for (const [name, value] of Object.entries(options?.attrs ?? {})) {
    if (value === true) {
      element.setAttribute(name, "");
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value));
    }
  }
  for (const [type, handler] of Object.entries(options?.on ?? {})) {
    element.addEventListener(type, handler as EventListener);
  }
  append(element, ...children);
  return element;
}

/** Replace an element's content with the given children. */
export function fill(element: Element, ...children: Child[]): void {
  element.replaceChildren();
  append(element, ...children);
}

/** Set an element's text only when it changes, so a live region is not announced again for nothing. */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) {
    element.textContent = text;
  }
}

let nextId = 0;

/** A document-unique id, for tying a label to its input. */
export function uniqueId(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A label and its control, tied by id, with an optional hint and a slot for a field's error. */
export function field(
  labelText: Child,
  control: HTMLInputElement | HTMLSelectElement,
  options: { hint?: string; error?: HTMLElement } = {},
): HTMLDivElement {
  if (!control.id) {
    control.id = uniqueId("field");
  }
  const hint = options.hint ? h("small", { class: "hint", attrs: { id: `${control.id}-hint` } }, options.hint) : null;
  if (hint) {
    control.setAttribute("aria-describedby", hint.id);
  }
  if (options.error) {
    options.error.id = `${control.id}-error`;
    control.setAttribute("aria-errormessage", options.error.id);
  }
  return h("div", { class: control instanceof HTMLInputElement && control.type === "checkbox" ? "field check" : "field" },
    h("label", { attrs: { for: control.id } }, labelText),
    control,
    hint,
    options.error ?? null,
  );
}

/** Show or clear a field's error, and mark its control invalid for assistive technology. */
export function setFieldError(control: HTMLElement, errorElement: HTMLElement, message: string | undefined): void {
  setText(errorElement, message ?? "");
  if (message) {
    control.setAttribute("aria-invalid", "true");
  } else {
    control.removeAttribute("aria-invalid");
  }
}
