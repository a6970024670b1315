// Types for the JS type check (jsconfig.json): the pages' globals for tests and the console, and the form
// elements the pages look up by selector (inputs, selects, buttons, forms: what they use of each).

type PageElement = HTMLElement & {
  value: string;
  checked: boolean;
  disabled: boolean;
  elements: HTMLFormControlsCollection;
  reset(): void;
  reportValidity(): boolean;
  select(): void;
  showModal(): void;
  close(): void;
  open: boolean;
};

interface ParentNode {
  querySelector(selectors: string): PageElement | null;
  querySelectorAll(selectors: string): NodeListOf<PageElement>;
}

interface Element {
  readonly dataset: DOMStringMap;
}

interface Document {
  getElementById(elementId: string): PageElement | null;
}

interface HTMLFormControlsCollection {
  namedItem(name: string): PageElement;
}

interface Window {
  gisgrid: any;
  gisgridAudit: any;
  gisgridDispatch: any;
  gisgridDispatchDetail: any;
  gisgridDispatchImport: any;
  gisgridDispatchList: any;
  gisgridDispatchStats: any;
  gisgridPlan: any;
  gisgridCoverage: any;
}
