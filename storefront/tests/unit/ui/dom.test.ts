// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { field, fill, h, setFieldError } from "../../../src/ui/dom";

describe("h", () => {
  it("puts server text in as text, never as markup", () => {
    const hostile = '<img src=x onerror="alert(1)"><b>bold</b>';
    const element = h("p", { attrs: { title: hostile } }, hostile);
    expect(element.textContent).toBe(hostile);
    expect(element.children).toHaveLength(0);
    expect(element.getAttribute("title")).toBe(hostile);
  });

  it("sets attributes, leaves out false ones, and flattens children", () => {
    const button = h("button", { class: "primary", attrs: { disabled: true, hidden: false, "data-n": 3 } }, "Go", [" ", ["now"]], null, false);
    expect(button.className).toBe("primary");
    expect(button.disabled).toBe(true);
    expect(button.hasAttribute("hidden")).toBe(false);
    expect(button.dataset["n"]).toBe("3");
    expect(button.textContent).toBe("Go now");
  });

  it("wires event handlers", () => {
    const click = vi.fn();
    h("button", { on: { click } }).click();
    expect(click).toHaveBeenCalledTimes(1);
  });

  it("replaces an element's content with fill", () => {
    const list = h("ul", null, h("li", null, "old"));
    fill(list, h("li", null, "new"));
    expect(list.textContent).toBe("new");
  });
});

describe("field", () => {
  it("labels its control and ties the hint and the error to it", () => {
    const input = h("input");
    const error = h("p");
    const wrapper = field("503 rate", input, { hint: "0 to 1.", error });
    const label = wrapper.querySelector("label");
    expect(label?.textContent).toBe("503 rate");
    expect(label?.getAttribute("for")).toBe(input.id);
    expect(wrapper.querySelector(`#${input.getAttribute("aria-describedby")}`)?.textContent).toBe("0 to 1.");
    setFieldError(input, error, "Too high.");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(error.textContent).toBe("Too high.");
    setFieldError(input, error, undefined);
    expect(input.hasAttribute("aria-invalid")).toBe(false);
  });
});
